"""Made-up data to play with: 幸福里花园 (XFL) and a second community, 阳光城 (YGC), from the
spreadsheets in data/demo/ (the same import staff use), plus staff on duty around the clock.
Safe to run again: a re-import changes nothing. Phone numbers are fake (1380000xxxx)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.core.clock import SHANGHAI, aware_now
from backend.core.config import ROOT
from backend.core.models import DutyShift, Staff
from backend.owners.imports import Report, files_in, import_files
from backend.work.staff import add_daily_shifts, staff_by_openid

DEMO_DIR = ROOT / "data" / "demo"
STAFF = [  # (name, phone, role, skills)
    ("王师傅", "13800002001", "technician", "水电"),
    ("赵师傅", "13800002002", "technician", "电梯"),
    ("孙师傅", "13800002003", "technician", "土建/门窗"),
    ("周师傅", "13800002004", "technician", "综合"),
    ("吴主管", "13800002005", "supervisor", "水电,电梯,土建/门窗,综合"),
    ("郑客服", "13800002006", "customer_service", ""),
]
# Local mode: the demo staff are bound to these openids, so /dev/chat can play them.
LOCAL_OPENIDS = {
    "王师傅": "dev-wang",
    "赵师傅": "dev-zhao",
    "孙师傅": "dev-sun",
    "周师傅": "dev-zhou",
    "吴主管": "dev-wu",
    "郑客服": "dev-zheng",
}
ROSTER_DAYS = 8


def _staff(session: Session) -> list[Staff]:
    people = []
    for name, phone, role, skills in STAFF:
        found = session.execute(select(Staff).where(Staff.phone == phone)).scalars().first()
        if found is None:
            found = Staff(name=name, phone=phone, role=role, skills=skills, active=True)
            session.add(found)
        people.append(found)
    session.flush()
    return people


def _duty(session: Session, people: list[Staff], now: datetime) -> None:
    """Everyone on duty around the clock for the coming week, so a demo ticket always finds
    someone; a real roster comes from `python -m backend roster add`."""
    today = now.astimezone(SHANGHAI).date()
    for person in people:
        covered = session.execute(
            select(DutyShift.id).where(
                DutyShift.staff_id == person.id, DutyShift.ends_at >= now + timedelta(days=ROSTER_DAYS - 2)
            )
        ).first()
        if covered is None:
            add_daily_shifts(session, person, today - timedelta(days=1), ROSTER_DAYS, time(0), time(0))


def _bind_locally(session: Session, people: list[Staff]) -> None:
    for person in people:
        openid = LOCAL_OPENIDS.get(person.name)
        if person.openid is None and openid and staff_by_openid(session, openid) is None:
            person.openid = openid


def seed_demo(
    session: Session, folder: Path = DEMO_DIR, local_mode: bool = False, now: datetime | None = None
) -> list[Report]:
    """Import the demo spreadsheets (two communities, their houses, residents, fees, notices,
    price lists, stewards), add the staff and their roster. Raises ImportFailed if a file is bad."""
    reports = import_files(session, files_in(folder))
    people = _staff(session)
    _duty(session, people, aware_now(now))
    if local_mode:
        _bind_locally(session, people)
    session.flush()
    return reports
