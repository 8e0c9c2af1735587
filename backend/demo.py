"""Made-up data to play with: 幸福里花园 (XFL) and a second community, 阳光城 (YGC), from the
spreadsheets in data/demo/ (the same import staff use). Safe to run again: a re-import changes
nothing. Phone numbers are fake (1380000xxxx)."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.config import ROOT
from backend.imports import Report, files_in, import_files
from backend.models import Staff

DEMO_DIR = ROOT / "data" / "demo"
STAFF = [  # (name, phone, role, skills)
    ("王师傅", "13800002001", "technician", "水电"),
    ("赵师傅", "13800002002", "technician", "电梯"),
    ("孙师傅", "13800002003", "technician", "土建/门窗"),
    ("周师傅", "13800002004", "technician", "综合"),
    ("吴主管", "13800002005", "supervisor", "水电,电梯,土建/门窗,综合"),
    ("郑客服", "13800002006", "customer_service", ""),
]


def _staff(session: Session) -> None:
    for name, phone, role, skills in STAFF:
        found = session.execute(select(Staff).where(Staff.phone == phone)).scalars().first()
        if found is None:
            session.add(Staff(name=name, phone=phone, role=role, skills=skills, active=True))


def seed_demo(session: Session, folder: Path = DEMO_DIR) -> list[Report]:
    """Import the demo spreadsheets (two communities, their houses, residents, fees, notices,
    price lists, stewards) and add the staff. Raises ImportFailed if a file is bad."""
    reports = import_files(session, files_in(folder))
    _staff(session)
    session.flush()
    return reports
