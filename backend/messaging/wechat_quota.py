"""The account's daily template-message quota (docs/WECHAT_PROTOCOL.md: 100,000 a day), counted in Redis so
every process shares it. Past it, template messages wait for the next day (Beijing time)
instead of being refused by WeChat one by one."""

from __future__ import annotations

from datetime import datetime, timedelta

import redis

from backend.core.clock import SHANGHAI, aware_now
from backend.core.redis_conn import get_redis

TEMPLATE_DAILY = 100_000


class QuotaReached(Exception):
    def __init__(self, until: datetime):
        super().__init__(f"daily template quota used up; next try {until.isoformat()}")
        self.until = until


def next_day(now: datetime) -> datetime:
    local = now.astimezone(SHANGHAI)
    return (local + timedelta(days=1)).replace(hour=0, minute=5, second=0, microsecond=0)


def take_template(redis_url: str, appid: str, now: datetime | None = None) -> None:
    """Count one template message against today's quota; QuotaReached when it is used up."""
    now = aware_now(now)
    limit = TEMPLATE_DAILY
    key = f"wuye:wechat:{appid}:templates:{now.astimezone(SHANGHAI):%Y%m%d}"
    try:
        conn = get_redis(redis_url)
        used = conn.incr(key)
        if used == 1:
            conn.expire(key, 2 * 24 * 3600)
        if used > limit:
            conn.decr(key)
            raise QuotaReached(next_day(now))
    except redis.RedisError:
        return  # cannot count: send, and let WeChat's own 45009 be the limit
