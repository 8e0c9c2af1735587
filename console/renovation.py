"""装修管理 in the console: the applications, one page each with its history, and the staff's
actions on it (approve, return with a reason, passes, inspections, acceptance with the deposit).
Every change goes through backend/work/renovation.py, like the staff's WeChat 巡查 command, and
writes an audit row in the same transaction."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from backend.core.clock import aware_now
from backend.core.models import RenovationApplication, RenovationInspection
from backend.core.statuses import RenovationStatus
from backend.work import renovation
from console import audit
from console.access import require
from console.context import db_session

bp = Blueprint("renovation", __name__)
LIST_LIMIT = 200
MAX_TEXT = 1000


def console_actor() -> str:
    return f"console:{g.user.username}"


class Refused(Exception):
    def __init__(self, message: str, app_id: int):
        super().__init__(message)
        self.message, self.app_id = message, app_id


@bp.errorhandler(Refused)
def _refused(exc: Refused):
    return render_application(exc.app_id, exc.message, 400)


def _load(session, app_id: int) -> RenovationApplication:
    app = session.execute(
        select(RenovationApplication)
        .where(RenovationApplication.id == app_id)
        .options(
            selectinload(RenovationApplication.steps),
            selectinload(RenovationApplication.passes),
            selectinload(RenovationApplication.inspections).selectinload(RenovationInspection.photos),
        )
    ).scalar_one_or_none()
    if app is None:
        abort(404)
    return app


def _text(name: str) -> str:
    return (request.form.get(name) or "").strip()[:MAX_TEXT]


@bp.get("/renovation")
@require("renovation.view")
def listing():
    status = request.args.get("status", "")
    with db_session() as s:
        stmt = (
            select(RenovationApplication)
            .options(selectinload(RenovationApplication.community), selectinload(RenovationApplication.house))
            .order_by(RenovationApplication.id.desc())
            .limit(LIST_LIMIT)
        )
        if status in {x.value for x in RenovationStatus}:
            stmt = stmt.where(RenovationApplication.status == status)
        rows = list(s.execute(stmt).scalars())
        for r in rows:
            r.house.building  # noqa: B018  (loaded for the template)
    return render_template(
        "renovations.html", rows=rows, status=status, labels=renovation.STATUS_LABELS, statuses=list(RenovationStatus)
    )


@bp.get("/renovation/pass")
@require("renovation.view")
def check_pass():
    number = (request.args.get("number") or "").strip()[:32]
    result = None
    if number:
        with db_session() as s:
            found = renovation.check_pass(s, number, aware_now())
            result = {
                "valid": found.valid,
                "reason": found.reason,
                "application": found.application.number if found.application else None,
                "app_id": found.application.id if found.application else None,
            }
    return render_template("renovation_pass.html", number=number, result=result)


def render_application(app_id: int, error: str | None = None, status: int = 200):
    with db_session() as s:
        app = _load(s, app_id)
        app.house.building, app.community  # noqa: B018
        rule = renovation.rules_for(s, app.community_id)
        rules = renovation.rules_answer(rule, app.community.name, icons=False) if rule else None
    return render_template(
        "renovation.html",
        a=app,
        rules=rules,
        error=error,
        labels=renovation.STATUS_LABELS,
        steps=renovation.STEP_LABELS,
        S=RenovationStatus,
        open_violations=renovation.open_violations(app),
    ), status


@bp.get("/renovation/<id:app_id>")
@require("renovation.view")
def page(app_id: int):
    return render_application(app_id)


def _act(app_id: int, action: str, do, message: str, **detail):
    with db_session() as s:
        app = _load(s, app_id)
        try:
            do(s, app)
        except renovation.RenovationError as exc:  # the session rolls back with it
            raise Refused(str(exc), app_id) from exc
        audit.record(s, f"renovation.{action}", "renovation", app.id, number=app.number, **detail)
    flash(message)
    return redirect(url_for("renovation.page", app_id=app_id))


@bp.post("/renovation/<id:app_id>/approve")
@require("renovation.manage")
def approve(app_id: int):
    note = _text("note")
    return _act(
        app_id,
        "approve",
        lambda s, a: renovation.approve(s, a, console_actor(), note),
        "已审批通过，业主会在微信里收到通知。",
        note=note,
    )


@bp.post("/renovation/<id:app_id>/return")
@require("renovation.manage")
def return_it(app_id: int):
    reason = _text("reason")
    return _act(
        app_id,
        "return",
        lambda s, a: renovation.return_with_reason(s, a, console_actor(), reason),
        "已退回，业主会在微信里收到原因。",
        reason=reason,
    )


@bp.post("/renovation/<id:app_id>/passes")
@require("renovation.manage")
def passes(app_id: int):
    names = [n for n in _text("names").replace("，", ",").replace("、", ",").replace("\n", ",").split(",")]
    return _act(
        app_id,
        "passes",
        lambda s, a: renovation.issue_passes(s, a, console_actor(), names),
        "出入证已办理。",
        names=[n.strip() for n in names if n.strip()],
    )


@bp.post("/renovation/<id:app_id>/inspection")
@require("renovation.inspect")
def inspect(app_id: int):
    findings = _text("findings")
    violation = request.form.get("violation") == "1"
    photo = (request.form.get("photo_url") or "").strip()[:500]
    return _act(
        app_id,
        "inspection",
        lambda s, a: renovation.record_inspection(
            s, a, console_actor(), findings, violation, photos=[(photo, None)] if photo else []
        ),
        "巡查已记录" + ("，已通知业主整改。" if violation else "。"),
        violation=violation,
    )


@bp.post("/renovation/<id:app_id>/inspections/<id:inspection_id>/resolve")
@require("renovation.inspect")
def resolve(app_id: int, inspection_id: int):
    note = _text("note")

    def do(s, a):
        inspection = next((i for i in a.inspections if i.id == inspection_id), None)
        if inspection is None:
            abort(404)
        renovation.resolve_violation(s, inspection, console_actor(), note)

    return _act(app_id, "resolve", do, "整改情况已记录。", inspection_id=inspection_id)


@bp.post("/renovation/<id:app_id>/accept")
@require("renovation.manage")
def accept(app_id: int):
    amount, note = _text("returned")[:20], _text("note")
    return _act(
        app_id,
        "accept",
        lambda s, a: renovation.accept_and_return_deposit(s, a, console_actor(), amount or None, note),
        "已验收，押金退还已记录，业主会收到通知。",
        returned=amount,
        note=note,
    )
