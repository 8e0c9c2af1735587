"""The Flask app: the WeChat endpoint, health, and (in local mode) the /dev/chat page.

Bad input gets a clear 4xx and never a 5xx: forged → 403, malformed → 400, too large → 413.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from backend.core import metrics
from backend.core.config import Settings, load_settings
from backend.core.db import get_engine
from backend.core.redis_conn import redis_answers
from webhook import replay
from webhook.conversation import Conversation
from webhook.wechat import (
    PayloadTooLarge,
    ProtocolError,
    SafeModeCrypto,
    SignatureError,
    decode_post,
    render_text_reply,
    verify_url_request,
)

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, conversation: Conversation | None = None) -> Flask:
    settings = settings or load_settings()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.extensions["conversation"] = conversation or Conversation(settings)
    crypto = (
        SafeModeCrypto(settings.wechat_token, settings.wechat_aes_key, settings.wechat_appid)
        if settings.wechat_aes_key and settings.wechat_appid
        else None
    )

    def text(body: str, status: int = 200) -> Response:
        return Response(body, status=status, mimetype="text/plain; charset=utf-8")

    @app.get("/wechat")
    def wechat_url_check():
        try:
            return text(verify_url_request(request.args, settings.wechat_token))
        except SignatureError:
            return text("forbidden", 403)
        except ProtocolError:
            return text("bad request", 400)

    @app.post("/wechat")
    def wechat_message():
        started = time.monotonic()
        try:
            body = request.get_data(cache=False)
            msg, mode = decode_post(
                request.args,
                body,
                settings.wechat_token,
                settings.wechat_aes_key or None,
                settings.wechat_appid or None,
            )
        except RequestEntityTooLarge:
            return text("too large", 413)
        except PayloadTooLarge:
            return text("too large", 413)
        except SignatureError:
            return text("forbidden", 403)
        except ProtocolError:
            return text("bad request", 400)
        if settings.wechat_account_id and msg.to_user != settings.wechat_account_id:
            log.warning("wechat push for another account refused")
            return text("forbidden", 403)
        if not replay.first_use(
            settings.redis_url, request.args.get("timestamp", ""), request.args.get("nonce", ""), body
        ):
            log.warning("replayed wechat signature refused")
            return text("forbidden", 403)
        outcome = app.extensions["conversation"].handle(msg, started)
        log.info(
            "wechat message",
            extra={
                "openid": msg.from_user,
                "type": msg.msg_type,
                "outcome": outcome.status,
                "ms": round((time.monotonic() - started) * 1000),
            },
        )
        if not outcome.reply:
            return text("success")
        reply = render_text_reply(msg.from_user, msg.to_user, outcome.reply)
        if mode == "aes" and crypto is not None:
            reply = crypto.encrypt_reply(reply, str(int(time.time())), request.args.get("nonce", ""))
        return Response(reply, mimetype="application/xml; charset=utf-8")

    def database_answers() -> bool:
        try:
            with get_engine(settings.database_url).connect() as connection:
                connection.exec_driver_sql("SELECT 1")
            return True
        except Exception:
            return False

    @app.get("/healthz")
    def health():
        # Liveness, for the supervisor: 503 only when this process cannot keep a message (no
        # database). Rasa being down is reported but is not a reason to restart the webhook: it
        # still answers owners with the holding reply.
        conv = app.extensions["conversation"]
        checks = {
            "redis": redis_answers(settings.redis_url),
            "rasa": conv.rasa.healthy(),
            "database": database_answers(),
        }
        return jsonify(ok=all(checks.values()), local_mode=settings.local_mode, **checks), 200 if checks[
            "database"
        ] else 503

    @app.get("/readyz")
    def ready():
        # Readiness, for the balancer: 200 only when owners get real answers from this node
        # (database, every Rasa server with its model loaded, the action server).
        checks = {"database": database_answers(), **app.extensions["conversation"].rasa.ready()}
        return jsonify(ready=all(checks.values()), **checks), 200 if all(checks.values()) else 503

    @app.after_request
    def count(resp):
        # Route names, not paths: a bounded label set (no ids, no query strings).
        metrics.HTTP_REQUESTS.labels(
            "webhook", request.endpoint or "unmatched", metrics.status_class(resp.status_code)
        ).inc()
        return resp

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(_exc):
        return text("too large", 413)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if request.path.startswith("/api/"):
            return jsonify(error=exc.description or exc.name), exc.code or 400
        return text(exc.description or exc.name, exc.code or 400)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        # The message was recorded before anything could fail, so the sweep still answers it;
        # WeChat gets an empty success instead of a 5xx (which would only make it retry).
        log.exception("unexpected error", extra={"path": request.path})
        if request.path.startswith("/api/"):
            return jsonify(error="服务器出错了，已记录"), 500
        return text("success" if request.path == "/wechat" else "error", 200 if request.path == "/wechat" else 500)

    # The admin JSON API shares this process (one port to put behind the proxy); it has its own
    # auth and knows nothing of WeChat.
    import adminapi

    adminapi.register(app, settings)

    if settings.local_mode:
        from webhook.devchat import devchat

        app.register_blueprint(devchat)
    return app
