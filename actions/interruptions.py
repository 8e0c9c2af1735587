"""Interruptions while a flow waits for the owner's answer (issue 14): one reading for every flow.

The flows: the repair, complaint and decoration forms; a binding that still lacks the address or
the phone (slot bind_pending); the satisfaction survey's question and a finished job's rating,
just asked (kept in the database; answers to them are read before the assistant sees them,
backend/owners/owner_desk.py, so what reaches the assistant is not an answer).

What the owner may say instead of an answer, and what happens:

- 不办了 / 算了 / 取消 (or the NLU's cancel): the flow stops and nothing is submitted;
- a goodbye (拜拜, 88): the flow is left unfinished, with a word on how to come back;
- a question ("物业电话多少"): answered by its own action, then our question is asked again;
- something off-topic: declined kindly and our question asked again; a second time the flow is
  left politely (slot form_interrupted counts it; a real answer resets it).

Forms: the validation action calls `read` first. For a question or an off-topic message it returns
nothing, so Rasa rejects the form; the general rules (bot/data/rules.yml, no active_loop condition)
answer or decline (action_out_of_scope), and Rasa returns to the open form, which asks again.
Flows that are not forms are asked again by `ask_again`: the answering actions are wrapped in
`@asks_again`, and action_out_of_scope / action_cancel_outside call `off_topic` / `cancel_pending`.
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.binding import BIND_SLOTS
from actions.store import db, latest_text
from backend.service import aftercare, survey
from backend.text import flow_words, phones, ratings

# Questions and requests the general rules answer while a flow waits; the flow then asks again.
QUESTION_INTENTS = frozenset(
    {
        "query_ticket_status",
        "query_fee",
        "query_notice",
        "query_outage",
        "ask_contact",
        "ask_paid_service",
        "ask_renovation",
        "rate_service",
        "bind_house",
        "suggest",
        "greet",
        "thank",
        "request_human",
        "send_photo",
    }
)
OFF_TOPIC_INTENTS = frozenset({"out_of_scope", "nlu_fallback"})
# Slot that remembers, for this conversation, the survey / rating requests the owner set aside.
SET_ASIDE = "flow_set_aside"
# form_interrupted says an off-topic message was declined; this slot says where (the form, or the
# survey question / job / binding), so a count left from another flow does not end this one.
INTERRUPTED_AT = "interrupted_at"


class Turn(enum.Enum):
    ANSWER = "answer"  # read it for answers
    QUESTION = "question"  # the rules answer it; the flow asks again
    OFF_TOPIC = "off_topic"  # declined; the flow asks again, or is left the second time
    CANCEL = "cancel"
    GOODBYE = "goodbye"
    BACK = "back"  # the form runs again after a rule answered: the message was read already


@dataclass(frozen=True)
class Flow:
    key: str  # the form's name, or binding / survey / rating
    label: str  # what it is called to the owner
    come_back: str  # how to take it up again
    slots: tuple = ()
    is_form: bool = True
    cancelled: str = ""  # a response name (utter_…) or the text itself
    unfinished: str = ""


# The forms register their Flow when their module is imported (actions/repair.py, complaint.py,
# renovation.py; the action server imports every module of the package).
_FORMS: Dict[str, Flow] = {}


def form(the_flow: Flow) -> Flow:
    _FORMS[the_flow.key] = the_flow
    return the_flow


BINDING = Flow(
    "binding",
    "房屋绑定",
    "想接着办的时候跟我说「绑定房屋」就行",
    BIND_SLOTS,
    is_form=False,
    cancelled="好的，房屋绑定先不办了。需要的时候跟我说「绑定房屋」就行。",
    unfinished="好的，房屋绑定还没有完成。需要的时候说「绑定房屋」，我们再接着来。再见！",
)
SURVEY = Flow(
    "survey",
    "满意度问卷",
    "想接着填的时候直接回复分数就行",
    is_form=False,
    cancelled=survey.DECLINED_REPLY,
    unfinished="好的，问卷先放一放，想接着填的时候直接回复分数就行。再见！",
)
RATING = Flow(
    "rating",
    "维修评价",
    "想评价的时候随时回复1-5分就行",
    is_form=False,
    cancelled="好的，不评也没关系 😊 之后想评价，随时回复1-5分就行。",
    unfinished="好的，评价不着急，之后想评随时回复1-5分就行。再见！",
)


def _say(dispatcher: CollectingDispatcher, message: str) -> None:
    if message.startswith("utter_"):
        dispatcher.utter_message(response=message)
    else:
        dispatcher.utter_message(text=message)


def intent_of(tracker: Tracker) -> str:
    return (tracker.latest_message.get("intent") or {}).get("name") or ""


def back_from_interruption(tracker: Tracker) -> bool:
    """The form runs again after another action answered the owner's message (a rule after the
    form stepped aside): that message was read already. Rasa hands the validation a tracker that
    ends with the form's own execution; before it, either the owner's message (a fresh answer) or
    the action that answered it."""
    loop = tracker.active_loop.get("name")
    for event in reversed(tracker.events or []):
        kind = event.get("event")
        if kind == "user":
            return False
        if kind == "action" and event.get("name") not in (loop, "action_listen", "action_extract_slots"):
            return True
    return False


def rating_waits(openid: str) -> bool:
    """A finished job is waiting for the owner's score (so "5" or "好的" may be a rating)."""
    with db() as session:
        return aftercare.latest_done(session, openid, datetime.now(timezone.utc)) is not None


def read(
    tracker: Tracker, answers: Optional[Callable[[str], bool]] = None, answer_intents: frozenset = frozenset()
) -> Turn:
    """How the latest message stands to the question a form is asking. `answers(text)`: the
    form's own reading finds the answer to its open question in the message (a phone, a date,
    an address), whatever the NLU called it. `answer_intents`: intents that answer this form
    rather than interrupt it (a suggestion told while we ask what the complaint is about)."""
    if not tracker.get_slot("requested_slot"):
        return Turn.ANSWER  # the message that started the form
    if back_from_interruption(tracker):
        return Turn.BACK
    text, intent = latest_text(tracker), intent_of(tracker)
    if intent == "cancel" or flow_words.cancels(text):
        return Turn.CANCEL
    if intent == "goodbye" or ratings.is_goodbye(text):
        return Turn.GOODBYE
    if answers is not None and text and answers(text):
        return Turn.ANSWER
    if intent in answer_intents:
        return Turn.ANSWER
    if intent == "rate_service" and not rating_waits(tracker.sender_id):
        return Turn.ANSWER  # a bare number or "好的" is an answer unless a finished job waits for a score
    if intent in QUESTION_INTENTS:
        return Turn.QUESTION
    if intent in OFF_TOPIC_INTENTS:
        return Turn.OFF_TOPIC
    return Turn.ANSWER


def answered(tracker: Tracker) -> List[EventType]:
    """A real answer: the off-topic count starts again."""
    return [SlotSet("form_interrupted", False)] if tracker.get_slot("form_interrupted") else []


def stop_events(the_flow: Flow) -> List[EventType]:
    events: List[EventType] = [SlotSet("form_interrupted", False), SlotSet(INTERRUPTED_AT, None)]
    events += [SlotSet(n, None) for n in the_flow.slots]
    if the_flow.is_form:
        events = [ActiveLoop(None), SlotSet("requested_slot", None)] + events
    return events


def stop(dispatcher: CollectingDispatcher, tracker: Tracker, the_flow: Flow, why: Turn) -> List[EventType]:
    """Cancelled (不办了) or left with a goodbye: say so, and nothing is submitted."""
    _say(dispatcher, the_flow.cancelled if why is Turn.CANCEL else the_flow.unfinished)
    return stop_events(the_flow) + _close(tracker, the_flow, declined=why is Turn.CANCEL)


def _close(tracker: Tracker, the_flow: Flow, declined: bool) -> List[EventType]:
    """What stopping means for a flow kept outside the conversation: a survey the owner declines
    stops waiting for them; a survey or rating set aside is not asked again in this conversation."""
    if the_flow.key not in ("survey", "rating"):
        return []
    if the_flow.key == "survey" and declined:
        with db() as session:
            survey.decline(session, tracker.sender_id)
    aside = list(tracker.get_slot(SET_ASIDE) or [])
    return [SlotSet(SET_ASIDE, aside + [the_flow.key])]


# --- flows that are not forms ---------------------------------------------------------------------
def waiting(tracker: Tracker) -> Optional[Flow]:
    """The flow waiting for an answer in this conversation, if any."""
    loop = tracker.active_loop.get("name")
    if loop:
        return _FORMS.get(loop)
    return _pending_outside(tracker)[0]


def _pending_outside(tracker: Tracker) -> tuple[Optional[Flow], str]:
    """(flow, the question as we ask it again) for a flow that is not a form."""
    if tracker.get_slot("bind_pending"):
        return BINDING, _binding_question(tracker)
    aside = tracker.get_slot(SET_ASIDE) or []
    with db() as session:
        question = None if "survey" in aside else survey.question_waiting(session, tracker.sender_id)
        if question:
            return SURVEY, f"满意度问卷还等您回复 🙏 {question}"
        ticket = None if "rating" in aside else aftercare.rating_asked(session, tracker.sender_id)
        if ticket is not None:
            return RATING, (
                f"您的报修 {ticket.number} 师傅已经处理完了，您满意吗？回复1-5分就行（5分最满意），还没修好直接告诉我。"
            )
    return None, ""


def _binding_question(tracker: Tracker) -> str:
    address, phone = tracker.get_slot("bind_address"), tracker.get_slot("bind_phone")
    if address:
        return "接着帮您绑定房屋：请告诉我在物业登记的手机号，我来核对一下。"
    if phone:
        return f"接着帮您绑定房屋：已记下手机号 {phones.mask(phone)}，请再告诉我房号，比如「3栋2单元501」。"
    return "接着帮您绑定房屋：请告诉我房号和在物业登记的手机号，比如「3栋2单元501 13812345678」。"


def ask_again(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
    """After answering a question: ask the waiting flow's question again (a form asks by itself)."""
    if tracker.active_loop.get("name"):
        return []
    the_flow, question = _pending_outside(tracker)
    if the_flow is not None:
        dispatcher.utter_message(text=question)
    return []


def asks_again(run: Callable) -> Callable:
    """For an answering action's run(): after its answer, the waiting flow's question again."""

    @functools.wraps(run)
    def wrapped(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]):
        events = list(run(self, dispatcher, tracker, domain) or [])
        if any(e.get("event") == "slot" and e.get("name") == "bind_pending" for e in events):
            return events  # the answer changed the binding itself
        return events + ask_again(dispatcher, tracker)

    return wrapped


def off_topic(dispatcher: CollectingDispatcher, tracker: Tracker, the_flow: Flow) -> List[EventType]:
    """Declined kindly and the question asked again; the second time in a row the flow is left."""
    question = "" if the_flow.is_form else _pending_outside(tracker)[1]
    here = the_flow.key if the_flow.key in ("binding",) or the_flow.is_form else f"{the_flow.key}:{question}"
    if tracker.get_slot("form_interrupted") and tracker.get_slot(INTERRUPTED_AT) in (here, None):
        return leave(dispatcher, tracker, the_flow)
    dispatcher.utter_message(text="这个我帮不上忙 😅 我们先把手头这件事办完：")
    if question:
        dispatcher.utter_message(text=question)
    return [SlotSet("form_interrupted", True), SlotSet(INTERRUPTED_AT, here)]


def leave(dispatcher: CollectingDispatcher, tracker: Tracker, the_flow: Flow) -> List[EventType]:
    """Off-topic a second time: the flow is left with a clear word (nothing submitted)."""
    done = "先放一放" if the_flow.key in ("survey", "rating") else "我先帮您停在这里，还没有提交"
    dispatcher.utter_message(
        text=f"这个我帮不上忙 😅 {the_flow.label}{done}。{the_flow.come_back}；需要人工可以说「转人工」。"
    )
    return stop_events(the_flow) + _close(tracker, the_flow, declined=False)


def cancel_pending(dispatcher: CollectingDispatcher, tracker: Tracker) -> Optional[List[EventType]]:
    """不办了 / 算了 with no form open: stops a waiting binding, survey or rating; None if none waits."""
    the_flow = waiting(tracker)
    if the_flow is None or the_flow.is_form:
        return None
    return stop(dispatcher, tracker, the_flow, Turn.CANCEL)
