"""May we send this person a customer-service message now? (docs/WECHAT_PROTOCOL.md, "Outbound")

After a message from them: 5 customer-service messages within 48 h. After a menu click, follow or
scan: 3 within 1 minute. Otherwise only a template message reaches them. Counting our own
records keeps us inside the quota; WeChat's 45015/45047 remain the final word (delivery falls
back to a template when it says no).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.core.clock import aware_now
from backend.core.models import InboundMessage, OutboundMessage

MESSAGE_WINDOW = timedelta(hours=48)
MESSAGE_WINDOW_LIMIT = 5
EVENT_WINDOW = timedelta(minutes=1)
EVENT_WINDOW_LIMIT = 3
COUNTED = ("queued", "sending", "sent", "local", "unknown")


def _last_inbound(session: Session, openids: list[str], since: datetime, events: bool) -> dict[str, datetime]:
    kind = InboundMessage.msg_type == "event" if events else InboundMessage.msg_type != "event"
    return dict(
        session.execute(
            select(InboundMessage.openid, func.max(InboundMessage.received_at))
            .where(InboundMessage.openid.in_(openids), InboundMessage.received_at >= since, kind)
            .group_by(InboundMessage.openid)
        ).all()
    )


def _customs_since(session: Session, starts: dict[str, datetime]) -> dict[str, int]:
    """Customer-service messages to each openid since its window opened."""
    if not starts:
        return {}
    sent = session.execute(
        select(OutboundMessage.openid, OutboundMessage.created_at).where(
            OutboundMessage.openid.in_(list(starts)),
            OutboundMessage.channel == "custom",
            OutboundMessage.status.in_(COUNTED),
            OutboundMessage.created_at >= min(starts.values()),
        )
    ).all()
    counts = dict.fromkeys(starts, 0)
    for openid, at in sent:
        if at >= starts[openid]:
            counts[openid] += 1
    return counts


def open_windows(session: Session, openids: list[str], now: datetime | None = None) -> set[str]:
    """Of these, who may get a customer-service message now. A few queries for the whole list
    (a broadcast asks about thousands at once), not per person."""
    now = aware_now(now)
    allowed = set()
    for window, limit, events in (
        (MESSAGE_WINDOW, MESSAGE_WINDOW_LIMIT, False),
        (EVENT_WINDOW, EVENT_WINDOW_LIMIT, True),
    ):
        starts = _last_inbound(session, [o for o in openids if o not in allowed], now - window, events)
        allowed |= {o for o, n in _customs_since(session, starts).items() if n < limit}
    return allowed


def custom_allowed(session: Session, openid: str, now: datetime | None = None) -> bool:
    return openid in open_windows(session, [openid], now)
