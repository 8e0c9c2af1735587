"""Issue 14 at the action server, against the demo data (two communities, 幸福里花园 whose hotline
is staffed 24 hours and 阳光城 whose is not): interruptions inside the repair form, ratings only
when a finished job waits, slang goodbyes, praise, emergencies raised at once, unbound owners'
community, the phone on record, and truthful "24小时"."""

from __future__ import annotations

import asyncio
import itertools
import threading
from datetime import datetime, timezone

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.answers import InformOutsideAFlow, OutOfScope
from actions.binding import BindHouse
from actions.complaint import AnswerRating, RaiseComplaintNow
from actions.repair import AskContactPhone, AskRepairCommunity, SubmitRepair, ValidateRepairForm
from actions.services import AnswerContact
from backend.core import db
from backend.core.models import Community, House, Ticket

_ids = itertools.count(1)


def _run_async(coro):
    """asyncio.run in a thread of its own (a whole test run may hold an event loop here)."""
    box = {}
    thread = threading.Thread(target=lambda: box.update(result=asyncio.run(coro)))
    thread.start()
    thread.join()
    return box["result"]


class Owner:
    """Plays one owner: keeps the slots the actions set, as Rasa would."""

    def __init__(self):
        self.openid = f"o-conv-{next(_ids)}"
        self.slots: dict = {"form_interrupted": False}
        self.loop: str | None = None
        self.events: list = []

    def tracker(self, text: str, intent: str) -> Tracker:
        return Tracker(
            self.openid,
            dict(self.slots),
            {"text": text, "intent": {"name": intent}, "entities": [], "message_id": str(next(_ids))},
            [],
            False,
            None,
            {"name": self.loop} if self.loop else {},
            None,
        )

    def _take(self, events, dispatcher) -> str:
        self.events = list(events)
        for event in self.events:
            if event.get("event") == "slot":
                self.slots[event["name"]] = event["value"]
            if event.get("event") == "active_loop":
                self.loop = event.get("name")
        return "\n".join(m.get("text") or f"<{m.get('response')}>" for m in dispatcher.messages)

    def say(self, action_class, text: str, intent: str = "x") -> str:
        dispatcher = CollectingDispatcher()
        return self._take(action_class().run(dispatcher, self.tracker(text, intent), {}), dispatcher)

    def answer_form(self, text: str, intent: str = "inform") -> str:
        """The repair form reads one message (validate_repair_form)."""
        self.loop = "repair_form"
        dispatcher = CollectingDispatcher()
        events = _run_async(ValidateRepairForm().run(dispatcher, self.tracker(text, intent), {}))
        return self._take(events, dispatcher)


def _one(engine, stmt):
    with db.session_scope(engine) as session:
        row = session.execute(stmt).scalars().first()
        session.expunge_all()
        return row


@pytest.fixture
def redis_env(redis_url, monkeypatch):
    monkeypatch.setenv("REDIS_URL", redis_url)
    return redis_url


# --- interruptions ------------------------------------------------------------------------------
def test_off_topic_inside_the_form_is_declined_then_a_second_time_leaves_the_form(demo_db):
    owner = Owner()
    owner.answer_form("楼道灯坏了", intent="report_repair")
    reply = owner.say(OutOfScope, "讲个笑话", intent="out_of_scope")
    assert "帮不上忙" in reply and owner.slots["form_interrupted"] is True
    assert owner.loop == "repair_form"  # the form asks its question once more (rule)
    reply = owner.say(OutOfScope, "今天天气怎么样", intent="out_of_scope")
    assert "停在这里" in reply and "报修" in reply
    assert owner.loop is None and owner.slots["form_interrupted"] is False
    assert owner.slots["repair_description"] is None


def test_an_off_topic_message_holding_a_time_answers_nothing_else(demo_db):
    owner = Owner()
    owner.answer_form("楼道灯坏了", intent="report_repair")
    owner.slots["requested_slot"] = "repair_location"
    assert owner.answer_form("今天天气怎么样", intent="out_of_scope") == ""
    assert owner.events == [] and owner.slots.get("repair_time") is None  # the rules decline it


def test_an_answer_after_an_interruption_resets_the_count(demo_db):
    owner = Owner()
    owner.answer_form("厨房水管漏水了", intent="report_repair")
    owner.say(OutOfScope, "你是机器人吗", intent="out_of_scope")
    owner.answer_form("12幢1102")
    assert owner.slots["form_interrupted"] is False


def test_slang_goodbye_inside_the_form_leaves_it_and_is_no_rating(demo_db):
    owner = Owner()
    owner.answer_form("马桶堵了", intent="report_repair")
    owner.slots["requested_slot"] = "repair_location"
    reply = owner.answer_form("88", intent="rate_service")
    assert "utter_left_unfinished" in reply and "评价" not in reply
    assert owner.loop is None


def test_a_complaint_inside_a_repair_is_a_real_complaint(demo_db):
    owner = Owner()
    owner.answer_form("卫生间水管漏水", intent="report_repair")
    reply = owner.say(RaiseComplaintNow, "上次来修的师傅态度太差了", intent="complain")
    assert "TS" in reply and "2小时" in reply
    ticket = _one(demo_db, select(Ticket).where(Ticket.openid == owner.openid, Ticket.kind == "complaint"))
    assert ticket is not None and ticket.number.startswith("TS")


# --- ratings ------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["88", "886", "拜拜"])
def test_slang_goodbye_is_a_goodbye_not_a_rating(demo_db, text):
    reply = Owner().say(AnswerRating, text, intent="rate_service")
    assert reply == "<utter_goodbye>"


@pytest.mark.parametrize("text", ["88", "886"])
def test_slang_goodbye_the_nlu_could_not_place_is_still_a_goodbye(demo_db, text):
    """A bare 88 looks like a score to the NLU and may fall below its threshold: the fallback
    answers it as the goodbye it is, and inside a form leaves the form."""
    assert Owner().say(OutOfScope, text, intent="nlu_fallback") == "<utter_goodbye>"
    owner = Owner()
    owner.answer_form("马桶堵了", intent="report_repair")
    assert owner.say(OutOfScope, text, intent="nlu_fallback") == "<utter_left_unfinished>"
    assert owner.loop is None


@pytest.mark.parametrize("text", ["5", "好的", "4星"])
def test_a_score_with_no_finished_job_waiting_is_not_thanked_as_a_rating(demo_db, text):
    reply = Owner().say(AnswerRating, text, intent="rate_service")
    assert "评价" not in reply and reply == "<utter_ok>"


def _finished_job(engine, openid: str) -> str:
    from backend.text.addresses import Address
    from backend.work import tickets

    with db.session_scope(engine) as session:
        ticket = tickets.create_repair(
            session,
            tickets.RepairRequest(
                openid=openid,
                description="厨房水管漏水",
                contact_phone="13800001001",
                address=Address("8", None, "702"),
            ),
        )
        ticket.status = "done"
        ticket.updated_at = datetime.now(timezone.utc)
        return ticket.number


def test_praise_in_a_rating_is_thanked_as_praise(demo_db):
    owner = Owner()
    number = _finished_job(demo_db, owner.openid)
    reply = owner.say(AnswerRating, "5分 来得很快", intent="rate_service")
    assert number in reply and "来得很快" in reply and "肯定" in reply and "改进" not in reply


def test_criticism_in_a_rating_is_routed_as_before(demo_db):
    owner = Owner()
    _finished_job(demo_db, owner.openid)
    reply = owner.say(AnswerRating, "四星，来得有点晚", intent="rate_service")
    assert "来得有点晚" in reply and "改进" in reply


# --- emergencies --------------------------------------------------------------------------------
def test_a_gas_leak_is_raised_at_once_with_safety_advice_and_pages(demo_db, redis_env):
    from backend.core import jobs

    owner = Owner()
    owner.say(BindHouse, "绑定 3栋2单元501 13800001001")
    jobs.queue(jobs.HIGH).empty()
    owner.answer_form("厨房燃气泄漏了 味道很大", intent="report_repair")
    assert owner.slots["repair_confirmed"] is True  # no 回复确认 turn
    assert owner.slots["contact_phone"] == "13800001001"  # the phone on record
    reply = owner.say(SubmitRepair, "")
    assert "单号" in reply and "不要开关" in reply and "开门窗" in reply or "打开门窗" in reply
    assert "24小时电话 0571-8888 6666" in reply
    assert owner.slots["emergency_ticket"]
    queued = [job.func_name for job in jobs.queue(jobs.HIGH).get_jobs()]
    assert "backend.work.dispatch.page_emergency" in queued
    ticket = _one(demo_db, select(Ticket).where(Ticket.openid == owner.openid))
    assert ticket.urgency == "urgent" and ticket.house_id is not None

    reply = owner.say(InformOutsideAFlow, "电话改成13912345678", intent="inform")
    assert "已更新" in reply and "13912345678" in reply
    ticket = _one(demo_db, select(Ticket).where(Ticket.openid == owner.openid))
    assert ticket.contact_phone == "13912345678"


def test_a_lift_emergency_in_yangguangcheng_gives_the_duty_number_not_a_false_24h(demo_db, redis_env):
    owner = Owner()
    owner.answer_form("阳光城5号楼电梯困人了", intent="report_repair")
    assert owner.slots["repair_confirmed"] is True
    reply = owner.say(SubmitRepair, "")
    assert "警铃" in reply and "不要强行扒门" in reply
    assert "021-6666 9110" in reply and "021-6666 8888（24小时）" not in reply


# --- unbound owners ------------------------------------------------------------------------------
def test_an_address_two_communities_have_is_asked_about_and_remembered(demo_db, redis_env):
    owner = Owner()
    owner.answer_form("3栋2单元501卫生间马桶堵了", intent="report_repair")
    assert owner.slots.get("repair_community") is None  # XFL and YGC both have 3栋2单元501
    reply = owner.say(AskRepairCommunity, "")
    assert "您是哪个小区的" in reply and "幸福里花园" in reply and "阳光城" in reply
    owner.slots["requested_slot"] = "repair_community"
    owner.answer_form("阳光城")
    with db.session_scope(demo_db) as session:
        ygc = session.execute(select(Community.id).where(Community.code == "YGC")).scalar_one()
        house = session.execute(
            select(House.id)
            .join(House.building)
            .where(House.room == "501", House.unit == "2")
            .where(House.building.has(community_id=ygc, code="3"))
        ).scalar_one()
    assert owner.slots["repair_community"] == ygc and owner.slots["chosen_community"] == ygc
    owner.slots.update(repair_time="随时", contact_phone="13912340000", repair_confirmed=True)
    assert "单号" in owner.say(SubmitRepair, "")
    ticket = _one(demo_db, select(Ticket).where(Ticket.openid == owner.openid))
    assert (ticket.community_id, ticket.house_id) == (ygc, house)
    # the next report in the same conversation is not asked again
    owner.answer_form("3栋2单元501客厅灯不亮", intent="report_repair")
    assert owner.slots["repair_community"] == ygc


def test_an_address_only_one_community_has_needs_no_question(demo_db):
    owner = Owner()
    owner.answer_form("8号楼702客厅的灯不亮了", intent="report_repair")
    with db.session_scope(demo_db) as session:
        xfl = session.execute(select(Community.id).where(Community.code == "XFL")).scalar_one()
    assert owner.slots["repair_community"] == xfl


def test_an_address_alone_from_an_unbound_owner_leads_to_binding(demo_db):
    reply = Owner().say(InformOutsideAFlow, "3栋2单元501", intent="inform")
    assert "手机号" in reply


# --- what we know already -------------------------------------------------------------------------
def test_a_bound_owner_is_offered_the_phone_on_record(demo_db):
    owner = Owner()
    owner.say(BindHouse, "绑定 3栋2单元501 13800001001")
    reply = owner.say(AskContactPhone, "")
    assert "138****1001" in reply and "13800001001" not in reply
    owner.slots["requested_slot"] = "contact_phone"
    owner.answer_form("是的", intent="affirm")
    assert owner.slots["contact_phone"] == "13800001001"


def test_twenty_four_hours_is_said_only_of_a_number_staffed_around_the_clock(demo_db):
    xfl, ygc = Owner(), Owner()
    xfl.say(BindHouse, "绑定 3栋2单元501 13800001001")
    assert "0571-8888 6666（24小时）" in xfl.say(AnswerContact, "物业电话多少")
    reply = ygc.say(AnswerContact, "阳光城物业电话多少")
    assert "021-6666 8888（24小时）" not in reply
    assert "09:00-17:00" in reply and "24小时值班电话 021-6666 9110" in reply


def test_an_emergency_the_nlu_missed_is_raised_at_once_all_the_same(demo_db, redis_env):
    owner = Owner()
    reply = owner.say(OutOfScope, "阳光城5号楼电梯困人了", intent="nlu_fallback")
    assert "单号" in reply and "警铃" in reply and "021-6666 9110" in reply
    assert owner.slots["emergency_ticket"] and owner.loop is None
    ticket = _one(demo_db, select(Ticket).where(Ticket.openid == owner.openid))
    assert ticket.urgency == "urgent" and ticket.community_id is not None
