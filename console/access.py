"""Who may do what. Every view is marked `public` or `require(permission)`; unmarked views are
refused to everyone (fail closed). No login → 302 to the login page; wrong role → 403."""

from __future__ import annotations

from flask import abort, current_app, g, redirect, request, session, url_for

from backend.core.models import CONSOLE_ROLES, ConsoleUser
from console import sessions
from console.context import db_session, settings

ROLE_LABELS = {
    "admin": "管理员",
    "supervisor": "主管",
    "customer_service": "客服",
    "technician": "维修师傅",
}
assert set(ROLE_LABELS) == set(CONSOLE_ROLES)

_DESK = {"admin", "supervisor", "customer_service"}
PERMISSIONS: dict[str, set[str]] = {
    # Technicians see (and act on) only the tickets assigned or offered to them; the desk all.
    "tickets.view": set(CONSOLE_ROLES),
    "tickets.all": _DESK,
    # The owner's whole number (audited): the desk only; a technician never sees one.
    "tickets.phone": _DESK,
    "tickets.note": set(CONSOLE_ROLES),
    "tickets.status": set(CONSOLE_ROLES),
    "tickets.reply": _DESK,
    "tickets.dispatch": _DESK,
    # 新建工单: the desk records what owners report by phone, in person or on a patrol.
    "tickets.intake": _DESK,
    "handoffs": _DESK,
    # Residents' names and (masked) numbers: the desk only, not every technician.
    "directory.residents": _DESK,
    "directory.staff": set(CONSOLE_ROLES),
    "audit.view": {"admin"},
    # Technicians see outages (owners ask them); the desk announces and changes them.
    "outages.view": set(CONSOLE_ROLES),
    "outages.manage": _DESK,
    "scorecard": {"admin", "supervisor"},
    "data.import": {"admin", "supervisor"},
    "roster.view": set(CONSOLE_ROLES),
    "roster.manage": {"admin", "supervisor"},
    "tickets.mine": set(CONSOLE_ROLES),
    # 装修管理: everyone sees applications and checks passes; technicians record inspections;
    # the desk approves, returns, issues passes and accepts.
    "renovation.view": set(CONSOLE_ROLES),
    "renovation.inspect": set(CONSOLE_ROLES),
    "renovation.manage": _DESK,
    "session": set(CONSOLE_ROLES),  # anyone logged in: log out
}


def can(role: str | None, permission: str) -> bool:
    return role in PERMISSIONS[permission]


def public(view):
    view._console_permission = None
    return view


def require(permission: str):
    if permission not in PERMISSIONS:
        raise KeyError(permission)

    def mark(view):
        view._console_permission = permission
        return view

    return mark


def _session_user() -> ConsoleUser | None:
    uid = session.get("uid")
    if uid is None:
        return None
    # Logged out (or never logged in through this server): the session id is gone from Redis.
    if not sessions.valid(settings().redis_url, session.get("sid"), uid):
        session.clear()
        return None
    with db_session() as s:
        user = s.get(ConsoleUser, uid)
    # A changed password or a deactivated account ends every session at once.
    if user is None or not user.active or session.get("pwv") != password_version(user):
        session.clear()
        return None
    return user


def password_version(user: ConsoleUser) -> str:
    return user.password_hash[-12:]


def load_user_and_check():
    if request.endpoint is None:  # 404/405: let Flask answer
        return None
    view = current_app.view_functions[request.endpoint]
    if request.endpoint == "static":
        return None
    if not hasattr(view, "_console_permission"):
        abort(403)
    permission = view._console_permission
    g.user = _session_user()
    if permission is None:
        return None
    if g.user is None:
        target = request.full_path if request.method == "GET" else request.path
        return redirect(url_for("auth.login", next=target.rstrip("?")))
    if not can(g.user.role, permission):
        abort(403)
    return None
