"""Logging in and out, the start page, and the audit log page (admin)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import Blueprint, current_app, flash, g, make_response, redirect, render_template, request, session, url_for
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import select

from backend.core.clock import utcnow
from backend.core.models import AuditLog
from console import audit, sessions, users
from console.access import password_version, public, require
from console.context import db_session, limiter, settings
from console.labels import same_site_path

bp = Blueprint("auth", __name__)

# A browser that has logged in as a user carries this (signed) for half a year, so the
# username-wide, address-wide and global login limits do not shut that user out (see
# console.ratelimit). Sent only to /login; it opens nothing by itself.
KNOWN_BROWSER_COOKIE = "wuye_console_known"
KNOWN_BROWSER_DAYS = 180
KNOWN_BROWSER_USERS = 5  # a shared desk PC: the last few who logged in on it


def _safe_next(target: str | None) -> str:
    return target if target and same_site_path(target) else url_for("tickets.board")


def _known_browser_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="console-known-browser")


def _known_browser() -> dict | None:
    raw = request.cookies.get(KNOWN_BROWSER_COOKIE)
    if not raw or len(raw) > 2000:
        return None
    try:
        data = _known_browser_serializer().loads(raw, max_age=KNOWN_BROWSER_DAYS * 86400)
    except BadData:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("n"), str) or not isinstance(data.get("u"), list):
        return None
    return data


def _user_mark(username: str) -> str:
    # The cookie names its users by a keyed digest: a look at a shared PC's cookies tells nobody
    # who works on it.
    key = current_app.secret_key
    key = key if isinstance(key, bytes) else str(key).encode()
    return hmac.new(key, ("known-browser\n" + username).encode(), hashlib.sha256).hexdigest()[:16]


def _remember_browser(resp, username: str, known: dict | None) -> None:
    known = known or {"n": secrets.token_urlsafe(16), "u": []}
    mark = _user_mark(username)
    names = [mark] + [u for u in known["u"] if u != mark]
    value = _known_browser_serializer().dumps({"n": known["n"], "u": names[:KNOWN_BROWSER_USERS]})
    resp.set_cookie(
        KNOWN_BROWSER_COOKIE,
        value,
        max_age=KNOWN_BROWSER_DAYS * 86400,
        path=url_for("auth.login"),
        httponly=True,
        samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )


def _login_page(status: int, **context):
    return render_template("login.html", **context), status


@bp.get("/")
@require("session")
def index():
    return redirect(url_for("tickets.board"))


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if request.method == "GET":
        if g.user is not None:
            return redirect(_safe_next(request.args.get("next")))
        return render_template("login.html", next=request.args.get("next", ""))
    username = (request.form.get("username") or "").strip().lower()[:64]
    password = request.form.get("password") or ""
    next_url = request.form.get("next", "")
    ip = request.remote_addr or ""
    known = _known_browser()
    device = known["n"] if known and _user_mark(username) in known["u"] else None
    form = {"username": username, "next": next_url}
    wait = limiter().retry_after(ip, username, device)
    if wait:
        if wait.busy:
            message = "现在登录的人较多，请稍等几秒再试。"
        else:
            message = f"登录失败次数过多，请 {max(1, round(wait.seconds / 60))} 分钟后再试。"
        resp = make_response(_login_page(429, error=message, **form))
        resp.headers["Retry-After"] = str(wait.seconds)
        return resp
    with db_session() as s:
        user = users.authenticate(s, username, password)
        if user is None:
            # Only a real account's name goes into the log: what was typed may be a password
            # pasted into the wrong box.
            real = users.find(s, username) is not None
            audit.record(s, "login_failed", username=username if real else "?", unknown_user=not real)
    if user is None:
        left = limiter().failed(ip, username, device)
        message = "用户名或密码不正确。"
        if 0 < left <= 2:
            message += f"再错 {left} 次将暂停登录 15 分钟。"
        return _login_page(401, error=message, **form)
    limiter().clear(ip, username, device)
    try:
        sid = sessions.start(settings().redis_url, user.id, int(current_app.permanent_session_lifetime.total_seconds()))
    except sessions.Unavailable:
        return _login_page(503, error="暂时无法登录，请稍后再试。", **form)
    with db_session() as s:
        user = s.merge(user)
        user.last_login_at = utcnow()
        g.user = user
        audit.record(s, "login", "console_user", user.id)
    session.clear()  # a fresh session (and CSRF token) on login: no session fixation
    session.permanent = True
    session["uid"] = user.id
    session["sid"] = sid
    session["pwv"] = password_version(user)
    resp = redirect(_safe_next(next_url))
    _remember_browser(resp, username, known)
    return resp


@bp.post("/logout")
@require("session")
def logout():
    with db_session() as s:
        audit.record(s, "logout", "console_user", g.user.id)
    sessions.end(settings().redis_url, session.get("sid"))  # a copy of the cookie stops working too
    session.clear()
    flash("您已退出登录。")
    return redirect(url_for("auth.login"))


@bp.get("/audit")
@require("audit.view")
def audit_log():
    with db_session() as s:
        rows = s.execute(select(AuditLog).order_by(AuditLog.id.desc()).limit(300)).scalars().all()
    return render_template("audit.html", rows=rows)
