"""The conversation store in the real stack: two Rasa servers share one conversation
turn by turn, and a conversation that crosses a session boundary still knows the owner's bound
home (from the database), while the new session's window holds only the new session."""

from __future__ import annotations

import json
import time

import pytest
import redis
import requests

from scripts import stack
from tests.e2e.conftest import AES_KEY, APPID, TOKEN
from tests.e2e.wx import WeChat

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def two_servers(system):
    """The shared system with a second Rasa server beside its own, on the same Redis, as a
    deployment with RASA_SERVERS=2 runs them (one more model load, not a second system)."""
    import dataclasses

    ports = dataclasses.replace(system.ports, more_rasa=(stack.free_port(),))
    system.procs["rasa2"] = stack.start(
        "rasa2", stack.commands(ports, system.model)["rasa2"], system.env, system.log_dir
    )
    try:
        stack.wait_http(f"http://127.0.0.1:{ports.more_rasa[0]}/", 300, system.procs["rasa2"])
        yield system, [f"http://127.0.0.1:{p}" for p in (ports.rasa, *ports.more_rasa)]
    finally:
        system.stop("rasa2")


def window(system, openid) -> list[dict]:
    red = redis.Redis.from_url(system.env["REDIS_URL"])
    return [json.loads(e) for e in red.lrange(f"wuye:conv:{openid}", 0, -1)]


def test_two_rasa_servers_share_one_conversation(two_servers):
    system, servers = two_servers
    owner = f"o-e2e-two-servers-{time.time_ns()}"
    replies = []
    for n, text in enumerate(["厨房水管漏水", "8号楼702", "明天上午", "13812345678", "确认"]):
        answer = requests.post(
            f"{servers[n % 2]}/webhooks/rest/webhook", json={"sender": owner, "message": text}, timeout=30
        ).json()
        replies.append("\n".join(m.get("text", "") for m in answer))
    # Each server continued the form where the other left it, and the last one raised the ticket.
    assert "BX" in replies[-1], replies
    users = [e["text"] for e in window(system, owner) if e["event"] == "user"]
    assert users == ["厨房水管漏水", "8号楼702", "明天上午", "13812345678", "确认"]


@pytest.fixture
def sessions_owner(system):
    """A new owner, bound during the test on the shared system and unbound after it: other tests
    count the bound owners of building 3 (tests/e2e/test_e2e_outage.py)."""
    from sqlalchemy import delete

    from backend.core.db import get_engine, session_scope
    from backend.core.models import WechatBinding

    owner = f"o-e2e-sessions-{time.time_ns()}"
    yield owner
    with session_scope(get_engine(system.database_url)) as session:
        session.execute(delete(WechatBinding).where(WechatBinding.openid == owner))


def test_a_new_session_keeps_the_bound_home_and_loads_only_itself(system, sessions_owner):
    from backend.core.db import get_engine, session_scope
    from backend.messaging import conversation_archive

    wx = WeChat(system.base_url, TOKEN, AES_KEY, APPID, "aes")
    owner = sessions_owner
    reply, _ = wx.say(owner, "绑定 3栋2单元501 13800001001")
    assert "绑定成功" in reply
    reply, _ = wx.say(owner, "谢谢")
    # Two days pass: the session (a day without messages) has expired.
    red = redis.Redis.from_url(system.env["REDIS_URL"])
    key = f"wuye:conv:{owner}"
    aged = [dict(e, timestamp=e["timestamp"] - 2 * 86400) for e in window(system, owner)]
    red.delete(key)
    red.rpush(key, *[json.dumps(e, ensure_ascii=False) for e in aged])

    reply, _ = wx.say(owner, "我家物业费还欠多少")
    assert "751.80元" in reply  # the bound home comes from the database, not the old session
    now = window(system, owner)
    assert [e["event"] for e in now[:2]] == ["action", "session_started"]
    assert now[0]["name"] == "action_session_start"
    assert [e["text"] for e in now if e["event"] == "user"] == ["我家物业费还欠多少"]
    with session_scope(get_engine(system.database_url)) as session:
        archived = conversation_archive.events_of(session, owner)
    assert [e["text"] for e in archived if e["event"] == "user"] == [
        "绑定 3栋2单元501 13800001001",
        "谢谢",
        "我家物业费还欠多少",
    ]
    assert len([e for e in archived if e["event"] == "session_started"]) == 2
