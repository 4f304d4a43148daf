"""What a PM does with the mouse and keyboard, in Chromium, against a live server."""

from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import Page, expect

from pmhub.accounts.models import ApiToken
from pmhub.workspaces.roles import Role
from tests.factories import PASSWORD, MembershipFactory, UserFactory, WorkspaceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NAV = [
    ("Discovery", "discovery"),
    ("Backlog", "backlog"),
    ("Roadmap", "roadmap"),
    ("Docs", "docs"),
    ("Settings", "settings"),
]


@pytest.fixture
def pm():
    user = UserFactory(email="pm@acme.test", name="Pat Manager")
    MembershipFactory(
        user=user, workspace=WorkspaceFactory(name="Acme", slug="acme"), role=Role.ADMIN
    )
    MembershipFactory(
        user=user, workspace=WorkspaceFactory(name="Globex", slug="globex"), role=Role.EDITOR
    )
    return user


def _log_in(page: Page, base: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill("PM@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_pm_logs_in_switches_workspace_visits_every_page_and_creates_a_token(
    live_server, page: Page, pm, screenshots, console_errors
):
    base = live_server.url
    page.set_viewport_size({"width": 1280, "height": 800})

    _log_in(page, base)
    expect(page).to_have_url(f"{base}/w/acme/discovery/")
    page.screenshot(path=screenshots / "discovery-light.png", full_page=True)

    # Switch workspace through the sidebar switcher.
    page.locator("details.switcher summary").click()
    page.get_by_role("navigation", name="Workspaces").get_by_role(
        "link", name=re.compile("Globex")
    ).click()
    expect(page).to_have_url(f"{base}/w/globex/discovery/")
    expect(page.locator("details.switcher summary")).to_contain_text("Globex")

    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        for label, slug in NAV:
            page.get_by_role("link", name=label, exact=True).first.click()
            expect(page).to_have_url(re.compile(rf"/w/globex/{slug}/$"))
            expect(page.locator("main h1, main h2").first).to_be_visible()
            page.screenshot(path=screenshots / f"{slug}-{scheme}.png", full_page=True)

    # Keyboard: g b goes to the backlog.
    page.keyboard.press("g")
    page.keyboard.press("b")
    expect(page).to_have_url(re.compile(r"/w/globex/backlog/$"))

    # Create an API token, shown once.
    page.emulate_media(color_scheme="light")
    page.goto(f"{base}/w/globex/settings/tokens/")
    page.get_by_label("Name").fill("CI backlog export")
    page.get_by_text("Read only", exact=True).click()
    page.get_by_role("button", name="Create token").click()
    token_value = page.locator("#new-token-value")
    expect(token_value).to_have_text(re.compile(r"^pmh_[A-Za-z0-9_-]{40}$"))
    page.screenshot(path=screenshots / "token-created.png", full_page=True)
    raw = token_value.inner_text()

    token = ApiToken.objects.unscoped().get(name="CI backlog export")
    assert token.workspace.slug == "globex"
    assert token.access == ApiToken.Access.READ
    assert raw not in token.token_hash
    me = requests.get(f"{base}/api/v1/me/", headers={"Authorization": f"Bearer {raw}"}, timeout=10)
    assert me.status_code == 200
    assert [w["slug"] for w in me.json()["workspaces"]] == ["globex"]

    page.reload()
    expect(page.locator("#new-token-value")).to_have_count(0)
    assert console_errors == []


def test_command_palette_jumps_to_a_page(live_server, page: Page, pm, screenshots, console_errors):
    base = live_server.url
    _log_in(page, base)
    expect(page).to_have_url(f"{base}/w/acme/discovery/")
    # The palette's script is deferred: keys pressed before it runs go nowhere.
    page.wait_for_load_state("load")

    page.keyboard.press("Control+k")
    palette = page.get_by_role("dialog")
    expect(palette).to_be_visible()
    page.keyboard.type("roadm")
    page.screenshot(path=screenshots / "palette.png")
    page.keyboard.press("Enter")

    expect(page).to_have_url(f"{base}/w/acme/roadmap/")
    assert console_errors == []


def test_a_wrong_password_is_a_clear_error(live_server, page: Page, pm, console_errors):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("pm@acme.test")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_text("That email and password do not match an account.")).to_be_visible()
    assert console_errors == []


def test_api_docs_render_from_local_assets_under_the_csp(
    live_server, page: Page, screenshots, console_errors
):
    page.goto(f"{live_server.url}/api/docs/")

    expect(page.locator(".swagger-ui .opblock").first).to_be_visible(timeout=15000)
    page.screenshot(path=screenshots / "api-docs.png")
    assert console_errors == []


def test_typing_in_the_search_box_offers_a_full_text_search(
    live_server, page: Page, pm, console_errors
):
    base = live_server.url
    _log_in(page, base)
    expect(page).to_have_url(f"{base}/w/acme/discovery/")
    page.wait_for_load_state("load")

    page.keyboard.press("/")
    page.keyboard.type("slow exports")
    page.get_by_role("option", name=re.compile("Search “slow exports” in Discovery")).click()

    expect(page).to_have_url(f"{base}/w/acme/discovery/search/?q=slow%20exports")
    assert console_errors == []
