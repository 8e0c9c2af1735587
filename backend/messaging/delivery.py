"""Every message we send outside the passive reply: recorded first, then sent by the worker.

The record is the truth; RQ jobs are only the fast path. A message goes
queued -> sending (claimed by one worker) -> sent | failed | queued again (retry later).

- Claiming is one conditional UPDATE, so a job and the sweep (or two workers) never both send.
- 45009, HTTP 5xx and network errors: back to "queued" with a growing delay, up to MAX_ATTEMPTS.
- 45015/45047 (window closed or used up): recorded as failed, and the template the message
  carries (if any) goes out instead, as its own recorded message.
- 43004 (not following): recorded as failed; the person is marked unsubscribed; a staff task
  that cannot reach its technician is offered to the next one at once.
- A worker killed during the API call leaves the row in "sending". WeChat may already have it
  (most likely: the call was under way) and neither API takes an idempotency key, so the sweep
  marks it "unknown" and does not send it again: an owner never gets the same message twice.
  Staff tasks are covered anyway: without 接单 the ticket goes to the next person.

In local mode (no WeChat credentials) "sending" files the message in the outbox that /dev/chat
shows, through the same job, so the local page shows exactly what WeChat would have received.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import threading
import time as _time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.core import jobs, metrics, schedule
from backend.core.clock import aware_now
from backend.core.config import Settings, load_settings
from backend.core.db import get_engine, session_scope
from backend.core.models import OutboundMessage, WechatUser
from backend.messaging import outbox

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 600.0
# Longer than the client's 5 s timeout plus a commit: a "sending" row this old lost its worker.
STALE_SENDING = timedelta(seconds=60)


def backoff(attempts: int) -> float:
    """Seconds before attempt `attempts + 1`: 2, 4, 8 ... capped, with jitter so retries of
    many messages do not arrive at WeChat in one burst."""
    delay = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * (2 ** max(0, attempts - 1)))
    return delay * random.uniform(0.8, 1.2)


# --- recording ------------------------------------------------------------------------------------
def record(
    session: Session,
    openid: str,
    channel: str,
    content: str,
    *,
    purpose: str = "reply",
    template: dict | None = None,
    ticket_id: int | None = None,
    dedupe_key: str | None = None,
    inbound_id: int | None = None,
    fallback_of: int | None = None,
    campaign: str | None = None,
    enqueue: bool = True,
) -> OutboundMessage | None:
    """Record a message to send. With a dedupe_key, a second call records nothing (None).

    The message is enqueued when the session commits (never before: the job must find it);
    broadcasts pass enqueue=False and send their campaign themselves, paced."""
    if dedupe_key is not None:
        exists = session.execute(
            select(OutboundMessage.id).where(OutboundMessage.dedupe_key == dedupe_key)
        ).scalar_one_or_none()
        if exists is not None:
            return None
    row = OutboundMessage(
        openid=openid,
        channel=channel,
        content=content,
        status="queued",
        purpose=purpose,
        template=json.dumps(template, ensure_ascii=False) if template else None,
        ticket_id=ticket_id,
        dedupe_key=dedupe_key,
        inbound_id=inbound_id,
        fallback_of=fallback_of,
        campaign=campaign,
        created_at=aware_now(),
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return None  # another process recorded the same dedupe_key in the meantime
    if enqueue:
        send_after_commit(session, [row.id], high=purpose != "notice")
    return row


def queue_texts(session: Session, openid: str, texts: list[str], inbound_id: int | None = None) -> list[int]:
    """Customer-service texts (late answers, the rest of a long reply), sent after commit."""
    return [record(session, openid, "custom", text, inbound_id=inbound_id).id for text in texts]


def send_after_commit(session: Session, ids: list[int], high: bool = True) -> None:
    """Enqueue these messages once the session's transaction has committed."""
    for outbound_id in ids:
        jobs.enqueue_after_commit(session, schedule.SEND_OUTBOUND, outbound_id, high=high)


# --- sending ---------------------------------------------------------------------------------------
_TABLE = OutboundMessage.__table__


def _claim(conn, outbound_id: int, now: datetime) -> bool:
    """Take a due, queued message for sending; False if someone else has it (or it is not due)."""
    t = _TABLE
    return (
        conn.execute(
            update(t)
            .where(
                t.c.id == outbound_id,
                t.c.status == "queued",
                (t.c.next_attempt_at.is_(None)) | (t.c.next_attempt_at <= now),
            )
            .values(status="sending", claimed_at=now, attempts=t.c.attempts + 1)
        ).rowcount
        == 1
    )


def _message(row) -> tuple:
    """What _deliver needs from a row (a Core row of _TABLE)."""
    return row.openid, row.channel, row.content, json.loads(row.template) if row.template else None, row.attempts


def send_outbound(outbound_id: int, settings: Settings | None = None, api=None) -> str:
    """Job: send one recorded message, once. Returns what became of it."""
    settings = settings or load_settings()
    engine = get_engine(settings.database_url)
    with engine.begin() as conn:
        claimed = _claim(conn, outbound_id, aware_now())
        row = conn.execute(select(_TABLE).where(_TABLE.c.id == outbound_id)).first()
    if not claimed:
        return row.status if row else "missing"
    return _deliver(engine, settings, outbound_id, _message(row), api)


def _deliver(
    engine,
    settings: Settings,
    outbound_id: int,
    message: tuple,
    api=None,
    writing=contextlib.nullcontext(),  # noqa: B008 (stateless, reusable)
) -> str:
    """Make the call for a claimed message and record what became of it."""
    openid, channel, content, template, attempts = message
    status = "local"
    if not settings.local_mode:
        # wechatpy and requests load only when a message really goes to WeChat (start-up time;
        # local mode never needs them).
        from backend.messaging.wechat_api import WeChatAPI, classify, errcode_of

        try:
            api = api or WeChatAPI(settings)
            if channel == "template":
                api.send_template(openid, template["template_id"], template["data"], template.get("url"))
            else:
                api.send_custom_text(openid, content)
        except Exception as exc:  # every failure is recorded; none may leave the row in "sending"
            kind, errcode = classify(exc), errcode_of(exc)
            result = _failed(engine, outbound_id, exc, kind, errcode, attempts)
            metrics.count_outbound(channel, "quota" if kind == "quota" else result, errcode)
            return result
        status = "sent"
    with writing, engine.begin() as conn:
        outbox.mark_sent(conn, outbound_id, status=status, errcode=0 if status == "sent" else None)
    metrics.count_outbound(channel, status, 0 if status == "sent" else None)
    return status


def send_many(
    ids: list[int], settings: Settings | None = None, rate: float = 200.0, threads: int = 4, progress=None
) -> dict[str, int]:
    """Send many recorded messages (a broadcast), at most `rate` a second, each claimed on its
    own right before its call (so a kill leaves at most `threads` in doubt, never a batch).

    Two short transactions per message; what each message says is read once, up front."""
    from backend.messaging.wechat_api import WeChatAPI  # wechatpy: loaded only when something is sent

    settings = settings or load_settings()
    engine = get_engine(settings.database_url)
    t = _TABLE
    rows: dict[int, tuple] = {}  # only what the calls need; templates parsed one at a time
    for start in range(0, len(ids), 1000):
        with engine.connect() as conn:
            for row in conn.execute(
                select(t.c.id, t.c.openid, t.c.channel, t.c.content, t.c.template, t.c.attempts).where(
                    t.c.id.in_(ids[start : start + 1000])
                )
            ):
                rows[row.id] = row
    lock, counts, local = threading.Lock(), Counter(), threading.local()
    # SQLite has one writer at a time and its busy handler waits by sleeping; handing the write
    # turn between our own threads with a lock is far quicker. The HTTP calls still overlap.
    writing = threading.Lock() if engine.dialect.name == "sqlite" else contextlib.nullcontext()
    interval = 1.0 / rate if rate > 0 else 0.0
    next_slot = [_time.monotonic()]

    def pace():
        with lock:
            now = _time.monotonic()
            slot = max(now, next_slot[0])
            next_slot[0] = slot + interval
        if slot > now:
            _time.sleep(slot - now)

    def one(outbound_id: int) -> None:
        row = rows.get(outbound_id)
        if row is None:
            return
        pace()
        with writing, engine.begin() as conn:
            if not _claim(conn, outbound_id, aware_now()):
                return
        if not settings.local_mode and not hasattr(local, "api"):
            local.api = WeChatAPI(settings)  # one HTTP session per thread
        *what, attempts = _message(row)
        result = _deliver(engine, settings, outbound_id, (*what, attempts + 1), getattr(local, "api", None), writing)
        with lock:
            counts[result] += 1
            if progress:
                progress(sum(counts.values()))

    def guarded(outbound_id: int) -> None:
        try:
            one(outbound_id)
        except Exception:  # one bad message (or a database hiccup) must not stop the broadcast
            log.exception("broadcast message failed", extra={"outbound_id": outbound_id})
            with lock:
                counts["error"] += 1

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="send") as pool:
        for _ in pool.map(guarded, ids):
            pass
    return dict(counts)


def _failed(engine, outbound_id: int, exc: Exception, kind: str, errcode: int | None, attempts: int) -> str:
    # The error's type and errcode only: an exception's text can hold the API URL with the access
    # token in it (requests' HTTPError does), and this column is shown to staff.
    detail = type(exc).__name__ + (f" errcode={errcode}" if errcode is not None else "")
    log.warning("outbound message failed", extra={"outbound_id": outbound_id, "errcode": errcode, "kind": kind})
    with session_scope(engine) as session:
        row = session.get(OutboundMessage, outbound_id)
        row.errcode, row.last_error = errcode, detail
        if kind == "quota":  # not WeChat's refusal: our count of today's quota; wait for tomorrow
            row.status, row.next_attempt_at, row.attempts = "queued", exc.until, max(0, attempts - 1)
            jobs_after = [(exc.until - aware_now(), outbound_id)]
        elif kind == "retry" and attempts < MAX_ATTEMPTS:
            delay = backoff(attempts)
            row.status = "queued"
            row.next_attempt_at = aware_now() + timedelta(seconds=delay)
            jobs_after = [(timedelta(seconds=delay), outbound_id)]
        else:
            row.status = "failed"
            jobs_after = []
            if kind == "window" and row.template:
                _fall_back_to_template(session, row)
            elif kind == "unreachable":
                _unreachable(session, row)
    for delay, oid in jobs_after:
        jobs.enqueue_in(delay, schedule.SEND_OUTBOUND, oid, high=True)
    return "retry" if jobs_after else "failed"


def _fall_back_to_template(session: Session, row: OutboundMessage) -> None:
    template = row.template_payload
    record(
        session,
        row.openid,
        "template",
        template.get("text") or row.content,
        purpose=row.purpose,
        template=template,
        ticket_id=row.ticket_id,
        fallback_of=row.id,
        dedupe_key=f"fallback:{row.id}",
    )


def _unreachable(session: Session, row: OutboundMessage) -> None:
    user = session.get(WechatUser, row.openid)
    if user is not None:
        user.subscribed = False
    if row.purpose == "task" and row.ticket_id:
        # A staff task nobody can receive: dispatch offers it to the next one. Named as a job (like
        # every job) so delivery, below dispatch, does not import it; if Redis is down, dispatch's
        # sweep moves the offer on when its acknowledgement time runs out.
        jobs.enqueue_after_commit(session, schedule.UNREACHABLE, row.ticket_id, row.openid, high=True)


# --- sweeps (periodic, in the worker) -------------------------------------------------------------
def sweep_queued(settings: Settings | None = None, older_than: timedelta = timedelta(seconds=15)) -> int:
    """Send what is due but never reached the queue (Redis was down, a job was lost), and settle
    messages whose worker died mid-call."""
    settings = settings or load_settings()
    now = aware_now()
    with session_scope(get_engine(settings.database_url)) as session:
        session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.status == "sending", OutboundMessage.claimed_at < now - STALE_SENDING)
            .values(status="unknown", last_error="the worker stopped during the call; not sent again")
            .execution_options(synchronize_session=False)
        )
        ids = (
            session.execute(
                select(OutboundMessage.id)
                .where(
                    OutboundMessage.status == "queued",
                    OutboundMessage.campaign.is_(None),  # broadcasts send (and resume) themselves, paced
                    OutboundMessage.created_at < now - older_than,
                    (OutboundMessage.next_attempt_at.is_(None)) | (OutboundMessage.next_attempt_at <= now),
                )
                .order_by(OutboundMessage.id)
                .limit(500)
            )
            .scalars()
            .all()
        )
    for outbound_id in ids:
        send_outbound(outbound_id, settings)
    return len(ids)
