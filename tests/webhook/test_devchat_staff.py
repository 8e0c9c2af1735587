"""Local mode: /dev/chat can play a technician; the outbox shows the task and the owner's updates."""

from __future__ import annotations

import pytest

from backend.cli.demo import seed_demo
from backend.core import db as backend_db
from backend.core.config import load_settings
from backend.text.addresses import Address
from backend.work import dispatch
from backend.work.tickets import RepairRequest, create_repair
from webhook.app import create_app
from webhook.conversation import Conversation


class NoAssistant:
    """Staff messages must never reach the owner assistant."""

    def send(self, *args, **kwargs):
        raise AssertionError("a staff message reached the assistant")

    def healthy(self):
        return True


@pytest.fixture
def client(tmp_path, redis_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'local.db'}")
    monkeypatch.setenv("REDIS_URL", redis_url)
    for name in ("WECHAT_APPID", "WECHAT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.local_mode
    backend_db.upgrade(settings.database_url)
    with backend_db.session_scope(backend_db.get_engine(settings.database_url)) as session:
        seed_demo(session, local_mode=True)
    app = create_app(settings, Conversation(settings, rasa=NoAssistant()))
    return app.test_client(), settings


def test_play_the_plumber_in_the_local_chat(client):
    http, settings = client
    people = {p["name"]: p for p in http.get("/dev/chat/people").get_json()["staff"]}
    assert people["王师傅"]["openid"] == "dev-wang" and people["王师傅"]["role"] == "维修师傅"

    with backend_db.session_scope(backend_db.get_engine(settings.database_url)) as session:
        ticket = create_repair(
            session,
            RepairRequest(
                openid="dev-owner",
                description="厨房水管漏水",
                contact_phone="13800001001",
                urgency="urgent",
                facility="水管",
                address=Address("3", "2", "501"),
                location_label="3栋2单元501",
            ),
        )
        number, ticket_id = ticket.number, ticket.id
    assert dispatch.dispatch_ticket(ticket_id) == "dispatched"

    items = http.get("/dev/chat/outbox?after=0&openid=dev-wang").get_json()["items"]
    [task] = [i for i in items if number in i["content"]]
    assert task["channel"] == "template" and "3栋2单元501" in task["content"]

    reply = http.post("/dev/chat/send", json={"openid": "dev-wang", "text": "接单"}).get_json()
    assert reply["status"] == "answered" and "已接单" in reply["reply"] and number in reply["reply"]
    to_owner = http.get("/dev/chat/outbox?after=0&openid=dev-owner").get_json()["items"]
    assert any("王师傅已经接单" in i["content"] for i in to_owner)


def test_the_page_offers_the_staff_identities(client):
    http, _ = client
    page = http.get("/dev/chat").get_data(as_text=True)
    assert 'id="who"' in page and "接单" in page
