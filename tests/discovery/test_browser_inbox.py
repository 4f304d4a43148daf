"""A PM works through the inbox with the keyboard and the mouse, in Chromium."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from discovery import services
from discovery.models import Feedback, Tagging
from discovery.services import FeedbackInput
from pmhub.workspaces.roles import Role
from tests.factories import PASSWORD, MembershipFactory, UserFactory, WorkspaceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def desk():
    """A workspace with two tags, a company, a customer and six new feedback items."""
    workspace = WorkspaceFactory(name="Acme", slug="acme")
    user = UserFactory(email="pm@acme.test", name="Pat Manager")
    MembershipFactory(user=user, workspace=workspace, role=Role.EDITOR)
    services.tag_create(workspace=workspace, actor=None, name="Billing", color="#d9480f")
    speed = services.tag_create(
        workspace=workspace, actor=None, name="Speed", group="Theme", color="#2b8a3e"
    )
    company, _ = services.company_upsert(
        workspace=workspace,
        actor=None,
        name="Initech",
        domain="initech.test",
        segment="Enterprise",
        plan="Pro",
    )
    customer, _ = services.customer_upsert(
        workspace=workspace, actor=None, email="peter@initech.test", name="Peter", company=company
    )
    now = timezone.now()
    texts = [
        "Exports to CSV time out on big accounts",
        "The dashboard takes ten seconds to load",
        "Please add SSO with Okta",
        "<b>bold</b> claims in a ticket <script>alert(1)</script>",
        "Invoices show the wrong VAT number",
        "Search does not find archived projects",
    ]
    items = [
        services.feedback_create(
            workspace=workspace,
            actor=None,
            data=FeedbackInput(
                text=text,
                source=["support", "sales", "survey"][i % 3],
                customer_id=customer.id if i % 2 == 0 else None,
                received_at=now - timedelta(hours=i, days=i * 3),
            ),
        )
        for i, text in enumerate(texts)
    ]
    services.feedback_tag(
        workspace=workspace, actor=None, feedback_ids=[items[1].id], tag_id=speed.id
    )
    return workspace, items


def _log_in(page: Page, base: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill("pm@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def _status(item: Feedback) -> str:
    item.refresh_from_db()
    return item.status


def test_pm_triages_the_inbox_with_the_keyboard_and_a_bulk_action(
    live_server, page: Page, desk, screenshots, console_errors
):
    workspace, items = desk
    base = live_server.url
    page.set_viewport_size({"width": 1280, "height": 860})
    _log_in(page, base)
    expect(page).to_have_url(f"{base}/w/acme/discovery/")
    rows = page.locator("[data-row]")
    expect(rows).to_have_count(6)
    # Markup in a customer's words is shown as text.
    expect(
        rows.get_by_text("<b>bold</b> claims in a ticket <script>alert(1)</script>")
    ).to_be_visible()
    page.screenshot(path=screenshots / "inbox-light.png", full_page=True)

    # j picks up the first row, x selects it; j x selects the second; e archives both.
    page.keyboard.press("j")
    expect(rows.nth(0)).to_be_focused()
    page.keyboard.press("x")
    page.keyboard.press("j")
    expect(rows.nth(1)).to_be_focused()
    page.keyboard.press("x")
    expect(page.locator("[data-selected-count]")).to_have_text("2 selected")
    page.keyboard.press("e")
    expect(rows).to_have_count(4)
    expect(page.get_by_role("status").filter(has_text="2 items moved to archived.")).to_be_visible()
    # Archive, next: the focus lands on the row that followed.
    expect(rows.nth(0)).to_be_focused()
    expect(rows.nth(0)).to_have_attribute("data-id", str(items[2].id))
    assert [_status(i) for i in items[:3]] == ["archived", "archived", "new"]

    # t opens the tag picker; typing filters; Enter tags the focused row and moves on.
    page.keyboard.press("t")
    picker = page.get_by_role("dialog", name="Tag")
    expect(picker).to_be_visible()
    page.keyboard.type("spe")
    expect(picker.locator("[data-tag-option]:visible")).to_have_count(1)
    page.screenshot(path=screenshots / "inbox-tag-picker.png")
    page.keyboard.press("Enter")
    expect(picker).to_be_hidden()
    expect(rows.nth(0).locator("[data-tags]")).to_contain_text("Speed")
    expect(rows.nth(1)).to_be_focused()
    tagged = Tagging.objects.for_workspace(workspace).filter(tag__name="Speed")
    assert set(tagged.values_list("feedback_id", flat=True)) == {items[1].id, items[2].id}

    # Shift-click selects a range; the plain form applies an action to the selection.
    page.locator(f"#select-{items[3].id}").click()
    page.locator(f"#select-{items[5].id}").click(modifiers=["Shift"])
    expect(page.locator("[data-selected-count]")).to_have_text("3 selected")
    page.get_by_label("Action", exact=True).select_option("triage")
    page.get_by_role("button", name="Apply to selected").click()
    expect(page.get_by_text("3 items moved to triaged.")).to_be_visible()
    expect(rows).to_have_count(1)
    assert [_status(i) for i in items[3:]] == ["triaged", "triaged", "triaged"]

    # The last one: archive it; an empty page is inbox zero.
    page.keyboard.press("j")
    page.keyboard.press("e")
    expect(page.get_by_role("heading", name="Inbox zero")).to_be_visible()
    assert _status(items[2]) == "archived"
    page.screenshot(path=screenshots / "inbox-zero.png", full_page=True)

    # ? lists the inbox's shortcuts with the general ones.
    page.goto(f"{base}/w/acme/discovery/?status=all")
    page.keyboard.press("?")
    help_dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(help_dialog).to_contain_text("In the inbox")
    expect(help_dialog).to_contain_text("Archive the row or the selection")
    page.keyboard.press("Escape")

    page.emulate_media(color_scheme="dark")
    page.screenshot(path=screenshots / "inbox-dark.png", full_page=True)
    assert console_errors == []

    # Enter opens the focused feedback.
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/w/acme/discovery/feedback/{items[0].id}/$"))


def test_company_customer_and_tag_pages_in_both_themes(
    live_server, page: Page, desk, screenshots, console_errors
):
    workspace, _items = desk
    base = live_server.url
    page.set_viewport_size({"width": 1280, "height": 860})
    _log_in(page, base)

    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.get_by_role("link", name="Tags", exact=True).click()
        expect(page.get_by_role("heading", name=re.compile("^Theme"))).to_be_visible()
        page.screenshot(path=screenshots / f"tags-{scheme}.png", full_page=True)
        page.get_by_role("link", name="Speed").first.click()
        expect(page.get_by_role("heading", name="Tagged feedback")).to_be_visible()
        page.screenshot(path=screenshots / f"tag-detail-{scheme}.png", full_page=True)

        page.get_by_role("link", name="Companies", exact=True).click()
        page.get_by_role("link", name="Initech").click()
        expect(page.get_by_role("heading", name="What they said")).to_be_visible()
        expect(page.get_by_text("Please add SSO with Okta")).to_be_visible()
        page.screenshot(path=screenshots / f"company-detail-{scheme}.png", full_page=True)

        page.get_by_role("link", name="Customers", exact=True).click()
        page.screenshot(path=screenshots / f"customers-{scheme}.png", full_page=True)
    assert console_errors == []


def test_l_links_the_focused_item_to_an_insight_and_moves_on(
    live_server, page: Page, desk, screenshots, console_errors
):
    workspace, items = desk
    insight = services.insight_create(workspace=workspace, actor=None, title="Exports fail")
    base = live_server.url
    _log_in(page, base)
    expect(page).to_have_url(f"{base}/w/acme/discovery/")
    page.wait_for_load_state("load")

    page.keyboard.press("j")
    page.keyboard.press("l")
    picker = page.locator("#insight-picker")
    expect(picker).to_be_visible()
    page.keyboard.type("expo")
    page.screenshot(path=screenshots / "inbox-insight-picker.png")
    page.keyboard.press("Enter")

    expect(page.locator(".toast__text", has_text="1 item linked as evidence.")).to_be_visible()
    insight.refresh_from_db()
    assert insight.evidence_count == 1
    assert list(insight.evidence.values_list("feedback_id", flat=True)) == [items[0].id]
    assert console_errors == []


def test_adding_feedback_finds_the_customer_by_typing(
    live_server, page: Page, desk, screenshots, console_errors
):
    """Among thousands of customers the form shows a few; typing finds the one, Enter searches
    without sending the form, and the choice survives another search."""
    workspace, _items = desk
    for i in range(40):
        services.customer_upsert(
            workspace=workspace, actor=None, email=f"buyer{i}@globex.test", name=f"Buyer {i}"
        )
    _log_in(page, live_server.url)
    page.goto(f"{live_server.url}/w/acme/discovery/feedback/new/")
    page.get_by_label("Text").fill("Wants an audit log export")
    options = page.locator("#customer-options input[name=customer]")
    expect(options).to_have_count(13)  # "No customer" and the 12 newest

    search = page.get_by_label("Find a customer by name or email")
    search.fill("peter")
    expect(page.locator("#customer-options").get_by_text("Peter", exact=True)).to_be_visible()
    page.locator("#customer-options").get_by_text("Peter", exact=True).click()
    page.screenshot(path=screenshots / "feedback-new-customer.png", full_page=True)
    search.fill("buyer 3")
    search.press("Enter")  # searches; the form is not sent
    expect(page.locator("#customer-options").get_by_text("Buyer 3", exact=True)).to_be_visible()
    expect(page.get_by_label("Text")).to_have_value("Wants an audit log export")
    # Peter, chosen before, is still there and still chosen.
    expect(page.locator("#customer-options input[name=customer]:checked")).to_have_count(1)
    expect(page.locator("#customer-options").get_by_text("Peter", exact=True)).to_be_visible()

    page.get_by_role("button", name="Add feedback", exact=True).click()
    expect(page).to_have_url(re.compile(r"/w/acme/discovery/$"))
    added = Feedback.objects.for_workspace(workspace).get(text="Wants an audit log export")
    assert added.customer.email == "peter@initech.test"
    assert console_errors == []
