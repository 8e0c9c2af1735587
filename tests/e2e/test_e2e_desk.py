"""The service desk end to end: an owner bound in WeChat phones the desk; staff record the repair
in the console's 新建工单 (Chromium); the worker dispatches it to an on-duty plumber, whose
WeChat (the stand-in) gets the task; the owner's WeChat hears that it is recorded and, when the
plumber answers 接单 in WeChat, that he is on his way."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from sqlalchemy import select

from backend.core.models import Staff, Ticket
from backend.work import staff as staff_records
from scripts import stack
from tests.console.browser import DESKTOP, log_in
from tests.e2e.conftest import AES_KEY, APPID, TOKEN
from tests.e2e.wx import WeChat, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
PASSWORD = "e2e-desk-pass"
OWNER = "o-e2e-desk-caller"
PLUMBER = "o-e2e-plumber"  # the same WeChat test_e2e_staff binds 王师傅 to


@pytest.fixture(scope="module")
def wx(system):
    return WeChat(system.base_url, TOKEN, AES_KEY, APPID, mode="aes")


@pytest.fixture(scope="module")
def desk_user(system):
    env = {**system.env, "CONSOLE_PASSWORD": PASSWORD}
    subprocess.run(
        [sys.executable, "-m", "console", "create-user", "frontdesk", "--role", "customer_service", "--name", "周客服"],
        cwd=stack.ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return "frontdesk"


@pytest.fixture(scope="module")
def plumber(system, wx):
    from backend.core.db import get_engine, session_scope

    with session_scope(get_engine(f"sqlite:///{system.db_path}")) as session:
        person = session.execute(select(Staff).where(Staff.name == "王师傅")).scalar_one()
        code = None if person.openid == PLUMBER else staff_records.issue_bind_code(session, person)
    if code:
        assert "绑定成功" in wx.say(PLUMBER, f"绑定 {code}")[0]


def test_a_phone_call_recorded_in_the_console_reaches_the_plumber_and_the_owner(
    system, standin, wx, desk_user, plumber, browser, db_session
):
    assert "绑定成功" in wx.say(OWNER, "绑定 12-1102 13800001003")[0]  # 王芳, 12栋1102

    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    try:
        log_in(page, system.console_url, desk_user, PASSWORD)
        page.wait_for_url(f"{system.console_url}/tickets")
        page.click("#new-ticket")
        page.fill("#owner-search input[name=q]", "12栋1102")
        page.click("#owner-search button")
        owner = page.locator("label.owner", has_text="王芳")
        assert "已绑定微信" in owner.inner_text()
        owner.locator("input").check()
        page.select_option("select[name=kind]", "repair")
        page.select_option("select[name=channel]", "phone")
        page.fill("textarea[name=description]", "卫生间水龙头一直滴水，关不紧")
        page.select_option("select[name=place]", "卫生间")
        page.fill("input[name=preferred_time]", "明天上午")
        page.click("#intake-form button[type=submit]")
        flash = page.locator(".flash").inner_text()
        number = re.search(r"单号 (BX\d+)", flash).group(1)
        assert "业主已绑定微信" in flash and "电话" in page.locator("dd.channel").inner_text()
    finally:
        context.close()

    told = wait_for(lambda: [t for t in standin.texts_to(OWNER) if number in t and "已经登记" in t], timeout=60)
    assert "电话里说的报修" in told[0] and "滴水" in told[0]

    def task():
        db_session.expire_all()
        ticket = db_session.execute(select(Ticket).where(Ticket.number == number)).scalar_one()
        person = ticket.assignee
        openid = person.openid if person else None
        db_session.commit()  # SQLite: the open read transaction would hold the write lock
        if not openid:
            return None
        sent = [m for m in standin.to(openid, "template") if m["body"]["data"]["keyword1"]["value"] == number]
        return (openid, person.name, sent) if sent else None

    openid, name, [message] = wait_for(task, timeout=60)
    fields = {k: v["value"] for k, v in message["body"]["data"].items()}
    assert fields["keyword2"].startswith("12栋1102") and "滴水" in fields["keyword3"]
    ticket = db_session.execute(select(Ticket).where(Ticket.number == number)).scalar_one()
    assert (ticket.channel, ticket.openid) == ("phone", OWNER)
    db_session.commit()

    # Whoever has it (王师傅, unless an earlier test bound another plumber) answers in WeChat.
    assert "已接单" in wx.say(openid, f"接单 {number}")[0]
    wait_for(lambda: [t for t in standin.texts_to(OWNER) if f"{name}已经接单" in t], timeout=60)


def test_fee_questions_about_two_items_get_their_own_answers(system, wx):
    """Two items by their names and by another name; a house not the owner's is refused."""
    from sqlalchemy import delete

    from backend.core.db import get_engine, session_scope
    from backend.core.models import WechatBinding

    owner = "o-e2e-desk-fees"
    try:
        assert "绑定成功" in wx.say(owner, "绑定 3-2-501 13800001001")[0]
        parking, _ = wx.say(owner, "车位费还欠多少")
        assert "的车位管理费：" in parking and "240.00元" in parking and "80.00元/月" in parking
        temporary, _ = wx.say(owner, "临时停车怎么收费")
        assert "的临时停车：" in temporary and "5.00元/小时" in temporary and "首小时免费" in temporary
        assert "2.80元/m²/月" not in parking + temporary  # neither is the 物业费 card
        # As owners type: another name of the item, and another house's bill (never shown).
        synonym, _ = wx.say(owner, "停车费怎么交")
        assert "的车位管理费：" in synonym and "· 怎么缴：" in synonym
        other, _ = wx.say(owner, "查一下3栋1单元201的物业费")
        assert "3栋1单元201 不是您绑定的房屋" in other and not re.search(r"\d\.\d\d", other)
    finally:
        # test_e2e_outage counts exactly its own owners in building 3 of the same system.
        with session_scope(get_engine(f"sqlite:///{system.db_path}")) as session:
            session.execute(delete(WechatBinding).where(WechatBinding.openid == owner))


def test_an_outage_whose_owners_were_told_late_shows_on_the_scorecard(system, standin, browser, desk_user):
    from datetime import datetime, timedelta

    from backend.core.clock import SHANGHAI
    from backend.core.db import get_engine, session_scope
    from backend.core.models import Building, Community, House, WechatBinding

    env = {**system.env, "CONSOLE_PASSWORD": PASSWORD}
    subprocess.run(
        [sys.executable, "-m", "console", "create-user", "deskboss", "--role", "supervisor", "--name", "钱主管"],
        cwd=stack.ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    owner = "o-e2e-desk-outage"
    with session_scope(get_engine(f"sqlite:///{system.db_path}")) as session:  # 阳光城 5号楼: no other test's
        house = session.execute(
            select(House).join(Building).join(Community).where(Community.code == "YGC", Building.code == "5").limit(1)
        ).scalar_one()
        session.add(WechatBinding(openid=owner, house_id=house.id, is_current=True))
    now = datetime.now(SHANGHAI).replace(second=0, microsecond=0)
    start = now + timedelta(hours=10)  # the utility told us 6 hours ago: owners hear 16 h ahead, late
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    try:
        log_in(page, system.console_url, "deskboss", PASSWORD)
        page.wait_for_url(f"{system.console_url}/tickets")
        page.goto(f"{system.console_url}/outages/new")
        page.select_option("select[name=community]", "YGC")
        page.select_option("select[name=kind]", "water")
        page.check("input[name=scope][value=some]")
        page.check('.buildings[data-community="YGC"] input[value="5"]')
        page.fill("input[name=starts_at]", start.strftime("%Y-%m-%dT%H:%M"))
        page.fill("input[name=ends_at]", (start + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"))
        page.fill("input[name=utility_notified_at]", (now - timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M"))
        page.fill("input[name=reason]", "市政管网抢修")
        page.click("#outage-form button[type=submit]")
        page.click("#send button")
        wait_for(lambda: standin.to(owner), timeout=60)
        page.goto(f"{system.console_url}/scorecard?community=YGC&month={start:%Y-%m}")
        row = page.locator("#outage-notices tbody tr", has_text="停水")
        text = row.inner_text()
        assert "✗ 通知晚了" in text and "6." in text  # about 6 hours after the utility's notice
        assert "late" in (row.get_attribute("class") or "")
    finally:
        context.close()
