"""The Rasa server still validates every custom action's answer after the speed-up (the schema
is checked once instead of on every call): good answers pass, bad ones fail as before."""

from __future__ import annotations

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from conversation_store import speedups


def test_action_answers_are_still_validated():
    speedups.apply()
    speedups.apply()  # twice is the same as once
    action = RemoteAction("action_answer_fee", None)
    good = {"events": [{"event": "slot", "name": "notice_offset", "value": 3}], "responses": [{"text": "好的"}]}
    assert action._validate_action_result(good) is True
    for bad in ({"events": "not a list"}, {"events": [{"event": "no_such_event"}]}, {"responses": ["text"]}):
        with pytest.raises(ValidationError, match="Failed to validate Action server response"):
            action._validate_action_result(bad)


def test_events_still_read_as_their_own_class():
    from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered

    speedups.apply()
    for event in (
        UserUttered("你好", {"name": "greet", "confidence": 1.0}),
        ActionExecuted("action_listen"),
        SlotSet("repair_description", "漏水"),
    ):
        again = Event.from_parameters(event.as_dict())
        assert type(again) is type(event) and again == event
    assert Event.resolve_by_type("topic") is None  # as before: old TopicSet events are skipped
    assert Event.resolve_by_type("no_such_event", default=SlotSet) is SlotSet
    with pytest.raises(ValueError):
        Event.resolve_by_type("no_such_event")
