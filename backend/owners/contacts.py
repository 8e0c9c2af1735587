"""Who an owner can reach: the community's service desk and the building's steward (管家)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.core.models import Community, Contact

STEWARD = "管家"


@dataclass
class ContactCard:
    community: Community
    steward: Contact | None = None
    others: list[Contact] = field(default_factory=list)  # security room, ... (whole community)


def card(session: Session, community: Community, building_code: str | None) -> ContactCard:
    rows = (
        session.execute(
            select(Contact)
            .where(Contact.community_id == community.id, Contact.building_code.in_(["", building_code or ""]))
            .order_by(Contact.id)
        )
        .scalars()
        .all()
    )
    result = ContactCard(community)
    for contact in rows:
        if contact.role == STEWARD:
            if building_code and contact.building_code == building_code:
                result.steward = contact
        elif contact.building_code == "":
            result.others.append(contact)
    return result
