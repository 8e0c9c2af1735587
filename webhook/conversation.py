"""One owner message, after protocol decoding: keep it, ask the assistant, answer in time.

Shared by the WeChat endpoint and the local /dev/chat page, so both run the same code. No Flask.

- Every message is recorded in the database before anything else (it is never lost), and a
  retried delivery (same dedupe key) never makes a second turn.
- The assistant is asked in a background thread; the owner gets a passive reply if it answers
  before the deadline, otherwise `success` now and the answer as a customer-service message.
- When Rasa or the action server is down the owner gets a holding reply; the message stays
  pending and the worker's sweep answers it when they are back.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Optional

import redis
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from backend.core import metrics
from backend.core.clock import aware_now
from backend.core.config import Settings, load_settings
from backend.core.db import get_engine, session_scope
from backend.core.models import InboundMessage as InboundRow
from backend.core.redis_conn import get_redis
from backend.messaging import delivery, inbox, outbox
from backend.owners import owner_desk
from backend.work import staff_desk
from webhook.rasa_client import AssistantUnavailable, RasaClient
from webhook.wechat import InboundMessage, split_text

log = logging.getLogger(__name__)

# Menu buttons (CLICK keys configured in the account's menu) start the matching flow.
MENU_INTENTS = {
    "REPAIR": "/report_repair",
    "TICKETS": "/query_ticket_status",
    "FEES": "/query_fee",
    "NOTICES": "/query_notice",
    "OUTAGES": "/query_outage",
    "CONTACT": "/ask_contact",
    "HUMAN": "/request_human",
}
# Seconds to keep dedupe keys: WeChat retries within about 15 s; a day covers any replay.
DEDUPE_TTL = 24 * 3600
# How long the assistant may take on one message before we stop waiting for it at all.
ASSISTANT_TIMEOUT = 30.0

PARKED = "wuye:inbox:parked"
SETTLE_SECONDS = 10
LATE_PREFIX = "（刚才系统有点忙，回复晚了，抱歉）"


@dataclass
class Outcome:
    """What the endpoint answers now. `reply` None means `success` (nothing shown now)."""

    status: str  # answered | holding | late | duplicate | ignored
    reply: Optional[str] = None
    extra: list[str] = field(default_factory=list)


def assistant_text(msg: InboundMessage) -> Optional[str]:
    """What the assistant should read for this message, or None when there is nothing to answer."""
    if msg.msg_type == "text":
        return (msg.content or "").strip() or None
    if msg.msg_type == "voice":
        return (msg.recognition or "").strip() or None
    if msg.msg_type == "image":
        return "/send_photo" + json.dumps(
            {"photo_url": msg.pic_url or "", "media_id": msg.media_id or ""}, ensure_ascii=False
        )
    if msg.msg_type == "location":
        return msg.label or None
    if msg.msg_type == "event":
        if msg.event == "subscribe":
            return "/subscribe"
        if msg.event == "click":
            return MENU_INTENTS.get((msg.event_key or "").upper())
    return None


# Only these message types may reach the assistant as an internal "/intent{...}" command: we
# build their text ourselves from WeChat's own fields (an image's PicUrl/MediaId, a menu key).
INTERNAL_TYPES = ("image", "event")


def for_assistant(msg_type: str, text: str) -> str:
    """The text to hand Rasa (and the staff desk) for a recorded message.

    Rasa reads any text starting with "/" as an intent with entities ("/send_photo{...}" would
    attach any URL, "/report_repair" would skip the NLU). What an owner types, says or names is
    never that: its leading "/" becomes a full-width "／", which the NLU reads like any text."""
    if msg_type in INTERNAL_TYPES:
        return text
    stripped = (text or "").strip()  # Rasa strips before it looks for the "/"
    return "／" + stripped[1:] if stripped.startswith("/") else text


def fixed_reply(msg: InboundMessage) -> Optional[str]:
    """Messages the assistant cannot read get a kind, fixed answer."""
    if msg.msg_type == "voice":
        return "这条语音我没听清 😅 麻烦您打字告诉我，或者再说一遍。"
    if msg.msg_type in ("video", "shortvideo", "link", "file"):
        return "收到啦。我暂时只看得懂文字、语音和图片，麻烦您用文字跟我说一下需要办什么。"
    return None


class Conversation:
    def __init__(self, settings: Settings | None = None, rasa: RasaClient | None = None):
        self.settings = settings or load_settings()
        self.engine = get_engine(self.settings.database_url)
        s = self.settings
        api_token = s.rasa_auth_token if s.rasa_enable_api and s.rasa_auth_token else None
        self.rasa = rasa or RasaClient(s.rasa_url, s.action_server_url, api_token)
        self.pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="turn")

    @property
    def holding_reply(self) -> str:
        return (
            f"您的消息我们收到了 🙏 系统正在维护，稍后会在这里回复您，请不用重复发送。"
            f"紧急情况（漏水、困梯、漏电等）请直接拨打物业服务电话 {self.settings.service_hotline}。"
        )

    # --- the entry point ------------------------------------------------------------------------
    def handle(self, msg: InboundMessage, started: float | None = None) -> Outcome:
        started = started or time.monotonic()
        outcome = self._handle(msg, started)
        metrics.OWNER_MESSAGES.labels(metrics.message_type(msg.msg_type)).inc()
        metrics.REPLIES.labels(outcome.status).inc()
        if outcome.status in ("answered", "holding", "late"):  # the assistant was asked
            metrics.REPLY_SECONDS.labels(outcome.status).observe(time.monotonic() - started)
        return outcome

    def _handle(self, msg: InboundMessage, started: float) -> Outcome:
        deadline = started + self.settings.reply_deadline - 0.3  # leave time to write the response
        text = assistant_text(msg)
        if text is None:
            fixed = fixed_reply(msg)
            return Outcome("ignored", fixed)
        if not self._first_delivery(msg.dedupe_key) and self._recorded(msg.dedupe_key):
            return self._duplicate(msg)
        # (Seen in Redis but not in the database: the process that saw it died before recording
        # it. Record it now; the database's unique key still lets only one of us have it.)
        try:
            with session_scope(self.engine) as session:
                row, created = inbox.record_inbound(
                    session, msg.dedupe_key, msg.from_user, msg.msg_type, text, payload=dict(msg.raw)
                )
                inbound_id = row.id
                # Read in the same transaction: one fewer (write-locking, on SQLite) per message.
                older = inbox.unanswered_before(session, msg.from_user, inbound_id) if created else []
        except SQLAlchemyError:
            log.exception("database unavailable, message parked in redis", extra={"key": msg.dedupe_key})
            self._park(msg, text)
            return Outcome("holding", self.holding_reply)
        if not created:
            return self._duplicate(msg)
        return self._answer_in_time(inbound_id, deadline, older)

    # --- dedupe -----------------------------------------------------------------------------------
    def _first_delivery(self, key: str) -> bool:
        """Fast cross-process check in Redis; the database's unique key is the backstop."""
        try:
            return bool(get_redis(self.settings.redis_url).set(f"wuye:seen:{key}", 1, nx=True, ex=DEDUPE_TTL))
        except redis.RedisError:
            return True

    def _recorded(self, key: str) -> bool:
        try:
            with session_scope(self.engine) as session:
                return session.execute(select(InboundRow.id).where(InboundRow.dedupe_key == key)).first() is not None
        except SQLAlchemyError:
            return True  # cannot tell: treat it as the duplicate Redis says it is

    def _park(self, msg: InboundMessage, text: str) -> None:
        """The database is down: keep the message in Redis until the sweep can record it."""
        item = {
            "key": msg.dedupe_key,
            "openid": msg.from_user,
            "type": msg.msg_type,
            "text": text,
            "raw": dict(msg.raw),
        }
        try:
            get_redis(self.settings.redis_url).rpush(PARKED, json.dumps(item, ensure_ascii=False))
        except redis.RedisError:
            # Both stores down: the log line is the last copy (no phone numbers in it).
            log.error("message could not be kept", extra={"key": msg.dedupe_key, "openid": msg.from_user})

    def _unpark(self) -> list[int]:
        """Record messages parked while the database was down; returns their ids."""
        conn = get_redis(self.settings.redis_url)
        ids = []
        while True:
            item = conn.lpop(PARKED)
            if item is None:
                return ids
            data = json.loads(item)
            with session_scope(self.engine) as session:
                row, _ = inbox.record_inbound(
                    session, data["key"], data["openid"], data["type"], data["text"], payload=data["raw"]
                )
                ids.append(row.id)

    def _duplicate(self, msg: InboundMessage) -> Outcome:
        try:
            with session_scope(self.engine) as session:
                row = session.execute(
                    select(InboundRow).where(InboundRow.dedupe_key == msg.dedupe_key)
                ).scalar_one_or_none()
                replies = json.loads(row.reply) if row is not None and row.reply else None
        except SQLAlchemyError:
            replies = None
        if replies:
            # WeChat retried because it lost our answer: give the same answer again.
            return Outcome("duplicate", "\n\n".join(replies))
        return Outcome("duplicate", None)

    # --- asking the assistant -------------------------------------------------------------------
    def _answer_in_time(self, inbound_id: int, deadline: float, older: list[int] = ()) -> Outcome:
        turn = _Turn()
        future = self.pool.submit(self._run_turn, inbound_id, turn, older)
        try:
            replies = future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            replies = None
        except AssistantUnavailable:
            return Outcome("holding", self.holding_reply)
        except Exception:
            # The message is recorded (pending); the sweep will answer it. Never a 5xx.
            metrics.ASSISTANT_ERRORS.labels("turn").inc()
            log.exception("turn failed", extra={"inbound_id": inbound_id})
            return Outcome("holding", self.holding_reply)
        if replies is None and turn.give_up():
            return Outcome("late", None)
        # Answered in time (or in the instant we gave up): its turn recorded the passive reply.
        return self._passive(turn)

    def _run_turn(self, inbound_id: int, turn: _Turn, older: list[int] = ()) -> Optional[list[str]]:
        # Older kept messages first, in this thread: the request's own deadline still holds
        # (answered in the request thread, a slow assistant held the reply past WeChat's 5 s).
        if not self._answer_older_first(older):
            # One of them could not be answered: this one waits behind it (the sweep answers
            # both, in order), or a "对的" would reach the assistant before its repair.
            raise AssistantUnavailable("an earlier message of this owner is still to be answered")

        def answer(session, replies: list[str]) -> None:
            # Recorded with the answer, in its transaction (one fewer per message): the passive
            # reply if the request still waits, else a customer-service message.
            if turn.finish(replies):
                parts = split_text("\n\n".join(replies)) or [""]
                openid = inbox.get(session, inbound_id).openid
                outbox.record_outbound(session, openid, "passive", parts[0], "sent", inbound_id=inbound_id)
                if len(parts) > 1:
                    metrics.DEFERRED.labels("continued").inc()
                    delivery.queue_texts(session, openid, parts[1:], inbound_id=inbound_id)
                turn.parts = parts
            else:
                self._queue_later(session, inbound_id, replies, late=True)

        return self.process(inbound_id, answer)

    def process(self, inbound_id: int, answer=None, wait: float = ASSISTANT_TIMEOUT) -> Optional[list[str]]:
        """Ask the assistant about one recorded message. None if another process has it, or if
        an earlier message of the same owner is still being answered after `wait` seconds (the
        sweep answers it then, in order). `answer(session, replies)` runs in the transaction that
        marks it answered."""
        give_up_at = time.monotonic() + wait
        while True:
            with session_scope(self.engine) as session:
                if inbox.claim(session, inbound_id):
                    row = inbox.get(session, inbound_id)
                    openid, text, key, attempts = (
                        row.openid,
                        for_assistant(row.msg_type, row.text),
                        row.dedupe_key,
                        row.attempts,
                    )
                    # Staff commands (and binding codes) are answered here, never by the owner
                    # assistant; then an answer to something we asked the owner (survey, "还没修好").
                    for desk in (staff_desk, owner_desk):
                        desk_replies = desk.answer(session, openid, text)
                        if desk_replies is not None:
                            inbox.mark_answered(session, inbound_id, desk_replies)
                            if answer:
                                answer(session, desk_replies)
                            return desk_replies
                    break
                if time.monotonic() >= give_up_at or not inbox.waits_for_earlier(session, inbound_id):
                    return None
            time.sleep(0.1)  # the owner's earlier message is with the assistant: it goes first
        try:
            # Asked before and given up on (a timeout, a process that died): Rasa may have finished
            # that turn after all. Then its answer stands; asking again would make a second turn.
            done = self.rasa.answered_before(openid, key) if attempts > 1 else None
            replies = (
                done
                if done is not None
                else self.rasa.send(openid, text, {"dedupe_key": key, "inbound_id": inbound_id}, ASSISTANT_TIMEOUT)
            )
        except AssistantUnavailable as exc:
            metrics.ASSISTANT_ERRORS.labels(exc.component).inc()
            with session_scope(self.engine) as session:
                inbox.mark_failed(session, inbound_id, str(exc))
            log.warning("assistant unavailable, message kept", extra={"inbound_id": inbound_id, "error": str(exc)})
            raise
        with session_scope(self.engine) as session:
            inbox.mark_answered(session, inbound_id, replies)
            if answer:
                answer(session, replies)
        return replies

    # --- answering --------------------------------------------------------------------------------
    def _passive(self, turn: _Turn) -> Outcome:
        parts = turn.parts or split_text("\n\n".join(turn.replies or [])) or [""]
        metrics.count_outbound("passive", "sent", 0)
        return Outcome("answered", parts[0], parts[1:])

    def deliver_later(self, inbound_id: int, texts: list[str], late: bool = False) -> None:
        with session_scope(self.engine) as session:
            self._queue_later(session, inbound_id, texts, late)

    def _queue_later(self, session, inbound_id: int, texts: list[str], late: bool) -> None:
        metrics.DEFERRED.labels("late" if late else "continued").inc()
        joined = "\n\n".join(texts)
        if late:
            joined = LATE_PREFIX + joined
        openid = inbox.get(session, inbound_id).openid
        delivery.queue_texts(session, openid, split_text(joined), inbound_id=inbound_id)  # sent after commit

    def _answer_older_first(self, older: list[int]) -> bool:
        """Messages kept while the assistant was down are answered before a newer one.
        False if one of them still could not be."""
        for old_id in older:
            try:
                replies = self.process(old_id)
            except AssistantUnavailable:
                return False
            if replies:
                self.deliver_later(old_id, replies, late=True)
        return True

    def retry_pending(self) -> int:
        """Answer messages kept while the assistant was down (run periodically by the worker)."""
        try:
            unparked = self._unpark()
        except redis.RedisError:
            unparked = []
        with session_scope(self.engine) as session:
            # A turn gives up on Rasa after ASSISTANT_TIMEOUT; a claim twice that old belongs to a
            # process that died mid-turn (kill -9, a lost node): answer it now, not minutes later.
            inbox.release_stale(session, timedelta(seconds=2 * ASSISTANT_TIMEOUT))
            # A message still "pending" for a few seconds is most likely being answered by the
            # webhook request that just recorded it: leave it to that request.
            settled = aware_now() - timedelta(seconds=SETTLE_SECONDS)
            ids = [
                (row.id, row.openid)
                for row in inbox.pending(session, limit=100)
                if row.status == "failed" or row.received_at < settled or row.id in unparked
            ]
        answered = 0
        waiting: set[str] = set()  # owners whose earlier message could not be answered yet
        for inbound_id, openid in ids:
            if openid in waiting:
                continue  # one owner's messages are answered in order
            try:
                replies = self.process(inbound_id, wait=0)  # behind an earlier one: next sweep
            except AssistantUnavailable:
                # Still down, or only this conversation is held (a lock left by a Rasa that died):
                # the others' go on; this owner's wait for the next sweep.
                waiting.add(openid)
                continue
            if replies:
                self.deliver_later(inbound_id, replies, late=True)
                answered += 1
        return answered


class _Turn:
    """Hand-off between the request thread and the turn thread: exactly one of them answers."""

    def __init__(self):
        self._lock = threading.Lock()
        self._gave_up = False
        self.replies: Optional[list[str]] = None
        self.parts: Optional[list[str]] = None  # the reply split for WeChat: the first is passive

    def finish(self, replies: list[str]) -> bool:
        with self._lock:
            if self._gave_up:
                return False
            self.replies = replies
            return True

    def give_up(self) -> bool:
        with self._lock:
            if self.replies is not None:
                return False
            self._gave_up = True
            return True


_default: Optional[Conversation] = None


def default() -> Conversation:
    global _default
    if _default is None:
        _default = Conversation()
    return _default


def retry_pending() -> int:
    """Periodic task for the worker (`--every 5:webhook.conversation.retry_pending`)."""
    return default().retry_pending()
