"""Complaints (投诉): recorded with a TS number, routed to customer service, handled within 2 h.

The owner says what and where (a photo is welcome); the category is read from their words.
Customer service on duty gets the task (a template message), the manager is told at 1 h 30 if it
is still open (backend/service/sla.py), and staff close it with a result (`办结 TS… 结果` in staff chat,
or the console's status form: both are backend/work/ticket_status.py's move to done). The owner
hears the result.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.core.clock import SHANGHAI, aware_now
from backend.core.config import Settings, load_settings
from backend.core.models import ANSWERED_KINDS, TICKET_CHANNELS, Complaint, Staff, Ticket, TicketPhoto, TicketStep
from backend.core.statuses import TicketStatus
from backend.messaging import delivery, notify, templates
from backend.owners.communities import community_for
from backend.service import sla
from backend.text.addresses import parse_address
from backend.work import renovation, ticket_status
from backend.work import staff as staff_records
from backend.work.tickets import (
    add_step,
    channel_note,
    find_by_number,
    next_number,
    owner_actor,
    safe_photo_url,
    staff_actor,
)

log = logging.getLogger(__name__)

CATEGORY_LABELS = {
    "noise": "噪音扰民",
    "hygiene": "环境卫生",
    "parking": "停车秩序",
    "security": "安全秩序",
    "staff": "员工服务",
    "facilities": "设施设备",
    "neighbours": "邻里纠纷",
    "other": "其他",
}
# First match wins: "保安态度差" is about staff, not security; "邻居装修太吵" is noise.
_CATEGORY_WORDS = [
    (
        "staff",
        r"态度|骂人|不作为|不理|不回|没人接|没人理|不管|敷衍|管家|客服|师傅|保洁阿姨|睡觉|收了物业费不干活|乱收费|服务",
    ),
    ("noise", r"吵|噪音|噪声|扰民|装修声|砸墙|电钻|广场舞|音响|唱[kK]|蹦迪|响声|半夜.*声"),
    ("parking", r"车位|停车|乱停|占道|挪车|车库|堵住|电动车乱|外来车"),
    ("security", r"保安|门岗|陌生人|不安全|偷|盗|高空抛物|抛物|监控|消防通道|充电|私搭乱建|违建|危险"),
    ("hygiene", r"垃圾|卫生|脏|臭|苍蝇|蚊子|老鼠|蟑螂|狗屎|粪|清扫|打扫|保洁|消杀|积水|绿化|草|异味|烟味"),
    ("neighbours", r"邻居|楼上|楼下|隔壁|对门|狗.*叫|宠物|养狗"),
    ("facilities", r"电梯|门禁|路灯|灯|设施|水池|健身器材|坏了|维修|漏水|水压|停水|停电"),
]


def categorize(text: str) -> str:
    for category, words in _CATEGORY_WORDS:
        if re.search(words, text or ""):
            return category
    return "other"


def label(category: str) -> str:
    return CATEGORY_LABELS.get(category, CATEGORY_LABELS["other"])


class ComplaintError(ValueError):
    """Cannot do that with this complaint; the message says why, in Chinese, for staff."""


@dataclass
class ComplaintRequest:
    openid: str
    description: str
    location_label: str = ""
    category: str | None = None
    house_id: int | None = None
    community_id: int | None = None
    contact_phone: str = ""
    photos: list[tuple[str, str | None]] = field(default_factory=list)
    source_key: str | None = None
    channel: str = "wechat"  # TICKET_CHANNELS; the desk records calls and visits too
    actor: str | None = None  # who recorded it (default: the owner)
    kind: str = "complaint"  # or "suggestion" (意见/建议): the same 2-hour answer, counted apart


def raise_complaint(session: Session, req: ComplaintRequest, now: datetime | None = None) -> Ticket:
    """Record a complaint (TS number, 2-hour clock) and route it; the same source_key gives the
    same ticket back (a replayed message never makes a second complaint)."""
    now = aware_now(now)
    if req.channel not in TICKET_CHANNELS or req.kind not in ANSWERED_KINDS:
        raise ValueError(f"bad channel {req.channel!r} or kind {req.kind!r}")
    if req.source_key:
        found = session.execute(select(Ticket).where(Ticket.source_key == req.source_key)).scalar_one_or_none()
        if found is not None:
            return found
    category = req.category if req.category in CATEGORY_LABELS else categorize(req.description)
    community_id = req.community_id
    if community_id is None:
        address = parse_address(req.location_label or "")
        community_id = community_for(session, address.building if address else None)
    try:
        with session.begin_nested():
            ticket = Ticket(
                number=next_number(session, req.kind, now),
                kind=req.kind,
                openid=req.openid,
                channel=req.channel,
                community_id=community_id,
                house_id=req.house_id,
                location_label=req.location_label or "",
                description=req.description,
                urgency="normal",
                due_at=now + sla.COMPLAINT_HANDLED,
                contact_phone=req.contact_phone or "",
                status="new",
                source_key=req.source_key,
                created_at=now,
                updated_at=now,
            )
            note = " ".join(filter(None, (channel_note(req.channel), label(category))))
            ticket.steps.append(
                TicketStep(kind="created", actor=req.actor or owner_actor(req.openid), note=note, at=now)
            )
            for url, media_id in req.photos:
                ticket.photos.append(TicketPhoto(url=safe_photo_url(url), media_id=media_id, created_at=now))
            session.add(ticket)
            session.flush()
            session.add(Complaint(ticket_id=ticket.id, category=category))
            session.flush()
    except IntegrityError:
        found = (
            session.execute(select(Ticket).where(Ticket.source_key == req.source_key)).scalar_one_or_none()
            if req.source_key
            else None
        )
        if found is None:
            raise
        return found
    sla.ensure(session, ticket)
    if category == "noise" or "装修" in (req.description or ""):
        _name_renovation_jobs(session, ticket, req, now)
    route(session, ticket, now)
    log.info("complaint recorded", extra={"ticket": ticket.number, "category": category})
    return ticket


def _name_renovation_jobs(session: Session, ticket: Ticket, req: ComplaintRequest, now: datetime) -> None:
    """A noise complaint: the decoration jobs going on, named to staff (and whether noisy work is
    allowed now by the community's rules); each job's history keeps the complaint."""
    address = parse_address(req.location_label or "")
    finding = renovation.noise_check(session, ticket.community_id, address.building if address else None, now)
    if not finding.jobs:
        return
    add_step(session, ticket, "renovation", "system", note=finding.note(), at=now)
    for job in finding.jobs:
        renovation.record_noise_complaint(session, job, ticket.number, finding.outside_hours, now)


def renovation_answer(session: Session, ticket: Ticket, now: datetime | None = None) -> str | None:
    """When the complaint named decoration jobs going on: the rules' word for the complainant."""
    if not any(s.kind == "renovation" for s in ticket.steps):
        return None
    return renovation.noise_answer(session, ticket.community_id, now)


def complaint_of(session: Session, ticket: Ticket) -> Complaint:
    found = session.get(Complaint, ticket.id)
    if found is None:  # a TS ticket from before this module (or an import): treat as "other"
        found = Complaint(ticket_id=ticket.id, category="other")
        session.add(found)
        session.flush()
    return found


# --- routing ---------------------------------------------------------------------------------------
def _open_complaints(session: Session, staff_ids: list[int]) -> dict[int, int]:
    rows = session.execute(
        select(Ticket.assignee_id, func.count())
        .where(
            Ticket.kind == "complaint",
            Ticket.assignee_id.in_(staff_ids),
            Ticket.status.in_(("new", "dispatched", "accepted")),
        )
        .group_by(Ticket.assignee_id)
    ).all()
    return dict(rows)


def choose(session: Session, ticket: Ticket, now: datetime) -> Staff | None:
    """Customer service on duty with the fewest open complaints; nobody: a supervisor."""
    people = [p for p in staff_records.on_duty(session, now, ticket.community_id, role="customer_service") if p.openid]
    if not people:
        people = staff_records.supervisors(session, ticket.community_id, now)
    if not people:
        return None
    load = _open_complaints(session, [p.id for p in people])
    return sorted(people, key=lambda p: (load.get(p.id, 0), p.id))[0]


def _clock(at: datetime) -> str:
    return at.astimezone(SHANGHAI).strftime("%H:%M")


def task_text(session: Session, ticket: Ticket) -> str:
    complaint = complaint_of(session, ticket)
    head = "【新意见建议】" if ticket.kind == "suggestion" else "【新投诉】"
    lines = [
        f"{head}{ticket.number}（{label(complaint.category)}）",
        f"内容：{ticket.description}",
        f"地点：{ticket.location_label or '（未写）'}",
    ]
    if ticket.contact_phone:
        lines.append(f"业主电话：{ticket.contact_phone}")
    lines += [f"装修：{s.note}" for s in ticket.steps if s.kind == "renovation"]
    lines.append(
        f"请在 {_clock(ticket.due_at)} 前（2小时内）处理，处理完回复「办结 {ticket.number} 处理结果」，结果会转告业主。"
    )
    return "\n".join(lines)


def route(session: Session, ticket: Ticket, now: datetime, settings: Settings | None = None) -> Staff | None:
    """Give the complaint to someone and send them the task (once per person)."""
    settings = settings or load_settings()
    person = choose(session, ticket, now)
    if person is None:
        if not ticket.steps or ticket.steps[-1].kind != "dispatch_failed":
            add_step(session, ticket, "dispatch_failed", "system", note="没有在岗的客服或主管", at=now)
        return None
    ticket_status.hand_to(session, ticket, person, "system", now, note=f"转给{person.name}")
    complaint = complaint_of(session, ticket)
    text = task_text(session, ticket)
    template = templates.message(
        settings.template_task,
        text,
        ticket.number,
        ticket.location_label or "（未写）",
        f"{label(complaint.category)}：{ticket.description}",
        "意见建议" if ticket.kind == "suggestion" else "投诉",
        f"{_clock(ticket.due_at)}前办结",
    )
    delivery.record(
        session,
        person.openid,
        "template",
        text,
        purpose="task",
        ticket_id=ticket.id,
        template=template,
        dedupe_key=f"complaint:{ticket.id}:{person.id}",
    )
    return person


def route_waiting(session: Session, now: datetime) -> int:
    """Complaints nobody could take when they came in: try again (from the SLA sweep)."""
    waiting = (
        session.execute(
            select(Ticket)
            .where(
                Ticket.kind.in_(ANSWERED_KINDS),
                Ticket.status == "new",
                Ticket.assignee_id.is_(None),
                Ticket.created_at >= now - sla.LOOKBACK,
            )
            .limit(50)
        )
        .scalars()
        .all()
    )
    return sum(route(session, t, now) is not None for t in waiting)


# --- handling --------------------------------------------------------------------------------------
def may_handle(person: Staff, ticket: Ticket) -> bool:
    return person.role in ("customer_service", "supervisor") or ticket.assignee_id == person.id


def find_for_staff(session: Session, person: Staff, number: str | None) -> Ticket:
    """The complaint named by `number`, or the person's latest open one."""
    if number:
        ticket = find_by_number(session, number)
        if ticket is None or ticket.kind not in ANSWERED_KINDS:
            raise ComplaintError(f"没有找到投诉单 {number}，请核对一下单号（投诉单以 TS 开头）。")
        return ticket
    ticket = session.execute(
        select(Ticket)
        .where(
            Ticket.kind.in_(ANSWERED_KINDS),
            Ticket.assignee_id == person.id,
            Ticket.status.in_(("new", "dispatched", "accepted")),
        )
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if ticket is None:
        raise ComplaintError("您手上没有待办结的投诉。办结别的单请写上单号，比如「办结 TS261123001 已协调处理」。")
    return ticket


def handle(session: Session, ticket: Ticket, person: Staff, result: str, now: datetime | None = None) -> Complaint:
    """Close a complaint with what was done; the 2-hour clock stops; the owner is told."""
    now = aware_now(now)
    result = (result or "").strip()
    if ticket.kind not in ANSWERED_KINDS:
        raise ComplaintError(f"{ticket.number} 不是投诉或意见建议单。")
    if not may_handle(person, ticket):
        raise ComplaintError(f"投诉 {ticket.number} 不在您名下，请联系主管。")
    if not result:
        raise ComplaintError(f"请写上处理结果，比如「办结 {ticket.number} 已上门提醒楼上业主，晚上10点后不再施工」。")
    complaint = complaint_of(session, ticket)
    if complaint.handled_at is not None and complaint.reopened_at is None:
        raise ComplaintError(f"投诉 {ticket.number} 已经办结过了（{complaint.result}）。")
    if ticket.status == "cancelled":
        raise ComplaintError(f"投诉 {ticket.number} 已被业主撤回。")
    ticket_status.move(
        session, ticket, TicketStatus.DONE, staff_actor(person.id), reason=result, now=now, person=person
    )
    clock = sla.get(session, ticket.id, "handled")
    log.info("complaint handled", extra={"ticket": ticket.number, "sla": clock.outcome if clock else None})
    return complaint


def answer_owner(session: Session, ticket: Ticket, person: Staff, text: str, now: datetime | None = None) -> None:
    """A word to the owner before the complaint is closed (答复); the clock keeps running."""
    now = aware_now(now)
    text = (text or "").strip()
    if not may_handle(person, ticket):
        raise ComplaintError(f"投诉 {ticket.number} 不在您名下，请联系主管。")
    if not text:
        raise ComplaintError(f"请写上要告诉业主的话，比如「答复 {ticket.number} 我们已联系楼上业主，今晚会上门协调」。")
    add_step(session, ticket, "answered", staff_actor(person.id), note=text, at=now)
    if ticket.status == TicketStatus.DISPATCHED:  # a first word to the owner: the complaint is taken
        ticket_status.move(session, ticket, TicketStatus.ACCEPTED, staff_actor(person.id), now=now, person=person)
    settings = load_settings()
    message = f"您好，关于您反映的「{ticket.description}」（{ticket.number}），客服{person.name}回复：{text}"
    template = templates.message(
        settings.template_progress,
        message,
        ticket.number,
        ticket.description,
        "投诉处理中",
        person.name,
        notify.clock_label(now),
    )
    notify.to_person(
        session,
        ticket.openid,
        message,
        template,
        "progress",
        ticket,
        f"complaint-answer:{ticket.id}:{int(now.timestamp())}",
        now,
    )


def reopen(session: Session, ticket: Ticket, openid: str, text: str, now: datetime | None = None) -> None:
    """The owner says it is not solved: not an effective handling; back to whoever had it, the
    supervisors told."""
    now = aware_now(now)
    complaint = complaint_of(session, ticket)
    complaint.reopened_at = now
    # Back to whoever had it: the complaint waits for their next word.
    ticket_status.hand_to(session, ticket, None, owner_actor(openid), now, step="reopened", note=text)
    what = f"业主反映投诉未解决：{text}"[:60]
    sla.tell_supervisors(session, ticket, what, f"complaint-reopened:{ticket.id}:{int(now.timestamp())}", now)
