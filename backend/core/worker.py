"""The worker process: runs queued jobs (RQ) and the periodic sweeps.

    python -m backend.core.worker --every 5:webhook.conversation.retry_pending --every 15:backend.messaging.delivery.sweep_queued

Periodic tasks are named on the command line (scripts/stack.py), so `backend` does not need to
know which room they live in: `webhook.conversation.retry_pending` is such a name, configuration
rather than an import (backend never imports webhook). A Redis lock lets only one worker run a sweep at a time.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import threading
import time

import redis
from rq import SimpleWorker

from backend.core import jobs, metrics
from backend.core.config import load_settings, require_safe
from backend.core.db import get_engine
from backend.core.logs import setup_logging
from backend.core.redis_conn import get_redis, redis_answers

log = logging.getLogger("worker")


def _resolve(path: str):
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def run_periodic(every: float, path: str, stop: threading.Event) -> None:
    func = _resolve(path)
    conn = get_redis(load_settings().redis_url)
    while not stop.wait(every):
        try:
            lock = conn.lock(f"wuye:periodic:{path}", timeout=max(60, every * 4), blocking=False)
            if not lock.acquire(blocking=False):
                continue
        except redis.RedisError:
            lock = None  # no Redis: run anyway; the tasks themselves are idempotent
        try:
            func()
        except Exception:  # a failing sweep must not kill the worker
            log.exception("periodic task failed", extra={"task": path})
        finally:
            if lock is not None:
                try:
                    lock.release()
                except redis.RedisError:
                    pass


def health() -> tuple[bool, dict]:
    """For the supervisor (GET /healthz on WORKER_METRICS_PORT): the worker can reach both stores."""
    settings = load_settings()
    checks = {"redis": redis_answers(settings.redis_url)}
    try:
        with get_engine(settings.database_url).connect() as connection:
            connection.exec_driver_sql("SELECT 1")
        checks["database"] = True
    except Exception:  # noqa: BLE001 - any failure means "not healthy", with the reason logged elsewhere
        checks["database"] = False
    return all(checks.values()), checks


def serve_metrics() -> None:
    """This process's counters (every RQ job runs in it: SimpleWorker), and the figures read from
    the records at scrape time (queues, SLA clocks, broadcasts, quota): only the worker shows
    those, so they are not counted once per process."""
    registry = metrics.default_registry()
    registry.register(metrics.RecordsCollector())
    settings = load_settings()
    metrics.serve(settings.worker_metrics_port, registry, health=health, host=settings.metrics_host)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Run background jobs and periodic sweeps.")
    parser.add_argument(
        "--every",
        action="append",
        default=[],
        metavar="SECONDS:dotted.path",
        help="run a function periodically, e.g. 5:webhook.conversation.retry_pending",
    )
    args = parser.parse_args(argv)
    setup_logging()
    require_safe(load_settings(), "worker")  # no weak or missing secret with WeChat credentials set
    serve_metrics()
    stop = threading.Event()
    for spec in args.every:
        seconds, _, path = spec.partition(":")
        threading.Thread(target=run_periodic, args=(float(seconds), path, stop), daemon=True).start()
    conn = get_redis(load_settings().redis_url)
    while True:
        # Redis may be down at start or go away: keep trying, the sweeps run meanwhile.
        try:
            SimpleWorker(jobs.QUEUES, connection=conn).work(with_scheduler=True)
            break
        except redis.RedisError as exc:
            log.warning("redis unavailable, retrying", extra={"error": str(exc)})
            time.sleep(2)
    stop.set()


if __name__ == "__main__":
    main()
