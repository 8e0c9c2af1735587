"""SLA clocks: the service standard's promises, kept per ticket in the database.

| clock    | ticket                | due                          | before it is missed        |
|----------|-----------------------|------------------------------|----------------------------|
| on_site  | urgent repair         | 30 min after it was raised   | —                          |
| on_site  | repair with a time    | the agreed start + 2 h       | —                          |
| handled  | complaint             | 2 h after it was raised      | at 1 h 30: the manager     |
| feedback | repair done           | 48 h: a revisit task (回访)  | at 24 h: the owner reminded |

A clock ends as met (the thing happened by its due time, inclusive) or missed; it is never
reopened. At the deadline a missed clock escalates once (the supervisors are told). Rows in
the database and claims by conditional UPDATE make every step happen exactly once, however
often the sweep runs, in however many workers, across restarts. Every function takes `now`.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.work import staff as staff_records
from backend.core.config import load_settings
from backend.core.db import get_engine, session_scope
from backend.core.models import SlaClock, Ticket, aware_now
from backend.work.tickets import EMERGENCY_ON_SITE, add_step

log = logging.getLogger(__name__)

AGREED_TIME_GRACE = timedelta(hours=2)  # "明天上午" starts at 08:00; on site by 10:00 is on time
COMPLAINT_HANDLED = timedelta(hours=2)
COMPLAINT_WARN = timedelta(minutes=90)
FEEDBACK_REMIND = timedelta(hours=24)
FEEDBACK_DUE = timedelta(hours=48)
# Tickets older than this are not given clocks by the sweep (imports, history).
LOOKBACK = timedelta(days=7)
LABELS = {"on_site": "到场", "handled": "投诉办结", "feedback": "评价"}


def get(session: Session, ticket_id: int, kind: str) -> SlaClock | None:
    return session.execute(
        select(SlaClock).where(SlaClock.ticket_id == ticket_id, SlaClock.kind == kind)
    ).scalar_one_or_none()


def start(session: Session, ticket: Ticket, kind: str, started_at: datetime, due_at: datetime,
          warn_at: datetime | None = None) -> SlaClock:
    """The ticket's `kind` clock; an existing one is returned unchanged."""
    found = get(session, ticket.id, kind)
    if found is not None:
        return found
    clock = SlaClock(ticket_id=ticket.id, kind=kind, started_at=started_at, due_at=due_at, warn_at=warn_at)
    try:
        with session.begin_nested():
            session.add(clock)
            session.flush()
    except IntegrityError:  # the sweep and a staff command started it at the same moment
        return get(session, ticket.id, kind)
    return clock


def planned(ticket: Ticket) -> list[tuple[str, datetime, datetime, datetime | None]]:
    """(kind, started, due, warn) the standard asks of this ticket from its creation."""
    if ticket.kind == "complaint":
        return [("handled", ticket.created_at, ticket.created_at + COMPLAINT_HANDLED,
                 ticket.created_at + COMPLAINT_WARN)]
    if ticket.kind == "repair" and ticket.urgency == "urgent":
        due = ticket.due_at or ticket.created_at + EMERGENCY_ON_SITE
        return [("on_site", ticket.created_at, due, None)]
    if ticket.kind == "repair" and ticket.due_at is not None:
        return [("on_site", ticket.created_at, ticket.due_at + AGREED_TIME_GRACE, None)]
    return []


def ensure(session: Session, ticket: Ticket) -> list[SlaClock]:
    return [start(session, ticket, kind, started, due, warn) for kind, started, due, warn in planned(ticket)]


def stop(session: Session, ticket: Ticket, kind: str, at: datetime) -> SlaClock | None:
    """The promised thing happened at `at` (arrival, complaint closed, rating)."""
    at = aware_now(at)
    ensure(session, ticket)
    clock = get(session, ticket.id, kind)
    if clock is None:
        return None
    if clock.stopped_at is None:
        clock.stopped_at = at
    if clock.outcome is None:
        clock.outcome = "met" if at <= clock.due_at else "missed"
    session.flush()
    return clock


def restart(session: Session, ticket: Ticket, kind: str, started_at: datetime, due_at: datetime,
            warn_at: datetime | None = None) -> SlaClock:
    """A clock that may run more than once per ticket (feedback after a reopened repair)."""
    clock = get(session, ticket.id, kind)
    if clock is None:
        return start(session, ticket, kind, started_at, due_at, warn_at)
    clock.started_at, clock.due_at, clock.warn_at = started_at, due_at, warn_at
    clock.warned_at = clock.escalated_at = clock.stopped_at = clock.outcome = None
    session.flush()
    return clock


# --- the sweep -------------------------------------------------------------------------------------
def _claim(session: Session, clock_id: int, now: datetime, stage: str) -> bool:
    table = SlaClock.__table__
    if stage == "warn":
        stmt = update(table).where(table.c.id == clock_id, table.c.warned_at.is_(None),
                                   table.c.outcome.is_(None)).values(warned_at=now)
    else:
        stmt = update(table).where(table.c.id == clock_id, table.c.outcome.is_(None)) \
            .values(outcome="missed", escalated_at=now)
    return session.execute(stmt).rowcount == 1


def _tell_supervisors(session: Session, ticket: Ticket, what: str, key: str, now: datetime) -> None:
    from backend.messaging import notify

    people = staff_records.supervisors(session, ticket.community_id, now)
    notify.supervisors(session, load_settings(), ticket, people, what, key=key, now=now)


def _warn(session: Session, clock: SlaClock, ticket: Ticket, now: datetime) -> None:
    if clock.kind == "handled":
        left = max(0, int((clock.due_at - now).total_seconds() // 60))
        holder = ticket.assignee.name if ticket.assignee else "客服"
        what = f"投诉{LABELS['handled']}时限还剩{left}分钟（{holder}处理中），请督办"
        add_step(session, ticket, "escalated", "system", note=what, at=now)
        _tell_supervisors(session, ticket, what, f"sla:{clock.id}:warn", now)
    elif clock.kind == "feedback":
        from backend.service import aftercare

        aftercare.remind(session, ticket, now)


def _missed(session: Session, clock: SlaClock, ticket: Ticket, now: datetime) -> None:
    if clock.kind == "feedback":
        from backend.service import aftercare

        aftercare.open_revisit(session, ticket, now)
        return
    if ticket.status == "cancelled":
        return
    if clock.kind == "on_site":
        limit = "30分钟" if ticket.urgency == "urgent" else "约定时间"
        what = f"超过{limit}仍未到场，请立即处理"
    else:
        what = "投诉已超过2小时未办结，请立即处理"
    add_step(session, ticket, "sla_missed", "system", note=what, at=now)
    _tell_supervisors(session, ticket, what, f"sla:{clock.id}:due", now)
    log.warning("sla missed", extra={"ticket": ticket.number, "clock": clock.kind})


def _missing_clocks(session: Session, now: datetime) -> list[int]:
    """Recent tickets the standard gives a clock that do not have one yet."""
    has_clock = exists().where(SlaClock.ticket_id == Ticket.id, SlaClock.kind.in_(("on_site", "handled")))
    needs = ((Ticket.kind == "complaint")
             | and_(Ticket.kind == "repair", (Ticket.urgency == "urgent") | Ticket.due_at.is_not(None)))
    return session.execute(
        select(Ticket.id).where(Ticket.created_at >= now - LOOKBACK, Ticket.status != "cancelled",
                                needs, ~has_clock).order_by(Ticket.id).limit(500)
    ).scalars().all()


def sweep(now: datetime | None = None) -> dict:
    """Periodic (worker): start missing clocks, warn before deadlines, settle missed ones."""
    now = aware_now(now)
    engine = get_engine(load_settings().database_url)
    with session_scope(engine) as session:
        for ticket_id in _missing_clocks(session, now):
            ensure(session, session.get(Ticket, ticket_id))
        from backend.service import complaints

        complaints.route_waiting(session, now)
    with session_scope(engine) as session:
        warn = session.execute(
            select(SlaClock.id).where(SlaClock.outcome.is_(None), SlaClock.warned_at.is_(None),
                                      SlaClock.warn_at <= now, SlaClock.due_at > now).limit(200)
        ).scalars().all()
        due = session.execute(
            select(SlaClock.id).where(SlaClock.outcome.is_(None), SlaClock.due_at < now).limit(200)
        ).scalars().all()
    counts = {"warned": 0, "missed": 0}
    for stage, ids in (("warn", warn), ("due", due)):
        for clock_id in ids:
            # One clock per transaction: a failure on one does not hold back the others.
            with session_scope(engine) as session:
                if not _claim(session, clock_id, now, stage):
                    continue  # met meanwhile, or another worker has it
                clock = session.get(SlaClock, clock_id)
                ticket = session.get(Ticket, clock.ticket_id)
                (_warn if stage == "warn" else _missed)(session, clock, ticket, now)
                counts["warned" if stage == "warn" else "missed"] += 1
    return counts
