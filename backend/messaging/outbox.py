"""Every message we send (or, in local mode, would have sent) and what became of it."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from backend.core.clock import utcnow
from backend.core.models import OutboundMessage

# "local": no WeChat credentials, the local chat page shows it; for the owner it has arrived.
DELIVERED = ("sent", "local")


def record_outbound(
    session: Session,
    openid: str,
    channel: str,
    content: str,
    status: str,
    errcode: int | None = None,
    inbound_id: int | None = None,
) -> OutboundMessage:
    now = utcnow()
    row = OutboundMessage(
        openid=openid,
        channel=channel,
        content=content,
        status=status,
        errcode=errcode,
        inbound_id=inbound_id,
        created_at=now,
        sent_at=now if status in DELIVERED else None,
    )
    session.add(row)
    session.flush()
    return row


def mark_sent(
    session: Session | Connection, outbound_id: int, status: str = "sent", errcode: int | None = None
) -> None:
    """One UPDATE, no read first: broadcasts call it per message on a plain connection."""
    values = {"status": status, "errcode": errcode}
    if status in DELIVERED:
        values["sent_at"] = utcnow()
    result = session.execute(update(OutboundMessage).where(OutboundMessage.id == outbound_id).values(**values))
    if result.rowcount != 1:
        raise LookupError(f"no outbound message {outbound_id}")


def recent(session: Session, after_id: int = 0, openid: str | None = None, limit: int = 100) -> list[OutboundMessage]:
    """Messages after `after_id`, oldest first: what a polling chat page has not shown yet."""
    stmt = select(OutboundMessage).where(OutboundMessage.id > after_id)
    if openid is not None:
        stmt = stmt.where(OutboundMessage.openid == openid)
    return list(session.execute(stmt.order_by(OutboundMessage.id).limit(limit)).scalars())
