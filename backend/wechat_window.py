"""May we send this person a customer-service message now? (WECHAT.md, "Outbound")

After a message from them: 5 customer-service messages within 48 h. After a menu click, follow or
scan: 3 within 1 minute. Otherwise only a template message reaches them. Counting our own
records keeps us inside the quota; WeChat's 45015/45047 remain the final word (delivery falls
back to a template when it says no).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.models import InboundMessage, OutboundMessage, aware_now

MESSAGE_WINDOW = timedelta(hours=48)
MESSAGE_WINDOW_LIMIT = 5
EVENT_WINDOW = timedelta(minutes=1)
EVENT_WINDOW_LIMIT = 3
COUNTED = ("queued", "sending", "sent", "local", "unknown")


def _last_inbound(session: Session, openid: str, since: datetime, events: bool):
    kind = InboundMessage.msg_type == "event" if events else InboundMessage.msg_type != "event"
    return session.execute(
        select(func.max(InboundMessage.received_at)).where(
            InboundMessage.openid == openid, InboundMessage.received_at >= since, kind
        )
    ).scalar_one()


def _customs_since(session: Session, openid: str, since: datetime) -> int:
    return session.execute(
        select(func.count()).select_from(OutboundMessage).where(
            OutboundMessage.openid == openid,
            OutboundMessage.channel == "custom",
            OutboundMessage.status.in_(COUNTED),
            OutboundMessage.created_at >= since,
        )
    ).scalar_one()


def custom_allowed(session: Session, openid: str, now: datetime | None = None) -> bool:
    now = aware_now(now)
    start = _last_inbound(session, openid, now - MESSAGE_WINDOW, events=False)
    if start is not None and _customs_since(session, openid, start) < MESSAGE_WINDOW_LIMIT:
        return True
    start = _last_inbound(session, openid, now - EVENT_WINDOW, events=True)
    return start is not None and _customs_since(session, openid, start) < EVENT_WINDOW_LIMIT
