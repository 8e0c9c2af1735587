"""The ticket board and page, and what staff do there: status, note, reply (through the worker's
queue), each with its audit row; bad input answers 400 and changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from backend.core.clock import utcnow
from backend.core.models import AuditLog, OutboundMessage, SlaClock, Ticket, TicketPhoto, TicketStep
from backend.core.redis_conn import get_redis
from backend.work.tickets import RepairRequest, create_repair
from tests.console.conftest import OPENID, hand_to_technician, post_form


def audit_rows(session, action):
    return session.execute(select(AuditLog).where(AuditLog.action == action)).scalars().all()


def test_board_lists_the_ticket_with_its_clock(as_role, world, session):
    hand_to_technician(session, world["ticket"].id)
    page = as_role("technician").get("/tickets").get_data(as_text=True)
    t = world["ticket"]
    assert t.number in page
    assert "3栋2单元501 厨房" in page
    assert "紧急" in page
    assert "超时" not in page.split("<tbody>")[1]  # due in 30 min, raised 4 min ago


def make_ticket(session, world, key, minutes_ago, urgency="normal", status="new", due_in=None):
    now = utcnow()
    t = create_repair(
        session,
        RepairRequest(
            openid=f"o-{key}", description=f"描述{key}", contact_phone="13800009999", urgency=urgency, source_key=key
        ),
        now=now - timedelta(minutes=minutes_ago),
    )
    t.status = status
    if due_in is not None:
        t.due_at = now + timedelta(minutes=due_in)
    session.commit()
    return t


def test_board_filters(as_role, world, session):
    late = make_ticket(session, world, "late", 90, due_in=-30)
    done_late = make_ticket(session, world, "donelate", 90, status="done", due_in=-30)
    later = make_ticket(session, world, "later", 10, due_in=600)
    client = as_role("customer_service")

    def numbers(query):
        page = client.get("/tickets" + query).get_data(as_text=True)
        return {t.number for t in (world["ticket"], late, done_late, later) if t.number in page}

    everything = {world["ticket"].number, late.number, done_late.number, later.number}
    assert numbers("") == everything - {done_late.number}  # default: open ones
    assert numbers("?status=") == everything
    assert numbers("?overdue=1") == {late.number}  # done work is never overdue
    assert numbers("?status=&overdue=1") == {late.number}
    assert numbers("?status=done") == {done_late.number}
    assert numbers("?urgency=urgent") == {world["ticket"].number}
    assert numbers("?kind=complaint") == set()
    assert numbers(f"?community={world['community'].id}") == {world["ticket"].number}
    assert numbers("?q=" + later.number) == {later.number}
    # Hand-edited nonsense shows the default list, never an error.
    assert client.get("/tickets?status=nope&community=abc&kind=<x>&urgency=9").status_code == 200
    # Overdue first on the board.
    page = client.get("/tickets").get_data(as_text=True)
    assert page.index(late.number) < page.index(world["ticket"].number)


def test_ticket_page_shows_steps_photos_conversation_and_clocks(as_role, world, session):
    t = session.get(Ticket, world["ticket"].id)
    session.add(TicketPhoto(ticket=t, url="https://mmbiz.qpic.cn/leak.jpg", media_id="m", created_at=utcnow()))
    session.add(
        OutboundMessage(
            openid=OPENID,
            channel="passive",
            content="已为您登记报修",
            status="sent",
            created_at=utcnow() - timedelta(minutes=4),
        )
    )
    session.commit()
    hand_to_technician(session, t.id)
    page = as_role("technician").get(f"/tickets/{t.id}").get_data(as_text=True)
    assert "厨房水管漏水了" in page  # the owner's message
    assert "已为您登记报修" in page  # our answer
    assert "https://mmbiz.qpic.cn/leak.jpg" in page
    assert "业主提交" in page  # the created step
    assert "还剩" in page  # due in ~26 minutes
    assert "138****1001" in page and "13800001001" not in page
    assert 'id="reply"' not in page  # technicians do not message owners
    assert 'id="note"' in page


def test_the_full_phone_number_is_shown_on_request_and_logged(as_role, world, session):
    client = as_role("customer_service")
    resp = post_form(client, f"/tickets/{world['ticket'].id}/phone")
    assert resp.status_code == 200
    assert 'href="tel:13800001001"' in resp.get_data(as_text=True)
    [row] = audit_rows(session, "ticket.phone_viewed")
    assert row.username == "customer_service" and row.target_id == str(world["ticket"].id)
    assert "13800001001" not in row.detail  # the log says who looked, not the number


def test_add_note_writes_a_step_and_an_audit_row(as_role, world, session):
    hand_to_technician(session, world["ticket"].id)
    client = as_role("technician")
    resp = post_form(client, f"/tickets/{world['ticket'].id}/note", {"note": "已电话联系业主，下午到场"})
    assert resp.status_code == 302
    step = session.execute(select(TicketStep).where(TicketStep.kind == "note")).scalar_one()
    assert step.note == "已电话联系业主，下午到场" and step.actor == "console:technician"
    [row] = audit_rows(session, "ticket.note")
    assert row.username == "technician" and row.target_id == str(world["ticket"].id)
    assert row.detail_data["step_id"] == step.id
    session.rollback()  # SQLite: end the test's read transaction before the app writes
    page = client.get(resp.location).get_data(as_text=True)
    assert "下午到场" in page and "备注已添加" in page


@pytest.mark.parametrize("note", ["", "   ", "长" * 1001])
def test_bad_note_is_refused(as_role, world, session, note):
    resp = post_form(as_role("admin"), f"/tickets/{world['ticket'].id}/note", {"note": note})
    assert resp.status_code == 400
    assert session.execute(select(TicketStep).where(TicketStep.kind == "note")).first() is None
    assert audit_rows(session, "ticket.note") == []


def test_change_status(as_role, world, session):
    client = as_role("supervisor")
    tid = world["ticket"].id
    resp = post_form(client, f"/tickets/{tid}/status", {"status": "done", "reason": "已修好"})
    assert resp.status_code == 302
    session.expire_all()
    assert session.get(Ticket, tid).status == "done"
    step = session.execute(select(TicketStep).where(TicketStep.kind == "done")).scalar_one()
    assert (step.note, step.actor) == ("已修好", "console:supervisor")
    [row] = audit_rows(session, "ticket.status")
    assert row.detail_data == {"number": world["ticket"].number, "old": "new", "new": "done", "reason": "已修好"}
    # Finished work cannot be cancelled; a made-up status is refused; neither changes anything.
    session.rollback()
    assert post_form(client, f"/tickets/{tid}/status", {"status": "cancelled", "reason": "x"}).status_code == 400
    assert post_form(client, f"/tickets/{tid}/status", {"status": "exploded"}).status_code == 400
    assert post_form(client, f"/tickets/{tid}/status", {"status": "done"}).status_code == 400
    assert post_form(client, f"/tickets/{tid}/status", {"status": "on_site"}).status_code == 400  # no going back
    session.expire_all()
    assert session.get(Ticket, tid).status == "done"
    assert len(audit_rows(session, "ticket.status")) == 1


def test_console_done_does_what_wechat_done_does(as_role, world, session):
    """完工 from the console, like 完工 in WeChat: the owner is told and asked to rate, the
    on-site clock stops and the feedback clock starts (backend.work.ticket_status.move)."""
    tid = world["ticket"].id
    assert (
        post_form(as_role("supervisor"), f"/tickets/{tid}/status", {"status": "done", "reason": "换了角阀"}).status_code
        == 302
    )
    session.expire_all()
    [told] = (
        session.execute(
            select(OutboundMessage).where(OutboundMessage.openid == OPENID, OutboundMessage.purpose == "progress")
        )
        .scalars()
        .all()
    )
    assert "已处理完成" in told.content and "处理情况：换了角阀" in told.content and "1-5 分" in told.content
    clocks = {c.kind: c for c in session.execute(select(SlaClock).where(SlaClock.ticket_id == tid)).scalars()}
    assert clocks["on_site"].outcome == "met" and clocks["on_site"].stopped_at is not None
    assert clocks["feedback"].outcome is None and clocks["feedback"].warn_at is not None


def test_cancel_and_reopen_need_a_reason(as_role, world, session):
    client = as_role("customer_service")
    tid = world["ticket"].id
    page = post_form(client, f"/tickets/{tid}/status", {"status": "cancelled"})
    assert page.status_code == 400 and "原因" in page.get_data(as_text=True)
    assert post_form(client, f"/tickets/{tid}/status", {"status": "dispatched"}).status_code == 400
    session.expire_all()
    assert session.get(Ticket, tid).status == "new"
    assert audit_rows(session, "ticket.status") == []
    session.rollback()  # SQLite: the test's reads must not hold the lock the app needs
    assert (
        post_form(client, f"/tickets/{tid}/status", {"status": "cancelled", "reason": "业主来电说不用修了"}).status_code
        == 302
    )
    assert post_form(client, f"/tickets/{tid}/status", {"status": "new"}).status_code == 400
    assert post_form(client, f"/tickets/{tid}/status", {"status": "new", "reason": "业主又来电"}).status_code == 302
    session.expire_all()
    assert session.get(Ticket, tid).status == "new"
    kinds = [
        s.kind
        for s in session.execute(
            select(TicketStep).where(TicketStep.ticket_id == tid).order_by(TicketStep.id)
        ).scalars()
    ]
    assert kinds[-2:] == ["cancelled", "reopened"]


def test_cancel_goes_through_the_backend(as_role, world, session):
    tid = world["ticket"].id
    assert (
        post_form(
            as_role("customer_service"), f"/tickets/{tid}/status", {"status": "cancelled", "reason": "业主来电取消"}
        ).status_code
        == 302
    )
    session.expire_all()
    assert session.get(Ticket, tid).status == "cancelled"
    assert (
        session.execute(select(TicketStep).where(TicketStep.kind == "cancelled")).scalar_one().actor
        == "console:customer_service"
    )


def test_reply_is_recorded_then_queued_for_the_worker(as_role, world, session, redis_url):
    client = as_role("customer_service")
    resp = post_form(client, f"/tickets/{world['ticket'].id}/reply", {"text": "您好，师傅 20 分钟内到。"})
    assert resp.status_code == 302
    out = session.execute(select(OutboundMessage)).scalar_one()
    assert (out.openid, out.channel, out.status, out.content) == (
        OPENID,
        "custom",
        "queued",
        "您好，师傅 20 分钟内到。",
    )
    assert (
        get_redis(redis_url).llen("rq:queue:wuye:high") == 1
    )  # owners' replies go on the high-priority queue  # the worker sends it
    step = session.execute(select(TicketStep).where(TicketStep.kind == "reply")).scalar_one()
    assert step.note == "您好，师傅 20 分钟内到。"
    [row] = audit_rows(session, "ticket.reply")
    assert row.detail_data["outbound_ids"] == [out.id]
    session.rollback()
    page = client.get(resp.location).get_data(as_text=True)
    assert "正在通过微信送达业主" in page and "待发送" in page


def test_reply_sends_through_the_worker_job(as_role, world, session, settings):
    """The queued job, run as the worker would, marks the message delivered (local mode)."""
    from backend.messaging.delivery import send_outbound

    post_form(as_role("admin"), f"/tickets/{world['ticket'].id}/reply", {"text": "收到"})
    out_id = session.execute(select(OutboundMessage.id)).scalar_one()
    session.rollback()  # SQLite: the job below writes
    assert send_outbound(out_id, settings) == "local"
    assert session.get(OutboundMessage, out_id).status == "local"


def test_reply_to_a_quiet_owner_warns(as_role, world, session):
    from backend.core.models import WechatUser

    session.get(WechatUser, OPENID).last_inbound_at = utcnow() - timedelta(hours=49)
    session.commit()
    client = as_role("admin")
    page = client.get(f"/tickets/{world['ticket'].id}").get_data(as_text=True)
    assert "超过 48 小时" in page
    resp = post_form(client, f"/tickets/{world['ticket'].id}/reply", {"text": "您好"})
    assert "请电话联系" in client.get(resp.location).get_data(as_text=True)


@pytest.mark.parametrize("text", ["", "字" * 601])
def test_bad_reply_is_refused(as_role, world, session, text):
    resp = post_form(as_role("admin"), f"/tickets/{world['ticket'].id}/reply", {"text": text})
    assert resp.status_code == 400
    assert session.execute(select(OutboundMessage)).first() is None


def test_unknown_ticket_is_404(as_role, world):
    client = as_role("admin")
    assert client.get("/tickets/999999").status_code == 404
    assert post_form(client, "/tickets/999999/note", {"note": "x"}).status_code == 404


def test_the_dispatch_form_is_for_those_who_may_dispatch(as_role, world, session):
    hand_to_technician(session, world["ticket"].id)
    assert 'id="dispatch"' in as_role("supervisor").get(f"/tickets/{world['ticket'].id}").get_data(as_text=True)
    assert 'id="dispatch"' not in as_role("technician").get(f"/tickets/{world['ticket'].id}").get_data(as_text=True)


def test_dispatch_calls_assign(as_role, world, session):
    from backend.core.models import Staff

    tech_id = session.execute(select(Staff.id).where(Staff.name == "王师傅")).scalar_one()
    session.rollback()
    resp = post_form(
        as_role("supervisor"), f"/tickets/{world['ticket'].id}/dispatch", {"staff_id": str(tech_id), "reason": "水电"}
    )
    assert resp.status_code == 302
    [row] = audit_rows(session, "ticket.dispatch")
    assert row.detail_data["staff_id"] == tech_id
    session.rollback()
    assert (
        post_form(as_role("admin"), f"/tickets/{world['ticket'].id}/dispatch", {"staff_id": "999999"}).status_code
        == 400
    )
