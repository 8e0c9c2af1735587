"""query_outage as the action server answers it: from the notice for the owner's building, "none"
elsewhere, and a cut with no notice behind it starts a repair."""

from __future__ import annotations

from datetime import timedelta

from actions.binding import BindHouse
from actions.outages import AnswerOutage
from backend.core import db
from backend.core.clock import aware_now
from backend.messaging import outages
from tests.actions.test_actions_owner_answers import Owner


def _cut(engine, buildings, hours_from_now=20):
    now = aware_now()
    with db.session_scope(engine) as session:
        outages.create(
            session,
            "XFL",
            "water",
            now + timedelta(hours=hours_from_now),
            now + timedelta(hours=hours_from_now + 8),
            buildings=buildings,
            reason="市政管网维修",
        )


def _bound(text="绑定 3栋2单元501 13800001001") -> Owner:
    owner = Owner()
    assert "绑定成功" in owner.say(BindHouse, text)
    return owner


def test_answered_from_the_notice_for_the_owners_building(demo_db):
    _cut(demo_db, ["3"])
    reply = _bound().say(AnswerOutage, "明天停水吗", intent="query_outage")
    assert "有的" in reply and "3栋" in reply and "停水" in reply and "市政管网维修" in reply
    assert "储水" in reply  # what to prepare


def test_none_planned_for_a_building_not_affected(demo_db):
    _cut(demo_db, ["12"])
    reply = _bound().say(AnswerOutage, "明天停水吗", intent="query_outage")
    assert "目前没有3栋的停水计划" in reply


def test_asking_about_another_kind_mentions_what_there_is(demo_db):
    _cut(demo_db, ["3"])
    reply = _bound().say(AnswerOutage, "这两天会停电吗", intent="query_outage")
    assert "目前没有3栋的停电计划" in reply and "不过" in reply and "停水" in reply


def test_a_cut_now_without_a_notice_starts_a_repair(demo_db):
    owner = _bound()
    reply = owner.say(AnswerOutage, "家里突然没水了", intent="query_outage")
    assert "没有查到" in reply and "报修" in reply
    assert "没有停水通知" in owner.slots["repair_description"]


def test_a_cut_going_on_now_says_until_when(demo_db):
    _cut(demo_db, ["3"], hours_from_now=-1)
    reply = _bound().say(AnswerOutage, "停水了吗 到几点", intent="query_outage")
    assert "正在停水" in reply and "预计" in reply
