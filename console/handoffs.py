"""The inbox of conversations handed to a person (request_human): read the owner's recent
messages, answer them through WeChat, and hand the conversation back to the assistant."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from backend.core.models import OPEN_TICKET_STATUSES, HumanHandoff, Ticket
from backend.owners import accounts as owners
from console import audit, outbound
from console import board as queries
from console.access import require
from console.context import db_session

bp = Blueprint("handoffs", __name__)
RECENT = 8


@dataclass
class Card:
    handoff: HumanHandoff
    house_label: str
    resident_name: str
    lines: list
    open_tickets: list
    reachable: bool


def _card(session, handoff: HumanHandoff) -> Card:
    binding = owners.current_binding(session, handoff.openid)
    tickets = (
        session.execute(
            select(Ticket)
            .where(Ticket.openid == handoff.openid, Ticket.status.in_(OPEN_TICKET_STATUSES))
            .order_by(Ticket.created_at.desc())
            .limit(5)
        )
        .scalars()
        .all()
    )
    return Card(
        handoff=handoff,
        house_label=binding.house.label if binding else "",
        resident_name=binding.resident.name if binding and binding.resident else "",
        lines=queries.conversation(session, handoff.openid, limit=RECENT),
        open_tickets=list(tickets),
        reachable=queries.can_message(session, handoff.openid),
    )


@bp.get("/handoffs")
@require("handoffs")
def inbox():
    show = "closed" if request.args.get("show") == "closed" else "open"
    with db_session() as s:
        stmt = select(HumanHandoff).where(HumanHandoff.status == show)
        order = HumanHandoff.created_at.asc() if show == "open" else HumanHandoff.created_at.desc()
        rows = s.execute(stmt.order_by(order, HumanHandoff.id).limit(100)).scalars().all()
        cards = [_card(s, h) for h in rows]
    return render_template("handoffs.html", cards=cards, show=show)


def _get_open(session, handoff_id: int) -> HumanHandoff:
    handoff = session.get(HumanHandoff, handoff_id)
    if handoff is None:
        abort(404)
    return handoff


@bp.post("/handoffs/<id:handoff_id>/reply")
@require("handoffs")
def reply(handoff_id: int):
    text = (request.form.get("text") or "").strip()
    problem = outbound.check_reply(text)
    if problem:
        return render_template("error.html", code=400, message=problem, back=url_for("handoffs.inbox")), 400
    with db_session() as s:
        handoff = _get_open(s, handoff_id)
        ids = outbound.queue_reply(s, handoff.openid, text)
        audit.record(s, "handoff.reply", "handoff", handoff.id, outbound_ids=ids)
    flash("回复已发出，正在通过微信送达业主。")
    return redirect(url_for("handoffs.inbox") + f"#h{handoff_id}")


@bp.post("/handoffs/<id:handoff_id>/close")
@require("handoffs")
def close(handoff_id: int):
    with db_session() as s:
        handoff = _get_open(s, handoff_id)
        if handoff.status == "closed":
            flash("这个会话已经交回智能助手了。")
            return redirect(url_for("handoffs.inbox"))
        handoff.status = "closed"
        audit.record(s, "handoff.close", "handoff", handoff.id)
    flash("已交回智能助手。")
    return redirect(url_for("handoffs.inbox"))
