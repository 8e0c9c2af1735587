"""新建工单 in the console: a call taken at the desk becomes a ticket like one from WeChat, in a
real browser (Chromium) and through the Flask client for the refusals and permissions."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from backend.core import db
from backend.core.models import AuditLog, OutboundMessage, Ticket
from console import users
from console.app import create_app
from console.demo import seed_console_demo
from console.live import LiveServer
from tests.console.browser import DESKTOP, log_in
from tests.console.conftest import post_form

PASSWORD = "intake-pass-1"
ZHANG = "o-demo-zhangwei"  # bound to 3栋2单元501 in the console demo


@pytest.fixture(scope="module")
def site(tmp_path_factory, redis_url):
    import dataclasses

    from backend.core.config import load_settings

    url = f"sqlite:///{tmp_path_factory.mktemp('intake') / 'console.db'}"
    db.upgrade(url)
    with db.session_scope(db.get_engine(url)) as s:
        seed_console_demo(s)
        users.create_user(s, "zheng", PASSWORD, "customer_service", "郑客服")
    settings = dataclasses.replace(load_settings(), database_url=url, redis_url=redis_url)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REDIS_URL", redis_url)
        with LiveServer(create_app(settings, SECRET_KEY="intake-tests")) as server:
            server.engine = db.get_engine(url)
            yield server


@pytest.mark.browser
def test_a_phone_repair_taken_at_the_desk_in_chromium(browser, site):
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    try:
        log_in(page, site.url, "zheng", PASSWORD)
        page.wait_for_url(f"{site.url}/tickets")
        page.click("#new-ticket")
        page.fill("#owner-search input[name=q]", "1001")  # the tail of the number the caller gives
        page.click("#owner-search button")
        owners = page.locator("label.owner")
        assert owners.count() == 1
        assert "3栋2单元501" in owners.inner_text() and "已绑定微信" in owners.inner_text()
        assert "138****1001" in owners.inner_text() and "13800001001" not in page.content()
        page.select_option("select[name=kind]", "repair")
        page.select_option("select[name=channel]", "phone")
        page.fill("textarea[name=description]", "卫生间马桶堵了，冲不下去")
        page.select_option("select[name=place]", "卫生间")
        page.fill("input[name=preferred_time]", "今天下午")
        page.click("#intake-form button[type=submit]")
        assert re.search(r"已受理，单号 BX\d+。业主已绑定微信", page.locator(".flash").inner_text())
        assert "电话" in page.locator("dd.channel").inner_text()
        assert "马桶堵了" in page.locator(".facts").inner_text()
        number = page.locator("h1").inner_text().split()[0]
    finally:
        context.close()
    with db.session_scope(site.engine) as s:
        ticket = s.execute(select(Ticket).where(Ticket.number == number)).scalar_one()
        assert (ticket.channel, ticket.openid, ticket.kind, ticket.place) == ("phone", ZHANG, "repair", "卫生间")
        assert ticket.steps[0].actor == "console:zheng" and ticket.steps[0].note == "电话受理"
        told = (
            s.execute(
                select(OutboundMessage.content).where(
                    OutboundMessage.openid == ZHANG, OutboundMessage.ticket_id == ticket.id
                )
            )
            .scalars()
            .all()
        )
        assert any("电话里说的报修" in t and number in t for t in told)
        audit = s.execute(select(AuditLog).where(AuditLog.action == "ticket.intake")).scalars().all()
        assert [a.detail_data["channel"] for a in audit] == ["phone"]


@pytest.mark.browser
def test_without_an_owner_or_a_community_the_form_says_what_is_missing(browser, site):
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    try:
        log_in(page, site.url, "zheng", PASSWORD)
        page.goto(f"{site.url}/tickets/new")
        page.fill("textarea[name=description]", "楼道灯坏了")
        page.click("#intake-form button[type=submit]")
        assert "请先查找并选择业主的房屋" in page.locator(".error").inner_text()
        assert page.locator("textarea[name=description]").input_value() == "楼道灯坏了"  # kept
    finally:
        context.close()


def test_a_technician_may_not_open_the_intake_form(as_role):
    assert as_role("technician").get("/tickets/new").status_code == 403
    assert as_role("customer_service").get("/tickets/new").status_code == 200


def test_a_patrol_finding_in_a_shared_area_needs_only_the_community(as_role, world):
    client = as_role("supervisor")
    resp = post_form(
        client,
        "/tickets/new",
        {
            "kind": "repair",
            "channel": "patrol",
            "description": "5栋楼道灯不亮",
            "community_id": str(world["community"].id),
            "place": "楼道",
            "urgency": "normal",
            "token": "t-1",
        },
    )
    assert resp.status_code == 302
    again = post_form(
        client,
        "/tickets/new",
        {
            "kind": "repair",
            "channel": "patrol",
            "description": "5栋楼道灯不亮",
            "community_id": str(world["community"].id),
            "place": "楼道",
            "urgency": "normal",
            "token": "t-1",
        },
    )
    assert again.headers["Location"] == resp.headers["Location"]  # a double click: one ticket
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "巡查发现" in page and "5栋楼道灯不亮" in page


def test_the_scorecard_shows_channels_desk_hours_the_24_hour_line_and_publicity(as_role, world, session):
    from datetime import datetime

    from backend.core.clock import SHANGHAI
    from backend.core.models import Community

    community = session.get(Community, world["community"].id)
    community.desk_hours, community.duty_phone = "08:00-20:00", "0571-8888 6110"
    session.commit()
    client = as_role("supervisor")
    post_form(
        client,
        "/tickets/new",
        {
            "kind": "suggestion",
            "channel": "phone",
            "description": "建议东门加装雨棚",
            "community_id": str(community.id),
            "token": "t-sc",
        },
    )
    month = datetime.now(SHANGHAI).strftime("%Y-%m")
    page = client.get(f"/scorecard?community=XFL&month={month}").get_data(as_text=True)
    assert "意见建议2小时内答复率" in page and "意见建议 1 件" in page
    assert "客服中心每天服务时长" in page and "12 小时" in page and "目标 ≥12 小时" in page
    assert "24小时服务电话" in page and "已公布" in page
    assert "收支公示" in page and ("在期内" in page or "已过期" in page)
    assert "0571-8888 6666" in page[page.index('id="phone-24h"') :]  # the number staffed 24 hours
    limits = page[page.index('id="outage-limits"') : page.index('id="outage-notices"')]
    assert "2 小时内通知业主" in limits and "至少提前 24 小时" in limits and "以公司确认的为准" in limits
    channels = page[page.index('id="channels"') : page.index('id="outage-notices"')]
    assert "电话" in channels and "微信" in channels
    assert "近12个月" in page  # yearly figures on a month's card
    year = client.get(f"/scorecard?community=XFL&month={month}&span=year").get_data(as_text=True)
    assert "每月趋势" in year and "按全年考核" in year and "12月" in year
    assert client.get(f"/scorecard.csv?community=XFL&month={month}&span=year").status_code == 200
