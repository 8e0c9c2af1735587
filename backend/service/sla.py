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
often the sweep (sla_sweep.py) runs, in however many workers, across restarts. Every function
takes `now`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.core.clock import aware_now
from backend.core.config import load_settings
from backend.core.models import ANSWERED_KINDS, SlaClock, Ticket
from backend.messaging import notify
from backend.work import staff as staff_records
from backend.work.tickets import EMERGENCY_ON_SITE

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


def start(
    session: Session, ticket: Ticket, kind: str, started_at: datetime, due_at: datetime, warn_at: datetime | None = None
) -> SlaClock:
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
    if ticket.kind in ANSWERED_KINDS:  # a complaint or a suggestion: answered within 2 hours
        return [
            ("handled", ticket.created_at, ticket.created_at + COMPLAINT_HANDLED, ticket.created_at + COMPLAINT_WARN)
        ]
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


def restart(
    session: Session, ticket: Ticket, kind: str, started_at: datetime, due_at: datetime, warn_at: datetime | None = None
) -> SlaClock:
    """A clock that may run more than once per ticket (feedback after a reopened repair)."""
    clock = get(session, ticket.id, kind)
    if clock is None:
        return start(session, ticket, kind, started_at, due_at, warn_at)
    clock.started_at, clock.due_at, clock.warn_at = started_at, due_at, warn_at
    clock.warned_at = clock.escalated_at = clock.stopped_at = clock.outcome = None
    session.flush()
    return clock


def tell_supervisors(session: Session, ticket: Ticket, what: str, key: str, now: datetime) -> None:
    """Every supervisor on duty for the ticket's community hears `what` (once per key)."""
    people = staff_records.supervisors(session, ticket.community_id, now)
    notify.supervisors(session, load_settings(), ticket, people, what, key=key, now=now)
