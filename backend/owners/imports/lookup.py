"""Finding the records a row refers to (community, building, house, bill), one query per
community rather than one per row: 30,000 bill rows must not mean 30,000 SELECTs."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from backend.core.models import Building, Community, FeeBill, FeePayment, House
from backend.owners.imports.fields import BadValue
from backend.text.addresses import Address


class Lookup:
    def __init__(self, session: Session):
        self.session = session
        self._communities: dict[str, int] = {}
        self._buildings: dict[int, dict[str, int]] = {}
        self._houses: dict[int, dict[tuple, int]] = {}
        self._bills: dict[int, dict[tuple, int]] = {}
        self._amounts: dict[int, Decimal] = {}  # bill id → amount billed
        self._receipts: dict[int, dict[str, tuple[int, Decimal]]] = {}  # community → receipt → (bill, amount)
        # (label, value) → rows where a blank cell was taken as the default: said in the result.
        self.defaults: dict[tuple[str, str], list[int]] = {}
        self.blanks: dict[str, list[int]] = {}  # consequence of a blank optional cell → rows
        self.row = 0  # the row being read, for the defaults

    def blank(self, cells: dict, field: str, consequence: str) -> str:
        """The cell; a blank one is counted, to say what it means in the result."""
        cell = cells.get(field, "")
        if not str(cell).strip():
            self.blanks.setdefault(consequence, []).append(self.row)
        return cell

    def default(self, cells: dict, field: str, label: str, value: str) -> str:
        """The cell, or `value` when it is blank; a default is never taken silently."""
        cell = cells.get(field, "")
        if str(cell).strip():
            return cell
        self.defaults.setdefault((label, value), []).append(self.row)
        return value

    def community(self, ref: str) -> int:
        """By code (XFL) or by name (幸福里花园)."""
        ref = (ref or "").strip()
        if not ref:
            raise BadValue("缺少小区")
        if ref not in self._communities:
            found = self.session.execute(
                select(Community.id).where(or_(func.upper(Community.code) == ref.upper(), Community.name == ref))
            ).scalar()
            if found is None:
                raise BadValue(f"小区「{ref}」不存在（请先导入小区）", "community")
            self._communities[ref] = found
        return self._communities[ref]

    def _building_map(self, community_id: int) -> dict[str, int]:
        if community_id not in self._buildings:
            rows = self.session.execute(select(Building.code, Building.id).where(Building.community_id == community_id))
            self._buildings[community_id] = {code: id_ for code, id_ in rows}
        return self._buildings[community_id]

    def building(self, community_id: int, code: str) -> int:
        found = self._building_map(community_id).get(code)
        if found is None:
            raise BadValue(f"楼栋「{Address(code).label}」不在这个小区（请先导入楼栋）", "building")
        return found

    def has_building(self, community_id: int, code: str) -> bool:
        return code in self._building_map(community_id)

    def house(self, community_id: int, address: Address) -> int:
        if community_id not in self._houses:
            rows = self.session.execute(
                select(Building.code, House.unit, House.room, House.id)
                .join(House, House.building_id == Building.id)
                .where(Building.community_id == community_id)
            )
            self._houses[community_id] = {(b, u or "", r): id_ for b, u, r, id_ in rows}
        found = self._houses[community_id].get((address.building, address.unit or "", address.room))
        if found is None:
            raise BadValue(f"房屋「{address.label}」不存在（请先导入房屋）", "house")
        return found

    def bill(self, community_id: int, house_id: int, item: str, period: str) -> int:
        if community_id not in self._bills:
            rows = self.session.execute(
                select(FeeBill.house_id, FeeBill.item, FeeBill.period, FeeBill.id, FeeBill.amount)
                .join(House, House.id == FeeBill.house_id)
                .join(Building, Building.id == House.building_id)
                .where(Building.community_id == community_id)
            ).all()
            self._bills[community_id] = {(h, i, p): id_ for h, i, p, id_, _ in rows}
            self._amounts.update({id_: amount for *_, id_, amount in rows})
        found = self._bills[community_id].get((house_id, item, period))
        if found is None:
            raise BadValue(f"找不到这户「{item} {period}」的账单（请先导入账单）", "period")
        return found

    def bill_amount(self, bill_id: int) -> Decimal:
        return self._amounts[bill_id]

    def recorded_payments(self, community_id: int) -> dict[str, tuple[int, Decimal]]:
        """receipt → (bill id, amount) of the payments already recorded in the community."""
        if community_id not in self._receipts:
            rows = self.session.execute(
                select(FeePayment.receipt_no, FeePayment.bill_id, FeePayment.amount).where(
                    FeePayment.community_id == community_id
                )
            )
            self._receipts[community_id] = {r: (b, a) for r, b, a in rows}
        return self._receipts[community_id]
