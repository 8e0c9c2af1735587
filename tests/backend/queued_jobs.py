"""Run what the worker would run, in the test's own process."""

from __future__ import annotations

import signal

from rq import SimpleWorker

from backend.core import jobs
from backend.core.redis_conn import get_redis


def run_queued_jobs(settings) -> None:
    """What the worker does with the queue (in this process, until it is empty). RQ's worker takes
    over SIGINT/SIGTERM; they are given back so stopping the test run still stops it."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        SimpleWorker(jobs.QUEUES, connection=get_redis(settings.redis_url)).work(burst=True)
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
