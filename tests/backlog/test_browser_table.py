"""A PM works the backlog table from the keyboard in Chromium: ranks by dragging, edits a RICE
input in place and sees the score move, declines with a reason, meets someone else's change,
and saves the filters as a shared view."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from backlog import scoring, services
from backlog.models import Item, ItemScore, SavedView
from pmhub.workspaces.roles import Role
from tests.backlog.browser_support import log_in, shoot
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TITLES = ["Scheduled CSV exports", "SSO with Okta", "Audit log export", "Dark mode for reports"]
# Cells keys move across, after the grip: title, kind, status, area, owner, effort, customers,
# ARR, then RICE's reach, impact, confidence, effort, then the score.
REACH_COLUMN = 8


@pytest.fixture
def desk():
    """Four items scored with RICE (the primary formula); an area; the PM is an editor."""
    workspace = WorkspaceFactory(name="Acme", slug="acme")
    user = UserFactory(email="pm@acme.test", name="Pat Manager")
    MembershipFactory(user=user, workspace=workspace, role=Role.EDITOR)
    scoring.scoring_defaults_ensure(workspace=workspace)
    area = services.product_area_create(workspace=workspace, actor=None, name="Reporting")
    items = []
    for i, title in enumerate(TITLES):
        item = services.item_create(
            workspace=workspace,
            actor=None,
            title=title,
            kind="feature" if i % 2 == 0 else "idea",
            area_id=area.id if i % 2 == 0 else None,
            owner_id=user.id if i == 0 else None,
            effort=[3, 2, None, 1][i],
        )
        scoring.item_inputs_set(
            workspace=workspace,
            actor=None,
            item=item,
            values={
                "rice.reach": [200, 500, 80, 50][i],
                "rice.impact": [1, 2, 0.5, 3][i],
                "rice.confidence": [0.8, 1, 0.5, 0.8][i],
                "rice.effort": [4, None, 1, 2][i],
            },
        )
        items.append(item)
    return workspace, items


def _titles(page: Page) -> list[str]:
    return page.locator("[data-row] .backlog__title a").all_inner_texts()


def _rice(workspace, item) -> float | None:
    return (
        ItemScore.objects.for_workspace(workspace).get(item=item, formula__framework="rice").value
    )


def test_pm_drags_an_item_to_a_new_rank(live_server, page: Page, desk, console_errors):
    base = live_server.url
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in(page, base)
    page.goto(f"{base}/w/acme/backlog/")
    rows = page.locator("[data-row]")
    expect(rows).to_have_count(4)

    rows.filter(has_text="Dark mode for reports").drag_to(
        rows.filter(has_text="SSO with Okta"), target_position={"x": 200, "y": 4}
    )

    expect(
        page.get_by_role("status").filter(has_text="Moved “Dark mode for reports”")
    ).to_be_visible()
    expected = [TITLES[0], TITLES[3], TITLES[1], TITLES[2]]
    assert _titles(page) == expected
    page.reload()
    assert _titles(page) == expected
    assert console_errors == []


def test_pm_edits_a_score_input_from_the_keyboard(
    live_server, page: Page, desk, screenshots, console_errors
):
    workspace, items = desk
    first = items[0]
    assert _rice(workspace, first) == 40.0  # 200 * 1 * 0.8 / 4
    base = live_server.url
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in(page, base)
    page.goto(f"{base}/w/acme/backlog/")
    row = page.locator("[data-row]").first
    expect(row.locator("[data-score]")).to_have_text("40")
    shoot(page, screenshots, "backlog-table")

    # j picks the first row; l walks its cells to RICE's reach.
    page.keyboard.press("j")
    for _ in range(REACH_COLUMN + 1):
        page.keyboard.press("l")
    reach = row.locator('[data-cell="rice.reach"]')
    expect(reach).to_be_focused()
    page.keyboard.press("Enter")
    editor = reach.locator("input")
    expect(editor).to_be_focused()
    expect(editor).to_have_value("200")
    page.keyboard.type("900")
    page.screenshot(path=screenshots / "backlog-table-editing.png", animations="disabled")
    page.keyboard.press("Enter")

    expect(row.locator("[data-score]")).to_have_text("180")
    expect(row.locator('[data-cell="rice.reach"]')).to_have_text("900")
    # The focus stays on the cell: the next edit is one key away; the row can still be dragged.
    expect(row.locator('[data-cell="rice.reach"]')).to_be_focused()
    expect(row).to_have_attribute("draggable", "true")
    assert _rice(workspace, first) == 180.0

    # A value out of range is refused in place, with the reason; Escape puts the old one back.
    page.keyboard.press("F2")
    page.keyboard.type("-5")
    page.keyboard.press("Enter")
    expect(row.locator(".cell-error")).to_have_text("RICE reach is at least 0.")
    page.screenshot(path=screenshots / "backlog-table-refused.png", animations="disabled")
    page.keyboard.press("Escape")
    expect(row.locator('[data-cell="rice.reach"]')).to_have_text("900")
    assert _rice(workspace, first) == 180.0

    # Tab moves on to impact, a choice.
    page.keyboard.press("Tab")
    impact = row.locator('[data-cell="rice.impact"]')
    expect(impact).to_be_focused()
    page.keyboard.press("Enter")
    expect(impact.locator("select")).to_be_focused()
    impact.locator("select").select_option(label="High")
    page.keyboard.press("Enter")
    expect(row.locator("[data-score]")).to_have_text("360")
    expect(impact).to_have_text("High")
    assert _rice(workspace, first) == 360.0
    # The refused value answered 400, which the browser logs; nothing else went wrong.
    assert [e for e in console_errors if "400 (Bad Request)" not in e] == []


def test_pm_declines_from_the_status_cell_and_meets_a_stale_row(
    live_server, page: Page, desk, screenshots, console_errors
):
    workspace, items = desk
    base = live_server.url
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in(page, base)
    page.goto(f"{base}/w/acme/backlog/")
    row = page.locator("[data-row]").nth(1)

    status = row.locator('[data-cell="status"]')
    status.click()
    expect(status).to_be_focused()
    page.keyboard.press("Enter")
    status.locator("select").select_option("declined")
    page.keyboard.press("Enter")
    reason = page.get_by_label("Decline — why?")
    expect(reason).to_be_focused()
    shoot(page, screenshots, "backlog-table-decline")
    page.keyboard.press("Enter")
    expect(row.locator(".cell-error")).to_contain_text("Say why it is declined")
    reason.fill("Okta covers it through SAML already.")
    page.keyboard.press("Enter")
    expect(status).to_have_text("Declined")
    sso = Item.objects.for_workspace(workspace).get(id=items[1].id)
    assert (sso.status, sso.declined_reason) == ("declined", "Okta covers it through SAML already.")

    # Someone else changes the third item after the page loaded: the edit is refused and the
    # row shows their change.
    services.item_set_status(workspace=workspace, actor=None, item=items[2], status="planned")
    third = page.locator("[data-row]").nth(2)
    effort = third.locator('[data-cell="effort"]')
    effort.dblclick()
    page.keyboard.type("5")
    page.keyboard.press("Enter")
    expect(
        page.get_by_role("alert").filter(has_text="Someone changed this item since the table")
    ).to_be_visible()
    expect(third.locator('[data-cell="status"]')).to_have_text("Planned")
    expect(effort).to_have_text("—")
    assert Item.objects.for_workspace(workspace).get(id=items[2].id).effort is None
    assert [e for e in console_errors if "409 (Conflict)" not in e and "400 (Bad" not in e] == []


def test_pm_filters_and_saves_a_shared_view(
    live_server, page: Page, desk, screenshots, console_errors
):
    workspace, _items = desk
    base = live_server.url
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in(page, base)
    page.goto(f"{base}/w/acme/backlog/")

    page.locator(".status-filter summary").click()
    page.get_by_label("New", exact=True).check()
    page.get_by_label("RICE from").fill("30")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("[data-row]")).to_have_count(3)

    page.get_by_text("Save view").first.click()
    page.get_by_label("Name of the new view").fill("Worth doing")
    page.get_by_label("Share with the workspace").check()
    page.locator(".views-menu").get_by_role("button", name="Save view").click()

    expect(
        page.get_by_role("status").filter(has_text="Saved the view “Worth doing”.")
    ).to_be_visible()
    current = page.locator(".views-bar__view[aria-current='page']")
    expect(current).to_have_text("Worth doing")
    view = SavedView.objects.for_workspace(workspace).get()
    assert view.params == {"status": ["new"], "score_min": "30"}
    assert view.is_shared is True
    shoot(page, screenshots, "backlog-table-views")

    # The open view's menu renames it.
    page.get_by_label("Options of the view “Worth doing”").click()
    page.screenshot(path=screenshots / "backlog-table-view-menu.png", animations="disabled")
    page.get_by_label("Name", exact=True).fill("Worth doing now")
    page.get_by_role("button", name="Rename").click()
    expect(current).to_have_text("Worth doing now")

    page.get_by_role("link", name="All items").click()
    expect(page.locator("[data-row]")).to_have_count(4)
    page.get_by_role("link", name="Worth doing now").click()
    expect(page.locator("[data-row]")).to_have_count(3)
    assert console_errors == []
