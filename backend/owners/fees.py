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
    result.standard = standard_for(session, house, main_item(items_for(session, house)) or MAIN_ITEM)
    result.disclosure = latest_disclosure(session, house.building.community_id)
    return result


# --- every fee item of a home, and the one the owner asks about (issue 15) -------------------------
# The item is read here, in code, and not by an NLU entity: a home's items are its community's own,
# as imported (车位管理费 here, 停车管理费 or 车位租金 elsewhere), and change with an import. A
# model would need retraining for each company's names and its answer would still have to be
# mapped onto the community's items; matching the words against those items, with the table below
# for what owners call each kind of fee, follows every import at once and is tested line by line.
#
# FEE_KINDS is the one place for those words. Each kind: what owners say (a regex), and words of
# an item's name as companies import it. An item belongs to the first kind whose name words it
# holds (车位管理费 is 车位, not 物业费). An item's own imported name in the owner's words always
# wins over these (车位管理费 before 管理费); an item of no kind is found by its name, or its name
# without 费.


@dataclass(frozen=True)
class FeeKind:
    name: str  # what the reply calls the kind when the home has no item of it
    said: re.Pattern
    named: tuple[str, ...]


FEE_KINDS: tuple[FeeKind, ...] = (
    FeeKind(
        "临时停车",
        re.compile(
            r"临时停车|临停|访客(停车|车)|外来车|停.{0,3}(半|一|两|几|\d+)个?(小时|钟头)|按小时|每小时|按次(收|停)"
        ),
        ("临时停车", "临停", "访客停车"),
    ),
    FeeKind("车位费", re.compile(r"车位|停车|月卡|月租|包月|车库"), ("车位", "停车", "车库")),
    FeeKind("装修保证金", re.compile(r"保证金|押金"), ("保证金", "押金")),
    FeeKind(
        "水电费",
        re.compile(r"水电|水费|电费|电表|水表|用水|用电|代收"),
        ("水电", "水费", "电费", "代收"),
    ),
    FeeKind("燃气费", re.compile(r"燃气|煤气|天然气"), ("燃气", "煤气", "天然气")),
    FeeKind("供暖费", re.compile(r"暖气|供暖|采暖|取暖"), ("暖气", "供暖", "采暖", "取暖")),
    FeeKind("垃圾清运费", re.compile(r"垃圾"), ("垃圾",)),
    FeeKind("电梯费", re.compile(r"电梯"), ("电梯",)),
    FeeKind(
        MAIN_ITEM,
        re.compile(r"物业费|物管费|物业管理费?|物业服务费|管理费"),
        (MAIN_ITEM, "物业服务费", "物业管理费", "物管费", "管理费"),
    ),
)
ONE_OFF = "一次性"


def kind_of(item: str) -> FeeKind | None:
    """The kind an imported item is: the first whose name words it holds."""
    return next((k for k in FEE_KINDS if any(word in item for word in k.named)), None)


def main_item(items: list[str]) -> str | None:
    """The home's 物业费 as the company names it: 物业费 itself, else 物业服务费, 物管费…"""
    if MAIN_ITEM in items:
        return MAIN_ITEM
    return next((i for i in items if kind_of(i) is not None and kind_of(i).name == MAIN_ITEM), None)


@dataclass(frozen=True)
class Asked:
    """What a fee question is about: one of the home's items, or a kind of fee the home has no
    item for (unlisted: the kind's name), or neither (the owner named none)."""

    item: str | None = None
    unlisted: str | None = None


def _closest(items: list[str], text: str) -> str:
    """Of several items of one kind, the one sharing most characters with the words."""
    return max(items, key=lambda name: sum(1 for ch in set(name) if ch in text))


def ask(items: list[str], text: str) -> Asked:
    """The item the owner's words are about, among `items` (earliest named first)."""
    text = text or ""
    hits: list[tuple[int, int, str | None, FeeKind | None]] = []  # (position, rank, item, kind)
    taken: list[tuple[int, int]] = []
    for name in sorted(items, key=len, reverse=True):
        stem = name[:-1] if name.endswith("费") and kind_of(name) is None else ""
        for word in (name, stem):
            at = text.find(word) if len(word) >= 2 else -1
            if at >= 0 and not any(a <= at < b for a, b in taken):
                hits.append((at, 0, name, None))
                taken.append((at, at + len(word)))
                break
    for rank, kind in enumerate(FEE_KINDS, start=1):
        for m in kind.said.finditer(text):
            if not any(a < m.end() and m.start() < b for a, b in taken):  # the imported name wins
                hits.append((m.start(), rank, None, kind))
                break
    hits.sort(key=lambda h: (h[0], h[1]))

    def item_of(hit) -> str | None:
        _, _, item, kind = hit
        if item is not None:
            return item
        if kind.name == MAIN_ITEM:
            return main_item(items)
        own = [i for i in items if kind_of(i) is kind]
        return _closest(own, text) if own else None

    if not hits:
        return Asked()
    if hits[0][3] is not None and hits[0][3].name == MAIN_ITEM:
        return Asked(main_item(items))  # 物业费 by any of its names (None: the home has none yet)
    first = item_of(hits[0])
    if first is not None:
        return Asked(first)
    # The first thing named is no item of the home; another, named apart from it, may be.
    for hit in hits[1:]:
        if hit[0] != hits[0][0] and item_of(hit) is not None:
            return Asked(item_of(hit))
    return Asked(unlisted=hits[0][3].name)


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
    main = main_item(names)
    return sorted(names, key=lambda n: n != main)


def community_items(session: Session, community_id: int) -> list[str]:
    """The items a community publishes for all its buildings (what anyone may be told)."""
    names = (
        session.execute(
            select(FeeStandard.item)
            .where(FeeStandard.community_id == community_id, FeeStandard.building_code == "")
            .order_by(FeeStandard.id)
        )
        .scalars()
        .all()
    )
    names = list(dict.fromkeys(names))
    main = main_item(names)
    return sorted(names, key=lambda n: n != main)


def community_standard(session: Session, community_id: int, item: str) -> FeeStandard | None:
    """The community-wide standard of an item (published: no binding needed to read it)."""
    return session.execute(
        select(FeeStandard).where(
            FeeStandard.community_id == community_id, FeeStandard.item == item, FeeStandard.building_code == ""
        )
    ).scalar_one_or_none()


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
