"""A home's property fees: what is owed by period, the last payment, the standard (price per m²
per month × floor area), how to pay, the late-payment rule and the latest 收支公示.

All sums are Decimal, exact to the fen. A bill's amount is what the company billed; what is
owed is that amount less the payments recorded against it.
"""
from __future__ import annotations

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
    rows = session.execute(
        select(FeeStandard).where(
            FeeStandard.community_id == building.community_id,
            FeeStandard.item == item,
            FeeStandard.building_code.in_(["", building.code]),
        )
    ).scalars().all()
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
        select(FeePayment.bill_id, func.sum(FeePayment.amount).label("paid"))
        .group_by(FeePayment.bill_id)
        .subquery()
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
