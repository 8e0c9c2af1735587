"""意见/建议 in chat: recorded as a suggestion (JY), never as a complaint; a bare "我有个建议"
asks for the idea first."""

from __future__ import annotations

from actions.binding import BindHouse
from actions.suggestion import RecordSuggestion
from backend.core.models import SlaClock, Ticket
from tests.actions.test_actions_owner_answers import Owner, rows


def test_an_idea_is_recorded_as_a_suggestion_on_the_2_hour_clock(demo_db):
    owner = Owner()
    assert "绑定成功" in owner.say(BindHouse, "绑定 3栋2单元501 13800001001")
    reply = owner.say(RecordSuggestion, "建议小区多装几个电动车充电桩")
    assert "谢谢您的建议" in reply and "2小时内" in reply and "编号 JY" in reply
    [ticket] = rows(demo_db, Ticket, openid=owner.openid)
    assert (ticket.kind, ticket.channel, ticket.location_label) == ("suggestion", "wechat", "3栋2单元501")
    assert rows(demo_db, Ticket, openid=owner.openid, kind="complaint") == []
    [clock] = rows(demo_db, SlaClock, ticket_id=ticket.id)
    assert clock.kind == "handled" and (clock.due_at - ticket.created_at).total_seconds() == 2 * 3600


def test_a_bare_wish_to_suggest_asks_for_the_idea(demo_db):
    owner = Owner()
    reply = owner.say(RecordSuggestion, "我有个建议")
    assert "请直接把您的想法发给我" in reply
    assert rows(demo_db, Ticket, openid=owner.openid) == []
