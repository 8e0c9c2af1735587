"""Who gets a new ticket, and what happens when nobody takes it.

A new repair goes to an on-duty staff member with the trade it needs (backend/work/skills.py): the
one with the fewest open tasks, then whoever has waited longest for work. Nobody on duty with
the trade: a supervisor. No 接单 within ACK_WINDOW: the next person, and the supervisors are
told. Every offer is a TicketAssignment row, so the clocks live in the database and survive
restarts; the worker's sweep (every few seconds) moves them on.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import false, func, select
from sqlalchemy.orm import Session

from backend.core.clock import aware_now
from backend.core.config import Settings, load_settings
from backend.core.db import get_engine, session_scope
from backend.core.models import OPEN_TICKET_STATUSES, Staff, Ticket, TicketAssignment
from backend.messaging import notify
from backend.work import staff as staff_records
from backend.work import ticket_status
from backend.work.skills import skill_for
from backend.work.tickets import add_step, staff_actor

log = logging.getLogger(__name__)

ACK_WINDOW = {"urgent": timedelta(minutes=5), "normal": timedelta(minutes=15)}
ACTIVE = ("pending", "accepted")
DISPATCHED_KINDS = ("repair", "paid_service")  # complaints go to customer service instead
# A new ticket nobody enqueued a dispatch for (Redis was down) is picked up after this long.
UNDISPATCHED_AFTER = timedelta(seconds=5)


class DispatchError(ValueError):
    """Cannot assign as asked; the message says why, in Chinese."""


def with_staff(staff_id: int | None):
    """The tickets that are a staff member's, as a WHERE clause: assigned to them (still, or when
    they finished it), or offered to them and not yet taken or passed on. A technician's console
    shows only these. No staff record: none."""
    if staff_id is None:
        return false()
    offered = select(TicketAssignment.ticket_id).where(
        TicketAssignment.staff_id == staff_id, TicketAssignment.status.in_(ACTIVE)
    )
    return (Ticket.assignee_id == staff_id) | Ticket.id.in_(offered)


def active_assignment(session: Session, ticket: Ticket) -> TicketAssignment | None:
    return session.execute(
        select(TicketAssignment)
        .where(TicketAssignment.ticket_id == ticket.id, TicketAssignment.status.in_(ACTIVE))
        .order_by(TicketAssignment.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def _open_tasks(session: Session, staff_ids: list[int]) -> dict[int, int]:
    rows = session.execute(
        select(TicketAssignment.staff_id, func.count())
        .join(Ticket, Ticket.id == TicketAssignment.ticket_id)
        .where(
            TicketAssignment.staff_id.in_(staff_ids),
            TicketAssignment.status.in_(ACTIVE),
            Ticket.status.in_(OPEN_TICKET_STATUSES),
        )
        .group_by(TicketAssignment.staff_id)
    ).all()
    return dict(rows)


def _last_assigned(session: Session, staff_ids: list[int]) -> dict[int, datetime]:
    rows = session.execute(
        select(TicketAssignment.staff_id, func.max(TicketAssignment.assigned_at))
        .where(TicketAssignment.staff_id.in_(staff_ids))
        .group_by(TicketAssignment.staff_id)
    ).all()
    return dict(rows)


def _already_tried(session: Session, ticket: Ticket) -> set[int]:
    return set(
        session.execute(select(TicketAssignment.staff_id).where(TicketAssignment.ticket_id == ticket.id)).scalars()
    )


def _rank(session: Session, people: list[Staff]) -> list[Staff]:
    """Fewest open tasks first, then the one whose last task is oldest (in turn)."""
    if not people:
        return []
    ids = [p.id for p in people]
    load, last = _open_tasks(session, ids), _last_assigned(session, ids)
    never = datetime.min.replace(tzinfo=aware_now().tzinfo)
    return sorted(people, key=lambda p: (load.get(p.id, 0), last.get(p.id) or never, p.id))


def choose(session: Session, ticket: Ticket, now: datetime | None = None) -> Staff | None:
    """The next person for `ticket`, or None when nobody reachable is left to try."""
    now = aware_now(now)
    skill = ticket.skill or skill_for(ticket)
    tried = _already_tried(session, ticket)
    duty = [
        p
        for p in staff_records.on_duty(session, now, ticket.community_id)
        if p.openid and p.id not in tried and serves(p, ticket)
    ]
    trade = [p for p in duty if p.role == "technician" and skill in p.skill_list]
    ranked = _rank(session, trade)
    if ranked:
        return ranked[0]
    bosses = [
        p
        for p in staff_records.supervisors(session, ticket.community_id, now)
        if p.id not in tried and serves(p, ticket)
    ]
    ranked = _rank(session, bosses)
    return ranked[0] if ranked else None


def serves(person: Staff, ticket: Ticket) -> bool:
    """Staff work for their own community (or, with none set, for all). A ticket whose community
    is not known goes only to staff who serve every community; a person decides from there."""
    return person.community_id is None or person.community_id == ticket.community_id


def page_emergency(ticket_id: int, now: datetime | None = None) -> str:
    """Job for an emergency (电梯困人, 燃气泄漏, 起火, 爆管, 漏电): the on-duty technician gets the
    task at once and every supervisor serving the community is paged too."""
    outcome = dispatch_ticket(ticket_id, now)
    now = aware_now(now)
    settings = load_settings()
    with session_scope(get_engine(settings.database_url)) as session:
        ticket = session.get(Ticket, ticket_id)
        if ticket is None or not ticket.is_open:
            return outcome
        people = [p for p in staff_records.supervisors(session, ticket.community_id, now) if serves(p, ticket)]
        assignee = ticket.assignee_id
        people = [p for p in people if p.id != assignee]
        notify.supervisors(
            session,
            settings,
            ticket,
            people,
            f"紧急情况（{ticket.urgency_reason or '急修'}），已通知值班师傅，请立即跟进",
            key=f"emergency:{ticket.id}",
            now=now,
        )
        add_step(session, ticket, "note", "system", note=f"紧急：已通知{len(people)}位主管", at=now)
    return outcome


def assign(
    session: Session,
    ticket: Ticket,
    person: Staff,
    actor: str,
    reason: str | None = None,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> TicketAssignment:
    """Offer `ticket` to `person` (dispatch, reassignment from the console). The previous offer,
    if any, ends as transferred. The task message goes out after the session commits."""
    now = aware_now(now)
    settings = settings or load_settings()
    if not ticket.is_open:
        raise DispatchError(
            f"工单 {ticket.number} 已{'完工' if ticket.status in ('done', 'closed') else '取消'}，不能再派。"
        )
    if not person.active:
        raise DispatchError(f"{person.name} 已停用，不能派单。")
    current = active_assignment(session, ticket)
    if current is not None:
        if current.staff_id == person.id:
            return current
        current.status = "transferred"
        current.reason = reason or current.reason
    ticket.skill = ticket.skill or skill_for(ticket)
    assignment = TicketAssignment(
        ticket_id=ticket.id,
        staff_id=person.id,
        status="pending",
        assigned_at=now,
        ack_due_at=now + ACK_WINDOW.get(ticket.urgency, ACK_WINDOW["normal"]),
        reason=reason,
    )
    session.add(assignment)
    session.flush()
    ticket_status.hand_to(
        session, ticket, person, actor, now, note=f"派给{person.name}" + (f"：{reason}" if reason else "")
    )
    if person.openid:
        notify.task(session, settings, ticket, person, assignment.id, note=f"说明：{reason}" if reason else "")
    return assignment


def dispatch_ticket(ticket_id: int, now: datetime | None = None) -> str:
    """Job (enqueued when a ticket is created, and by the sweep): give a new ticket its first
    person. Running it twice does nothing the second time."""
    now = aware_now(now)
    settings = load_settings()
    with session_scope(get_engine(settings.database_url)) as session:
        ticket = session.get(Ticket, ticket_id)
        if (
            ticket is None
            or ticket.kind not in DISPATCHED_KINDS
            or ticket.status != "new"
            or active_assignment(session, ticket) is not None
        ):
            return "skipped"
        person = choose(session, ticket, now)
        if person is None:
            if not ticket.steps or ticket.steps[-1].kind != "dispatch_failed":  # once, not every sweep
                add_step(session, ticket, "dispatch_failed", "system", note="没有在岗且已绑定微信的员工", at=now)
                log.error("nobody to dispatch to", extra={"ticket": ticket.number})
            return "nobody"
        reason = None if person.role == "technician" else "当前没有在岗的对口师傅，请主管安排"
        assign(session, ticket, person, "system", reason=reason, now=now, settings=settings)
        log.info("ticket dispatched", extra={"ticket": ticket.number, "staff_id": person.id})
        return "dispatched"


def _move_on(
    session: Session, settings: Settings, ticket: Ticket, current: TicketAssignment, why: str, now: datetime
) -> None:
    """The current offer failed (timeout, unreachable, 转单): the next person, supervisors told."""
    previous = current.staff
    current.status = "timed_out" if why == "timeout" else "transferred"
    current.ack_due_at = None
    nxt = choose(session, ticket, now)
    labels = {"timeout": f"{previous.name}超时未接单", "unreachable": f"{previous.name}的微信收不到任务"}
    what = labels.get(why, f"{previous.name}转单：{why}")
    if nxt is None:
        # Keep it with the last person (no more timers) and make sure a supervisor knows.
        current.status = "pending"
        add_step(session, ticket, "escalated", "system", note=f"{what}，无人可改派", at=now)
        notify.supervisors(
            session,
            settings,
            ticket,
            staff_records.supervisors(session, ticket.community_id, now),
            f"{what}，暂无其他人可派，请尽快安排",
            key=f"stuck:{current.id}",
            now=now,
        )
        return
    assignment = assign(session, ticket, nxt, "system", reason=what, now=now, settings=settings)
    add_step(session, ticket, "escalated", "system", note=f"{what}，已改派{nxt.name}", at=now)
    people = [p for p in staff_records.supervisors(session, ticket.community_id, now) if p.id != nxt.id]
    notify.supervisors(
        session, settings, ticket, people, f"{what}，已改派{nxt.name}", key=f"moved:{assignment.id}", now=now
    )


def transfer(session: Session, ticket: Ticket, person: Staff, reason: str, now: datetime | None = None) -> Staff | None:
    """转单: `person` hands their task on; returns who has it now."""
    now = aware_now(now)
    current = active_assignment(session, ticket)
    if current is None or current.staff_id != person.id:
        raise DispatchError(f"工单 {ticket.number} 不在您名下，不能转单。")
    add_step(session, ticket, "transfer_requested", staff_actor(person.id), note=reason, at=now)
    ticket_status.hand_to(session, ticket, None, staff_actor(person.id), now, step=None)
    _move_on(session, load_settings(), ticket, current, reason, now)
    return session.get(Staff, ticket.assignee_id) if ticket.assignee_id else None


def unreachable(session: Session, ticket_id: int, openid: str, now: datetime | None = None) -> None:
    """A task message came back 43004 (the technician unfollowed): try the next person now."""
    now = aware_now(now)
    ticket = session.get(Ticket, ticket_id)
    current = active_assignment(session, ticket) if ticket else None
    if current is None or current.status != "pending" or current.staff.openid != openid:
        return
    _move_on(session, load_settings(), ticket, current, "unreachable", now)


def unreachable_job(ticket_id: int, openid: str, now: datetime | None = None) -> None:
    """Job (enqueued by delivery on 43004 for a task message): `unreachable` in its own transaction."""
    with session_scope(get_engine(load_settings().database_url)) as session:
        unreachable(session, ticket_id, openid, now)


def sweep(now: datetime | None = None) -> dict:
    """Periodic: dispatch tickets whose job was lost; move on offers nobody acknowledged."""
    now = aware_now(now)
    settings = load_settings()
    engine = get_engine(settings.database_url)
    with session_scope(engine) as session:
        waiting = (
            session.execute(
                select(Ticket.id)
                .where(
                    Ticket.status == "new",
                    Ticket.assignee_id.is_(None),
                    Ticket.kind.in_(DISPATCHED_KINDS),
                    Ticket.created_at < now - UNDISPATCHED_AFTER,
                )
                .order_by(Ticket.id)
                .limit(100)
            )
            .scalars()
            .all()
        )
        overdue = (
            session.execute(
                select(TicketAssignment.id)
                .where(TicketAssignment.status == "pending", TicketAssignment.ack_due_at <= now)
                .order_by(TicketAssignment.ack_due_at)
                .limit(100)
            )
            .scalars()
            .all()
        )
    # A ticket that found nobody keeps a "dispatch_failed" step; try again, quietly.
    dispatched = sum(dispatch_ticket(tid, now) == "dispatched" for tid in waiting)
    moved = 0
    for assignment_id in overdue:
        with session_scope(engine) as session:
            current = session.get(TicketAssignment, assignment_id)
            # Re-read under this transaction: 接单 may have landed since the query above.
            if current.status != "pending" or current.ack_due_at is None or current.ack_due_at > now:
                continue
            ticket = session.get(Ticket, current.ticket_id)
            if not ticket.is_open:
                current.status, current.ack_due_at = "closed", None
                continue
            _move_on(session, settings, ticket, current, "timeout", now)
            moved += 1
    return {"dispatched": dispatched, "escalated": moved}
