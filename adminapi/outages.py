"""/api/outages: announce a cut, preview who is told, watch delivery, change or end it.

    POST /api/outages                 {community, kind, buildings, starts_at, ends_at, reason,
                                       prepare, planned, send,
                                       utility_notified_at?}             -> 201 the outage
    GET  /api/outages?community=XFL   latest first
    GET  /api/outages/<id>            the outage, who it reaches, delivery summary per message
    POST /api/outages/<id>/send       send the first notice (if created with send: false)
    POST /api/outages/<id>/update     {ends_at?, starts_at?, note}       -> the same owners are told
    POST /api/outages/<id>/restore    it is over                         -> owners are told
    POST /api/outages/<id>/cancel     {reason}                           -> owners are told
Times are ISO 8601; without an offset they are Beijing time.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, current_app, g, jsonify, request
from sqlalchemy import select

from adminapi.auth import require_staff
from backend.core.clock import SHANGHAI
from backend.core.db import get_engine, session_scope
from backend.core.models import Community, Outage
from backend.messaging import outages

bp = Blueprint("outages_api", __name__, url_prefix="/api/outages")


class BadRequest(Exception):
    pass


@bp.errorhandler(BadRequest)
@bp.errorhandler(outages.OutageError)
def _bad(exc):
    return jsonify(error=str(exc)), 400


def _session():
    return session_scope(get_engine(current_app.config["DATABASE_URL"]))


def _body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadRequest("请求体要是 JSON 对象")
    return data


def _time(data: dict, key: str, required: bool = True) -> datetime | None:
    value = data.get(key)
    if value in (None, ""):
        if required:
            raise BadRequest(f"缺少 {key}")
        return None
    try:
        at = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"{key} 不是有效时间：{value}")
    return at if at.tzinfo else at.replace(tzinfo=SHANGHAI)


def _json(session, outage: Outage, with_summary: bool = False) -> dict:
    data = {
        "id": outage.id,
        "community": outage.community.code,
        "kind": outage.kind,
        "label": outages.label(outage),
        "planned": outage.planned,
        "buildings": outage.building_codes or "all",
        "starts_at": outage.starts_at.isoformat(),
        "ends_at": outage.ends_at.isoformat(),
        "utility_notified_at": outage.utility_notified_at.isoformat() if outage.utility_notified_at else None,
        "reason": outage.reason,
        "prepare": outage.prepare,
        "status": outage.status,
        "version": outage.version,
        "note": outage.note,
        "text": outages.describe(outage),
    }
    if with_summary:
        data["recipients"] = outages.preview(session, outage)
        data["delivery"] = outages.summary(session, outage.id)
    return data


def _outage(session, outage_id: int) -> Outage:
    outage = session.get(Outage, outage_id)
    if outage is None:
        return None
    return outage


@bp.post("")
@require_staff
def create():
    data = _body()
    for key in ("community", "kind"):
        if not data.get(key):
            raise BadRequest(f"缺少 {key}")
    with _session() as session:
        outage = outages.create(
            session,
            str(data["community"]),
            str(data["kind"]),
            _time(data, "starts_at"),
            _time(data, "ends_at"),
            buildings=data.get("buildings"),
            reason=str(data.get("reason") or ""),
            prepare=str(data.get("prepare") or ""),
            planned=bool(data.get("planned", True)),
            actor=g.api_actor,
            utility_notified_at=_time(data, "utility_notified_at", False),
        )
        if data.get("send", True):
            outages.send_notice(session, outage)
        body = _json(session, outage, with_summary=True)
    return jsonify(body), 201


def _int_arg(name: str, default: int, lowest: int, highest: int) -> int:
    """A paging argument, or a 400 with the reason: a negative LIMIT means "all" on SQLite and an
    error on PostgreSQL, so nothing outside the range may reach the database."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9 or not lowest <= int(raw) <= highest:
        raise BadRequest(f"{name} 必须是 {lowest} 到 {highest} 之间的整数")
    return int(raw)


@bp.get("")
@require_staff
def listing():
    with _session() as session:
        limit = _int_arg("limit", 50, 1, 200)
        offset = _int_arg("offset", 0, 0, 100_000)
        stmt = select(Outage).order_by(Outage.starts_at.desc(), Outage.id.desc()).limit(limit).offset(offset)
        if request.args.get("community"):
            stmt = stmt.join(Community).where(Community.code == request.args["community"])
        return jsonify(outages=[_json(session, o) for o in session.execute(stmt).scalars()])


@bp.get("/<int:outage_id>")
@require_staff
def show(outage_id: int):
    with _session() as session:
        outage = _outage(session, outage_id)
        if outage is None:
            return jsonify(error="没有这条记录"), 404
        return jsonify(_json(session, outage, with_summary=True))


def _act(outage_id: int, act):
    """Run one of backend.messaging.outages' actions (the same ones the console and CLI use)."""
    with _session() as session:
        outage = _outage(session, outage_id)
        if outage is None:
            return jsonify(error="没有这条记录"), 404
        act(session, outage)
        return jsonify(_json(session, outage, with_summary=True))


@bp.post("/<int:outage_id>/send")
@require_staff
def send(outage_id: int):
    return _act(outage_id, outages.send_notice)


@bp.post("/<int:outage_id>/update")
@require_staff
def update(outage_id: int):
    data = _body()
    return _act(
        outage_id,
        lambda s, o: outages.update(
            s, o, _time(data, "starts_at", False), _time(data, "ends_at", False), str(data.get("note") or "")
        ),
    )


@bp.post("/<int:outage_id>/restore")
@require_staff
def restore(outage_id: int):
    return _act(outage_id, outages.restore_and_tell)


@bp.post("/<int:outage_id>/cancel")
@require_staff
def cancel(outage_id: int):
    data = request.get_json(silent=True) or {}
    return _act(outage_id, lambda s, o: outages.cancel_and_tell(s, o, str(data.get("reason") or "")))
