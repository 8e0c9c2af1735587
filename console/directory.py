"""Read-only lists of staff and residents, searchable; phone numbers always masked."""

from __future__ import annotations

import re

from flask import Blueprint, render_template, request
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from backend.core.models import Building, House, Resident, Staff
from console.access import require
from console.context import db_session

bp = Blueprint("directory", __name__)
LIMIT = 200


def _query() -> str:
    return (request.args.get("q") or "").strip()[:30]


def _like(text: str) -> str:
    return "%" + re.sub(r"[%_\\]", "", text) + "%"


def _digits(text: str) -> str | None:
    """Search by a phone number's digits (at least 4: the tail staff usually quote)."""
    digits = re.sub(r"\D", "", text)
    return digits if len(digits) >= 4 and len(digits) == len(re.sub(r"[\s-]", "", text)) else None


@bp.get("/staff")
@require("directory.staff")
def staff():
    q = _query()
    stmt = select(Staff).order_by(Staff.active.desc(), Staff.role, Staff.name)
    if q:
        conditions = [Staff.name.like(_like(q)), Staff.skills.like(_like(q))]
        if _digits(q):
            conditions.append(Staff.phone.like(_like(_digits(q))))
        stmt = stmt.where(or_(*conditions))
    with db_session() as s:
        rows = s.execute(stmt.limit(LIMIT)).scalars().all()
    return render_template("staff.html", rows=rows, q=q, limit=LIMIT)


@bp.get("/residents")
@require("directory.residents")
def residents():
    q = _query()
    stmt = (
        select(Resident)
        .join(House, Resident.house_id == House.id)
        .join(Building, House.building_id == Building.id)
        .options(selectinload(Resident.house).selectinload(House.building).selectinload(Building.community))
        .order_by(Building.code, House.unit, House.room, Resident.name)
    )
    if q:
        conditions = [Resident.name.like(_like(q)), House.room == q, Building.code == q.rstrip("栋幢号楼")]
        if _digits(q):
            conditions.append(Resident.phone.like(_like(_digits(q))))
        stmt = stmt.where(or_(*conditions))
    with db_session() as s:
        rows = s.execute(stmt.limit(LIMIT)).scalars().all()
    return render_template("residents.html", rows=rows, q=q, limit=LIMIT)
