"""query_outage: answered from the outages staff announced for the owner's building."""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions import interruptions
from actions.store import db, entity, latest_text
from backend.core.clock import aware_now
from backend.core.models import OUTAGE_KINDS, Community
from backend.messaging import outages
from backend.owners import accounts as owners
from backend.text import addresses

UTILITY_KINDS = {"水": "water", "电": "power", "燃气": "gas", "气": "gas", "煤气": "gas", "热水": "hot_water"}
# "停水了" / "没电了" / "一滴都没有": the owner is without it now, not asking about plans.
_NOW = re.compile(r"(停|没|断)(了|啦)|突然|现在|一滴|黑了|全黑|没有水|没水|没电|不出水|来不了")


def _kind(tracker: Tracker, text: str) -> Optional[str]:
    value = entity(tracker, "utility")
    if value in UTILITY_KINDS:
        return UTILITY_KINDS[value]
    for word in ("热水", "燃气", "煤气", "水", "电"):
        if word in text:
            return UTILITY_KINDS[word]
    return None


class AnswerOutage(Action):
    def name(self) -> Text:
        return "action_answer_outage"

    @interruptions.asks_again
    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        text = latest_text(tracker)
        kind = _kind(tracker, text)
        now = aware_now()
        with db() as session:
            community, building, bound = self._where(session, tracker, text)
            found = outages.for_building(session, community.id, building, now) if community else []
            place = f"{building}栋" if building and building.isdigit() else (building or "小区")
            same_kind = [o for o in found if kind is None or o.kind == kind]
            lines = [outages.describe(o, now) for o in same_kind]
            others = [outages.describe(o, now) for o in found if o not in same_kind]
            tip = same_kind[0].prepare or outages.PREPARE_DEFAULT.get(same_kind[0].kind, "") if same_kind else ""
        what = OUTAGE_KINDS.get(kind, "停水停电") if kind else "停水停电"
        if lines:
            reply = ("有的：\n" if len(lines) > 1 else "有的，") + "\n".join(lines)
            if tip:
                reply += f"\n{tip}。"
            dispatcher.utter_message(text=reply)
            return []
        if _NOW.search(text) and community is not None:
            # Without it now and no notice behind it: most likely a fault. Start a repair.
            dispatcher.utter_message(
                text=f"我这里没有查到{place}现在有{what}的通知，可能是家里或楼里的线路、管道出了问题。我帮您报修，师傅来看看。"
            )
            return [SlotSet("repair_description", f"{text.strip()}（没有{what}通知）"), FollowupAction("repair_form")]
        reply = f"目前没有{place}的{what}计划（未来7天内）。"
        if others:
            reply += "不过：" + "".join(others)
        if not bound:
            reply += "\n绑定房屋后，停水停电通知会自动发给您。"
        else:
            reply += "有新的通知，我会第一时间在这里告诉您。"
        dispatcher.utter_message(text=reply)
        return []

    @staticmethod
    def _where(session, tracker: Tracker, text: str):
        """(community, building code or None, bound?) — the bound home first, then what was said."""
        said = entity(tracker, "building")
        address = addresses.parse_address(said or text) if (said or text) else None
        house = owners.current_house(session, tracker.sender_id)
        if house is not None:
            community = owners.community_of(session, house)
            building = address.building if address else house.building.code
            return community, building, True
        communities = session.execute(select(Community).order_by(Community.id).limit(2)).scalars().all()
        community = communities[0] if len(communities) == 1 else None
        return community, address.building if address else None, False
