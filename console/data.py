"""Data pages: importing the company's spreadsheets (every bad row shown, nothing written on
error, a dry run), and the duty roster (who is on duty this week, adding shifts, a staff
member's WeChat binding code)."""

from __future__ import annotations

import tempfile
from datetime import date, datetime, time, timedelta
from pathlib import Path

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from backend.core.clock import SHANGHAI
from backend.core.models import DutyShift, Staff
from backend.owners import imports
from backend.owners.imports.reader import unsupported
from backend.work import staff as staff_records
from console import audit
from console.access import require
from console.context import db_session

bp = Blueprint("data", __name__)
MAX_DAYS = 31


# --- imports -------------------------------------------------------------------------------------
def _import_page(report=None, error: str | None = None, status: int = 200, form=None):
    return render_template("imports.html", kinds=imports.KINDS, report=report, error=error, form=form or {}), status


@bp.get("/imports")
@require("data.import")
def imports_page():
    return _import_page()


@bp.post("/imports")
@require("data.import")
def run_import():
    kind = request.form.get("kind", "")
    dry_run = request.form.get("dry_run") == "1"
    sheet = request.form.get("sheet", "").strip()[:100] or None
    form = {"kind": kind, "dry_run": dry_run, "sheet": sheet or ""}
    if kind not in imports.KINDS:
        return _import_page(error="请选择要导入的数据类型。", status=400, form=form)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _import_page(error="请选择一个 CSV 或 Excel（.xlsx）文件。", status=400, form=form)
    reason = unsupported(upload.filename)  # the same words the CLI uses
    if reason:
        return _import_page(error=reason + "。", status=400, form=form)
    suffix = Path(upload.filename).suffix.lower()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        upload.save(path)
        with db_session() as s:
            # The one import service the CLI uses too: same checks, same result lines.
            report = imports.import_file(
                s, kind, path, dry_run=dry_run, sheet=sheet, name=Path(upload.filename).name[:100]
            )
            if not report.ok:
                s.rollback()  # nothing of a file with errors is kept
            elif not dry_run:
                audit.record(
                    s,
                    "data.import",
                    "import",
                    kind,
                    file=report.path,
                    sheet=report.sheet,
                    rows=report.rows,
                    inserted=report.inserted,
                    updated=report.updated,
                    unchanged=report.unchanged,
                )
    return _import_page(report=report, status=200 if report.ok else 400, form=form)


# --- duty roster ---------------------------------------------------------------------------------
def _week(args) -> date:
    try:
        day = date.fromisoformat(args.get("week", ""))
    except ValueError:
        day = datetime.now(SHANGHAI).date()
    return day - timedelta(days=day.weekday())


def _roster_page(error: str | None = None, status: int = 200, code: tuple[str, str] | None = None):
    monday = _week(request.args)
    days = [monday + timedelta(days=i) for i in range(7)]
    start = datetime.combine(monday, time(0), SHANGHAI)
    end = start + timedelta(days=7)
    with db_session() as s:
        people = s.execute(select(Staff).where(Staff.active.is_(True)).order_by(Staff.role, Staff.name)).scalars().all()
        shifts = (
            s.execute(
                select(DutyShift)
                .options(selectinload(DutyShift.staff))
                .where(DutyShift.starts_at < end, DutyShift.ends_at > start)
                .order_by(DutyShift.starts_at)
            )
            .scalars()
            .all()
        )
        now_on = {p.id for p in staff_records.on_duty(s)}
    grid: dict[int, dict[date, list[DutyShift]]] = {}
    for shift in shifts:
        day = shift.starts_at.astimezone(SHANGHAI).date()
        grid.setdefault(shift.staff_id, {}).setdefault(max(day, monday), []).append(shift)
    return render_template(
        "roster.html",
        people=people,
        days=days,
        grid=grid,
        now_on=now_on,
        monday=monday,
        error=error,
        code=code,
        prev_week=monday - timedelta(days=7),
        next_week=monday + timedelta(days=7),
        today=datetime.now(SHANGHAI).date(),
        form=request.form,
    ), status


@bp.get("/roster")
@require("roster.view")
def roster():
    return _roster_page()


def _person(s, staff_id) -> Staff:
    try:
        person = s.get(Staff, int(staff_id))
    except (TypeError, ValueError):
        person = None
    if person is None:
        abort(404)
    return person


@bp.post("/roster/shifts")
@require("roster.manage")
def add_shifts():
    f = request.form
    try:
        first = date.fromisoformat(f.get("first_day", ""))
        start, end = time.fromisoformat(f.get("start", "")), time.fromisoformat(f.get("end", ""))
        days = int(f.get("days", "1"))
    except ValueError:
        return _roster_page("请填写有效的日期、上下班时间和天数。", 400)
    if not 1 <= days <= MAX_DAYS:
        return _roster_page(f"天数在 1 到 {MAX_DAYS} 之间。", 400)
    if start == end:
        return _roster_page("上班和下班时间不能相同。", 400)
    with db_session() as s:
        person = _person(s, f.get("staff_id"))
        shifts = staff_records.add_daily_shifts(s, person, first, days, start, end)
        audit.record(
            s,
            "roster.add_shifts",
            "staff",
            person.id,
            name=person.name,
            first_day=first,
            days=days,
            start=start,
            end=end,
            shift_ids=[x.id for x in shifts],
        )
        name = person.name
    flash(f"已为{name}添加 {days} 天班次。")
    return redirect(url_for("data.roster", week=first.isoformat()))


@bp.post("/roster/bind-code")
@require("roster.manage")
def bind_code():
    with db_session() as s:
        person = _person(s, request.form.get("staff_id"))
        if not person.active:
            abort(404)
        code = staff_records.issue_bind_code(s, person)
        # The code itself is never logged: only that one was issued.
        audit.record(s, "staff.bind_code", "staff", person.id, name=person.name)
        name = person.name
    return _roster_page(code=(name, code))
