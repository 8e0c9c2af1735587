"""装修 pages in a real browser (Debian's Chromium through Playwright): cancel asks for
confirmation (dismissed: nothing happens; accepted: cancelled, the owner told), an inspection
with photos chosen from disk shows them as thumbnails, a refused file says why, and a returned
application corrected on the owner's behalf goes back for approval."""

from __future__ import annotations

import dataclasses
import io
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import select

from backend.core import db
from backend.core.clock import SHANGHAI, aware_now
from backend.core.config import load_settings
from backend.core.models import House, OutboundMessage, RenovationApplication
from backend.owners.accounts import bind
from backend.work import renovation
from console import users
from console.app import create_app
from console.demo import seed_console_demo
from console.live import LiveServer
from tests.console.browser import DESKTOP, log_in

pytestmark = pytest.mark.browser
PASSWORD = "browser-reno-1"
OWNERS = {"approved": "o-reno-b-1", "returned": "o-reno-b-2", "submitted": "o-reno-b-3"}


def _house(session, label: str) -> House:
    return next(
        h for h in session.execute(select(House)).scalars() if h.label == label and h.building.community.code == "XFL"
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory, redis_url):
    url = f"sqlite:///{tmp_path_factory.mktemp('reno-browser') / 'console.db'}"
    db.upgrade(url)
    today = aware_now().astimezone(SHANGHAI).date()
    ids = {}
    with db.session_scope(db.get_engine(url)) as s:
        seed_console_demo(s)
        users.create_user(s, "desk", PASSWORD, "supervisor", "吴主管")
        for (state, openid), label in zip(OWNERS.items(), ("3栋1单元601", "3栋1单元701", "3栋2单元601")):
            house = _house(s, label)
            bind(s, openid, house)
            app = renovation.apply(
                s,
                renovation.ApplicationRequest(
                    openid=openid,
                    house_id=house.id,
                    work="厨房卫生间翻新",
                    contractor="安居装饰",
                    contractor_phone="13900001111",
                    starts_on=today + timedelta(days=1),
                    ends_on=today + timedelta(days=30),
                    workers=2,
                ),
            )
            if state == "approved":
                renovation.approve(s, app, "console:desk")
                renovation.issue_passes(s, app, "console:desk", ["张三"])
            elif state == "returned":
                renovation.return_with_reason(s, app, "console:desk", "请补充水电改造图纸")
            ids[state] = app.id
    settings = dataclasses.replace(load_settings(), database_url=url, redis_url=redis_url)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REDIS_URL", redis_url)
        with LiveServer(create_app(settings, SECRET_KEY="browser-tests")) as server:
            server.ids, server.engine = ids, db.get_engine(url)
            yield server


@pytest.fixture
def page(browser, site):
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    log_in(page, site.url, "desk", PASSWORD)
    page.wait_for_url(f"{site.url}/tickets")
    yield page
    context.close()


def _told(site, openid: str) -> list[str]:
    with db.session_scope(site.engine) as s:
        return [m.content for m in s.execute(select(OutboundMessage).where(OutboundMessage.openid == openid)).scalars()]


def _status(site, app_id: int) -> str:
    with db.session_scope(site.engine) as s:
        return s.get(RenovationApplication, app_id).status


def test_cancel_asks_first_then_tells_the_owner(page, site):
    app_id = site.ids["submitted"]
    page.goto(f"{site.url}/renovation/{app_id}")
    page.fill("#cancel textarea[name=reason]", "业主来电：今年先不装修了")
    asked = []

    def dismiss(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.click("#cancel button")
    page.wait_for_timeout(300)
    assert asked and "确定取消装修申请" in asked[0] and "3栋2单元601" in asked[0]
    assert _status(site, app_id) == "submitted" and page.locator("#app-status").inner_text() == "待审批"

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#cancel button")
    page.wait_for_selector(".flash")
    assert page.locator("#app-status").inner_text() == "已取消"
    assert "业主来电：今年先不装修了" in page.locator(".history").inner_text()
    assert page.locator("#cancel").count() == 0
    assert any("已取消" in t and "今年先不装修了" in t for t in _told(site, OWNERS["submitted"]))


def test_inspection_photos_from_disk_show_as_thumbnails(page, site, tmp_path):
    app_id = site.ids["approved"]
    photo = tmp_path / "现场.jpg"
    Image.new("RGB", (1600, 1200), "orange").save(photo, "JPEG")
    fake = tmp_path / "not-a-photo.jpg"
    fake.write_text("<html><script>alert(1)</script></html>")
    page.goto(f"{site.url}/renovation/{app_id}")

    page.fill("#inspection textarea[name=findings]", "现场整洁")
    page.set_input_files("#inspection input[type=file]", str(fake))
    page.click("#inspection button")
    assert "不是能打开的照片" in page.locator(".error").inner_text()

    page.goto(f"{site.url}/renovation/{app_id}")
    page.fill("#inspection textarea[name=findings]", "擅自拆改卫生间墙体")
    page.check("#inspection input[name=violation]")
    page.set_input_files("#inspection input[type=file]", str(photo))
    page.click("#inspection button")
    page.wait_for_selector(".flash")
    thumbs = page.locator(".inspections img.thumb")
    assert thumbs.count() == 1
    # The thumbnail really loaded (a broken image has no natural width). Waited for: the page
    # can be read before the image's own request has come back.
    page.wait_for_function("() => document.querySelector('.inspections img.thumb').complete")
    assert page.evaluate("() => document.querySelector('.inspections img.thumb').naturalWidth") == 360
    assert any("擅自拆改卫生间墙体" in t for t in _told(site, OWNERS["approved"]))

    # A second photo for the same inspection, from its own small form.
    second = tmp_path / "补拍.png"
    Image.new("RGB", (500, 500), "green").save(second, "PNG")
    page.set_input_files(".add-photos input[type=file]", str(second))
    page.click(".add-photos button")
    page.wait_for_selector(".flash")
    assert page.locator(".inspections img.thumb").count() == 2
    link = page.locator(".inspections a", has=page.locator("img.thumb")).first
    with page.expect_popup() as popup:
        link.click()
    href = link.get_attribute("href")
    assert popup.value.url == f"{site.url}{href}"
    popup.value.close()
    full = page.request.get(f"{site.url}{href}")  # with the page's login
    assert full.status == 200 and full.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(full.body())) as shown:
        assert shown.size == (1600, 1200)


def test_desk_resubmits_a_returned_application(page, site):
    app_id = site.ids["returned"]
    page.goto(f"{site.url}/renovation/{app_id}")
    assert "请补充水电改造图纸" in page.content()
    page.fill("#resubmit textarea[name=work]", "厨房卫生间翻新（水电改造图纸已送服务中心）")
    page.fill("#resubmit input[name=workers]", "3")
    page.fill("#resubmit input[name=note]", "业主来电")
    page.click("#resubmit button")
    page.wait_for_selector(".flash")
    assert page.locator("#app-status").inner_text() == "待审批"
    assert "重新提交" in page.locator(".history").inner_text()
    assert page.locator("#approve").count() == 1  # back with the desk for approval
    told = _told(site, OWNERS["returned"])
    assert any("物业已帮您重新提交审批" in t and "2人 → 3人" in t for t in told)
