"""An outage notice created and sent from the console (in Chromium), delivered by the real
worker to the WeChat stand-in, its progress updating live on the page until every owner has it."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from backend.core.clock import SHANGHAI
from backend.core.db import get_engine, session_scope
from backend.core.models import Building, Community, House, WechatBinding
from scripts import stack
from tests.console.browser import DESKTOP, log_in
from tests.e2e.wx import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
PASSWORD = "e2e-outage-pass"
BUILDING = "A5"  # test_e2e_outage binds owners in 3, 8 and 12 of the same system
OWNERS = 12


@pytest.fixture(scope="module")
def supervisor(system):
    env = {**system.env, "CONSOLE_PASSWORD": PASSWORD}
    subprocess.run(
        [sys.executable, "-m", "console", "create-user", "zhou", "--role", "supervisor", "--name", "周主管"],
        cwd=stack.ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return "zhou"


@pytest.fixture(scope="module")
def owners(system):
    made = []
    with session_scope(get_engine(f"sqlite:///{system.db_path}")) as session:
        houses = (
            session.execute(
                select(House)
                .join(Building)
                .join(Community)
                .where(Community.code == "XFL", Building.code == BUILDING)
                .order_by(House.id)
                .limit(OWNERS)
            )
            .scalars()
            .all()
        )
        for n, house in enumerate(houses):
            openid = f"o-console-outage-{n}"
            session.add(WechatBinding(openid=openid, house_id=house.id, is_current=True))
            made.append(openid)
    assert len(made) == OWNERS
    return made


def test_create_an_outage_in_the_console_and_watch_it_deliver(system, standin, browser, supervisor, owners):
    start = (datetime.now(SHANGHAI) + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    try:
        log_in(page, system.console_url, supervisor, PASSWORD)
        page.wait_for_url(f"{system.console_url}/tickets")
        page.click("nav >> text=停水停电")
        page.click("text=新建通知")
        page.select_option("select[name=community]", "XFL")
        page.select_option("select[name=kind]", "power")
        page.check("input[name=scope][value=some]")
        page.check(f'.buildings[data-community="XFL"] input[value="{BUILDING}"]')
        page.fill("input[name=starts_at]", start.strftime("%Y-%m-%dT%H:%M"))
        page.fill("input[name=ends_at]", (start + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M"))
        page.fill("input[name=reason]", "配电房设备检修")
        page.click("#outage-form button[type=submit]")

        # The preview: who will be told, per building, before anything is sent.
        assert page.locator("#recipients-total").inner_text() == str(OWNERS)
        assert f"{BUILDING}栋" in page.locator("table.recipients").inner_text()
        assert not any(standin.to(o) for o in owners)
        page.click("#send button")
        assert "通知开始发送" in page.locator(".flash").inner_text()

        # The page polls its progress endpoint: the counts climb to all delivered, no reload.
        sent = page.locator('.event[data-event="notice"] [data-k="sent"]')
        page.wait_for_function(
            f"() => document.querySelector('.event[data-event=\"notice\"] [data-k=\"sent\"]')?.textContent === '{OWNERS}'",
            timeout=90_000,
        )
        assert sent.inner_text() == str(OWNERS)
        assert page.locator('.event[data-event="notice"] [data-k="pending"]').inner_text() == "0"
        assert page.locator('.event[data-event="notice"] progress').evaluate("p => p.value === p.max")
        delivered = wait_for(lambda: all(standin.to(o) for o in owners), timeout=30)
        assert delivered
        assert all(len(standin.to(o)) == 1 for o in owners)  # once each

        # Extending it tells the same owners again, and the page shows the new message's progress.
        page.fill("#update input[name=ends_at]", (start + timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M"))
        page.fill("#update input[name=note]", "检修延长两小时")
        page.click("#update button")
        page.wait_for_function(
            f"() => document.querySelector('.event[data-event=\"update2\"] [data-k=\"sent\"]')?.textContent === '{OWNERS}'",
            timeout=90_000,
        )
        wait_for(lambda: all(len(standin.to(o)) == 2 for o in owners), timeout=30)
    finally:
        context.close()
