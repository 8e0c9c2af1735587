"""Dispatch: the right person by trade, duty and load; timeouts move on exactly once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from backend.core.models import OutboundMessage, Ticket, TicketAssignment
from backend.work import dispatch, taskflow
from tests.backend.crew import repair


# Helpers end their read transaction: on SQLite every transaction holds the write lock
# (BEGIN IMMEDIATE), and the job under test opens its own session.
def _ticket(session, ticket_id) -> Ticket:
    session.expire_all()
    ticket = session.get(Ticket, ticket_id)
    ticket.assignee, ticket.steps  # loaded now, before the transaction ends
    session.commit()
    return ticket


def _messages(session, openid=None, purpose=None) -> list[OutboundMessage]:
    session.expire_all()
    stmt = select(OutboundMessage).order_by(OutboundMessage.id)
    if openid:
        stmt = stmt.where(OutboundMessage.openid == openid)
    if purpose:
        stmt = stmt.where(OutboundMessage.purpose == purpose)
    rows = list(session.execute(stmt).scalars())
    session.commit()
    return rows


def test_an_urgent_leak_goes_to_an_on_duty_plumber_as_a_template(session, crew, now):
    tid = repair(session, crew, now)
    assert dispatch.dispatch_ticket(tid, now) == "dispatched"
    ticket = _ticket(session, tid)
    assert ticket.status == "dispatched" and ticket.skill == "水电"
    assert ticket.assignee_id in (crew.plumber_a.id, crew.plumber_b.id)
    [task] = _messages(session, purpose="task")
    assert task.channel == "template" and task.openid == ticket.assignee.openid
    fields = {k: v["value"] for k, v in task.template_payload["data"].items()}
    assert fields["keyword1"] == ticket.number
    assert fields["keyword2"] == "3栋2单元501"
    assert fields["keyword4"] == "紧急"
    assert "前到场" in fields["keyword5"]
    assert all(len(v) <= 20 for v in fields.values())  # WeChat cuts longer fields
    [offer] = session.execute(select(TicketAssignment)).scalars().all()
    session.commit()
    assert offer.ack_due_at == now + timedelta(minutes=5)


def test_a_lift_fault_goes_to_the_lift_technician(session, crew, now):
    tid = repair(session, crew, now, description="电梯困人了", facility="电梯")
    dispatch.dispatch_ticket(tid, now)
    assert _ticket(session, tid).assignee_id == crew.lift.id


def test_fewest_open_tasks_then_in_turn(session, crew, now):
    order = []
    for n in range(4):
        tid = repair(session, crew, now + timedelta(seconds=n), key=f"t{n}")
        dispatch.dispatch_ticket(tid, now + timedelta(seconds=n))
        order.append(_ticket(session, tid).assignee_id)
    a, b = crew.plumber_a.id, crew.plumber_b.id
    assert order == [a, b, a, b]


def test_running_dispatch_twice_assigns_once(session, crew, now):
    tid = repair(session, crew, now)
    assert dispatch.dispatch_ticket(tid, now) == "dispatched"
    assert dispatch.dispatch_ticket(tid, now) == "skipped"
    assert len(session.execute(select(TicketAssignment)).scalars().all()) == 1
    assert len(_messages(session, purpose="task")) == 1


def test_nobody_on_duty_with_the_trade_goes_to_the_supervisor(session, crew, now):
    tid = repair(session, crew, now, description="单元门禁坏了关不上", facility="门禁", urgency="normal")
    # 土建/门窗: nobody on duty has it
    dispatch.dispatch_ticket(tid, now)
    ticket = _ticket(session, tid)
    assert ticket.assignee_id == crew.supervisor.id
    [task] = _messages(session, purpose="task")
    assert "请主管安排" in task.content


def test_no_ack_in_five_minutes_moves_on_once_and_tells_the_supervisor(session, crew, now):
    tid = repair(session, crew, now)
    dispatch.dispatch_ticket(tid, now)
    first = _ticket(session, tid).assignee_id
    assert dispatch.sweep(now + timedelta(minutes=4, seconds=59)) == {"dispatched": 0, "escalated": 0}
    assert dispatch.sweep(now + timedelta(minutes=5, seconds=1)) == {"dispatched": 0, "escalated": 1}
    assert dispatch.sweep(now + timedelta(minutes=5, seconds=30)) == {"dispatched": 0, "escalated": 0}
    ticket = _ticket(session, tid)
    assert ticket.assignee_id not in (first, None)
    to_supervisor = _messages(session, openid=crew.supervisor.openid)
    assert len(to_supervisor) == 1 and "超时未接单" in to_supervisor[0].content
    assert [s.kind for s in ticket.steps].count("escalated") == 1


def test_a_normal_ticket_waits_fifteen_minutes(session, crew, now):
    tid = repair(session, crew, now, description="卫生间灯不亮", facility="灯", urgency="normal")
    dispatch.dispatch_ticket(tid, now)
    assert dispatch.sweep(now + timedelta(minutes=14))["escalated"] == 0
    assert dispatch.sweep(now + timedelta(minutes=15, seconds=1))["escalated"] == 1


def test_accepting_in_time_stops_the_clock(session, crew, now):
    tid = repair(session, crew, now)
    dispatch.dispatch_ticket(tid, now)
    ticket = _ticket(session, tid)
    taskflow.accept(session, ticket.assignee, ticket, now + timedelta(minutes=2))
    session.commit()
    assert dispatch.sweep(now + timedelta(minutes=30))["escalated"] == 0


def test_when_everyone_timed_out_the_supervisor_keeps_being_told_not_spammed(session, crew, now):
    tid = repair(session, crew, now)
    dispatch.dispatch_ticket(tid, now)
    at = now
    for _ in range(6):
        at += timedelta(minutes=5, seconds=1)
        dispatch.sweep(at)
    ticket = _ticket(session, tid)
    tried = session.execute(select(TicketAssignment.staff_id).where(TicketAssignment.ticket_id == tid)).scalars().all()
    assert set(tried) == {crew.plumber_a.id, crew.plumber_b.id, crew.supervisor.id}
    assert ticket.assignee_id == crew.supervisor.id
    stuck = [m for m in _messages(session, openid=crew.supervisor.openid) if "暂无其他人可派" in m.content]
    assert len(stuck) == 1


def test_the_sweep_dispatches_a_ticket_whose_job_was_lost(session, crew, now):
    tid = repair(session, crew, now)  # created, but the enqueue never happened (Redis was down)
    assert dispatch.sweep(now + timedelta(seconds=2))["dispatched"] == 0  # its job may still be coming
    assert dispatch.sweep(now + timedelta(seconds=6))["dispatched"] == 1
    assert _ticket(session, tid).status == "dispatched"


def test_transfer_needs_the_holder_and_goes_to_the_next_person(session, crew, now):
    tid = repair(session, crew, now)
    dispatch.dispatch_ticket(tid, now)
    ticket = _ticket(session, tid)
    holder = ticket.assignee
    other = crew.plumber_b if holder.id == crew.plumber_a.id else crew.plumber_a
    with pytest.raises(dispatch.DispatchError):
        dispatch.transfer(session, ticket, other, "不是我的")
    new = dispatch.transfer(session, ticket, holder, "需要电焊，我没带工具", now + timedelta(minutes=1))
    session.commit()
    assert new.id == other.id
    assert "转单：需要电焊" in _messages(session, openid=crew.supervisor.openid)[0].content


def test_console_reassignment_ends_the_previous_offer(session, crew, now):
    tid = repair(session, crew, now)
    dispatch.dispatch_ticket(tid, now)
    ticket = _ticket(session, tid)
    dispatch.assign(session, ticket, crew.lift, "staff:99", reason="主管指定", now=now)
    session.commit()
    states = session.execute(select(TicketAssignment.status).order_by(TicketAssignment.id)).scalars().all()
    assert states == ["transferred", "pending"]
    assert _ticket(session, tid).assignee_id == crew.lift.id


def test_an_emergency_pages_the_technician_and_every_supervisor(session, crew, now):
    from backend.work.staff import add_shift, add_staff

    second = add_staff(session, "钱主管", "13800009005", "supervisor", "综合")
    second.openid = "o-staff-9005"
    add_shift(session, second, now - timedelta(hours=4), now + timedelta(hours=8))
    session.commit()
    tid = repair(session, crew, now, description="厨房燃气泄漏了", facility="燃气管")
    assert dispatch.page_emergency(tid, now) == "dispatched"
    ticket = _ticket(session, tid)
    paged = {m.openid for m in _messages(session, purpose="task")}
    assert ticket.assignee.openid in paged
    assert {crew.supervisor.openid, "o-staff-9005"} <= paged  # there can be several supervisors


def test_staff_of_another_community_are_never_sent_a_ticket(session, crew, now):
    from backend.core.models import Community
    from backend.work.staff import add_shift, add_staff

    other = Community(code="YGC", name="阳光城", service_grade=3)
    session.add(other)
    session.flush()
    for person in (crew.plumber_a, crew.plumber_b, crew.supervisor):
        person.community_id = other.id  # they serve 阳光城 only
    local = add_staff(session, "冯师傅", "13800009001", "technician", "水电")
    local.openid, local.community_id = "o-staff-9001", crew.community.id
    add_shift(session, local, now - timedelta(hours=4), now + timedelta(hours=8))
    session.commit()
    tid = repair(session, crew, now)
    dispatch.dispatch_ticket(tid, now)
    assert _ticket(session, tid).assignee_id == local.id


def test_a_ticket_of_no_known_community_goes_only_to_staff_serving_all(session, crew, now):
    from backend.core.models import Community

    other = Community(code="YGC", name="阳光城", service_grade=3)
    session.add(other)
    session.flush()
    for person in (crew.plumber_a, crew.plumber_b, crew.lift):
        person.community_id = crew.community.id
    session.commit()
    ticket = session.get(Ticket, repair(session, crew, now))
    ticket.community_id = None
    session.commit()
    dispatch.dispatch_ticket(ticket.id, now)
    assert _ticket(session, ticket.id).assignee_id == crew.supervisor.id  # serves every community
