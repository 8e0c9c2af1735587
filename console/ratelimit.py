"""Failed logins counted in Redis per client IP and username, so every console process agrees.

After `max_failures` failures in `window` seconds that IP may not try that username again until
the window has passed (a correct password included). If Redis is down we log it and let the
login proceed: the password check still stands, and a Redis outage must not lock the desk out.
"""
from __future__ import annotations

import hashlib
import logging

import redis

from backend.core.redis_conn import get_redis

log = logging.getLogger(__name__)


class LoginLimiter:
    def __init__(self, redis_url: str, max_failures: int = 5, window: int = 900):
        self.redis_url = redis_url
        self.max_failures = max_failures
        self.window = window

    def _key(self, ip: str, username: str) -> str:
        # Hashed: usernames as typed (maybe a password pasted by mistake) never sit in Redis.
        digest = hashlib.sha256(f"{ip}\n{username.strip().lower()}".encode()).hexdigest()[:32]
        return f"console:login-failures:{digest}"

    def retry_after(self, ip: str, username: str) -> int:
        """Seconds until this IP may try this username again; 0 when it may now."""
        key = self._key(ip, username)
        try:
            r = get_redis(self.redis_url)
            count = int(r.get(key) or 0)
            if count < self.max_failures:
                return 0
            return max(int(r.ttl(key)), 1)
        except redis.RedisError as exc:
            log.warning("login limiter: redis unavailable", extra={"error": str(exc)})
            return 0

    def failed(self, ip: str, username: str) -> int:
        key = self._key(ip, username)
        try:
            r = get_redis(self.redis_url)
            pipe = r.pipeline()
            pipe.incr(key)
            pipe.ttl(key)
            count, ttl = pipe.execute()
            if ttl < 0:  # the first failure starts the window (EXPIRE NX needs Redis 7)
                r.expire(key, self.window)
            return int(count)
        except redis.RedisError as exc:
            log.warning("login limiter: redis unavailable", extra={"error": str(exc)})
            return 0

    def clear(self, ip: str, username: str) -> None:
        try:
            get_redis(self.redis_url).delete(self._key(ip, username))
        except redis.RedisError as exc:
            log.warning("login limiter: redis unavailable", extra={"error": str(exc)})
