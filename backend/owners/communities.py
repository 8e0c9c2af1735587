"""Which community a ticket belongs to when the owner's WeChat is not bound to a home.

The scorecard and the duty roster are per community, so a ticket should carry one: the
community of a home the owner has bound (the address they typed may be a relative's), else the
community with a building of that code if exactly one has it, else the only community of the
deployment, else none (a person decides).
"""
from __future__ import annotations

import re

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


def desk_hours_a_day(community: Community) -> int | None:
    """Hours a day the service desk is staffed: as imported, else read from the opening hours
    ("08:00-20:00" → 12, "24小时" → 24); None when neither says."""
    if community.desk_hours_per_day is not None:
        return community.desk_hours_per_day
    text = re.sub(r"[—~～至到]", "-", (community.desk_hours or "").replace("：", ":"))
    if "24小时" in text or "全天" in text:
        return 24
    m = re.search(r"(\d{1,2})(?::(\d{2}))?\s*-\s*(\d{1,2})(?::(\d{2}))?", text)
    if not m:
        return None
    start = int(m.group(1)) * 60 + int(m.group(2) or 0)
    end = int(m.group(3)) * 60 + int(m.group(4) or 0)
    minutes = (end - start) % (24 * 60) or 24 * 60
    return round(minutes / 60)
