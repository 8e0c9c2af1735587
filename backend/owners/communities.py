"""Which community a ticket belongs to when the owner's WeChat is not bound to a home.

The scorecard and the duty roster are per community, so a ticket should carry one: the
community of a home the owner has bound (the address they typed may be a relative's), else the
community with a building of that code if exactly one has it, else the only community of the
deployment, else none (a person decides).
"""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.core.models import Building, Community, House
from backend.owners.accounts import current_house


def community_for(session: Session, building_code: str | None = None, openid: str | None = None) -> int | None:
    if openid:
        house = current_house(session, openid)
        if house is not None:
            return house.building.community_id
    if building_code:
        ids = (
            session.execute(select(Building.community_id).where(Building.code == building_code).distinct().limit(2))
            .scalars()
            .all()
        )
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


ASK = None  # community_for_report's answer when the owner must be asked
NOT_KNOWN = 0  # ...and when there is nothing to ask about (no communities on record)


def community_for_report(
    session: Session,
    openid: str,
    text: str = "",
    address: dict | None = None,
    house_id: int | None = None,
    remembered: int | None = None,
) -> int | None:
    """The community a report from this owner belongs to: the house named, the bound home, the
    one the owner told us earlier in the conversation, one named in the message, the only one
    with that building, the only one there is. ASK (None) when several could be meant; NOT_KNOWN
    (0) when the company has none on record."""
    if house_id:
        house = session.get(House, house_id)
        if house is not None:
            return house.building.community_id
    house = current_house(session, openid)
    if house is not None:
        return house.building.community_id
    if remembered:
        return remembered
    named = [
        id_
        for id_, name, code in session.execute(select(Community.id, Community.name, Community.code))
        if name in (text or "") or (len(code) >= 3 and code in (text or "").upper())
    ]
    if len(named) == 1:
        return named[0]
    everyone = session.execute(select(Community.id).limit(2)).scalars().all()
    if not everyone:
        return NOT_KNOWN
    if len(everyone) == 1:
        return everyone[0]
    address = address or {}
    if address.get("building"):
        # the address itself: its house in exactly one community, else its building in exactly one
        stmt = select(Building.community_id).where(Building.code == address["building"])
        ids = session.execute(stmt.distinct().limit(2)).scalars().all()
        if address.get("room") and len(ids) > 1:
            with_house = stmt.join(House, House.building_id == Building.id).where(House.room == address["room"])
            if address.get("unit"):
                with_house = with_house.where(func.coalesce(House.unit, "") == address["unit"])
            found = session.execute(with_house.distinct().limit(2)).scalars().all()
            ids = found or ids
        if len(ids) == 1:
            return ids[0]
    return ASK


def community_names(session: Session) -> list[tuple[int, str]]:
    return [(c.id, c.name) for c in session.execute(select(Community).order_by(Community.id)).scalars()]
