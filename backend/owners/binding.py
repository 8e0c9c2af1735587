"""Binding a WeChat account to a home, only on proof: the phone the owner gives must be on that
house's resident list. Anything else leaves a BindingRequest for the service desk to verify and
binds nothing. One account may hold several homes; one of them is current.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.core.clock import aware_now
from backend.core.models import BindingRequest, Building, Community, House, Resident, WechatBinding
from backend.messaging import alerts
from backend.owners import accounts as owners
from backend.text.addresses import Address
from backend.work import staff

# Failed tries per account per day before we stop checking phones and send the owner to the
# desk: guessing a neighbour's phone number must not be a game.
MAX_FAILED_PER_DAY = 5
# Failed tries by everyone in an hour before self-service binding pauses and the supervisors
# are told: many accounts guessing together must not get more tries than one.
MAX_FAILED_ALL_PER_HOUR = 60


@dataclass
class Outcome:
    status: str  # bound, already, phone_not_listed, no_such_house, ambiguous, too_many_tries, paused
    house: House | None = None
    resident: Resident | None = None
    candidates: list[House] = field(default_factory=list)


def communities_named(session: Session, text: str) -> list[int]:
    """Communities whose name (or code) the owner wrote: "阳光城3栋2单元501"."""
    text = text or ""
    rows = session.execute(select(Community.id, Community.name, Community.code)).all()
    return [id_ for id_, name, code in rows if name in text or (len(code) >= 3 and code in text.upper())]


def houses_at(session: Session, address: Address, community_ids: list[int] | None = None) -> list[House]:
    """Houses at this address in any community (or the named ones). Without a unit, every unit
    matches: "3栋501" may be 1单元501 or 2单元501, and the phone decides."""
    if not address or not address.room:
        return []
    stmt = (
        select(House)
        .join(Building, Building.id == House.building_id)
        .where(Building.code == address.building, House.room == address.room)
    )
    if address.unit:
        stmt = stmt.where(func.coalesce(House.unit, "") == address.unit)
    if community_ids:
        stmt = stmt.where(Building.community_id.in_(community_ids))
    return list(session.execute(stmt.order_by(House.id)).scalars())


def failed_today(session: Session, openid: str, now: datetime) -> int:
    return session.execute(
        select(func.count())
        .select_from(BindingRequest)
        .where(BindingRequest.openid == openid, BindingRequest.created_at >= now - timedelta(days=1))
    ).scalar_one()


def _record(
    session: Session, openid: str, address_text: str, phone: str, reason: str, house: House | None, now: datetime
) -> None:
    session.add(
        BindingRequest(
            openid=openid,
            house_id=house.id if house else None,
            address_text=address_text[:100],
            phone=phone or "",
            reason=reason,
            status="open",
            created_at=now,
        )
    )
    session.flush()


def bind_with_phone(
    session: Session,
    openid: str,
    address: Address,
    phone: str,
    text: str = "",
    now: datetime | None = None,
) -> Outcome:
    now = aware_now(now)
    if failed_today(session, openid, now) >= MAX_FAILED_PER_DAY:
        return Outcome("too_many_tries")
    failed_all = session.execute(
        select(func.count()).select_from(BindingRequest).where(BindingRequest.created_at >= now - timedelta(hours=1))
    ).scalar_one()
    if failed_all >= MAX_FAILED_ALL_PER_HOUR:
        alerts.tell_supervisors_once(
            session,
            "ownerbinding",
            f"【安全提醒】最近一小时有 {failed_all} 次没有核对上的业主绑定，自助绑定已暂停。"
            "如果不是集中办理，可能有人在试住户手机号；请到控制台「住户」核实绑定申请。",
            [p.openid for p in staff.supervisors(session, None)],
        )
        return Outcome("paused")
    candidates = houses_at(session, address, communities_named(session, text))
    if not candidates:
        _record(session, openid, address.label, phone, "no_such_house", None, now)
        return Outcome("no_such_house")
    matches = (
        session.execute(
            select(Resident)
            .where(Resident.house_id.in_([h.id for h in candidates]), Resident.phone == phone)
            .order_by(Resident.id)
        )
        .scalars()
        .all()
    )
    houses = {r.house_id: r for r in matches}
    if not houses:
        only = candidates[0] if len(candidates) == 1 else None
        _record(session, openid, address.label, phone, "phone_not_listed", only, now)
        return Outcome("phone_not_listed", house=only, candidates=candidates)
    if len(houses) > 1:
        # The same phone on 3-2-501 of two communities: ask which one, bind nothing yet.
        return Outcome("ambiguous", candidates=[h for h in candidates if h.id in houses])
    resident = next(iter(houses.values()))
    house = next(h for h in candidates if h.id == resident.house_id)
    mine = owners.current_binding(session, openid)
    already = mine is not None and mine.house_id == house.id
    owners.bind(session, openid, house, resident.id)
    return Outcome("already" if already else "bound", house=house, resident=resident)


def bindings_of(session: Session, openid: str) -> list[WechatBinding]:
    return list(
        session.execute(
            select(WechatBinding).where(WechatBinding.openid == openid).order_by(WechatBinding.id)
        ).scalars()
    )


def bindings_at(session: Session, openid: str, address: Address, text: str = "") -> list[WechatBinding]:
    """The owner's own bindings at this address (in the community named in the text, if any);
    without a unit, any unit. Nothing of anyone else's: the address alone proves nothing."""
    named = set(communities_named(session, text))
    return [
        b
        for b in bindings_of(session, openid)
        if b.house.building.code == address.building
        and b.house.room == address.room
        and (not address.unit or (b.house.unit or "") == address.unit)
        and (not named or b.house.building.community_id in named)
    ]


def switch_to(session: Session, openid: str, address: Address, text: str = "") -> WechatBinding | None:
    """Make one of the owner's bound homes the current one; None if the address is not theirs.
    The same address in two communities: the one named in the text, else the one not current."""
    found = bindings_at(session, openid, address, text)
    if not found:
        return None
    chosen = min(found, key=lambda b: (b.is_current, b.id))
    owners.bind(session, openid, chosen.house, chosen.resident_id)
    return chosen


def unbind(session: Session, openid: str, address: Address | None = None, text: str = "") -> House | None:
    """Remove one binding (the one at `address`, else the current one); another home of the
    account, if any, becomes current. Returns the house unbound, or None."""
    if address is not None:
        mine = bindings_at(session, openid, address, text)
    else:
        mine = [b for b in bindings_of(session, openid) if b.is_current]
    if not mine:
        return None
    gone = min(mine, key=lambda b: (not b.is_current, b.id))
    house = gone.house
    session.delete(gone)
    session.flush()
    rest = bindings_of(session, openid)
    if rest and not any(b.is_current for b in rest):
        rest[-1].is_current = True
        session.flush()
    return house


def label(house: House) -> str:
    """ "幸福里花园 3栋2单元501"."""
    return f"{house.building.community.name} {house.label}"
