"""Complaints (投诉) and ratings (评价) in chat.

Complaint intake asks only what it lacks: what happened and where. "楼上装修太吵了" from an
owner with a bound home is enough on its own (where: their home); "我要投诉" asks what
happened, then where. A message during the form is taken as the answer to the open question
(an owner who is upset does not phrase answers as the NLU expects) unless it is a question to us,
something off-topic, 不投诉了 / 算了, a goodbye or 转人工: those are read the way every flow reads
them (actions/interruptions.py). The category is read from the words in backend/service/complaints.py.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import interruptions
from actions.interruptions import Turn
from actions.store import db, entity, latest_text, source_key
from backend.owners import accounts as owners
from backend.service import aftercare, complaints
from backend.text import addresses, phones, ratings

log = logging.getLogger(__name__)

FORM_SLOTS = ("complaint_description", "complaint_location", "complaint_house_id", "complaint_photos")
FLOW = interruptions.form(
    interruptions.Flow(
        "complaint_form",
        "投诉",
        "想接着办的时候跟我说「我要投诉」就行",
        FORM_SLOTS,
        cancelled="utter_complaint_cancelled",
        unfinished="好的，这次投诉还没有登记。需要的时候说「我要投诉」，我们再接着来。再见！",
    )
)
# Words that say "I want to complain" without saying about what.
_GENERIC = re.compile(
    r"我要|我想|想要|要|帮我|麻烦|请|需要|投诉|投拆|反映|反应|举报|意见|建议|一下|个|问题|情况|事情|物业|"
    r"你们|您好|你好|在吗|请问|了|啊|呀|吧|的|呢|哦|嗯|喂|有|[\s!！?？。，,.~]",
)
_HOME = re.compile(r"家|屋|我这|自己|楼上|楼下|隔壁|对门")


def says_what(text: str) -> bool:
    return len(re.findall(r"[\u4e00-\u9fffA-Za-z]", _GENERIC.sub("", text or ""))) >= 2


def _where(text: str) -> Optional[str]:
    """An address or a place named in the message (3栋2单元501, 东门, 地下车库)."""
    address = addresses.parse_address(text)
    place = addresses.find_place(text)
    parts = [address.label if address else None, place]
    label = " ".join(p for p in parts if p)
    return label or None


def _bound_house(openid: str) -> Optional[tuple[int, str]]:
    with db() as session:
        house = owners.current_house(session, openid)
        return (house.id, house.label) if house else None


class ValidateComplaintForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_complaint_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        return await self.get_extraction_events(dispatcher, tracker, domain)

    async def get_extraction_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        text = latest_text(tracker)
        requested = tracker.get_slot("requested_slot")
        # An address or a place told while we ask where is the answer, whatever the NLU called it.
        # "希望物业管管楼上的噪音" while we ask what happened is the complaint, not a suggestion.
        turn = interruptions.read(
            tracker,
            answers=lambda t: requested == "complaint_location" and bool(_where(t)),
            answer_intents=frozenset({"suggest"}),
        )
        if turn in (Turn.CANCEL, Turn.GOODBYE):
            return interruptions.stop(dispatcher, tracker, FLOW, turn)
        if turn in (Turn.QUESTION, Turn.BACK) or not text:
            # A question (物业电话多少) is answered by its rule, then the form asks again.
            return []
        off_topic = turn is Turn.OFF_TOPIC
        events: Dict[str, Any] = {}
        description = tracker.get_slot("complaint_description")
        if not description and not off_topic and (says_what(text) or requested == "complaint_description"):
            description = text.strip()[:300]
            events["complaint_description"] = description
        location = tracker.get_slot("complaint_location")
        if not location:
            where = _where(text)
            if where:
                events["complaint_location"] = where
            elif off_topic:
                pass  # declined by action_out_of_scope; the form asks again
            elif requested == "complaint_location":
                bound = _bound_house(tracker.sender_id) if _HOME.search(text) else None
                if bound:
                    events["complaint_house_id"], events["complaint_location"] = bound
                else:
                    events["complaint_location"] = text.strip()[:60]
            elif description:
                # "楼上装修太吵了" from a bound owner: it is about where they live.
                bound = _bound_house(tracker.sender_id)
                if bound:
                    events["complaint_house_id"] = bound[0]
                    events["complaint_location"] = f"{bound[1]}附近"
        if not events:
            return []
        return [SlotSet(name, value) for name, value in events.items()] + interruptions.answered(tracker)


class SubmitComplaint(Action):
    def name(self) -> Text:
        return "action_submit_complaint"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        slot = tracker.get_slot
        description = slot("complaint_description")
        if not description:
            return [SlotSet(name, None) for name in FORM_SLOTS]
        number, category, rules = raise_complaint(
            tracker,
            description,
            slot("complaint_location") or "",
            slot("complaint_house_id"),
            slot("complaint_photos") or [],
        )
        dispatcher.utter_message(
            text=(
                f"给您添麻烦了，非常抱歉 🙏 投诉已经登记，单号 {number}（{category}）。\n"
                + (f"{rules}\n" if rules else "")
                + "客服会在2小时内处理，结果会在这里告诉您。有照片可以直接发过来补充。"
            )
        )
        return [SlotSet(name, None) for name in FORM_SLOTS]


def raise_complaint(
    tracker: Tracker, description: str, location: str, house_id: Optional[int], photos: list, key_suffix: str = ""
) -> tuple[str, str, str]:
    """Record a complaint (TS number, 2-hour clock) for the owner; (number, category label, and
    for a neighbour's decoration noise what the community's rules say, else "")."""
    phone = phones.extract_mobile(description) or ""
    with db() as session:
        house = owners.current_house(session, tracker.sender_id)
        house_id = house_id or (house.id if house else None)
        community_id = owners.community_of(session, house).id if house else None
        ticket = complaints.raise_complaint(
            session,
            complaints.ComplaintRequest(
                openid=tracker.sender_id,
                description=description,
                location_label=location,
                house_id=house_id,
                community_id=community_id,
                contact_phone=phone,
                photos=[(p.get("url"), p.get("media_id")) for p in photos],
                source_key=source_key(tracker) + key_suffix,
            ),
        )
        category = complaints.label(complaints.complaint_of(session, ticket).category)
        return ticket.number, category, complaints.renovation_answer(session, ticket) or ""


class RaiseComplaintNow(Action):
    """A complaint told while another flow (a repair) is open: a real complaint at once, with
    its number and 2-hour clock; then the open flow carries on."""

    def name(self) -> Text:
        return "action_raise_complaint"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        text = latest_text(tracker)
        number, category, rules = raise_complaint(tracker, text, _where(text) or "", None, [], key_suffix=":complaint")
        dispatcher.utter_message(
            text=(
                f"给您添麻烦了，非常抱歉 🙏 您反映的情况已经登记为投诉，单号 {number}（{category}），"
                "客服会在2小时内处理。" + (f"\n{rules}" if rules else "")
            )
        )
        return []


class AnswerRating(Action):
    """A score for the latest finished job, in any wording (backend/text/ratings.py)."""

    def name(self) -> Text:
        return "action_answer_rating"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        text = latest_text(tracker)
        found = entity(tracker, "rating")
        score = int(found) if str(found or "").isdigit() and 1 <= int(found) <= 5 else None
        with db() as session:
            bye = ratings.is_goodbye(text)
            recorded = None if bye else aftercare.record_rating(session, tracker.sender_id, text, score=score)
            if recorded is not None:
                score, comment = recorded.rating.score, recorded.rating.comment
                number, reopened = recorded.ticket.number, recorded.reopened
            elif not bye and score is not None and score <= 2 and not ratings.is_bare_score(text):
                owners.record_handoff(session, tracker.sender_id, f"差评：{text}")
        if recorded is None:
            # Nothing finished is waiting for a score: "88", "5" or "好的" is not a rating here.
            if ratings.is_goodbye(text):
                dispatcher.utter_message(response="utter_goodbye")
            elif tracker.active_loop.get("name"):
                pass  # the form asks its question again
            elif score is not None and score <= 2 and not ratings.is_bare_score(text):
                dispatcher.utter_message(text="很抱歉没让您满意 🙏 您的意见已转给客服主管，会尽快联系您了解情况。")
            else:
                dispatcher.utter_message(response="utter_ok")
            return []
        if score <= aftercare.LOW_SCORE:
            reply = f"很抱歉这次没让您满意 🙏 评价已记下（{number}，{score}分），主管会尽快联系您了解情况。"
        elif score == 3:
            reply = f"谢谢您的评价（{number}，{score}分）。"
        else:
            reply = f"谢谢您的评价（{number}，{score}分）！"
        if comment and score > aftercare.LOW_SCORE and ratings.is_praise(comment):
            reply += f"您说「{comment}」，我们会转告师傅，谢谢您的肯定 😊"
        elif comment and score > aftercare.LOW_SCORE:
            reply += f"您提到「{comment}」，我们记下了，会转告师傅改进 🙏"
        elif score >= 4:
            reply += "我们会继续努力 💪"
        if reopened:
            reply += "\n问题还没解决的话我们已经重新派单，师傅会再上门。"
        dispatcher.utter_message(text=reply)
        return []
