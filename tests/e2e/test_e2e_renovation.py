"""装修管理 end to end, through /wechat and the console in Chromium: an owner applies in chat
(rules first), staff approve in the console and the owner hears it in WeChat, passes are issued
and checked by number, an inspection from a staff member's WeChat records a violation and the
owner is told, a neighbour's noise complaint outside the allowed hours names the job to staff,
and acceptance closes it with the deposit return recorded. A returned application is corrected in
chat and resubmitted under its own number, then cancelled in the console with the owner told."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from backend.core.clock import SHANGHAI
from backend.core.db import get_engine, session_scope
from backend.core.models import RenovationApplication, Staff, Ticket
from backend.work import staff as staff_records
from scripts import stack
from tests.console.browser import DESKTOP, log_in
from tests.e2e.conftest import AES_KEY, APPID, TOKEN
from tests.e2e.wx import WeChat, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
PASSWORD = "e2e-reno-pass-1"
OWNER = "o-e2e-reno-owner"  # 李娜, 3栋2单元502
NEIGHBOUR = "o-e2e-reno-upstairs"  # 张伟, 3栋2单元501
INSPECTOR = "o-e2e-reno-sun"  # 孙师傅


def say(wx, standin, openid: str, text: str) -> str:
    before = len(standin.texts_to(openid))
    reply, _ = wx.say(openid, text)
    if reply:
        return reply
    return wait_for(lambda: "\n".join(standin.texts_to(openid)[before:]), timeout=60)


def told(standin, openid: str, *words: str) -> str:
    """A message that reached the owner's WeChat (customer-service text or template)."""

    def found():
        texts = standin.texts_to(openid) + [
            m["body"].get("data", {}).get("keyword3", {}).get("value", "") for m in standin.to(openid, "template")
        ]
        return next((t for t in texts if all(w in t for w in words)), None)

    return wait_for(found, timeout=60)


@pytest.fixture(scope="module")
def engine(system):
    return get_engine(f"sqlite:///{system.db_path}")


@pytest.fixture(scope="module")
def rules_now_forbidden(system, tmp_path_factory):
    """XFL's rules, imported through the CLI, with the noisy-work window two hours from now: the
    test's noise complaint comes outside it whatever the time of day."""
    hour = datetime.now(SHANGHAI).hour
    window = f"{hour + 2}:00-{hour + 3}:00" if hour < 20 else "1:00-2:00"
    path = tmp_path_factory.mktemp("reno") / "装修规定.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["小区", "允许施工时间", "周末施工时间", "装修押金", "禁止事项", "所需材料"])
        w.writerow(["XFL", window, window, "3000", "拆改承重墙\n移动燃气管道", "身份证复印件\n施工图纸"])
    subprocess.run(
        [sys.executable, "-m", "backend", "import", "renovation-rules", str(path)],
        cwd=stack.ROOT,
        env=system.env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return window


@pytest.fixture(scope="module")
def desk(system):
    env = {**system.env, "CONSOLE_PASSWORD": PASSWORD}
    subprocess.run(
        [sys.executable, "-m", "console", "create-user", "reno-desk", "--role", "supervisor", "--name", "吴主管"],
        cwd=stack.ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return "reno-desk"


def test_apply_approve_pass_inspect_noise_accept(system, standin, browser, desk, engine, rules_now_forbidden):
    wx = WeChat(system.base_url, TOKEN, AES_KEY, APPID, mode="aes")
    assert "绑定成功" in say(wx, standin, OWNER, "绑定 3栋2单元502 13800001002")
    first = say(wx, standin, OWNER, "我要装修")
    assert "拆改承重墙" in first and "3000" in first and "做哪些项目" in first
    assert "装修公司" in say(wx, standin, OWNER, "厨房卫生间翻新，客厅铺木地板")
    assert "哪天开工" in say(wx, standin, OWNER, "安居装饰 13912345678")
    end = (datetime.now(SHANGHAI) + timedelta(days=20)).date()
    assert "几个人" in say(wx, standin, OWNER, f"今天开始，{end.month}月{end.day}日完工")
    assert "请核对" in say(wx, standin, OWNER, "2个")
    done = say(wx, standin, OWNER, "确认")
    number = re.search(r"ZX\d{9}", done).group(0)

    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    try:
        log_in(page, system.console_url, desk, PASSWORD)
        page.goto(f"{system.console_url}/renovation")
        page.locator("table.renovations tr", has_text=number).locator("a").first.click()
        assert "139****5678" in page.content() and "13912345678" not in page.content()
        page.fill("#approve input[name=note]", "请提前一天预约电梯保护")
        page.click("#approve button")
        assert page.locator("#app-status").inner_text() == "施工中"
        told(standin, OWNER, number, "审批通过")

        page.fill("#passes textarea", "张三，李四")
        page.click("#passes button")
        passes = page.locator(".pass-number").all_inner_texts()
        assert len(passes) == 2
        page.goto(f"{system.console_url}/renovation/pass?number={passes[0]}")
        assert (
            "有效" in page.locator(".pass-result").inner_text() and "张三" in page.locator(".pass-result").inner_text()
        )

        # The inspector binds his WeChat and records a violation from it.
        with session_scope(engine) as s:
            code = staff_records.issue_bind_code(s, s.execute(select(Staff).where(Staff.name == "孙师傅")).scalar_one())
        assert "绑定成功" in say(wx, standin, INSPECTOR, f"绑定 {code}")
        reply = say(wx, standin, INSPECTOR, "巡查 3-2-502 违规 擅自移动燃气管道")
        assert number in reply and "业主已收到整改通知" in reply
        told(standin, OWNER, "擅自移动燃气管道")

        # Upstairs complains about the noise: outside the allowed hours, the job is named to staff.
        assert "绑定成功" in say(wx, standin, NEIGHBOUR, "绑定 3栋2单元501 13800001001")
        complaint = say(wx, standin, NEIGHBOUR, "楼下装修太吵了 一直在砸墙")
        ts = re.search(r"TS\d{9}", complaint).group(0)
        assert "现在不允许" in complaint and "3栋2单元502" not in complaint  # the rules, not whose job it is
        with session_scope(engine) as s:
            ticket = s.execute(select(Ticket).where(Ticket.number == ts)).scalar_one()
            named = [st.note for st in ticket.steps if st.kind == "renovation"]
            ticket_id = ticket.id
        assert named and number in named[0] and "不在允许施工时间" in named[0] and rules_now_forbidden in named[0]
        page.goto(f"{system.console_url}/tickets/{ticket_id}")
        assert number in page.locator(".timeline").inner_text()

        page.goto(f"{system.console_url}/renovation")
        page.locator("table.renovations tr", has_text=number).locator("a").first.click()
        assert "噪音投诉" in page.locator(".history").inner_text()
        page.fill(".inspections input[name=note]", "燃气管已恢复原位，燃气公司复检合格")
        page.click(".inspections button")
        page.fill("#accept input[name=returned]", "2800")
        page.fill("#accept input[name=note]", "楼道墙面磕碰修补 200 元")
        page.click("#accept button")
        assert page.locator("#app-status").inner_text() == "已验收"
        assert page.locator("#deposit-returned").inner_text() == "2800.00"
        told(standin, OWNER, number, "验收通过", "2800.00")
        page.goto(f"{system.console_url}/renovation/pass?number={passes[0]}")
        assert "无效" in page.locator(".pass-result").inner_text()
    finally:
        context.close()
    with session_scope(engine) as s:
        app = s.execute(select(RenovationApplication).where(RenovationApplication.number == number)).scalar_one()
        kinds = [st.kind for st in app.steps]
    assert kinds[:3] == ["submitted", "approved", "pass_issued"] and kinds[-2:] == ["accepted", "deposit"]
    assert "violation" in kinds and "noise" in kinds and "resolved" in kinds


CORRECTING = "o-e2e-reno-liuyang"  # 刘洋, 8栋702


def test_returned_corrected_in_chat_resubmitted_then_cancelled(system, standin, browser, desk, engine):
    """Returned in the console, the owner hears why and how; 「修改装修申请」 opens the form on it,
    the owner changes one thing and confirms; the same application is back with the desk, which
    cancels it after a confirmation, and the owner hears that too."""
    wx = WeChat(system.base_url, TOKEN, AES_KEY, APPID, mode="aes")
    assert "绑定成功" in say(wx, standin, CORRECTING, "绑定 8-702 13800001004")
    assert "做哪些项目" in say(wx, standin, CORRECTING, "我要装修")
    assert "装修公司" in say(wx, standin, CORRECTING, "卫生间翻新，改水电")
    assert "哪天开工" in say(wx, standin, CORRECTING, "美家装饰 13700001111")
    start = (datetime.now(SHANGHAI) + timedelta(days=7)).date()
    end = start + timedelta(days=20)
    dates = f"{start.month}月{start.day}日到{end.month}月{end.day}日"
    assert "几个人" in say(wx, standin, CORRECTING, dates)
    assert "请核对" in say(wx, standin, CORRECTING, "2个")
    number = re.search(r"ZX\d{9}", say(wx, standin, CORRECTING, "确认")).group(0)

    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    try:
        log_in(page, system.console_url, desk, PASSWORD)
        page.goto(f"{system.console_url}/renovation")
        page.locator("table.renovations tr", has_text=number).locator("a").first.click()
        page.fill("#return textarea", "请补充水电改造图纸")
        page.click("#return button")
        assert page.locator("#app-status").inner_text() == "已退回"
        told(standin, CORRECTING, number, "请补充水电改造图纸", "修改装修申请")

        opened = say(wx, standin, CORRECTING, "修改装修申请")
        assert "原因是：请补充水电改造图纸" in opened and "我把上次填的内容调出来了" in opened and "2人" in opened
        assert "3人" in say(wx, standin, CORRECTING, "改成3个人")
        done = say(wx, standin, CORRECTING, "确认")
        assert f"{number} 已经重新提交啦" in done and "施工人数：2人 → 3人" in done

        page.reload()
        assert page.locator("#app-status").inner_text() == "待审批"
        assert "重新提交" in page.locator(".history").inner_text()
        page.fill("#cancel textarea", "业主来电：图纸要重画，先不装了")
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("#cancel button")
        page.wait_for_selector(".flash")
        assert page.locator("#app-status").inner_text() == "已取消"
        told(standin, CORRECTING, number, "已取消", "图纸要重画")
    finally:
        context.close()
    with session_scope(engine) as s:
        app = s.execute(select(RenovationApplication).where(RenovationApplication.number == number)).scalar_one()
        assert [st.kind for st in app.steps] == ["submitted", "returned", "resubmitted", "cancelled"]
        assert (app.workers, app.status) == (3, "cancelled")
        assert s.execute(
            select(RenovationApplication).where(RenovationApplication.openid == CORRECTING)
        ).scalars().all() == [app]
