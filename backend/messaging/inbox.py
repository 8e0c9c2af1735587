"""Every owner message, kept before anything else happens to it, so none is ever lost.

The life of a message: pending → processing (claimed by one process) → answered, or → failed
and claimed again later. A process that dies mid-turn leaves its row in processing;
release_stale() hands such rows back.

Functions take the caller's session and do not commit. A claim only protects the message once
the caller has committed it, so claim in its own short transaction.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from backend.core.clock import aware_now
from backend.core.models import InboundMessage, WechatUser

CLAIMABLE = ("pending", "failed")
UNANSWERED = ("pending", "failed", "processing")
# A message asked about this often is given up on (left failed for a person to look at); it no
# longer holds back the owner's later messages.
MAX_ATTEMPTS = 50


def _by_key(session: Session, dedupe_key: str) -> InboundMessage | None:
    return session.execute(select(InboundMessage).where(InboundMessage.dedupe_key == dedupe_key)).scalar_one_or_none()


def _touch_user(session: Session, openid: str, at: datetime) -> None:
    """Remember the owner's latest message: it opens WeChat's 48-hour customer-service window."""
    if session.get(WechatUser, openid) is None:
        try:
            with session.begin_nested():
                session.add(WechatUser(openid=openid, first_seen_at=at, last_inbound_at=at))
                session.flush()
            return
        except IntegrityError:
            pass  # another process saw this owner's first message at the same moment
    # Only ever forward in time, whatever order concurrent turns commit in.
    session.execute(
        update(WechatUser)
        .where(
            WechatUser.openid == openid,
            or_(WechatUser.last_inbound_at.is_(None), WechatUser.last_inbound_at < at),
        )
        .values(last_inbound_at=at)
        .execution_options(synchronize_session=False)
    )
    user = session.identity_map.get(session.identity_key(WechatUser, openid))
    if user is not None:
        session.expire(user)


def record_inbound(
    session: Session,
    dedupe_key: str,
    openid: str,
    msg_type: str,
    text: str,
    payload: dict,
    received_at: datetime | None = None,
) -> tuple[InboundMessage, bool]:
    """(row, created). A message seen before (WeChat retries, two webhook processes) gives
    back the first row and False."""
    existing = _by_key(session, dedupe_key)
    if existing is not None:
        return existing, False
    received_at = aware_now(received_at)
    row = InboundMessage(
        dedupe_key=dedupe_key,
        openid=openid,
        msg_type=msg_type,
        text=text or "",
        payload=json.dumps(payload or {}, ensure_ascii=False, default=str),
        received_at=received_at,
        status="pending",
        attempts=0,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        existing = _by_key(session, dedupe_key)
        if existing is None:
            raise
        return existing, False
    _touch_user(session, openid, received_at)
    return row, True


def get(session: Session, inbound_id: int) -> InboundMessage | None:
    return session.get(InboundMessage, inbound_id)


def _expire_loaded(session: Session) -> None:
    """Bulk UPDATEs bypass the identity map; make loaded rows re-read their new state."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, InboundMessage):
            session.expire(obj)


def _require(session: Session, inbound_id: int) -> InboundMessage:
    row = session.get(InboundMessage, inbound_id)
    if row is None:
        raise LookupError(f"no inbound message {inbound_id}")
    return row


def _earlier(statuses: tuple[str, ...]):
    """An earlier, still live message of the same owner in one of these states."""
    earlier = aliased(InboundMessage)
    return exists().where(
        earlier.openid == InboundMessage.openid,
        earlier.id < InboundMessage.id,
        earlier.status.in_(statuses),
        earlier.attempts < MAX_ATTEMPTS,
    )


def claim(session: Session, inbound_id: int, now: datetime | None = None) -> bool:
    """Take the message for this process. One conditional UPDATE, so exactly one of several
    racing processes gets True. Only once every earlier message of the same owner is answered:
    one owner's messages reach the assistant in the order they came (a "对的" answered before
    the repair it confirms makes no ticket), also when the earlier one failed a moment ago and
    the assistant is back now."""
    result = session.execute(
        update(InboundMessage)
        .where(InboundMessage.id == inbound_id, InboundMessage.status.in_(CLAIMABLE), ~_earlier(UNANSWERED))
        .values(
            status="processing",
            attempts=InboundMessage.attempts + 1,
            claimed_at=aware_now(now),
        )
        .execution_options(synchronize_session=False)
    )
    _expire_loaded(session)
    return result.rowcount == 1


def waits_for_earlier(session: Session, inbound_id: int) -> bool:
    """Still to be answered, behind an earlier message of the same owner that someone is
    answering now (processing, or just recorded by its own request). Behind one that failed,
    nobody is: the sweep answers both, in order."""
    return (
        session.execute(
            select(InboundMessage.id).where(
                InboundMessage.id == inbound_id,
                InboundMessage.status.in_(CLAIMABLE),
                _earlier(("pending", "processing")),
            )
        ).first()
        is not None
    )


def mark_answered(session: Session, inbound_id: int, replies: list[str], now: datetime | None = None) -> None:
    row = _require(session, inbound_id)
    row.status = "answered"
    row.answered_at = aware_now(now)
    row.reply = json.dumps(list(replies), ensure_ascii=False)
    row.last_error = None
    session.flush()


def mark_failed(session: Session, inbound_id: int, error: str) -> None:
    row = _require(session, inbound_id)
    row.status = "failed"
    row.last_error = (error or "")[:4000]
    session.flush()


def release_stale(session: Session, older_than: timedelta, now: datetime | None = None) -> int:
    cutoff = aware_now(now) - older_than
    result = session.execute(
        update(InboundMessage)
        .where(InboundMessage.status == "processing", InboundMessage.claimed_at < cutoff)
        .values(status="failed", last_error=f"released: processing for more than {older_than}")
        .execution_options(synchronize_session=False)
    )
    _expire_loaded(session)
    return result.rowcount


def unanswered_before(session: Session, openid: str, inbound_id: int) -> list[int]:
    """Ids of the sender's messages older than this one still waiting for an answer, oldest first."""
    return list(
        session.execute(
            select(InboundMessage.id)
            .where(
                InboundMessage.openid == openid, InboundMessage.id < inbound_id, InboundMessage.status.in_(CLAIMABLE)
            )
            .order_by(InboundMessage.id)
        ).scalars()
    )


def pending(session: Session, limit: int = 50, max_attempts: int = MAX_ATTEMPTS) -> list[InboundMessage]:
    """Messages to (re)process, oldest first. A message waits while an earlier one from the same
    owner is still being processed, so one owner's messages are answered in order."""
    earlier = aliased(InboundMessage)
    earlier_in_flight = exists().where(
        earlier.openid == InboundMessage.openid,
        earlier.status == "processing",
        or_(
            earlier.received_at < InboundMessage.received_at,
            and_(earlier.received_at == InboundMessage.received_at, earlier.id < InboundMessage.id),
        ),
    )
    return list(
        session.execute(
            select(InboundMessage)
            .where(
                InboundMessage.status.in_(CLAIMABLE),
                InboundMessage.attempts < max_attempts,
                ~earlier_in_flight,
            )
            .order_by(InboundMessage.received_at, InboundMessage.id)
            .limit(limit)
        ).scalars()
    )
