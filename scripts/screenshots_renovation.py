"""Screenshots of the console's 装修管理 pages (docs/screenshots/renovation-*.png), at desktop and
phone widths, against demo data with a few decoration applications in a temporary SQLite database.

    .venv/bin/python scripts/screenshots_renovation.py
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
from datetime import timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from playwright.sync_api import sync_playwright  # noqa: E402
from sqlalchemy import select  # noqa: E402

from backend.core import db  # noqa: E402
from backend.core.clock import (
    SHANGHAI,  # noqa: E402
    aware_now,
)
from backend.core.config import load_settings  # noqa: E402
from backend.core.models import Community, House  # noqa: E402
from backend.work import renovation  # noqa: E402
from console import users  # noqa: E402
from console.app import create_app  # noqa: E402
from console.demo import seed_console_demo  # noqa: E402
from console.live import LiveServer  # noqa: E402
from scripts.screenshots import CHROMIUM, OUT, SIZES, shot  # noqa: E402

PASSWORD = "screenshot-pass-1"


def seed(session) -> int:
    """Three applications in XFL: one waiting, one returned, one under way with passes and an
    inspection that found a violation. Returns the id of the one under way."""
    today = aware_now().astimezone(SHANGHAI).date()
    houses = (
        session.execute(
            select(House)
            .join(House.building)
            .where(
                House.building.has(
                    community_id=session.execute(select(Community.id).where(Community.code == "XFL")).scalar_one()
                )
            )
            .order_by(House.id)
        )
        .scalars()
        .all()
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
    renovation.record_inspection(session, busy, "console:wu", "擅自移动燃气管道", True)
    apply(houses[2], "全屋刷墙，换门窗", "老王施工队", 15, 2)
    returned = apply(houses[3], "阳台封窗", "美家门窗", 7, 2)
    renovation.return_with_reason(session, returned, "console:wu", "请补充门窗样式图，外立面颜色需与小区一致")
    return busy.id


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/console.db"
        db.upgrade(url)
        with db.session_scope(db.get_engine(url)) as s:
            seed_console_demo(s)
            busy = seed(s)
            users.create_user(s, "wu", PASSWORD, "supervisor", "吴主管")
        settings = dataclasses.replace(load_settings(), database_url=url)
        with LiveServer(create_app(settings, SECRET_KEY="screenshots")) as server, sync_playwright() as p:
            args = ["--no-sandbox"] if os.geteuid() == 0 else []
            browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
            for size, viewport in SIZES.items():
                context = browser.new_context(
                    viewport=viewport, locale="zh-CN", device_scale_factor=1, is_mobile=size == "phone"
                )
                page = context.new_page()
                page.goto(f"{server.url}/login")
                page.fill("input[name=username]", "wu")
                page.fill("input[name=password]", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_url(f"{server.url}/tickets")
                page.goto(f"{server.url}/renovation")
                shot(page, f"renovation-list-{size}")
                page.goto(f"{server.url}/renovation/{busy}")
                shot(page, f"renovation-{size}", full_page=True)
                context.close()
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
