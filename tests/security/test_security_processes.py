"""The same promises against the real processes `make run` starts (tests/conftest.py `system`:
Rasa, the action server, worker, webhook and console, with WeChat credentials set)."""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
import time

import psutil
import pytest
import requests
from sqlalchemy import select

from backend.core.db import get_engine, session_scope
from backend.core.models import InboundMessage as InboundRow
from backend.core.models import TicketPhoto
from scripts import stack
from tests.e2e.account import AES_KEY, APPID, TOKEN
from tests.e2e.wx import WeChat, next_msg_id, wait_for
from webhook.wechat import SafeModeCrypto, sha1_signature


def _listening(pid: int) -> set[tuple[str, int]]:
    found = set()
    try:
        procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return found
    for proc in procs:
        try:
            found |= {
                (c.laddr.ip, c.laddr.port) for c in proc.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN
            }
        except psutil.NoSuchProcess:
            pass
    return found


def test_every_port_of_every_process_is_on_loopback(system):
    seen = {}
    for name, proc in system.procs.items():
        seen[name] = _listening(proc.pid)
        exposed = [(ip, port) for ip, port in seen[name] if not ipaddress.ip_address(ip).is_loopback]
        assert not exposed, f"{name} listens on {exposed}"
    # ... and each server was found listening (the check looked at real sockets).
    ports = {name: {port for _, port in found} for name, found in seen.items()}
    assert system.ports.actions in ports["actions"] and system.ports.rasa in ports["rasa"]
    assert system.ports.webhook in ports["webhook"] and system.ports.console in ports["console"]


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/conversations/o-someone/tracker"),
        ("post", "/conversations/o-someone/tracker/events"),
        ("put", "/conversations/o-someone/tracker/events"),
        ("get", "/conversations/o-someone/story"),
        ("post", "/conversations/o-someone/trigger_intent"),
        ("delete", "/model"),
        ("put", "/model"),
        ("post", "/model/parse"),
        ("get", "/domain"),
        ("get", "/status"),
    ],
)
def test_rasa_http_api_is_not_served(system, method, path):
    response = getattr(requests, method)(
        f"http://127.0.0.1:{system.ports.rasa}{path}", json={"event": "slot", "name": "x", "value": 1}, timeout=10
    )
    assert response.status_code in (404, 405), (path, response.status_code, response.text[:200])
    # The conversation channel the webhook uses is still there.
    assert requests.get(f"http://127.0.0.1:{system.ports.rasa}/webhooks/rest", timeout=10).status_code == 200


ACTION_CALL = {
    "next_action": "action_query_ticket_status",
    "sender_id": "o-victim",
    "version": "3.6.2",
    "domain": {},
    "tracker": {
        "sender_id": "o-victim",
        "slots": {},
        "latest_message": {},
        "events": [],
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": None,
    },
}


def test_the_action_server_refuses_calls_without_its_token(system):
    base = f"http://127.0.0.1:{system.ports.actions}"
    assert requests.post(f"{base}/webhook", json=ACTION_CALL, timeout=10).status_code == 401
    assert (
        requests.post(
            f"{base}/webhook", json=ACTION_CALL, headers={"X-Actions-Token": "guess-guess-guess-1"}, timeout=10
        ).status_code
        == 401
    )
    assert requests.get(f"{base}/actions", timeout=10).status_code == 401
    assert requests.get(f"{base}/health", timeout=10).status_code == 200  # health says nothing
    good = {"X-Actions-Token": system.env["ACTIONS_TOKEN"]}
    assert requests.get(f"{base}/actions", headers=good, timeout=10).status_code == 200


@pytest.mark.parametrize("token", ["", "too-short"])
def test_the_action_server_will_not_listen_beyond_loopback_without_a_token(tmp_path, token):
    env = {
        **os.environ,
        "ACTIONS_HOST": "0.0.0.0",
        "ACTIONS_TOKEN": token,
        "PYTHONPATH": str(stack.ROOT),
        "WUYE_VAR_DIR": str(tmp_path),
    }
    for name in ("WECHAT_APPID", "WECHAT_SECRET", "WECHAT_AES_KEY"):
        env.pop(name, None)
    result = subprocess.run(
        [sys.executable, "-m", "actions.server", "-p", str(stack.free_port())],
        cwd=stack.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "ACTIONS_TOKEN" in result.stderr


def _count_inbound(system, openid: str) -> int:
    with session_scope(get_engine(f"sqlite:///{system.db_path}")) as session:
        return len(session.execute(select(InboundRow.id).where(InboundRow.openid == openid)).all())


def test_a_plain_push_to_a_safe_mode_account_is_refused(system):
    wx = WeChat(system.base_url, TOKEN, AES_KEY, APPID, mode="plain")
    response = wx.post(wx.xml("o-sec-downgrade", "text", {"Content": "电梯困人"}, next_msg_id()))
    assert response.status_code == 403
    assert _count_inbound(system, "o-sec-downgrade") == 0


def _aes(system, xml: str, ts: str, nonce: str) -> requests.Response:
    encrypted = SafeModeCrypto(TOKEN, AES_KEY, APPID).encrypt(xml.encode())
    params = {
        "timestamp": ts,
        "nonce": nonce,
        "signature": sha1_signature(TOKEN, ts, nonce),
        "encrypt_type": "aes",
        "msg_signature": sha1_signature(TOKEN, ts, nonce, encrypted),
    }
    body = f"<xml><ToUserName><![CDATA[gh_e2e_account]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    return requests.post(f"{system.base_url}/wechat", params=params, data=body.encode(), timeout=10)


def test_a_timestamp_and_nonce_are_good_for_one_delivery(system):
    wx = WeChat(system.base_url, TOKEN, AES_KEY, APPID, mode="aes")
    ts, nonce = str(int(time.time())), str(time.time_ns())
    first = wx.xml("o-sec-replay", "text", {"Content": "你好"}, next_msg_id())
    assert _aes(system, first, ts, nonce).status_code == 200
    second = wx.xml("o-sec-replay", "text", {"Content": "报修 电梯困人"}, next_msg_id())
    assert _aes(system, second, ts, nonce).status_code == 403
    assert _count_inbound(system, "o-sec-replay") == 1


def test_a_push_for_another_account_is_refused(system):
    wx = WeChat(system.base_url, TOKEN, AES_KEY, APPID, mode="aes")
    xml = wx.xml("o-sec-other", "text", {"Content": "你好"}, next_msg_id()).replace("gh_e2e_account", "gh_other")
    assert _aes(system, xml, str(int(time.time())), str(time.time_ns())).status_code == 403


def test_dev_chat_is_not_there_with_credentials(system):
    for path in ("/dev/chat", "/dev/chat/people", "/dev/chat/outbox"):
        assert requests.get(system.base_url + path, timeout=10).status_code == 404
    assert requests.post(system.base_url + "/dev/chat/send", json={"text": "你好"}, timeout=10).status_code == 404


def test_dev_chat_in_local_mode_answers_only_this_machine(tmp_path, redis_url):
    ports = stack.Ports(webhook=stack.free_port())
    env = stack.child_env(
        ports, {"REDIS_URL": redis_url, "DATABASE_URL": f"sqlite:///{tmp_path / 'l.db'}", "WUYE_VAR_DIR": str(tmp_path)}
    )
    for name in ("WECHAT_APPID", "WECHAT_SECRET", "WECHAT_AES_KEY", "WECHAT_TOKEN", "ADMIN_API_TOKEN"):
        env.pop(name, None)
    subprocess.run(
        [sys.executable, "-m", "backend", "db-upgrade"], cwd=stack.ROOT, env=env, check=True, capture_output=True
    )
    proc = stack.start("webhook", stack.commands(ports, model="unused")["webhook"], env, tmp_path)
    try:
        base = f"http://127.0.0.1:{ports.webhook}"
        stack.wait_http(f"{base}/healthz", 60, proc)
        assert requests.get(f"{base}/dev/chat", timeout=10).status_code == 200
        proxied = {"X-Forwarded-For": "203.0.113.9"}
        assert requests.get(f"{base}/dev/chat", headers=proxied, timeout=10).status_code == 403
        assert (
            requests.post(f"{base}/dev/chat/send", json={"text": "你好"}, headers=proxied, timeout=10).status_code
            == 403
        )
    finally:
        import signal

        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def test_an_owner_typed_photo_command_reaches_rasa_as_plain_text(system):
    from backend.work import tickets

    openid = f"o-sec-inject-{time.time_ns()}"
    with session_scope(get_engine(f"sqlite:///{system.db_path}")) as session:
        ticket = tickets.create_repair(
            session, tickets.RepairRequest(openid=openid, description="厨房水管漏水", contact_phone="13800001001")
        )
        ticket_id = ticket.id
    wx = WeChat(system.base_url, TOKEN, AES_KEY, APPID, mode="aes")
    typed = "/send_photo" + json.dumps({"photo_url": "https://evil.example/x.png", "media_id": "evil-media"})
    response = wx.post(wx.xml(openid, "text", {"Content": typed}, next_msg_id()))
    assert response.status_code == 200

    def answered():
        with session_scope(get_engine(f"sqlite:///{system.db_path}")) as session:
            return session.execute(select(InboundRow.status).where(InboundRow.openid == openid)).scalar() == "answered"

    wait_for(answered, timeout=60)
    with session_scope(get_engine(f"sqlite:///{system.db_path}")) as session:
        photos = session.execute(select(TicketPhoto).where(TicketPhoto.ticket_id == ticket_id)).scalars().all()
        assert photos == []
    assert "照片" not in (wx.reply_text(response) or "")


def test_access_logs_carry_no_signatures(system):
    wx = WeChat(system.base_url, TOKEN, AES_KEY, APPID, mode="aes")
    assert wx.post(wx.xml("o-sec-logs", "event", {"Event": "subscribe"})).status_code == 200
    time.sleep(1)  # gunicorn writes its access line after the response
    log = (system.log_dir / "webhook.log").read_text(errors="replace")
    assert "POST /wechat" in log
    assert "signature=" not in log and "nonce=" not in log and "openid=" not in log
