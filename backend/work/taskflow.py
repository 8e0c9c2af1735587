"""What a technician does with a task: accept, arrive, finish (with photos), and the owner hears
each step. Called from staff chat commands (backend/work/staff_desk.py).

Only the person the ticket is with may move it here; the move itself, its rules and what follows
from it (the owner told, the clocks) are backend/work/ticket_status.py, which the console uses too.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.core.clock import aware_now
from backend.core.models import Staff, Ticket, TicketAssignment, TicketPhoto
from backend.core.statuses import TicketStatus
from backend.work import ticket_status
from backend.work.dispatch import ACTIVE, active_assignment
from backend.work.tickets import add_step, find_by_number, safe_photo_url, staff_actor

# A photo sent this long after 完工 still belongs to that job.
PHOTO_AFTER_DONE = timedelta(hours=2)


class TaskError(ValueError):
    """The step cannot be taken; the message says why, in Chinese, for the technician."""


def my_tasks(session: Session, person: Staff) -> list[Ticket]:
    """Open tickets with `person`, newest offer first."""
    return list(
        session.execute(
            select(Ticket)
            .join(TicketAssignment, TicketAssignment.ticket_id == Ticket.id)
            .where(
                TicketAssignment.staff_id == person.id,
                TicketAssignment.status.in_(ACTIVE),
                Ticket.status.in_(("dispatched", "accepted", "on_site")),
            )
            .order_by(TicketAssignment.assigned_at.desc(), TicketAssignment.id.desc())
        )
        .scalars()
        .unique()
    )


def find_task(session: Session, person: Staff, number: str | None) -> Ticket:
    """The ticket named by `number`, or the person's latest task when no number is given."""
    if not number:
        tasks = my_tasks(session, person)
        if not tasks:
            raise TaskError("您手上目前没有待处理的任务。")
        return tasks[0]
    ticket = find_by_number(session, number)
    if ticket is None:
        raise TaskError(f"没有找到单号 {number} 的工单，请核对一下单号。")
    current = active_assignment(session, ticket)
    if current is None or current.staff_id != person.id:
        if ticket.status in ("done", "closed"):
            raise TaskError(f"工单 {ticket.number} 已经完工了。")
        if ticket.status == "cancelled":
            raise TaskError(f"工单 {ticket.number} 已被业主取消，不用去了。")
        owner = current.staff.name if current is not None else "其他同事"
        raise TaskError(f"工单 {ticket.number} 不在您名下（目前在{owner}那里）。如需接手请联系主管。")
    return ticket


def _mine(session: Session, person: Staff, ticket: Ticket) -> TicketAssignment:
    current = active_assignment(session, ticket)
    if current is None or current.staff_id != person.id:
        raise TaskError(f"工单 {ticket.number} 不在您名下。")
    if ticket.status == "cancelled":
        raise TaskError(f"工单 {ticket.number} 已被业主取消，不用去了。")
    return current


def accept(session: Session, person: Staff, ticket: Ticket, now: datetime | None = None) -> bool:
    """接单. False if it was accepted already (nothing changes)."""
    current = _mine(session, person, ticket)
    if current.status == "accepted":
        return False
    return ticket_status.move(session, ticket, TicketStatus.ACCEPTED, staff_actor(person.id), now=now, person=person)


def arrive(session: Session, person: Staff, ticket: Ticket, now: datetime | None = None) -> bool:
    """到场. False if arrival was recorded already."""
    _mine(session, person, ticket)
    return ticket_status.move(session, ticket, TicketStatus.ON_SITE, staff_actor(person.id), now=now, person=person)


def complete(session: Session, person: Staff, ticket: Ticket, note: str = "", now: datetime | None = None) -> None:
    """完工, with what was done. The owner is asked to confirm and rate."""
    _mine(session, person, ticket)
    ticket_status.move(session, ticket, TicketStatus.DONE, staff_actor(person.id), reason=note, now=now, person=person)


def add_photo(
    session: Session, person: Staff, url: str, media_id: str | None, now: datetime | None = None
) -> Ticket | None:
    """A photo from a technician: kept with the job they are on, or the one they just finished."""
    now = aware_now(now)
    tasks = [t for t in my_tasks(session, person) if t.status == "on_site"]
    ticket = (
        tasks[0]
        if tasks
        else session.execute(
            select(Ticket)
            .where(
                Ticket.assignee_id == person.id, Ticket.status == "done", Ticket.updated_at >= now - PHOTO_AFTER_DONE
            )
            .order_by(Ticket.updated_at.desc())
            .limit(1)
        ).scalar_one_or_none()
    )
    if ticket is None:
        return None
    url = safe_photo_url(url)
    session.add(TicketPhoto(ticket=ticket, url=url, media_id=media_id, created_at=now))
    add_step(session, ticket, "photo_added", staff_actor(person.id), note=url or None, at=now)
    return ticket
