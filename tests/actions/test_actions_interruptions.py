"""Issue 14, interruptions in every flow, at the action server against the demo data: the complaint
and decoration forms, a binding waiting for its second half, the satisfaction survey and a finished
job's rating. In each: a question is answered and our question asked again, off-topic is declined
(asked again) and a second time leaves the flow, 不办了 / 算了 stops it. One reading for all of them
(actions/interruptions.py); the Rasa side (the form steps aside, the rules answer, the form asks
again) is shown by tests/conversations/stories/test_interruptions.yml."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions import interruptions
from actions.answers import CancelOutside, InformOutsideAFlow, OutOfScope
from actions.binding import BindHouse
from actions.complaint import ValidateComplaintForm
from actions.renovation import AnswerRenovation, AskRenovationWork, ValidateRenovationForm
from actions.repair import ValidateRepairForm
from actions.services import AnswerContact
from backend.core import db
from backend.core.models import Community, RenovationApplication, SurveyInvite, Ticket, WechatBinding
from backend.owners import owner_desk
from backend.service import survey
from tests.actions import test_actions_conversations as conversations
from tests.actions.test_actions_conversations import _run_async

_ids = itertools.count(1)


class Owner(conversations.Owner):
    """The conversations tests' owner, who also keeps the open form (self.loop) in the events
    Rasa hands a form's validation."""

    def __init__(self):
        super().__init__()
        self.openid = f"o-intr-{next(_ids)}"

    def tracker(self, text: str, intent: str, back_from: str | None = None) -> Tracker:
        # What Rasa hands a form's validation: the owner's message, then (after a rule answered
        # it) the answering action, then the form's own execution.
        events = [{"event": "action", "name": "action_listen"}, {"event": "user", "text": text}]
        if back_from:
            events.append({"event": "action", "name": back_from})
        if self.loop:
            events.append({"event": "action", "name": self.loop})
        return Tracker(
            self.openid,
            dict(self.slots),
            {"text": text, "intent": {"name": intent}, "entities": [], "message_id": str(next(_ids))},
            events,
            False,
            None,
            {"name": self.loop} if self.loop else {},
            None,
        )

    def validate(self, action_class, text: str, intent: str = "inform", back_from: str | None = None) -> str:
        """One run of a form's validation (the form must be open: self.loop)."""
        dispatcher = CollectingDispatcher()
        events = _run_async(action_class().run(dispatcher, self.tracker(text, intent, back_from), {}))
        return self._take(events, dispatcher)


def _count(engine, model, **where) -> int:
    with db.session_scope(engine) as session:
        return len(session.execute(select(model).filter_by(**where)).scalars().all())


def _bound(owner: Owner) -> None:
    assert "绑定成功" in owner.say(BindHouse, "绑定 3栋2单元501 13800001001")


# --- one reading --------------------------------------------------------------------------------
def test_back_from_an_interruption_is_told_by_the_events():
    owner = Owner()
    owner.loop = "complaint_form"
    owner.slots["requested_slot"] = "complaint_description"
    assert interruptions.back_from_interruption(owner.tracker("物业电话多少", "ask_contact")) is False
    back = owner.tracker("物业电话多少", "ask_contact", back_from="action_answer_contact")
    assert interruptions.back_from_interruption(back) is True
    assert interruptions.read(back) is interruptions.Turn.BACK


@pytest.mark.parametrize(
    "text, intent, turn",
    [
        ("物业电话多少", "ask_contact", "question"),
        ("装修押金多少", "ask_renovation", "question"),
        ("讲个笑话", "out_of_scope", "off_topic"),
        ("asdfgh", "nlu_fallback", "off_topic"),
        ("不办了", "deny", "cancel"),
        ("算了", "cancel", "cancel"),
        ("88", "rate_service", "goodbye"),
        ("拜拜", "goodbye", "goodbye"),
        ("楼上天天半夜拖椅子", "complain", "answer"),
        ("3", "rate_service", "answer"),  # no finished job waits for a score: an answer
    ],
)
def test_one_reading_for_every_form(demo_db, text, intent, turn):
    owner = Owner()
    owner.loop = "complaint_form"
    owner.slots["requested_slot"] = "complaint_description"
    assert interruptions.read(owner.tracker(text, intent)).value == turn


# --- the complaint form -------------------------------------------------------------------------
def _complaint(owner: Owner) -> None:
    owner.loop = "complaint_form"
    owner.validate(ValidateComplaintForm, "我要投诉", "complain")
    owner.slots["requested_slot"] = "complaint_description"


def test_a_question_inside_a_complaint_is_not_taken_as_the_complaint(demo_db):
    owner = Owner()
    _complaint(owner)
    # The form steps aside (nothing read, nothing said): Rasa rejects it and the rules answer.
    assert owner.validate(ValidateComplaintForm, "物业电话多少", "ask_contact") == "" and owner.events == []
    assert "电话" in owner.say(AnswerContact, "物业电话多少", "ask_contact")
    # Back in the form after the answer: still not the complaint; the form asks again.
    again = owner.validate(ValidateComplaintForm, "物业电话多少", "ask_contact", back_from="action_answer_contact")
    assert again == "" and owner.events == [] and owner.slots.get("complaint_description") is None
    owner.validate(ValidateComplaintForm, "楼上天天半夜拖椅子 吵得睡不着", "complain")
    assert owner.slots["complaint_description"] == "楼上天天半夜拖椅子 吵得睡不着"
    owner.slots["requested_slot"] = "complaint_location"
    # An address is the answer to "where", even if the NLU called it a binding.
    owner.validate(ValidateComplaintForm, "我家是3栋2单元501", "bind_house")
    assert owner.slots["complaint_location"].startswith("3栋2单元501")


def test_a_suggestion_worded_complaint_inside_the_complaint_form_is_the_complaint(demo_db):
    owner = Owner()
    _complaint(owner)
    owner.validate(ValidateComplaintForm, "希望物业管管楼上半夜的噪音", "suggest")
    assert owner.slots["complaint_description"] == "希望物业管管楼上半夜的噪音"


def test_off_topic_inside_a_complaint_is_declined_then_a_second_time_leaves(demo_db):
    owner = Owner()
    _complaint(owner)
    assert owner.validate(ValidateComplaintForm, "讲个笑话", "out_of_scope") == "" and owner.events == []
    reply = owner.say(OutOfScope, "讲个笑话", "out_of_scope")
    assert "帮不上忙" in reply and owner.loop == "complaint_form" and owner.slots["form_interrupted"] is True
    assert owner.validate(ValidateComplaintForm, "讲个笑话", "out_of_scope", back_from="action_out_of_scope") == ""
    assert owner.slots.get("complaint_description") is None
    reply = owner.say(OutOfScope, "今天天气怎么样", "out_of_scope")
    assert "投诉我先帮您停在这里" in reply and "还没有提交" in reply
    assert owner.loop is None and owner.slots["form_interrupted"] is False
    assert _count(demo_db, Ticket, openid=owner.openid) == 0


def test_an_answer_inside_a_complaint_resets_the_off_topic_count(demo_db):
    owner = Owner()
    _complaint(owner)
    owner.say(OutOfScope, "讲个笑话", "out_of_scope")
    owner.validate(ValidateComplaintForm, "东门保安不登记外来车辆", "complain")
    assert owner.slots["form_interrupted"] is False
    owner.slots["requested_slot"] = "complaint_location"
    assert "帮不上忙" in owner.say(OutOfScope, "今天天气怎么样", "out_of_scope")
    assert owner.loop == "complaint_form"  # declined again, not left


@pytest.mark.parametrize("text, intent", [("不办了", "cancel"), ("算了", "deny"), ("那个投诉不要了", "complain")])
def test_cancel_inside_a_complaint_records_nothing(demo_db, text, intent):
    owner = Owner()
    _complaint(owner)
    assert owner.validate(ValidateComplaintForm, text, intent) == "<utter_complaint_cancelled>"
    assert owner.loop is None and owner.slots["complaint_description"] is None
    assert _count(demo_db, Ticket, openid=owner.openid) == 0


def test_a_goodbye_inside_a_complaint_leaves_it_politely(demo_db):
    owner = Owner()
    _complaint(owner)
    reply = owner.validate(ValidateComplaintForm, "拜拜", "goodbye")
    assert "投诉还没有登记" in reply and owner.loop is None


# --- the decoration application -----------------------------------------------------------------
def _renovation(owner: Owner) -> str:
    _bound(owner)
    owner.loop = "renovation_form"
    owner.validate(ValidateRenovationForm, "我要装修", "apply_renovation")
    first = owner.say(AskRenovationWork, "我要装修", "apply_renovation")
    owner.slots["requested_slot"] = "renovation_work"
    return first


def test_a_question_inside_a_decoration_application_is_answered_then_asked_again(demo_db):
    owner = Owner()
    first = _renovation(owner)
    assert "小区的规定" in first
    assert owner.validate(ValidateRenovationForm, "装修押金多少", "ask_renovation") == "" and owner.events == []
    assert "押金" in owner.say(AnswerRenovation, "装修押金多少", "ask_renovation")
    back = owner.validate(
        ValidateRenovationForm, "装修押金多少", "ask_renovation", back_from="action_answer_renovation"
    )
    assert back == "" and owner.slots.get("renovation_work") is None  # "押金" is not the work to be done
    # Asked again, briefly: the rules were told already.
    again = owner.say(AskRenovationWork, "装修押金多少", "ask_renovation")
    assert "做哪些项目" in again and "小区的规定" not in again
    owner.validate(ValidateRenovationForm, "厨房卫生间翻新")
    assert owner.slots["renovation_work"] == "厨房卫生间翻新"
    owner.slots["requested_slot"] = "renovation_workers"
    # "3" may come out of the NLU as a rating; no job waits for one, so it is the number of workers.
    owner.validate(ValidateRenovationForm, "3", "rate_service")
    assert owner.slots["renovation_workers"] == 3


def test_off_topic_twice_leaves_a_decoration_application_and_cancel_stops_it(demo_db):
    owner = Owner()
    _renovation(owner)
    owner.slots["requested_slot"] = "renovation_contractor"
    assert owner.validate(ValidateRenovationForm, "讲个笑话", "out_of_scope") == "" and owner.events == []
    assert "帮不上忙" in owner.say(OutOfScope, "讲个笑话", "out_of_scope")
    assert owner.loop == "renovation_form" and owner.slots.get("renovation_contractor_name") is None
    reply = owner.say(OutOfScope, "你喜欢什么电影", "out_of_scope")
    assert "装修申请我先帮您停在这里" in reply and owner.loop is None

    again = Owner()
    _renovation(again)
    assert again.validate(ValidateRenovationForm, "不办了", "cancel") == "<utter_renovation_cancelled>"
    assert again.loop is None
    assert _count(demo_db, RenovationApplication) == 0


def test_a_phone_the_nlu_called_off_topic_is_still_the_contractors(demo_db):
    owner = Owner()
    _renovation(owner)
    owner.slots.update(renovation_work="刷墙", requested_slot="renovation_contractor")
    owner.validate(ValidateRenovationForm, "安居装饰 13912345678", "out_of_scope")
    assert owner.slots["renovation_contractor"] == "安居装饰（139****5678）"


# --- binding (not a form: bind_pending) ---------------------------------------------------------
def test_a_question_while_a_binding_waits_is_answered_then_the_binding_asked_again(demo_db):
    owner = Owner()
    assert "房号和在物业登记的手机号" in owner.say(BindHouse, "我要绑定房屋", "bind_house")
    reply = owner.say(AnswerContact, "物业电话多少", "ask_contact")
    assert "电话" in reply and reply.splitlines()[-1].startswith("接着帮您绑定房屋")
    assert owner.slots["bind_pending"] is True
    owner.say(InformOutsideAFlow, "3-2-501", "inform")
    reply = owner.say(AnswerContact, "管家电话", "ask_contact")
    assert "接着帮您绑定房屋：请告诉我在物业登记的手机号" in reply
    assert "绑定成功" in owner.say(OutOfScope, "13800001001", "out_of_scope")
    assert "接着帮您绑定" not in owner.say(AnswerContact, "物业电话多少", "ask_contact")


def test_off_topic_while_a_binding_waits_is_declined_then_a_second_time_leaves(demo_db):
    owner = Owner()
    owner.say(BindHouse, "我要绑定房屋", "bind_house")
    reply = owner.say(OutOfScope, "讲个笑话", "out_of_scope")
    assert "帮不上忙" in reply and "接着帮您绑定房屋" in reply and owner.slots["bind_pending"] is True
    reply = owner.say(OutOfScope, "今天天气怎么样", "out_of_scope")
    assert "房屋绑定我先帮您停在这里" in reply and owner.slots["bind_pending"] is None
    assert owner.slots["form_interrupted"] is False
    assert _count(demo_db, WechatBinding, openid=owner.openid) == 0


def test_an_answer_to_the_binding_resets_the_off_topic_count(demo_db):
    owner = Owner()
    owner.say(BindHouse, "我要绑定房屋", "bind_house")
    owner.say(OutOfScope, "讲个笑话", "out_of_scope")
    owner.say(InformOutsideAFlow, "3-2-501", "inform")
    reply = owner.say(OutOfScope, "今天天气怎么样", "out_of_scope")
    assert "帮不上忙" in reply and owner.slots["bind_pending"] is True  # declined again, not left


def test_cancel_stops_a_waiting_binding_and_otherwise_there_is_nothing_to_cancel(demo_db):
    owner = Owner()
    owner.say(BindHouse, "我要绑定房屋", "bind_house")
    reply = owner.say(CancelOutside, "算了 不绑了", "cancel")
    assert "房屋绑定先不办了" in reply and owner.slots["bind_pending"] is None
    assert owner.say(CancelOutside, "不办了", "cancel") == "<utter_nothing_to_cancel>"
    assert owner.say(CancelOutside, "不是", "deny") == "<utter_ok>"


# --- the satisfaction survey (answers are read before the assistant: owner_desk) ------------------
def _surveyed(engine, owner: Owner) -> None:
    _bound(owner)
    with db.session_scope(engine) as session:
        community = session.execute(select(Community).where(Community.name == "幸福里花园")).scalar_one()
        survey.start(session, community, 2026, "测试")


def test_a_question_during_the_survey_is_answered_then_the_survey_question_asked_again(demo_db):
    owner = Owner()
    _surveyed(demo_db, owner)
    with db.session_scope(demo_db) as session:
        assert owner_desk.answer(session, owner.openid, "物业电话多少") is None  # the assistant reads it
    reply = owner.say(AnswerContact, "物业电话多少", "ask_contact")
    assert "电话" in reply and "满意度问卷还等您回复" in reply and "第1题" in reply
    with db.session_scope(demo_db) as session:
        assert "第2题" in owner_desk.answer(session, owner.openid, "5")[0]
        assert "第3题" in owner_desk.answer(session, owner.openid, "4分")[0]
        # The last question takes free text, but a question to us is not the owner's suggestion.
        assert owner_desk.answer(session, owner.openid, "物业电话多少") is None
    assert "第3题" in owner.say(AnswerContact, "物业电话多少", "ask_contact")
    with db.session_scope(demo_db) as session:
        assert "谢谢您花时间" in owner_desk.answer(session, owner.openid, "希望东门晚上多一个保安")[0]


def test_off_topic_during_the_survey_is_declined_then_a_second_time_sets_it_aside(demo_db):
    owner = Owner()
    _surveyed(demo_db, owner)
    reply = owner.say(OutOfScope, "讲个笑话", "out_of_scope")
    assert "帮不上忙" in reply and "第1题" in reply
    reply = owner.say(OutOfScope, "今天天气怎么样", "out_of_scope")
    assert "满意度问卷先放一放" in reply and "回复分数" in reply
    assert "满意度问卷" not in owner.say(AnswerContact, "物业电话多少", "ask_contact")  # not asked again
    with db.session_scope(demo_db) as session:  # set aside, not declined: a score still counts
        assert "第2题" in owner_desk.answer(session, owner.openid, "5")[0]


def test_stopping_the_survey_declines_it_and_it_is_not_counted_as_finished(demo_db):
    owner = Owner()
    _surveyed(demo_db, owner)
    with db.session_scope(demo_db) as session:
        assert owner_desk.answer(session, owner.openid, "不填了") == [survey.DECLINED_REPLY]
        invite = session.execute(select(SurveyInvite).where(SurveyInvite.openid == owner.openid)).scalar_one()
        assert invite.finished_at is not None and invite.step == 0
        assert survey.results(session, invite.survey).finished == 0
        assert owner_desk.answer(session, owner.openid, "5") is None  # no longer waiting
    assert "满意度问卷" not in owner.say(AnswerContact, "物业电话多少", "ask_contact")


def test_a_bare_stop_word_reaches_the_assistant_and_stops_the_survey_when_no_form_is_open(demo_db):
    owner = Owner()
    _surveyed(demo_db, owner)
    with db.session_scope(demo_db) as session:
        assert owner_desk.answer(session, owner.openid, "算了") is None  # may be about an open form
    assert owner.say(CancelOutside, "算了", "cancel") == survey.DECLINED_REPLY
    with db.session_scope(demo_db) as session:
        invite = session.execute(select(SurveyInvite).where(SurveyInvite.openid == owner.openid)).scalar_one()
        assert invite.finished_at is not None


# --- a finished job's rating --------------------------------------------------------------------
def _finished_job(engine, owner: Owner, minutes_ago: int = 1) -> str:
    from backend.text.addresses import Address
    from backend.work import tickets

    at = datetime.now(timezone.utc) - timedelta(minutes=minutes_ago)
    with db.session_scope(engine) as session:
        ticket = tickets.create_repair(
            session,
            tickets.RepairRequest(
                openid=owner.openid,
                description="厨房水管漏水",
                contact_phone="13800001001",
                address=Address("8", None, "702"),
            ),
        )
        ticket.status = "done"
        tickets.add_step(session, ticket, "done", "staff:test", at=at)
        ticket.updated_at = at
        return ticket.number


def test_a_question_right_after_a_finished_job_is_answered_then_the_rating_asked_again(demo_db):
    owner = Owner()
    number = _finished_job(demo_db, owner)
    reply = owner.say(AnswerContact, "物业电话多少", "ask_contact")
    assert "电话" in reply and number in reply and "1-5分" in reply
    reply = owner.say(OutOfScope, "讲个笑话", "out_of_scope")
    assert "帮不上忙" in reply and number in reply
    reply = owner.say(OutOfScope, "今天天气怎么样", "out_of_scope")
    assert "维修评价先放一放" in reply
    assert number not in owner.say(AnswerContact, "物业电话多少", "ask_contact")


def test_not_rating_is_fine_and_not_asked_again(demo_db):
    owner = Owner()
    number = _finished_job(demo_db, owner)
    assert "不评也没关系" in owner.say(CancelOutside, "不评了", "cancel")
    assert number not in owner.say(AnswerContact, "物业电话多少", "ask_contact")


def test_a_job_finished_long_ago_is_not_asked_about_after_every_question(demo_db):
    owner = Owner()
    number = _finished_job(demo_db, owner, minutes_ago=180)
    assert number not in owner.say(AnswerContact, "物业电话多少", "ask_contact")
    assert owner.say(CancelOutside, "不办了", "cancel") == "<utter_nothing_to_cancel>"


# --- the repair form uses the same reading ------------------------------------------------------
def test_the_repair_form_reads_interruptions_the_same_way(demo_db):
    owner = Owner()
    owner.loop = "repair_form"
    owner.validate(ValidateRepairForm, "楼道灯坏了", "report_repair")
    owner.slots["requested_slot"] = "repair_location"
    back = owner.validate(ValidateRepairForm, "今天天气怎么样 明天呢", "out_of_scope", back_from="action_out_of_scope")
    assert back == "" and owner.events == []
    assert owner.validate(ValidateRepairForm, "不办了", "cancel") == "<utter_cancelled>"
    assert owner.loop is None
