"""The console in a real browser (Debian's Chromium through Playwright): log in, the board, a
ticket's note, status and reply, the handoff inbox, and the phone layout."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.core import db
from backend.core.models import HumanHandoff, OutboundMessage, Staff, TicketStep
from console import users
from console.app import create_app
from console.demo import seed_console_demo
from console.live import LiveServer
from tests.console.browser import DESKTOP, PHONE, log_in

pytestmark = pytest.mark.browser
PASSWORD = "browser-pass-1"


@pytest.fixture(scope="module")
def site(tmp_path_factory, redis_url):
    import dataclasses

    from backend.core.config import load_settings

    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'console.db'}"
    db.upgrade(url)
    with db.session_scope(db.get_engine(url)) as s:
        demo = seed_console_demo(s)
        # The technician's login is a staff record with the lift job: technicians see only theirs.
        tech = s.execute(select(Staff).where(Staff.role == "technician").order_by(Staff.id)).scalars().first()
        demo["lift"].assignee_id = tech.id
        users.create_user(s, "admin", PASSWORD, "admin", "吴主管")
        users.create_user(s, "technician", PASSWORD, "technician", tech.name, staff_id=tech.id)
    settings = dataclasses.replace(load_settings(), database_url=url, redis_url=redis_url)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REDIS_URL", redis_url)  # the reply jobs go to the tests' Redis
        with LiveServer(create_app(settings, SECRET_KEY="browser-tests")) as server:
            server.demo = demo
            server.engine = db.get_engine(url)
            yield server


@pytest.fixture
def page(browser, site):
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    yield page
    context.close()


def test_login_then_the_board(page, site):
    page.goto(f"{site.url}/tickets")
    assert "/login" in page.url
    log_in(page, site.url, "admin", "wrong-password")
    assert page.locator(".error").inner_text() == "用户名或密码不正确。"
    log_in(page, site.url, "admin", PASSWORD)
    page.wait_for_url(f"{site.url}/tickets")
    rows = page.locator("table.tickets tbody tr")
    assert rows.count() == 4  # the open ones; yesterday's finished door is not shown
    first = rows.nth(0).inner_text()
    assert site.demo["leak"].number in first and "超时" in first  # overdue first
    page.select_option("select[name=status]", "done")
    page.click("form.filters button")
    assert page.locator("table.tickets tbody tr").count() == 1
    assert site.demo["door"].number in page.locator("table.tickets").inner_text()


def test_note_status_and_reply_on_a_ticket(page, site):
    log_in(page, site.url, "admin", PASSWORD)
    page.click(f"text={site.demo['leak'].number}")
    assert page.locator("h1").inner_text().startswith(site.demo["leak"].number)
    assert "厨房水管爆了" in page.locator(".chat").inner_text()
    assert page.locator(".photos img").count() == 1
    assert "已超时" in page.locator(".clocks").inner_text()

    page.fill("#note textarea", "已联系王师傅，10 分钟到")
    page.click("#note button")
    assert page.locator(".flash").inner_text() == "备注已添加。"
    assert "已联系王师傅，10 分钟到" in page.locator(".timeline").inner_text()

    page.fill("#reply textarea", "张先生您好，师傅已在路上，10 分钟内到。")
    page.click("#reply button")
    assert "正在通过微信送达业主" in page.locator(".flash").inner_text()
    assert "师傅已在路上" in page.locator(".chat").inner_text()

    page.select_option("#status select", "on_site")
    page.click("#status button")
    assert page.locator("h1 .status").inner_text() == "处理中"

    with db.session_scope(site.engine) as s:
        assert s.execute(
            select(TicketStep.kind)
            .where(TicketStep.ticket_id == site.demo["leak"].id)
            .order_by(TicketStep.id.desc())
            .limit(4)
        ).scalars().all() == ["arrived", "accepted", "reply", "note"]  # 到场 from the console, as in WeChat
        reply, arrived = (
            s.execute(select(OutboundMessage).where(OutboundMessage.channel == "custom").order_by(OutboundMessage.id))
            .scalars()
            .all()
        )
        assert reply.status == "queued" and reply.openid == "o-demo-zhangwei"
        assert arrived.purpose == "progress" and "已到达现场" in arrived.content


def test_the_handoff_inbox(page, site):
    log_in(page, site.url, "admin", PASSWORD)
    page.click("nav >> text=转人工")
    cards = page.locator("article.handoff")
    assert cards.count() == 2
    first = cards.nth(0)
    assert "陈静" in first.inner_text() and "物业费怎么算的" in first.inner_text()
    first.locator("textarea").fill("陈女士您好，您家 89.5 平方米，每月物业费 223.75 元。")
    first.locator("button.send").click()
    assert "正在通过微信送达业主" in page.locator(".flash").inner_text()
    assert "223.75" in page.locator("article.handoff").nth(0).inner_text()
    page.locator("article.handoff").nth(0).locator("button.handback").click()
    assert page.locator(".flash").inner_text() == "已交回智能助手。"
    assert page.locator("article.handoff").count() == 1
    with db.session_scope(site.engine) as s:
        statuses = s.execute(select(HumanHandoff.status).order_by(HumanHandoff.id)).scalars().all()
    assert statuses == ["closed", "open"]


def test_technicians_see_no_reply_form_and_no_inbox(page, site):
    log_in(page, site.url, "technician", PASSWORD)
    assert page.locator("nav >> text=转人工").count() == 0
    page.click(f"text={site.demo['lift'].number}")
    assert page.locator("#note").count() == 1 and page.locator("#reply").count() == 0
    page.goto(f"{site.url}/handoffs")
    assert "没有权限" in page.content()


def test_dispatch_from_the_ticket_page(page, site):
    log_in(page, site.url, "admin", PASSWORD)
    page.goto(f"{site.url}/tickets/{site.demo['complaint'].id}")
    page.select_option("#dispatch select", label="王师傅 · 维修师傅（水电）")
    page.click("#dispatch button")
    assert "已派给 王师傅" in page.locator(".flash").inner_text()


def test_phone_layout_has_no_sideways_scrolling(browser, site):
    context = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        log_in(page, site.url, "admin", PASSWORD)
        for path in ("/tickets", f"/tickets/{site.demo['leak'].id}", "/handoffs", "/residents", "/staff"):
            page.goto(site.url + path)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], (path, width)
        page.goto(f"{site.url}/tickets")
        assert not page.locator("table.tickets thead").is_visible()  # rows become cards
    finally:
        context.close()


def test_scorecard_draws_its_charts(page, site):
    log_in(page, site.url, "admin", PASSWORD)
    page.wait_for_url(f"{site.url}/tickets")
    page.click("nav >> text=服务指标")
    page.wait_for_url(f"{site.url}/scorecard")
    assert page.locator(".figures").first.locator(".figure").count() == 9  # the grade's figures
    assert page.locator(".figures.desk .figure").count() == 3  # desk hours, 24-hour line, 公示
    assert "按受理渠道" in page.content() and "停水停电通知" in page.content()
    charts = page.locator("svg.chart")
    assert charts.count() == 2
    for i in range(2):
        box = charts.nth(i).bounding_box()
        assert box["width"] > 200 and box["height"] > 40  # drawn, not an empty box
    assert page.locator("svg.chart rect").count() >= 1  # a bar for the demo's tickets
    assert "目标" in page.locator(".figures").first.inner_text()
    with page.expect_download() as download:
        page.click("text=导出 CSV")
    assert download.value.suggested_filename.startswith("scorecard-")


def test_an_import_with_a_bad_row_shows_the_row(page, site):
    log_in(page, site.url, "admin", PASSWORD)
    page.goto(f"{site.url}/imports")
    page.select_option("select[name=kind]", "buildings")
    page.set_input_files(
        "input[type=file]",
        files=[
            {
                "name": "楼栋.csv",
                "mimeType": "text/csv",
                "buffer": "小区,楼栋,名称\nXFL,30,30栋\nXFL,,无楼号\n".encode(),
            }
        ],
    )
    page.click("#import-form button[type=submit]")
    report = page.locator("#import-report")
    assert "没有导入任何数据" in report.inner_text()
    assert "第3行" in page.locator(".row-errors").inner_text()
    page.goto(f"{site.url}/outages/new")
    assert "30栋" not in page.content()  # nothing was written
