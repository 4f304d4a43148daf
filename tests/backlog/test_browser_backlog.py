"""A PM ranks the backlog by dragging and with the keyboard, and reads an item, in Chromium."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from backlog import services
from discovery import services as discovery
from discovery.services import FeedbackInput
from pmhub.workspaces.roles import Role
from tests.backlog.browser_support import log_in
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TITLES = [
    "Scheduled CSV exports",
    "SSO with Okta",
    "Faster dashboard loading",
    "Audit log export",
    "Dark mode for reports",
]


@pytest.fixture
def desk():
    """A workspace whose backlog holds five items; the first is asked for by two companies."""
    workspace = WorkspaceFactory(name="Acme", slug="acme")
    user = UserFactory(email="pm@acme.test", name="Pat Manager")
    MembershipFactory(user=user, workspace=workspace, role=Role.EDITOR)
    area = services.product_area_create(workspace=workspace, actor=None, name="Reporting")
    epic = services.item_create(
        workspace=workspace, actor=None, title="Reporting overhaul", kind="epic", area_id=area.id
    )
    items = [
        services.item_create(
            workspace=workspace,
            actor=None,
            title=title,
            kind="feature" if i % 2 == 0 else "idea",
            area_id=area.id if i % 2 == 0 else None,
            owner_id=user.id if i < 2 else None,
            parent_id=epic.id if i in (0, 3) else None,
            description="Customers want **scheduled** exports.\n\n- daily\n- weekly"
            if i == 0
            else "",
        )
        for i, title in enumerate(TITLES)
    ]
    feedback = []
    for name, segment, arr, text in [
        ("Initech", "Enterprise", "1200000", "Our finance team exports every Monday by hand."),
        ("Hooli", "Mid-market", "240000", "We need the CSV in our inbox before standup."),
    ]:
        company, _ = discovery.company_upsert(
            workspace=workspace,
            actor=None,
            name=name,
            domain=f"{name.lower()}.test",
            segment=segment,
            arr=Decimal(arr),
        )
        customer, _ = discovery.customer_upsert(
            workspace=workspace,
            actor=None,
            email=f"pm@{name.lower()}.test",
            name=f"{name} PM",
            company=company,
        )
        feedback.append(
            discovery.feedback_create(
                workspace=workspace,
                actor=None,
                data=FeedbackInput(text=text, customer_id=customer.id),
            )
        )
    insight = discovery.insight_create(
        workspace=workspace, actor=None, title="Reports must arrive on their own"
    )
    for f in feedback:
        services.item_link_evidence(
            workspace=workspace, actor=None, item=items[0], feedback_id=f.id
        )
    services.item_link_evidence(
        workspace=workspace, actor=None, item=items[0], insight_id=insight.id
    )
    return workspace, epic, items


def _titles(page: Page) -> list[str]:
    return page.locator("[data-row] .backlog__title a").all_inner_texts()


def test_pm_ranks_the_backlog_by_dragging_and_with_the_keyboard(
    live_server, page: Page, desk, screenshots, console_errors
):
    _workspace, _epic, _items = desk
    base = live_server.url
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in(page, base)
    page.goto(f"{base}/w/acme/backlog/")
    rows = page.locator("[data-row]")
    expect(rows).to_have_count(6)
    assert _titles(page) == ["Reporting overhaul", *TITLES]
    expect(rows.nth(1)).to_contain_text("$1.4M")
    page.screenshot(path=screenshots / "backlog-light.png", full_page=True, animations="disabled")
    page.emulate_media(color_scheme="dark")
    page.screenshot(path=screenshots / "backlog-dark.png", full_page=True, animations="disabled")
    page.emulate_media(color_scheme="light")

    # Drag "Dark mode for reports" (last) onto the top half of "SSO with Okta".
    rows.filter(has_text="Dark mode for reports").drag_to(
        rows.filter(has_text="SSO with Okta"), target_position={"x": 200, "y": 4}
    )
    expect(
        page.get_by_role("status").filter(has_text="Moved “Dark mode for reports”")
    ).to_be_visible()
    expected = [
        "Reporting overhaul",
        "Scheduled CSV exports",
        "Dark mode for reports",
        "SSO with Okta",
        "Faster dashboard loading",
        "Audit log export",
    ]
    assert _titles(page) == expected
    page.reload()
    assert _titles(page) == expected

    # The keyboard: j j picks "Scheduled CSV exports"; Alt+Down moves it one place down.
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(rows.nth(1)).to_be_focused()
    page.keyboard.press("Alt+ArrowDown")
    expect(
        page.get_by_role("status").filter(has_text="Moved “Scheduled CSV exports”")
    ).to_be_visible()
    expect(rows.nth(2)).to_be_focused()
    expected[1], expected[2] = expected[2], expected[1]
    assert _titles(page) == expected
    page.reload()
    assert _titles(page) == expected

    # After the reload no row is focused: j j reaches the second row; Enter opens it.
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Dark mode for reports")
    assert console_errors == []


def test_pm_reads_an_item_and_edits_it_inline(
    live_server, page: Page, desk, screenshots, console_errors
):
    _workspace, _epic, items = desk
    base = live_server.url
    page.set_viewport_size({"width": 1280, "height": 1500})
    log_in(page, base)
    page.goto(f"{base}/w/acme/backlog/items/{items[0].id}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Scheduled CSV exports")
    demand = page.locator("#demand")
    expect(demand).to_contain_text("Our finance team exports every Monday by hand.")
    expect(demand).to_contain_text("Initech PM")
    expect(page.locator(".segment-bar")).to_have_count(2)
    page.screenshot(
        path=screenshots / "backlog-item-light.png", full_page=True, animations="disabled"
    )
    page.emulate_media(color_scheme="dark")
    page.screenshot(
        path=screenshots / "backlog-item-dark.png", full_page=True, animations="disabled"
    )
    page.emulate_media(color_scheme="light")

    # e opens the inline edit; the new title is saved.
    page.keyboard.press("e")
    title = page.get_by_label("Title")
    expect(title).to_be_focused()
    title.fill("Scheduled CSV and Excel exports")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Scheduled CSV and Excel exports")

    # The evidence picker searches as one types (htmx), and links.
    find = page.get_by_label("Search insights and feedback")
    page.wait_for_function(
        "() => Boolean(document.querySelector('#link-evidence form')['htmx-internal-data'])"
    )
    find.fill("standup")
    expect(page.locator("#candidates .candidate")).to_have_count(1)
    expect(page.locator("#candidates")).to_contain_text("Linked")
    assert console_errors == []


def test_pm_declines_an_item_from_its_status_menu(
    live_server, page: Page, desk, screenshots, console_errors
):
    _workspace, _epic, items = desk
    base = live_server.url
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, base)
    page.goto(f"{base}/w/acme/backlog/")
    # c starts a new item from the table.
    page.keyboard.press("c")
    expect(page.get_by_role("heading", level=1)).to_have_text("New item")
    page.goto(f"{base}/w/acme/backlog/items/{items[1].id}/")
    page.get_by_label("Status: New. Change status").click()
    page.screenshot(path=screenshots / "backlog-status-menu.png", animations="disabled")
    page.get_by_role("button", name="Decline").click()
    # Without a reason the server refuses (400), keeps the menu open and says why.
    expect(page.get_by_text("Say why it is declined")).to_be_visible()
    page.get_by_label("Decline — why?").fill("Okta covers it through SAML already.")
    page.get_by_role("button", name="Decline").click()
    expect(page.get_by_role("status").filter(has_text="Status: Declined.")).to_be_visible()
    expect(page.locator(".item-declined")).to_contain_text("Okta covers it through SAML already.")
    page.keyboard.press("e")
    expect(page.get_by_label("Title")).to_be_focused()
    page.screenshot(path=screenshots / "backlog-item-edit.png", animations="disabled")
    assert [e for e in console_errors if "status of 400" not in e] == []


def test_pm_links_an_insight_to_a_backlog_item_from_discovery(
    live_server, page: Page, desk, screenshots, console_errors
):
    workspace, _epic, _items = desk
    insight = discovery.insight_create(
        workspace=workspace, actor=None, title="Admins want single sign-on"
    )
    base = live_server.url
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, base)
    page.goto(f"{base}/w/acme/discovery/insights/{insight.id}/")
    page.get_by_role("link", name="Link to backlog item").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Link to a backlog item")
    page.wait_for_function(
        "() => Boolean(document.querySelector('form[role=search]')['htmx-internal-data'])"
    )
    page.get_by_label("Search backlog items").fill("okta")
    expect(page.locator(".pick-list__row")).to_have_count(1)
    page.screenshot(path=screenshots / "backlog-link-picker.png", animations="disabled")
    page.get_by_role("button", name="Link to “SSO with Okta”").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Admins want single sign-on")
    expect(
        page.get_by_role("status").filter(has_text="Linked to the backlog item “SSO with Okta”.")
    ).to_be_visible()
    assert console_errors == []
