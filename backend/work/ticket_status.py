"""Every change of a ticket's status, from any door (staff WeChat commands, the console, the
CLI, the owner's own words): one function, `move`, with the rules and the consequences.

| to          | from                         | reason    | also                                             |
|-------------|------------------------------|-----------|--------------------------------------------------|
| accepted    | new, dispatched              | —         | the offer is accepted; the owner hears 接单      |
| on_site     | new, dispatched, accepted    | —         | on-site clock stops; the owner hears 到场        |
| done        | any open status              | complaint | on-site clock stops, feedback clock starts, the  |
|             |                              | (result)  | owner is asked to rate; a complaint: 2-hour      |
|             |                              |           | clock stops, the owner hears the result          |
| closed      | done                         | —         | the owner accepted the work                      |
| cancelled   | any open status              | required  | open offers end                                  |
| new (重开)  | done, closed, cancelled      | required  | a repair goes back to dispatch                   |
| dispatched  | only through `hand_to` (it needs a person): dispatch's offers, 转单, a complaint   |
|             | routed to the desk or reopened by its owner                                       |

Steps may be skipped forward (到场 without 接单 accepts too) because people in a hurry do that;
they may not go backwards except by reopening. Every move writes a step (who, why), which is the
ticket's audit trail; the console adds its own audit row. Functions never commit.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.core import jobs, schedule
from backend.core.clock import aware_now
from backend.core.config import load_settings
from backend.core.models import ANSWERED_KINDS, Complaint, Staff, Ticket, TicketAssignment
from backend.core.statuses import FINISHED_STATUSES, OPEN_STATUSES, AssignmentStatus, TicketStatus
from backend.messaging import notify
from backend.service import sla
from backend.work.tickets import add_step

log = logging.getLogger(__name__)

# Kinds a technician is sent to; their owner hears 接单/到场/完工 and rates the job.
DISPATCHED_KINDS = ("repair", "paid_service")
ORDER = (
    TicketStatus.NEW,
    TicketStatus.DISPATCHED,
    TicketStatus.ACCEPTED,
    TicketStatus.ON_SITE,
    TicketStatus.DONE,
    TicketStatus.CLOSED,
)
ACTIVE = (AssignmentStatus.PENDING.value, AssignmentStatus.ACCEPTED.value)


class StatusError(ValueError):
    """The move is not allowed; the message says why, in Chinese, for staff."""


def _active(session: Session, ticket: Ticket) -> TicketAssignment | None:
    return session.execute(
        select(TicketAssignment)
        .where(TicketAssignment.ticket_id == ticket.id, TicketAssignment.status.in_(ACTIVE))
        .order_by(TicketAssignment.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def check(ticket: Ticket, target: TicketStatus, reason: str | None) -> None:
    """Raise StatusError when `ticket` may not go to `target` (with this reason)."""
    current = TicketStatus(ticket.status)
    if target == TicketStatus.DISPATCHED:
        raise StatusError("派单请在「派单」里选择员工。")
    if target == TicketStatus.CANCELLED:
        if current not in OPEN_STATUSES:
            raise StatusError("已完成或已关闭的工单不能取消。")
        if not reason:
            raise StatusError("取消工单请写明原因。")
        return
    if target == TicketStatus.NEW:
        if current in OPEN_STATUSES:
            raise StatusError("工单还在处理中，不需要重新打开。")
        if not reason:
            raise StatusError("重新打开工单请写明原因。")
        return
    if current == TicketStatus.CANCELLED:
        raise StatusError(f"工单 {ticket.number} 已取消，如需继续处理请先重新打开（写明原因）。")
    if target == TicketStatus.CLOSED and current != TicketStatus.DONE:
        raise StatusError("只有已完成的工单才能关闭。")
    if ORDER.index(target) < ORDER.index(current):
        raise StatusError("工单状态不能往回改；如需重新处理，请重新打开（写明原因）。")
    if target == TicketStatus.DONE and ticket.kind in ANSWERED_KINDS and not reason:
        raise StatusError(f"办结投诉请写上处理结果，比如「已上门提醒楼上业主」（{ticket.number}）。")


def move(
    session: Session,
    ticket: Ticket,
    new_status: str | TicketStatus,
    actor: str,
    reason: str | None = None,
    now: datetime | None = None,
    person: Staff | None = None,
) -> bool:
    """Move `ticket` to `new_status`, as `actor` ("staff:3", "console:zheng", "owner:…"), with
    everything that follows from it. `person` is the staff member who did the work, named to the
    owner (default: whoever the ticket is with). False when the ticket already has that status."""
    now = aware_now(now)
    try:
        target = TicketStatus(new_status)
    except ValueError:
        raise StatusError("请选择有效的状态。") from None
    reason = (reason or "").strip() or None
    if ticket.status == target:
        return False
    check(ticket, target, reason)
    person = person or (session.get(Staff, ticket.assignee_id) if ticket.assignee_id else None)
    handler = {
        TicketStatus.ACCEPTED: _accepted,
        TicketStatus.ON_SITE: _on_site,
        TicketStatus.DONE: _done,
        TicketStatus.CLOSED: _closed,
        TicketStatus.CANCELLED: _cancelled,
        TicketStatus.NEW: _reopened,
    }[target]
    handler(session, ticket, actor, reason, now, person)
    log.info("ticket status", extra={"ticket": ticket.number, "status": target.value, "actor": actor.split(":")[0]})
    return True


def hand_to(
    session: Session,
    ticket: Ticket,
    person: Staff | None,
    actor: str,
    now: datetime,
    step: str | None = "dispatched",
    note: str | None = None,
) -> None:
    """The one way into `dispatched`: the ticket is with `person` (None: it stays with whoever has
    it, as while 转单 looks for the next person) and waits for them to take it. `step` is the
    trail's entry (None when the caller writes its own)."""
    if person is not None:
        ticket.assignee_id = person.id
    ticket.status = TicketStatus.DISPATCHED.value
    if step:
        add_step(session, ticket, step, actor, note=note, at=now)


def _tell(session: Session, ticket: Ticket, step: str, person: Staff | None, now: datetime, note: str = "") -> None:
    if ticket.kind in DISPATCHED_KINDS and ticket.openid:
        notify.progress(session, load_settings(), ticket, step, person, note=note, now=now)


def _accept_offer(
    session: Session, ticket: Ticket, actor: str, reason: str | None, now: datetime, person: Staff | None
) -> None:
    offer = _active(session, ticket)
    if offer is not None and offer.status == AssignmentStatus.PENDING:
        offer.status, offer.acked_at, offer.ack_due_at = AssignmentStatus.ACCEPTED.value, now, None
    ticket.status = TicketStatus.ACCEPTED.value
    add_step(session, ticket, "accepted", actor, note=reason or (person.name if person else None), at=now)


def _accepted(session, ticket, actor, reason, now, person) -> None:
    _accept_offer(session, ticket, actor, reason, now, person)
    _tell(session, ticket, "accepted", person, now)


def _on_site(session, ticket, actor, reason, now, person) -> None:
    if ticket.status in (TicketStatus.NEW, TicketStatus.DISPATCHED):
        _accept_offer(session, ticket, actor, None, now, person)  # 到场 without 接单: accepted too, quietly
    ticket.status = TicketStatus.ON_SITE.value
    add_step(session, ticket, "arrived", actor, note=reason or (person.name if person else None), at=now)
    sla.stop(session, ticket, "on_site", now)
    _tell(session, ticket, "arrived", person, now)


def _done(session, ticket, actor, reason, now, person) -> None:
    if ticket.status in (TicketStatus.NEW, TicketStatus.DISPATCHED) and ticket.kind in DISPATCHED_KINDS:
        _accept_offer(session, ticket, actor, None, now, person)
    offer = _active(session, ticket)
    if offer is not None:
        offer.status, offer.ack_due_at = AssignmentStatus.CLOSED.value, None
    ticket.status = TicketStatus.DONE.value
    if ticket.kind in ANSWERED_KINDS:
        _complaint_handled(session, ticket, actor, reason, now, person)
        return
    add_step(session, ticket, "done", actor, note=reason, at=now)
    sla.stop(session, ticket, "on_site", now)  # 完工 without 到场: they were there by now
    if ticket.kind in DISPATCHED_KINDS:
        # The owner has 24 h to rate before a reminder, 48 h before a revisit call (aftercare).
        sla.restart(session, ticket, "feedback", now, now + sla.FEEDBACK_DUE, now + sla.FEEDBACK_REMIND)
    _tell(session, ticket, "done", person, now, note=f"处理情况：{reason}" if reason else "")


def _complaint_handled(session, ticket, actor, reason, now, person) -> None:
    complaint = session.get(Complaint, ticket.id)
    if complaint is None:  # a TS ticket from before complaints were recorded: treat as "other"
        complaint = Complaint(ticket_id=ticket.id, category="other")
        session.add(complaint)
    complaint.result, complaint.handled_at = reason, now
    complaint.handled_by_id = person.id if person and actor.startswith("staff:") else None
    add_step(session, ticket, "handled", actor, note=reason, at=now)
    sla.stop(session, ticket, "handled", now)
    notify.complaint_result(session, load_settings(), ticket, reason or "", now)


def _closed(session, ticket, actor, reason, now, person) -> None:
    ticket.status = TicketStatus.CLOSED.value
    add_step(session, ticket, "closed", actor, note=reason, at=now)


def _end_offers(session: Session, ticket: Ticket) -> None:
    offer = _active(session, ticket)
    if offer is not None:
        offer.status, offer.ack_due_at = AssignmentStatus.CLOSED.value, None


def _cancelled(session, ticket, actor, reason, now, person) -> None:
    _end_offers(session, ticket)
    ticket.status = TicketStatus.CANCELLED.value
    add_step(session, ticket, "cancelled", actor, note=reason, at=now)


def _reopened(session, ticket, actor, reason, now, person) -> None:
    was_finished = ticket.status in FINISHED_STATUSES
    ticket.status = TicketStatus.NEW.value
    ticket.assignee_id = None
    add_step(session, ticket, "reopened", actor, note=reason, at=now)
    if was_finished:
        clock = sla.get(session, ticket.id, "feedback")
        if clock is not None and clock.outcome is None:
            session.delete(clock)  # a new one starts at the next 完工
            session.flush()
    if ticket.kind in DISPATCHED_KINDS:
        # The dispatch sweep also picks it up (status new, nobody on it) if Redis is down.
        jobs.enqueue_after_commit(session, schedule.DISPATCH_TICKET, ticket.id, high=True)
