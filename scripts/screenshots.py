"""Screenshots of the console's main pages (docs/screenshots/*.png), at desktop and phone widths,
against demo data in a temporary SQLite database. Needs Debian's chromium (/usr/bin/chromium).

    .venv/bin/python scripts/screenshots.py
"""
from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from playwright.sync_api import sync_playwright  # noqa: E402

from backend import db  # noqa: E402
from backend.config import load_settings  # noqa: E402
from console import users  # noqa: E402
from console.app import create_app  # noqa: E402
from console.demo import seed_console_demo  # noqa: E402
from console.live import LiveServer  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SIZES = {"desktop": {"width": 1280, "height": 860}, "phone": {"width": 390, "height": 844}}
PASSWORD = "screenshot-pass-1"


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/console.db"
        db.upgrade(url)
        with db.session_scope(db.get_engine(url)) as s:
            demo = seed_console_demo(s)
            users.create_user(s, "wu", PASSWORD, "supervisor", "吴主管")
        settings = dataclasses.replace(load_settings(), database_url=url)
        app = create_app(settings, SECRET_KEY="screenshots")
        with LiveServer(app) as server, sync_playwright() as p:
            args = ["--no-sandbox"] if os.geteuid() == 0 else []
            browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
            for size, viewport in SIZES.items():
                context = browser.new_context(viewport=viewport, locale="zh-CN", device_scale_factor=1,
                                              is_mobile=size == "phone")
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
                context.close()
            browser.close()
    return 0


def shot(page, name: str, full_page: bool = False) -> None:
    path = OUT / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
