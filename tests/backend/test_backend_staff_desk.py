"""Staff act in WeChat: binding by code, 接单/到场/完工/转单, and clear answers to mistakes."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from backend.core.clock import aware_now
from backend.core.models import OutboundMessage, Ticket, TicketPhoto
from backend.work import dispatch, staff_desk
from backend.work import staff as staff_records
from tests.backend.crew import owner_wrote, repair


def say(session, openid, text) -> str:
    replies = staff_desk.answer(session, openid, text)
    session.commit()
    assert replies is not None and len(replies) == 1
    return replies[0]


@pytest.fixture
def task(session, crew, now):
    tid = repair(session, crew, now)
    dispatch.dispatch_ticket(tid, now)
    session.expire_all()
    ticket = session.get(Ticket, tid)
    holder = ticket.assignee
    session.commit()
    return ticket, holder


@pytest.mark.parametrize(
    "text, parsed",
    [
        ("接单", ("accept", None, "")),
        ("接单 BX261123001", ("accept", "BX261123001", "")),
        ("接单bx261123001", ("accept", "BX261123001", "")),
        ("到场", ("arrive", None, "")),
        ("已到达", ("arrive", None, "")),
        ("完工 换了新的角阀", ("done", None, "换了新的角阀")),
        ("完工 BX261123001：换了新的角阀", ("done", "BX261123001", "换了新的角阀")),
        ("转单 需要电梯公司处理", ("transfer", None, "需要电梯公司处理")),
        ("帮助", ("help", None, "")),
        ("我的任务", ("tasks", None, "")),
        ("好的收到", (None, None, "好的收到")),
    ],
)
def test_parse(text, parsed):
    assert staff_desk.parse(text) == parsed


def test_owners_messages_are_not_for_the_staff_desk(session, crew):
    assert staff_desk.answer(session, "o-owner", "接单") is None


def test_binding_with_a_one_time_code(session, wechat_env):
    person = staff_records.add_staff(session, "钱师傅", "13800003001", "technician", "水电")
    code = staff_records.issue_bind_code(session, person)
    session.commit()
    assert "绑定成功" in say(session, "o-new-tech", f"绑定 {code}")
    session.expire_all()
    assert staff_records.staff_by_openid(session, "o-new-tech").name == "钱师傅"
    session.commit()
    assert "无效或已过期" in say(session, "o-someone-else", code)  # used up


def test_an_expired_or_wrong_code_binds_nothing(session, wechat_env):
    person = staff_records.add_staff(session, "钱师傅", "", "technician", "水电")
    code = staff_records.issue_bind_code(session, person, now=aware_now() - timedelta(hours=25))
    session.commit()
    assert "无效或已过期" in say(session, "o-x", code)
    assert "无效或已过期" in say(session, "o-x", "绑定 YG000000" if code != "YG000000" else "绑定 YG000001")
    assert staff_records.staff_by_openid(session, "o-x") is None


def test_help_lists_the_commands(session, crew):
    reply = say(session, crew.plumber_a.openid, "帮助")
    for word in ("接单", "到场", "完工", "转单"):
        assert word in reply


def test_accept_arrive_done_and_the_owner_hears_each(session, crew, task, now):
    ticket, holder = task
    owner_wrote(session, "o-owner", now)  # window open: customer-service messages
    assert "已接单" in say(session, holder.openid, "接单")
    assert "已经接过" in say(session, holder.openid, "接单")
    assert "已记录到场" in say(session, holder.openid, f"到场 {ticket.number}")
    assert "已完工" in say(session, holder.openid, "完工 更换了厨房角阀")
    session.expire_all()
    ticket = session.get(Ticket, ticket.id)
    assert ticket.status == "done"
    steps = [s for s in ticket.steps if s.kind in ("dispatched", "accepted", "arrived", "done")]
    assert [s.kind for s in steps] == ["dispatched", "accepted", "arrived", "done"]
    assert all(a.at <= b.at for a, b in zip(steps, steps[1:]))  # each step with its time
    to_owner = (
        session.execute(select(OutboundMessage).where(OutboundMessage.openid == "o-owner").order_by(OutboundMessage.id))
        .scalars()
        .all()
    )
    session.commit()
    assert [m.channel for m in to_owner] == ["custom"] * 3
    assert holder.name in to_owner[0].content and "路上" in to_owner[0].content
    assert "到达现场" in to_owner[1].content
    assert "1-5 分" in to_owner[2].content and "更换了厨房角阀" in to_owner[2].content


def test_owner_without_an_open_window_gets_templates(session, crew, task):
    ticket, holder = task
    say(session, holder.openid, "接单")
    [msg] = session.execute(select(OutboundMessage).where(OutboundMessage.openid == "o-owner")).scalars().all()
    session.commit()
    assert msg.channel == "template"
    assert msg.template_payload["data"]["keyword1"]["value"] == ticket.number


def test_a_photo_after_done_is_kept_with_the_job(session, crew, task):
    ticket, holder = task
    say(session, holder.openid, "完工 好了")
    payload = json.dumps({"photo_url": "http://img.example/after.jpg", "media_id": "m1"})
    assert ticket.number in say(session, holder.openid, "/send_photo" + payload)
    assert session.execute(select(TicketPhoto.url)).scalar_one() == "http://img.example/after.jpg"


def test_mistakes_get_clear_answers(session, crew, task):
    ticket, holder = task
    other = crew.lift
    assert "没有待处理" in say(session, other.openid, "接单")
    assert "没有找到单号" in say(session, holder.openid, "接单 BX260101999")
    assert "不在您名下" in say(session, other.openid, f"接单 {ticket.number}")
    assert "要写原因" in say(session, holder.openid, "转单")
    assert "没看懂" in say(session, holder.openid, "好的收到")


def test_transfer_tells_who_has_it_now(session, crew, task):
    ticket, holder = task
    reply = say(session, holder.openid, "转单 需要电焊，我没带工具")
    session.expire_all()
    new_holder = session.get(Ticket, ticket.id).assignee
    session.commit()
    assert new_holder.id != holder.id and new_holder.name in reply
    assert "名下" in say(session, holder.openid, f"完工 {ticket.number}")
