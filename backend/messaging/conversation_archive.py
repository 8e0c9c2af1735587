"""The full record of the assistant's conversations: every event, in order, per WeChat user.

The conversation store (conversation_store/) appends each turn's new events here and keeps only
a short window of them in Redis for the assistant to read. Events are opaque JSON objects to the
backend: it knows nothing of Rasa.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Iterable

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from backend.core.models import ConversationEvent


def append(session: Session, sender_id: str, events: Iterable[dict]) -> int:
    """Add events (dicts with at least `event` and `timestamp`) after the sender's others."""
    rows = [
        {
            "sender_id": sender_id,
            "type_name": str(e.get("event") or "")[:32],
            "timestamp": _stamp(e.get("timestamp")),
            "data": json.dumps(e, ensure_ascii=False),
        }
        for e in events
    ]
    if rows:
        session.execute(insert(ConversationEvent), rows)
    return len(rows)


def _stamp(timestamp: float) -> Decimal:
    return Decimal(str(round(float(timestamp or 0), 6)))


def take_back_after(session: Session, sender_id: str, timestamp: float) -> int:
    """Remove the sender's events newer than `timestamp`: a turn that was taken back (the
    webhook undoes a turn whose action server went away, and asks again). Left in, a retry of
    that message would look answered by a turn the conversation no longer has."""
    result = session.execute(
        delete(ConversationEvent).where(
            ConversationEvent.sender_id == sender_id, ConversationEvent.timestamp > _stamp(timestamp)
        )
    )
    return result.rowcount or 0


def events_of(session: Session, sender_id: str) -> list[dict]:
    """Every recorded event of one sender, oldest first."""
    rows = session.execute(
        select(ConversationEvent.data).where(ConversationEvent.sender_id == sender_id).order_by(ConversationEvent.id)
    ).scalars()
    return [json.loads(r) for r in rows]
