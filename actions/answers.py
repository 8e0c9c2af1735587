"""Answers outside the repair form.

Outages get an honest answer that points to the service desk until their own flow lands;
ticket status is answered from the records. Fees, notices, contacts, paid services and binding
have their own modules (fees.py, notices.py, services.py, binding.py).
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction
from rasa_sdk.executor import CollectingDispatcher

from actions import complaint, interruptions, renovation, repair  # noqa: F401  (their forms register)
from actions.binding import BindHouse, wants_binding_continued
from actions.home import desk, phone_words
from actions.notices import AnswerNotice, asks_for_more
from actions.repair import describes_a_fault
from actions.store import db, entity, latest_text
from backend.owners import accounts as owners
from backend.text import addresses, flow_words, phones, ratings
from backend.work import tickets

log = logging.getLogger(__name__)

STATUS_WORDS = {
    "new": "已受理，正在安排师傅",
    "dispatched": "已派给师傅，等师傅接单",
    "accepted": "师傅已接单",
    "on_site": "师傅已到场维修",
    "done": "已完工，请您确认",
    "closed": "已完结",
    "cancelled": "已取消",
}


def _desk_line(d: Dict[str, str]) -> str:
    line = f"物业服务中心电话 {phone_words(d)}"
    if d["address"]:
        line += f"，服务中心在{d['address']}"
    if d["hours"] and d.get("hotline_24h"):
        line += f"，上班时间 {d['hours']}"
    return line


class _DeskAnswer(Action):
    """An honest "not here yet" answer with the right desk's contact."""

    action_name = ""
    template = ""

    def name(self) -> Text:
        return self.action_name

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        with db() as session:
            d = desk(session, tracker.sender_id)
        dispatcher.utter_message(text=self.template.format(desk=_desk_line(d), hotline=d["hotline"]))
        return []


class RequestHuman(Action):
    def name(self) -> Text:
        return "action_request_human"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        with db() as session:
            owners.record_handoff(session, tracker.sender_id, latest_text(tracker) or "转人工")
            d = desk(session, tracker.sender_id)
        dispatcher.utter_message(
            text=f"好的，已经帮您转给人工客服，客服看到后会在这里回复您。着急的话可以直接打 {phone_words(d)}。"
        )
        return []


class AnswerComplaint(Action):
    """Recorded for customer service to follow up; the full complaint flow comes later."""

    def name(self) -> Text:
        return "action_answer_complaint"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        text = latest_text(tracker)
        with db() as session:
            owners.record_handoff(session, tracker.sender_id, f"投诉：{text}")
            d = desk(session, tracker.sender_id)
        dispatcher.utter_message(
            text=(
                "给您添麻烦了，非常抱歉。您反映的情况我已经记录下来，转给了客服，会尽快联系您处理。"
                f"情况紧急的话请直接打物业电话 {phone_words(d)}。"
            )
        )
        return []


class OutOfScope(Action):
    """Off-topic, or a bare answer with no question open. If it names a fault after all
    ("东门门禁刷不开 随时都可以"), the NLU missed a repair: start one rather than refuse.
    While a flow waits for an answer (a form, a binding, a survey or rating just asked), the
    message is declined kindly and the question asked again; a second time the flow is left
    (actions/interruptions.py)."""

    response = "utter_capabilities"

    def name(self) -> Text:
        return "action_out_of_scope"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        waiting = interruptions.waiting(tracker)
        if ratings.is_goodbye(latest_text(tracker)):
            # "88" / "886" look like a score to the NLU and may land here: the owner is leaving.
            if waiting is not None:
                return interruptions.stop(dispatcher, tracker, waiting, interruptions.Turn.GOODBYE)
            dispatcher.utter_message(response="utter_goodbye")
            return []
        if waiting is not None and waiting.is_form:
            # The form steps aside for this; it asks its question again after us, or is left.
            return interruptions.off_topic(dispatcher, tracker, waiting)
        # The answer to a question we just asked (the phone for a binding, "更多" notices),
        # which the NLU cannot know is one.
        # Answered here rather than by FollowupAction: no rule follows those actions after
        # an inform or out_of_scope turn, so the policy could not predict what comes next.
        if wants_binding_continued(tracker):
            return BindHouse().run(dispatcher, tracker, domain)
        if asks_for_more(tracker):
            return AnswerNotice().run(dispatcher, tracker, domain)
        with db() as session:
            if renovation.wants_to_resubmit(session, tracker, latest_text(tracker)):
                # 「重新提交」 with a returned 装修 application: the form opens on it.
                return [FollowupAction("renovation_form")]
        if repair.names_a_fault(latest_text(tracker)):
            raised = repair.raise_emergency_now(dispatcher, tracker, domain)
            if raised is not None:
                return raised
            return [FollowupAction("repair_form")]
        if waiting is not None:
            return interruptions.off_topic(dispatcher, tracker, waiting)
        dispatcher.utter_message(response=self.response)
        return []


class CancelOutside(Action):
    """不办了 / 算了 with no form open: a waiting binding, survey or rating stops; else nothing to
    cancel. A plain "不用了 / 不是" (deny) with no stop word is only acknowledged."""

    def name(self) -> Text:
        return "action_cancel_outside"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        if interruptions.intent_of(tracker) == "deny" and not flow_words.cancels(latest_text(tracker)):
            dispatcher.utter_message(response="utter_ok")
            return []
        stopped = interruptions.cancel_pending(dispatcher, tracker)
        if stopped is not None:
            return stopped
        deny = interruptions.intent_of(tracker) == "deny"
        dispatcher.utter_message(response="utter_ok" if deny else "utter_nothing_to_cancel")
        return []


class InformOutsideAFlow(OutOfScope):
    """A bare answer with no question open: a correction to the emergency just raised, an
    address from an owner who has not bound a home (binding), else as OutOfScope."""

    response = "utter_inform_without_context"

    def name(self) -> Text:
        return "action_inform_outside"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        text = latest_text(tracker)
        number = tracker.get_slot("emergency_ticket")
        if number:
            phone, address = phones.extract_mobile(text), addresses.parse_address(text)
            if phone or address:
                with db() as session:
                    changed = tickets.correct(session, number, tracker.sender_id, contact_phone=phone, address=address)
                if changed:
                    dispatcher.utter_message(text=f"好的，紧急报修 {number} 已更新：{changed}。师傅和主管会看到。")
                    return []
        if addresses.parse_address(text) and not wants_binding_continued(tracker) and not describes_a_fault(text):
            with db() as session:
                bound = owners.current_house(session, tracker.sender_id) is not None
            if not bound:
                return BindHouse().run(dispatcher, tracker, domain)
        waiting = interruptions.waiting(tracker)
        if waiting is not None and not waiting.is_form and not wants_binding_continued(tracker):
            # Not the answer to the binding, survey or rating question waiting: ask it again.
            dispatcher.utter_message(text="没太明白您的意思 🙏")
            return interruptions.ask_again(dispatcher, tracker)
        return super().run(dispatcher, tracker, domain)


class AnswerTicketStatus(Action):
    def name(self) -> Text:
        return "action_answer_ticket_status"

    @interruptions.asks_again
    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        number = entity(tracker, "ticket_no")
        text = latest_text(tracker)
        urging = any(word in text for word in ("催", "怎么还没", "还没来", "太慢", "快点"))
        with db() as session:
            found = tickets.find_by_number(session, number) if number else None
            if found is not None and found.openid != tracker.sender_id:
                found = None  # someone else's ticket: say nothing about it
            mine = [found] if found else tickets.tickets_for(session, tracker.sender_id, limit=3)
            if not mine:
                d = desk(session, tracker.sender_id)
                dispatcher.utter_message(
                    text=f"没有查到您在这里提交的报修。如果是电话报的，可以问物业服务中心 {d['hotline']}；要新报修直接跟我说问题和地址。"
                )
                return []
            lines = []
            for t in mine:
                line = f"· {t.number}（{t.location_label}）{t.description[:20]}：{STATUS_WORDS.get(t.status, t.status)}"
                lines.append(line)
                if urging and t.status not in ("done", "closed", "cancelled"):
                    tickets.add_step(session, t, "note", f"owner:{tracker.sender_id}", "业主催单")
        reply = "您的报修进度：\n" + "\n".join(lines)
        if urging:
            reply += "\n已经帮您催了，会让师傅尽快联系您。"
        dispatcher.utter_message(text=reply)
        return []
