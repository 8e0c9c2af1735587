"""Binding the account to a home (bind_house): address + phone, checked against the resident
list; several homes per account and switching between them.

No Rasa form: the two answers often come in one message ("绑定3-2-501 13812345678"), and when
one is missing we keep what we have in slots (bind_pending) and take the rest from the next
message, whichever intent the NLU gives a bare address or phone (see actions.answers.OutOfScope).
While it waits, a question is answered and the binding question asked again, off-topic is
declined (twice leaves), 不绑了 / 算了 stops it: actions/interruptions.py, as for every flow.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.home import desk
from actions.store import db, latest_text
from backend.owners import binding
from backend.text import addresses, phones

log = logging.getLogger(__name__)

BIND_SLOTS = ("bind_pending", "bind_address", "bind_phone")
_SWITCH = re.compile(r"切换|换到|换成|改到|改成|当前|现在用|用这套|看这套")
_UNBIND = re.compile(r"解绑|解除绑定|取消绑定|删除(房屋|房子)|不要绑")
_LIST = re.compile(r"(绑|绑定)(了|的)?(哪些|几套|什么)|我的房子|我的房屋|切换房屋|切换房子|换房子|换房屋")


def _clear() -> List[EventType]:
    return [SlotSet(name, None) for name in BIND_SLOTS] + _progress()


def _progress() -> List[EventType]:
    """An answer to the binding: an earlier off-topic message no longer counts (interruptions)."""
    return [SlotSet("form_interrupted", False), SlotSet("interrupted_at", None)]


def _address_dict(address: addresses.Address) -> dict:
    return {"building": address.building, "unit": address.unit, "room": address.room}


class BindHouse(Action):
    def name(self) -> Text:
        return "action_answer_bind_house"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        if tracker.active_loop.get("name"):
            dispatcher.utter_message(text="好的，先把这件事办完，之后跟我说「绑定房屋」就能绑定。")
            return []
        text = latest_text(tracker)
        openid = tracker.sender_id
        address = addresses.parse_address(text)
        phone = phones.extract_mobile(text)
        pending = bool(tracker.get_slot("bind_pending"))
        if address is None and pending and tracker.get_slot("bind_address"):
            address = addresses.Address(**tracker.get_slot("bind_address"))
        if phone is None and pending:
            phone = tracker.get_slot("bind_phone")
        with db() as session:
            mine = binding.bindings_of(session, openid)
            if _UNBIND.search(text):
                dispatcher.utter_message(text=self._unbind(session, openid, addresses.parse_address(text), text, mine))
                return _clear()
            if address and address.room and not phones.extract_mobile(text) and mine:
                switched = binding.switch_to(session, openid, address, text)
                if switched is not None:
                    dispatcher.utter_message(
                        text=(f"好的，已切换到 {binding.label(switched.house)}。接下来查物业费、看通知都按这套房来。")
                    )
                    return _clear()
            if address is None and phone is None and mine and (_LIST.search(text) or _SWITCH.search(text)):
                dispatcher.utter_message(text=self._list(session, mine))
                return _clear()
            if address is None or not address.room or phone is None:
                return self._ask_rest(dispatcher, address, phone)
            outcome = binding.bind_with_phone(session, openid, address, phone, text)
            reply = self._reply(session, outcome, address, phone, openid, len(mine))
        log.info("bind house", extra={"status": outcome.status, "phone": phones.mask(phone)})
        dispatcher.utter_message(text=reply)
        return _clear()

    @staticmethod
    def _unbind(session, openid: str, address, text: str, mine) -> str:
        if not mine:
            return "您还没有绑定房屋，不用解绑。"
        house = binding.unbind(session, openid, address if address and address.room else None, text)
        if house is None:
            return f"您没有绑定{address.label}。" + BindHouse._list(session, mine)
        left = binding.bindings_of(session, openid)
        reply = f"好的，已解除绑定：{binding.label(house)}。"
        current = next((b for b in left if b.is_current), None)
        if current:
            reply += f"现在的当前房屋是 {binding.label(current.house)}。"
        return reply

    @staticmethod
    def _list(session, mine) -> str:
        lines = ["您绑定的房屋："]
        for b in mine:
            lines.append(f"· {binding.label(b.house)}" + ("（当前）" if b.is_current else ""))
        lines.append("要切换，回复「切换到」加房号，比如「切换到" + mine[0].house.label + "」。")
        return "\n".join(lines)

    @staticmethod
    def _ask_rest(dispatcher, address, phone) -> List[EventType]:
        events: List[EventType] = [SlotSet("bind_pending", True)] + _progress()
        if address and address.room:
            events.append(SlotSet("bind_address", _address_dict(address)))
            dispatcher.utter_message(
                text=(f"好的，{address.label}。请再告诉我在物业登记的手机号（业主或家人的都可以），我来核对一下。")
            )
        elif phone:
            events.append(SlotSet("bind_phone", phone))
            dispatcher.utter_message(text="收到手机号。请再告诉我房号，比如「3栋2单元501」或「3-2-501」。")
        elif address:
            events.append(SlotSet("bind_address", None))
            dispatcher.utter_message(
                text=f"请问是{address.label}的几号房？再加上在物业登记的手机号，比如「{address.label}501 13812345678」。"
            )
        else:
            dispatcher.utter_message(
                text=(
                    "好的，帮您绑定房屋 🏠 请告诉我房号和在物业登记的手机号，比如「3栋2单元501 13812345678」。\n"
                    "手机号要和物业登记的住户信息一致，这样才能保护您家的信息。"
                )
            )
        return events

    @staticmethod
    def _reply(session, outcome, address, phone, openid, had: int) -> str:
        d = desk(session, openid)
        if outcome.status in ("bound", "already"):
            house = binding.label(outcome.house)
            text = (
                f"绑定成功 ✅ 当前房屋：{house}。\n现在可以直接问我「还欠多少物业费」「最近有什么通知」「管家电话」。"
            )
            if outcome.status == "already":
                text = f"这套房已经绑定好了，当前房屋：{house}。"
            elif had:
                text += "\n您绑定了多套房，想切换就说「切换到」加房号。"
            return text
        if outcome.status == "phone_not_listed":
            return (
                f"抱歉，{address.label}登记的住户里没有手机号 {phones.mask(phone)}，这次没有绑定。\n"
                f"可能是登记时留的是别的号码。我已经把您的申请转给物业服务中心核实，工作人员会联系您；"
                f"也可以带身份证或房产证明到服务中心办理，或打电话 {d['hotline']}。"
            )
        if outcome.status == "no_such_house":
            return (
                f"没有找到「{address.label}」这套房，这次没有绑定。麻烦核对一下楼栋、单元和房号，"
                f"比如「3栋2单元501」。不确定的话可以打物业电话 {d['hotline']}，我也已经记下来请客服帮您核实。"
            )
        if outcome.status == "ambiguous":
            names = "、".join(binding.label(h) for h in outcome.candidates)
            return f"这个手机号在几个小区都有登记（{names}）。请加上小区名再说一次，比如「绑定 阳光城3栋2单元501 {phone}」。"
        if outcome.status == "paused":
            return (
                f"自助绑定现在暂停了一会儿，为了保护住户信息。请稍后再试，或打电话 {d['hotline']}，客服会帮您核实绑定。"
            )
        return (
            f"今天的绑定尝试次数太多了，为了保护住户信息先暂停。请带身份证到物业服务中心办理，"
            f"或打电话 {d['hotline']}，客服会帮您核实绑定。"
        )


def wants_binding_continued(tracker: Tracker) -> bool:
    """A bare address or phone right after we asked for it."""
    if not tracker.get_slot("bind_pending") or tracker.active_loop.get("name"):
        return False
    text = latest_text(tracker)
    return bool(phones.extract_mobile(text) or (addresses.parse_address(text) or addresses.Address("")).room)
