"""Logging in and out, the start page, and the audit log page (admin)."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from sqlalchemy import select

from backend.core.models import AuditLog, utcnow
from console import audit, users
from console.access import password_version, public, require
from console.context import db_session, limiter

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    # Only paths on this site: "//evil.example" or "https://..." would be an open redirect.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("tickets.board")


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
    wait = limiter().retry_after(ip, username)
    if wait:
        minutes = max(1, round(wait / 60))
        message = f"登录失败次数过多，请 {minutes} 分钟后再试。"
        return render_template("login.html", error=message, username=username, next=next_url), 429
    with db_session() as s:
        user = users.authenticate(s, username, password)
        if user is None:
            audit.record(s, "login_failed", username=username)
    if user is None:
        left = limiter().max_failures - limiter().failed(ip, username)
        message = "用户名或密码不正确。"
        if 0 < left <= 2:
            message += f"再错 {left} 次将暂停登录 15 分钟。"
        return render_template("login.html", error=message, username=username, next=next_url), 401
    limiter().clear(ip, username)
    with db_session() as s:
        user = s.merge(user)
        user.last_login_at = utcnow()
        g.user = user
        audit.record(s, "login", "console_user", user.id)
    session.clear()  # a fresh session (and CSRF token) on login: no session fixation
    session.permanent = True
    session["uid"] = user.id
    session["pwv"] = password_version(user)
    return redirect(_safe_next(next_url))


@bp.post("/logout")
@require("session")
def logout():
    with db_session() as s:
        audit.record(s, "logout", "console_user", g.user.id)
    session.clear()
    flash("您已退出登录。")
    return redirect(url_for("auth.login"))


@bp.get("/audit")
@require("audit.view")
def audit_log():
    with db_session() as s:
        rows = s.execute(select(AuditLog).order_by(AuditLog.id.desc()).limit(300)).scalars().all()
    return render_template("audit.html", rows=rows)
