"""The service standard's periodic sweep (worker, every 15 s): start missing SLA clocks, warn
before deadlines, settle missed ones; each step exactly once (claims by conditional UPDATE).

Apart from `sla` (the clocks) because it acts through aftercare and complaints, which themselves
start and stop clocks: the clocks stay below them, the sweep above.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import and_, exists, select, update
from sqlalchemy.orm import Session

from backend.core.clock import aware_now
from backend.core.config import load_settings
from backend.core.db import get_engine, session_scope
from backend.core.models import ANSWERED_KINDS, SlaClock, Ticket
from backend.service import aftercare, complaints, sla
from backend.service.sla import LOOKBACK
from backend.work.tickets import add_step

log = logging.getLogger(__name__)


def _claim(session: Session, clock_id: int, now: datetime, stage: str) -> bool:
    table = SlaClock.__table__
    if stage == "warn":
        stmt = (
            update(table)
            .where(table.c.id == clock_id, table.c.warned_at.is_(None), table.c.outcome.is_(None))
            .values(warned_at=now)
        )
    else:
        stmt = (
            update(table)
            .where(table.c.id == clock_id, table.c.outcome.is_(None))
            .values(outcome="missed", escalated_at=now)
        )
    return session.execute(stmt).rowcount == 1


def _warn(session: Session, clock: SlaClock, ticket: Ticket, now: datetime) -> None:
    if clock.kind == "handled":
        left = max(0, int((clock.due_at - now).total_seconds() // 60))
        holder = ticket.assignee.name if ticket.assignee else "客服"
        what = f"投诉{sla.LABELS['handled']}时限还剩{left}分钟（{holder}处理中），请督办"
        add_step(session, ticket, "escalated", "system", note=what, at=now)
        sla.tell_supervisors(session, ticket, what, f"sla:{clock.id}:warn", now)
    elif clock.kind == "feedback":
        aftercare.remind(session, ticket, now)


def _missed(session: Session, clock: SlaClock, ticket: Ticket, now: datetime) -> None:
    if clock.kind == "feedback":
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
    sla.tell_supervisors(session, ticket, what, f"sla:{clock.id}:due", now)
    log.warning("sla missed", extra={"ticket": ticket.number, "clock": clock.kind})


def _missing_clocks(session: Session, now: datetime) -> list[int]:
    """Recent tickets the standard gives a clock that do not have one yet."""
    has_clock = exists().where(SlaClock.ticket_id == Ticket.id, SlaClock.kind.in_(("on_site", "handled")))
    needs = Ticket.kind.in_(ANSWERED_KINDS) | and_(
        Ticket.kind == "repair", (Ticket.urgency == "urgent") | Ticket.due_at.is_not(None)
    )
    return (
        session.execute(
            select(Ticket.id)
            .where(Ticket.created_at >= now - LOOKBACK, Ticket.status != "cancelled", needs, ~has_clock)
            .order_by(Ticket.id)
            .limit(500)
        )
        .scalars()
        .all()
    )


def sweep(now: datetime | None = None) -> dict:
    """Periodic (worker): start missing clocks, warn before deadlines, settle missed ones."""
    now = aware_now(now)
    engine = get_engine(load_settings().database_url)
    with session_scope(engine) as session:
        for ticket_id in _missing_clocks(session, now):
            sla.ensure(session, session.get(Ticket, ticket_id))
        complaints.route_waiting(session, now)
    with session_scope(engine) as session:
        warn = (
            session.execute(
                select(SlaClock.id)
                .where(
                    SlaClock.outcome.is_(None),
                    SlaClock.warned_at.is_(None),
                    SlaClock.warn_at <= now,
                    SlaClock.due_at > now,
                )
                .limit(200)
            )
            .scalars()
            .all()
        )
        due = (
            session.execute(select(SlaClock.id).where(SlaClock.outcome.is_(None), SlaClock.due_at < now).limit(200))
            .scalars()
            .all()
        )
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
