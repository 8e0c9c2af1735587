"""Demo tickets, conversations and handoffs for the console's screenshots and browser tests, on
top of backend.cli.demo's community. Meant for an empty database (a fresh temp file)."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.cli.demo import seed_demo
from backend.core.clock import SHANGHAI, utcnow
from backend.core.models import (
    Building,
    Community,
    Complaint,
    House,
    HumanHandoff,
    InboundMessage,
    OutboundMessage,
    Resident,
    SlaClock,
    Ticket,
    TicketStep,
    WechatUser,
)
from backend.owners.accounts import bind
from backend.work.tickets import RepairRequest, add_step, create_repair, next_number

PHOTO = "/static/demo-photo.svg"  # served by the console itself: no internet needed
_keys = itertools.count(1)


def _house(session: Session, building: str, unit: str | None, room: str, community: str = "XFL") -> House:
    return session.execute(
        select(House)
        .join(Building)
        .join(Community, Community.id == Building.community_id)
        .where(
            Community.code == community,
            Building.code == building,
            House.unit.is_(unit) if unit is None else House.unit == unit,
            House.room == room,
        )
    ).scalar_one()


def _owner(session: Session, openid: str, house: House, now: datetime) -> None:
    resident = session.execute(select(Resident).where(Resident.house_id == house.id)).scalars().first()
    bind(session, openid, house, resident.id if resident else None)
    session.add(WechatUser(openid=openid, first_seen_at=now - timedelta(days=30), last_inbound_at=now))


def _chat(session: Session, openid: str, at: datetime, *turns: tuple[str, str]) -> datetime:
    """Owner says, we answer; one minute apart."""
    for said, answered in turns:
        session.add(
            InboundMessage(
                dedupe_key=f"demo-{next(_keys)}",
                openid=openid,
                msg_type="text",
                text=said,
                received_at=at,
                status="answered",
                answered_at=at,
            )
        )
        if answered:
            session.add(
                OutboundMessage(
                    openid=openid,
                    channel="passive",
                    content=answered,
                    status="sent",
                    created_at=at + timedelta(seconds=2),
                    sent_at=at + timedelta(seconds=2),
                )
            )
        at += timedelta(minutes=1)
    return at


def seed_console_demo(session: Session, now: datetime | None = None) -> dict:
    now = now or utcnow()
    seed_demo(session)
    session.flush()
    zhang, wang, liu, chen = "o-demo-zhangwei", "o-demo-wangfang", "o-demo-liuyang", "o-demo-chenjing"
    h_zhang, h_wang = _house(session, "3", "2", "501"), _house(session, "12", None, "1102")
    h_liu, h_chen = _house(session, "8", None, "702"), _house(session, "A5", "1", "902")
    for openid, house in ((zhang, h_zhang), (wang, h_wang), (liu, h_liu), (chen, h_chen)):
        _owner(session, openid, house, now)

    # 1. An urgent leak, raised 50 minutes ago: overdue (on site within 30 minutes).
    start = now - timedelta(minutes=52)
    _chat(
        session,
        zhang,
        start,
        ("厨房水管爆了，水一直往外冒", "请核对：3栋2单元501 厨房 水管爆裂（紧急）。联系电话 138****1001，对吗？"),
        ("对的", "已为您登记紧急报修，师傅30分钟内上门，请先关闭厨房水阀。"),
    )
    leak = create_repair(
        session,
        RepairRequest(
            openid=zhang,
            description="厨房水管爆了，水一直往外冒",
            contact_phone="13800001001",
            urgency="urgent",
            urgency_reason="漏水",
            facility="水管",
            place="厨房",
            house_id=h_zhang.id,
            photos=[(PHOTO, "demo-media")],
            source_key="demo-leak",
        ),
        now=now - timedelta(minutes=50),
    )
    _chat(
        session, zhang, now - timedelta(minutes=10), ("师傅怎么还没到？", "非常抱歉让您久等，已催促值班师傅，请稍候。")
    )

    # 2. A light in 12栋, booked for tomorrow morning, already dispatched.
    _chat(
        session,
        wang,
        now - timedelta(hours=3),
        ("卫生间的灯不亮了", "好的，请问什么时候方便上门？"),
        ("明天上午", "好的，已为您登记，师傅明天上午上门。"),
    )
    light = create_repair(
        session,
        RepairRequest(
            openid=wang,
            description="卫生间顶灯不亮",
            contact_phone="13800001003",
            facility="灯",
            place="卫生间",
            house_id=h_wang.id,
            preferred_time_label="明天上午 9:00-12:00",
            preferred_start=now + timedelta(hours=18),
            source_key="demo-light",
        ),
        now=now - timedelta(hours=3),
    )
    light.status = "dispatched"
    add_step(
        session,
        light,
        "status_changed",
        "console:supervisor",
        note="new → dispatched：王师傅（水电）",
        at=now - timedelta(hours=2, minutes=40),
    )

    # 3. The lift in 8栋, urgent, the technician is there.
    lift = create_repair(
        session,
        RepairRequest(
            openid=liu,
            description="8栋电梯停在5楼不动，里面没有人",
            contact_phone="13800001004",
            urgency="urgent",
            urgency_reason="电梯故障",
            facility="电梯",
            place="电梯",
            house_id=h_liu.id,
            source_key="demo-lift",
        ),
        now=now - timedelta(minutes=18),
    )
    lift.status = "on_site"
    add_step(session, lift, "status_changed", "console:supervisor", note="new → on_site", at=now - timedelta(minutes=5))
    add_step(session, lift, "note", "console:zhaoshifu", note="已到场，正在检查控制柜。", at=now - timedelta(minutes=4))

    # 4. Yesterday's door closer, done.
    door = create_repair(
        session,
        RepairRequest(
            openid=chen,
            description="单元门闭门器坏了，门关不上",
            contact_phone="13800001005",
            facility="门",
            place="单元门口",
            house_id=h_chen.id,
            source_key="demo-door",
        ),
        now=now - timedelta(days=1, hours=2),
    )
    door.status = "done"
    add_step(
        session,
        door,
        "status_changed",
        "console:sunshifu",
        note="on_site → done：已更换闭门器",
        at=now - timedelta(days=1),
    )

    # 5. A complaint about renovation noise.
    complaint = Ticket(
        number=next_number(session, "complaint", now - timedelta(hours=1)),
        kind="complaint",
        openid=liu,
        community_id=h_liu.building.community_id,
        house_id=h_liu.id,
        location_label="8栋702",
        description="楼上装修中午还在打电钻，吵得没法休息",
        contact_phone="13800001004",
        status="new",
        due_at=now + timedelta(hours=1),  # the standard's 2 hours
        created_at=now - timedelta(hours=1),
        updated_at=now - timedelta(hours=1),
    )
    complaint.steps.append(TicketStep(kind="created", actor=f"owner:{liu}", at=now - timedelta(hours=1)))
    session.add(complaint)
    # As complaints.raise_complaint records one: its category and its 2-hour clock (still running,
    # so the scorecard shows it in progress, as the channel table counts it).
    session.add(Complaint(ticket=complaint, category="noise"))
    session.add(
        SlaClock(
            ticket=complaint,
            kind="handled",
            started_at=now - timedelta(hours=1),
            due_at=now + timedelta(hours=1),
            warn_at=now + timedelta(minutes=30),
        )
    )

    # Two conversations handed to a person.
    _chat(
        session,
        chen,
        now - timedelta(minutes=15),
        ("物业费怎么算的？我家每月多少钱", "物业费按建筑面积计算……"),
        ("我要找人工客服", "好的，已为您转接人工客服，请稍候。"),
    )
    fees = HumanHandoff(openid=chen, text="我要找人工客服", created_at=now - timedelta(minutes=14), status="open")
    _chat(session, liu, now - timedelta(minutes=6), ("小区门口的垃圾两天没人清理了", "非常抱歉，已为您转接人工客服。"))
    rubbish = HumanHandoff(
        openid=liu, text="投诉：小区门口的垃圾两天没人清理了", created_at=now - timedelta(minutes=6), status="open"
    )
    session.add_all([fees, rubbish])
    session.flush()
    return {
        "leak": leak,
        "light": light,
        "lift": lift,
        "door": door,
        "complaint": complaint,
        "handoffs": [fees, rubbish],
    }


def seed_screenshot_extras(session: Session, demo: dict, now: datetime | None = None) -> dict:
    """More history for the screenshots of the outage, scorecard and roster pages: this month's
    finished repairs with their clocks and ratings, bound owners in a few buildings, an outage
    part-way through its broadcast, one saved but not yet sent, and an assignment history."""
    from backend.core.clock import aware_now
    from backend.core.models import Outage, Rating, SlaClock, Staff, TicketAssignment
    from backend.messaging import outages

    now = aware_now(now)
    month_start = now.astimezone(SHANGHAI).replace(day=1, hour=9, minute=0, second=0, microsecond=0)
    facilities = ["水管", "灯", "门", "水管", "电梯", "下水道", "灯", "门窗", "水管", "插座", "电梯", "水管"]
    days = max((now - month_start).days, 1)
    for n, facility in enumerate(facilities):
        raised = month_start + timedelta(days=n * days / len(facilities), hours=n % 5)
        house = _house(session, "3", "2", "501")
        t = create_repair(
            session,
            RepairRequest(
                openid="o-demo-zhangwei",
                description=f"{facility}坏了",
                contact_phone="13800001001",
                urgency="urgent" if n % 3 == 0 else "normal",
                facility=facility,
                place="家里",
                house_id=house.id,
                source_key=f"demo-history-{n}",
            ),
            now=raised,
        )
        t.status = "done"
        add_step(session, t, "accepted", "staff:1", at=raised + timedelta(minutes=4 + n))
        add_step(session, t, "arrived", "staff:1", at=raised + timedelta(minutes=20 + 3 * n))
        session.add(
            SlaClock(
                ticket_id=t.id,
                kind="on_site",
                started_at=raised,
                due_at=raised + timedelta(minutes=30),
                stopped_at=raised + timedelta(minutes=20 + 3 * n),
                outcome="met" if n not in (7, 10) else "missed",
            )
        )
        if n % 4 != 3:
            session.add(
                Rating(
                    ticket_id=t.id,
                    openid="o-demo-zhangwei",
                    score=5 if n % 5 else 3,
                    created_at=raised + timedelta(hours=5),
                )
            )
    # Bound owners in 3栋 and 8栋: an outage's preview has something to count.
    for code in ("3", "8"):
        houses = (
            session.execute(
                select(House)
                .join(Building)
                .join(Community, Community.id == Building.community_id)
                .where(Community.code == "XFL", Building.code == code)
                .order_by(House.id)
                .limit(18)
            )
            .scalars()
            .all()
        )
        for n, house in enumerate(houses):
            openid = f"o-demo-{code}-{n}"
            bind(session, openid, house)
    session.flush()
    start = (now + timedelta(days=1)).astimezone(SHANGHAI).replace(hour=9, minute=0, second=0, microsecond=0)
    sending = outages.create(
        session,
        "XFL",
        "water",
        start,
        start + timedelta(hours=8),
        buildings=["3", "8"],
        reason="二次供水水箱清洗消毒",
        actor="console:wu",
        now=now - timedelta(minutes=5),
    )
    from backend.core.config import load_settings

    outages.plan(session, load_settings(), sending, "notice", now - timedelta(minutes=4))
    msgs = (
        session.execute(
            select(OutboundMessage)
            .where(OutboundMessage.campaign == outages.campaign(sending.id, "notice"))
            .order_by(OutboundMessage.id)
        )
        .scalars()
        .all()
    )
    for i, m in enumerate(msgs):
        if i < len(msgs) * 2 // 3:
            m.status, m.sent_at = "sent", now - timedelta(minutes=3)
        elif i < len(msgs) * 2 // 3 + 2:
            m.status, m.errcode = "failed", 43004
    draft = outages.create(
        session,
        "XFL",
        "power",
        start + timedelta(days=2),
        start + timedelta(days=2, hours=4),
        buildings=["3"],
        reason="配电房设备检修",
        actor="console:wu",
        now=now,
    )
    old = Outage(
        community=sending.community,
        kind="gas",
        planned=False,
        starts_at=now - timedelta(days=6),
        ends_at=now - timedelta(days=6) + timedelta(hours=3),
        reason="燃气管道抢修",
        prepare="",
        status="restored",
        version=1,
        created_by="console:wu",
        created_at=now - timedelta(days=6),
        updated_at=now - timedelta(days=6),
        restored_at=now - timedelta(days=6) + timedelta(hours=2),
    )
    session.add(old)
    # The light's assignment history: offered to one technician, moved to another.
    techs = session.execute(select(Staff).where(Staff.role == "technician").order_by(Staff.id)).scalars().all()
    light = demo["light"]
    if len(techs) >= 2:
        session.add(
            TicketAssignment(
                ticket_id=light.id,
                staff_id=techs[0].id,
                status="transferred",
                assigned_at=now - timedelta(hours=2, minutes=40),
                reason="派单",
            )
        )
        session.add(
            TicketAssignment(
                ticket_id=light.id,
                staff_id=techs[1].id,
                status="accepted",
                assigned_at=now - timedelta(hours=2, minutes=20),
                acked_at=now - timedelta(hours=2, minutes=15),
                reason="原师傅在处理急修",
            )
        )
        light.assignee_id = techs[1].id
        demo["lift"].assignee_id = techs[1].id
    session.flush()
    return {"sending": sending, "draft": draft, "technician": techs[1] if len(techs) >= 2 else None}
