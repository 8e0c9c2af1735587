"""A returned 装修 application corrected in chat, as the action server runs it: the owner is told
why it came back and how to correct it, 「修改装修申请」 (whatever intent the NLU gives it: the
application form, a rules question, or nothing it knows) opens the form filled from it, the owner
changes only what is asked and confirms, and the same application goes back for approval."""

from __future__ import annotations

from datetime import timedelta

from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.answers import OutOfScope
from actions.binding import BindHouse
from actions.fees import today
from actions.renovation import AnswerRenovation, SubmitRenovation
from backend.core import db
from backend.core.models import OutboundMessage, RenovationApplication
from backend.owners import accounts as owners
from backend.work import renovation
from tests.actions.test_actions_renovation import Owner

CONFIRM_ASKED = "核对"


class ChattingOwner(Owner):
    def asked_next(self, said: str, intent: str) -> str:
        """After the form's validation: its next question, as Rasa would ask it (the ask action
        sees the same latest message)."""
        from actions.renovation import AskRenovationConfirmed, AskRenovationWork

        for name in ("renovation_work", "renovation_contractor", "renovation_dates", "renovation_workers"):
            if self.slots.get(name) is None:
                self.slots["requested_slot"] = name
                ask = AskRenovationWork if name == "renovation_work" else None
                return said + "\n" + (self.run(ask, intent=intent) if ask else f"utter_ask_{name}")
        if self.slots.get("renovation_confirmed") is None:
            self.slots["requested_slot"] = "renovation_confirmed"
            return said + "\n" + self.run(AskRenovationConfirmed, intent=intent)
        self.slots["requested_slot"] = None
        self.before_submit = dict(self.slots)
        return said + "\n" + self.run(SubmitRenovation)

    def say(self, text: str, intent: str = "inform") -> str:
        from actions.renovation import ValidateRenovationForm
        from tests.actions.test_actions_renovation import _in_thread

        dispatcher = CollectingDispatcher()
        events = _in_thread(
            ValidateRenovationForm().run(dispatcher, self._tracker(text, intent, "renovation_form"), {})
        )
        said, stopped = self._apply(events, dispatcher)
        return said if stopped else self.asked_next(said, intent)


def _returned(engine, owner: ChattingOwner, starts_in_days: int = 5) -> str:
    assert "绑定成功" in owner.run(BindHouse, "绑定 3栋2单元501 13800001001")
    with db.session_scope(engine) as s:
        house = owners.current_house(s, owner.openid)
        app = renovation.apply(
            s,
            renovation.ApplicationRequest(
                openid=owner.openid,
                house_id=house.id,
                work="厨房卫生间翻新",
                contractor="安居装饰",
                contractor_phone="13912345678",
                starts_on=today() + timedelta(days=starts_in_days),
                ends_on=today() + timedelta(days=starts_in_days + 20),
                workers=3,
            ),
        )
        renovation.return_with_reason(s, app, "console:zheng", "请补充水电改造图纸")
        return app.number


def _app(engine, number):
    with db.session_scope(engine) as s:
        app = renovation.find(s, number)
        return app.status, app.work, app.workers, app.contractor, [st.kind for st in app.steps]


def test_the_owner_corrects_and_resubmits_in_chat(demo_db):
    owner = ChattingOwner()
    number = _returned(demo_db, owner)
    with db.session_scope(demo_db) as s:
        pushed = s.execute(select(OutboundMessage.content).where(OutboundMessage.openid == owner.openid)).scalar_one()
    assert "请补充水电改造图纸" in pushed and "「修改装修申请」" in pushed  # the return says how

    status = owner.run(AnswerRenovation, "我的装修申请批了没")
    assert "已退回" in status and "请补充水电改造图纸" in status and "「修改装修申请」" in status

    first = owner.say("修改装修申请", intent="apply_renovation")
    assert f"您的装修申请 {number} 被物业退回了，原因是：请补充水电改造图纸" in first
    assert "我把上次填的内容调出来了" in first and "厨房卫生间翻新" in first and "安居装饰（139****5678）" in first
    assert owner.slots["renovation_resubmit"] == number

    changed = owner.say("项目改成厨房卫生间翻新，水电改造图纸已交到服务中心")
    assert "请再核对" in changed and "水电改造图纸已交到服务中心" in changed
    contractor = owner.say("装修公司改成 美家装饰 13700001111")
    assert "美家装饰（137****1111）" in contractor
    workers = owner.say("改成4个人")
    assert "4人" in workers
    done = owner.say("确认")
    assert f"装修申请 {number} 已经重新提交啦" in done and "施工人数：3人 → 4人" in done
    assert "装修公司：安居装饰 → 美家装饰" in done and "联系电话：139****5678 → 137****1111" in done
    status, work, count, contractor_name, kinds = _app(demo_db, number)
    assert (status, count, contractor_name) == ("submitted", 4, "美家装饰") and "图纸已交" in work
    assert kinds == ["submitted", "returned", "resubmitted"]
    with db.session_scope(demo_db) as s:
        assert len(s.execute(select(RenovationApplication)).scalars().all()) == 1  # no second application
    # The same turn replayed (the action server restarted mid-turn) says it is done, changes nothing.
    owner.slots = owner.before_submit
    assert "已经重新提交了" in owner.run(SubmitRenovation)
    assert _app(demo_db, number)[4] == kinds


def test_other_words_for_it_open_the_same_form(demo_db):
    owner = ChattingOwner()
    _returned(demo_db, owner)
    # Classified as a rules question: the answer opens the form instead.
    dispatcher = CollectingDispatcher()
    events = AnswerRenovation().run(dispatcher, owner._tracker("我想修改一下装修申请", "ask_renovation"), {})
    assert events == [{"event": "followup", "timestamp": None, "name": "renovation_form"}]
    # Not understood at all (nlu_fallback / out_of_scope): 重新提交 still opens it.
    dispatcher = CollectingDispatcher()
    events = OutOfScope().run(dispatcher, owner._tracker("重新提交", "nlu_fallback"), {})
    assert events == [{"event": "followup", "timestamp": None, "name": "renovation_form"}]
    # Without a returned application those words are what they always were (never this form).
    other = ChattingOwner()
    dispatcher = CollectingDispatcher()
    events = OutOfScope().run(dispatcher, other._tracker("重新提交", "nlu_fallback"), {})
    assert not any(e.get("name") == "renovation_form" for e in events)


def test_dates_already_past_are_asked_again(demo_db):
    owner = ChattingOwner()
    number = _returned(demo_db, owner)
    with db.session_scope(demo_db) as s:  # the owner took a while: the start date has passed
        app = renovation.find(s, number)
        app.starts_on, app.ends_on = today() - timedelta(days=2), today() + timedelta(days=20)
    first = owner.say("我要装修", intent="apply_renovation")
    assert "已经过了" in first and "utter_ask_renovation_dates" in first
    start = today() + timedelta(days=3)
    end = start + timedelta(days=25)
    summary = owner.say(f"{start.month}月{start.day}日到{end.month}月{end.day}日")
    assert CONFIRM_ASKED in summary and f"{start.month}月{start.day}日" in summary
    done = owner.say("确认")
    assert "已经重新提交啦" in done and "施工期" in done
    assert _app(demo_db, number)[0] == "submitted"


def test_another_account_of_the_home_applies_afresh(demo_db):
    """Only the owner who applied corrects it; someone else bound to the home starts anew."""
    owner = ChattingOwner()
    _returned(demo_db, owner)
    spouse = ChattingOwner()
    assert "绑定成功" in spouse.run(BindHouse, "绑定 3栋2单元501 13800001001")
    first = spouse.say("我要装修", intent="apply_renovation")
    assert "做哪些项目" in first and spouse.slots.get("renovation_resubmit") is None


def test_a_form_left_by_cancel_leaves_nothing_behind(demo_db):
    """取消 / 转人工 mid-form deactivate it by rule, with its slots still set: the next 「我要装修」
    starts afresh (no stale number to resubmit, no stale answers)."""
    owner = ChattingOwner()
    number = _returned(demo_db, owner)
    assert number in owner.say("修改装修申请", intent="apply_renovation")
    assert owner.slots["renovation_resubmit"] == number
    owner.slots["requested_slot"] = None  # the cancel rule's action_deactivate_loop, slots kept
    with db.session_scope(demo_db) as s:  # meanwhile the desk corrected it for them and approved it
        app = renovation.find(s, number)
        renovation.resubmit(s, app, "console:zheng")
        renovation.approve(s, app, "console:zheng")
    again = owner.say("我要装修", intent="apply_renovation")
    assert "已经有一份装修申请" in again and number in again and "施工中" in again
    assert owner.slots.get("renovation_resubmit") is None and owner.slots.get("renovation_work") is None
