"""新建工单: the desk records a repair, complaint or suggestion taken by phone, at the desk, from
WeChat or found on a patrol. The owner is found by house or phone; what is recorded goes through
backend/service/intake.take, the same ticket and complaint functions as the owner's own WeChat
request, and then lives exactly like one (dispatch, clocks, the owner's updates, ratings)."""

from __future__ import annotations

import secrets
from datetime import datetime

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from backend.core.clock import SHANGHAI
from backend.core.models import TICKET_CHANNELS, Community
from backend.service import intake
from console import audit
from console.access import require
from console.context import db_session

bp = Blueprint("intake", __name__)
PLACES = ("", "厨房", "卫生间", "客厅", "卧室", "阳台", "楼道", "电梯", "地下车库", "小区公共区域")


def _form_page(error: str | None = None, status: int = 200, form=None):
    form = form if form is not None else request.form
    q = (request.values.get("q") or "").strip()[:40]
    with db_session() as s:
        found = intake.search_owners(s, q) if q else []
        rows = [
            dict(
                resident_id=r.id,
                house_id=r.house_id,
                name=r.name,
                phone=r.phone,
                role=r.role,
                house=r.house.label,
                community=r.house.building.community.name,
                bound=bool(intake.bound_openid(s, r.house_id, r.id)),
            )
            for r in found
        ]
        communities = s.execute(select(Community).order_by(Community.code)).scalars().all()
        communities = [(c.id, c.name) for c in communities]
    return render_template(
        "intake.html",
        q=q,
        found=rows,
        communities=communities,
        form=form,
        error=error,
        kinds=intake.INTAKE_KINDS,
        channels=[(c, TICKET_CHANNELS[c]) for c in intake.DESK_CHANNELS],
        places=PLACES,
        token=form.get("token") or secrets.token_hex(16),
    ), status


@bp.get("/tickets/new")
@require("tickets.intake")
def new():
    return _form_page(form=request.args)


def _int(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() and len(value) < 10 else None


def _owner() -> tuple[int | None, int | None]:
    """The chosen search result, "house id:resident id"."""
    house, _, resident = (request.form.get("owner") or "").partition(":")
    return _int(house), _int(resident)


def _start() -> datetime | None:
    value = (request.form.get("preferred_start") or "").strip()
    if not value:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise intake.IntakeError(f"预约时间格式不对：{value[:20]}") from None
    if at.tzinfo is not None:
        raise intake.IntakeError("预约时间按北京时间填写，不要带时区。")
    return at.replace(tzinfo=SHANGHAI)


@bp.post("/tickets/new")
@require("tickets.intake")
def create():
    f = request.form
    try:
        start = _start()
        house_id, resident_id = _owner()
        label = (f.get("preferred_time") or "").strip()[:60] or (f"{start:%m-%d %H:%M}" if start else None)
        req = intake.Intake(
            kind=f.get("kind", ""),
            channel=f.get("channel", ""),
            description=(f.get("description") or "")[:2000],
            house_id=house_id,
            resident_id=resident_id,
            community_id=_int(f.get("community_id")),
            place=(f.get("place") or "").strip()[:32] or None,
            urgency=f.get("urgency", "normal"),
            preferred_time_label=label,
            preferred_start=start,
            contact_phone=(f.get("contact_phone") or "")[:32],
            source_key=f"desk:{f.get('token', '')[:64]}" if f.get("token") else None,
        )
        with db_session() as s:
            ticket = intake.take(s, req, f"console:{g.user.username}")
            audit.record(
                s,
                "ticket.intake",
                "ticket",
                ticket.id,
                number=ticket.number,
                kind=ticket.kind,
                channel=ticket.channel,
                house_id=ticket.house_id,
            )
            ticket_id, number, bound = ticket.id, ticket.number, bool(ticket.openid)
    except intake.IntakeError as exc:
        return _form_page(str(exc), 400)
    flash(
        f"已受理，单号 {number}。"
        + ("业主已绑定微信，进度会同步推送给业主。" if bound else "业主没有绑定微信，进度请电话告知。")
    )
    return redirect(url_for("tickets.ticket_page", ticket_id=ticket_id))
