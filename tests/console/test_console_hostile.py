"""The console against someone who means harm, or a role reaching past its part: a technician
opening or changing others' tickets and looking for owners' numbers; desk roles and the audited
显示号码; login guessing per username across addresses, per address and console-wide; `next`
open redirects; a copied cookie after logout; headers, error pages, owner-typed HTML."""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from datetime import timedelta

import pytest
from sqlalchemy import select

from backend.core.clock import aware_now, utcnow
from backend.core.models import (
    AuditLog,
    ConsoleUser,
    HumanHandoff,
    InboundMessage,
    OutboundMessage,
    Staff,
    Ticket,
    TicketAssignment,
    TicketPhoto,
    TicketStep,
)
from backend.messaging import outages
from backend.work.tickets import RepairRequest, add_step, create_repair
from console.app import create_app
from console.users import set_password
from tests.console.conftest import OPENID, PASSWORD, csrf_token, hand_to_technician, login, post_form

TYPED = "13912345678"  # the number the owner (and a colleague) typed into texts
# Any mainland mobile shown whole: 11 digits, maybe grouped, full-width folded by NFKC.
WHOLE_NUMBER = re.compile(r"(?<!\d)1[3-9]\d(?:[ \t\-]?\d){8}(?!\d)|\d{11,}")


def whole_numbers(page: str) -> list[str]:
    return WHOLE_NUMBER.findall(unicodedata.normalize("NFKC", page))


def audit(session, action):
    rows = session.execute(select(AuditLog).where(AuditLog.action == action)).scalars().all()
    session.rollback()
    return rows


@pytest.fixture
def typed(world, session):
    """A ticket that is the technician's, with numbers typed into everything an owner or a
    colleague writes; another technician's ticket; one only offered to this technician."""
    world_ticket = session.get(Ticket, world["ticket"].id)
    now = utcnow()
    mine = create_repair(
        session,
        RepairRequest(
            openid=OPENID,
            description=f"卫生间漏水，电话{TYPED}，下午在家",
            contact_phone="13800001001",
            urgency="normal",
            house_id=world_ticket.house_id,
            community_id=world_ticket.community_id,
            urgency_reason="业主说 +86-139-1234-5678 随时打",
            source_key="hostile-mine",
        ),
        now=now - timedelta(minutes=3),
    )
    add_step(session, mine, "note", "console:supervisor", note="业主另一个号码 139 1234 5678", at=now)
    session.add_all(
        [
            InboundMessage(
                dedupe_key="h1",
                openid=OPENID,
                msg_type="text",
                text=f"我的电话是{TYPED}，快来",
                received_at=now - timedelta(minutes=2),
                status="answered",
            ),
            InboundMessage(
                dedupe_key="h2",
                openid=OPENID,
                msg_type="text",
                text="全角号码１３９１２３４５６７８",
                received_at=now - timedelta(minutes=1),
                status="answered",
            ),
            OutboundMessage(
                openid=OPENID,
                channel="passive",
                content=f"好的，我们会打 {TYPED} 联系您",
                status="sent",
                created_at=now - timedelta(minutes=1),
            ),
            HumanHandoff(openid=OPENID, text=f"人工！打我电话{TYPED}", created_at=now, status="open"),
        ]
    )
    people = session.execute(select(Staff).where(Staff.role == "technician").order_by(Staff.id)).scalars().all()
    others = create_repair(
        session,
        RepairRequest(
            openid="o-other", description="楼道灯不亮", contact_phone="13800002222", source_key="hostile-other"
        ),
        now=now,
    )
    others.assignee_id = people[1].id
    offered = create_repair(
        session,
        RepairRequest(
            openid="o-offered", description="下水道堵了", contact_phone="13800003333", source_key="hostile-offered"
        ),
        now=now,
    )
    session.flush()
    session.add(
        TicketAssignment(
            ticket_id=offered.id, staff_id=people[0].id, status="pending", assigned_at=now, reason=f"业主留的 {TYPED}"
        )
    )
    outage = outages.create(
        session,
        "XFL",
        "power",
        aware_now(now) + timedelta(hours=3),
        aware_now(now) + timedelta(hours=5),
        buildings=["3"],
        reason=f"线路检修，电工电话{TYPED}",
    )
    session.commit()
    ids = {
        "mine": mine.id,
        "others": others.id,
        "offered": offered.id,
        "world": world_ticket.id,
        "outage": outage.id,
        "mine_number": mine.number,
        "others_number": others.number,
        "offered_number": offered.number,
        "world_number": world_ticket.number,
    }
    hand_to_technician(session, mine.id)  # people[0]
    session.expunge_all()
    return ids


# --- a technician sees and changes only their own tickets -----------------------------------------
def test_a_technicians_board_shows_only_their_tickets(as_role, typed):
    client = as_role("technician")
    for query in ("", "?status=", "?status=new", "?q=BX"):
        page = client.get("/tickets" + query).get_data(as_text=True)
        assert typed["others_number"] not in page and typed["world_number"] not in page, query
    page = client.get("/tickets").get_data(as_text=True)
    assert typed["mine_number"] in page and typed["offered_number"] in page
    # The desk sees all of them.
    page = as_role("customer_service").get("/tickets").get_data(as_text=True)
    assert all(typed[k] in page for k in ("mine_number", "others_number", "offered_number", "world_number"))


def test_a_technician_cannot_open_or_change_anothers_ticket(as_role, typed, session):
    client = as_role("technician")
    assert client.get(f"/tickets/{typed['mine']}").status_code == 200
    assert client.get(f"/tickets/{typed['offered']}").status_code == 200
    for key in ("others", "world"):
        t = typed[key]
        assert client.get(f"/tickets/{t}").status_code == 404
        assert post_form(client, f"/tickets/{t}/note", {"note": "偷偷加的备注"}).status_code == 404
        assert post_form(client, f"/tickets/{t}/status", {"status": "done"}).status_code == 404
        assert post_form(client, f"/tickets/{t}/status", {"status": "nonsense"}).status_code == 404
        assert post_form(client, f"/tickets/{t}/phone").status_code in (403, 404)
    assert session.execute(select(TicketStep).where(TicketStep.note == "偷偷加的备注")).first() is None
    assert {
        t.status
        for t in session.execute(select(Ticket).where(Ticket.id.in_((typed["others"], typed["world"])))).scalars()
    } == {"new"}
    session.rollback()
    assert audit(session, "ticket.note") == [] and audit(session, "ticket.status") == []
    # Their own ticket they may change.
    assert post_form(client, f"/tickets/{typed['mine']}/note", {"note": "已到场"}).status_code == 302


def test_a_ticket_passed_on_leaves_the_technicians_view(as_role, typed, session):
    client = as_role("technician")
    assert client.get(f"/tickets/{typed['offered']}").status_code == 200
    row = session.execute(select(TicketAssignment).where(TicketAssignment.ticket_id == typed["offered"])).scalar_one()
    row.status = "timed_out"
    session.commit()
    assert client.get(f"/tickets/{typed['offered']}").status_code == 404
    assert typed["offered_number"] not in client.get("/tickets/mine").get_data(as_text=True)


def test_a_technician_without_a_staff_record_sees_no_ticket(as_role, typed, session):
    session.execute(ConsoleUser.__table__.update().where(ConsoleUser.username == "technician").values(staff_id=None))
    session.commit()
    client = as_role("technician")
    assert "没有符合条件的工单" in client.get("/tickets?status=").get_data(as_text=True)
    assert client.get(f"/tickets/{typed['mine']}").status_code == 404


# --- phone numbers --------------------------------------------------------------------------------
def test_a_technician_never_sees_a_whole_phone_number(as_role, typed, session):
    client = as_role("technician")
    pages = [
        "/tickets",
        "/tickets?status=",
        "/tickets/mine",
        f"/tickets/{typed['mine']}",
        f"/tickets/{typed['offered']}",
        "/outages",
        f"/outages/{typed['outage']}",
        "/roster",
        "/staff",
    ]
    for path in pages:
        resp = client.get(path)
        assert resp.status_code == 200, path
        assert whole_numbers(resp.get_data(as_text=True)) == [], path
    page = client.get(f"/tickets/{typed['mine']}").get_data(as_text=True)
    assert "139****5678" in page and "138****1001" in page  # masked, still recognisable
    assert "显示号码" not in page
    # Nor by asking for it: the reveal is the desk's, and nothing is logged as seen.
    resp = post_form(client, f"/tickets/{typed['mine']}/phone")
    assert resp.status_code == 403 and whole_numbers(resp.get_data(as_text=True)) == []
    assert audit(session, "ticket.phone_viewed") == []


@pytest.mark.parametrize("role", ["admin", "supervisor", "customer_service"])
def test_the_desk_sees_masked_numbers_until_it_presses_reveal(as_role, typed, session, role):
    client = as_role(role)
    pages = [
        "/tickets",
        f"/tickets/{typed['mine']}",
        f"/tickets/{typed['world']}",
        "/handoffs",
        "/residents",
        "/staff",
        f"/outages/{typed['outage']}",
    ] + (["/audit"] if role == "admin" else [])
    for path in pages:
        assert whole_numbers(client.get(path).get_data(as_text=True)) == [], (role, path)
    assert audit(session, "ticket.phone_viewed") == []
    resp = post_form(client, f"/tickets/{typed['mine']}/phone")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    # The ticket's contact number, whole, for calling; the numbers typed into texts stay masked.
    assert set(whole_numbers(page)) == {"13800001001"} and 'href="tel:13800001001"' in page
    [row] = audit(session, "ticket.phone_viewed")
    assert row.username == role and row.target_id == str(typed["mine"])
    assert "13800001001" not in (row.detail or "")


# --- logging in -----------------------------------------------------------------------------------
@pytest.fixture
def proxied(settings, engine, accounts):
    """The console behind a reverse proxy that passes the client's address on (CONSOLE_BEHIND_PROXY=1)."""
    return create_app(dataclasses.replace(settings, console_behind_proxy=True), SECRET_KEY="proxied-secret")


def login_from(client, ip: str, username: str, password: str = PASSWORD):
    client.environ_base["HTTP_X_FORWARDED_FOR"] = ip
    return login(client, username, password)


def test_one_username_guessed_from_many_addresses_is_paused(proxied):
    owner = proxied.test_client()  # the account's owner has logged in from this browser before
    assert login_from(owner, "10.1.0.1", "admin").status_code == 302
    for n in range(20):  # one guess from each of 20 addresses: no single address is ever paused
        assert login_from(proxied.test_client(), f"198.51.100.{n + 1}", "admin", f"guess-{n}").status_code == 401
    resp = login_from(proxied.test_client(), "203.0.113.7", "admin")  # even the right password
    assert resp.status_code == 429 and "登录失败次数过多" in resp.get_data(as_text=True)
    assert int(resp.headers["Retry-After"]) > 60
    # Other users are not affected; the account's owner, on a browser known for it, still gets in.
    assert login_from(proxied.test_client(), "203.0.113.7", "supervisor").status_code == 302
    owner.post("/logout", data={"csrf_token": csrf_token(owner, "/tickets")})
    assert login_from(owner, "10.1.0.99", "admin").status_code == 302


def test_one_address_trying_many_usernames_is_paused_but_known_colleagues_get_in(proxied):
    office = "192.0.2.10"  # everyone behind one proxy
    colleague = proxied.test_client()
    assert login_from(colleague, office, "supervisor").status_code == 302
    colleague.post("/logout", data={"csrf_token": csrf_token(colleague, "/tickets")})
    sprayer = proxied.test_client()
    for n in range(30):  # one password against many usernames
        assert login_from(sprayer, office, f"user{n}", "Password1").status_code == 401
    resp = login_from(sprayer, office, "admin")
    assert resp.status_code == 429
    assert login_from(proxied.test_client(), office, "customer_service").status_code == 429  # a new browser waits
    assert login_from(colleague, office, "supervisor").status_code == 302  # a known one does not
    assert login_from(proxied.test_client(), "192.0.2.11", "customer_service").status_code == 302


def test_a_locked_user_and_address_does_not_lock_other_users_behind_that_proxy(proxied):
    office = "192.0.2.20"
    client = proxied.test_client()
    for _ in range(5):
        assert login_from(client, office, "admin", "wrong").status_code == 401
    assert login_from(client, office, "admin").status_code == 429
    for role in ("supervisor", "customer_service", "technician"):
        assert login_from(proxied.test_client(), office, role).status_code == 302, role


def test_forwarded_for_is_ignored_unless_behind_a_proxy(app, accounts):
    for n in range(5):
        client = app.test_client()
        client.environ_base["HTTP_X_FORWARDED_FOR"] = f"198.51.100.{n}"
        assert login(client, "admin", "wrong").status_code == 401
    client = app.test_client()
    client.environ_base["HTTP_X_FORWARDED_FOR"] = "198.51.100.200"
    assert login(client, "admin").status_code == 429


def test_many_passwords_from_many_addresses_are_slowed_console_wide(settings, engine, accounts):
    app = create_app(
        dataclasses.replace(settings, console_behind_proxy=True),
        SECRET_KEY="k",
        LOGIN_GLOBAL_FAILURES=6,
        LOGIN_GLOBAL_SLOT_SECONDS=30,
    )
    known = app.test_client()
    assert login_from(known, "10.9.0.1", "supervisor").status_code == 302
    known.post("/logout", data={"csrf_token": csrf_token(known, "/tickets")})
    for n in range(6):
        assert login_from(app.test_client(), f"198.51.100.{n}", ("admin", "technician")[n % 2], "x").status_code == 401
    # Past the console-wide count one attempt goes through per slot; the next waits (slowed, not locked).
    assert login_from(app.test_client(), "203.0.113.1", "admin", "x").status_code == 401
    resp = login_from(app.test_client(), "203.0.113.2", "customer_service")
    assert resp.status_code == 429 and "稍等几秒" in resp.get_data(as_text=True)
    assert resp.headers["Retry-After"] == "30"
    assert login_from(known, "10.9.0.1", "supervisor").status_code == 302  # a known browser is not slowed


def test_the_audit_log_never_keeps_a_password_typed_as_a_username(app, accounts, session):
    client = app.test_client()
    assert login(client, PASSWORD, "").status_code == 401  # password typed into the username box
    assert login(client, "admin", "Tr0ub4dor&3").status_code == 401
    rows = session.execute(select(AuditLog)).scalars().all()
    assert rows and all(PASSWORD not in (r.username or "") + (r.detail or "") for r in rows)
    assert all("Tr0ub4dor" not in (r.username or "") + (r.detail or "") for r in rows)


@pytest.mark.parametrize(
    "target",
    [
        "/\t/evil.example",
        "/\n/evil.example",
        "/\r\n/evil.example",
        "//evil.example",
        "///evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "/\\/evil.example",
        "https://evil.example/",
        "http:evil.example",
        "javascript:alert(1)",
        " //evil.example",
        "\x0b//evil.example",
        "/\x00/evil.example",
        "/\u3000/evil.example",
        "//evil.example/%2F..",
        "evil.example",
        "/tickets\x7f",
    ],
)
def test_next_never_leaves_the_site(app, accounts, target):
    client = app.test_client()
    resp = client.post(
        "/login", data={"username": "admin", "password": PASSWORD, "next": target, "csrf_token": csrf_token(client)}
    )
    assert resp.status_code in (302, 400), resp.status_code
    if resp.status_code == 302:
        assert resp.location == "/tickets"
        # Logged in: a GET of /login?next=... redirects too, and as safely.
        assert client.get("/login", query_string={"next": target}).location == "/tickets"


def test_next_keeps_a_path_on_the_site(app, accounts):
    client = app.test_client()
    resp = client.post(
        "/login",
        data={"username": "admin", "password": PASSWORD, "next": "/tickets/7?x=漏水", "csrf_token": csrf_token(client)},
    )
    assert resp.location == "/tickets/7?x=%E6%BC%8F%E6%B0%B4"  # the same path, percent-encoded


# --- sessions -------------------------------------------------------------------------------------
def test_logging_out_ends_the_session_even_for_a_copied_cookie(as_role, app):
    client = as_role("supervisor")
    stolen = app.test_client()
    stolen.set_cookie("wuye_console", client.get_cookie("wuye_console").value)
    assert stolen.get("/tickets").status_code == 200
    assert post_form(client, "/logout").status_code == 302
    resp = stolen.get("/tickets")
    assert resp.status_code == 302 and resp.location.startswith("/login")


def test_a_new_password_ends_a_copied_session_too(as_role, app, session):
    client = as_role("admin")
    stolen = app.test_client()
    stolen.set_cookie("wuye_console", client.get_cookie("wuye_console").value)
    user = session.execute(select(ConsoleUser).where(ConsoleUser.username == "admin")).scalar_one()
    set_password(user, "a-brand-new-pass")
    session.commit()
    assert stolen.get("/tickets").status_code == 302


def test_a_session_cookie_planted_before_login_is_not_the_one_after(app, accounts):
    client = app.test_client()
    client.get("/login")
    planted = client.get_cookie("wuye_console").value
    assert login(client, "admin").status_code == 302
    assert client.get_cookie("wuye_console").value != planted
    victim_copy = app.test_client()
    victim_copy.set_cookie("wuye_console", planted)
    assert victim_copy.get("/tickets").status_code == 302


def test_logout_needs_its_csrf_token(as_role):
    client = as_role("admin")
    assert client.post("/logout").status_code == 400
    assert client.get("/tickets").status_code == 200


# --- responses ------------------------------------------------------------------------------------
def test_security_headers_on_every_kind_of_response(app, as_role):
    @app.get("/boom")
    def boom():
        raise RuntimeError("secret detail in a traceback")

    boom._console_permission = None  # public, like /login
    client = as_role("admin")
    responses = {
        "page": client.get("/tickets"),
        "login": app.test_client().get("/login"),
        "redirect": app.test_client().get("/tickets"),
        "404": client.get("/tickets/99999"),
        "403": as_role("technician").get("/audit"),
        "static": client.get("/static/console.css"),
        "500": client.get("/boom"),
    }
    for name, resp in responses.items():
        h = resp.headers
        assert h["X-Frame-Options"] == "DENY", name
        assert h["X-Content-Type-Options"] == "nosniff", name
        assert h["Referrer-Policy"] == "same-origin", name
        csp = h["Content-Security-Policy"]
        for directive in ("frame-ancestors 'none'", "base-uri 'none'", "object-src 'none'", "form-action 'self'"):
            assert directive in csp, (name, directive)
    error = responses["500"]
    assert error.status_code == 500
    body = error.get_data(as_text=True)
    assert "Traceback" not in body and "secret detail" not in body and "RuntimeError" not in body
    assert "系统出了点问题" in body


def test_owner_text_is_never_html_and_photos_come_only_from_photo_rows(as_role, typed, session):
    now = utcnow()
    session.add_all(
        [
            InboundMessage(
                dedupe_key="x1",
                openid=OPENID,
                msg_type="text",
                text='<script>alert(1)</script><a href="javascript:alert(2)">点我</a> https://evil.example/x.jpg',
                received_at=now,
                status="answered",
            ),
            TicketPhoto(ticket_id=typed["mine"], url="javascript:alert(3)", media_id="m1", created_at=now),
            TicketPhoto(ticket_id=typed["mine"], url="https://mmbiz.qpic.cn/ok.jpg", media_id="m2", created_at=now),
        ]
    )
    session.commit()
    for role in ("technician", "customer_service"):
        page = as_role(role).get(f"/tickets/{typed['mine']}").get_data(as_text=True)
        assert "<script>alert(1)" not in page and "&lt;script&gt;" in page
        assert 'href="javascript:' not in page and 'src="javascript:' not in page
        assert 'src="https://evil.example' not in page and 'href="https://evil.example' not in page
        assert '<img src="https://mmbiz.qpic.cn/ok.jpg"' in page
    page = as_role("supervisor").get("/handoffs").get_data(as_text=True)
    assert "<script>alert(1)" not in page and 'href="javascript:' not in page
