"""Which community a ticket belongs to when the owner's WeChat is not bound to a home.

The scorecard and the duty roster are per community, so a ticket should carry one: the
community of a home the owner has bound (the address they typed may be a relative's), else the
community with a building of that code if exactly one has it, else the only community of the
deployment, else none (a person decides).
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.core.models import Building, Community
from backend.owners.accounts import current_house


def community_for(session: Session, building_code: str | None = None, openid: str | None = None) -> int | None:
    if openid:
        house = current_house(session, openid)
        if house is not None:
            return house.building.community_id
    if building_code:
        ids = session.execute(
            select(Building.community_id).where(Building.code == building_code).distinct().limit(2)
        ).scalars().all()
        if len(ids) == 1:
            return ids[0]
    ids = session.execute(select(Community.id).limit(2)).scalars().all()
    return ids[0] if len(ids) == 1 else None
