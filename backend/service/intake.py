"""Front-desk intake (受理): a repair, complaint or suggestion taken by phone, at the desk or found
on a patrol, recorded through the same functions as the owner's own WeChat request.

The desk finds the owner by house or phone; if that home has an owner bound in WeChat the ticket
carries their openid, so they hear every step there (接单, 到场, 完工, the complaint's result)
and are asked to rate, exactly as if they had written in. An owner not bound gets calls: the
ticket's openid is "" and nothing is sent to WeChat for them.
Functions take the caller's session and never commit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, selectinload

from backend.core import jobs, schedule
from backend.core.clock import aware_now
from backend.core.config import load_settings
from backend.core.models import TICKET_CHANNELS, URGENCY_LEVELS, Building, House, Resident, Ticket, WechatBinding
from backend.messaging import notify
from backend.service import complaints
from backend.text import phones, times
from backend.text.addresses import parse_address
from backend.work import tickets

INTAKE_KINDS = {"repair": "报修", "complaint": "投诉", "suggestion": "意见/建议"}
DESK_CHANNELS = ("phone", "walk_in", "wechat", "patrol")
SEARCH_LIMIT = 20
MAX_TEXT = 500


class IntakeError(ValueError):
    """The form cannot be recorded as it is; the message says why, in Chinese, for the desk."""


@dataclass
class Intake:
    kind: str  # INTAKE_KINDS
    channel: str  # TICKET_CHANNELS
    description: str
    house_id: int | None = None  # the owner's home (found by house or phone); None: a shared area
    resident_id: int | None = None
    community_id: int | None = None  # needed when there is no house (巡查发现 in a shared area)
    place: str | None = None  # 厨房, 楼道, 东门...
    urgency: str = "normal"
    preferred_time_label: str | None = None
    preferred_start: datetime | None = None
    contact_phone: str = ""
    source_key: str | None = None  # the form's one-time token: a double click records one ticket


def search_owners(session: Session, query: str) -> list[Resident]:
    """Residents by phone (its digits, at least 4), by house (3栋2单元501, 501) or by name."""
    query = (query or "").strip()[:40]
    if not query:
        return []
    stmt = (
        select(Resident)
        .join(House, House.id == Resident.house_id)
        .join(Building, Building.id == House.building_id)
        .options(selectinload(Resident.house).selectinload(House.building).selectinload(Building.community))
        .order_by(Building.code, House.unit, House.room, Resident.id)
        .limit(SEARCH_LIMIT)
    )
    digits = re.sub(r"\D", "", query)
    address = parse_address(query)
    conditions = []
    if len(digits) >= 4 and len(digits) == len(re.sub(r"[\s-]", "", query)):
        conditions.append(Resident.phone.like(f"%{digits}%"))
    if address is not None and address.room:
        where = [House.room == address.room]
        if address.building:
            where.append(Building.code == address.building)
        if address.unit:
            where.append(House.unit == address.unit)
        conditions.append(and_(*where))
    elif digits and len(digits) == len(query):
        conditions.append(House.room == digits)
    name = re.sub(r"[%_\\]", "", query)
    if name and not digits:
        conditions.append(Resident.name.like(f"%{name}%"))
    if not conditions:
        return []
    return list(session.execute(stmt.where(or_(*conditions))).scalars())


def bound_openid(session: Session, house_id: int | None, resident_id: int | None = None) -> str:
    """The WeChat of the home's bound owner (the named resident's own first), or ""."""
    if house_id is None:
        return ""
    rows = (
        session.execute(
            select(WechatBinding)
            .where(WechatBinding.house_id == house_id, WechatBinding.is_current.is_(True))
            .order_by(WechatBinding.created_at.desc(), WechatBinding.id.desc())
        )
        .scalars()
        .all()
    )
    if not rows:
        return ""
    own = [b for b in rows if resident_id is not None and b.resident_id == resident_id]
    return (own or rows)[0].openid


def _check(req: Intake) -> None:
    if req.kind not in INTAKE_KINDS:
        raise IntakeError("请选择受理类别（报修、投诉或意见/建议）。")
    if req.channel not in TICKET_CHANNELS:
        raise IntakeError("请选择受理渠道（电话、上门、微信或巡查发现）。")
    if not (req.description or "").strip():
        raise IntakeError("请写上业主反映的内容。")
    if len(req.description) > MAX_TEXT:
        raise IntakeError(f"内容太长了（最多 {MAX_TEXT} 字）。")
    if req.urgency not in URGENCY_LEVELS:
        raise IntakeError("请选择紧急程度。")
    if req.house_id is None and req.community_id is None:
        raise IntakeError("请先查找并选择业主的房屋（巡查发现的公共区域问题请选择小区）。")
    if (
        req.contact_phone
        and not phones.MOBILE_RE.fullmatch(req.contact_phone)
        and not re.fullmatch(r"[\d\-\s]{5,20}", req.contact_phone)
    ):
        raise IntakeError("联系电话格式不对，请核对。")


def take(session: Session, req: Intake, actor: str, now: datetime | None = None) -> Ticket:
    """Record what the desk took and set it going: a repair to dispatch (after the commit), a
    complaint or suggestion to customer service on its 2-hour clock. The owner, if bound, hears
    that it is recorded. The same source_key gives back the same ticket."""
    now = aware_now(now)
    req.description = (req.description or "").strip()
    req.contact_phone = re.sub(r"\s", "", req.contact_phone or "")
    _check(req)
    house = session.get(House, req.house_id) if req.house_id is not None else None
    if req.house_id is not None and house is None:
        raise IntakeError("没有找到这套房屋，请重新查找业主。")
    resident = session.get(Resident, req.resident_id) if req.resident_id is not None else None
    if resident is not None and house is not None and resident.house_id != house.id:
        raise IntakeError("所选住户不在这套房屋，请重新查找业主。")
    phone = req.contact_phone or (resident.phone if resident else "")
    openid = bound_openid(session, req.house_id, req.resident_id)
    community_id = house.building.community_id if house is not None else req.community_id
    if req.source_key:
        found = session.execute(select(Ticket).where(Ticket.source_key == req.source_key)).scalar_one_or_none()
        if found is not None:
            return found
    if req.kind == "repair" and req.preferred_start is None and req.preferred_time_label:
        # The owner's words, read as WeChat reads them: 明天上午 is an agreed time with its clock.
        said = times.parse_preferred_time(req.preferred_time_label, now)
        if said is not None:
            req = replace(req, preferred_time_label=said.label, preferred_start=said.start)
    if req.kind == "repair":
        ticket = tickets.create_repair(
            session,
            tickets.RepairRequest(
                openid=openid,
                description=req.description,
                contact_phone=phone,
                urgency=req.urgency,
                place=req.place or None,
                house_id=req.house_id,
                community_id=community_id,
                preferred_time_label=req.preferred_time_label or None,
                preferred_start=req.preferred_start,
                source_key=req.source_key,
                channel=req.channel,
                actor=actor,
            ),
            now,
        )
        # The worker finds the technician; if Redis is down the dispatch sweep picks it up.
        jobs.enqueue_after_commit(session, schedule.DISPATCH_TICKET, ticket.id, high=True)
    else:
        where = " ".join(filter(None, (house.label if house is not None else "", req.place or "")))
        ticket = complaints.raise_complaint(
            session,
            complaints.ComplaintRequest(
                openid=openid,
                description=req.description,
                location_label=where,
                house_id=req.house_id,
                community_id=community_id,
                contact_phone=phone,
                source_key=req.source_key,
                channel=req.channel,
                actor=actor,
                kind=req.kind,
            ),
            now,
        )
    if openid:
        notify.received(session, load_settings(), ticket, now)
    return ticket
