"""ask_contact and ask_paid_service, from the owner's own community's records."""

from __future__ import annotations

import re
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import interruptions
from actions.home import HOW_TO_BIND, community_desk, phone_words, where, which_community
from actions.notices import AnswerNotice, asks_for_more
from actions.store import SETTINGS, db, latest_text, source_key
from backend.core.models import Resident
from backend.owners import accounts as owners
from backend.owners import contacts, paid_services
from backend.text import phones

# "预约开锁", "帮我叫个保洁": the owner wants the service, not only its price.
_WANTS = re.compile(
    r"预约|约一?个|帮我(叫|找|约|安排|开)|给我(叫|找|约|安排)|我要|我想要|想请|请个|叫个|找个|安排|上门|下单|来一?个"
)
_PRICE_ONLY = re.compile(r"多少钱|价格|价目|收费|怎么收|贵不贵|几块|多少")

# A clock or calendar question ("这会儿几点了", "今天礼拜几") the NLU may read as ask_contact, whose
# 几点 are mostly office hours. Declined unless it names the office, a person or their hours.
_CLOCK = re.compile(
    r"(现在|这会儿|此刻)是?(几点|什么时[间候]|几时)|几点了|几点啦|几点钟了|几点几分|(星期|礼拜|周)几|几月几号|今天几号"
)
_CONTACT_WORDS = re.compile(
    r"物业|管家|客服|前台|中心|办公|电话|号码|手机|微信|联系|找谁|上班|下班|值班|开门|关门|营业|休息|放假|有人|"
    r"在吗|在不在|保安|门卫|门岗|经理|师傅|财务|收费|地址|在哪"
)


def asks_the_clock(text: str) -> bool:
    return bool(_CLOCK.search(text)) and not _CONTACT_WORDS.search(text)


def desk_lines(community, hotline_fallback: str) -> List[str]:
    d = community_desk(community)
    lines = [f"{community.name}物业服务中心：", f"· 电话 {phone_words(d)}"]
    if community.desk_hours and d.get("hotline_24h"):
        lines.append(f"· 上班时间 {community.desk_hours}")
    if community.address:
        lines.append(f"· 地址 {community.address}")
    return lines


class AnswerContact(Action):
    def name(self) -> Text:
        return "action_answer_contact"

    @interruptions.asks_again
    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        if asks_for_more(tracker):  # "还有吗" right after a page of notices reads as ask_contact
            return AnswerNotice().run(dispatcher, tracker, domain)
        if asks_the_clock(latest_text(tracker)):  # not a contact: declined (a waiting flow asks again)
            dispatcher.utter_message(response="utter_capabilities")
            return []
        with db() as session:
            place = where(session, tracker.sender_id, latest_text(tracker))
            if place.community is None:
                lines = ["各小区物业服务中心电话："]
                lines += [f"· {c.name} {phone_words(community_desk(c))}" for c in place.choices]
                lines.append(f"公司客服热线 {SETTINGS.service_hotline}。绑定房屋后还能查到您楼栋的管家：{HOW_TO_BIND}")
                dispatcher.utter_message(text="\n".join(lines))
                return []
            found = contacts.card(session, place.community, place.building_code)
            lines = desk_lines(place.community, SETTINGS.service_hotline)
            if found.steward:
                s = found.steward
                hours = f"（{s.hours}）" if s.hours else ""
                lines.append(f"· 您楼栋的管家：{s.name} {s.phone}{hours}")
            elif place.house is None:
                lines.append("· 绑定房屋后，我还能告诉您楼栋管家的电话。")
            for other in found.others:
                hours = f"（{other.hours}）" if other.hours else ""
                lines.append(f"· {other.role}：{other.phone}{hours}")
        lines.append("报修、投诉也可以直接跟我说，24小时都能受理。")
        dispatcher.utter_message(text="\n".join(lines))
        return []


class AnswerPaidService(Action):
    def name(self) -> Text:
        return "action_answer_paid_service"

    @interruptions.asks_again
    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        text = latest_text(tracker)
        with db() as session:
            place = where(session, tracker.sender_id, text)
            if place.community is None:
                dispatcher.utter_message(text=which_community(place.choices, "有偿服务"))
                return []
            services = paid_services.price_list(session, place.community.id)
            hotline = place.community.hotline or SETTINGS.service_hotline
            if not services:
                dispatcher.utter_message(
                    text=f"{place.community.name}的有偿服务价目表还没有上线，价格和预约请打 {hotline}。"
                )
                return []
            chosen = paid_services.match(services, text)
            if chosen and _WANTS.search(text) and not _PRICE_ONLY.search(text):
                reply = self._book(session, tracker, place, chosen, text, hotline)
            elif chosen:
                note = f"（{chosen.note}）" if chosen.note else ""
                reply = (
                    f"{chosen.item}：{paid_services.price_label(chosen)}{note}。\n"
                    f"需要的话回复「预约{chosen.item}」，我帮您下单，客服会电话和您约时间。"
                )
            else:
                lines = [f"{place.community.name}有偿服务价目："]
                lines += [
                    f"· {s.item} {paid_services.price_label(s)}" + (f"（{s.note}）" if s.note else "") for s in services
                ]
                lines.append("需要哪项回复「预约」加项目，比如「预约" + services[0].item + "」。")
                reply = "\n".join(lines)
        dispatcher.utter_message(text=reply)
        return []

    @staticmethod
    def _book(session, tracker: Tracker, place, service, text: str, hotline: str) -> str:
        if place.house is None:
            return (
                f"预约{service.item}（{paid_services.price_label(service)}）需要先绑定房屋，师傅才知道去哪家。\n"
                f"{HOW_TO_BIND}\n着急的话直接打 {hotline}。"
            )
        phone = phones.extract_mobile(text) or _bound_phone(session, tracker.sender_id) or ""
        ticket = paid_services.request(
            session, tracker.sender_id, place.house, service, phone, text, source_key=source_key(tracker)
        )
        return (
            f"已为您预约「{service.item}」（{paid_services.price_label(service)}），单号 {ticket.number}。\n"
            f"客服会尽快打{('您的手机 ' + phones.mask(phone) + ' ') if phone else '电话'}和您约上门时间，费用按价目表现场结算。"
            f"不需要了请打 {hotline} 取消。"
        )


def _bound_phone(session, openid: str) -> str | None:
    binding = owners.current_binding(session, openid)
    if binding is None or binding.resident_id is None:
        return None
    resident = session.get(Resident, binding.resident_id)
    return resident.phone if resident else None
