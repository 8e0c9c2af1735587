"""Server-side console sessions. Flask's session is a signed cookie the server cannot take back;
so the cookie also carries a random session id, Redis holds it (hashed) for the session's
lifetime, and every request checks it. Logging out deletes it: a copied cookie stops working.
A changed password or a deactivated account ends sessions through the password version in the
cookie (console.access); this is the part a logout needs.

Without Redis nobody can be checked, so nobody is let in (the console needs Redis for its
replies and its login counts anyway)."""

from __future__ import annotations

import hashlib
import logging
import secrets

import redis

from backend.core.redis_conn import get_redis

log = logging.getLogger(__name__)
PREFIX = "console:session:"


class Unavailable(Exception):
    """Redis did not answer: a session can be neither started nor checked."""


def _key(sid: str) -> str:
    # Hashed: a copy of Redis gives no cookie value that would pass.
    return PREFIX + hashlib.sha256(sid.encode()).hexdigest()


def start(redis_url: str, uid: int, lifetime_seconds: int) -> str:
    """A new session id for this user, valid for `lifetime_seconds` from now (not extended: a
    shift's login ends after it, however busy it was)."""
    sid = secrets.token_urlsafe(32)
    try:
        get_redis(redis_url).set(_key(sid), str(uid), ex=lifetime_seconds)
    except redis.RedisError as exc:
        log.warning("console sessions: redis unavailable", extra={"error": str(exc)})
        raise Unavailable from exc
    return sid


def valid(redis_url: str, sid: str | None, uid: int) -> bool:
    if not sid or not isinstance(sid, str):
        return False
    try:
        held = get_redis(redis_url).get(_key(sid))
    except redis.RedisError as exc:
        log.warning("console sessions: redis unavailable", extra={"error": str(exc)})
        return False
    return held is not None and held.decode() == str(uid)


def end(redis_url: str, sid: str | None) -> None:
    if not sid or not isinstance(sid, str):
        return
    try:
        get_redis(redis_url).delete(_key(sid))
    except redis.RedisError as exc:
        log.warning("console sessions: redis unavailable", extra={"error": str(exc)})
