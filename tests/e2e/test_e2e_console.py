"""Through /wechat into the staff console and back: an owner raises a repair and asks for a
person; staff see both in the console (in Chromium), answer, and the answers reach WeChat
through the worker."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from scripts import stack
from tests.console.browser import DESKTOP, log_in
from tests.e2e.wx import WeChat, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
PASSWORD = "e2e-console-pass"


@pytest.fixture(scope="module")
def console_user(system):
    env = {**system.env, "CONSOLE_PASSWORD": PASSWORD}
    subprocess.run(
        [sys.executable, "-m", "console", "create-user", "desk", "--role", "customer_service", "--name", "郑客服"],
        cwd=stack.ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return "desk"


def say(wechat, standin, owner: str, text: str) -> str:
    """The assistant's answer: the passive reply, or (when it came late, on a busy machine) the
    customer-service message that followed."""
    before = len(standin.texts_to(owner))
    reply, _ = wechat.say(owner, text)
    if reply:
        return reply
    return wait_for(lambda: "\n".join(standin.texts_to(owner)[before:]), timeout=60)


def test_a_repair_and_a_handoff_from_wechat_handled_in_the_console(system, standin, browser, console_user):
    from tests.e2e.conftest import AES_KEY, APPID, TOKEN

    wechat = WeChat(system.base_url, TOKEN, AES_KEY, APPID, mode="aes")
    owner = "o-e2e-console-1"
    reply = say(wechat, standin, owner, "幸福里花园3栋2单元501卫生间水管爆了 水一直往外冒 电话13912345678")
    number = re.search(r"单号 ?(BX\d+)", reply).group(1)
    reply = say(wechat, standin, owner, "转人工")
    assert "人工客服" in reply

    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    try:
        log_in(page, system.console_url, console_user, PASSWORD)
        page.wait_for_url(f"{system.console_url}/tickets")
        row = page.locator("table.tickets tbody tr", has_text=number)
        assert "紧急" in row.inner_text() and "3栋2单元501" in row.inner_text()
        row.locator("a").first.click()
        assert "水管爆了" in page.locator(".chat").inner_text()  # the owner's own words
        assert "13912345678" not in page.content() and "139****5678" in page.content()  # masked till 显示号码
        page.fill("#note textarea", "已通知王师傅")
        page.click("#note button")
        assert "已通知王师傅" in page.locator(".timeline").inner_text()
        page.fill("#reply textarea", "您好，师傅已出发，请先关闭水阀。")
        page.click("#reply button")
        wait_for(lambda: "您好，师傅已出发，请先关闭水阀。" in standin.texts_to(owner), timeout=60)

        page.click("nav >> text=转人工")
        card = page.locator("article.handoff", has_text="转人工").first
        card.locator("textarea").fill("您好，我是客服小郑，有什么可以帮您？")
        card.locator("button.send").click()
        wait_for(lambda: "您好，我是客服小郑，有什么可以帮您？" in standin.texts_to(owner), timeout=60)
        page.locator("article.handoff", has_text="转人工").first.locator("button.handback").click()
        assert page.locator(".flash").inner_text() == "已交回智能助手。"
    finally:
        context.close()
