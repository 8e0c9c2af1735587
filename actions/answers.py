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

from actions.binding import BindHouse, wants_binding_continued
from actions.home import desk
from actions.notices import AnswerNotice, asks_for_more
from actions.repair import describes_a_fault
from actions.store import db, entity, latest_text
from backend.owners import accounts as owners
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
    line = f"物业服务中心电话 {d['hotline']}（24小时）"
    if d["address"]:
        line += f"，服务中心在{d['address']}"
    if d["hours"]:
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
            text=f"好的，已经帮您转给人工客服，客服看到后会在这里回复您。着急的话可以直接打 {d['hotline']}（24小时有人接）。"
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
                f"情况紧急的话请直接打物业电话 {d['hotline']}（24小时）。"
            )
        )
        return []




class OutOfScope(Action):
    """Off-topic, or a bare answer with no question open. If it names a fault after all
    ("东门门禁刷不开 随时都可以"), the NLU missed a repair: start one rather than refuse."""

    response = "utter_capabilities"

    def name(self) -> Text:
        return "action_out_of_scope"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        # The answer to a question we just asked (the phone for a binding, "更多" notices),
        # which the NLU cannot know is one.
        # Answered here rather than by FollowupAction: no rule follows those actions after
        # an inform or out_of_scope turn, so the policy could not predict what comes next.
        if wants_binding_continued(tracker):
            return BindHouse().run(dispatcher, tracker, domain)
        if asks_for_more(tracker):
            return AnswerNotice().run(dispatcher, tracker, domain)
        if describes_a_fault(latest_text(tracker)):
            return [FollowupAction("repair_form")]
        dispatcher.utter_message(response=self.response)
        return []


class InformOutsideAFlow(OutOfScope):
    response = "utter_inform_without_context"

    def name(self) -> Text:
        return "action_inform_outside"


class AnswerTicketStatus(Action):
    def name(self) -> Text:
        return "action_answer_ticket_status"

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
