"""Chromium for the browser tests: Debian's /usr/bin/chromium driven by Playwright (no browser is
ever downloaded). Without it the tests are skipped with the reason."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


def launch(playwright):
    # Root (CI containers) cannot use Chromium's sandbox.
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: `apt-get install chromium fonts-noto-cjk` (.ci/run does)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip package playwright is not installed")
    with sync_api.sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


def log_in(page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
