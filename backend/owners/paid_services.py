"""The published price list of paid special services, and raising a request for one as a ticket
(FW + date + sequence) the service desk schedules."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.core.clock import aware_now
from backend.core.models import House, PaidService, Ticket, TicketStep
from backend.text.money import yuan
from backend.work.tickets import next_number, owner_actor

# What owners say for the items staff list (the item names themselves always match).
_SAYINGS = {
    "开锁": r"开锁|开门|锁.{0,3}(打不开|进不去)|钥匙.{0,4}(丢|忘|锁)",
    "换锁芯": r"换锁|锁芯",
    "管道疏通": r"疏通|通下水|下水道|马桶堵|地漏堵|管道堵|堵了",
    "空调清洗": r"(洗|清洗|清理).{0,2}空调|空调.{0,2}(清洗|清理|洗)",
    "油烟机清洗": r"油烟机|抽油烟",
    "家政保洁": r"家政|保洁|打扫|做卫生|钟点工|阿姨",
    "搬家搬运": r"搬家|搬运|搬东西",
    "家电维修": r"家电.{0,2}修|修.{0,2}(家电|洗衣机|冰箱|电视)",
}


def price_list(session: Session, community_id: int) -> list[PaidService]:
    return list(
        session.execute(
            select(PaidService).where(PaidService.community_id == community_id).order_by(PaidService.id)
        ).scalars()
    )


def match(services: list[PaidService], text: str) -> PaidService | None:
    """The service the owner names: its own name first, else a common way of saying it."""
    text = text or ""
    for service in sorted(services, key=lambda s: -len(s.item)):
        if service.item in text:
            return service
    for service in services:
        saying = _SAYINGS.get(service.item)
        if saying and re.search(saying, text):
            return service
    return None


def price_label(service: PaidService) -> str:
    return "面议" if service.price is None else f"{yuan(service.price)}/{service.unit}"


def request(
    session: Session,
    openid: str,
    house: House,
    service: PaidService,
    phone: str,
    words: str,
    source_key: str | None = None,
    now: datetime | None = None,
) -> Ticket:
    """A paid-service ticket for the owner's home; the same source_key gives the same ticket."""
    now = aware_now(now)
    if source_key:
        found = session.execute(select(Ticket).where(Ticket.source_key == source_key)).scalar_one_or_none()
        if found is not None:
            return found
    try:
        with session.begin_nested():
            ticket = Ticket(
                number=next_number(session, "paid_service", now),
                kind="paid_service",
                openid=openid,
                community_id=house.building.community_id,
                house_id=house.id,
                building_code=house.building.code,
                unit=house.unit,
                room=house.room,
                location_label=house.label,
                facility=service.item,
                description=f"有偿服务：{service.item}（{price_label(service)}）。业主原话：{words}"[:500],
                urgency="normal",
                contact_phone=phone or "",
                status="new",
                source_key=source_key,
                created_at=now,
                updated_at=now,
            )
            ticket.steps.append(TicketStep(kind="created", actor=owner_actor(openid), at=now))
            session.add(ticket)
            session.flush()
    except IntegrityError:
        found = (
            session.execute(select(Ticket).where(Ticket.source_key == source_key)).scalar_one_or_none()
            if source_key
            else None
        )
        if found is None:
            raise
        return found
    return ticket
