"""The owner's own answers as the action server gives them: binding (and its second message),
fees from the bound home's bills, notices with 更多, contacts and paid services, each from the
owner's own community."""

from __future__ import annotations

import itertools

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.answers import InformOutsideAFlow, OutOfScope
from actions.binding import BindHouse
from actions.fees import AnswerFee
from actions.notices import AnswerNotice
from actions.services import AnswerContact, AnswerPaidService
from backend.core import db
from backend.core.models import BindingRequest, Ticket, WechatBinding

_ids = itertools.count(1)


class Owner:
    """Plays one owner: keeps the slots the actions set, as Rasa would."""

    def __init__(self):
        self.openid = f"o-act-{next(_ids)}"
        self.slots: dict = {}

    def say(self, action_class, text: str, intent: str = "x", loop: str | None = None) -> str:
        tracker = Tracker(
            self.openid,
            dict(self.slots),
            {"text": text, "intent": {"name": intent}, "entities": [], "message_id": str(next(_ids))},
            [],
            False,
            None,
            {"name": loop} if loop else {},
            None,
        )
        dispatcher = CollectingDispatcher()
        for event in action_class().run(dispatcher, tracker, {}):
            if event.get("event") == "slot":
                self.slots[event["name"]] = event["value"]
        return "\n".join(m.get("text") or "" for m in dispatcher.messages)


def rows(engine, model, **where):
    with db.session_scope(engine) as session:
        stmt = select(model).filter_by(**where)
        return session.execute(stmt).scalars().all()


def test_bind_then_fee_from_the_imported_bills(demo_db):
    owner = Owner()
    reply = owner.say(AnswerFee, "我还欠多少物业费")
    assert "先绑定" in reply and "绑定房屋" in reply
    reply = owner.say(BindHouse, "绑定 3栋2单元501 13800001001")
    assert "绑定成功" in reply and "幸福里花园 3栋2单元501" in reply
    reply = owner.say(AnswerFee, "我还欠多少物业费")
    assert "751.80元" in reply and "2026年第4季度" in reply and "已逾期" in reply
    assert "2.80元/m²/月 × 89.50m² = 250.60元/月" in reply
    assert (
        "上次缴费：2026-07-12" in reply
        and "收支公示" in reply
        and "https://wuye.example.com/xfl/gongshi/2026h1" in reply
    )
    assert "滞纳金" in reply
    first = owner.say(AnswerFee, "物业费怎么交").splitlines()
    # What was asked comes before the rest of the card (the last line lists the home's other items).
    assert first[-5].startswith("· 怎么缴") and first[-1].startswith("· 您家还有这些收费项目")


def test_binding_in_two_messages_through_inform(demo_db):
    owner = Owner()
    assert "房号和在物业登记的手机号" in owner.say(BindHouse, "我要绑定房屋")
    assert "手机号" in owner.say(InformOutsideAFlow, "3-2-501", intent="inform")
    reply = owner.say(OutOfScope, "13800001001", intent="out_of_scope")
    assert "绑定成功" in reply
    assert owner.slots["bind_pending"] is None
    assert len(rows(demo_db, WechatBinding, openid=owner.openid)) == 1


def test_wrong_phone_is_refused_kindly_and_binds_nothing(demo_db):
    owner = Owner()
    reply = owner.say(BindHouse, "我是3栋2单元501的业主 电话13912345678")
    assert "没有绑定" in reply and "139****5678" in reply and "13912345678" not in reply
    assert "服务中心" in reply
    assert rows(demo_db, WechatBinding, openid=owner.openid) == []
    assert [r.reason for r in rows(demo_db, BindingRequest, openid=owner.openid)] == ["phone_not_listed"]
    assert "先绑定" in owner.say(AnswerFee, "欠费多少")


def test_bind_in_a_repair_form_waits_for_the_repair(demo_db):
    owner = Owner()
    reply = owner.say(BindHouse, "我是3栋2单元501的", loop="repair_form")
    assert "先把这件事办完" in reply and rows(demo_db, WechatBinding, openid=owner.openid) == []


def test_notices_page_with_more_and_come_from_the_owners_community(demo_db):
    owner = Owner()
    assert "哪个小区" in owner.say(AnswerNotice, "最近有什么通知")
    owner.say(BindHouse, "绑定3-2-501 13800001001")
    first = owner.say(AnswerNotice, "最近有什么通知")
    assert first.index("11月25日小区消杀通知") < first.index("3栋电梯年检通知") and "回复「更多」" in first
    assert "阳光城" not in first and "地下车库照明" not in first
    more = owner.say(OutOfScope, "更多", intent="nlu_fallback")
    assert "4. 11月5日 垃圾分类宣传活动" in more and "消杀" not in more
    assert "没有更多" in owner.say(AnswerContact, "还有吗", intent="ask_contact")
    other = Owner()
    other.say(BindHouse, "绑定 阳光城3栋2单元501 13800003001")
    theirs = other.say(AnswerNotice, "通知")
    assert "阳光城" in theirs and "地下车库照明改造通知" in theirs and "消杀" not in theirs


def test_contacts_come_from_the_owners_community_and_building(demo_db):
    owner = Owner()
    unbound = owner.say(AnswerContact, "物业电话多少")
    assert "0571-8888 6666" in unbound and "021-6666 8888" in unbound
    assert "021-6666 8888" in owner.say(AnswerContact, "阳光城物业电话")
    owner.say(BindHouse, "绑定 3-2-501 13800003001")
    mine = owner.say(AnswerContact, "管家电话多少")
    assert "阳光城" in mine and "021-6666 8888" in mine and "马可 13800006003" in mine
    assert "0571" not in mine and "林晓" not in mine


def test_a_clock_question_read_as_ask_contact_is_declined(demo_db):
    """ "几点" is mostly office hours in ask_contact; the time of day or the date is not a contact."""
    from actions.services import asks_the_clock

    for text in ("这会儿几点了", "现在是什么时间", "今天礼拜几", "几点几分了 我表停了", "今天几号啊"):
        assert asks_the_clock(text), text
    for text in (
        "几点上班",
        "物业几点下班",
        "今天星期几 物业上班吗",
        "管家几点在",
        "电话多少",
        "周末有人吗",
        "几点开门",
    ):
        assert not asks_the_clock(text), text
    owner = Owner()
    tracker = Tracker(
        owner.openid,
        {},
        {"text": "这会儿几点了", "intent": {"name": "ask_contact"}, "entities": []},
        [],
        False,
        None,
        {},
        None,
    )
    dispatcher = CollectingDispatcher()
    assert AnswerContact().run(dispatcher, tracker, {}) == []
    assert [m.get("response") for m in dispatcher.messages] == ["utter_capabilities"]
    assert "0571-8888 6666" in owner.say(AnswerContact, "物业几点上班 电话多少")


def test_paid_services_price_and_booking(demo_db):
    owner = Owner()
    assert "哪个小区" in owner.say(AnswerPaidService, "开锁多少钱")
    assert "先绑定房屋" in owner.say(AnswerPaidService, "幸福里花园 预约开锁")
    owner.say(BindHouse, "绑定 3-2-501 13800001001")
    assert "开锁：80.00元/次" in owner.say(AnswerPaidService, "开锁多少钱")
    listing = owner.say(AnswerPaidService, "有什么有偿服务")
    assert "管道疏通 100.00元/次" in listing and "搬家搬运 面议" in listing
    booked = owner.say(AnswerPaidService, "帮我预约开锁")
    (ticket,) = rows(demo_db, Ticket, openid=owner.openid)
    assert ticket.kind == "paid_service" and ticket.number in booked and ticket.number.startswith("FW")
    assert ticket.contact_phone == "13800001001" and "138****1001" in booked


@pytest.mark.parametrize("text", ["切换到3栋2单元501", "3栋2单元501"])
def test_switching_between_two_homes(demo_db, text):
    owner = Owner()
    owner.say(BindHouse, "绑定 3-2-501 13800001001")
    owner.say(BindHouse, "绑定 12幢1102 13800001003")
    listing = owner.say(BindHouse, "我绑定了哪些房子")
    assert "幸福里花园 12栋1102（当前）" in listing and "幸福里花园 3栋2单元501" in listing
    assert "已切换到 幸福里花园 3栋2单元501" in owner.say(BindHouse, text)
    assert "751.80元" in owner.say(AnswerFee, "物业费")


def test_unbinding_a_home(demo_db):
    owner = Owner()
    assert "还没有绑定" in owner.say(BindHouse, "解绑房屋")
    owner.say(BindHouse, "绑定 3-2-501 13800001001")
    owner.say(BindHouse, "绑定 12幢1102 13800001003")
    reply = owner.say(BindHouse, "解绑12幢1102")
    assert "已解除绑定：幸福里花园 12栋1102" in reply and "当前房屋是 幸福里花园 3栋2单元501" in reply
    assert "没有绑定8栋702" in owner.say(BindHouse, "解绑8号楼702")
    assert "已解除绑定" in owner.say(BindHouse, "解除绑定")
    assert rows(demo_db, WechatBinding, openid=owner.openid) == []
    assert "先绑定" in owner.say(AnswerFee, "物业费")
