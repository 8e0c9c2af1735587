"""What the ticket pages read: the filtered board, the conversation around a ticket, its clocks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, or_, select
from sqlalchemy.orm import Session, selectinload

from backend.core.clock import utcnow
from backend.core.models import (
    OPEN_TICKET_STATUSES,
    TICKET_KINDS,
    TICKET_STATUSES,
    URGENCY_LEVELS,
    Community,
    InboundMessage,
    OutboundMessage,
    Ticket,
    WechatUser,
)
from console.labels import FINISHED

BOARD_LIMIT = 200
# The conversation shown with a ticket: from a little before it was raised to a day after.
EXCERPT_BEFORE = timedelta(hours=2)
EXCERPT_AFTER = timedelta(hours=24)
EXCERPT_LIMIT = 60
# WeChat accepts customer-service messages only within 48 h of the owner's last message.
CUSTOM_MESSAGE_WINDOW = timedelta(hours=48)


@dataclass
class BoardFilter:
    status: str = "open"  # "", "open" or one of TICKET_STATUSES
    kind: str = ""
    urgency: str = ""
    community_id: int | None = None
    overdue: bool = False
    q: str = ""

    @classmethod
    def from_args(cls, args) -> BoardFilter:
        """Unknown values are dropped (a hand-edited URL shows all, never an error)."""
        status = args.get("status", "open")
        community = args.get("community", "")
        return cls(
            status=status if status in ("", "open", *TICKET_STATUSES) else "open",
            kind=args.get("kind", "") if args.get("kind", "") in TICKET_KINDS else "",
            urgency=args.get("urgency", "") if args.get("urgency", "") in URGENCY_LEVELS else "",
            community_id=int(community) if community.isdigit() and len(community) < 10 else None,
            overdue=args.get("overdue") == "1",
            q=(args.get("q") or "").strip()[:50],
        )


def overdue_clause(now: datetime):
    return (Ticket.due_at.isnot(None)) & (Ticket.due_at < now) & (Ticket.status.notin_(FINISHED))


def is_overdue(ticket: Ticket, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return ticket.due_at is not None and ticket.due_at < now and ticket.status not in FINISHED


def board(session: Session, f: BoardFilter, now: datetime | None = None, where=None) -> list[Ticket]:
    """`where`: the tickets this viewer may see (a technician's own), None for all."""
    now = now or utcnow()
    stmt = select(Ticket).options(selectinload(Ticket.community))
    if where is not None:
        stmt = stmt.where(where)
    if f.status == "open":
        stmt = stmt.where(Ticket.status.in_(OPEN_TICKET_STATUSES))
    elif f.status:
        stmt = stmt.where(Ticket.status == f.status)
    if f.kind:
        stmt = stmt.where(Ticket.kind == f.kind)
    if f.urgency:
        stmt = stmt.where(Ticket.urgency == f.urgency)
    if f.community_id is not None:
        stmt = stmt.where(Ticket.community_id == f.community_id)
    if f.overdue:
        stmt = stmt.where(overdue_clause(now))
    if f.q:
        like = f"%{f.q.replace('%', '').replace('_', '')}%"
        stmt = stmt.where(
            or_(Ticket.number.ilike(like), Ticket.location_label.like(like), Ticket.description.like(like))
        )
    # Overdue first, then urgent, then the newest.
    stmt = stmt.order_by(
        case((overdue_clause(now), 0), else_=1),
        case((Ticket.urgency == "urgent", 0), else_=1),
        Ticket.created_at.desc(),
        Ticket.id.desc(),
    )
    return list(session.execute(stmt.limit(BOARD_LIMIT)).scalars())


def communities(session: Session) -> list[Community]:
    return list(session.execute(select(Community).order_by(Community.name)).scalars())


@dataclass
class Line:
    """One message in a conversation excerpt, either way."""

    at: datetime
    from_owner: bool
    text: str
    status: str | None = None  # outbound only: queued, sent, failed, local
    channel: str | None = None


def conversation(
    session: Session,
    openid: str,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = EXCERPT_LIMIT,
) -> list[Line]:
    """The owner's messages and ours, oldest first; the latest `limit` when no window is given."""
    inbound = select(InboundMessage).where(InboundMessage.openid == openid)
    outbound = select(OutboundMessage).where(OutboundMessage.openid == openid)
    if start is not None:
        inbound = inbound.where(InboundMessage.received_at >= start)
        outbound = outbound.where(OutboundMessage.created_at >= start)
    if end is not None:
        inbound = inbound.where(InboundMessage.received_at <= end)
        outbound = outbound.where(OutboundMessage.created_at <= end)
    inbound = inbound.order_by(InboundMessage.received_at.desc(), InboundMessage.id.desc()).limit(limit)
    outbound = outbound.order_by(OutboundMessage.created_at.desc(), OutboundMessage.id.desc()).limit(limit)
    lines = [Line(m.received_at, True, m.text or f"[{m.msg_type}]") for m in session.execute(inbound).scalars()] + [
        Line(m.created_at, False, m.content, m.status, m.channel) for m in session.execute(outbound).scalars()
    ]
    lines.sort(key=lambda line: (line.at, not line.from_owner))
    return lines[-limit:]


def ticket_excerpt(session: Session, ticket: Ticket) -> list[Line]:
    return conversation(session, ticket.openid, ticket.created_at - EXCERPT_BEFORE, ticket.created_at + EXCERPT_AFTER)


def can_message(session: Session, openid: str, now: datetime | None = None) -> bool:
    """Whether WeChat still takes a customer-service message to this owner (48 h rule)."""
    now = now or utcnow()
    user = session.get(WechatUser, openid)
    last = user.last_inbound_at if user is not None else None
    if last is None:
        last = session.execute(
            select(InboundMessage.received_at)
            .where(InboundMessage.openid == openid)
            .order_by(InboundMessage.received_at.desc())
            .limit(1)
        ).scalar_one_or_none()
    return last is not None and now - last < CUSTOM_MESSAGE_WINDOW


def clocks(ticket: Ticket, now: datetime | None = None) -> dict:
    now = now or utcnow()
    overdue = is_overdue(ticket, now)
    return {
        "created": ticket.created_at,
        "age": (now - ticket.created_at).total_seconds(),
        "due": ticket.due_at,
        "overdue": overdue,
        "overdue_by": (now - ticket.due_at).total_seconds() if overdue else 0,
        "due_in": (ticket.due_at - now).total_seconds() if ticket.due_at and not overdue else None,
        "updated": ticket.updated_at,
    }
