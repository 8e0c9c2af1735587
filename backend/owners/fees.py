"""A home's property fees: what is owed by period, the last payment, the standard (price per m²
per month × floor area), how to pay, the late-payment rule and the latest 收支公示.

All sums are Decimal, exact to the fen. A bill's amount is what the company billed; what is
owed is that amount less the payments recorded against it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.core.models import FeeBill, FeeDisclosure, FeePayment, FeeStandard, House
from backend.text.money import to_fen

MAIN_ITEM = "物业费"


@dataclass
class Owed:
    item: str
    period: str
    amount: Decimal  # billed
    paid: Decimal
    due_date: date

    @property
    def owed(self) -> Decimal:
        return to_fen(max(self.amount - self.paid, Decimal(0)))

    def overdue(self, today: date) -> bool:
        return self.due_date < today


@dataclass
class LastPayment:
    paid_on: date
    amount: Decimal
    method: str
    item: str
    period: str


@dataclass
class FeeSummary:
    house: House
    owed: list[Owed] = field(default_factory=list)
    last_payment: LastPayment | None = None
    standard: FeeStandard | None = None
    disclosure: FeeDisclosure | None = None
    has_bills: bool = False

    @property
    def total_owed(self) -> Decimal:
        return to_fen(sum((o.owed for o in self.owed), Decimal(0)))

    @property
    def next_due(self) -> date | None:
        return min((o.due_date for o in self.owed), default=None)

    @property
    def monthly(self) -> Decimal | None:
        return monthly_fee(self.standard, self.house.floor_area) if self.standard else None


def monthly_fee(standard: FeeStandard, floor_area: Decimal | None) -> Decimal | None:
    """price per m² per month × floor area, to the fen; a fixed charge is its price."""
    if not standard.per_area:
        return to_fen(standard.unit_price)
    if floor_area is None:
        return None
    return to_fen(Decimal(standard.unit_price) * Decimal(floor_area))


def standard_for(session: Session, house: House, item: str = MAIN_ITEM) -> FeeStandard | None:
    """The building's own standard if it has one, else the community's."""
    building = house.building
    rows = (
        session.execute(
            select(FeeStandard).where(
                FeeStandard.community_id == building.community_id,
                FeeStandard.item == item,
                FeeStandard.building_code.in_(["", building.code]),
            )
        )
        .scalars()
        .all()
    )
    return max(rows, key=lambda s: s.building_code != "", default=None)


def latest_disclosure(session: Session, community_id: int) -> FeeDisclosure | None:
    return session.execute(
        select(FeeDisclosure)
        .where(FeeDisclosure.community_id == community_id)
        .order_by(FeeDisclosure.published_on.desc(), FeeDisclosure.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def summary(session: Session, house: House) -> FeeSummary:
    paid_by_bill = (
        select(FeePayment.bill_id, func.sum(FeePayment.amount).label("paid")).group_by(FeePayment.bill_id).subquery()
    )
    rows = session.execute(
        select(FeeBill, paid_by_bill.c.paid)
        .outerjoin(paid_by_bill, paid_by_bill.c.bill_id == FeeBill.id)
        .where(FeeBill.house_id == house.id)
        .order_by(FeeBill.period_start, FeeBill.item)
    ).all()
    result = FeeSummary(house=house, has_bills=bool(rows))
    for bill, paid in rows:
        # SUM over NUMERIC comes back as float on SQLite: back to Decimal through str.
        line = Owed(bill.item, bill.period, bill.amount, to_fen(str(paid or 0)), bill.due_date)
        if line.owed > 0:
            result.owed.append(line)
    last = session.execute(
        select(FeePayment, FeeBill)
        .join(FeeBill, FeeBill.id == FeePayment.bill_id)
        .where(FeeBill.house_id == house.id)
        .order_by(FeePayment.paid_on.desc(), FeePayment.id.desc())
        .limit(1)
    ).first()
    if last:
        payment, bill = last
        result.last_payment = LastPayment(payment.paid_on, payment.amount, payment.method, bill.item, bill.period)
    result.standard = standard_for(session, house)
    result.disclosure = latest_disclosure(session, house.building.community_id)
    return result


# --- every fee item of a home, and the one the owner asks about (issue 15) -------------------------
# What owners call an item → a word of the item's name as the company imports it. The item's own
# name in their words wins (车位管理费 before 管理费); then these, in order.
_ITEM_WORDS = [
    (
        re.compile(r"临时停车|临停|访客停车|停车.{0,6}(小时|一次|按次|怎么收|收费)|停.{0,4}(一小时|几个小时)"),
        ("临时停车", "临停"),
    ),
    (re.compile(r"车位|月卡|月租|包月|停车费"), ("车位", "停车")),
    (re.compile(r"保证金|押金"), ("保证金", "押金")),
    (re.compile(r"水费|电费|水电|电表|水表|用水|用电|代收"), ("水电", "水费", "电费", "代收")),
    (re.compile(r"垃圾"), ("垃圾",)),
    (re.compile(r"物业费|管理费|物管费|物业管理"), (MAIN_ITEM,)),
]
ONE_OFF = "一次性"


@dataclass
class ItemCard:
    """One fee item of a home: its standard, what is owed on it, the last payment on it."""

    house: House
    item: str
    standard: FeeStandard | None
    owed: list[Owed] = field(default_factory=list)
    last_payment: LastPayment | None = None
    has_bills: bool = False

    @property
    def total_owed(self) -> Decimal:
        return to_fen(sum((o.owed for o in self.owed), Decimal(0)))


def items_for(session: Session, house: House) -> list[str]:
    """Every fee item the home has: the community's (or its building's) published items and the
    items it has bills for; 物业费 first, then as published."""
    building = house.building
    published = (
        session.execute(
            select(FeeStandard.item)
            .where(
                FeeStandard.community_id == building.community_id,
                FeeStandard.building_code.in_(["", building.code]),
            )
            .order_by(FeeStandard.id)
        )
        .scalars()
        .all()
    )
    billed = (
        session.execute(
            select(FeeBill.item).where(FeeBill.house_id == house.id).order_by(FeeBill.period_start, FeeBill.id)
        )
        .scalars()
        .all()
    )
    names = list(dict.fromkeys([*published, *billed]))
    return sorted(names, key=lambda n: n != MAIN_ITEM)


def asked_item(items: list[str], text: str) -> str | None:
    """The item the owner's words are about, among `items`; None when they name none."""
    text = text or ""
    for name in sorted(items, key=len, reverse=True):
        if name and name in text:
            return name
    for words, parts in _ITEM_WORDS:
        if words.search(text):
            for part in parts:
                found = [n for n in items if part in n]
                if found:
                    return found[0]
            if MAIN_ITEM in parts:
                return MAIN_ITEM if MAIN_ITEM in items else None
    return None


def item_card(session: Session, house: House, item: str) -> ItemCard:
    summary_all = summary(session, house)
    owed = [o for o in summary_all.owed if o.item == item]
    has_bills = (
        session.execute(
            select(func.count()).select_from(FeeBill).where(FeeBill.house_id == house.id, FeeBill.item == item)
        ).scalar_one()
        > 0
    )
    last = session.execute(
        select(FeePayment, FeeBill)
        .join(FeeBill, FeeBill.id == FeePayment.bill_id)
        .where(FeeBill.house_id == house.id, FeeBill.item == item)
        .order_by(FeePayment.paid_on.desc(), FeePayment.id.desc())
        .limit(1)
    ).first()
    card = ItemCard(house, item, standard_for(session, house, item), owed, has_bills=has_bills)
    if last:
        payment, bill = last
        card.last_payment = LastPayment(payment.paid_on, payment.amount, payment.method, bill.item, bill.period)
    return card


def price_label(standard: FeeStandard, floor_area: Decimal | None = None) -> str:
    """2.80元/m²/月, 80.00元/月, 5.00元/小时, 2000.00元（一次性）."""
    price = Decimal(standard.unit_price)
    shown = f"{price:.2f}" if price == round(price, 2) else f"{price.normalize():f}"
    period = standard.period_unit or "月"
    if standard.per_area:
        return f"{shown}元/m²/{period}"
    return f"{shown}元（{ONE_OFF}）" if period == ONE_OFF else f"{shown}元/{period}"
