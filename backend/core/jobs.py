"""The job queue (RQ on Redis). Jobs are named by dotted path so any process can enqueue them.

Two queues: staff tasks and owners' updates go on "wuye:high", which workers always empty first,
so a long broadcast never delays a technician's push.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import redis
from rq import Queue, Retry
from sqlalchemy import event
from sqlalchemy.orm import Session

from backend.core.config import load_settings
from backend.core.redis_conn import get_redis

log = logging.getLogger(__name__)
_AFTER_COMMIT = "wuye_jobs_after_commit"
QUEUE = "wuye"
HIGH = "wuye:high"
QUEUES = [HIGH, QUEUE]  # the order workers listen in


def queue(name: str = QUEUE) -> Queue:
    return Queue(name, connection=get_redis(load_settings().redis_url))


def enqueue(func: str, *args, high: bool = False, **kwargs) -> bool:
    """Enqueue; False when Redis is down. Callers record the work in the database first, so a
    periodic sweep picks it up later: nothing is lost."""
    try:
        queue(HIGH if high else QUEUE).enqueue(func, *args, retry=Retry(max=3, interval=[2, 10, 30]), **kwargs)
        return True
    except redis.RedisError as exc:
        log.warning("could not enqueue, the sweep will retry", extra={"job": func, "error": str(exc)})
        return False


def enqueue_in(delay: timedelta, func: str, *args, high: bool = False) -> bool:
    """Run later (RQ's scheduler, which every worker runs). The sweep is the backstop."""
    try:
        queue(HIGH if high else QUEUE).enqueue_in(delay, func, *args)
        return True
    except redis.RedisError as exc:
        log.warning("could not schedule, the sweep will retry", extra={"job": func, "error": str(exc)})
        return False


def enqueue_after_commit(session: Session, func: str, *args, high: bool = False) -> None:
    """Enqueue once the session's transaction has committed (never before: the job must find
    what the transaction records); forgotten if it rolls back."""
    if not event.contains(session, "after_commit", _enqueue_pending):
        event.listen(session, "after_commit", _enqueue_pending)
        event.listen(session, "after_rollback", _forget_pending)
    session.info.setdefault(_AFTER_COMMIT, []).append((func, args, high))


def _enqueue_pending(session: Session) -> None:
    for func, args, high in session.info.pop(_AFTER_COMMIT, []):
        enqueue(func, *args, high=high)


def _forget_pending(session: Session) -> None:
    session.info.pop(_AFTER_COMMIT, None)
