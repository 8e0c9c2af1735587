"""Login attempts are limited per client IP and username, in Redis (shared by every process)."""

from __future__ import annotations

import time

from console.app import create_app
from tests.console.conftest import PASSWORD, login


def test_five_failures_lock_that_username_from_that_ip(app, accounts):
    client = app.test_client()
    for _ in range(5):
        assert login(client, "admin", "wrong").status_code == 401
    resp = login(client, "admin", PASSWORD)  # even the right password now waits
    assert resp.status_code == 429
    assert "登录失败次数过多" in resp.get_data(as_text=True)
    assert "15 分钟" in resp.get_data(as_text=True)
    # Another username from the same IP, and the same username from another IP, still may.
    assert login(client, "supervisor").status_code == 302
    other_ip = app.test_client()
    other_ip.environ_base["REMOTE_ADDR"] = "10.0.0.9"
    assert login(other_ip, "admin").status_code == 302


def test_the_warning_comes_before_the_lock(app, accounts):
    client = app.test_client()
    for _ in range(3):
        resp = login(client, "admin", "wrong")
    assert "再错 2 次将暂停登录" in resp.get_data(as_text=True)


def test_a_success_clears_the_count_and_the_window_ends(settings, engine, accounts):
    app = create_app(settings, SECRET_KEY="k", LOGIN_MAX_FAILURES=2, LOGIN_WINDOW_SECONDS=1)
    client = app.test_client()
    assert login(client, "admin", "wrong").status_code == 401
    assert login(client, "admin").status_code == 302  # clears
    client = app.test_client()
    assert login(client, "admin", "wrong").status_code == 401
    assert login(client, "admin", "wrong").status_code == 401
    assert login(client, "admin").status_code == 429
    time.sleep(1.2)
    assert login(client, "admin").status_code == 302


def test_usernames_are_not_stored_in_redis(app, accounts, redis_url):
    from backend.core.redis_conn import get_redis

    login(app.test_client(), "admin", "wrong")
    keys = [k.decode() for k in get_redis(redis_url).scan_iter("console:*")]
    assert keys and all("admin" not in k for k in keys)
