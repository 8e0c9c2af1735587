"""A signed WeChat URL is good for one delivery.

WeChat signs the query (timestamp, nonce) with the Token; in plain mode the body is not covered,
so a captured URL could carry any body within the 5-minute freshness window. We remember each
(timestamp, nonce) with a hash of its body for longer than that window: the same URL with the
same body is a retry of the same delivery (answered as before, MsgId dedupe makes it harmless);
the same URL with another body is a replay and is refused.
"""

from __future__ import annotations

import hashlib
import logging

import redis

from backend.core.redis_conn import get_redis

log = logging.getLogger(__name__)

# check_timestamp accepts 300 s either side of now: remember a pair for longer than both sides.
REMEMBER_SECONDS = 15 * 60


def first_use(redis_url: str, timestamp: str, nonce: str, body: bytes) -> bool:
    """True if this (timestamp, nonce) is new or comes again with the very same body."""
    key = "wuye:wechat:nonce:" + hashlib.sha256(f"{timestamp}\n{nonce}".encode()).hexdigest()
    digest = hashlib.sha256(body).hexdigest()
    try:
        conn = get_redis(redis_url)
        if conn.set(key, digest, nx=True, ex=REMEMBER_SECONDS):
            return True
        seen = conn.get(key)
    except redis.RedisError:
        # Redis down: the signature and the timestamp window still hold, and the database's
        # unique MsgId key still stops a second turn; refusing would lose real owners' messages.
        log.warning("replay check skipped: redis unavailable")
        return True
    return seen is not None and seen.decode() == digest
