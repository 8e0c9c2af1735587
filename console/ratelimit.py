"""Failed console logins, counted in Redis (so every console process agrees), at four levels.

The numbers, and why (a company of a few dozen staff; a window is 15 minutes unless said):

- **this username from this IP: 5 failures** pause that pair for the rest of the window, the
  right password included. Someone who forgot a password tries a few spellings; one machine
  guessing one account gets 20 tries an hour.
- **this username from any IP: 20 failures** (four people's worth of typos; the owner of the
  account on a phone and a PC never gets there). Past it, the username is paused for browsers
  that have not logged in as it before, so an attacker rotating addresses gets at most 80 guesses
  an hour per account, and the account's owner (whose browser has) still logs in.
- **this IP, any username: 30 failures** (a whole office behind one NAT/proxy mistyping in one
  quarter hour is not 30). It catches one password tried against many usernames. Past it, that
  address is paused for browsers that have not logged in as the typed user before: colleagues
  behind the same proxy who have logged in before still can.
- **the whole console: 100 failures in the last minute or two** (this minute and the one
  before). Past it (many passwords from many addresses),
  logins from browsers not known for the typed user are let through one per second across the
  console: a botnet gets about 3,600 guesses an hour in all instead of what it can send, and a
  person retries after a second or two. This slows; it never locks.

"Known" browsers carry a signed cookie set at a successful login (console.auth); their failures
are counted per browser (5 pause it) instead of by address, so one stolen cookie is worth only 5
guesses. Keys hold hashes, never a username as typed (it might be a password pasted by mistake).
If Redis is down we log it and let the login proceed: the password check still stands, and a
Redis outage must not lock the desk out.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass

import redis

from backend.core.redis_conn import get_redis

log = logging.getLogger(__name__)
PREFIX = "console:login:"


@dataclass(frozen=True)
class Limits:
    pair: int = 5  # one username from one IP (or one known browser)
    user: int = 20  # one username from any IP
    ip: int = 30  # one IP, any username
    window: int = 15 * 60
    global_failures: int = 100  # the whole console, per global_window
    global_window: int = 60
    global_slot: float = 1.0  # seconds between unknown-browser attempts once past it


@dataclass(frozen=True)
class Wait:
    seconds: int
    busy: bool = False  # True: the global slow-down (seconds, not minutes)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


class LoginLimiter:
    def __init__(self, redis_url: str, limits: Limits | None = None):
        self.redis_url = redis_url
        self.limits = limits or Limits()

    @property
    def max_failures(self) -> int:
        return self.limits.pair

    def _keys(self, ip: str, username: str, device: str | None) -> dict[str, str]:
        username = username.strip().lower()
        keys = {
            "pair": PREFIX + "pair:" + _digest(ip, username),
            "user": PREFIX + "user:" + _digest(username),
            "ip": PREFIX + "ip:" + _digest(ip),
            "global": PREFIX + f"global:{int(time.time() // self.limits.global_window)}",
            "global_before": PREFIX + f"global:{int(time.time() // self.limits.global_window) - 1}",
        }
        if device:
            keys["device"] = PREFIX + "device:" + _digest(device)
        return keys

    def retry_after(self, ip: str, username: str, device: str | None = None) -> Wait | None:
        """How long this attempt must wait, or None when it may go now. `device`: the nonce of a
        valid known-browser cookie for this username (console.auth), else None."""
        keys = self._keys(ip, username, device)
        lim = self.limits
        try:
            r = get_redis(self.redis_url)
            if device:
                return self._over(r, keys["device"], lim.pair)
            for level, limit in (("pair", lim.pair), ("user", lim.user), ("ip", lim.ip)):
                wait = self._over(r, keys[level], limit)
                if wait:
                    return wait
            # This window and the one before: a burst across a window's edge still counts whole.
            recent = sum(int(n or 0) for n in r.mget(keys["global"], keys["global_before"]))
            if recent >= lim.global_failures:
                # One attempt per slot across the console: the first to take it goes.
                if not r.set(PREFIX + "slot", 1, nx=True, px=max(int(lim.global_slot * 1000), 1)):
                    return Wait(max(int(lim.global_slot + 0.999), 1), busy=True)
            return None
        except redis.RedisError as exc:
            log.warning("login limiter: redis unavailable", extra={"error": str(exc)})
            return None

    @staticmethod
    def _over(r, key: str, limit: int) -> Wait | None:
        if int(r.get(key) or 0) < limit:
            return None
        return Wait(max(int(r.ttl(key)), 1))

    def failed(self, ip: str, username: str, device: str | None = None) -> int:
        """Counts a failure everywhere it counts; returns the failures left before this pair (or
        this known browser) is paused."""
        keys = self._keys(ip, username, device)
        lim = self.limits
        try:
            r = get_redis(self.redis_url)
            pipe = r.pipeline()
            # A known browser's failures count against it, not against its (shared) address.
            levels = ("device", "user", "global") if device else ("pair", "user", "ip", "global")
            for level in levels:
                pipe.incr(keys[level])
                pipe.ttl(keys[level])
            results = pipe.execute()
            for i, level in enumerate(levels):
                if results[2 * i + 1] < 0:  # the first failure starts the window (EXPIRE NX needs Redis 7)
                    r.expire(keys[level], lim.global_window * 2 if level == "global" else lim.window)
            return lim.pair - int(results[0])
        except redis.RedisError as exc:
            log.warning("login limiter: redis unavailable", extra={"error": str(exc)})
            return lim.pair

    def clear(self, ip: str, username: str, device: str | None = None) -> None:
        """After a success: that pair (or browser) starts afresh. The username, IP and global
        counts run out with their windows, so a spray is not reset by one good login."""
        keys = self._keys(ip, username, device)
        try:
            get_redis(self.redis_url).delete(keys["device"] if device else keys["pair"])
        except redis.RedisError as exc:
            log.warning("login limiter: redis unavailable", extra={"error": str(exc)})
