"""The decoration application in chat, as the action server runs it (validation, questions,
submit) against the demo data with its imported rules; and the rules answers."""

from __future__ import annotations

import asyncio
import itertools
import threading
from datetime import timedelta

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.binding import BindHouse
from actions.fees import today
from actions.renovation import (
    AnswerRenovation,
    AskRenovationConfirmed,
    AskRenovationWork,
    SubmitRenovation,
    ValidateRenovationForm,
    _contractor,
    _workers,
)
from backend.core import db
from backend.core.models import RenovationApplication
from backend.text.date_spans import parse_span

_ids = itertools.count(1)


def _in_thread(coro):
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("value", asyncio.run(coro)))
    thread.start()
    thread.join()
    return result["value"]


class Owner:
    def __init__(self):
        self.openid = f"o-reno-{next(_ids)}"
        self.slots: dict = {}

    def _tracker(self, text, intent, loop=None):
        return Tracker(
            self.openid,
            dict(self.slots),
            {"text": text, "intent": {"name": intent}, "entities": [], "message_id": str(next(_ids))},
            [],
            False,
            None,
            {"name": loop} if loop else {},
            None,
        )

    def _apply(self, events, dispatcher):
        stopped = False
        for event in events:
            if event.get("event") == "slot":
                self.slots[event["name"]] = event["value"]
            if event.get("event") == "active_loop" and event.get("name") is None:
                stopped = True
        return "\n".join(m.get("text") or m.get("response") or "" for m in dispatcher.messages), stopped

    def run(self, action_class, text="", intent="x"):
        dispatcher = CollectingDispatcher()
        return self._apply(action_class().run(dispatcher, self._tracker(text, intent), {}), dispatcher)[0]

    def answer(self, text, intent="inform"):
        """The form's validation of one message, then the next question (as Rasa would ask it)."""
        dispatcher = CollectingDispatcher()
        events = _in_thread(
            ValidateRenovationForm().run(dispatcher, self._tracker(text, intent, "renovation_form"), {})
        )
        said, stopped = self._apply(events, dispatcher)
        if stopped:
            return said
        for name in (
            "renovation_work",
            "renovation_contractor",
            "renovation_dates",
            "renovation_workers",
            "renovation_confirmed",
        ):
            if self.slots.get(name) is None:
                ask = {"renovation_work": AskRenovationWork, "renovation_confirmed": AskRenovationConfirmed}.get(name)
                # Rasa asks with requested_slot as it was (None the first time), then sets it.
                asked = self.run(ask) if ask else f"utter_ask_{name}"
                self.slots["requested_slot"] = name
                return said + "\n" + asked
        self.slots["requested_slot"] = None
        return said + "\n" + self.run(SubmitRenovation)


def test_pieces_of_answers():
    assert _contractor("安居装饰 电话13912345678") == ("安居装饰", "13912345678")
    assert _contractor("施工队是老王") == ("老王", None)
    assert (
        _workers("大概三个工人", bare=False) == 3
        and _workers("5", bare=True) == 5
        and _workers("5", bare=False) is None
    )
    span = parse_span("下周一开始，干一个月", today())
    assert span.start > today() and (span.end - span.start).days >= 28


def test_unbound_owner_is_asked_to_bind_first(demo_db):
    owner = Owner()
    reply = owner.answer("我要装修", intent="apply_renovation")
    assert "先绑定" in reply and owner.slots.get("renovation_house_id") is None


def test_application_through_the_form_and_rules_first(demo_db):
    owner = Owner()
    assert "绑定成功" in owner.run(BindHouse, "绑定 3栋2单元501 13800001001")
    first = owner.answer("我要装修", intent="apply_renovation")
    assert "8:00-12:00、14:00-18:00" in first and "承重墙" in first and "3000 元" in first
    assert "做哪些项目" in first
    assert "utter_ask_renovation_contractor" in owner.answer("厨房卫生间翻新，客厅铺木地板")
    retry = owner.answer("安居装饰")
    assert "utter_ask_renovation_contractor" in retry and owner.slots["renovation_retry"] is True
    assert "utter_ask_renovation_dates" in owner.answer("13912345678")
    assert owner.slots["renovation_contractor"] == "安居装饰（139****5678）"
    start = today() + timedelta(days=5)
    end = start + timedelta(days=20)
    asked = owner.answer(f"{start.month}月{start.day}日到{end.month}月{end.day}日")
    assert "utter_ask_renovation_workers" in asked
    summary = owner.answer("3个")
    assert "请核对" in summary and "3人" in summary and "安居装饰" in summary
    changed = owner.answer("改成4个人")
    assert "4人" in changed and owner.slots["renovation_workers"] == 4
    done = owner.answer("确认")
    assert "装修申请已经提交" in done and "ZX" in done and "3000 元" in done
    with db.session_scope(demo_db) as session:
        app = session.execute(select(RenovationApplication)).scalar_one()
        assert (app.openid, app.workers, app.contractor_phone) == (owner.openid, 4, "13912345678")
        assert (app.starts_on, app.ends_on, app.status) == (start, end, "submitted")
    again = Owner()
    again.openid = owner.openid
    assert "已经有一份装修申请" in again.answer("我要装修", intent="apply_renovation")
    assert "待审批" in owner.run(AnswerRenovation, "我的装修申请批了没")


@pytest.mark.parametrize(
    "text, first",
    [
        ("周末可以装修吗", "🕗"),
        ("装修押金多少", "💰"),
        ("能不能拆墙", "🚫"),
        ("装修要带什么材料", "📄"),
    ],
)
def test_rules_answers_put_the_asked_part_first(demo_db, text, first):
    owner = Owner()
    owner.run(BindHouse, "绑定 3栋2单元501 13800001001")
    reply = owner.run(AnswerRenovation, text)
    assert reply.splitlines()[0] == "幸福里花园的装修规定：" and reply.splitlines()[1].startswith(first)


def test_rules_answer_for_a_named_community_without_binding(demo_db):
    reply = Owner().run(AnswerRenovation, "阳光城周末能装修吗")
    assert "阳光城的装修规定" in reply and "周末 9:00-12:00、15:00-18:00" in reply
