"""The job queue (RQ on Redis). Jobs are named by dotted path so any process can enqueue them."""
from __future__ import annotations

import logging

import redis
from rq import Queue, Retry

from backend.config import load_settings
from backend.redis_conn import get_redis

log = logging.getLogger(__name__)
QUEUE = "wuye"


def queue() -> Queue:
    return Queue(QUEUE, connection=get_redis(load_settings().redis_url))


def enqueue(func: str, *args, **kwargs) -> bool:
    """Enqueue; False when Redis is down. Callers record the work in the database first, so a
    periodic sweep picks it up later: nothing is lost."""
    try:
        queue().enqueue(func, *args, retry=Retry(max=3, interval=[2, 10, 30]), **kwargs)
        return True
    except redis.RedisError as exc:
        log.warning("could not enqueue, the sweep will retry", extra={"job": func, "error": str(exc)})
        return False
