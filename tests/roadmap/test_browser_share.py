"""Someone without an account opens a roadmap's share link in Chromium: the roadmap is there,
the fields the link does not show are absent from the page source, and it prints cleanly."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import Browser, expect

from backlog import services as backlog
from backlog.models import Item, ItemCustomer
from discovery import services as discovery
from roadmap import services as roadmap_services
from roadmap.sharing import share_link_create
from tests.factories import UserFactory, WorkspaceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CARDS = {
    "Now": ["SSO with Okta", "Faster dashboard loading"],
    "Next": ["Scheduled CSV exports", "Audit log export", "Slack digest"],
    "Later": ["Public changelog", "Native Windows app"],
}


@pytest.fixture
def shared():
    """A now/next/later roadmap whose items carry ARR, customer names and internal notes, and a
    link showing only status and area."""
    workspace = WorkspaceFactory(name="Acme", slug="acme")
    pm = UserFactory(email="pm@acme.test", name="Pat Manager")
    roadmap = roadmap_services.roadmap_create(
        workspace=workspace,
        actor=pm,
        name="Acme product roadmap",
        description="What we are building for **2027**: see the [changelog](https://acme.test).",
    )
    area = backlog.product_area_create(workspace=workspace, actor=pm, name="Reporting")
    company, _ = discovery.company_upsert(
        workspace=workspace, actor=pm, name="Globex Corporation", domain="globex.test"
    )
    customer, _ = discovery.customer_upsert(
        workspace=workspace, actor=pm, email="hank@globex.test", name="Hank Scorpio",
        company=company,
    )  # fmt: skip
    columns = {c.name: c for c in roadmap.columns.all()}
    for name, titles in CARDS.items():
        for title in titles:
            item = backlog.item_create(
                workspace=workspace,
                actor=pm,
                title=title,
                area_id=area.id,
                description="Internal: Globex threatens to churn",
            )
            ItemCustomer.objects.create(workspace=workspace, item=item, customer=customer)
            Item.objects.for_workspace(workspace).filter(id=item.id).update(
                arr=Decimal("432100"), customer_count=1, company_count=1
            )
            if name == "Now":
                backlog.item_set_status(
                    workspace=workspace, actor=pm, item=item, status="in_progress"
                )
            roadmap_services.placement_add(
                workspace=workspace,
                actor=pm,
                roadmap=roadmap,
                item=item,
                column_id=columns[name].id,
            )
    _, secret = share_link_create(
        workspace=workspace, actor=pm, roadmap=roadmap, name="Customers", fields=["status", "area"]
    )
    return secret


def test_a_stranger_reads_the_shared_roadmap_without_hidden_fields(
    live_server, browser: Browser, shared, screenshots
):
    context = browser.new_context(viewport={"width": 1280, "height": 860})  # never logged in
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto(f"{live_server.url}/share/{shared}/")

    expect(page.get_by_role("heading", name="Acme product roadmap", level=1)).to_be_visible()
    for name, titles in CARDS.items():
        column = page.locator(".share-col", has=page.get_by_role("heading", name=name, exact=True))
        for title in titles:
            expect(column.get_by_role("heading", name=title)).to_be_visible()
    expect(page.get_by_text("In progress").first).to_be_visible()
    expect(page.get_by_text("Reporting").first).to_be_visible()
    source = page.content()
    for hidden in ("432", "ARR", "Hank Scorpio", "Globex", "churn", "hank@globex.test"):
        assert hidden not in source, hidden
    assert "sidebar" not in source
    page.screenshot(path=screenshots / "roadmap-share-light.png", full_page=True)
    page.emulate_media(color_scheme="dark")
    page.screenshot(path=screenshots / "roadmap-share-dark.png", full_page=True)

    page.emulate_media(media="print", color_scheme="light")
    expect(page.locator(".share-foot")).to_be_hidden()
    page.screenshot(path=screenshots / "roadmap-share-print.png", full_page=True)
    page.emulate_media(media="screen")

    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=screenshots / "roadmap-share-phone.png", full_page=True)

    embed = context.new_page()
    embed.goto(f"{live_server.url}/share/{shared}/embed/")
    expect(embed.get_by_role("heading", name="SSO with Okta")).to_be_visible()
    embed.screenshot(path=screenshots / "roadmap-share-embed.png", full_page=True)

    gone = context.new_page()
    response = gone.goto(f"{live_server.url}/share/{shared[:-2]}xx/")
    assert response.status == 404
    assert "Acme product roadmap" not in gone.content()
    assert errors == []
    context.close()


def test_a_shared_timeline_and_the_share_links_page(live_server, browser: Browser, screenshots):
    import datetime

    from django.utils import timezone

    from pmhub.workspaces.roles import Role
    from roadmap.models import Release
    from tests.backlog.browser_support import log_in
    from tests.factories import MembershipFactory

    workspace = WorkspaceFactory(name="Acme", slug="acme")
    pm = UserFactory(email="pm@acme.test", name="Pat Manager")
    MembershipFactory(user=pm, workspace=workspace, role=Role.EDITOR)
    timeline = roadmap_services.roadmap_create(
        workspace=workspace, actor=pm, name="2027 timeline", kind="timeline"
    )
    today = timezone.localdate()
    release = Release.objects.create(
        workspace=workspace, name="Spring launch", target_date=today + datetime.timedelta(days=75)
    )
    plans = [
        ("SSO with Okta", -20, 25, "in_progress"),
        ("Scheduled CSV exports", 10, 70, "planned"),
        ("Audit log export", 40, 110, "planned"),
        ("Slack digest", None, None, "planned"),
    ]
    for title, start, end, status in plans:
        item = backlog.item_create(workspace=workspace, actor=pm, title=title)
        backlog.item_set_status(workspace=workspace, actor=pm, item=item, status=status)
        roadmap_services.item_schedule_set(
            workspace=workspace,
            actor=pm,
            item=item,
            start_date=today + datetime.timedelta(days=start) if start is not None else None,
            end_date=today + datetime.timedelta(days=end) if end is not None else None,
            release_id=release.id if start is None else None,
        )
    _, secret = share_link_create(
        workspace=workspace, actor=pm, roadmap=timeline, name="Board", fields=["status", "schedule"]
    )
    stranger = browser.new_context(viewport={"width": 1280, "height": 700})
    page = stranger.new_page()
    page.goto(f"{live_server.url}/share/{secret}/")
    rows = page.locator(".share-timeline__row")
    expect(rows).to_have_count(4)
    expect(rows.first).to_contain_text("SSO with Okta")
    expect(page.get_by_text("Spring launch")).to_be_visible()
    page.screenshot(path=screenshots / "roadmap-share-timeline.png", full_page=True)
    stranger.close()

    # The PM's side: make a link, see its address once, and print the page without the app.
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/w/acme/roadmap/roadmaps/{timeline.id}/share/")
    page.get_by_role("textbox", name="Name").fill("Customer advisory board")
    page.get_by_label("ARR of the companies asking").check()
    page.get_by_role("button", name="Create link").click()
    address = page.locator("#new-link-url")
    expect(address).to_contain_text("/share/pmr_")
    expect(page.locator("#new-link-embed")).to_contain_text("<iframe")
    page.screenshot(path=screenshots / "roadmap-share-links.png", full_page=True)
    page.emulate_media(media="print")
    expect(page.locator(".sidebar")).to_be_hidden()
    # Of the top bar only the page's title prints.
    expect(page.locator(".topbar .search")).to_be_hidden()
    expect(page.locator(".topbar h1")).to_be_visible()
    page.screenshot(path=screenshots / "roadmap-share-links-print.png", full_page=True)
    page.emulate_media(media="screen")
    page.reload()
    expect(page.locator("#new-link-url")).to_have_count(0)
    expect(page.get_by_role("cell", name="Customer advisory board", exact=True)).to_be_visible()
    context.close()
