"""Local mode: chat as an owner in the browser, through the same pipeline as /wechat.

Only registered when no WeChat credentials are set. The page builds the same InboundMessage the
protocol layer would, so everything after decoding is the code WeChat traffic runs.
"""

from __future__ import annotations

import ipaddress
import time

from flask import Blueprint, current_app, jsonify, render_template, request

from backend.core.db import get_engine, session_scope
from backend.messaging import outbox
from webhook.wechat import InboundMessage

devchat = Blueprint("devchat", __name__, template_folder="templates")
ACCOUNT = "gh_local_account"
# Headers a reverse proxy adds: a request that came through one is not from this machine's user,
# even though the proxy itself connects from loopback.
_PROXY_HEADERS = ("X-Forwarded-For", "X-Real-IP", "Forwarded", "X-Forwarded-Host")


@devchat.before_request
def loopback_only():
    """Local mode plays any owner or staff member: only someone at this machine may do that."""
    try:
        local = ipaddress.ip_address((request.remote_addr or "").split("%")[0]).is_loopback
    except ValueError:
        local = False
    if not local or any(h in request.headers for h in _PROXY_HEADERS):
        return jsonify(error="只能在本机打开"), 403
    return None


def _message(openid: str, payload: dict) -> InboundMessage:
    now = int(time.time())
    msg_id = str(time.time_ns())
    if payload.get("image_url"):
        fields = {"MsgType": "image", "PicUrl": payload["image_url"], "MediaId": f"local-{msg_id}"}
        return InboundMessage(
            ACCOUNT, openid, now, "image", msg_id, pic_url=payload["image_url"], media_id=fields["MediaId"], raw=fields
        )
    if payload.get("event") == "subscribe":
        return InboundMessage(ACCOUNT, openid, now, "event", None, event="subscribe", raw={"Event": "subscribe"})
    content = str(payload.get("text", ""))[:2000]
    return InboundMessage(
        ACCOUNT,
        openid,
        now,
        "text",
        msg_id,
        content=content,
        raw={"MsgType": "text", "Content": content, "MsgId": msg_id},
    )


@devchat.get("/dev/chat")
def page():
    return render_template("devchat.html")


@devchat.post("/dev/chat/send")
def send():
    payload = request.get_json(silent=True) or {}
    openid = str(payload.get("openid") or "dev-owner").strip()[:64] or "dev-owner"
    if not (payload.get("text") or "").strip() and not payload.get("image_url") and not payload.get("event"):
        return jsonify(error="请输入内容"), 400
    started = time.monotonic()
    outcome = current_app.extensions["conversation"].handle(_message(openid, payload), started)
    return jsonify(status=outcome.status, reply=outcome.reply, ms=round((time.monotonic() - started) * 1000))


@devchat.get("/dev/chat/people")
def people():
    """Bound staff, so the page can play a technician (the demo binds them in local mode)."""
    from sqlalchemy import select

    from backend.core.models import Staff

    conv = current_app.extensions["conversation"]
    roles = {"technician": "维修师傅", "supervisor": "主管", "customer_service": "客服"}
    with session_scope(get_engine(conv.settings.database_url)) as session:
        rows = (
            session.execute(select(Staff).where(Staff.openid.is_not(None), Staff.active.is_(True)).order_by(Staff.id))
            .scalars()
            .all()
        )
        staff = [
            {"openid": p.openid, "name": p.name, "role": roles.get(p.role, p.role), "skills": p.skills} for p in rows
        ]
    return jsonify(staff=staff)


@devchat.get("/dev/chat/outbox")
def outbox_feed():
    after = request.args.get("after", default=0, type=int)
    openid = request.args.get("openid") or None
    conv = current_app.extensions["conversation"]
    with session_scope(get_engine(conv.settings.database_url)) as session:
        rows = outbox.recent(session, after_id=after, openid=openid)
        items = [
            {
                "id": r.id,
                "openid": r.openid,
                "channel": r.channel,
                "content": r.content,
                "status": r.status,
                "at": r.created_at.isoformat() if r.created_at else None,
            }
            for r in rows
            if r.channel != "passive"
        ]
        last = max([after] + [r.id for r in rows])
    return jsonify(items=items, last=last)
