"""query_fee: the bound home's own bill, from the imported records: the item the owner asks
about (车位费, 装修保证金, 水电代收, 临时停车...) first, 物业费 when they name none, and the
other items the home has. The 收支公示 is public: any owner of the community sees it unbound."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import interruptions
from actions.home import HOW_TO_BIND, desk, where
from actions.store import db, latest_text
from backend.core.clock import SHANGHAI
from backend.owners import accounts as owners
from backend.owners import binding, fees
from backend.text.money import yuan

SHOWN_PERIODS = 4
# What the owner asked about comes first; the rest of the card follows.
_TOPICS = [
    ("standard", re.compile(r"标准|单价|一平|每平|多少钱一|怎么(算|收)|收费依据|贵")),
    ("pay", re.compile(r"怎么(交|缴)|如何(交|缴)|在哪(交|缴|里交|里缴)|缴费方式|交费方式|支付|付款|微信(交|缴)|线上")),
    ("late", re.compile(r"滞纳金|逾期|晚交|晚缴|违约金|罚")),
    ("disclosure", re.compile(r"公示|收支|花在哪|去向|账目|用在")),
]


def today() -> date:
    return datetime.now(SHANGHAI).date()


def _md(d: date) -> str:
    return f"{d.month}月{d.day}日"


def price(unit_price) -> str:
    """2.8 → "2.80", 1.955 → "1.955": the fen always shown, finer prices as published."""
    return f"{unit_price:.2f}" if unit_price == round(unit_price, 2) else f"{unit_price.normalize():f}"


def card(summary: fees.FeeSummary, text: str, now: date) -> str:
    house = summary.house
    head = f"{binding.label(house)} 的物业费："
    if not summary.has_bills:
        owed = ["· 还没有导入您家的账单，金额请问物业服务中心。"]
    elif summary.owed:
        owed = [f"· 目前还欠 {yuan(summary.total_owed)}："]
        for line in summary.owed[:SHOWN_PERIODS]:
            late = "，已逾期" if line.overdue(now) else ""
            part = "（已缴一部分）" if line.paid else ""
            owed.append(f"  {line.period} {line.item} {yuan(line.owed)}{part}，{line.due_date:%Y-%m-%d}前缴{late}")
        if len(summary.owed) > SHOWN_PERIODS:
            owed.append(f"  另有{len(summary.owed) - SHOWN_PERIODS}期，合计已算在上面")
    else:
        owed = ["· 目前没有欠费，谢谢您按时缴费 👍"]
    if summary.last_payment:
        p = summary.last_payment
        owed.append(
            f"· 上次缴费：{p.paid_on:%Y-%m-%d} {yuan(p.amount)}（{p.period}{('，' + p.method) if p.method else ''}）"
        )
    sections = {}
    std = summary.standard
    if std is not None:
        monthly = summary.monthly
        if std.per_area and monthly is not None:
            sections["standard"] = (
                f"· 收费标准：{price(std.unit_price)}元/m²/月 × {house.floor_area}m² = {yuan(monthly)}/月"
            )
        elif not std.per_area:
            sections["standard"] = f"· 收费标准：{std.item} {yuan(std.unit_price)}/月"
        if std.pay_methods:
            sections["pay"] = f"· 怎么缴：{std.pay_methods}"
        if std.late_fee_rule:
            sections["late"] = f"· 逾期：{std.late_fee_rule}"
    if summary.disclosure:
        d = summary.disclosure
        sections["disclosure"] = f"· 收支公示：{d.title}（{_md(d.published_on)}发布）{d.url}"
    asked = [name for name, pattern in _TOPICS if pattern.search(text) and name in sections]
    order = asked + [name for name, _ in _TOPICS if name not in asked]
    return "\n".join([head, *owed, *(sections[n] for n in order if n in sections)])


def others_line(items: List[str], shown: str) -> List[str]:
    others = [i for i in items if i != shown]
    return [f"· 您家还有这些收费项目：{'、'.join(others)}，想了解哪一项直接问我。"] if others else []


def item_answer(item: fees.ItemCard, items: List[str], now: date) -> str:
    """One fee item other than 物业费: its standard, what is owed on it, how to pay, the rest."""
    lines = [f"{binding.label(item.house)} 的{item.item}："]
    std = item.standard
    if std is not None:
        note = f"，{std.note}" if std.note else ""
        lines.append(f"· 收费标准：{fees.price_label(std)}{note}")
    if item.owed:
        lines.append(f"· 目前还欠 {yuan(item.total_owed)}：")
        for line in item.owed[:SHOWN_PERIODS]:
            late = "，已逾期" if line.overdue(now) else ""
            lines.append(f"  {line.period} {yuan(line.owed)}，{line.due_date:%Y-%m-%d}前缴{late}")
    elif item.has_bills:
        lines.append(f"· {item.item}目前没有欠费 👍")
    if item.last_payment:
        p = item.last_payment
        lines.append(
            f"· 上次缴费：{p.paid_on:%Y-%m-%d} {yuan(p.amount)}（{p.period}{('，' + p.method) if p.method else ''}）"
        )
    if std is not None and std.pay_methods:
        lines.append(f"· 怎么缴：{std.pay_methods}")
    if std is None and not item.has_bills:
        lines.append("· 这一项还没有导入收费标准，具体请问物业服务中心。")
    return "\n".join(lines + others_line(items, item.item))


def disclosure_answer(session, openid: str, text: str) -> str | None:
    """收支公示 for an owner not bound: the community they name (or the only one)."""
    place = where(session, openid, text)
    if place.community is None:
        return None
    d = fees.latest_disclosure(session, place.community.id)
    if d is None:
        return f"{place.community.name}还没有发布收支公示，发布后在这里就能看到。"
    return f"{place.community.name}最新的收支公示：{d.title}（{_md(d.published_on)}发布）{d.url}"


class AnswerFee(Action):
    def name(self) -> Text:
        return "action_answer_fee"

    @interruptions.asks_again
    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        with db() as session:
            house = owners.current_house(session, tracker.sender_id)
            text = latest_text(tracker)
            if house is None and _TOPICS[3][1].search(text):
                public = disclosure_answer(session, tracker.sender_id, text)
                if public:
                    dispatcher.utter_message(text=public)
                    return []
            if house is None:
                d = desk(session, tracker.sender_id, latest_text(tracker))
                dispatcher.utter_message(
                    text=(
                        "查物业费要先绑定您家的房屋，这样我只会给您看您自己家的账单 🔒\n"
                        f"{HOW_TO_BIND}\n也可以打物业电话 {d['hotline']} 查询。"
                    )
                )
                return []
            items = fees.items_for(session, house)
            asked = fees.asked_item(items, text)
            if asked and asked != fees.MAIN_ITEM:
                reply = item_answer(fees.item_card(session, house, asked), items, today())
            else:
                reply = "\n".join(
                    [card(fees.summary(session, house), text, today()), *others_line(items, fees.MAIN_ITEM)]
                )
        dispatcher.utter_message(text=reply)
        return []
