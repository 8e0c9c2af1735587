"""query_notice: the owner's community's (and building's) notices, newest first; 更多 pages on."""

from __future__ import annotations

import re
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import interruptions
from actions.fees import today
from actions.home import where, which_community
from actions.store import db, latest_text
from backend.owners import notices
from backend.text.addresses import Address

MORE = re.compile(
    r"^\s*(更多|再来|下一页|后面的|还有呢|还有吗|还有别的吗|接着看|继续|more)\s*(通知|公告)?\s*[吗呢啊吧。.!！?？]*\s*$",
    re.IGNORECASE,
)
SUMMARY_CHARS = 60


def asks_for_more(tracker: Tracker) -> bool:
    return tracker.get_slot("notice_offset") is not None and bool(MORE.match(latest_text(tracker)))


class AnswerNotice(Action):
    def name(self) -> Text:
        return "action_answer_notice"

    @interruptions.asks_again
    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        text = latest_text(tracker)
        more = asks_for_more(tracker)
        offset = int(tracker.get_slot("notice_offset") or 0) if more else 0
        with db() as session:
            place = where(session, tracker.sender_id, text, tracker.get_slot("notice_community") if more else None)
            if place.community is None:
                dispatcher.utter_message(text=which_community(place.choices, "通知"))
                return []
            found, has_more = notices.current(session, place.community.id, place.building_code, today(), offset)
            name = place.community.name
        if not found:
            reply = (
                "后面没有更多通知了。"
                if offset
                else f"{name}目前没有正在生效的通知公告。停水停电、检修消杀等通知一发布，我这里就能查到。"
            )
            dispatcher.utter_message(text=reply)
            return [SlotSet("notice_offset", None), SlotSet("notice_community", None)]
        lines = [f"{name}的通知（新的在前）：" if not offset else f"{name}的更早通知："]
        for i, notice in enumerate(found, start=offset + 1):
            scope = f"【{Address(notice.building_code).label}】" if notice.building_code else ""
            body = notice.body if len(notice.body) <= SUMMARY_CHARS else notice.body[:SUMMARY_CHARS] + "…"
            lines.append(f"{i}. {notice.published_on.month}月{notice.published_on.day}日 {scope}{notice.title}")
            if body:
                lines.append(f"   {body}")
        if has_more:
            lines.append("回复「更多」看后面的通知。")
        dispatcher.utter_message(text="\n".join(lines))
        # Kept after the last page too, so a further 更多 hears "no more" instead of page one.
        return [SlotSet("notice_offset", offset + len(found)), SlotSet("notice_community", place.community.id)]
