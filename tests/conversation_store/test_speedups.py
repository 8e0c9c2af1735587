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
