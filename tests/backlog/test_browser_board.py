"""A PM moves cards on the backlog board with the mouse and the keyboard, and reads the 2×2
matrix, in Chromium."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from backlog import scoring, services
from backlog.models import Item
from pmhub.workspaces.roles import Role
from tests.backlog.browser_support import log_in, shoot
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# title, status, kind, effort, RICE reach, customers, ARR
ITEMS = [
    ("Scheduled CSV exports", "considering", "feature", 3, 900, 4, "1400000"),
    ("Audit log export", "considering", "idea", 1, 300, 2, "240000"),
    ("SSO with Okta", "planned", "feature", 8, 800, 6, "2100000"),
    ("Faster dashboard loading", "in_progress", "feature", 5, 200, 1, "30000"),
    ("Dark mode for reports", "new", "idea", 2, 50, 0, "0"),
    ("Slack digest", "new", "idea", None, None, 0, "0"),
    ("Public changelog", "shipped", "feature", 2, 120, 3, "90000"),
    ("Native Windows app", "declined", "epic", 13, 40, 1, "12000"),
]


@pytest.fixture
def desk():
    """An editor's backlog: items in every status, most with effort and RICE inputs."""
    workspace = WorkspaceFactory(name="Acme", slug="acme")
    user = UserFactory(email="pm@acme.test", name="Pat Manager")
    MembershipFactory(user=user, workspace=workspace, role=Role.EDITOR)
    area = services.product_area_create(workspace=workspace, actor=None, name="Reporting")
    scoring.scoring_defaults_ensure(workspace=workspace)
    items = {}
    for i, (title, status, kind, effort, reach, customers, arr) in enumerate(ITEMS):
        item = services.item_create(
            workspace=workspace,
            actor=None,
            title=title,
            kind=kind,
            area_id=area.id if i % 2 == 0 else None,
        )
        if i < 3:
            item = services.item_update(
                workspace=workspace, actor=None, item=item, version=item.version, owner_id=user.id
            )
        if effort is not None:
            item = services.item_update(
                workspace=workspace, actor=None, item=item, version=item.version, effort=effort
            )
            scoring.item_inputs_set(
                workspace=workspace,
                actor=None,
                item=item,
                values={"rice.reach": reach, "rice.impact": 1, "rice.confidence": 0.8},
            )
        if status != "new":
            item = services.item_set_status(
                workspace=workspace,
                actor=None,
                item=item,
                status=status,
                reason="Not our market" if status == "declined" else "",
            )
        Item.objects.for_workspace(workspace).filter(id=item.id).update(
            customer_count=customers,
            company_count=customers,
            arr=Decimal(arr),
            critical_count=1 if i == 0 else 0,
        )
        items[title] = item
    return workspace, items


def _status(workspace, item) -> tuple[str, str]:
    item = Item.objects.for_workspace(workspace).get(id=item.id)
    return item.status, item.declined_reason


def _column(page: Page, status: str):
    return page.locator(f"[data-column][data-status='{status}']")


def test_pm_moves_cards_with_the_mouse_and_the_keyboard(
    live_server, page: Page, desk, screenshots, console_errors
):
    workspace, items = desk
    base = live_server.url
    page.set_viewport_size({"width": 1280, "height": 860})
    log_in(page, base)
    page.goto(f"{base}/w/acme/backlog/board/")
    considering, planned = _column(page, "considering"), _column(page, "planned")
    expect(considering.locator("[data-card]")).to_have_count(2)
    expect(considering.locator("[data-count]")).to_have_text("2")
    expect(_column(page, "declined")).not_to_have_attribute("open", "")
    shoot(page, screenshots, "backlog-board")

    # The mouse: "Audit log export" from Under consideration to Planned.
    card = considering.locator("[data-card]", has_text="Audit log export")
    card.drag_to(planned.locator("[data-cards]"))
    expect(page.get_by_role("status").filter(has_text="is now planned")).to_be_visible()
    expect(planned.locator("[data-card]", has_text="Audit log export")).to_be_visible()
    expect(planned.locator("[data-count]")).to_have_text("2")
    expect(considering.locator("[data-count]")).to_have_text("1")
    assert _status(workspace, items["Audit log export"]) == ("planned", "")

    # The keyboard: "]" moves "Dark mode for reports" from New to Under consideration.
    page.reload()
    dark = page.locator("[data-card]", has_text="Dark mode for reports")
    dark.focus()
    page.keyboard.press("]")
    expect(page.get_by_role("status").filter(has_text="is now under consideration")).to_be_visible()
    expect(
        _column(page, "considering").locator("[data-card]", has_text="Dark mode")
    ).to_be_focused()
    assert _status(workspace, items["Dark mode for reports"]) == ("considering", "")

    # Shipped → Declined asks why; Escape leaves the card where it was.
    shipped = page.locator("[data-card]", has_text="Public changelog")
    shipped.focus()
    page.keyboard.press("]")
    dialog = page.locator("#decline-dialog")
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(
        _column(page, "shipped").locator("[data-card]", has_text="Public changelog")
    ).to_be_focused()
    expect(_column(page, "declined").locator("[data-count]")).to_have_text("1")
    assert _status(workspace, items["Public changelog"]) == ("shipped", "")

    # Alt+→ is the same move as "]"; this time with a reason.
    page.keyboard.press("Alt+ArrowRight")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Why is it declined?").fill("Release notes cover it")
    shoot(page, screenshots, "backlog-board-decline")
    dialog.get_by_role("button", name="Decline").click()
    expect(page.get_by_role("status").filter(has_text="is now declined")).to_be_visible()
    expect(_column(page, "declined").locator("[data-count]")).to_have_text("2")
    assert _status(workspace, items["Public changelog"]) == ("declined", "Release notes cover it")

    # A stale card (changed elsewhere since the board loaded) is refused and snaps back.
    sso = items["SSO with Okta"]
    services.item_update(
        workspace=workspace, actor=None, item=sso, version=sso.version, title="SSO with Okta!"
    )
    card = page.locator("[data-card]", has_text="SSO with Okta")
    card.focus()
    page.keyboard.press("[")
    expect(page.get_by_role("alert").filter(has_text="changed since this board")).to_be_visible()
    expect(
        _column(page, "planned").locator("[data-card]", has_text="SSO with Okta")
    ).to_be_visible()
    assert _status(workspace, sso)[0] == "planned"

    # Enter opens the focused card.
    page.locator("[data-card]", has_text="Faster dashboard loading").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Faster dashboard loading")
    # The refused move's 409 is logged by the browser itself; nothing else may be.
    assert [e for e in console_errors if "409 (Conflict)" not in e] == []


def test_pm_reads_the_matrix_and_switches_an_axis(
    live_server, page: Page, desk, screenshots, console_errors
):
    base = live_server.url
    page.set_viewport_size({"width": 1280, "height": 1000})
    log_in(page, base)
    page.goto(f"{base}/w/acme/backlog/board/")
    page.keyboard.press("3")
    expect(page).to_have_url(f"{base}/w/acme/backlog/matrix/")
    points = page.locator("[data-point]")
    expect(points).to_have_count(7)
    expect(page.locator("[data-axis-label='x']")).to_contain_text("Effort (estimate)")
    expect(page.locator("[data-axis-label='y']")).to_contain_text("RICE")
    expect(page.locator("[data-quadrant]").first).to_contain_text("Big bets")
    expect(page.locator("[data-unplotted]")).to_contain_text("Slack digest")
    shoot(page, screenshots, "backlog-matrix")

    page.get_by_label("Up").select_option(label="ARR of the companies asking")
    expect(page.locator("[data-axis-label='y']")).to_contain_text("ARR of the companies asking")
    page.locator("#id_y_log").check()
    expect(page.locator("[data-axis-label='y']")).to_contain_text("(log scale)")
    expect(page.locator("[data-gaps]")).to_contain_text(
        "2 items have 0 or less for ARR of the companies asking"
    )
    shoot(page, screenshots, "backlog-matrix-arr")

    # A point links to its item.
    points.first.click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert "/backlog/items/" in page.url
    assert console_errors == []
