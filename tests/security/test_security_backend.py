"""Guessing limits on binding, photo URLs, secrets out of the database and logs, admin API paging:
on SQLite and PostgreSQL, real Redis."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select

from backend.core.clock import aware_now
from backend.core.logs import JsonFormatter
from backend.core.models import BindingRequest, OutboundMessage
from backend.messaging import delivery
from backend.owners import binding
from backend.text.addresses import parse_address
from backend.work import staff as staff_records
from backend.work import staff_desk, tickets


def say(session, openid, text) -> str:
    [reply] = staff_desk.answer(session, openid, text)
    session.commit()
    return reply


def supervisor(session, openid="o-boss"):
    person = staff_records.add_staff(session, "周主管", "", "supervisor", "综合")
    person.openid = openid
    session.commit()
    return person


def messages_to(session, openid) -> list[str]:
    session.expire_all()
    return list(session.execute(select(OutboundMessage.content).where(OutboundMessage.openid == openid)).scalars())


# --- staff binding codes ----------------------------------------------------------------------------
def test_codes_are_too_long_to_guess(session, wechat_env):
    person = staff_records.add_staff(session, "钱师傅", "", "technician", "水电")
    code = staff_records.issue_bind_code(session, person)
    assert code.startswith("YG") and len(code[2:]) >= 10 and code[2:].isdigit()


def test_five_wrong_codes_an_hour_stop_one_account(session, wechat_env):
    person = staff_records.add_staff(session, "钱师傅", "", "technician", "水电")
    code = staff_records.issue_bind_code(session, person)
    session.commit()
    for n in range(staff_records.CODE_TRIES_PER_OPENID):
        assert "无效或已过期" in say(session, "o-guesser", f"绑定 YG{n:010d}")
    # Even the right code is not looked at now; the refusal is polite and says what to do.
    reply = say(session, "o-guesser", f"绑定 {code}")
    assert "太多" in reply and "绑定成功" not in reply
    assert staff_records.staff_by_openid(session, "o-guesser") is None
    # Another account is not held back by this one's mistakes.
    assert "绑定成功" in say(session, "o-real-tech", f"绑定 {code}")


def test_many_accounts_guessing_hit_a_global_limit_and_supervisors_are_told(session, wechat_env):
    supervisor(session)
    person = staff_records.add_staff(session, "钱师傅", "", "technician", "水电")
    code = staff_records.issue_bind_code(session, person)
    session.commit()
    for n in range(staff_records.CODE_TRIES_ALL):
        say(session, f"o-bot-{n}", f"绑定 YG{n:010d}")  # one try each: no per-account limit is hit
    alerts = [m for m in messages_to(session, "o-boss") if "安全提醒" in m]
    assert len(alerts) == 1 and "绑定码" in alerts[0]
    assert "绑定成功" not in say(session, "o-fresh-account", f"绑定 {code}")
    say(session, "o-bot-x", "绑定 YG9999999999")
    assert len([m for m in messages_to(session, "o-boss") if "安全提醒" in m]) == 1  # told once


# --- owners binding to homes ------------------------------------------------------------------------
def test_many_accounts_guessing_phones_pause_self_service_binding(session, wechat_env):
    from backend.cli.demo import seed_demo

    seed_demo(session)
    supervisor(session)
    now = aware_now()
    address = parse_address("3栋2单元501")
    for n in range(binding.MAX_FAILED_ALL_PER_HOUR):
        session.add(
            BindingRequest(
                openid=f"o-bot-{n}",
                address_text="3栋2单元501",
                phone=f"1390000{n:04d}",
                reason="phone_not_listed",
                status="open",
                created_at=now - timedelta(minutes=5),
            )
        )
    session.commit()
    # The listed phone from a fresh account: refused for now, nothing bound.
    outcome = binding.bind_with_phone(session, "o-fresh", address, "13800001001", now=now)
    session.commit()
    assert outcome.status == "paused"
    assert binding.bindings_of(session, "o-fresh") == []
    assert any("安全提醒" in m for m in messages_to(session, "o-boss"))


# --- photos -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(document.cookie)",
        "data:text/html,<script>1</script>",
        "JaVaScRiPt:alert(1)",
        "//evil.example/x.png",
        'https://x.example/a"onerror="1',
        "vbscript:x",
        " javascript:x",
    ],
)
def test_a_photo_url_is_only_ever_http(session, wechat_env, url):
    ticket = tickets.create_repair(
        session, tickets.RepairRequest(openid="o-owner", description="水管漏水", contact_phone="13800001001")
    )
    tickets.attach_photo(session, "o-owner", url, "media-1")
    session.commit()
    session.refresh(ticket)
    assert [p.url for p in ticket.photos] == [""]
    assert ticket.photos[0].media_id == "media-1"  # the photo itself is still reachable by its media id


def test_wechat_photo_urls_are_kept(session, wechat_env):
    tickets.create_repair(
        session, tickets.RepairRequest(openid="o-owner", description="水管漏水", contact_phone="13800001001")
    )
    ticket = tickets.attach_photo(session, "o-owner", "http://mmbiz.qpic.cn/mmbiz_jpg/abc/0", "m")
    assert ticket.photos[-1].url == "http://mmbiz.qpic.cn/mmbiz_jpg/abc/0"


def test_a_staff_member_typing_a_photo_command_attaches_nothing(session, wechat_env):
    import time

    from backend.core.config import load_settings
    from tests.backend.crew import make_crew
    from webhook.conversation import Conversation
    from webhook.wechat import InboundMessage

    crew = make_crew(session, aware_now())
    session.commit()
    typed = "/send_photo" + json.dumps({"photo_url": "https://evil.example/x.png", "media_id": "m"})
    msg_id = str(time.time_ns())
    msg = InboundMessage(
        "gh",
        crew.plumber_a.openid,
        int(time.time()),
        "text",
        msg_id,
        content=typed,
        raw={"MsgType": "text", "Content": typed, "MsgId": msg_id},
    )
    outcome = Conversation(load_settings(), rasa=object()).handle(msg)
    assert outcome.reply and "照片" not in outcome.reply  # read as a (not understood) command


# --- secrets ----------------------------------------------------------------------------------------
def test_last_error_keeps_the_error_type_and_errcode_not_the_token_url(session, wechat_env, monkeypatch):
    from backend.messaging import wechat_api

    def fails(self, openid, text):
        raise requests.HTTPError(
            "500 Server Error for url: https://api.weixin.qq.com/cgi-bin/message/custom/send"
            "?access_token=SECRET-ACCESS-TOKEN-123"
        )

    monkeypatch.setattr(wechat_api.WeChatAPI, "send_custom_text", fails)
    row = delivery.record(session, "o-owner", "custom", "您好", purpose="reply")
    session.commit()
    delivery.send_outbound(row.id)
    session.expire_all()
    stored = session.get(OutboundMessage, row.id)
    assert "SECRET-ACCESS-TOKEN" not in (stored.last_error or "") and "access_token" not in (stored.last_error or "")
    assert stored.last_error.startswith("HTTPError")


def test_logs_never_carry_tokens_or_signatures():
    record = logging.LogRecord(
        "x",
        logging.ERROR,
        __file__,
        1,
        "call failed: %s",
        ("https://api.weixin.qq.com/cgi-bin/token?grant_type=client_credential&appid=wx1&secret=THE-APP-SECRET",),
        None,
    )
    try:
        raise requests.HTTPError("for url: https://api.weixin.qq.com/cgi-bin/message/custom/send?access_token=TOK-9")
    except requests.HTTPError:
        import sys

        record.exc_info = sys.exc_info()
    record.url = "/wechat?signature=abc123&timestamp=1&nonce=2&msg_signature=def456"
    line = JsonFormatter().format(record)
    json.loads(line)  # still one JSON object
    for secret in ("THE-APP-SECRET", "TOK-9", "abc123", "def456"):
        assert secret not in line


# --- the admin API's paging -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "query",
    [
        "limit=-1",
        "limit=0",
        "limit=201",
        "limit=99999999999999999999",
        "offset=-5",
        "offset=100000000",
        "limit=abc",
        "offset=1.5",
        "limit=٣",
    ],
)
def test_admin_api_paging_out_of_range_is_a_400(session, wechat_env, monkeypatch, query):
    from backend.core.config import load_settings
    from webhook.app import create_app
    from webhook.conversation import Conversation

    monkeypatch.setenv("ADMIN_API_TOKEN", "security-admin-token-0123")
    settings = load_settings()
    client = create_app(settings, Conversation(settings, rasa=object())).test_client()
    headers = {"Authorization": "Bearer security-admin-token-0123"}
    response = client.get(f"/api/outages?{query}", headers=headers)
    assert response.status_code == 400, response.data
    assert "之间的整数" in response.get_json()["error"]
    assert client.get("/api/outages?limit=5&offset=0", headers=headers).status_code == 200
