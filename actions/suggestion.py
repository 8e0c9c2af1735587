"""意见/建议 in chat: the owner's idea is recorded as a suggestion (a JY ticket, not a complaint),
goes to customer service on duty and is answered within 2 hours; the answer reaches the owner
here (backend/service/complaints.py, kind "suggestion")."""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import interruptions
from actions.complaint import says_what
from actions.store import db, latest_text, source_key
from backend.owners import accounts as owners
from backend.service import complaints
from backend.text import phones

log = logging.getLogger(__name__)


class RecordSuggestion(Action):
    def name(self) -> Text:
        return "action_record_suggestion"

    @interruptions.asks_again
    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        text = latest_text(tracker).strip()
        if not says_what(text.replace("想法", "").replace("提议", "").replace("意见", "")):
            dispatcher.utter_message(
                text=(
                    "太好了，欢迎您提意见和建议 😊 请直接把您的想法发给我，"
                    "比如「建议小区多装几个充电桩」，我会登记并转给客服，2小时内给您回复。"
                )
            )
            return []
        with db() as session:
            house = owners.current_house(session, tracker.sender_id)
            ticket = complaints.raise_complaint(
                session,
                complaints.ComplaintRequest(
                    openid=tracker.sender_id,
                    description=text[:300],
                    kind="suggestion",
                    location_label=house.label if house else "",
                    house_id=house.id if house else None,
                    community_id=owners.community_of(session, house).id if house else None,
                    contact_phone=phones.extract_mobile(text) or "",
                    source_key=source_key(tracker),
                ),
            )
            number = ticket.number
        log.info("suggestion recorded", extra={"ticket": number})
        dispatcher.utter_message(
            text=(f"谢谢您的建议 🙏 已经登记，编号 {number}。\n客服会在2小时内认真看并给您回复，回复会发到这里。")
        )
        return []
