"""Per-message costs of the Rasa server (3.6) that do not change what it does.

Applied by the conversation store when the Rasa server creates it (bot/endpoints.yml), so it
takes effect in the Rasa server process only; measured with py-spy (docs/BENCHMARKS.md).

- A custom action's answer is checked against Rasa's response schema with `jsonschema.validate`,
  which first checks the schema itself against the JSON Schema meta-schema: about 10-20 ms of
  CPU for every action call. The schema is Rasa's own constant, so it is checked once here and
  its validator kept; every answer is still validated, with the same error.
- Reading an event from JSON (`Event.from_parameters`) looks its class up by walking every
  subclass of Event, for every event: about a tenth of the server's time per message, loading
  the conversation. Event classes are fixed once Rasa is imported, so a name found once is
  remembered; a name not found still goes the original way (defaults, errors).
"""

from __future__ import annotations

from typing import Any, Dict


def apply() -> None:
    _check_action_answers_with_one_validator()
    _remember_event_classes()


def _remember_event_classes() -> None:
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses

    if getattr(Event.resolve_by_type, "remembers", False):
        return
    original = Event.resolve_by_type
    known: Dict[str, Any] = {}

    def resolve_by_type(type_name: str, default: Any = None) -> Any:
        found = known.get(type_name)
        if found is not None:
            return found
        for cls in all_subclasses(Event):
            if cls.type_name == type_name:
                known[type_name] = cls
                return cls
        return original(type_name, default)

    resolve_by_type.remembers = True  # type: ignore[attr-defined]
    Event.resolve_by_type = staticmethod(resolve_by_type)


def _check_action_answers_with_one_validator() -> None:
    from jsonschema.exceptions import best_match
    from jsonschema.validators import validator_for
    from rasa.core.actions import action as rasa_action
    from rasa.shared.constants import DOCS_BASE_URL

    remote = rasa_action.RemoteAction
    if getattr(remote._validate_action_result, "checked_once", False):
        return
    schema = remote.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema)

    def _validate_action_result(self: Any, result: Dict[str, Any]) -> bool:
        error = best_match(validator.iter_errors(result))
        if error is not None:
            error.message += (
                ". Failed to validate Action server response from API, make sure your response "
                f"from the Action endpoint is valid. For more information about the format visit "
                f"{DOCS_BASE_URL}/custom-actions"
            )
            raise error
        return True

    _validate_action_result.checked_once = True  # type: ignore[attr-defined]
    remote._validate_action_result = _validate_action_result
