"""Screenshots of the console's main pages (docs/screenshots/*.png), at desktop and phone widths,
against demo data in a temporary SQLite database (with a few 装修 applications, seed_renovation).
Needs Debian's chromium (/usr/bin/chromium).

    .venv/bin/python scripts/screenshots.py                   # every picture
    .venv/bin/python scripts/screenshots.py scorecard intake  # only those pages (both widths)
"""

from __future__ import annotations

import dataclasses
import io
import os
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from PIL import Image, ImageDraw  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402
from sqlalchemy import select  # noqa: E402

from backend.core import db  # noqa: E402
from backend.core.clock import SHANGHAI, aware_now  # noqa: E402
from backend.core.config import load_settings  # noqa: E402
from backend.core.models import Community, House  # noqa: E402
from backend.work import renovation  # noqa: E402
from console import users  # noqa: E402
from console.app import create_app  # noqa: E402
from console.demo import seed_console_demo, seed_screenshot_extras  # noqa: E402
from console.live import LiveServer  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(os.environ.get("SCREENSHOTS_DIR", ROOT / "docs" / "screenshots"))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SIZES = {"desktop": {"width": 1280, "height": 860}, "phone": {"width": 390, "height": 844}}
PASSWORD = "screenshot-pass-1"
ONLY = set(sys.argv[1:])  # page names (scorecard, intake…); none: every page
BAD_IMPORT = (
    "小区,楼栋,单元,房号,姓名,手机号,身份\n"
    "XFL,3,2,501,张伟,13800001001,业主\n"
    "XFL,3,2,9901,李娜,13800001002,业主\n"
    "XFL,5,1,302,王芳,1380000,租户\n"
    "XFL,8,,702,,13800001004,业主\n"
)


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/console.db"
        db.upgrade(url)
        with db.session_scope(db.get_engine(url)) as s:
            demo = seed_console_demo(s)
            extras = seed_screenshot_extras(s, demo)
            users.create_user(s, "wu", PASSWORD, "supervisor", "吴主管")
            tech = extras["technician"]
            users.create_user(
                s, "zhao", PASSWORD, "technician", tech.name if tech else "赵师傅", staff_id=tech.id if tech else None
            )
            ids = {"sending": extras["sending"].id, "draft": extras["draft"].id, **seed_renovation(s)}
        settings = dataclasses.replace(load_settings(), database_url=url)
        app = create_app(settings, SECRET_KEY="screenshots")
        with LiveServer(app) as server, sync_playwright() as p:
            args = ["--no-sandbox"] if os.geteuid() == 0 else []
            browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
            for size, viewport in SIZES.items():
                context = browser.new_context(
                    viewport=viewport, locale="zh-CN", device_scale_factor=1, is_mobile=size == "phone"
                )
                page = context.new_page()
                page.goto(f"{server.url}/login")
                page.fill("input[name=username]", "wu")
                shot(page, f"login-{size}")
                page.fill("input[name=password]", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_url(f"{server.url}/tickets")
                shot(page, f"board-{size}")
                page.goto(f"{server.url}/tickets/{demo['leak'].id}")
                shot(page, f"ticket-{size}", full_page=True)
                page.goto(f"{server.url}/handoffs")
                shot(page, f"handoffs-{size}", full_page=True)
                page.goto(f"{server.url}/tickets/{demo['light'].id}")
                shot(page, f"ticket-assignments-{size}", full_page=True)
                page.goto(f"{server.url}/outages")
                shot(page, f"outages-{size}")
                page.goto(f"{server.url}/outages/new")
                shot(page, f"outage-new-{size}", full_page=True)
                page.goto(f"{server.url}/outages/{ids['draft']}")
                shot(page, f"outage-preview-{size}", full_page=True)
                page.goto(f"{server.url}/outages/{ids['sending']}")
                page.wait_for_selector('.event[data-event="notice"]')
                shot(page, f"outage-progress-{size}", full_page=True)
                page.goto(f"{server.url}/scorecard")
                shot(page, f"scorecard-{size}", full_page=True)
                page.goto(f"{server.url}/imports")
                page.select_option("select[name=kind]", "residents")
                page.set_input_files(
                    "input[type=file]",
                    files=[{"name": "住户.csv", "mimeType": "text/csv", "buffer": BAD_IMPORT.encode("utf-8")}],
                )
                page.click("#import-form button[type=submit]")
                page.wait_for_selector("#import-report")
                shot(page, f"import-errors-{size}", full_page=True)
                page.goto(f"{server.url}/roster")
                shot(page, f"roster-{size}", full_page=True)
                page.goto(f"{server.url}/renovation")
                shot(page, f"renovation-list-{size}")
                page.goto(f"{server.url}/renovation/{ids['busy']}")
                shot(page, f"renovation-{size}", full_page=True)
                page.goto(f"{server.url}/renovation/{ids['returned']}")
                shot(page, f"renovation-returned-{size}", full_page=True)
                # 新建工单: a call taken at the desk, the owner found by the tail of their number.
                page.goto(f"{server.url}/tickets/new?q=1001")
                page.select_option("select[name=channel]", "phone")
                page.fill("textarea[name=description]", "卫生间马桶堵了，冲不下去")
                page.select_option("select[name=place]", "卫生间")
                page.fill("input[name=preferred_time]", "今天下午")
                shot(page, f"intake-{size}", full_page=True)
                context.close()
                # A technician's own list.
                context = browser.new_context(
                    viewport=viewport, locale="zh-CN", device_scale_factor=1, is_mobile=size == "phone"
                )
                page = context.new_page()
                page.goto(f"{server.url}/login")
                page.fill("input[name=username]", "zhao")
                page.fill("input[name=password]", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_url(f"{server.url}/tickets")
                page.goto(f"{server.url}/tickets/mine")
                shot(page, f"mine-{size}")
                context.close()
            browser.close()
    return 0


def seed_renovation(session) -> dict:
    """装修 in XFL: one waiting, one returned, one under way with passes and inspections (a
    violation, with photos uploaded as the console takes them). The ids of the last two."""
    today = aware_now().astimezone(SHANGHAI).date()
    xfl = session.execute(select(Community.id).where(Community.code == "XFL")).scalar_one()
    houses = (
        session.execute(select(House).where(House.building.has(community_id=xfl)).order_by(House.id)).scalars().all()
    )

    def apply(house, work, contractor, days, workers):
        return renovation.apply(
            session,
            renovation.ApplicationRequest(
                openid=f"o-shot-{house.id}",
                house_id=house.id,
                work=work,
                contractor=contractor,
                contractor_phone="13900001111",
                starts_on=today,
                ends_on=today + timedelta(days=days),
                workers=workers,
            ),
        )

    busy = apply(houses[1], "厨房卫生间翻新，客厅铺木地板", "安居装饰", 30, 3)
    renovation.approve(session, busy, "console:wu", "请提前一天预约电梯保护")
    renovation.issue_passes(session, busy, "console:wu", ["张三", "李四"])
    renovation.record_inspection(session, busy, "console:wu", "现场整洁，垃圾已装袋", False)
    renovation.record_inspection(
        session,
        busy,
        "console:wu",
        "擅自移动燃气管道",
        True,
        uploads=[renovation.Upload("燃气管.jpg", _site_photo("#c8b9a6")), renovation.Upload("全景.jpg", _site_photo())],
    )
    apply(houses[2], "全屋刷墙，换门窗", "老王施工队", 15, 2)
    returned = apply(houses[3], "阳台封窗", "美家门窗", 7, 2)
    renovation.return_with_reason(session, returned, "console:wu", "请补充门窗样式图，外立面颜色需与小区一致")
    return {"busy": busy.id, "returned": returned.id}


def _site_photo(wall: str = "#d9d4cc") -> bytes:
    """A stand-in for a photo taken on site: a wall, a floor, a pipe."""
    img = Image.new("RGB", (1200, 900), wall)
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 640, 1200, 900), fill="#8d7b68")
    draw.rectangle((560, 80, 600, 700), fill="#e0b000")
    draw.rectangle((560, 380, 900, 420), fill="#e0b000")
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()


def shot(page, name: str, full_page: bool = False) -> None:
    if ONLY and name.rsplit("-", 1)[0] not in ONLY:
        return
    path = OUT / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    print(f"wrote {path}")


if __name__ == "__main__":
    sys.exit(main())
