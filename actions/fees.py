"""query_fee: the bound home's own bill, from the imported records: the item the owner asks
about (车位费, 装修保证金, 水电代收, 临时停车...) first, 物业费 when they name none, and the
other items the home has. The item is read from the words against the community's own items
(backend/owners/fees.ask; why not an NLU entity is written there).

Bills are private: a house named in the question ("查一下5栋201的物业费") is answered only if it
is one of the owner's own bound homes; anyone else's is refused without saying whether it exists.
What is public is answered without binding: the 收支公示, and a community's published standard
of an item ("临时停车怎么收费") with how to bind to see one's own bill."""

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
from backend.text.addresses import parse_address
from backend.text.money import yuan

SHOWN_PERIODS = 4
# What the owner asked about comes first; the rest of the card follows.
_TOPICS = [
    ("standard", re.compile(r"标准|单价|一平|每平|多少钱一|怎么(算|收)|收费依据|贵")),
    ("pay", re.compile(r"怎么(交|缴)|如何(交|缴)|在哪(交|缴|里交|里缴)|缴费方式|交费方式|支付|付款|微信(交|缴)|线上")),
    ("late", re.compile(r"滞纳金|逾期|晚交|晚缴|违约金|罚")),
    ("disclosure", re.compile(r"公示|收支|花在哪|去向|账目|用在")),
]
# A question about the home's own account (needs the binding), not the published standard.
_OWN_ACCOUNT = re.compile(r"欠|账单|交了|缴了|交到|缴到|交清|缴清|到期|余额|还差|没交|没缴|交过|缴过|记录|我家|我的")


def today() -> date:
    return datetime.now(SHANGHAI).date()


def _md(d: date) -> str:
    return f"{d.month}月{d.day}日"


def price(unit_price) -> str:
    """2.8 → "2.80", 1.955 → "1.955": the fen always shown, finer prices as published."""
    return f"{unit_price:.2f}" if unit_price == round(unit_price, 2) else f"{unit_price.normalize():f}"


def card(summary: fees.FeeSummary, text: str, now: date) -> str:
    house = summary.house
    head = f"{binding.label(house)} 的{summary.standard.item if summary.standard else fees.MAIN_ITEM}："
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


def public_standard(session, openid: str, text: str) -> str | None:
    """For an owner not bound: the published standard of the item asked about (or 物业费's when
    they name none but ask how it is charged), in their community; None when there is nothing
    public to say or the question is about their own account."""
    if _OWN_ACCOUNT.search(text):
        return None
    place = where(session, openid, text)
    if place.community is None:
        return None
    items = fees.community_items(session, place.community.id)
    asked = fees.ask(items, text)
    item = asked.item or (fees.main_item(items) if not asked.unlisted and _TOPICS[0][1].search(text) else None)
    std = fees.community_standard(session, place.community.id, item) if item else None
    if std is None:
        return None
    lines = [
        f"{place.community.name}的{std.item}收费标准：{fees.price_label(std)}{('，' + std.note) if std.note else ''}"
    ]
    if std.pay_methods:
        lines.append(f"· 怎么缴：{std.pay_methods}")
    lines.append(f"想查您家自己的账单，请先绑定房屋：{HOW_TO_BIND}")
    return "\n".join(lines)


def not_listed(house, kind: str, items: List[str], hotline: str) -> str:
    """The owner asked about a kind of fee the home has no item for."""
    have = f"（{binding.label(house)} 的收费项目有：{'、'.join(items)}）" if items else ""
    return (
        f"物业这边没有登记「{kind}」这一项收费{have}。\n"
        f"如果您收到过{kind}的账单或通知，可以打物业电话 {hotline} 问问，我们帮您核实。"
    )


def others_house(address, house) -> str:
    """A house named in the question that is not one of the owner's bound homes."""
    return (
        f"{address.label} 不是您绑定的房屋。为了保护每家住户的隐私，我只能查您自己绑定的房屋的账单 🔒\n"
        f"如果这也是您家，先把它绑定上：{HOW_TO_BIND}\n"
        f"您现在绑定的是 {binding.label(house)}，查这套直接问「物业费还欠多少」就行。"
    )


def bind_first(hotline: str, address=None) -> str:
    whose = f"想查 {address.label} 的账单，要先绑定这套房屋" if address is not None else "查您家的账单要先绑定房屋"
    return f"{whose}，这样我只会给您看您自己家的账单 🔒\n{HOW_TO_BIND}\n也可以打物业电话 {hotline} 查询。"


class AnswerFee(Action):
    def name(self) -> Text:
        return "action_answer_fee"

    @interruptions.asks_again
    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        dispatcher.utter_message(text=self.reply(tracker.sender_id, latest_text(tracker)))
        return []

    def reply(self, openid: str, text: str) -> str:
        with db() as session:
            house = owners.current_house(session, openid)
            address = parse_address(text)
            address = address if address is not None and address.room else None
            if house is None:
                if _TOPICS[3][1].search(text):
                    public = disclosure_answer(session, openid, text)
                    if public:
                        return public
                if address is None:
                    public = public_standard(session, openid, text)
                    if public:
                        return public
                d = desk(session, openid, text)
                return bind_first(d["hotline"], address)
            if address is not None:
                # Only the owner's own homes: an address proves nothing about whose it is.
                mine = binding.bindings_at(session, openid, address, text)
                if not mine:
                    return others_house(address, house)
                house = next((b.house for b in mine if b.house_id == house.id), mine[0].house)
            items = fees.items_for(session, house)
            asked = fees.ask(items, text)
            if asked.unlisted:
                return not_listed(house, asked.unlisted, items, desk(session, openid, text)["hotline"])
            if asked.item and asked.item != fees.main_item(items):
                return item_answer(fees.item_card(session, house, asked.item), items, today())
            main = fees.main_item(items) or fees.MAIN_ITEM
            return "\n".join([card(fees.summary(session, house), text, today()), *others_line(items, main)])
