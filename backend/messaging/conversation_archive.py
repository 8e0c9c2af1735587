"""The full record of the assistant's conversations: every event, in order, per WeChat user.

The conversation store (conversation_store/) appends each turn's new events here and keeps only
a short window of them in Redis for the assistant to read. Events are opaque JSON objects to the
backend: it knows nothing of Rasa.
"""
from __future__ import annotations

import json
from decimal import Decimal
from typing import Iterable

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from backend.core.models import ConversationEvent


def append(session: Session, sender_id: str, events: Iterable[dict]) -> int:
    """Add events (dicts with at least `event` and `timestamp`) after the sender's others."""
    rows = [
        {"sender_id": sender_id, "type_name": str(e.get("event") or "")[:32],
         "timestamp": Decimal(str(round(float(e.get("timestamp") or 0), 6))),
         "data": json.dumps(e, ensure_ascii=False)}
        for e in events
    ]
    if rows:
        session.execute(insert(ConversationEvent), rows)
    return len(rows)


def events_of(session: Session, sender_id: str) -> list[dict]:
    """Every recorded event of one sender, oldest first."""
    rows = session.execute(
        select(ConversationEvent.data).where(ConversationEvent.sender_id == sender_id).order_by(ConversationEvent.id)
    ).scalars()
    return [json.loads(r) for r in rows]
