"""Front-desk intake: a call or a visit recorded through the same ticket and complaint functions as
WeChat's, with its channel; the bound owner hears it in WeChat, an unbound one does not."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from backend.core.models import Complaint, OutboundMessage, Resident, Ticket, WechatBinding
from backend.service import complaints, intake, sla
from backend.work import dispatch, ticket_status
from backend.work.staff import add_shift, add_staff

OWNER = "o-bound-owner"


@pytest.fixture
def desk(session, crew, now):
    person = add_staff(session, "郑客服", "13800002006", "customer_service", "")
    person.openid = "o-staff-2006"
    add_shift(session, person, now - timedelta(hours=4), now + timedelta(days=3))
    resident = Resident(house_id=crew.house.id, name="刘女士", phone="13912345678", role="owner")
    session.add(resident)
    session.flush()
    session.add(WechatBinding(openid=OWNER, house_id=crew.house.id, resident_id=resident.id, created_at=now))
    session.commit()
    crew.resident = resident
    return crew


def _messages(session, openid) -> list[OutboundMessage]:
    session.expire_all()
    rows = (
        session.execute(select(OutboundMessage).where(OutboundMessage.openid == openid).order_by(OutboundMessage.id))
        .scalars()
        .all()
    )
    session.commit()
    return rows


def test_owners_are_found_by_phone_tail_by_house_and_by_name(session, desk):
    assert [r.name for r in intake.search_owners(session, "5678")] == ["刘女士"]
    assert [r.name for r in intake.search_owners(session, "3栋2单元501")] == ["刘女士"]
    assert [r.name for r in intake.search_owners(session, "刘")] == ["刘女士"]
    assert intake.search_owners(session, "4栋2单元501") == []
    assert intake.search_owners(session, "%") == []


def test_a_phone_repair_is_dispatched_and_the_bound_owner_hears_every_step(session, desk, now):
    ticket = intake.take(
        session,
        intake.Intake(
            kind="repair",
            channel="phone",
            description="卫生间马桶堵了",
            house_id=desk.house.id,
            resident_id=desk.resident.id,
            place="卫生间",
            preferred_time_label="今天下午",
        ),
        "console:zheng",
        now,
    )
    session.commit()
    assert ticket.channel == "phone" and ticket.kind == "repair" and ticket.number.startswith("BX")
    assert ticket.openid == OWNER and ticket.contact_phone == "13912345678"
    created = ticket.steps[0]
    assert (created.kind, created.actor, created.note) == ("created", "console:zheng", "电话受理")
    ticket_id, number = ticket.id, ticket.number
    [received] = _messages(session, OWNER)  # ends the read transaction (SQLite: the write lock)
    assert "电话里说的报修「卫生间马桶堵了」已经登记" in received.content and number in received.content

    ticket = None
    assert dispatch.dispatch_ticket(ticket_id, now) == "dispatched"
    session.expire_all()
    ticket = session.get(Ticket, ticket_id)
    person = ticket.assignee
    assert person.name in ("王师傅", "李师傅")
    [task] = _messages(session, person.openid)
    assert number in task.content and "卫生间马桶堵了" in task.content
    ticket = session.get(Ticket, ticket_id)
    ticket_status.move(session, ticket, "accepted", f"staff:{person.id}", now=now + timedelta(minutes=2))
    session.commit()
    assert any("已经接单" in m.content for m in _messages(session, OWNER))


def test_the_owners_words_for_a_time_start_the_agreed_time_clock_as_in_wechat(session, desk, now):
    """「明天上午」 said on the phone is an agreed time, as it is in chat: the on-site clock runs
    to 2 hours after it. Words that name no time stay a note, with no clock."""
    from datetime import datetime

    from backend.core.clock import SHANGHAI

    def repair(said, key):
        return intake.take(
            session,
            intake.Intake(
                kind="repair",
                channel="phone",
                description="厨房水管漏水",
                house_id=desk.house.id,
                preferred_time_label=said,
                source_key=key,
            ),
            "console:zheng",
            now,
        )

    agreed = repair("明天上午", "t-agreed")
    tomorrow = now.astimezone(SHANGHAI).date() + timedelta(days=1)
    assert agreed.preferred_time_label == "明天上午"
    assert agreed.due_at == datetime(tomorrow.year, tomorrow.month, tomorrow.day, 9, tzinfo=SHANGHAI)
    [(kind, _, due, _)] = sla.planned(agreed)
    assert kind == "on_site" and due == agreed.due_at + timedelta(hours=2)
    vague = repair("等我下班回来再说", "t-vague")
    assert vague.preferred_time_label == "等我下班回来再说" and vague.due_at is None and sla.planned(vague) == []


def test_an_unbound_owner_gets_no_wechat_message_and_a_double_submit_records_one(session, crew, now):
    resident = Resident(house_id=crew.house.id, name="陈先生", phone="13700001234", role="owner")
    session.add(resident)
    session.commit()
    form = dict(
        kind="repair",
        channel="walk_in",
        description="客厅灯不亮",
        house_id=crew.house.id,
        resident_id=resident.id,
        source_key="desk-form-1",
    )
    first = intake.take(session, intake.Intake(**form), "console:zheng", now)
    again = intake.take(session, intake.Intake(**form), "console:zheng", now)
    session.commit()
    assert first.id == again.id and first.openid == "" and first.channel == "walk_in"
    assert session.execute(select(OutboundMessage).where(OutboundMessage.openid == "")).first() is None


def test_a_phone_complaint_goes_to_customer_service_on_its_2_hour_clock(session, desk, now):
    ticket = intake.take(
        session,
        intake.Intake(
            kind="complaint",
            channel="phone",
            description="楼上每天半夜装修声音很吵",
            house_id=desk.house.id,
            resident_id=desk.resident.id,
        ),
        "console:zheng",
        now,
    )
    session.commit()
    assert ticket.kind == "complaint" and ticket.channel == "phone" and ticket.number.startswith("TS")
    assert session.get(Complaint, ticket.id).category == "noise"
    assert sla.get(session, ticket.id, "handled").due_at == now + timedelta(hours=2)
    assert ticket.assignee.name == "郑客服"
    complaints.handle(session, ticket, ticket.assignee, "已上门提醒楼上业主", now + timedelta(minutes=40))
    session.commit()
    assert any("已上门提醒楼上业主" in m.content for m in _messages(session, OWNER))


@pytest.mark.parametrize(
    "form, words",
    [
        (dict(kind="repair", channel="fax", description="x"), "渠道"),
        (dict(kind="repair", channel="phone", description="  "), "内容"),
        (dict(kind="repair", channel="phone", description="灯坏了"), "房屋"),
        (dict(kind="bribe", channel="phone", description="灯坏了"), "类别"),
    ],
)
def test_a_form_missing_what_the_desk_must_say_is_refused(session, crew, now, form, words):
    with pytest.raises(intake.IntakeError, match=words):
        intake.take(session, intake.Intake(**form), "console:zheng", now)


def test_staff_close_a_suggestion_with_办结_in_wechat_and_the_owner_hears_the_reply(session, desk, now):
    from backend.work import staff_desk

    ticket = intake.take(
        session,
        intake.Intake(
            kind="suggestion",
            channel="phone",
            description="建议东门加装雨棚",
            house_id=desk.house.id,
            resident_id=desk.resident.id,
        ),
        "console:zheng",
        now,
    )
    session.commit()
    number = ticket.number
    assert number.startswith("JY")
    [reply] = staff_desk.answer(session, "o-staff-2006", f"办结 {number} 已报业委会，下月施工")
    session.commit()
    assert f"意见建议 {number} 已办结" in reply
    answer = [m.content for m in _messages(session, OWNER) if "客服中心的回复" in m.content]
    assert answer and "已报业委会，下月施工" in answer[0]
