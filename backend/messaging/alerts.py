"""Guessing limits and the alert to supervisors when someone seems to be guessing.

Binding a WeChat account to a staff member (a one-time code) or to a home (a listed phone) is
where a stranger could try their luck. Each try that fails is counted per openid and for the
whole system; past the global limit nobody can bind for a while and the supervisors are told
once (WeChat message and a warning in the log).
"""

from __future__ import annotations

import logging
import time

import redis
from sqlalchemy.orm import Session

from backend.core.config import load_settings
from backend.core.redis_conn import get_redis
from backend.messaging import delivery

log = logging.getLogger(__name__)


def _window_key(scope: str, who: str, window: int) -> str:
    return f"wuye:guess:{scope}:{who}:{int(time.time()) // window}"


def failures(scope: str, who: str, window: int) -> int:
    """Failed tries of `who` ("*" for everyone) in the current window of `window` seconds."""
    try:
        value = get_redis(load_settings().redis_url).get(_window_key(scope, who, window))
    except redis.RedisError:
        return 0
    return int(value or 0)


def count_failure(scope: str, openid: str, window: int) -> tuple[int, int]:
    """Count one failed try; returns (this openid's failures, everyone's) in the window."""
    try:
        pipe = get_redis(load_settings().redis_url).pipeline()
        for who in (openid, "*"):
            key = _window_key(scope, who, window)
            pipe.incr(key)
            pipe.expire(key, window * 2)
        mine, _, everyone, _ = pipe.execute()
    except redis.RedisError:
        log.warning("guess counter unavailable", extra={"scope": scope})
        return 0, 0
    return int(mine), int(everyone)


def tell_supervisors_once(session: Session, key: str, text: str, openids: list[str], window: int = 3600) -> None:
    """Tell these supervisors `text` (a customer-service message, sent after commit), at most
    once per window; the caller picks them (backend.work.staff.supervisors)."""
    log.warning("security alert", extra={"alert": key})
    try:
        first = get_redis(load_settings().redis_url).set(f"wuye:alert:{key}", 1, nx=True, ex=window)
    except redis.RedisError:
        first = True
    if not first:
        return
    for openid in openids:
        delivery.queue_texts(session, openid, [text])
