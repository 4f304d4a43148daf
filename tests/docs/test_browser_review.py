"""Review in Chromium: a PM selects a sentence of a document and comments on it with an
@mention, sees the comment anchored (the sentence highlighted), resolves it and sees it fold
away; the reviewer approves and the document is approved."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from docs import review
from docs.models import Comment, Document, Mention
from docs.services import document_create, document_set_status
from pmhub.workspaces.roles import Role
from tests.factories import PASSWORD, MembershipFactory, UserFactory, WorkspaceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SENTENCE = "Returning customers check out with one click."
BODY = f"""## Problem

Checkout takes five steps and a third of carts are abandoned at the payment form.

## Proposal

{SENTENCE}

- Saved cards, tokenised by the payment provider
- A confirmation screen instead of the order form
"""


@pytest.fixture
def document():
    workspace = WorkspaceFactory(name="Acme", slug="acme")
    pm = UserFactory(email="pm@acme.test", name="Pat Manager")
    MembershipFactory(user=pm, workspace=workspace, role=Role.EDITOR)
    rae = UserFactory(email="rae@acme.test", name="Rae Reviewer")
    MembershipFactory(user=rae, workspace=workspace, role=Role.EDITOR)
    dana = UserFactory(email="dana@acme.test", name="Dana Scully")
    MembershipFactory(user=dana, workspace=workspace, role=Role.VIEWER)
    document = document_create(
        workspace=workspace, actor=pm, kind="prd", title="One-click checkout", body=BODY
    )
    review.reviewer_add(workspace=workspace, actor=pm, document=document, user=rae)
    document_set_status(
        workspace=workspace, actor=pm, document=document, status=Document.Status.IN_REVIEW
    )
    return document


def _log_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def _shoot(page: Page, screenshots, name: str) -> None:
    page.screenshot(path=screenshots / f"{name}-light.png", full_page=True, animations="disabled")
    page.emulate_media(color_scheme="dark")
    page.screenshot(path=screenshots / f"{name}-dark.png", full_page=True, animations="disabled")
    page.emulate_media(color_scheme="light")


def test_comment_on_a_sentence_resolve_it_and_approve(
    live_server, page: Page, browser, document, screenshots, console_errors
):
    base = live_server.url
    url = f"{base}/w/acme/docs/{document.id}/"
    _log_in(page, base, "pm@acme.test")
    page.goto(url)
    panel = page.locator("#review")
    expect(panel.get_by_role("heading", name="Reviewers")).to_be_visible()
    expect(panel.locator(".reviewer")).to_contain_text("Rae Reviewer")
    expect(panel.locator(".reviewer")).to_contain_text("Waiting")

    # Select the sentence: the "Comment" button offers to comment on it.
    page.locator(".doc-body p", has_text=SENTENCE).click(click_count=3)
    offer = page.locator("[data-review-select]")
    expect(offer).to_be_visible()
    _shoot(page, screenshots, "docs-review-select")
    offer.click()
    expect(panel.locator("[data-quote-text]")).to_have_text(SENTENCE)
    box = panel.get_by_label("Comment", exact=True)
    expect(box).to_be_focused()
    box.press_sequentially("@Da")
    suggestion = panel.get_by_role("listbox", name="Members to mention").get_by_role("option")
    expect(suggestion).to_have_text(["Dana Scullydana@acme.test"])
    _shoot(page, screenshots, "docs-review-mention")
    box.press("Enter")
    expect(box).to_have_value("@Dana Scully ")
    box.press_sequentially("does this hold for **guest** checkout?")
    box.press("Control+Enter")

    thread = panel.locator(".comment-thread").first
    expect(thread).to_contain_text("does this hold for guest checkout?")
    expect(thread.locator("strong")).to_have_text("guest")
    expect(thread.locator(".mention")).to_have_text("@Dana Scully")
    expect(thread.locator(".comment__quote")).to_have_text(SENTENCE)
    mark = page.locator(".doc-body mark.doc-quote")
    expect(mark).to_have_text(SENTENCE)
    comment = Comment.objects.get()
    assert comment.quote == SENTENCE
    assert list(Mention.objects.values_list("user__email", flat=True)) == ["dana@acme.test"]
    _shoot(page, screenshots, "docs-review-anchored")

    # A reply, then resolve: the thread folds into "1 resolved" and the highlight goes.
    thread.locator("summary", has_text="Reply").click()
    thread.get_by_label("Reply").fill("Guests get it in phase two.")
    thread.locator(".comment-form--reply button[type=submit]").click()
    expect(panel.locator(".comment-replies")).to_contain_text("Guests get it in phase two.")
    panel.locator(".comment-thread").first.get_by_role("button", name="Resolve").click()
    resolved = panel.locator("details.comment-resolved")
    expect(resolved.locator("summary")).to_have_text("1 resolved")
    expect(resolved.locator(".comment-thread")).to_be_hidden()
    expect(page.locator(".doc-body mark.doc-quote")).to_have_count(0)
    resolved.locator("summary").click()
    expect(resolved.locator(".comment-thread")).to_be_visible()
    _shoot(page, screenshots, "docs-review-resolved")

    # The reviewer approves: every reviewer approved, the document is approved.
    context = browser.new_context(viewport=page.viewport_size)
    reviewer = context.new_page()
    reviewer.on("pageerror", lambda exc: console_errors.append(str(exc)))
    _log_in(reviewer, base, "rae@acme.test")
    # The link of the mention email opens the comment, resolved and folded as it is.
    reviewer.goto(f"{url}#comment-{comment.id}")
    rpanel = reviewer.locator("#review")
    expect(rpanel.locator("details.comment-resolved")).to_have_attribute("open", "")
    expect(rpanel.locator(f"#comment-{comment.id}")).to_be_in_viewport()
    rpanel.get_by_label("Your review").fill("Ship it once guests are planned.")
    rpanel.get_by_role("button", name="Approve").click()
    expect(reviewer.locator(".reviewer")).to_contain_text("Approved")
    expect(reviewer.locator(".reviewer__note")).to_contain_text("Ship it once guests are planned.")
    assert Document.objects.get(id=document.id).status == Document.Status.APPROVED
    _shoot(reviewer, screenshots, "docs-review-approved")
    context.close()
    assert console_errors == []


def test_the_item_page_lists_its_decision_records(live_server, page: Page, screenshots):
    from backlog import services as backlog
    from docs.services import document_link_add, document_update_details

    workspace = WorkspaceFactory(name="Acme", slug="acme")
    pm = UserFactory(email="pm@acme.test", name="Pat Manager")
    MembershipFactory(user=pm, workspace=workspace, role=Role.EDITOR)
    item = backlog.item_create(workspace=workspace, actor=pm, title="Offline mode")
    old = document_create(workspace=workspace, actor=pm, kind="decision", title="Store in SQLite")
    document_link_add(workspace=workspace, document=old, item_id=item.id)
    new = document_create(
        workspace=workspace, actor=pm, kind="decision", title="Sync with CRDTs",
        body=f"We sync [[item:{item.id}]] with CRDTs.",
    )  # fmt: skip
    document_update_details(workspace=workspace, document=new, decision_status="accepted")
    document_update_details(
        workspace=workspace, document=old, decision_status="superseded", superseded_by=new
    )

    base = live_server.url
    _log_in(page, base, "pm@acme.test")
    page.goto(f"{base}/w/acme/backlog/items/{item.id}/")
    decisions = page.locator("#decisions")
    expect(decisions.locator("li")).to_have_count(2)
    expect(decisions).to_contain_text("Superseded by Sync with CRDTs")
    expect(decisions).to_contain_text("Accepted")
    decisions.scroll_into_view_if_needed()
    _shoot(page, screenshots, "item-decisions")
    decisions.get_by_role("link", name="Store in SQLite").click()
    expect(page.get_by_role("heading", name="Store in SQLite").first).to_be_visible()
