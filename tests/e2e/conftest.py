"""The whole system for end-to-end tests: real Rasa model and server, action server, worker,
webhook (gunicorn), Redis and SQLite; only WeChat's API is the local stand-in."""
from __future__ import annotations

import pytest

from scripts import stack
from scripts.wechat_standin import StandIn
from tests.e2e.wx import WeChat

# The official test account (docs/WECHAT_PROTOCOL.md): token, EncodingAESKey and appid.
TOKEN = "AAAAA"
AES_KEY = "A" * 43
APPID = "wxba5fad812f8e6fb9"


@pytest.fixture(scope="session")
def standin():
    s = StandIn()
    url = s.start()
    s.url = url
    yield s
    s.stop()


@pytest.fixture(scope="session")
def system(tmp_path_factory, redis_url, standin):
    tmp = tmp_path_factory.mktemp("e2e")
    s = stack.System(tmp, redis_url, standin.url, wechat=(TOKEN, AES_KEY, APPID))
    s.up()
    yield s
    s.down()


@pytest.fixture
def db_session(system):
    from backend.core.db import get_engine, session_scope

    with session_scope(get_engine(f"sqlite:///{system.db_path}")) as session:
        yield session


@pytest.fixture(params=["plain", "aes"])
def wechat(request, system):
    return WeChat(system.base_url, TOKEN, AES_KEY, APPID, mode=request.param)
