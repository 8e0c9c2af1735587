"""Messages to owners outside the passive reply: recorded first, then sent by the worker.

In local mode (no WeChat credentials) "sending" files the message in the outbox that /dev/chat
shows, through the same job, so the local page shows exactly what WeChat would have received.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from wechatpy.exceptions import WeChatClientException

from backend import jobs, outbox
from backend.config import Settings, load_settings
from backend.db import get_engine, session_scope
from backend.models import OutboundMessage

log = logging.getLogger(__name__)


def queue_texts(session, openid: str, texts: list[str], inbound_id: int | None = None) -> list[int]:
    """Record customer-service texts as queued; the caller enqueues them after commit."""
    ids = []
    for text in texts:
        row = outbox.record_outbound(session, openid, "custom", text, "queued", inbound_id=inbound_id)
        session.flush()
        ids.append(row.id)
    return ids


def enqueue(ids: list[int]) -> None:
    for outbound_id in ids:
        jobs.enqueue("backend.delivery.send_outbound", outbound_id)


def send_outbound(outbound_id: int, settings: Settings | None = None) -> str:
    """Job: send one recorded message. Idempotent: a message already sent is not sent again."""
    settings = settings or load_settings()
    with session_scope(get_engine(settings.database_url)) as session:
        row = session.get(OutboundMessage, outbound_id, with_for_update=True)
        if row is None or row.status != "queued":
            return row.status if row else "missing"
        if settings.local_mode:
            outbox.mark_sent(session, row.id, status="local")
            return "local"
        from backend.wechat_api import WeChatAPI

        try:
            WeChatAPI(settings).message.send_text(row.openid, row.content)
        except WeChatClientException as exc:
            outbox.mark_sent(session, row.id, status="failed", errcode=exc.errcode)
            log.warning("customer-service message failed", extra={"outbound_id": row.id, "errcode": exc.errcode})
            return "failed"
        outbox.mark_sent(session, row.id, status="sent", errcode=0)
        return "sent"


def sweep_queued(settings: Settings | None = None, older_than: timedelta = timedelta(seconds=15)) -> int:
    """Periodic: send what was recorded but never reached the queue (Redis was down)."""
    settings = settings or load_settings()
    cutoff = datetime.now(timezone.utc) - older_than
    with session_scope(get_engine(settings.database_url)) as session:
        ids = session.execute(
            select(OutboundMessage.id)
            .where(OutboundMessage.status == "queued", OutboundMessage.created_at < cutoff)
            .order_by(OutboundMessage.id)
            .limit(200)
        ).scalars().all()
    for outbound_id in ids:
        send_outbound(outbound_id, settings)
    return len(ids)
