"""The console's Flask app: sessions, CSRF, access control by default, security headers.

Every view declares who may use it (console.access.require); a view that forgets is refused to
everyone, so a new page is never accidentally public.
"""

from __future__ import annotations

import logging
import os
import secrets
from datetime import timedelta
from pathlib import Path

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf
from werkzeug.exceptions import BadRequest, HTTPException
from werkzeug.routing import IntegerConverter

from backend.core import metrics
from backend.core.config import VAR_DIR, Settings, load_settings
from backend.core.db import get_engine
from console import access, auth, data, directory, handoffs, intake, labels, outages, renovation, scorecard, tickets
from console.ratelimit import Limits, LoginLimiter

log = logging.getLogger(__name__)
csrf = CSRFProtect()


def _secret_key(settings: Settings) -> str:
    key = settings.console_secret_key
    if key:
        return key
    if not settings.local_mode:
        raise RuntimeError("CONSOLE_SECRET_KEY must be set when the console runs with WeChat credentials")
    # Local mode: one key kept under var/, so every gunicorn worker and restart shares it. Written
    # to a temporary file and linked into place: two workers starting together agree on one key.
    path = Path(VAR_DIR) / "console-secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process won; use its key
        finally:
            tmp.unlink()
    return path.read_text().strip()


def _cookie_secure(settings: Settings) -> bool:
    if settings.console_cookie_secure is not None:
        return settings.console_cookie_secure
    # Deployed (WeChat credentials set) means behind HTTPS; locally it is plain http://127.0.0.1.
    return not settings.local_mode


class RecordId(IntegerConverter):
    """A record id in a URL: a positive 32-bit integer, so /tickets/99999999999 is a 404 and not
    a database overflow."""

    def __init__(self, map):
        super().__init__(map, min=1, max=2**31 - 1)


# Pages that take a file get a bigger body than the app's small default (forms only).
UPLOAD_LIMITS = {
    "data.run_import": 5 * 1024 * 1024,
    "renovation.inspect": renovation.PHOTO_UPLOAD_LIMIT,
    "renovation.add_photos": renovation.PHOTO_UPLOAD_LIMIT,
}


def _upload_limit() -> None:
    limit = UPLOAD_LIMITS.get(request.endpoint or "")
    if limit:
        request.max_content_length = limit


def _refuse_nul() -> None:
    # PostgreSQL cannot store NUL in text; no real form or link carries one.
    for values in (request.args, request.form):
        if any("\x00" in key or "\x00" in value for key, value in values.items(multi=True)):
            raise BadRequest("NUL in request")


def create_app(settings: Settings | None = None, **config) -> Flask:
    settings = settings or load_settings()
    app = Flask(__name__)
    # Every value a page prints passes labels.shown: phone numbers in it are masked (before
    # the environment exists, so every template is compiled with it).
    app.jinja_options = {**app.jinja_options, "finalize": labels.shown}
    app.config.update(
        SECRET_KEY=config.pop("SECRET_KEY", None) or _secret_key(settings),
        SESSION_COOKIE_NAME="wuye_console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=_cookie_secure(settings),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        MAX_CONTENT_LENGTH=256 * 1024,
        # Login limits: the numbers and why are in console/ratelimit.py.
        LOGIN_MAX_FAILURES=Limits.pair,
        LOGIN_USER_FAILURES=Limits.user,
        LOGIN_IP_FAILURES=Limits.ip,
        LOGIN_WINDOW_SECONDS=Limits.window,
        LOGIN_GLOBAL_FAILURES=Limits.global_failures,
        LOGIN_GLOBAL_WINDOW_SECONDS=Limits.global_window,
        LOGIN_GLOBAL_SLOT_SECONDS=Limits.global_slot,
    )
    app.config.update(config)
    app.extensions["console.settings"] = settings
    app.extensions["console.engine"] = get_engine(settings.database_url)
    c = app.config
    app.extensions["console.limiter"] = LoginLimiter(
        settings.redis_url,
        Limits(
            pair=c["LOGIN_MAX_FAILURES"],
            user=c["LOGIN_USER_FAILURES"],
            ip=c["LOGIN_IP_FAILURES"],
            window=c["LOGIN_WINDOW_SECONDS"],
            global_failures=c["LOGIN_GLOBAL_FAILURES"],
            global_window=c["LOGIN_GLOBAL_WINDOW_SECONDS"],
            global_slot=c["LOGIN_GLOBAL_SLOT_SECONDS"],
        ),
    )
    if settings.console_behind_proxy:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)
    app.url_map.converters["id"] = RecordId
    app.before_request(_upload_limit)  # before anything reads the body
    app.before_request(_refuse_nul)
    csrf.init_app(app)
    labels.register(app)
    # The token is random text and must reach the form as it is (never "masked").
    app.jinja_env.globals["csrf_token"] = lambda: labels.unmasked(generate_csrf())

    for module in (auth, intake, tickets, handoffs, directory, outages, renovation, scorecard, data):
        app.register_blueprint(module.bp)
    app.before_request(access.load_user_and_check)

    @app.after_request
    def _headers(resp):
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        # Photos come from WeChat's image servers (http or https); nothing else leaves the site.
        resp.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data: https: http:; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
        )
        if app.config["SESSION_COOKIE_SECURE"]:
            resp.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if request.endpoint != "static":
            resp.headers.setdefault("Cache-Control", "no-store")
        return resp

    @app.after_request
    def _count(resp):
        # Route names, not paths: a bounded label set (no ids, no query strings).
        metrics.HTTP_REQUESTS.labels(
            "console", request.endpoint or "unmatched", metrics.status_class(resp.status_code)
        ).inc()
        return resp

    @app.errorhandler(CSRFError)
    def _csrf_error(exc):
        return render_template("error.html", code=400, message="页面已过期或来源不明，请刷新后重试。"), 400

    @app.errorhandler(HTTPException)
    def _http_error(exc):
        messages = {
            400: "请求有误，请返回重新填写。",
            403: "您的账号没有权限访问这个页面。",
            404: "没有找到这个页面或记录。",
            405: "不支持这种请求方式。",
            413: "提交的内容太大。",
        }
        if exc.code >= 500:
            # Never a traceback or the library's English: what went wrong is in the log.
            return render_template("error.html", code=exc.code, message="系统出了点问题，请稍后再试。"), exc.code
        # Never the library's English description (it may quote the request back).
        message = messages.get(exc.code, "请求有误。")
        return render_template("error.html", code=exc.code, message=message), exc.code

    @app.get("/healthz")
    @access.public
    def healthz():
        return {"ok": True}

    return app
