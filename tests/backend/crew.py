"""A small crew for dispatch tests: a community, technicians by trade, a supervisor, on duty now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from backend.core.models import Building, Community, House, InboundMessage, Staff
from backend.text.addresses import Address
from backend.work.staff import add_shift, add_staff
from backend.work.tickets import RepairRequest, create_repair


@dataclass
class Crew:
    community: Community
    house: House
    plumber_a: Staff
    plumber_b: Staff
    lift: Staff
    supervisor: Staff


def make_crew(session, now: datetime) -> Crew:
    community = Community(code="XFL", name="幸福里花园", service_grade=2, hotline="0571-8888 6666")
    building = Building(community=community, code="3", name="3栋")
    house = House(building=building, unit="2", room="501")
    session.add_all([community, building, house])
    session.flush()

    def person(name, role, skills, openid):
        p = add_staff(session, name, "1380000" + openid[-4:], role, skills)
        p.openid = openid
        add_shift(session, p, now - timedelta(hours=4), now + timedelta(hours=8))
        return p

    crew = Crew(
        community,
        house,
        plumber_a=person("王师傅", "technician", "水电", "o-staff-2001"),
        plumber_b=person("李师傅", "technician", "水电,综合", "o-staff-2002"),
        lift=person("赵师傅", "technician", "电梯", "o-staff-2003"),
        supervisor=person("吴主管", "supervisor", "水电,电梯,土建/门窗,综合", "o-staff-2005"),
    )
    session.commit()
    return crew


def repair(
    session,
    crew: Crew,
    now: datetime,
    description="厨房水管爆了一直在喷水",
    urgency="urgent",
    openid="o-owner",
    key=None,
    facility="水管",
) -> int:
    ticket = create_repair(
        session,
        RepairRequest(
            openid=openid,
            description=description,
            contact_phone="13800001001",
            urgency=urgency,
            facility=facility,
            address=Address("3", "2", "501"),
            house_id=crew.house.id,
            community_id=crew.community.id,
            location_label="3栋2单元501",
            source_key=key,
        ),
        now=now,
    )
    session.commit()
    return ticket.id


def owner_wrote(session, openid: str, at: datetime, msg_type: str = "text") -> None:
    """The owner messaged the account at `at` (opens their customer-service window)."""
    session.add(
        InboundMessage(
            dedupe_key=f"{openid}-{at.timestamp()}-{msg_type}",
            openid=openid,
            msg_type=msg_type,
            text="你好",
            received_at=at,
            status="answered",
        )
    )
    session.commit()
