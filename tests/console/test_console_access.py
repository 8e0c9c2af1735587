"""Who may reach what: every page and POST answers 302 (to login) without a login and 403 with
the wrong role; forms without their CSRF token are refused; sessions are cookie-safe."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from backend.core.models import AuditLog, ConsoleUser, TicketStep
from console.access import PERMISSIONS, can
from console.app import create_app
from tests.console.conftest import PASSWORD, ROLES, csrf_token, login, post_form

RULES = [  # (method, rule, permission)
    ("GET", "/", "session"),
    ("GET", "/tickets", "tickets.view"),
    ("GET", "/tickets/<id:ticket_id>", "tickets.view"),
    ("POST", "/tickets/<id:ticket_id>/phone", "tickets.phone"),
    ("POST", "/tickets/<id:ticket_id>/status", "tickets.status"),
    ("POST", "/tickets/<id:ticket_id>/note", "tickets.note"),
    ("POST", "/tickets/<id:ticket_id>/reply", "tickets.reply"),
    ("POST", "/tickets/<id:ticket_id>/dispatch", "tickets.dispatch"),
    ("GET", "/tickets/new", "tickets.intake"),
    ("POST", "/tickets/new", "tickets.intake"),
    ("GET", "/handoffs", "handoffs"),
    ("POST", "/handoffs/<id:handoff_id>/reply", "handoffs"),
    ("POST", "/handoffs/<id:handoff_id>/close", "handoffs"),
    ("GET", "/staff", "directory.staff"),
    ("GET", "/residents", "directory.residents"),
    ("GET", "/audit", "audit.view"),
    ("GET", "/tickets/mine", "tickets.mine"),
    ("GET", "/outages", "outages.view"),
    ("GET", "/outages/new", "outages.manage"),
    ("POST", "/outages", "outages.manage"),
    ("GET", "/outages/<id:outage_id>", "outages.view"),
    ("GET", "/outages/<id:outage_id>/progress", "outages.view"),
    ("POST", "/outages/<id:outage_id>/update", "outages.manage"),
    ("POST", "/outages/<id:outage_id>/send", "outages.manage"),
    ("POST", "/outages/<id:outage_id>/restore", "outages.manage"),
    ("POST", "/outages/<id:outage_id>/cancel", "outages.manage"),
    ("GET", "/scorecard", "scorecard"),
    ("GET", "/scorecard.csv", "scorecard"),
    ("GET", "/imports", "data.import"),
    ("POST", "/imports", "data.import"),
    ("GET", "/roster", "roster.view"),
    ("POST", "/roster/shifts", "roster.manage"),
    ("POST", "/roster/bind-code", "roster.manage"),
    ("POST", "/logout", "session"),
    ("GET", "/renovation", "renovation.view"),
    ("GET", "/renovation/pass", "renovation.view"),
    ("GET", "/renovation/<id:app_id>", "renovation.view"),
    ("POST", "/renovation/<id:app_id>/approve", "renovation.manage"),
    ("POST", "/renovation/<id:app_id>/return", "renovation.manage"),
    ("POST", "/renovation/<id:app_id>/passes", "renovation.manage"),
    ("POST", "/renovation/<id:app_id>/inspection", "renovation.inspect"),
    ("POST", "/renovation/<id:app_id>/inspections/<id:inspection_id>/resolve", "renovation.inspect"),
    ("POST", "/renovation/<id:app_id>/accept", "renovation.manage"),
    ("POST", "/renovation/<id:app_id>/resubmit", "renovation.manage"),
    ("POST", "/renovation/<id:app_id>/cancel", "renovation.manage"),
    ("POST", "/renovation/<id:app_id>/inspections/<id:inspection_id>/photos", "renovation.inspect"),
    ("GET", "/renovation/photos/<id:photo_id>", "renovation.view"),
    ("GET", "/renovation/photos/<id:photo_id>/<any(thumb):size>", "renovation.view"),
]


def routes(world):
    ids = {
        "<id:ticket_id>": str(world["ticket"].id),
        "<id:handoff_id>": str(world["handoff"].id),
        "<id:outage_id>": str(world["outage"].id),
        "<id:app_id>": "1",
        "<id:inspection_id>": "1",
        "<id:photo_id>": "1",
        "<any(thumb):size>": "thumb",
    }  # refused (302/403) before any record is read
    out = []
    for method, rule, permission in RULES:
        for placeholder, value in ids.items():
            rule = rule.replace(placeholder, value)
        out.append((method, rule, permission))
    return out


def test_every_route_is_listed_and_marked(app):
    """A new view must say who may use it; this test lists every rule so none is forgotten."""
    listed = {(rule, permission) for _, rule, permission in RULES}
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static", "healthz", "auth.login"):
            continue
        permission = getattr(app.view_functions[rule.endpoint], "_console_permission", None)
        assert permission in PERMISSIONS, rule
        assert (rule.rule, permission) in listed, f"{rule.rule} ({permission}) is not in RULES"


def test_without_login_every_route_redirects_to_login(app, world):
    client = app.test_client()
    token = csrf_token(client, "/login")
    for method, path, _ in routes(world):
        resp = client.open(path, method=method, data={"csrf_token": token} if method == "POST" else None)
        assert resp.status_code == 302, (method, path, resp.status_code)
        assert resp.location.startswith("/login"), (method, path, resp.location)


@pytest.mark.parametrize("role", ROLES)
def test_wrong_role_is_forbidden(as_role, world, role):
    client = as_role(role)
    for method, path, permission in routes(world):
        if path == "/logout":
            continue
        data = {"csrf_token": csrf_token(client, "/tickets")} if method == "POST" else None
        resp = client.open(path, method=method, data=data)
        if can(role, permission):
            assert resp.status_code != 403, (role, method, path)
            assert resp.status_code < 500, (role, method, path)
            assert not (resp.location or "").startswith("/login"), (role, method, path)
        else:
            assert resp.status_code == 403, (role, method, path, resp.status_code)
            assert "没有权限" in resp.get_data(as_text=True)


def test_an_unmarked_view_is_refused_to_everyone(app, as_role):
    @app.get("/forgot-to-mark")
    def forgot():
        return "secret"

    assert app.test_client().get("/forgot-to-mark").status_code == 403
    assert as_role("admin").get("/forgot-to-mark").status_code == 403


def test_post_without_csrf_token_is_refused(as_role, world, session):
    client = as_role("admin")
    t = world["ticket"].id
    for path, data in [
        (f"/tickets/{t}/note", {"note": "没有令牌"}),
        (f"/tickets/{t}/status", {"status": "done"}),
        (f"/tickets/{t}/reply", {"text": "你好"}),
        (f"/handoffs/{world['handoff'].id}/close", {}),
        (
            "/outages",
            {"community": "XFL", "kind": "water", "starts_at": "2030-01-01T08:00", "ends_at": "2030-01-01T12:00"},
        ),
        (f"/outages/{world['outage'].id}/send", {}),
        (f"/outages/{world['outage'].id}/cancel", {}),
        ("/imports", {"kind": "buildings"}),
        ("/roster/shifts", {"staff_id": "1"}),
        ("/roster/bind-code", {"staff_id": "1"}),
        ("/logout", {}),
    ]:
        resp = client.post(path, data=data)
        assert resp.status_code == 400, path
        assert "页面已过期" in resp.get_data(as_text=True)
    # A token from another session does not count either.
    other = as_role("supervisor")
    resp = client.post(f"/tickets/{t}/note", data={"note": "x", "csrf_token": csrf_token(other, "/tickets")})
    assert resp.status_code == 400
    notes = session.execute(select(TicketStep).where(TicketStep.kind == "note")).scalars().all()
    assert notes == []
    assert session.execute(select(AuditLog).where(AuditLog.action != "login")).first() is None


def test_login_form_needs_csrf_too(app, accounts):
    resp = app.test_client().post("/login", data={"username": "admin", "password": PASSWORD})
    assert resp.status_code == 400


def test_login_sets_a_safe_session_cookie(app, accounts):
    client = app.test_client()
    resp = login(client, "admin")
    assert resp.status_code == 302 and resp.location == "/tickets"
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # local mode: plain http://127.0.0.1
    assert client.get("/tickets").status_code == 200


def test_cookie_is_secure_outside_local_mode(settings, engine, accounts):
    deployed = dataclasses.replace(settings, wechat_appid="wx123", wechat_secret="s3cret")
    app = create_app(deployed, SECRET_KEY="k")
    resp = login(app.test_client(), "admin")
    assert "Secure" in resp.headers["Set-Cookie"]


def test_deployed_console_needs_a_secret_key(settings, engine, monkeypatch):
    monkeypatch.delenv("CONSOLE_SECRET_KEY", raising=False)
    deployed = dataclasses.replace(settings, wechat_appid="wx123", wechat_secret="s3cret")
    with pytest.raises(RuntimeError, match="CONSOLE_SECRET_KEY"):
        create_app(deployed)


def test_wrong_password_and_unknown_user(app, accounts, session):
    client = app.test_client()
    resp = login(client, "admin", "wrong-password")
    assert resp.status_code == 401
    assert "用户名或密码不正确" in resp.get_data(as_text=True)
    assert login(client, "nobody", PASSWORD).status_code == 401
    assert client.get("/tickets").status_code == 302
    failed = session.execute(select(AuditLog.username).where(AuditLog.action == "login_failed")).scalars().all()
    # An unknown name is not kept: it may be a password typed into the wrong box.
    assert sorted(failed) == ["?", "admin"]


def test_next_is_followed_only_within_the_site(app, accounts):
    client = app.test_client()
    token = csrf_token(client)
    for target, expected in [
        ("/staff?q=1", "/staff?q=1"),
        ("//evil.example/x", "/tickets"),
        ("https://evil.example", "/tickets"),
    ]:
        resp = client.post(
            "/login", data={"username": "admin", "password": PASSWORD, "next": target, "csrf_token": token}
        )
        assert resp.status_code == 302
        assert resp.location == expected
        token = csrf_token(client, "/tickets")
        client.post("/logout", data={"csrf_token": token})
        token = csrf_token(client)


def test_logout_ends_the_session(as_role, session):
    client = as_role("technician")
    resp = post_form(client, "/logout")
    assert resp.status_code == 302
    assert client.get("/tickets").status_code == 302
    actions = session.execute(select(AuditLog.action).order_by(AuditLog.id)).scalars().all()
    assert actions == ["login", "logout"]


def test_deactivating_or_a_new_password_ends_open_sessions(as_role, session):
    from console.users import set_password

    client = as_role("customer_service")
    assert client.get("/tickets").status_code == 200
    user = session.execute(select(ConsoleUser).where(ConsoleUser.username == "customer_service")).scalar_one()
    set_password(user, "another-password-1")
    session.commit()
    assert client.get("/tickets").status_code == 302

    client = as_role("technician")
    tech = session.execute(select(ConsoleUser).where(ConsoleUser.username == "technician")).scalar_one()
    tech.active = False
    session.commit()
    assert client.get("/tickets").status_code == 302
    assert login(client, "technician").status_code == 401


def test_security_headers(as_role):
    resp = as_role("admin").get("/tickets")
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["Cache-Control"] == "no-store"


def test_local_mode_keeps_one_secret_key_for_every_process(settings, engine, monkeypatch, tmp_path):
    import console.app as console_app

    monkeypatch.delenv("CONSOLE_SECRET_KEY", raising=False)
    monkeypatch.setattr(console_app, "VAR_DIR", tmp_path)
    first = create_app(settings).secret_key
    second = create_app(settings).secret_key
    assert first == second and len(first) == 64
    assert (tmp_path / "console-secret.key").stat().st_mode & 0o077 == 0
    assert [p.name for p in tmp_path.iterdir()] == ["console-secret.key"]


def test_bad_input_is_a_4xx_never_a_5xx(as_role, world):
    client = as_role("admin")
    t = world["ticket"].id
    for path in (
        "/tickets/99999999999999999999",
        "/tickets/0",
        "/tickets/-1",
        "/tickets/abc",
        "/handoffs/99999999999/close",
    ):
        assert client.get(path).status_code in (404, 405), path
    assert client.get("/tickets?q=%00").status_code == 400
    assert client.get("/residents?q=a%00b").status_code == 400
    assert post_form(client, f"/tickets/{t}/note", {"note": "a\x00b"}).status_code == 400
    assert post_form(client, f"/tickets/{t}/status", {"status": "done\x00"}).status_code == 400
    assert client.get("/tickets?community=99999999999999999999&status=%E4%B8%AD").status_code == 200
    assert client.get("/staff?q=" + "长" * 500).status_code == 200
    anon = client.application.test_client()
    token = csrf_token(anon)
    assert anon.post("/login", data={"username": "a\x00", "password": "x", "csrf_token": token}).status_code == 400
    assert anon.post("/login", data={"username": "字" * 5000, "password": "x", "csrf_token": token}).status_code == 401
