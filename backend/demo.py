"""A small made-up community to play with: 幸福里花园. Safe to run again: it only adds what is
missing. Phone numbers are fake (1380000xxxx)."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.addresses import Address
from backend.appointments import SHANGHAI
from backend.models import Building, Community, DutyShift, House, Resident, Staff, aware_now
from backend.staff import add_daily_shifts, staff_by_openid

COMMUNITY = dict(
    code="XFL",
    name="幸福里花园",
    service_grade=2,
    hotline="0571-8888 6666",
    desk_hours="08:00-20:00",
    address="杭州市西湖区幸福路88号",
)
BUILDINGS = [str(n) for n in range(1, 13)] + ["A5"]
# Rooms only for a few buildings: 3 and A5 have units 1..3, 8 and 12 are single-unit towers.
HOUSED = {"3": ["1", "2", "3"], "A5": ["1", "2", "3"], "8": [None], "12": [None]}
FLOORS = range(1, 19)
ROOMS_PER_FLOOR = 2

RESIDENTS = [  # (building, unit, room, name, phone, role)
    ("3", "2", "501", "张伟", "13800001001", "owner"),
    ("3", "2", "502", "李娜", "13800001002", "tenant"),
    ("12", None, "1102", "王芳", "13800001003", "owner"),
    ("8", None, "702", "刘洋", "13800001004", "owner"),
    ("A5", "1", "902", "陈静", "13800001005", "owner"),
    ("A5", "1", "902", "陈小明", "13800001006", "family"),
]
STAFF = [  # (name, phone, role, skills)
    ("王师傅", "13800002001", "technician", "水电"),
    ("赵师傅", "13800002002", "technician", "电梯"),
    ("孙师傅", "13800002003", "technician", "土建/门窗"),
    ("周师傅", "13800002004", "technician", "综合"),
    ("吴主管", "13800002005", "supervisor", "水电,电梯,土建/门窗,综合"),
    ("郑客服", "13800002006", "customer_service", ""),
]


def _community(session: Session) -> Community:
    community = session.execute(
        select(Community).where(Community.code == COMMUNITY["code"])
    ).scalar_one_or_none()
    if community is None:
        community = Community(**COMMUNITY)
        session.add(community)
        session.flush()
    return community


def _buildings(session: Session, community: Community) -> dict[str, Building]:
    existing = {
        b.code: b
        for b in session.execute(
            select(Building).where(Building.community_id == community.id)
        ).scalars()
    }
    for code in BUILDINGS:
        if code not in existing:
            existing[code] = Building(
                community_id=community.id, code=code, name=Address(code).label
            )
            session.add(existing[code])
    session.flush()
    return existing


def _houses(session: Session, buildings: dict[str, Building]) -> dict[tuple, House]:
    ids = [buildings[code].id for code in HOUSED]
    houses = {
        (h.building_id, h.unit, h.room): h
        for h in session.execute(select(House).where(House.building_id.in_(ids))).scalars()
    }
    for code, units in HOUSED.items():
        building = buildings[code]
        for unit in units:
            for floor in FLOORS:
                for n in range(1, ROOMS_PER_FLOOR + 1):
                    key = (building.id, unit, f"{floor}{n:02d}")
                    if key not in houses:
                        area = Decimal("89.50") if n == 1 else Decimal("120.00")
                        houses[key] = House(
                            building_id=building.id, unit=unit, room=key[2], floor_area=area
                        )
                        session.add(houses[key])
    session.flush()
    return houses


def _residents(session: Session, buildings: dict[str, Building], houses: dict) -> None:
    for code, unit, room, name, phone, role in RESIDENTS:
        house = houses[(buildings[code].id, unit, room)]
        found = session.execute(
            select(Resident).where(Resident.house_id == house.id, Resident.phone == phone)
        ).scalar_one_or_none()
        if found is None:
            session.add(Resident(house_id=house.id, name=name, phone=phone, role=role))


# Local mode: the demo staff are bound to these openids, so /dev/chat can play them.
LOCAL_OPENIDS = {"王师傅": "dev-wang", "赵师傅": "dev-zhao", "孙师傅": "dev-sun", "周师傅": "dev-zhou",
                 "吴主管": "dev-wu", "郑客服": "dev-zheng"}
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
            select(DutyShift.id).where(DutyShift.staff_id == person.id,
                                       DutyShift.ends_at >= now + timedelta(days=ROSTER_DAYS - 2))
        ).first()
        if covered is None:
            add_daily_shifts(session, person, today - timedelta(days=1), ROSTER_DAYS, time(0), time(0))


def _bind_locally(session: Session, people: list[Staff]) -> None:
    for person in people:
        openid = LOCAL_OPENIDS.get(person.name)
        if person.openid is None and openid and staff_by_openid(session, openid) is None:
            person.openid = openid


def seed_demo(session: Session, local_mode: bool = False, now: datetime | None = None) -> None:
    community = _community(session)
    buildings = _buildings(session, community)
    houses = _houses(session, buildings)
    _residents(session, buildings, houses)
    people = _staff(session)
    _duty(session, people, aware_now(now))
    if local_mode:
        _bind_locally(session, people)
    session.flush()
