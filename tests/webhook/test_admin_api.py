"""/api/outages: auth, validation with clear 4xx, and the whole create → send → change cycle."""

from __future__ import annotations

import pytest

from backend.cli.demo import seed_demo
from backend.core import db as backend_db
from backend.core.config import load_settings
from backend.core.models import Building, House, WechatBinding
from webhook.app import create_app
from webhook.conversation import Conversation

TOKEN = "test-admin-token-123"


@pytest.fixture
def api(tmp_path, redis_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'api.db'}")
    base, db = redis_url.rsplit("/", 1)
    monkeypatch.setenv("REDIS_URL", f"{base}/{int(db) - 2 if int(db) >= 2 else 13}")  # away from e2e workers
    monkeypatch.setenv("ADMIN_API_TOKEN", TOKEN)
    settings = load_settings()
    backend_db.upgrade(settings.database_url)
    with backend_db.session_scope(backend_db.get_engine(settings.database_url)) as session:
        seed_demo(session)
        house = session.query(House).join(Building).filter(Building.code == "3").first()
        session.add(WechatBinding(openid="o-api-owner", house_id=house.id, is_current=True))
    return create_app(settings, Conversation(settings)).test_client()


def auth(token=TOKEN):
    return {"Authorization": f"Bearer {token}"}


BODY = {
    "community": "XFL",
    "kind": "water",
    "buildings": ["3", "5"],
    "starts_at": "2031-11-25T09:00",
    "ends_at": "2031-11-25T17:00",
    "reason": "市政管网维修",
}


@pytest.mark.parametrize(
    "method, path",
    [
        ("post", "/api/outages"),
        ("get", "/api/outages"),
        ("get", "/api/outages/1"),
        ("post", "/api/outages/1/update"),
        ("post", "/api/outages/1/restore"),
        ("post", "/api/outages/1/cancel"),
        ("post", "/api/outages/1/send"),
    ],
)
def test_every_endpoint_needs_the_token(api, method, path):
    assert getattr(api, method)(path, json=BODY).status_code == 401
    assert getattr(api, method)(path, json=BODY, headers=auth("wrong")).status_code == 403


def test_no_token_configured_means_closed(api, monkeypatch):
    api.application.config["ADMIN_API_TOKEN"] = ""
    response = api.get("/api/outages", headers=auth())
    assert response.status_code == 403 and "ADMIN_API_TOKEN" in response.get_json()["error"]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"kind": "wifi"}, "类型"),
        ({"buildings": ["99"]}, "楼栋"),
        ({"ends_at": "2031-11-25T08:00"}, "晚于"),
        ({"starts_at": "明天"}, "不是有效时间"),
        ({"community": "NOPE"}, "小区"),
        ({"community": None}, "缺少"),
    ],
)
def test_bad_input_gets_a_clear_400(api, change, message):
    response = api.post("/api/outages", json={**BODY, **change}, headers=auth())
    assert response.status_code == 400 and message in response.get_json()["error"]


def test_not_json_is_400_and_unknown_is_404(api):
    assert api.post("/api/outages", data="x", headers=auth()).status_code == 400
    assert api.get("/api/outages/999", headers=auth()).status_code == 404
    assert api.get("/api/nothing", headers=auth()).status_code == 404


def test_create_preview_change_and_cancel(api):
    response = api.post("/api/outages", json={**BODY, "send": False}, headers=auth())
    assert response.status_code == 201
    outage = response.get_json()
    assert outage["buildings"] == ["3", "5"] and outage["status"] == "scheduled"
    assert outage["recipients"] == {"per_building": {"3": 1}, "total": 1}
    assert outage["delivery"] == {}
    sent = api.post(f"/api/outages/{outage['id']}/send", headers=auth()).get_json()
    assert sent["delivery"]["notice"]["total"] == 1 and sent["delivery"]["notice"]["pending"] == 1
    changed = api.post(
        f"/api/outages/{outage['id']}/update",
        json={"ends_at": "2031-11-25T19:00", "note": "延长两小时"},
        headers=auth(),
    ).get_json()
    assert changed["version"] == 2 and changed["delivery"]["update2"]["total"] == 1
    cancelled = api.post(f"/api/outages/{outage['id']}/cancel", json={"reason": "改期"}, headers=auth()).get_json()
    assert cancelled["status"] == "cancelled" and "cancelled" in cancelled["delivery"]
    listing = api.get("/api/outages?community=XFL", headers=auth()).get_json()["outages"]
    assert [o["id"] for o in listing] == [outage["id"]]
    again = api.post(f"/api/outages/{outage['id']}/update", json={"note": "x"}, headers=auth())
    assert again.status_code == 400


def test_before_the_notice_changes_only_change_the_record_as_in_the_console(api):
    """The same service functions as the console and the CLI: nobody is told of a change to a cut
    they never heard of; a change needs its note; sending twice is refused."""
    outage = api.post("/api/outages", json={**BODY, "send": False}, headers=auth()).get_json()
    url = f"/api/outages/{outage['id']}"
    no_note = api.post(f"{url}/update", json={"ends_at": "2031-11-25T19:00"}, headers=auth())
    assert no_note.status_code == 400 and "变更说明" in no_note.get_json()["error"]
    changed = api.post(
        f"{url}/update", json={"ends_at": "2031-11-25T19:00", "note": "延长两小时"}, headers=auth()
    ).get_json()
    assert changed["version"] == 2 and changed["delivery"] == {}
    assert api.post(f"{url}/send", headers=auth()).status_code == 200
    again = api.post(f"{url}/send", headers=auth())
    assert again.status_code == 400 and "发过了" in again.get_json()["error"]
    assert api.post(f"{url}/restore", headers=auth()).get_json()["delivery"]["restored"]["total"] == 1
    assert api.post(f"{url}/restore", headers=auth()).status_code == 400


def test_the_utilitys_notice_time_is_recorded_for_the_scorecard(api):
    body = {**BODY, "send": False, "utility_notified_at": "2026-11-24T09:30"}
    outage = api.post("/api/outages", json=body, headers=auth()).get_json()
    from datetime import datetime, timedelta, timezone

    at = datetime.fromisoformat(outage["utility_notified_at"])
    assert at == datetime(2026, 11, 24, 9, 30, tzinfo=timezone(timedelta(hours=8)))  # Beijing time, no offset given
    future = api.post("/api/outages", json={**body, "utility_notified_at": "2031-11-24T09:30"}, headers=auth())
    assert future.status_code == 400 and "不能晚于现在" in future.get_json()["error"]
