"""Service standards end to end through /wechat: a repair is finished, the owner is asked to rate,
"四星，来得有点晚" is recorded as 4 with its comment and counted in the scorecard; a complaint
gets a TS number, reaches customer service's WeChat, and its result reaches the owner."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.core.clock import SHANGHAI, aware_now
from backend.core.db import get_engine, session_scope
from backend.core.models import Complaint, Rating, SlaClock, Staff, Ticket
from backend.service import scorecard
from backend.work import staff as staff_records
from tests.e2e.conftest import AES_KEY, APPID, TOKEN
from tests.e2e.wx import WeChat, wait_for

PLUMBER = "o-e2e-plumber"  # the same WeChat test_e2e_staff binds 王师傅 to
DESK = "o-e2e-desk"
OWNER = "o-e2e-rating-owner"
COMPLAINER = "o-e2e-complainer"


@pytest.fixture(scope="module")
def wx(system):
    return WeChat(system.base_url, TOKEN, AES_KEY, APPID, mode="aes")


@pytest.fixture(scope="module")
def engine(system):
    return get_engine(f"sqlite:///{system.db_path}")


def _bind(engine, wx, name, openid):
    with session_scope(engine) as session:
        person = session.execute(select(Staff).where(Staff.name == name)).scalar_one()
        code = staff_records.issue_bind_code(session, person)
    reply, _ = wx.say(openid, f"绑定 {code}")
    assert "绑定成功" in reply


def _read(engine, fn):
    """Read in a short transaction of its own (SQLite: an open one holds the write lock)."""
    with session_scope(engine) as session:
        return fn(session)


def _card(engine) -> dict:
    month = aware_now().astimezone(SHANGHAI).strftime("%Y-%m")
    card = _read(engine, lambda s: scorecard.for_month(s, "XFL", month))
    return {f["key"]: (f["numerator"], f["denominator"]) for f in card["figures"]}


def test_a_finished_repair_is_rated_in_words_and_counted_in_the_scorecard(system, standin, wx, engine):
    _bind(engine, wx, "王师傅", PLUMBER)
    # A bound owner: with two communities in the demo, "3栋2单元501" alone names two homes.
    reply, _ = wx.say(OWNER, "绑定 3栋2单元501 13800001001")
    assert "绑定成功" in reply
    reply, _ = wx.say(OWNER, "3栋2单元501厨房水管爆了 水一直往外冒 电话13912345678")
    assert "30分钟" in reply and "单号" in reply  # an emergency: no confirmation turn
    number = _read(engine, lambda s: s.execute(select(Ticket.number).where(Ticket.openid == OWNER)).scalar_one())
    wait_for(
        lambda: [m for m in standin.to(PLUMBER, "template") if m["body"]["data"]["keyword1"]["value"] == number],
        timeout=15,
    )

    for command in (f"接单 {number}", f"到场 {number}", f"完工 {number} 换了一截新水管"):
        reply, _ = wx.say(PLUMBER, command)
        assert number in reply
    asked = wait_for(lambda: [t for t in standin.texts_to(OWNER) if "处理完成" in t], timeout=15)
    assert "打个分" in asked[0] and "1-5 分" in asked[0]
    before = _card(engine)

    reply, _ = wx.say(OWNER, "四星，来得有点晚")
    assert "4分" in reply and "来得有点晚" in reply

    def recorded(session):
        rating = session.execute(select(Rating).join(Ticket).where(Ticket.number == number)).scalar_one()
        ticket = session.execute(select(Ticket).where(Ticket.number == number)).scalar_one()
        clocks = {
            c.kind: c.outcome
            for c in session.execute(select(SlaClock).where(SlaClock.ticket_id == ticket.id)).scalars()
        }
        return rating.score, rating.comment, rating.source, ticket.status, clocks

    assert _read(engine, recorded) == (4, "来得有点晚", "owner", "closed", {"on_site": "met", "feedback": "met"})
    after = _card(engine)
    assert after["rating_satisfaction"] == (before["rating_satisfaction"][0] + 1, before["rating_satisfaction"][1] + 1)
    assert after["revisit_rate"][0] == before["revisit_rate"][0] + 1
    assert after["emergency_on_site"][0] >= 1


def test_a_complaint_reaches_customer_service_and_the_result_reaches_the_owner(system, standin, wx, engine):
    _bind(engine, wx, "郑客服", DESK)
    reply, _ = wx.say(COMPLAINER, "我要投诉")
    assert "具体是什么情况" in reply
    reply, _ = wx.say(COMPLAINER, "楼上天天晚上十一点还在装修 吵得孩子睡不着")
    assert "在哪里" in reply
    reply, _ = wx.say(COMPLAINER, "3栋2单元")
    assert "TS" in reply and "2小时内" in reply and "噪音扰民" in reply
    number = _read(engine, lambda s: s.execute(select(Ticket.number).where(Ticket.openid == COMPLAINER)).scalar_one())
    [task] = wait_for(
        lambda: [m for m in standin.to(DESK, "template") if m["body"]["data"]["keyword1"]["value"] == number],
        timeout=15,
    )
    assert task["body"]["data"]["keyword4"]["value"] == "投诉"

    reply, _ = wx.say(DESK, f"办结 {number} 已上门提醒楼上业主，晚上十点后不再施工")
    assert "已办结" in reply
    told = wait_for(lambda: [t for t in standin.texts_to(COMPLAINER) if number in t and "已经处理" in t], timeout=15)
    assert "晚上十点后不再施工" in told[0]

    def outcome(session):
        ticket = session.execute(select(Ticket).where(Ticket.number == number)).scalar_one()
        clock = session.execute(select(SlaClock).where(SlaClock.ticket_id == ticket.id)).scalar_one()
        return session.get(Complaint, ticket.id).category, ticket.location_label, clock.kind, clock.outcome

    assert _read(engine, outcome) == ("noise", "3栋2单元", "handled", "met")


def test_the_yearly_survey_is_started_by_staff_and_answered_in_chat(system, standin, wx, engine):
    import subprocess
    import sys

    from sqlalchemy import func

    from backend.core.models import Building, Community, House, WechatBinding
    from backend.owners import accounts as owners

    owner = "o-e2e-surveyed"
    wx.say(owner, "你好")  # their 48-hour window is open: the survey comes as a chat message

    def bind(session):
        house = session.execute(
            select(House).join(Building).join(Community).where(Community.code == "XFL").order_by(House.id).limit(1)
        ).scalar_one()
        owners.bind(session, owner, house)

    _read(engine, bind)
    # Every owner bound in XFL is asked (other tests in this session bound some too).
    invited = _read(
        engine,
        lambda s: s.execute(
            select(func.count(func.distinct(WechatBinding.openid)))
            .join(House, House.id == WechatBinding.house_id)
            .join(Building)
            .join(Community)
            .where(Community.code == "XFL")
        ).scalar_one(),
    )
    started = subprocess.run(
        [sys.executable, "-m", "backend", "survey", "start", "--community", "XFL", "--by", "吴主管"],
        env=system.env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"已向 {invited} 位" in started.stdout
    asked = wait_for(lambda: [t for t in standin.texts_to(owner) if "满意度调查" in t], timeout=15)
    assert "第1题" in asked[0]

    reply, _ = wx.say(owner, "5")
    assert "第2题" in reply
    reply, _ = wx.say(owner, "还行吧")
    assert "第3题" in reply
    reply, _ = wx.say(owner, "小区绿化可以再多一些")
    assert "谢谢您花时间" in reply
    results = subprocess.run(
        [sys.executable, "-m", "backend", "survey", "results", "--community", "XFL"],
        env=system.env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "答完 1" in results.stdout and "100.0%（1/1）" in results.stdout


def test_still_broken_after_rating_sends_the_job_back(system, wx, engine):
    reply, _ = wx.say(OWNER, "还没修好 水管接头还在滴水")
    assert "重新派单" in reply
    status = _read(engine, lambda s: s.execute(select(Ticket.status).where(Ticket.openid == OWNER)).scalar_one())
    assert status in ("new", "dispatched")
