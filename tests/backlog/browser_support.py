"""What the backlog's browser tests share: logging in as the desk's PM, screenshots in both
themes, and (tests/backlog/conftest.py) the page's console errors."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

from tests.factories import PASSWORD


def log_in(page: Page, base: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill("pm@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def shoot(page: Page, screenshots: Path, name: str) -> None:
    page.screenshot(path=screenshots / f"{name}-light.png", full_page=True, animations="disabled")
    page.emulate_media(color_scheme="dark")
    page.screenshot(path=screenshots / f"{name}-dark.png", full_page=True, animations="disabled")
    page.emulate_media(color_scheme="light")
