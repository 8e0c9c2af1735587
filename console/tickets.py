"""The ticket board and the ticket page with its actions (status, note, reply, dispatch)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from backend.core.clock import utcnow
from backend.core.models import OPEN_TICKET_STATUSES, TICKET_STATUSES, Staff, Ticket, TicketAssignment
from backend.work import dispatch, ticket_status
from backend.work import tickets as ticket_records
from console import audit, outbound
from console import board as queries
from console.access import can, require
from console.context import db_session
from console.labels import unmasked

bp = Blueprint("tickets", __name__)
MAX_NOTE = 1000


def console_actor() -> str:
    return f"console:{g.user.username}"


def visible():
    """None for the desk (every ticket); for a technician the clause of their own tickets."""
    return None if can(g.user.role, "tickets.all") else dispatch.with_staff(g.user.staff_id)


@bp.before_request
def _only_own_tickets():
    """A ticket that is not the technician's is not there for them: its page and every action on
    it answer 404 (before the action reads its form), like a ticket that does not exist."""
    ticket_id = (request.view_args or {}).get("ticket_id")
    if ticket_id is None or g.get("user") is None:
        return None
    scope = visible()
    if scope is not None:
        with db_session() as s:
            if s.execute(select(Ticket.id).where(Ticket.id == ticket_id, scope)).first() is None:
                abort(404)
    return None


def _load(session, ticket_id: int) -> Ticket:
    ticket = session.execute(
        select(Ticket)
        .where(Ticket.id == ticket_id)
        .options(selectinload(Ticket.steps), selectinload(Ticket.photos), selectinload(Ticket.community))
    ).scalar_one_or_none()
    if ticket is None:
        abort(404)
    return ticket


class Refused(Exception):
    """An action refused for a reason the form shows (400); raised inside the transaction so
    nothing of it is kept."""

    def __init__(self, message: str, form: dict | None = None):
        super().__init__(message)
        self.message, self.form = message, form


@bp.errorhandler(Refused)
def _refused(exc: Refused):
    return render_ticket(request.view_args["ticket_id"], exc.message, 400, exc.form)


@bp.get("/tickets")
@require("tickets.view")
def board():
    f = queries.BoardFilter.from_args(request.args)
    now = utcnow()
    with db_session() as s:
        rows = queries.board(s, f, now, where=visible())
        communities = queries.communities(s)
    return render_template(
        "board.html",
        rows=rows,
        f=f,
        communities=communities,
        now=now,
        is_overdue=queries.is_overdue,
        limit=queries.BOARD_LIMIT,
    )


def render_ticket(
    ticket_id: int, error: str | None = None, status: int = 200, form: dict | None = None, phone: str | None = None
):
    now = utcnow()
    with db_session() as s:
        ticket = _load(s, ticket_id)
        excerpt = queries.ticket_excerpt(s, ticket)
        assignments = (
            s.execute(
                select(TicketAssignment)
                .where(TicketAssignment.ticket_id == ticket.id)
                .options(selectinload(TicketAssignment.staff))
                .order_by(TicketAssignment.assigned_at, TicketAssignment.id)
            )
            .scalars()
            .all()
        )
        assignee = ticket.assignee
        reachable = queries.can_message(s, ticket.openid, now)
        staff = []
        if can(g.user.role, "tickets.dispatch"):
            staff = list(
                s.execute(select(Staff).where(Staff.active.is_(True)).order_by(Staff.role, Staff.name)).scalars()
            )
    return render_template(
        "ticket.html",
        t=ticket,
        excerpt=excerpt,
        clocks=queries.clocks(ticket, now),
        reachable=reachable,
        statuses=TICKET_STATUSES,
        staff=staff,
        assignments=assignments,
        assignee=assignee,
        error=error,
        form=form or {},
        phone=phone,
    ), status


@bp.get("/tickets/mine")
@require("tickets.mine")
def mine():
    """A technician's own work: open tickets assigned to the Staff record their login is linked to."""
    now = utcnow()
    staff_id = g.user.staff_id
    rows = []
    if staff_id is not None:
        with db_session() as s:
            rows = list(
                s.execute(
                    select(Ticket)
                    .options(selectinload(Ticket.community))
                    .where(Ticket.status.in_(OPEN_TICKET_STATUSES), dispatch.with_staff(staff_id))
                    .order_by(Ticket.urgency.desc(), Ticket.due_at.is_(None), Ticket.due_at, Ticket.id)
                    .limit(queries.BOARD_LIMIT)
                ).scalars()
            )
    return render_template("mine.html", rows=rows, now=now, is_overdue=queries.is_overdue, linked=staff_id is not None)


@bp.get("/tickets/<id:ticket_id>")
@require("tickets.view")
def ticket_page(ticket_id: int):
    return render_ticket(ticket_id)


@bp.post("/tickets/<id:ticket_id>/phone")
@require("tickets.phone")
def reveal_phone(ticket_id: int):
    """The owner's full number, for calling them; masked by default, and every look is logged.
    The desk only: a technician never sees a whole number."""
    with db_session() as s:
        ticket = _load(s, ticket_id)
        phone = ticket.contact_phone
        audit.record(s, "ticket.phone_viewed", "ticket", ticket.id, number=ticket.number)
    return render_ticket(ticket_id, phone=unmasked(phone))


@bp.post("/tickets/<id:ticket_id>/status")
@require("tickets.status")
def change_status(ticket_id: int):
    new = request.form.get("status", "")
    reason = (request.form.get("reason") or "").strip()[:200] or None
    if new not in TICKET_STATUSES:
        raise Refused("请选择有效的状态。")
    with db_session() as s:
        ticket = _load(s, ticket_id)
        old = ticket.status
        if new == old:
            raise Refused("工单已经是这个状态。")
        try:  # the same rules and consequences as the staff's WeChat commands
            ticket_status.move(s, ticket, new, console_actor(), reason)
        except ticket_status.StatusError as exc:
            raise Refused(str(exc)) from exc
        audit.record(s, "ticket.status", "ticket", ticket.id, number=ticket.number, old=old, new=new, reason=reason)
    flash("状态已更新。")
    return redirect(url_for("tickets.ticket_page", ticket_id=ticket_id))


@bp.post("/tickets/<id:ticket_id>/note")
@require("tickets.note")
def add_note(ticket_id: int):
    note = (request.form.get("note") or "").strip()
    if not note or len(note) > MAX_NOTE:
        message = "备注不能为空。" if not note else f"备注太长了（最多 {MAX_NOTE} 字）。"
        raise Refused(message, {"note": note})
    with db_session() as s:
        ticket = _load(s, ticket_id)
        step = ticket_records.add_step(s, ticket, "note", console_actor(), note=note)
        audit.record(s, "ticket.note", "ticket", ticket.id, number=ticket.number, step_id=step.id)
    flash("备注已添加。")
    return redirect(url_for("tickets.ticket_page", ticket_id=ticket_id))


@bp.post("/tickets/<id:ticket_id>/reply")
@require("tickets.reply")
def reply(ticket_id: int):
    text = (request.form.get("text") or "").strip()
    problem = outbound.check_reply(text)
    if problem:
        raise Refused(problem, {"reply": text})
    with db_session() as s:
        ticket = _load(s, ticket_id)
        ids = outbound.queue_reply(s, ticket.openid, text)
        ticket_records.add_step(s, ticket, "reply", console_actor(), note=text)
        audit.record(s, "ticket.reply", "ticket", ticket.id, number=ticket.number, outbound_ids=ids)
        reachable = queries.can_message(s, ticket.openid)
    flash(
        "回复已发出，正在通过微信送达业主。"
        if reachable
        else "回复已记录；业主超过 48 小时没有发消息，微信可能不予送达，请电话联系。"
    )
    return redirect(url_for("tickets.ticket_page", ticket_id=ticket_id))


@bp.post("/tickets/<id:ticket_id>/dispatch")
@require("tickets.dispatch")
def dispatch_ticket(ticket_id: int):
    staff_id = request.form.get("staff_id", "")
    reason = (request.form.get("reason") or "").strip()[:200] or None
    with db_session() as s:
        ticket = _load(s, ticket_id)
        staff = s.get(Staff, int(staff_id)) if staff_id.isdigit() and len(staff_id) < 10 else None
        if staff is None or not staff.active:
            raise Refused("请选择在岗的员工。")
        try:
            dispatch.assign(s, ticket, staff, actor=console_actor(), reason=reason)
        except ValueError as exc:
            raise Refused(f"无法派单：{exc}") from exc
        audit.record(
            s,
            "ticket.dispatch",
            "ticket",
            ticket.id,
            number=ticket.number,
            staff_id=staff.id,
            staff=staff.name,
            reason=reason,
        )
    flash(f"已派给 {staff.name}。")
    return redirect(url_for("tickets.ticket_page", ticket_id=ticket_id))
