"""Notices of a community (and of one building), newest first, a page at a time."""

from __future__ import annotations

from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from backend.core.models import Notice

PAGE = 3


def current(
    session: Session,
    community_id: int,
    building_code: str | None,
    today: date,
    offset: int = 0,
    limit: int = PAGE,
) -> tuple[list[Notice], bool]:
    """Notices in force today for the community and the owner's building (a notice without an
    end date stays until it is replaced), newest first; and whether more follow this page."""
    scopes = [""] + ([building_code] if building_code else [])
    rows = (
        session.execute(
            select(Notice)
            .where(
                Notice.community_id == community_id,
                Notice.building_code.in_(scopes),
                Notice.published_on <= today,
                or_(Notice.expires_on.is_(None), Notice.expires_on >= today),
            )
            .order_by(Notice.published_on.desc(), Notice.id.desc())
            .offset(offset)
            .limit(limit + 1)
        )
        .scalars()
        .all()
    )
    return list(rows[:limit]), len(rows) > limit
