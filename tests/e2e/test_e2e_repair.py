"""A whole repair conversation through /wechat, in compatible and safe mode, against the real stack."""

from __future__ import annotations

import itertools
from datetime import timedelta

from sqlalchemy import select

from backend.core.models import Ticket, TicketPhoto
from tests.e2e.wx import next_msg_id

_owner = itertools.count(1)


def new_owner(mode: str) -> str:
    return f"o-e2e-{mode}-{next(_owner)}"


def tickets_of(db_session, openid):
    """The owner's tickets as they are now. The read ends its transaction (on SQLite every
    transaction here takes the write lock, which the webhook needs for the owner's next message);
    the tickets keep their loaded columns."""
    db_session.expire_all()
    found = db_session.execute(select(Ticket).where(Ticket.openid == openid)).scalars().all()
    db_session.expunge_all()
    db_session.commit()
    return found


def test_step_by_step_repair_makes_one_ticket(wechat, db_session):
    owner = new_owner(wechat.mode)
    reply, _ = wechat.say(owner, "你好")
    assert reply and "您好" in reply
    reply, _ = wechat.say(owner, "我要报修")
    assert "什么东西坏了" in reply
    reply, _ = wechat.say(owner, "厨房水管漏水了")
    assert "楼栋" in reply  # asks where
    reply, _ = wechat.say(owner, "3-2-501")
    assert "您是哪个小区的" in reply  # 幸福里花园 and 阳光城 both have a 3栋2单元501
    reply, _ = wechat.say(owner, "幸福里花园")
    assert "什么时候上门" in reply
    reply, _ = wechat.say(owner, "明天上午")
    assert "联系电话" in reply
    reply, _ = wechat.say(owner, "13812345678")
    assert "请核对" in reply and "3栋2单元501" in reply and "13812345678" in reply and "明天上午" in reply

    # WeChat delivers the last message three times (it did not get our answer in time).
    msg_id = next_msg_id()
    answers = [wechat.say(owner, "确认", msg_id=msg_id)[0] for _ in range(3)]
    assert "单号" in answers[0]
    assert answers[1] == answers[0] and answers[2] == answers[0]

    found = tickets_of(db_session, owner)
    assert len(found) == 1
    ticket = found[0]
    assert (ticket.building_code, ticket.unit, ticket.room) == ("3", "2", "501")
    assert ticket.urgency == "normal"
    assert ticket.contact_phone == "13812345678"
    assert "水管" in ticket.description
    assert ticket.number in answers[0]


def test_urgent_repair_in_one_sentence(wechat, db_session):
    owner = new_owner(wechat.mode)
    reply, _ = wechat.say(owner, "3栋2单元501卫生间水管爆了 水一直往外冒 电话13912345678")
    assert "您是哪个小区的" in reply
    reply, _ = wechat.say(owner, "阳光城")
    assert "单号" in reply and "30分钟" in reply and "总阀" in reply  # an emergency: no confirmation turn
    assert "021-6666 9110" in reply  # 阳光城's desk is not staffed at night: its duty number
    (ticket,) = tickets_of(db_session, owner)
    assert ticket.urgency == "urgent"
    assert ticket.due_at - ticket.created_at == timedelta(minutes=30)
    assert ticket.location_label.startswith("3栋2单元501")


def test_question_midway_then_correction_and_photo(wechat, db_session, system):
    owner = new_owner(wechat.mode)
    reply, _ = wechat.say(owner, "8号楼702客厅的灯不亮了")
    assert "什么时候上门" in reply
    reply, _ = wechat.say(owner, "对了物业电话多少")
    assert "0571" in reply  # the demo community's hotline…
    assert "什么时候上门" in reply  # …and back to the open question
    reply, _ = wechat.say(owner, "周六上午 电话13812345678")
    assert "请核对" in reply
    # an image while the repair is being raised goes with it
    response = wechat.post(
        wechat.xml(owner, "image", {"PicUrl": "http://img.example/1.jpg", "MediaId": "m1"}, next_msg_id())
    )
    assert "照片收到" in wechat.reply_text(response)
    reply, _ = wechat.say(owner, "电话写错了 是13700001111")
    assert "13700001111" in reply and "请核对" in reply
    reply, _ = wechat.say(owner, "确认")
    assert "单号" in reply
    (ticket,) = tickets_of(db_session, owner)
    assert ticket.contact_phone == "13700001111"
    assert (ticket.building_code, ticket.room) == ("8", "702")
    photos = db_session.execute(select(TicketPhoto).where(TicketPhoto.ticket_id == ticket.id)).scalars().all()
    assert [p.url for p in photos] == ["http://img.example/1.jpg"]


def test_cancel_midway_makes_no_ticket(wechat, db_session):
    owner = new_owner(wechat.mode)
    wechat.say(owner, "楼道灯坏了")
    reply, _ = wechat.say(owner, "算了不报了")
    assert "取消" in reply
    assert tickets_of(db_session, owner) == []


def test_follow_event_gets_a_welcome(wechat):
    owner = new_owner(wechat.mode)
    response = wechat.post(wechat.xml(owner, "event", {"Event": "subscribe", "EventKey": ""}))
    assert "欢迎" in wechat.reply_text(response)


def test_voice_message_uses_wechat_transcript(wechat):
    owner = new_owner(wechat.mode)
    response = wechat.post(
        wechat.xml(
            owner,
            "voice",
            {"MediaId": "v1", "Format": "amr", "Recognition": "那个，我家卫生间马桶堵了。"},
            next_msg_id(),
        )
    )
    assert "楼栋" in wechat.reply_text(response)  # understood as a repair; asks where


def test_voice_without_transcript_asks_to_type(wechat):
    owner = new_owner(wechat.mode)
    response = wechat.post(wechat.xml(owner, "voice", {"MediaId": "v2", "Format": "amr"}, next_msg_id()))
    assert "打字" in wechat.reply_text(response)


def test_menu_click_starts_its_flow(wechat):
    owner = new_owner(wechat.mode)
    response = wechat.post(wechat.xml(owner, "event", {"Event": "CLICK", "EventKey": "REPAIR"}))
    assert "什么东西坏了" in wechat.reply_text(response)


def test_photo_after_the_ticket_is_added_to_it(wechat, db_session):
    owner = new_owner(wechat.mode)
    wechat.say(owner, "幸福里花园东门的门禁刷不开 随时都可以 电话13812345678")  # two communities have an 东门
    reply, _ = wechat.say(owner, "确认")
    assert "单号" in reply
    response = wechat.post(
        wechat.xml(owner, "image", {"PicUrl": "http://img.example/2.jpg", "MediaId": "m2"}, next_msg_id())
    )
    (ticket,) = tickets_of(db_session, owner)
    assert ticket.number in wechat.reply_text(response)
    photos = db_session.execute(select(TicketPhoto).where(TicketPhoto.ticket_id == ticket.id)).scalars().all()
    assert [p.url for p in photos] == ["http://img.example/2.jpg"]


def _community_id(db_session, code: str) -> int:
    from backend.core.models import Community

    found = db_session.execute(select(Community.id).where(Community.code == code)).scalar_one()
    db_session.commit()
    return found


def test_unbound_owners_emergencies_in_two_communities(wechat, db_session, system):
    # 幸福里花园: 8号楼702 is only there; its hotline is staffed around the clock.
    owner = new_owner(wechat.mode)
    reply, _ = wechat.say(owner, "8号楼702厨房燃气泄漏了 味道很大")
    assert "单号" in reply and "打开门窗" in reply and "不要开关" in reply, system.logs()
    assert "0571-8888 6666" in reply and "请核对" not in reply
    (ticket,) = tickets_of(db_session, owner)
    assert ticket.urgency == "urgent" and ticket.community_id == _community_id(db_session, "XFL")
    assert ticket.house_id is not None
    reply, _ = wechat.say(owner, "电话是13912345678")
    assert "已更新" in reply
    (ticket,) = tickets_of(db_session, owner)
    assert ticket.contact_phone == "13912345678"

    # 阳光城, named in the message: the desk keeps office hours, so the duty number is given.
    other = new_owner(wechat.mode)
    reply, _ = wechat.say(other, "阳光城5号楼电梯困人了")
    assert "单号" in reply and "警铃" in reply and "021-6666 9110" in reply, system.logs()
    assert "021-6666 8888（24小时）" not in reply
    (ticket,) = tickets_of(db_session, other)
    assert ticket.community_id == _community_id(db_session, "YGC")


def test_off_topic_twice_in_a_repair_and_slang_goodbye(wechat, db_session):
    owner = new_owner(wechat.mode)
    reply, _ = wechat.say(owner, "楼道灯坏了")
    assert "哪一栋" in reply or "在哪里" in reply
    reply, _ = wechat.say(owner, "给我讲个笑话吧")
    assert "帮不上忙" in reply and ("哪一栋" in reply or "在哪里" in reply)  # declined, asked once more
    reply, _ = wechat.say(owner, "今天天气怎么样")
    assert "停在这里" in reply and reply.count("在哪里") == 0  # the form is left with a clear word
    reply, _ = wechat.say(owner, "88")
    assert "评价" not in reply and "再见" in reply
    assert tickets_of(db_session, owner) == []
