"""装修管理 in the console: the applications, one page each with its history, and the staff's
actions on it (approve, return with a reason, resubmit a returned one on the owner's behalf,
cancel, passes, inspections with uploaded photos, acceptance with the deposit). Every change goes
through backend/work/renovation.py, like the staff's WeChat 巡查 command, and writes an audit row
in the same transaction.

Uploaded photos are read by backend/work/photo_files.py (size, real image type) and kept in the
database; they are served here, to logged-in staff only, with the type found in the file."""

from __future__ import annotations

import os
from datetime import date

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload, undefer
from werkzeug.exceptions import RequestEntityTooLarge

from backend.core.clock import aware_now
from backend.core.models import RenovationApplication, RenovationInspection, RenovationPhoto
from backend.core.statuses import RenovationStatus
from backend.text.phones import mask_phones
from backend.work import photo_files, renovation
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


# The body of a photo upload may be this big (console/app.py sets it before anything reads it).
PHOTO_UPLOAD_LIMIT = photo_files.MAX_PHOTOS * photo_files.MAX_BYTES + 256 * 1024


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(exc):
    # Raised while the body is read, before the login is checked: say why, show nothing else.
    limit = photo_files.MAX_BYTES // 1024 // 1024
    message = (
        f"上传的照片太大了：每张不超过 {limit} MB，一次最多 {photo_files.MAX_PHOTOS} 张"
        f"（合计不超过 {PHOTO_UPLOAD_LIMIT // 1024 // 1024} MB）。请压缩或分几次上传。"
    )
    app_id = (request.view_args or {}).get("app_id")
    back = url_for("renovation.page", app_id=app_id) if app_id else url_for("renovation.listing")
    return render_template("error.html", code=413, message=message, back=back), 413


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


def _uploads() -> list[renovation.Upload]:
    """The files of the form's photos field (none chosen: an empty part, skipped). Only the
    first bytes past the limit are read; the size is the whole file's."""
    found = []
    for storage in request.files.getlist("photos"):
        if not storage or not storage.filename:
            continue
        stream = storage.stream
        stream.seek(0, os.SEEK_END)
        size = stream.tell()
        stream.seek(0)
        found.append(renovation.Upload(storage.filename, stream.read(photo_files.MAX_BYTES + 1), size))
    return found


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
        rules = renovation.rules_text(s, rule, app.community.name, icons=False) if rule else None
    return render_template(
        "renovation.html",
        a=app,
        photo_limits={"count": photo_files.MAX_PHOTOS, "mb": photo_files.MAX_BYTES // 1024 // 1024},
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


@bp.post("/renovation/<id:app_id>/resubmit")
@require("renovation.manage")
def resubmit(app_id: int):
    """A returned application corrected on the owner's behalf (they phoned): blank fields stay."""

    def day(name: str, label: str) -> date | None:
        raw = _text(name)
        try:
            return date.fromisoformat(raw) if raw else None
        except ValueError:
            raise Refused(f"{label}「{raw}」不是日期。", app_id) from None

    raw_workers = _text("workers")
    if raw_workers and not raw_workers.isdigit():
        raise Refused(f"施工人数「{raw_workers}」不是数字。", app_id)
    changes = renovation.Changes(
        work=_text("work") or None,
        contractor=_text("contractor")[:100] or None,
        contractor_phone=_text("contractor_phone")[:32] or None,
        starts_on=day("starts_on", "开工日期"),
        ends_on=day("ends_on", "完工日期"),
        workers=int(raw_workers) if raw_workers else None,
    )
    note = _text("note")

    def do(s, a):
        if changes.work == mask_phones(a.work):  # the page showed it masked: unchanged
            changes.work = None
        renovation.resubmit(s, a, console_actor(), changes, note)

    return _act(
        app_id,
        "resubmit",
        do,
        "已代业主重新提交，业主会在微信里收到通知。",
        note=note,
    )


@bp.post("/renovation/<id:app_id>/cancel")
@require("renovation.manage")
def cancel(app_id: int):
    reason = _text("reason")
    return _act(
        app_id,
        "cancel",
        lambda s, a: renovation.cancel(s, a, console_actor(), reason),
        "装修申请已取消，业主会在微信里收到原因。",
        reason=reason,
    )


@bp.post("/renovation/<id:app_id>/inspection")
@require("renovation.inspect")
def inspect(app_id: int):
    findings = _text("findings")
    violation = request.form.get("violation") == "1"
    uploads = _uploads()
    return _act(
        app_id,
        "inspection",
        lambda s, a: renovation.record_inspection(s, a, console_actor(), findings, violation, uploads=uploads),
        "巡查已记录"
        + (f"（照片 {len(uploads)} 张）" if uploads else "")
        + ("，已通知业主整改。" if violation else "。"),
        violation=violation,
        photos=len(uploads),
    )


@bp.post("/renovation/<id:app_id>/inspections/<id:inspection_id>/photos")
@require("renovation.inspect")
def add_photos(app_id: int, inspection_id: int):
    uploads = _uploads()

    def do(s, a):
        inspection = next((i for i in a.inspections if i.id == inspection_id), None)
        if inspection is None:
            abort(404)
        renovation.attach_uploads(s, inspection, console_actor(), uploads)

    return _act(
        app_id, "photos", do, f"照片已上传（{len(uploads)} 张）。", inspection_id=inspection_id, photos=len(uploads)
    )


@bp.get("/renovation/photos/<id:photo_id>")
@bp.get("/renovation/photos/<id:photo_id>/<any(thumb):size>")
@require("renovation.view")
def photo(photo_id: int, size: str | None = None):
    """An uploaded photo (or its thumbnail), with the type found in the file; never a page."""
    column = RenovationPhoto.thumb if size == "thumb" else RenovationPhoto.data
    with db_session() as s:
        found = s.execute(
            select(RenovationPhoto).where(RenovationPhoto.id == photo_id).options(undefer(column))
        ).scalar_one_or_none()
        if found is None or not found.stored:
            abort(404)
        body = found.thumb if size == "thumb" else found.data
        kind = "image/jpeg" if size == "thumb" else found.content_type
        name = f"photo-{found.id}{photo_files.SUFFIX.get(kind, '')}"
    resp = Response(body, mimetype=kind)
    resp.headers["Content-Disposition"] = f'inline; filename="{name}"'
    resp.headers["Cache-Control"] = "private, max-age=86400"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return resp


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
