"""Outage notices: create, preview who is told (per building), send, watch delivery live, and
extend/move, restore early or cancel. backend.messaging.outages does the work; every change is audited."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, flash, g, jsonify, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from backend.core.clock import SHANGHAI
from backend.core.models import OUTAGE_KINDS, Building, Community, Outage
from backend.messaging import outages
from console import audit
from console.access import require
from console.context import db_session, settings

bp = Blueprint("outages", __name__)
STATUS = {"scheduled": "待恢复", "restored": "已恢复", "cancelled": "已取消"}
EVENT = {"notice": "停水停电通知", "reminder": "开始前提醒", "restored": "恢复通知", "cancelled": "取消通知"}
LIST_LIMIT = 100


def event_label(event: str) -> str:
    if event.startswith("update"):
        return f"变更通知（第{event[6:]}版）"
    return EVENT.get(event, event)


class Refused(Exception):
    """A form the page shows again with the reason (400); nothing of it is kept."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _actor() -> str:
    return f"console:{g.user.username}"


def _when(name: str, required: bool = True) -> datetime | None:
    """A datetime-local field, read as Beijing time."""
    value = (request.form.get(name) or "").strip()
    if not value:
        if required:
            raise Refused("请填写开始和恢复时间。")
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise Refused(f"时间格式不对：{value[:20]}")
    if at.tzinfo is not None:
        raise Refused("时间按北京时间填写，不要带时区。")
    return at.replace(tzinfo=SHANGHAI)


def _buildings(s) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for community_id, code in s.execute(select(Building.community_id, Building.code)):
        out.setdefault(community_id, []).append(code)
    return {k: sorted(v, key=lambda c: (len(c), c)) for k, v in out.items()}


def _load(s, outage_id: int) -> Outage:
    outage = s.execute(
        select(Outage).where(Outage.id == outage_id).options(selectinload(Outage.community))
    ).scalar_one_or_none()
    if outage is None:
        abort(404)
    return outage


def _progress(s, outage: Outage) -> dict:
    """Delivery per message (campaign), newest first, with a share sent for the bar."""
    events = []
    for event, c in outages.summary(s, outage.id).items():
        failed = sum(c["failed"].values())
        events.append(
            {
                "event": event,
                "label": event_label(event),
                "total": c["total"],
                "sent": c["sent"],
                "pending": c["pending"],
                "unknown": c["unknown"],
                "failed": failed,
                "failed_by": [{"errcode": k, "count": v} for k, v in sorted(c["failed"].items())],
                "done": c["pending"] == 0,
            }
        )
    order = {"notice": 0, "reminder": 1000, "restored": 2000, "cancelled": 2001}
    events.sort(key=lambda e: order[e["event"]] if e["event"] in order else int(e["event"][6:] or 0))
    return {"id": outage.id, "status": outage.status, "events": events, "finished": all(e["done"] for e in events)}


@bp.get("/outages")
@require("outages.view")
def listing():
    with db_session() as s:
        rows = (
            s.execute(
                select(Outage)
                .options(selectinload(Outage.community))
                .order_by(Outage.starts_at.desc())
                .limit(LIST_LIMIT)
            )
            .scalars()
            .all()
        )
        sent = {o.id: bool(outages.summary(s, o.id)) for o in rows}
    return render_template("outages.html", rows=rows, sent=sent, STATUS=STATUS, KINDS=OUTAGE_KINDS, label=outages.label)


def _new_form(error: str | None = None, form=None, status: int = 200):
    with db_session() as s:
        communities = s.execute(select(Community).order_by(Community.code)).scalars().all()
        buildings = _buildings(s)
    return render_template(
        "outage_new.html",
        communities=communities,
        buildings=buildings,
        KINDS=OUTAGE_KINDS,
        error=error,
        form=form or request.form,
        prepare=outages.PREPARE_DEFAULT,
    ), status


@bp.get("/outages/new")
@require("outages.manage")
def new():
    return _new_form()


@bp.post("/outages")
@require("outages.manage")
def create():
    f = request.form
    try:
        kind = f.get("kind", "")
        if kind not in OUTAGE_KINDS:
            raise Refused("请选择停水、停电、停气或停热水。")
        community = (f.get("community") or "").strip()
        if not community:
            raise Refused("请选择小区。")
        everywhere = f.get("scope", "all") == "all"
        buildings = None if everywhere else f.getlist("buildings")
        if not everywhere and not buildings:
            raise Refused("请选择楼栋，或选“全小区”。")
        starts_at, ends_at = _when("starts_at"), _when("ends_at")
        utility_at = _when("utility_notified_at", required=False)
        reason = (f.get("reason") or "").strip()[:200]
        prepare = (f.get("prepare") or "").strip()[:200]
        with db_session() as s:
            try:
                outage = outages.create(
                    s,
                    community,
                    kind,
                    starts_at,
                    ends_at,
                    buildings=buildings,
                    reason=reason,
                    prepare=prepare,
                    planned=f.get("planned", "1") != "0",
                    actor=_actor(),
                    utility_notified_at=utility_at,
                )
            except outages.OutageError as exc:
                raise Refused(str(exc))
            audit.record(
                s,
                "outage.create",
                "outage",
                outage.id,
                community=community,
                kind=kind,
                buildings=outage.building_codes or "all",
                starts_at=starts_at,
                ends_at=ends_at,
            )
            outage_id = outage.id
    except Refused as exc:
        return _new_form(exc.message, status=400)
    flash("已保存。请核对收件人数，确认后发送通知。")
    return redirect(url_for("outages.show", outage_id=outage_id))


def _render(outage_id: int, error: str | None = None, status: int = 200):
    with db_session() as s:
        outage = _load(s, outage_id)
        recipients = outages.preview(s, outage)
        progress = _progress(s, outage)
        text = outages.text_for(outage, "notice")
    return render_template(
        "outage.html",
        o=outage,
        recipients=recipients,
        progress=progress,
        text=text,
        STATUS=STATUS,
        KINDS=OUTAGE_KINDS,
        label=outages.label(outage),
        where=outages.where(outage),
        error=error,
    ), status


@bp.get("/outages/<id:outage_id>")
@require("outages.view")
def show(outage_id: int):
    return _render(outage_id)


@bp.get("/outages/<id:outage_id>/progress")
@require("outages.view")
def progress(outage_id: int):
    """The delivery counts the outage page polls every couple of seconds."""
    with db_session() as s:
        return jsonify(_progress(s, _load(s, outage_id)))


def _act(outage_id: int, action: str, act, message: str):
    """Run one of backend.messaging.outages' actions (the same ones the admin API and CLI use)."""
    try:
        with db_session() as s:
            outage = _load(s, outage_id)
            try:
                event, detail = act(s, outage)
            except outages.OutageError as exc:
                raise Refused(str(exc))
            audit.record(s, action, "outage", outage.id, event=event, **detail)
    except Refused as exc:
        return _render(outage_id, exc.message, 400)
    flash(message)
    return redirect(url_for("outages.show", outage_id=outage_id))


@bp.post("/outages/<id:outage_id>/send")
@require("outages.manage")
def send(outage_id: int):
    return _act(outage_id, "outage.send", lambda s, o: (outages.send_notice(s, o, settings()), {}), "通知开始发送。")


@bp.post("/outages/<id:outage_id>/update")
@require("outages.manage")
def update(outage_id: int):
    note = (request.form.get("note") or "").strip()[:200]

    def act(s, outage):
        starts_at, ends_at = _when("starts_at", False), _when("ends_at", False)
        old = (outage.starts_at, outage.ends_at)
        event, _told = outages.update(s, outage, starts_at, ends_at, note, settings())
        return event, {"old": old, "new": (outage.starts_at, outage.ends_at), "note": note}

    return _act(outage_id, "outage.update", act, "变更已保存，正在通知业主。")


@bp.post("/outages/<id:outage_id>/restore")
@require("outages.manage")
def restore(outage_id: int):
    def act(s, outage):
        return "restored", {"told": outages.restore_and_tell(s, outage, settings())}

    return _act(outage_id, "outage.restore", act, "已标记恢复，正在通知业主。")


@bp.post("/outages/<id:outage_id>/cancel")
@require("outages.manage")
def cancel(outage_id: int):
    reason = (request.form.get("reason") or "").strip()[:200]

    def act(s, outage):
        return "cancelled", {"reason": reason, "told": outages.cancel_and_tell(s, outage, reason, settings())}

    return _act(outage_id, "outage.cancel", act, "已取消，正在通知业主。")
