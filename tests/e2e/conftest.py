"""The whole system for end-to-end tests: real Rasa model and server, action server, worker,
webhook (gunicorn), Redis and SQLite; only WeChat's API is the local stand-in."""

from __future__ import annotations

import pytest

from tests.e2e.account import AES_KEY, APPID, TOKEN  # noqa: F401  (tests import them from here)
from tests.e2e.wx import WeChat


# The system itself (`system`, `system_standin`) is in tests/conftest.py: tests/security drives
# the same one, so a whole `make test` starts it once.
@pytest.fixture(scope="session")
def standin(system_standin):
    return system_standin


@pytest.fixture
def db_session(system):
    from backend.core.db import get_engine, session_scope

    with session_scope(get_engine(f"sqlite:///{system.db_path}")) as session:
        yield session


# The system has an EncodingAESKey, so WeChat speaks compatible or safe mode to it (plain mode
# is refused there; tests/wechat_protocol covers plain mode on an account without a key).
@pytest.fixture(params=["compat", "aes"])
def wechat(request, system):
    return WeChat(system.base_url, TOKEN, AES_KEY, APPID, mode=request.param)
