"""Who may call /api: a bearer token (ADMIN_API_TOKEN) for scripts and integrations.

The staff console authenticates its own users and calls `backend` directly; it can also put a
signed-in staff member on `g.api_actor` and pass this check (see `allow_session`)."""

from __future__ import annotations

import hmac
from functools import wraps

from flask import current_app, g, jsonify, request

ALLOWED_ROLES = ("admin", "supervisor", "customer_service")


def _token_ok() -> bool:
    expected = current_app.config["ADMIN_API_TOKEN"]
    header = request.headers.get("Authorization", "")
    given = header[7:].strip() if header.lower().startswith("bearer ") else ""
    return bool(expected) and bool(given) and hmac.compare_digest(given.encode(), expected.encode())


def require_staff(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if getattr(g, "api_actor", None):
            return view(*args, **kwargs)
        if not current_app.config["ADMIN_API_TOKEN"]:
            return jsonify(error="管理接口未开启：请设置 ADMIN_API_TOKEN"), 403
        if not request.headers.get("Authorization"):
            return jsonify(error="需要登录或 API token"), 401, {"WWW-Authenticate": "Bearer"}
        if not _token_ok():
            return jsonify(error="API token 不对"), 403
        g.api_actor = "api"
        return view(*args, **kwargs)

    return wrapper
