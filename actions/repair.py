"""Repair intake: gather what, where, how urgent, when and a phone; confirm; record a ticket.

Every owner message during the form goes through `RepairDraft.absorb`, which reads the whole
sentence, so "3-2-501厨房水管爆了 电话13812345678" fills four answers at once, and a later
"电话改成139..." corrects one.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import interruptions
from actions.home import around_the_clock, desk, phone_words
from actions.store import db, entity, latest_text, source_key
from backend.core import jobs
from backend.owners import accounts as owners
from backend.owners import communities
from backend.text import addresses, flow_words, phones, ratings, urgency
from backend.text import times as appointments
from backend.work import tickets

log = logging.getLogger(__name__)

# Questions and requests the rules answer mid-form (then the form carries on): those of every
# flow (actions/interruptions.py), and a complaint, which becomes a complaint of its own. Any other
# message is read for answers first: a bare "1102" or "随时都行" may come out of the NLU as
# goodbye or out_of_scope, and "我是3栋2单元501的" as bind_house.
QUESTION_INTENTS = (interruptions.QUESTION_INTENTS - {"bind_house"}) | {"complain", "cancel"}
RETRY_INTENTS = ("inform", "affirm", "report_repair", "bind_house")
OFF_TOPIC_INTENTS = interruptions.OFF_TOPIC_INTENTS
# The slots that answer each question of the form.
ANSWERS = {
    "repair_description": ("repair_description",),
    "repair_location": ("repair_location", "repair_address", "repair_place", "repair_house_id"),
    "repair_community": ("repair_community",),
    "repair_time": ("repair_time", "repair_time_start"),
    "contact_phone": ("contact_phone",),
    "repair_confirmed": ("repair_confirmed", "repair_change_pending"),
}
URGENT_TIME_LABEL = "尽快（紧急维修，30分钟内到场）"
FORM_SLOTS = (
    "repair_description",
    "repair_location",
    "repair_place",
    "repair_address",
    "repair_house_id",
    "repair_facility",
    "repair_urgency",
    "repair_urgency_reason",
    "repair_time",
    "repair_time_start",
    "contact_phone",
    "repair_photos",
    "repair_change_pending",
    "repair_retry",
    "repair_confirmed",
    "repair_community",
)
FLOW = interruptions.form(
    interruptions.Flow(
        "repair_form",
        "报修",
        "想接着办的时候跟我说「报修」就行",
        FORM_SLOTS,
        cancelled="utter_cancelled",
        unfinished="utter_left_unfinished",
    )
)
_YES = re.compile(
    r"^(是|是的|对|对的|嗯|嗯嗯|好|好的|可以|行|没错|用|就用|用这个|就这个|这个|ok|yes)[的吧啊呀。!！\s]*$", re.I
)

# Words that say "I want a repair" without saying what is wrong.
_GENERIC = re.compile(
    r"(我要|我想|想要|要|帮我|帮忙|麻烦|请|需要|申请)?(报修|报俢|报个修|维修|修理|修一下|修下|找人修|来修)"
    r"|你好|您好|在吗|请问|hello|hi|ok|一下|东西|有个|有点|那个|就是|我家|家里|这边|了|啊|呀|吧|的|呢|哦|嗯|喂",
    re.IGNORECASE,
)
_ADDRESS_BITS = re.compile(r"[0-9０-９A-Za-z一二三四五六七八九十零两-]+(栋|幢|号楼|楼|单元|室|号|区|座|门)?")
_PHONE = re.compile(r"(\+?86)?1[3-9][0-9 \-]{9,12}")
_UNIT_ROOM = re.compile(r"(?:(?P<unit>\d{1,2})\s*(?:单元|门)\s*)?(?P<room>\d{3,4})\s*(?:室|号|房)?")
_ROOM_CORRECTION = re.compile(r"(?:改成|改为|应该是|是|不是\s*\d{3,4}\s*是)\s*(\d{3,4})\s*(?:室|号)?\s*$")
# Words that name a fault; enough on their own to say what is wrong ("电梯坏了", "漏水").
_FAULT = re.compile(
    r"坏|漏|渗|滴水|堵|不通|不亮|不出水|没水|没电|断电|跳闸|裂|脱落|掉了|松了|响|异响|异味|臭|"
    r"刷不开|打不开|关不上|锁不上|不转|不制冷|不制热|不热|不动|卡住|困|冒烟|冒水|爆|返水|积水|短路|火花|损坏|故障|失灵"
)
# Shared places inside a building: the building is needed too ("5栋的电梯").
NEEDS_BUILDING = frozenset({"楼道", "电梯", "电梯间", "大堂", "楼顶", "单元门口", "外墙", "消防通道"})


def _now() -> datetime:
    return datetime.now(timezone.utc)


def without_community_names(text: str) -> str:
    with db() as session:
        names = [name for _, name in communities.community_names(session)]
    for name in names:
        text = text.replace(name, " ")
    return text


def phone_on_record(openid: str) -> Optional[str]:
    with db() as session:
        return owners.phone_on_record(session, openid)


def names_a_fault(text: str) -> bool:
    """The message names a fault in so many words (坏, 漏, 刷不开, 困人…). Stricter than
    describes_a_fault, which inside the form takes any two words of substance as the description:
    outside a flow "讲个笑话" or "帮我订个外卖" is off-topic, not a repair."""
    return bool(_FAULT.search(text or ""))


def describes_a_fault(text: str) -> bool:
    """True when the message says what is wrong, not just "我要报修", an address or a time."""
    if _FAULT.search(text):
        return True
    rest = _PHONE.sub("", text)
    place = addresses.find_place(rest)
    if place:
        rest = rest.replace(place, "")
    rest = _ADDRESS_BITS.sub("", rest)
    rest = _GENERIC.sub("", rest)
    if appointments.parse_preferred_time(text, _now()) is not None:
        return False  # "明天下午三点以后" answers "when", not "what"
    return len(re.findall(r"[\u4e00-\u9fff]", rest)) >= 2


class RepairDraft:
    """What the owner has told us so far, updated message by message."""

    def __init__(self, tracker: Tracker):
        self.tracker = tracker
        self.slots = {name: tracker.get_slot(name) for name in FORM_SLOTS}
        self.changes: Dict[str, Any] = {}

    def answers(self, requested: str) -> bool:
        """The message changed the answer to the question we asked."""
        return any(name in self.changes for name in ANSWERS.get(requested, (requested,)))

    def set(self, name: str, value: Any) -> None:
        if self.slots.get(name) != value:
            self.slots[name] = value
            self.changes[name] = value

    def absorb(self, text: str, intent: str, requested: Optional[str]) -> bool:
        """Take every answer the message holds. Returns True when it held any."""
        if not text:
            return False
        used = False
        used |= self._description(text, intent, requested)
        used |= self._location(text, requested)
        used |= self._urgency(text)
        used |= self._time(text, requested)
        used |= self._phone(text, requested)
        used |= self._confirmation(intent, requested, used)
        return used

    # --- one reader per answer -------------------------------------------------------------
    def _description(self, text: str, intent: str, requested: Optional[str]) -> bool:
        current = self.slots.get("repair_description")
        says_fault = describes_a_fault(text) or bool(entity(self.tracker, "facility"))
        if not says_fault:
            return False
        if not current or requested == "repair_description":
            self.set("repair_description", text.strip())
        elif intent == "report_repair" and text.strip() not in current:
            # "还有卫生间的灯也坏了": one visit, one ticket, both things on it.
            self.set("repair_description", f"{current}；{text.strip()}")
        else:
            return False
        self._facility()
        return True

    def _facility(self) -> None:
        facility = entity(self.tracker, "facility")
        if facility and not self.slots.get("repair_facility"):
            self.set("repair_facility", facility)

    def _location(self, text: str, requested: Optional[str]) -> bool:
        address = addresses.parse_address(text)
        place = addresses.find_place(without_community_names(text))  # 幸福里花园 is no 小区花园
        old_address = self.slots.get("repair_address")
        if not address and old_address and not phones.extract_mobile(text):
            address = self._complete_address(text, old_address, requested)
        if address:
            self.set("repair_address", {"building": address.building, "unit": address.unit, "room": address.room})
            self.set("repair_house_id", None)
        if place:
            self.set("repair_place", place)
        if address or place:
            self._relabel()
            return True
        if requested == "repair_location":
            bound = self._bound_house()
            if bound and re.search(r"家|屋|我这|自己", text):
                self.set("repair_house_id", bound["id"])
                self.set("repair_address", bound["address"])
                self._relabel()
                return True
        return False

    @staticmethod
    def _complete_address(text: str, old: dict, requested: Optional[str]) -> Optional[addresses.Address]:
        """The rest of an address we half have: "2单元1201" after "5号楼", or "不是501是502"."""
        if requested == "repair_location" and not old.get("room"):
            m = _UNIT_ROOM.search(text)
            if m:
                return addresses.Address(old["building"], m.group("unit") or old.get("unit"), m.group("room"))
        m = _ROOM_CORRECTION.search(text)
        if m:
            return addresses.Address(old["building"], old.get("unit"), m.group(1))
        return None

    def _bound_house(self) -> Optional[dict]:
        with db() as session:
            house = owners.current_house(session, self.tracker.sender_id)
            if house is None:
                return None
            building = house.building
            return {"id": house.id, "address": {"building": building.code, "unit": house.unit, "room": house.room}}

    def fill_from_binding(self) -> None:
        """An owner with a bound home reporting a fault at home need not give the address."""
        place = self.slots.get("repair_place")
        if self.slots.get("repair_location") or (place and addresses.is_shared_area(place)):
            return
        bound = self._bound_house()
        if bound:
            self.set("repair_house_id", bound["id"])
            self.set("repair_address", bound["address"])
            self._relabel()

    def _relabel(self) -> None:
        parts = []
        address = self.slots.get("repair_address")
        if address:
            parts.append(addresses.Address(address["building"], address.get("unit"), address.get("room")).label)
        place = self.slots.get("repair_place")
        if place:
            parts.append(place)
        shared = bool(place) and addresses.is_shared_area(place)
        # A home needs its room; a shared place inside a building (楼道, 电梯) its building; an
        # estate-wide place (东门, 地下车库B2) is enough on its own.
        if shared and place in NEEDS_BUILDING:
            complete = bool(address)
        else:
            complete = bool(address and address.get("room")) or shared
        self.set("repair_location", " ".join(parts) if complete else None)

    def settle_community(self, text: str) -> bool:
        """The community of the report, once the place is known: True when this message told it."""
        if self.slots.get("repair_community") is not None:
            return False
        address = self.slots.get("repair_address") or {}
        if not self.slots.get("repair_location") and self.tracker.get_slot("requested_slot") != "repair_community":
            return False
        with db() as session:
            found = communities.community_for_report(
                session,
                self.tracker.sender_id,
                text,
                address,
                self.slots.get("repair_house_id"),
                self.tracker.get_slot("chosen_community"),
            )
            bound = owners.current_house(session, self.tracker.sender_id) is not None
        if found is None:
            return False
        self.set("repair_community", found)
        if found and not bound:
            self.set("chosen_community", found)  # remembered for the rest of the conversation
        return True

    def emergency_shortcut(self) -> None:
        """An emergency is raised at once: no confirmation turn, the phone on record (or none)."""
        description = self.slots.get("repair_description") or ""
        if self.slots.get("repair_urgency") != "urgent" or not urgency.emergency_kind(description):
            return
        if not self.slots.get("repair_location") or self.slots.get("repair_community") is None:
            return
        if not self.slots.get("contact_phone"):
            self.set("contact_phone", phone_on_record(self.tracker.sender_id) or "")
        self.set("repair_confirmed", True)

    def _urgency(self, text: str) -> bool:
        assessed = urgency.assess(text)
        if assessed.level == "urgent":
            self.set("repair_urgency", "urgent")
            self.set("repair_urgency_reason", assessed.reason)
            self.set("repair_time", URGENT_TIME_LABEL)
            self.set("repair_time_start", None)
            return True
        if self.slots.get("repair_description") and not self.slots.get("repair_urgency"):
            self.set("repair_urgency", "normal")
        return False

    def _time(self, text: str, requested: Optional[str]) -> bool:
        if self.slots.get("repair_urgency") == "urgent":
            return False
        preferred = appointments.parse_preferred_time(text, _now())
        if preferred is None:
            return False
        self.set("repair_time", preferred.label)
        self.set("repair_time_start", preferred.start.isoformat() if preferred.start else None)
        return True

    def _phone(self, text: str, requested: Optional[str]) -> bool:
        phone = phones.extract_mobile(text)
        if phone:
            self.set("contact_phone", phone)
            return True
        return False

    def _confirmation(self, intent: str, requested: Optional[str], corrected: bool) -> bool:
        if requested != "repair_confirmed":
            return False
        if corrected:
            # A correction answers "what to change"; show the summary again.
            self.set("repair_change_pending", False)
            return True
        if intent == "affirm":
            self.set("repair_confirmed", True)
            return True
        if intent in ("deny", "inform"):
            self.set("repair_change_pending", True)
            return True
        return False


def raise_emergency_now(
    dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
) -> Optional[List[EventType]]:
    """An emergency the NLU did not read as a repair (out_of_scope, inform): raised here and now
    when the message says what and where, rather than through a form that would ask again."""
    text = latest_text(tracker)
    if not urgency.emergency_kind(text):
        return None
    draft = RepairDraft(tracker)
    draft.absorb(text, "report_repair", None)
    if not draft.slots.get("repair_location"):
        draft.fill_from_binding()
    draft.settle_community(text)
    draft.emergency_shortcut()
    if not draft.slots.get("repair_confirmed"):
        return None
    filled = Tracker(
        tracker.sender_id,
        {**tracker.slots, **draft.slots},
        tracker.latest_message,
        tracker.events,
        False,
        None,
        {},
        tracker.latest_action_name,
    )
    return SubmitRepair().run(dispatcher, filled, domain)


class ValidateRepairForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_repair_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        # rasa_sdk's default run drops every slot that is not a required slot of the form
        # (repair_address, repair_urgency, ...); ours are all set here, in one reading.
        return await self.get_extraction_events(dispatcher, tracker, domain)

    async def get_extraction_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        requested = tracker.get_slot("requested_slot")
        draft = RepairDraft(tracker)
        text = latest_text(tracker)
        if requested and interruptions.back_from_interruption(tracker):
            return []  # back after a rule answered the owner's question: asked again, nothing to read
        if requested and flow_words.cancels(text):
            # "不报修了" / "别派师傅了" often come out of the NLU as the intent they negate.
            return interruptions.stop(dispatcher, tracker, FLOW, interruptions.Turn.CANCEL)
        if requested and ratings.is_goodbye(text):
            # "88" / "拜拜" in the middle: the owner is leaving, whatever the NLU made of it.
            return interruptions.stop(dispatcher, tracker, FLOW, interruptions.Turn.GOODBYE)
        if intent == "rate_service" and not interruptions.rating_waits(tracker.sender_id):
            intent = "inform"  # a bare number or "好的" is an answer unless a finished job waits for a score
        # Questions and other requests are not answers: leave them to the rules.
        used = intent not in QUESTION_INTENTS and draft.absorb(text, intent, requested)
        if used and intent in OFF_TOPIC_INTENTS and requested and not draft.answers(requested):
            # "今天天气怎么样" holds a time but answers nothing we asked: an off-topic message
            # counts only as the answer to the open question.
            draft = RepairDraft(tracker)
            used = False
        if used and tracker.get_slot("form_interrupted"):
            draft.set("form_interrupted", False)
        if not draft.slots.get("repair_location") and (used or requested is None):
            draft.fill_from_binding()
        if draft.settle_community(text) and requested == "repair_community":
            used = True
        if (
            requested == "contact_phone"
            and not draft.slots.get("contact_phone")
            and (intent == "affirm" or _YES.match(text.strip()))
        ):
            phone = phone_on_record(tracker.sender_id)  # "联系电话用 138****1001 吗？" "是的"
            if phone:
                draft.set("contact_phone", phone)
                used = True
        draft.emergency_shortcut()
        if used:
            draft.set("repair_retry", False)
            if requested != "repair_confirmed":
                self._acknowledge_corrections(dispatcher, tracker, draft, requested)
        elif text and requested and intent == "deny":
            dispatcher.utter_message(response="utter_repair_what_to_change")
            return [SlotSet("repair_retry", False)]
        elif text and requested and intent in RETRY_INTENTS:
            # An answer we could not use: ask the same question again, with a hint. Any other
            # intent (a question) returns nothing, so the form steps aside and the rules
            # answer it, then come back here.
            draft.set("repair_retry", True)
            if not draft.changes:
                return [SlotSet("repair_retry", True)]
        return [SlotSet(name, value) for name, value in draft.changes.items()]

    @staticmethod
    def _acknowledge_corrections(dispatcher, tracker: Tracker, draft: RepairDraft, requested: Optional[str]) -> None:
        """ "电话改成139…" while we ask something else: say what changed, then carry on."""
        for slot, label in (("repair_location", "地点"), ("repair_time", "上门时间"), ("contact_phone", "联系电话")):
            before, after = tracker.get_slot(slot), draft.changes.get(slot)
            if before and after and before != after and slot != requested:
                dispatcher.utter_message(text=f"好的，{label}改为：{after}。")


class AskRepairCommunity(Action):
    """An owner not bound to a home, an address several communities have: which one?"""

    def name(self) -> Text:
        return "action_ask_repair_community"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        with db() as session:
            names = [name for _, name in communities.community_names(session)]
        hint = f"（{'、'.join(names)}）" if names else ""
        again = "没认出小区名 🙏 " if tracker.get_slot("repair_retry") else ""
        dispatcher.utter_message(text=f"{again}您是哪个小区的？{hint}回复小区名就行。")
        return []


class AskContactPhone(Action):
    """A bound owner is offered the phone on record instead of typing one."""

    def name(self) -> Text:
        return "action_ask_contact_phone"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        phone = phone_on_record(tracker.sender_id)
        if phone and not tracker.get_slot("repair_retry"):
            dispatcher.utter_message(text=f"联系电话用 {phones.mask(phone)} 吗？是的话回「是」，换一个号码直接发给我。")
        else:
            dispatcher.utter_message(response="utter_ask_contact_phone")
        return []


class AskRepairLocation(Action):
    """Ask where, in the words that fit what we already know."""

    def name(self) -> Text:
        return "action_ask_repair_location"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        place, address = tracker.get_slot("repair_place"), tracker.get_slot("repair_address")
        if place in NEEDS_BUILDING and not address:
            dispatcher.utter_message(text=f"请问是哪一栋（哪个单元）的{place}？比如「5栋2单元」。")
        elif address and not address.get("room") and not (place and addresses.is_shared_area(place)):
            label = addresses.Address(address["building"], address.get("unit"), None).label
            dispatcher.utter_message(text=f"请问是{label}的几号房？比如「{label}501」。")
        else:
            dispatcher.utter_message(response="utter_ask_repair_location")
        return []


def summary(tracker: Tracker) -> str:
    urgent = tracker.get_slot("repair_urgency") == "urgent"
    lines = [
        "请核对报修信息：",
        f"· 问题：{tracker.get_slot('repair_description')}",
        f"· 地点：{tracker.get_slot('repair_location')}",
        f"· 紧急程度：{'紧急（' + (tracker.get_slot('repair_urgency_reason') or '紧急情况') + '）' if urgent else '一般'}",
        f"· 上门时间：{tracker.get_slot('repair_time')}",
        f"· 联系电话：{tracker.get_slot('contact_phone')}",
    ]
    photos = tracker.get_slot("repair_photos") or []
    if photos:
        lines.append(f"· 照片：{len(photos)}张")
    lines.append("没问题请回复「确认」，需要修改直接告诉我，不报了回复「取消」。")
    return "\n".join(lines)


class AskRepairConfirmed(Action):
    def name(self) -> Text:
        return "action_ask_repair_confirmed"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        if tracker.get_slot("repair_change_pending"):
            dispatcher.utter_message(response="utter_repair_what_to_change")
        else:
            dispatcher.utter_message(text=summary(tracker))
        return []


class SubmitRepair(Action):
    def name(self) -> Text:
        return "action_submit_repair"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        slot = tracker.get_slot
        if not slot("repair_confirmed"):
            return [SlotSet(name, None) for name in FORM_SLOTS]
        address = slot("repair_address")
        start = slot("repair_time_start")
        request = tickets.RepairRequest(
            openid=tracker.sender_id,
            description=slot("repair_description"),
            contact_phone=slot("contact_phone"),
            urgency=slot("repair_urgency") or "normal",
            urgency_reason=slot("repair_urgency_reason"),
            facility=slot("repair_facility"),
            place=slot("repair_place"),
            address=addresses.Address(address["building"], address.get("unit"), address.get("room"))
            if address
            else None,
            house_id=slot("repair_house_id"),
            community_id=slot("repair_community") or None,
            location_label=slot("repair_location") or "",
            preferred_time_label=slot("repair_time"),
            preferred_start=datetime.fromisoformat(start) if start else None,
            photos=[(p.get("url"), p.get("media_id")) for p in slot("repair_photos") or []],
            source_key=source_key(tracker),
        )
        with db() as session:
            ticket = tickets.create_repair(session, request)
            number, urgent, ticket_id = ticket.number, ticket.urgency == "urgent", ticket.id
            kind = urgency.emergency_kind(request.description or "") if urgent else None
            # Read before the job is queued: on SQLite the worker's dispatch takes the write lock
            # at once, and a read here would wait for it (a slow turn, WeChat retries).
            d = desk(session, tracker.sender_id, community_id=ticket.community_id) if kind else None
        # The worker finds the technician (and, in an emergency, pages the supervisors); if
        # Redis is down its sweep picks the ticket up.
        job = "backend.work.dispatch.page_emergency" if kind else "backend.work.dispatch.dispatch_ticket"
        jobs.enqueue(job, ticket_id, high=True)
        log.info(
            "repair ticket recorded",
            extra={"ticket": number, "urgency": request.urgency, "phone": phones.mask(request.contact_phone)},
        )
        cleared = [SlotSet(name, None) for name in FORM_SLOTS]
        if kind:
            line = around_the_clock(d)
            call = f"情况危急请直接打24小时电话 {line}" if line else f"也可以打物业电话 {phone_words(d)}"
            dispatcher.utter_message(
                text=(
                    f"已为您紧急报修，单号 {number}。值班师傅和主管都已收到通知，30分钟内到场。\n"
                    f"{urgency.SAFETY_ADVICE[kind]}\n{call}。电话或地址要更正，直接告诉我就行。"
                )
            )
            return cleared + [SlotSet("emergency_ticket", number)]
        if urgent:
            text = (
                f"已为您提交紧急报修，单号 {number}。\n维修人员会在30分钟内到场，请保持电话畅通。"
                "如有危险请先远离现场；漏水请先关闭总阀，漏电请先拉下电闸。"
            )
        elif request.preferred_start is None:
            text = (
                f"报修已提交，单号 {number}。\n我们会尽快安排师傅上门，出发前会电话联系您。"
                "查进度随时问我「我的报修到哪了」。"
            )
        else:
            text = (
                f"报修已提交，单号 {number}。\n师傅会在您约的时间（{request.preferred_time_label}）上门，"
                "出发前会电话联系您。查进度随时问我「我的报修到哪了」。"
            )
        dispatcher.utter_message(text=text)
        return cleared


class ReceivePhoto(Action):
    """An image from the owner: kept with the repair being raised, or added to the latest ticket."""

    def name(self) -> Text:
        return "action_receive_photo"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        url = entity(tracker, "photo_url")
        media_id = entity(tracker, "media_id")
        if not url and not media_id:
            dispatcher.utter_message(response="utter_default")
            return []
        if tracker.active_loop.get("name") == "repair_form":
            photos = list(tracker.get_slot("repair_photos") or [])
            photos.append({"url": url, "media_id": media_id})
            dispatcher.utter_message(response="utter_photo_received")
            return [SlotSet("repair_photos", photos)]
        if tracker.active_loop.get("name") == "complaint_form":
            photos = list(tracker.get_slot("complaint_photos") or [])
            photos.append({"url": url, "media_id": media_id})
            dispatcher.utter_message(text="照片收到了 👍 会和投诉一起交给客服。")
            return [SlotSet("complaint_photos", photos)]
        with db() as session:
            ticket = tickets.attach_photo(session, tracker.sender_id, url, media_id)
            number = ticket.number if ticket else None
            is_complaint = ticket is not None and ticket.kind == "complaint"
        if is_complaint:
            dispatcher.utter_message(text=f"照片收到了，已经补充到您的投诉 {number}，客服会看到。")
        elif number:
            dispatcher.utter_message(response="utter_photo_attached", ticket_no=number)
        else:
            dispatcher.utter_message(response="utter_photo_no_ticket")
        return []


class CancelRepair(Action):
    def name(self) -> Text:
        return "action_cancel"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        dispatcher.utter_message(response="utter_cancelled")
        return [ActiveLoop(None), SlotSet("requested_slot", None)] + [SlotSet(name, None) for name in FORM_SLOTS]
