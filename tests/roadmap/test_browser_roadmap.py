"""A PM plans on the roadmap in Chromium: drags an item from Next to Now, moves one with the
keyboard, moves one backwards and says why (the event keeps the reason), reorders within a
column; reads the timeline, the release plan and the history; screenshots in both themes."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from backlog import services as backlog
from backlog.models import Item
from pmhub.workspaces.roles import Role
from roadmap import selectors, services
from roadmap.models import Placement, Release, Roadmap, RoadmapEvent
from tests.backlog.browser_support import log_in, shoot
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# title, column, area, customers, ARR
BOARD = [
    ("Faster dashboard loading", "Now", "Reporting", 3, "120000"),
    ("Scheduled CSV exports", "Now", "Reporting", 5, "840000"),
    ("SSO with Okta", "Next", "Security", 8, "2100000"),
    ("Audit log export", "Next", "Security", 2, "240000"),
    ("Slack digest", "Later", "", 0, "0"),
    ("Dark mode for reports", "Later", "Reporting", 1, "30000"),
]


@pytest.fixture
def plan():
    """An editor's workspace with a board, a timeline and a release plan over the same items."""
    workspace = WorkspaceFactory(name="Acme", slug="acme")
    user = UserFactory(email="pm@acme.test", name="Pat Manager")
    MembershipFactory(user=user, workspace=workspace, role=Role.EDITOR)
    areas = {
        name: backlog.product_area_create(workspace=workspace, actor=None, name=name)
        for name in ("Reporting", "Security")
    }
    board = services.roadmap_create(
        workspace=workspace,
        actor=user,
        name="Product roadmap",
        description="What the product team works on now, next and later.",
    )
    columns = {c.name: c for c in board.columns.all()}
    today = timezone.localdate()
    first = Release.objects.create(
        workspace=workspace, name="2027.1", target_date=today + datetime.timedelta(days=30)
    )
    second = Release.objects.create(
        workspace=workspace, name="2027.2", target_date=today + datetime.timedelta(days=90)
    )
    items = {}
    for i, (title, column, area, customers, arr) in enumerate(BOARD):
        item = backlog.item_create(
            workspace=workspace,
            actor=None,
            title=title,
            area_id=areas[area].id if area else None,
        )
        if i % 2 == 0:
            item = backlog.item_update(
                workspace=workspace, actor=None, item=item, version=item.version, owner_id=user.id
            )
        Item.objects.for_workspace(workspace).filter(id=item.id).update(
            customer_count=customers, company_count=customers, arr=Decimal(arr)
        )
        services.placement_add(
            workspace=workspace, actor=None, roadmap=board, item=item, column_id=columns[column].id
        )
        start = today + datetime.timedelta(days=-20 + 18 * i)
        services.item_schedule_set(
            workspace=workspace,
            actor=None,
            item=item,
            start_date=start if i != 4 else None,
            end_date=start + datetime.timedelta(days=25 + 5 * i) if i != 4 else None,
            release_id=(first if i < 3 else second).id,
        )
        items[title] = item
    timeline = services.roadmap_create(
        workspace=workspace, actor=user, name="Dated plan", kind=Roadmap.Kind.TIMELINE,
        group_by="area",
    )  # fmt: skip
    releases = services.roadmap_create(
        workspace=workspace, actor=user, name="Release plan", kind=Roadmap.Kind.RELEASE_PLAN
    )
    return workspace, user, board, timeline, releases, items


def _column(page: Page, name: str):
    return page.locator(f"[data-column][data-column-name='{name}']")


def _placed_in(workspace, board, item) -> str:
    return Placement.objects.for_workspace(workspace).get(roadmap=board, item=item).column.name


def test_pm_moves_items_with_the_mouse_and_the_keyboard_and_says_why_for_setbacks(
    live_server, page: Page, plan, screenshots, console_errors
):
    workspace, user, board, _, _, items = plan
    base = live_server.url
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, base)
    page.goto(f"{base}/w/acme/roadmap/")
    expect(page.get_by_role("link", name="Product roadmap")).to_be_visible()
    shoot(page, screenshots, "roadmap-list")
    page.get_by_role("link", name="Product roadmap").click()
    now, next_, later = _column(page, "Now"), _column(page, "Next"), _column(page, "Later")
    expect(now.locator("[data-card]")).to_have_count(2)
    count_now = page.locator(f"[data-count-for='{now.get_attribute('data-column-id')}']")
    expect(count_now).to_have_text("2")
    shoot(page, screenshots, "roadmap-board")

    # The mouse: "SSO with Okta" from Next to Now.
    next_.locator("[data-card]", has_text="SSO with Okta").drag_to(now.locator("[data-cards]"))
    expect(page.get_by_role("status").filter(has_text="“SSO with Okta” is in Now")).to_be_visible()
    expect(now.locator("[data-card]", has_text="SSO with Okta")).to_be_visible()
    expect(count_now).to_have_text("3")
    assert _placed_in(workspace, board, items["SSO with Okta"]) == "Now"
    moved = RoadmapEvent.objects.for_workspace(workspace).get(
        kind="moved", item=items["SSO with Okta"]
    )
    assert (moved.actor, moved.before["column"], moved.after["column"]) == (user, "Next", "Now")
    assert not moved.is_setback

    # The keyboard: "[" moves "Audit log export" from Next to Now; focus stays on it.
    page.reload()
    audit = page.locator("[data-card]", has_text="Audit log export")
    audit.focus()
    page.keyboard.press("[")
    expect(
        page.get_by_role("status").filter(has_text="“Audit log export” is in Now")
    ).to_be_visible()
    expect(now.locator("[data-card]", has_text="Audit log export")).to_be_focused()
    assert _placed_in(workspace, board, items["Audit log export"]) == "Now"

    # Shift+↑ moves it up one place within Now.
    def order():
        cards = selectors.roadmap_board(workspace=workspace, roadmap=board)[0].cards
        return [card["title"] for card in cards]

    before = order()
    with page.expect_response(lambda response: "/move/" in response.url):
        page.keyboard.press("Shift+ArrowUp")
    expect(now.locator("[data-card]", has_text="Audit log export")).to_be_focused()
    at = before.index("Audit log export")
    expected = [*before[: at - 1], "Audit log export", before[at - 1], *before[at + 1 :]]
    assert order() == expected

    # Backwards: "]" on "Faster dashboard loading" asks why; Cancel leaves it in Now.
    dashboard = now.locator("[data-card]", has_text="Faster dashboard loading")
    dashboard.focus()
    page.keyboard.press("]")
    dialog = page.locator("#reason-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Why does it move back to Next?")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(now.locator("[data-card]", has_text="Faster dashboard loading")).to_be_focused()
    assert _placed_in(workspace, board, items["Faster dashboard loading"]) == "Now"

    # Again, with a reason this time.
    page.keyboard.press("]")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Reason").fill("Waiting on the new metrics store")
    shoot(page, screenshots, "roadmap-board-reason")
    dialog.get_by_role("button", name="Move it").click()
    expect(
        page.get_by_role("status").filter(has_text="“Faster dashboard loading” is in Next")
    ).to_be_visible()
    expect(next_.locator("[data-card]", has_text="Faster dashboard loading")).to_be_visible()
    setback = RoadmapEvent.objects.for_workspace(workspace).get(
        kind="moved", item=items["Faster dashboard loading"]
    )
    assert setback.is_setback
    assert setback.reason == "Waiting on the new metrics store"
    assert (setback.before["column"], setback.after["column"]) == ("Now", "Next")

    # A drag backwards asks too: "Scheduled CSV exports" from Now to Later.
    now.locator("[data-card]", has_text="Scheduled CSV exports").drag_to(
        later.locator("[data-cards]")
    )
    expect(dialog).to_be_visible()
    dialog.get_by_label("Reason").fill("Customers asked for the API first")
    dialog.get_by_role("button", name="Move it").click()
    expect(later.locator("[data-card]", has_text="Scheduled CSV exports")).to_be_visible()
    expect(
        page.get_by_role("status").filter(has_text="“Scheduled CSV exports” is in Later")
    ).to_be_visible()
    assert (
        RoadmapEvent.objects.for_workspace(workspace)
        .filter(kind="moved", is_setback=True, reason="Customers asked for the API first")
        .exists()
    )

    # A column deleted elsewhere: the move is refused, the card goes back, a toast says why.
    page.reload()
    services.roadmap_column_delete(
        workspace=workspace,
        actor=None,
        column=board.columns.get(name="Next"),
        move_to=board.columns.get(name="Now"),
    )
    dark = page.locator("[data-card]", has_text="Dark mode for reports")
    dark.focus()
    page.keyboard.press("[")
    expect(page.get_by_role("alert").filter(has_text="no longer exists")).to_be_visible()
    expect(_column(page, "Later").locator("[data-card]", has_text="Dark mode")).to_be_visible()
    assert _placed_in(workspace, board, items["Dark mode for reports"]) == "Later"

    # History shows the setbacks with their reasons.
    page.goto(f"{base}/w/acme/roadmap/roadmaps/{board.id}/history/")
    expect(page.locator(".rm-event--setback").first).to_contain_text(
        "Customers asked for the API first"
    )
    expect(page.get_by_text("“Waiting on the new metrics store”")).to_be_visible()
    shoot(page, screenshots, "roadmap-history")

    # Enter opens the focused card's item.
    page.goto(f"{base}/w/acme/roadmap/roadmaps/{board.id}/")
    page.locator("[data-card]", has_text="SSO with Okta").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("SSO with Okta")
    # The refused move's 404 is logged by the browser itself; nothing else may be.
    assert [e for e in console_errors if "404 (Not Found)" not in e] == []


def test_pm_adds_an_item_from_the_search_and_groups_by_area(
    live_server, page: Page, plan, screenshots, console_errors
):
    workspace, _, board, _, _, _ = plan
    backlog.item_create(workspace=workspace, actor=None, title="Usage-based pricing")
    base = live_server.url
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, base)
    page.goto(f"{base}/w/acme/roadmap/roadmaps/{board.id}/")
    head = page.locator("[data-column-head]").nth(2)
    head.get_by_text("Add an item").click()
    find = head.get_by_placeholder("Search the backlog…")
    expect(find).to_be_focused()
    find.fill("pricing")
    expect(head.get_by_text("Usage-based pricing")).to_be_visible()
    find.press("Enter")
    expect(
        _column(page, "Later").locator("[data-card]", has_text="Usage-based pricing")
    ).to_be_visible()

    page.get_by_label("Group by").select_option("area")
    expect(page.locator(".rm-lane__title")).to_have_text(["Reporting", "Security", "No area"])
    shoot(page, screenshots, "roadmap-board-lanes")

    # Settings: a column renamed; its new name heads the board.
    page.get_by_role("link", name="Settings", exact=True).last.click()
    page.get_by_label("Name of column 3").fill("Someday")
    page.get_by_role("button", name="Rename").nth(2).click()
    renamed = page.get_by_role("status").filter(has_text="Column renamed to “Someday”")
    expect(renamed).to_be_visible()
    shoot(page, screenshots, "roadmap-settings")
    page.locator(".rm-columns-admin").screenshot(path=screenshots / "roadmap-settings-columns.png")
    page.get_by_role("link", name="Board").click()
    expect(_column(page, "Someday").locator("[data-card]")).to_have_count(3)

    # A card's remove button submits the page's one remove form to that card's URL, after
    # asking; the item stays in the backlog.
    card = _column(page, "Someday").locator("[data-card]", has_text="Usage-based pricing")
    card.hover()
    page.once("dialog", lambda dialog: dialog.accept())
    card.get_by_role("button", name="Remove “Usage-based pricing” from the roadmap").click()
    expect(page.get_by_role("status").filter(has_text="off this roadmap")).to_be_visible()
    expect(_column(page, "Someday").locator("[data-card]")).to_have_count(2)
    assert console_errors == []


def test_pm_reads_the_timeline_changes_dates_and_plans_releases(
    live_server, page: Page, plan, screenshots, console_errors
):
    workspace, _, _, timeline, releases, items = plan
    base = live_server.url
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, base)
    page.goto(f"{base}/w/acme/roadmap/roadmaps/{timeline.id}/")
    expect(page.locator("[data-bar]")).to_have_count(6)
    expect(page.locator(".rm-tl__today").first).to_be_attached()
    expect(page.locator(".rm-tl__milestone")).to_have_count(1)
    shoot(page, screenshots, "roadmap-timeline")

    # The dates form: a later end asks why first.
    row = page.locator("[data-bar]", has_text="SSO with Okta")
    row.get_by_label("Change the dates of “SSO with Okta”").click()
    schedule = items["SSO with Okta"].schedule
    schedule.refresh_from_db()
    later_end = schedule.end_date + datetime.timedelta(days=14)
    row.get_by_label("End").fill(later_end.isoformat())
    row.get_by_role("button", name="Save dates").click()
    dialog = page.locator("#reason-dialog")
    expect(dialog).to_contain_text("Why does it slip?")
    dialog.get_by_label("Reason").fill("Security review")
    dialog.get_by_role("button", name="Move it").click()
    expect(page.get_by_role("status").filter(has_text="“SSO with Okta” runs")).to_be_visible()
    schedule.refresh_from_db()
    assert schedule.end_date == later_end
    assert (
        RoadmapEvent.objects.for_workspace(workspace)
        .filter(kind="redated", reason="Security review", is_setback=True)
        .exists()
    )

    # The mouse: "Audit log export"'s bar dragged later asks why, then moves both dates.
    audit = items["Audit log export"].schedule
    audit.refresh_from_db()
    old_start, old_end = audit.start_date, audit.end_date
    bar = page.locator("[data-bar]", has_text="Audit log export").locator("[data-bar-drag]")
    box = bar.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 40, box["y"] + box["height"] / 2, steps=5)
    page.mouse.move(box["x"] + box["width"] / 2 + 80, box["y"] + box["height"] / 2, steps=5)
    page.mouse.up()
    expect(dialog).to_contain_text("Why does it slip?")
    dialog.get_by_label("Reason").fill("Waiting for the audit vendor")
    with page.expect_navigation():
        dialog.get_by_role("button", name="Move it").click()
    audit.refresh_from_db()
    assert audit.end_date > old_end
    assert audit.end_date - old_end == audit.start_date - old_start
    assert (
        RoadmapEvent.objects.for_workspace(workspace)
        .filter(kind="redated", reason="Waiting for the audit vendor", is_setback=True)
        .exists()
    )

    page.get_by_role("link", name="Quarters").click()
    expect(page.locator(".rm-tl__period").first).to_contain_text("Q")
    shoot(page, screenshots, "roadmap-timeline-quarters")

    # The release plan: "]" moves a card to the next (later) release, after a reason.
    page.goto(f"{base}/w/acme/roadmap/roadmaps/{releases.id}/")
    expect(page.locator("[data-column]")).to_have_count(2)
    shoot(page, screenshots, "roadmap-release-plan")
    card = page.locator("[data-card]", has_text="SSO with Okta")
    card.focus()
    page.keyboard.press("]")
    expect(dialog).to_contain_text("Why does it slip to 2027.2?")
    dialog.get_by_label("Reason").fill("QA capacity")
    dialog.get_by_role("button", name="Move it").click()
    expect(page.get_by_role("status").filter(has_text="is in 2027.2")).to_be_visible()
    schedule.refresh_from_db()
    assert schedule.release.name == "2027.2"
    page.goto(f"{base}/w/acme/roadmap/roadmaps/new/")
    shoot(page, screenshots, "roadmap-new")
    assert console_errors == []


def test_show_more_appends_a_columns_next_page(
    live_server, page: Page, plan, monkeypatch, console_errors
):
    _, _, board, _, _, _ = plan
    monkeypatch.setattr(selectors, "COLUMN_PAGE", 1)
    base = live_server.url
    log_in(page, base)
    page.goto(f"{base}/w/acme/roadmap/roadmaps/{board.id}/")
    now = _column(page, "Now")
    expect(now.locator("[data-card]")).to_have_count(1)
    now.get_by_role("link", name="Show 1 more").click()
    expect(now.locator("[data-card]")).to_have_count(2)
    expect(now.get_by_role("link", name="Show 1 more")).to_have_count(0)
    # The appended card moves like the others.
    appended = now.locator("[data-card]").nth(1)
    appended.focus()
    page.keyboard.press("k")
    expect(now.locator("[data-card]").first).to_be_focused()
    assert console_errors == []
