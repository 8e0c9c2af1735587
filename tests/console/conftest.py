"""Console fixtures: the Flask app on each database (SQLite and PostgreSQL), its users, a ticket
and a handoff, and helpers that log in and submit forms with their CSRF token."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from backend.cli.demo import seed_demo
from backend.core.clock import aware_now, utcnow
from backend.core.config import load_settings
from backend.core.models import Community, ConsoleUser, House, HumanHandoff, InboundMessage, Staff, Ticket, WechatUser
from backend.core.redis_conn import get_redis
from backend.messaging import outages
from backend.owners.accounts import bind
from backend.work.tickets import RepairRequest, create_repair
from console import users
from console.app import create_app
from tests.backend.conftest import databases, db_url, engine, session  # noqa: F401 (fixtures)

PASSWORD = "correct-horse-9"
ROLES = ("admin", "supervisor", "customer_service", "technician")
OPENID = "o-owner-zhangwei"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


CONSOLE_REDIS_DB = 14


@pytest.fixture(scope="session")
def redis_url(redis_url):
    """The tests' Redis, database 14: replies queued here are never taken by a worker that
    another test session (the e2e system on database 15) is running."""
    base, db = redis_url.rsplit("/", 1)
    # Sessions side by side get neighbouring numbers (TEST_REDIS_URL .../1, .../2, ...): the
    # number below would be a neighbour's own database (its flush and key clean-up would wipe
    # this session's login counts mid-test), so small numbers move up by 8 instead.
    n = int(db)
    url = f"{base}/{n + 8 if 1 <= n <= 6 else n - 1 if n else CONSOLE_REDIS_DB}"
    get_redis(url).flushdb()
    return url


@pytest.fixture
def settings(db_url, redis_url, monkeypatch):
    # RQ jobs (replies to owners) go to the tests' Redis database, never to `make run`'s.
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.delenv("WECHAT_APPID", raising=False)
    monkeypatch.delenv("WECHAT_SECRET", raising=False)
    r = get_redis(redis_url)
    for key in r.scan_iter("console:*"):
        r.delete(key)
    r.delete("rq:queue:wuye", "rq:queue:wuye:high")
    return dataclasses.replace(load_settings(), database_url=db_url, redis_url=redis_url)


@pytest.fixture
def app(settings, engine):
    return create_app(settings, SECRET_KEY="test-secret-key")


@pytest.fixture
def accounts(engine, session):
    """One console user per role; username = role."""
    made = {role: users.create_user(session, role, PASSWORD, role, f"{role} 测试") for role in ROLES}
    session.commit()
    return made


@pytest.fixture
def world(engine, session):
    """The demo community, an owner bound to 3-2-501 who chatted and raised a ticket, a handoff."""
    seed_demo(session)
    session.flush()
    community = session.query(Community).filter_by(code="XFL").one()  # the demo has two
    house = next(
        h for h in session.query(House).all() if h.label == "3栋2单元501" and h.building.community_id == community.id
    )
    bind(session, OPENID, house)
    now = utcnow()
    session.add(WechatUser(openid=OPENID, first_seen_at=now - timedelta(hours=1), last_inbound_at=now))
    session.add(
        InboundMessage(
            dedupe_key="m1",
            openid=OPENID,
            msg_type="text",
            text="厨房水管漏水了",
            received_at=now - timedelta(minutes=5),
            status="answered",
        )
    )
    ticket = create_repair(
        session,
        RepairRequest(
            openid=OPENID,
            description="厨房水管漏水",
            contact_phone="13800001001",
            urgency="urgent",
            urgency_reason="漏水",
            facility="水管",
            place="厨房",
            house_id=house.id,
            community_id=community.id,
            source_key="test-ticket-1",
        ),
        now=now - timedelta(minutes=4),
    )
    handoff = HumanHandoff(openid=OPENID, text="我要找人工客服", created_at=now, status="open")
    session.add(handoff)
    # Saved but not yet sent: the outage pages' preview state.
    outage = outages.create(
        session,
        "XFL",
        "water",
        aware_now(now) + timedelta(hours=2),
        aware_now(now) + timedelta(hours=6),
        buildings=["3"],
        reason="二次供水水箱清洗",
    )
    session.commit()
    # Detached: reading world["ticket"].id later never starts a transaction in the test's session
    # (on SQLite that would hold the write lock the app needs).
    session.expunge_all()
    return {"ticket": ticket, "handoff": handoff, "house": house, "community": community, "outage": outage}


def hand_to_technician(session, ticket_id: int) -> int:
    """Link the `technician` login to the demo's first technician and give them this ticket (a
    technician sees only their own tickets). Returns the staff id."""
    staff_id = session.execute(select(Staff.id).where(Staff.role == "technician").order_by(Staff.id)).scalars().first()
    session.execute(
        ConsoleUser.__table__.update().where(ConsoleUser.username == "technician").values(staff_id=staff_id)
    )
    session.execute(Ticket.__table__.update().where(Ticket.id == ticket_id).values(assignee_id=staff_id))
    session.commit()
    return staff_id


def csrf_token(client, path: str = "/login") -> str:
    page = client.get(path)
    match = CSRF_RE.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path} ({page.status_code})"
    return match.group(1)


def login(client, username: str, password: str = PASSWORD):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


@pytest.fixture
def as_role(app, accounts):
    """as_role("technician") → a test client logged in with that role."""

    def make(role: str):
        client = app.test_client()
        resp = login(client, role)
        assert resp.status_code == 302, resp.get_data(as_text=True)
        return client

    return make


def post_form(client, path: str, data: dict | None = None, page: str = "/tickets"):
    """POST with the CSRF token of the logged-in session (taken from a page it can see)."""
    token = csrf_token(client, page)
    return client.post(path, data={**(data or {}), "csrf_token": token})
