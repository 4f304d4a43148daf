"""A PM decides the model's suggestions from the keyboard, writes a rule with its live preview,
and reads the tagging page, in Chromium."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from discovery import services
from discovery.models import Classifier, Tagging, TagRule, TagSuggestion
from discovery.services import FeedbackInput
from pmhub.workspaces.roles import Role
from tests.factories import PASSWORD, MembershipFactory, UserFactory, WorkspaceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def desk():
    """Three tags, four new items: two with the model's suggestions, one tagged by a rule and by
    the model, one plain; and a trained model with its quality figures."""
    workspace = WorkspaceFactory(name="Acme", slug="acme")
    user = UserFactory(email="pm@acme.test", name="Pat Manager")
    MembershipFactory(user=user, workspace=workspace, role=Role.EDITOR)
    billing = services.tag_create(workspace=workspace, actor=None, name="Billing", color="#d9480f")
    speed = services.tag_create(workspace=workspace, actor=None, name="Speed", color="#2b8a3e")
    ux = services.tag_create(workspace=workspace, actor=None, name="UX", color="#1c7ed6")
    now = timezone.now()
    texts = [
        "The invoice PDF shows last month's VAT rate and the layout is confusing",
        "Dashboards take ten seconds to load on Monday mornings",
        "Exporting the invoice list to CSV times out",
        "Please add SSO with Okta",
    ]
    items = [
        services.feedback_create(
            workspace=workspace,
            actor=None,
            data=FeedbackInput(text=text, source="support", received_at=now - timedelta(hours=i)),
        )
        for i, text in enumerate(texts)
    ]

    def suggest(item, tag, confidence):
        return TagSuggestion.objects.create(
            workspace=workspace, tag=tag, feedback=item, confidence=confidence, model_version=3
        )

    suggest(items[0], billing, 0.64)
    suggest(items[0], ux, 0.41)
    suggest(items[1], speed, 0.58)
    Tagging.objects.create(workspace=workspace, tag=billing, feedback=items[2], origin="rule")
    Tagging.objects.create(
        workspace=workspace, tag=speed, feedback=items[2], origin="model", confidence=0.87
    )
    Tagging.objects.create(workspace=workspace, tag=ux, feedback=items[3], origin="person")
    Classifier.objects.create(
        workspace=workspace,
        version=3,
        status=Classifier.Status.READY,
        label_count=64,
        tag_count=3,
        train_seconds=2.4,
        trained_at=now - timedelta(hours=2),
        metrics={
            str(billing.id): {"precision": 0.93, "recall": 0.84, "support": 31},
            str(speed.id): {"precision": 0.78, "recall": 0.66, "support": 18},
            str(ux.id): {"precision": 0.6, "recall": 0.5, "support": 4},
            "_overall": {"precision": 0.86, "recall": 0.74, "support": 53, "abstain_rate": 0.09},
        },
    )
    return workspace, items, {"billing": billing, "speed": speed, "ux": ux}


@pytest.fixture
def console_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on(
        "console",
        lambda msg: errors.append(f"{msg.text} {msg.location}") if msg.type == "error" else None,
    )
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def _log_in(page: Page, base: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill("pm@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_pm_accepts_and_rejects_suggestions_with_the_keyboard(
    live_server, page: Page, desk, screenshots, console_errors
):
    workspace, items, tags = desk
    base = live_server.url
    page.set_viewport_size({"width": 1280, "height": 860})
    _log_in(page, base)
    expect(page).to_have_url(f"{base}/w/acme/discovery/")
    rows = page.locator("[data-row]")
    expect(rows).to_have_count(4)
    expect(rows.nth(0).locator("[data-suggestion]")).to_have_count(2)
    expect(rows.nth(2).locator('[data-origin="model"]')).to_contain_text("87%")
    page.screenshot(path=screenshots / "inbox-suggestions-light.png", full_page=True)

    # j picks up the first row; y accepts its likeliest suggestion (Billing, 64%).
    page.keyboard.press("j")
    expect(rows.nth(0)).to_be_focused()
    page.keyboard.press("y")
    expect(rows.nth(0).locator("[data-suggestion]")).to_have_count(1)
    expect(rows.nth(0).locator('[data-origin="person"]')).to_contain_text("Billing")
    expect(page.get_by_role("status").filter(has_text="Tagged Billing.")).to_be_visible()
    # One suggestion is left on the row, so the focus stays there; n rejects it (UX).
    expect(rows.nth(0)).to_be_focused()
    page.keyboard.press("n")
    expect(rows.nth(0).locator("[data-suggestion]")).to_have_count(0)
    # Nothing left to decide on that row: the focus moves on to the next one.
    expect(rows.nth(1)).to_be_focused()
    page.screenshot(path=screenshots / "inbox-suggestions-decided.png", full_page=True)

    decided = dict(
        TagSuggestion.objects.for_workspace(workspace)
        .filter(feedback=items[0])
        .values_list("tag__name", "status")
    )
    assert decided == {"Billing": "accepted", "UX": "rejected"}
    person = Tagging.objects.for_workspace(workspace).get(feedback=items[0])
    assert (person.tag_id, person.origin) == (tags["billing"].id, "person")

    # 0 on the second row: no tag fits; its suggestion is turned down.
    page.keyboard.press("0")
    expect(rows.nth(1).locator("[data-no-tag-fits-badge]")).to_be_visible()
    expect(rows.nth(1).locator("[data-suggestion]")).to_have_count(0)
    items[1].refresh_from_db()
    assert items[1].no_tag_fits is True

    # The mouse works too: the filter shows only what still waits for a decision.
    page.get_by_label("Has suggestions").check()
    page.get_by_role("button", name="Filter", exact=True).click()
    expect(page.get_by_role("heading", name="Nothing matches these filters")).to_be_visible()
    page.emulate_media(color_scheme="dark")
    page.goto(f"{base}/w/acme/discovery/?status=all")
    page.screenshot(path=screenshots / "inbox-suggestions-dark.png", full_page=True)
    assert console_errors == []


def test_pm_writes_a_rule_with_its_preview_and_reads_the_tagging_page(
    live_server, page: Page, desk, screenshots, console_errors
):
    workspace, _items, tags = desk
    base = live_server.url
    page.set_viewport_size({"width": 1280, "height": 900})
    _log_in(page, base)
    page.goto(f"{base}/w/acme/discovery/tags/{tags['billing'].id}/")

    pattern = page.get_by_label("Pattern")
    pattern.fill("invoice")
    preview = page.locator("#rule-preview")
    expect(preview).to_contain_text("Would tag 2 existing items")
    expect(preview.locator("mark").first).to_have_text("invoice")

    page.get_by_label("Match").select_option("regex")
    pattern.fill("(?=invoice)")
    expect(preview.get_by_role("alert")).to_contain_text("Not a pattern pmhub can run")
    page.screenshot(path=screenshots / "tag-rule-refused.png", full_page=True)
    page.get_by_role("button", name="Save rule").click()
    expect(page.locator("#tag-rules .errorlist")).to_contain_text("Not a pattern pmhub can run")
    assert not TagRule.objects.for_workspace(workspace).exists()

    # htmx wires up swapped-in elements when the swap settles, a moment after they appear;
    # typing before that would go unheard (a person is never that fast).
    page.wait_for_function(
        "() => Boolean(document.querySelector('#rule-fields')['htmx-internal-data'])"
    )
    page.get_by_label("Pattern").fill(r"invoices?\b")
    expect(page.locator("#rule-preview")).to_contain_text("Would tag 2 existing items")
    page.screenshot(path=screenshots / "tag-rule-preview.png", full_page=True)
    page.get_by_role("button", name="Save rule").click()
    expect(page.get_by_role("button", name="Re-tag now")).to_be_visible()
    expect(page.locator(".rule__pattern")).to_have_text(r"invoices?\b")
    assert TagRule.objects.for_workspace(workspace).get().pattern == r"invoices?\b"
    page.screenshot(path=screenshots / "tag-rule-saved.png", full_page=True)

    page.get_by_role("link", name="Tagging", exact=True).click()
    expect(page.get_by_role("heading", name="Quality by tag")).to_be_visible()
    expect(page.get_by_text("Trust: high")).to_be_visible()
    expect(page.get_by_text("Needs more examples")).to_be_visible()
    page.screenshot(path=screenshots / "tagging-light.png", full_page=True)
    page.emulate_media(color_scheme="dark")
    page.screenshot(path=screenshots / "tagging-dark.png", full_page=True)

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Re-tag everything").click()
    expect(page.get_by_role("heading", name="The whole workspace")).to_be_visible()
    page.screenshot(path=screenshots / "tagging-retag.png", full_page=True)
    assert console_errors == []


def _wait_for_htmx(page: Page, selector: str) -> None:
    # htmx wires up swapped-in elements when the swap settles, a moment after they appear.
    page.wait_for_function(
        "(selector) => Boolean(document.querySelector(selector)?.['htmx-internal-data'])",
        arg=selector,
    )


def test_pm_edits_a_rule_in_its_row_with_the_preview(
    live_server, page: Page, desk, screenshots, console_errors
):
    workspace, _items, tags = desk
    from discovery.tag_rules import rule_create

    rule = rule_create(
        workspace=workspace, actor=None, tag=tags["billing"], kind="keyword", pattern="vat"
    )
    base = live_server.url
    page.set_viewport_size({"width": 1280, "height": 900})
    _log_in(page, base)
    page.goto(f"{base}/w/acme/discovery/tags/{tags['billing'].id}/")

    row = page.locator(f"#rule-{rule.id}")
    row.hover()
    row.get_by_role("link", name="Edit rule vat").click()
    editor = page.locator(f"#rule-{rule.id} form.rule-edit")
    pattern = editor.get_by_label("Pattern")
    expect(pattern).to_be_focused()
    expect(pattern).to_have_value("vat")
    # The row previews its rule as it stands at once.
    preview = page.locator(f"#rule-{rule.id}-preview")
    expect(preview).to_contain_text("Would tag 1 existing item")
    _wait_for_htmx(page, f"#rule-{rule.id}-fields")

    # Escape gives the row back as it was, focus on its Edit button.
    pattern.press("Escape")
    expect(page.locator(f"#rule-{rule.id} form.rule-edit")).to_have_count(0)
    expect(row.get_by_role("link", name="Edit rule vat")).to_be_focused()

    page.keyboard.press("Enter")
    expect(pattern).to_be_focused()
    _wait_for_htmx(page, f"#rule-{rule.id}-fields")
    editor.get_by_label("Match").select_option("regex")
    pattern.fill("(?<=the )invoice")
    expect(preview.get_by_role("alert")).to_contain_text("Not a pattern pmhub can run")
    editor.get_by_role("button", name="Save changes").click()
    expect(page.locator(f"#rule-{rule.id}-pattern-errors .errorlist")).to_contain_text(
        "Not a pattern pmhub can run"
    )
    page.screenshot(path=screenshots / "tag-rule-edit-refused.png", full_page=True)
    assert TagRule.objects.for_workspace(workspace).get().pattern == "vat"

    _wait_for_htmx(page, f"#rule-{rule.id}-fields")
    pattern.fill(r"invoices?\b")
    expect(preview).to_contain_text("Would tag 2 existing items")
    page.screenshot(path=screenshots / "tag-rule-edit-preview.png", full_page=True)
    editor.get_by_role("button", name="Save changes").click()
    expect(page.locator(f"#rule-{rule.id} .rule__pattern")).to_have_text(r"invoices?\b")
    expect(page.get_by_role("button", name="Re-tag now")).to_be_visible()
    saved = TagRule.objects.for_workspace(workspace).get()
    assert (saved.kind, saved.pattern) == ("regex", r"invoices?\b")

    # Someone deletes the rule while it is open here: saving says so.
    page.get_by_role("link", name=r"Edit rule invoices?\b").click()
    _wait_for_htmx(page, f"#rule-{rule.id}-fields")
    # The opened row's own preview must have answered first: arriving after the 404 took the row
    # away, its out-of-band error reset would find no target (a console error, not the page's).
    expect(preview).to_contain_text("Would tag 2 existing items")
    TagRule.objects.for_workspace(workspace).filter(id=rule.id).delete()
    page.locator(f"#rule-{rule.id} form.rule-edit").get_by_role(
        "button", name="Save changes"
    ).click()
    expect(page.locator("[data-rules-error]")).to_contain_text("This rule no longer exists")
    expect(page.locator(f"#rule-{rule.id}")).to_have_count(0)
    page.emulate_media(color_scheme="dark")
    page.screenshot(path=screenshots / "tag-rule-edit-gone-dark.png", full_page=True)
    # The 404 is the page's answer, not a failure the console reports... except the browser's
    # own line for any 404 response.
    assert [e for e in console_errors if "404" not in e] == []


def test_pm_finds_possible_duplicates_and_decides_suggestions_on_the_items_page(
    live_server, page: Page, desk, screenshots, console_errors
):
    workspace, items, tags = desk
    from discovery.models import Feedback

    # The worker flagged the newest item as repeating the invoice export one.
    Feedback.objects.for_workspace(workspace).filter(id=items[0].id).update(duplicate_of=items[2])
    base = live_server.url
    page.set_viewport_size({"width": 1280, "height": 860})
    _log_in(page, base)
    rows = page.locator("[data-row]")
    expect(rows).to_have_count(4)
    expect(page.locator("[data-duplicate-badge]")).to_have_count(1)
    expect(rows.nth(0).locator("[data-duplicate-badge]")).to_have_text(
        f"Duplicate? Possibly repeats #{items[2].id}"
    )

    page.get_by_label("Possible duplicates").check()
    page.get_by_role("button", name="Filter", exact=True).click()
    expect(rows).to_have_count(1)
    expect(page.get_by_label("Possible duplicates")).to_be_checked()
    page.screenshot(path=screenshots / "inbox-possible-duplicates.png", full_page=True)

    rows.nth(0).locator("[data-duplicate-badge]").click()
    expect(page).to_have_url(f"{base}/w/acme/discovery/feedback/{items[0].id}/")
    expect(page.get_by_text(f"Possible duplicate of #{items[2].id}")).to_be_visible()
    suggestions = page.locator("[data-suggestions] [data-suggestion]")
    expect(suggestions).to_have_count(2)
    expect(suggestions.nth(0)).to_contain_text("Billing64%")
    page.screenshot(path=screenshots / "feedback-suggestions-light.png", full_page=True)

    page.get_by_role("button", name="Accept Billing").click()
    expect(page).to_have_url(f"{base}/w/acme/discovery/feedback/{items[0].id}/")
    expect(page.get_by_role("status").filter(has_text="Tagged Billing.")).to_be_visible()
    expect(page.locator('[data-tags] [data-origin="person"]')).to_have_text("Billing")
    page.get_by_role("button", name="Reject UX").click()
    expect(page.locator("[data-suggestion]")).to_have_count(0)
    decided = dict(
        TagSuggestion.objects.for_workspace(workspace)
        .filter(feedback=items[0])
        .values_list("tag__name", "status")
    )
    assert decided == {"Billing": "accepted", "UX": "rejected"}

    # The other item: tagged by a rule and by the model, each chip saying so.
    page.goto(f"{base}/w/acme/discovery/feedback/{items[2].id}/")
    expect(page.locator('[data-tags] [data-origin="rule"]')).to_contain_text("Billing")
    expect(page.locator('[data-tags] [data-origin="model"]')).to_contain_text("Speed87%")
    page.get_by_role("button", name="No tag fits").click()
    expect(page.locator("[data-no-tag-fits-badge]")).to_be_visible()
    page.emulate_media(color_scheme="dark")
    page.screenshot(path=screenshots / "feedback-origins-dark.png", full_page=True)
    assert console_errors == []
