"""Repair tickets: raising them (safely, exactly once), their numbers, photos and steps.

Functions take the caller's session and never commit: the caller's session_scope decides.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.core.clock import SHANGHAI, aware_now
from backend.core.models import (
    OPEN_TICKET_STATUSES,
    TICKET_CHANNELS,
    URGENCY_LEVELS,
    Building,
    House,
    Ticket,
    TicketCounter,
    TicketPhoto,
    TicketStep,
)
from backend.owners.communities import community_for
from backend.text.addresses import Address, is_shared_area

NUMBER_PREFIXES = {"repair": "BX", "complaint": "TS", "paid_service": "FW", "suggestion": "JY"}
# Emergency repairs (急修): staff on site within 30 minutes, at every service grade.
EMERGENCY_ON_SITE = timedelta(minutes=30)
PHOTO_WINDOW = timedelta(hours=24)


@dataclass
class RepairRequest:
    openid: str
    description: str
    contact_phone: str
    urgency: str = "normal"
    urgency_reason: str | None = None
    facility: str | None = None
    place: str | None = None
    address: Address | None = None
    house_id: int | None = None
    community_id: int | None = None
    location_label: str = ""
    preferred_time_label: str | None = None
    preferred_start: datetime | None = None
    photos: list[tuple[str, str | None]] = field(default_factory=list)  # (url, media_id)
    source_key: str | None = None
    # How it came in (TICKET_CHANNELS) and who recorded it: the owner in WeChat, or the desk
    # ("console:zheng") taking a call or a visit. openid is "" for an owner not bound in WeChat.
    channel: str = "wechat"
    actor: str | None = None


def channel_note(channel: str) -> str | None:
    """The created step's note for a ticket the desk took ("电话受理"); None for WeChat's own."""
    return None if channel == "wechat" else f"{TICKET_CHANNELS[channel]}受理"


def owner_actor(openid: str) -> str:
    return f"owner:{openid}"


def staff_actor(staff_id: int) -> str:
    return f"staff:{staff_id}"


def next_number(session: Session, kind: str, now: datetime) -> str:
    """BX + Beijing date + daily sequence: BX261123001.

    The counter row is bumped with an UPDATE, which makes concurrent transactions queue on the
    row lock (PostgreSQL) or the database write lock (SQLite) instead of reading the same value.
    """
    return next_serial(session, NUMBER_PREFIXES[kind], now)


def next_serial(session: Session, prefix: str, now: datetime) -> str:
    """Prefix + Beijing date + daily sequence, for any numbered record (tickets, ZX applications)."""
    day = now.astimezone(SHANGHAI).date()
    counters = TicketCounter.__table__
    where = (counters.c.prefix == prefix) & (counters.c.day == day)
    bump = counters.update().where(where).values(last_seq=counters.c.last_seq + 1)
    if session.execute(bump).rowcount == 0:
        try:
            with session.begin_nested():  # the first ticket of the day, maybe in two places at once
                session.execute(counters.insert().values(prefix=prefix, day=day, last_seq=1))
        except IntegrityError:
            session.execute(bump)
    seq = session.execute(select(counters.c.last_seq).where(where)).scalar_one()
    return f"{prefix}{day:%y%m%d}{seq:03d}"


def _by_source_key(session: Session, source_key: str) -> Ticket | None:
    stmt = select(Ticket).where(Ticket.source_key == source_key)
    return session.execute(stmt).scalar_one_or_none()


# Shared areas found by their building (3栋2单元 楼道); the others are named by themselves (东门).
_BUILDING_PLACES = frozenset({"楼道", "电梯间", "电梯", "单元门口", "大堂", "楼顶", "外墙", "消防通道"})


def _scope_to_place(address: Address | None, place: str | None) -> Address | None:
    """A fault in a shared area is not located by the owner's room."""
    if address is None or not place or not is_shared_area(place):
        return address
    if place in _BUILDING_PLACES:
        return Address(address.building, address.unit)
    return None


def _house_at(session: Session, community_id: int, address: Address) -> int | None:
    """The house an address names in a community, when exactly one matches."""
    stmt = (
        select(House.id)
        .join(Building, Building.id == House.building_id)
        .where(Building.community_id == community_id, Building.code == address.building, House.room == address.room)
    )
    if address.unit:
        stmt = stmt.where(func.coalesce(House.unit, "") == address.unit)
    ids = session.execute(stmt.limit(2)).scalars().all()
    return ids[0] if len(ids) == 1 else None


def _build_ticket(session: Session, req: RepairRequest, now: datetime) -> Ticket:
    address, community_id = req.address, req.community_id
    if req.house_id is not None:
        house = session.get(House, req.house_id)
        if house is None:
            raise ValueError(f"no house with id {req.house_id}")
        community_id = community_id or house.building.community_id
        address = address or house.address
    if community_id is None:  # an owner not bound to a home: the scorecard and roster need one
        community_id = community_for(session, address.building if address else None, req.openid)
    house_id = req.house_id
    if (
        house_id is None
        and community_id is not None
        and address is not None
        and address.room
        and not (req.place and is_shared_area(req.place))
    ):
        house_id = _house_at(session, community_id, address)
    address = _scope_to_place(address, req.place)
    label = " ".join(part for part in (address.label if address else None, req.place) if part)
    due_at = now + EMERGENCY_ON_SITE if req.urgency == "urgent" else req.preferred_start
    ticket = Ticket(
        number=next_number(session, "repair", now),
        kind="repair",
        openid=req.openid,
        community_id=community_id,
        house_id=house_id,
        building_code=address.building if address else None,
        unit=address.unit if address else None,
        room=address.room if address else None,
        place=req.place,
        location_label=req.location_label or label,
        facility=req.facility,
        description=req.description,
        urgency=req.urgency,
        urgency_reason=req.urgency_reason,
        preferred_time_label=req.preferred_time_label,
        due_at=due_at,
        contact_phone=req.contact_phone,
        status="new",
        source_key=req.source_key,
        channel=req.channel,
        created_at=now,
        updated_at=now,
    )
    actor = req.actor or owner_actor(req.openid)
    ticket.steps.append(TicketStep(kind="created", actor=actor, note=channel_note(req.channel), at=now))
    for url, media_id in req.photos:
        ticket.photos.append(TicketPhoto(url=safe_photo_url(url), media_id=media_id, created_at=now))
        ticket.steps.append(TicketStep(kind="photo_added", actor=actor, note=url, at=now))
    return ticket


def create_repair(session: Session, req: RepairRequest, now: datetime | None = None) -> Ticket:
    """Raise a repair ticket; the same source_key always gives back the same ticket."""
    now = aware_now(now)
    if req.urgency not in URGENCY_LEVELS:
        raise ValueError(f"urgency must be one of {URGENCY_LEVELS}, not {req.urgency!r}")
    if req.channel not in TICKET_CHANNELS:
        raise ValueError(f"channel must be one of {tuple(TICKET_CHANNELS)}, not {req.channel!r}")
    if req.source_key:
        existing = _by_source_key(session, req.source_key)
        if existing is not None:
            return existing
    try:
        # The savepoint also takes back the counter bump when another process won the race.
        with session.begin_nested():
            ticket = _build_ticket(session, req, now)
            session.add(ticket)
            session.flush()
    except IntegrityError:
        existing = _by_source_key(session, req.source_key) if req.source_key else None
        if existing is None:
            raise
        return existing
    return ticket


def add_step(
    session: Session,
    ticket: Ticket,
    kind: str,
    actor: str,
    note: str | None = None,
    at: datetime | None = None,
) -> TicketStep:
    """Record a step. It does not change ticket.status: the lifecycle code decides that."""
    at = aware_now(at)
    step = TicketStep(ticket=ticket, kind=kind, actor=actor, note=note, at=at)
    session.add(step)
    ticket.updated_at = max(ticket.updated_at or at, at)
    session.flush()
    return step


def safe_photo_url(url: str | None) -> str:
    """The photo URL to keep, or "" when it is not one WeChat gives (http(s) on a host).

    The console shows it as an <img> and a link: a javascript: or data: URL must never get there,
    whatever reached the assistant. A path under /static/ is the console's own demo picture."""
    url = (url or "").strip()
    if url.startswith("/static/") and ".." not in url and "//" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c in url for c in "\"'<> \t\r\n"):
        return ""
    return url


def attach_photo(
    session: Session, openid: str, url: str, media_id: str | None, now: datetime | None = None
) -> Ticket | None:
    """Add a photo to the owner's ticket raised in the last 24 h that is still open."""
    now = aware_now(now)
    ticket = session.execute(
        select(Ticket)
        .where(
            Ticket.openid == openid,
            Ticket.status.in_(OPEN_TICKET_STATUSES),
            Ticket.created_at >= now - PHOTO_WINDOW,
        )
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if ticket is None:
        return None
    url = safe_photo_url(url)
    session.add(TicketPhoto(ticket=ticket, url=url, media_id=media_id, created_at=now))
    add_step(session, ticket, "photo_added", owner_actor(openid), note=url or None, at=now)
    return ticket


def tickets_for(session: Session, openid: str, limit: int = 5) -> list[Ticket]:
    return list(
        session.execute(
            select(Ticket)
            .where(Ticket.openid == openid)
            .order_by(Ticket.created_at.desc(), Ticket.id.desc())
            .limit(limit)
        ).scalars()
    )


def find_by_number(session: Session, number: str) -> Ticket | None:
    """ "BX261123001", "bx261123001" or just the digits "261123001"."""
    cleaned = re.sub(r"[\s\-#]", "", unicodedata.normalize("NFKC", number or "")).upper()
    if not cleaned:
        return None
    candidates = [cleaned]
    if cleaned.isdigit():
        candidates = [prefix + cleaned for prefix in NUMBER_PREFIXES.values()]
    return session.execute(
        select(Ticket).where(Ticket.number.in_(candidates)).order_by(Ticket.id).limit(1)
    ).scalar_one_or_none()


def correct(
    session: Session,
    number: str,
    openid: str,
    contact_phone: str | None = None,
    address: Address | None = None,
    now: datetime | None = None,
) -> str:
    """The owner corrects a ticket just raised (an emergency has no confirmation turn): the
    phone, or the address (within the ticket's community). Returns what changed, in words."""
    now = aware_now(now)
    ticket = find_by_number(session, number)
    if ticket is None or ticket.openid != openid or not ticket.is_open:
        return ""
    changed = []
    if contact_phone and contact_phone != ticket.contact_phone:
        ticket.contact_phone = contact_phone
        changed.append(f"联系电话 {contact_phone}")
    if address is not None and address.room:
        ticket.building_code, ticket.unit, ticket.room = address.building, address.unit, address.room
        ticket.house_id = _house_at(session, ticket.community_id, address) if ticket.community_id else None
        ticket.location_label = " ".join(p for p in (address.label, ticket.place) if p)
        changed.append(f"地点 {ticket.location_label}")
    if changed:
        ticket.updated_at = now
        add_step(session, ticket, "note", owner_actor(openid), note="业主更正：" + "，".join(changed), at=now)
    return "，".join(changed)
