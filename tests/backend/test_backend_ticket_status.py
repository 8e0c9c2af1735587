"""backend.work.ticket_status.move: one function for every status change, from any door, with its
rules (no going back, a reason to cancel or reopen) and its consequences (owner told, clocks)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from backend.core.models import Complaint, OutboundMessage, SlaClock, Ticket, TicketAssignment
from backend.core.statuses import TicketStatus
from backend.service import complaints
from backend.work import dispatch, staff_desk, ticket_status
from backend.work.ticket_status import StatusError, move
from tests.backend.crew import make_crew, owner_wrote, repair

OWNER = "o-owner"


@pytest.fixture
def crew(session, wechat_env, now):
    crew = make_crew(session, now)
    owner_wrote(session, OWNER, now - timedelta(minutes=1))
    return crew


def _progress(session, ticket_id) -> list[OutboundMessage]:
    return (
        session.execute(
            select(OutboundMessage)
            .where(
                OutboundMessage.ticket_id == ticket_id,
                OutboundMessage.openid == OWNER,
                OutboundMessage.purpose == "progress",
            )
            .order_by(OutboundMessage.id)
        )
        .scalars()
        .all()
    )


def _clocks(session, ticket_id) -> dict[str, SlaClock]:
    return {c.kind: c for c in session.execute(select(SlaClock).where(SlaClock.ticket_id == ticket_id)).scalars()}


def test_enum_values_are_the_database_strings():
    assert TicketStatus.DONE == "done" and f"{TicketStatus.ON_SITE}" == "on_site"
    assert TicketStatus("cancelled") is TicketStatus.CANCELLED


def test_console_and_wechat_done_have_the_same_consequences(session, crew, now):
    """The same move from a console login and from a technician's 完工: the owner asked to rate,
    the on-site clock stopped, the feedback clock started, the offer closed."""
    results = []
    for door in ("console", "wechat"):
        tid = repair(session, crew, now, key=door)
        ticket = session.get(Ticket, tid)
        dispatch.assign(session, ticket, crew.plumber_a, "system", now=now)
        session.commit()
        later = now + timedelta(minutes=20)
        if door == "console":
            assert move(session, ticket, "done", "console:zheng", "换了角阀", now=later)
        else:
            [reply] = staff_desk.answer(session, crew.plumber_a.openid, f"完工 {ticket.number} 换了角阀")
            assert "已完工" in reply
        session.commit()
        clocks = _clocks(session, tid)
        [told] = _progress(session, tid)
        offer = session.execute(select(TicketAssignment).where(TicketAssignment.ticket_id == tid)).scalar_one()
        results.append(
            (
                ticket.status,
                "处理情况：换了角阀" in told.content,
                told.channel,
                clocks["on_site"].stopped_at is not None,
                clocks["feedback"].outcome is None,
                offer.status,
            )
        )
        session.commit()
    assert results[0] == results[1] == ("done", True, "custom", True, True, "closed")


def test_forward_steps_tell_the_owner_and_stop_the_on_site_clock(session, crew, now):
    tid = repair(session, crew, now)
    ticket = session.get(Ticket, tid)
    dispatch.assign(session, ticket, crew.plumber_a, "system", now=now)
    assert move(session, ticket, "accepted", "console:zheng", now=now + timedelta(minutes=1))
    assert not move(session, ticket, "accepted", "console:zheng")  # already: nothing changes
    assert move(session, ticket, TicketStatus.ON_SITE, "console:zheng", now=now + timedelta(minutes=25))
    session.commit()
    texts = [m.content for m in _progress(session, tid)]
    assert len(texts) == 2 and "王师傅已经接单" in texts[0] and "已到达现场" in texts[1]
    assert _clocks(session, tid)["on_site"].outcome == "met"
    with pytest.raises(StatusError, match="不能往回改"):
        move(session, ticket, "accepted", "console:zheng")
    with pytest.raises(StatusError, match="派单"):
        move(session, ticket, "dispatched", "console:zheng")
    with pytest.raises(StatusError, match="已完成"):
        move(session, ticket, "closed", "console:zheng")
    with pytest.raises(StatusError, match="有效"):
        move(session, ticket, "exploded", "console:zheng")


def test_cancel_needs_a_reason_and_ends_the_offer(session, crew, now):
    tid = repair(session, crew, now)
    ticket = session.get(Ticket, tid)
    dispatch.assign(session, ticket, crew.plumber_a, "system", now=now)
    with pytest.raises(StatusError, match="原因"):
        move(session, ticket, "cancelled", "console:zheng", "  ")
    assert ticket.status == "dispatched"
    assert move(session, ticket, "cancelled", "console:zheng", "业主来电说不用修了", now=now)
    session.commit()
    offer = session.execute(select(TicketAssignment).where(TicketAssignment.ticket_id == tid)).scalar_one()
    assert (offer.status, offer.ack_due_at) == ("closed", None)  # the sweep will not move it on
    assert ticket.steps[-1].kind == "cancelled" and ticket.steps[-1].note == "业主来电说不用修了"
    with pytest.raises(StatusError, match="已取消"):
        move(session, ticket, "done", "console:zheng", "x")


def test_reopen_needs_a_reason_and_sends_the_job_back_to_dispatch(session, crew, now):
    tid = repair(session, crew, now)
    ticket = session.get(Ticket, tid)
    dispatch.assign(session, ticket, crew.plumber_a, "system", now=now)
    move(session, ticket, "done", "staff:1", "换了角阀", now=now + timedelta(minutes=20))
    session.commit()
    with pytest.raises(StatusError, match="原因"):
        move(session, ticket, "new", "console:zheng")
    assert move(session, ticket, "new", "console:zheng", "业主来电说还在漏", now=now + timedelta(hours=1))
    session.commit()
    assert (ticket.status, ticket.assignee_id) == ("new", None)
    assert "feedback" not in _clocks(session, tid)  # a new one starts at the next 完工
    session.commit()  # SQLite: end the read before the job's own transaction
    assert dispatch.dispatch_ticket(tid, now + timedelta(hours=1, minutes=1)) == "dispatched"


def test_a_complaint_is_done_only_with_a_result_which_the_owner_hears(session, crew, now):
    ticket = complaints.raise_complaint(
        session,
        complaints.ComplaintRequest(openid=OWNER, description="楼上装修太吵了", community_id=crew.community.id),
        now=now,
    )
    session.commit()
    with pytest.raises(StatusError, match="处理结果"):
        move(session, ticket, "done", "console:zheng", now=now + timedelta(minutes=30))
    assert move(session, ticket, "done", "console:zheng", "已上门提醒楼上业主", now=now + timedelta(minutes=30))
    session.commit()
    complaint = session.get(Complaint, ticket.id)
    assert complaint.result == "已上门提醒楼上业主" and complaint.handled_at is not None
    assert _clocks(session, ticket.id)["handled"].outcome == "met"
    [told] = _progress(session, ticket.id)
    assert "已经处理：已上门提醒楼上业主" in told.content


def test_staff_chat_shows_the_rule_in_chinese(session, crew, now):
    tid = repair(session, crew, now)
    ticket = session.get(Ticket, tid)
    dispatch.assign(session, ticket, crew.plumber_a, "system", now=now)
    ticket_status.move(session, ticket, "on_site", "staff:1", now=now)
    session.commit()
    [reply] = staff_desk.answer(session, crew.plumber_a.openid, "接单")
    assert "已经接过了" in reply or "已接单" in reply
