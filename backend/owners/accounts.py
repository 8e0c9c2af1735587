"""Owners as the assistant sees them: an openid, the house it is bound to, a human to talk to."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.core.clock import utcnow
from backend.core.models import Community, House, HumanHandoff, WechatBinding


def current_binding(session: Session, openid: str) -> WechatBinding | None:
    return session.execute(
        select(WechatBinding)
        .where(WechatBinding.openid == openid, WechatBinding.is_current.is_(True))
        .order_by(WechatBinding.created_at.desc(), WechatBinding.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def current_house(session: Session, openid: str) -> House | None:
    binding = current_binding(session, openid)
    return binding.house if binding else None


def community_of(session: Session, house: House) -> Community:
    return house.building.community


def record_handoff(session: Session, openid: str, text: str) -> HumanHandoff:
    handoff = HumanHandoff(openid=openid, text=text or "", created_at=utcnow(), status="open")
    session.add(handoff)
    session.flush()
    return handoff


def bind(session: Session, openid: str, house: House, resident_id: int | None = None) -> WechatBinding:
    """Make `house` the owner's current one; earlier bindings stay, no longer current."""
    mine = select(WechatBinding).where(WechatBinding.openid == openid)
    for other in session.execute(mine.where(WechatBinding.is_current.is_(True))).scalars():
        other.is_current = False
    binding = session.execute(mine.where(WechatBinding.house_id == house.id)).scalar_one_or_none()
    if binding is None:
        binding = WechatBinding(openid=openid, house_id=house.id, created_at=utcnow())
        session.add(binding)
    binding.is_current = True
    if resident_id is not None:
        binding.resident_id = resident_id
    session.flush()
    return binding


def phone_on_record(session: Session, openid: str) -> str | None:
    """The mobile of the resident the owner's current binding is for, when we have one."""
    binding = current_binding(session, openid)
    if binding is None or binding.resident is None:
        return None
    return binding.resident.phone or None
