"""A PM prints the board from the app to PDF: only the roadmap comes out (no sidebar, top bar or
filters), and the board's Share tab leads to its share links."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from backlog import services as backlog
from pmhub.workspaces.models import Membership
from pmhub.workspaces.roles import Role
from roadmap import services as roadmap_services
from tests.backlog.browser_support import log_in
from tests.factories import UserFactory, WorkspaceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_board_prints_without_the_app_and_links_to_its_share_links(
    live_server, browser: Browser, screenshots
):
    workspace = WorkspaceFactory(name="Acme", slug="acme")
    pm = UserFactory(email="pm@acme.test", name="Pat Manager")
    Membership.objects.create(workspace=workspace, user=pm, role=Role.ADMIN)
    roadmap = roadmap_services.roadmap_create(workspace=workspace, actor=pm, name="Product roadmap")
    columns = {c.name: c for c in roadmap.columns.all()}
    for column, title in (("Now", "SSO with Okta"), ("Next", "Slack digest")):
        item = backlog.item_create(workspace=workspace, actor=pm, title=title)
        roadmap_services.placement_add(
            workspace=workspace, actor=pm, roadmap=roadmap, item=item,
            column_id=columns[column].id,
        )  # fmt: skip
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/w/acme/roadmap/roadmaps/{roadmap.id}/")
    expect(page.get_by_text("SSO with Okta")).to_be_visible()

    page.emulate_media(media="print")
    expect(page.locator(".sidebar")).to_be_hidden()
    expect(page.locator(".rm-filters")).to_be_hidden()
    expect(page.get_by_text("Slack digest")).to_be_visible()
    expect(page.locator(".topbar h1")).to_have_text("Product roadmap")
    expect(page.locator(".rm-tabs")).to_be_hidden()
    page.screenshot(path=screenshots / "roadmap-board-print.png", full_page=True)
    page.emulate_media(media="screen")

    page.get_by_role("link", name="Share").click()
    expect(page).to_have_url(f"{live_server.url}/w/acme/roadmap/roadmaps/{roadmap.id}/share/")
    page.close()
