"""A PM writes a PRD in Chromium: from the shipped template, a `[[` reference chosen from the
autocomplete, seen in the live preview, saved with Ctrl-S, then the history and the diff."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from backlog import services as backlog
from docs import services
from docs.models import Document, DocumentTemplate, Revision
from pmhub.workspaces.roles import Role
from tests.backlog.browser_support import log_in, shoot
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def desk():
    workspace = WorkspaceFactory(name="Acme", slug="acme")
    user = UserFactory(email="pm@acme.test", name="Pat Manager")
    MembershipFactory(user=user, workspace=workspace, role=Role.EDITOR)
    item = backlog.item_create(workspace=workspace, actor=user, title="SSO with Okta")
    backlog.item_create(workspace=workspace, actor=user, title="Audit log export")
    return workspace, item


def test_pm_writes_a_prd_with_a_live_reference_and_reads_its_diff(
    live_server, page: Page, desk, screenshots, console_errors
):
    workspace, item = desk
    base = live_server.url
    log_in(page, base)
    page.goto(f"{base}/w/acme/docs/")
    expect(page.get_by_role("heading", name="Write it down next to the evidence")).to_be_visible()
    shoot(page, screenshots, "docs-empty")

    page.locator(".topbar__actions").get_by_role("link", name="New document").click()
    expect(page.get_by_label("PRD")).to_be_checked()
    expect(page.get_by_label("Start from")).to_contain_text("PRD")
    page.get_by_label("Decision record").check()
    expect(page.get_by_label("Start from")).to_have_value(
        str(
            DocumentTemplate.objects.for_workspace(workspace)
            .get(kind="decision", is_default=True)
            .id
        )
    )
    page.get_by_label("PRD").check()
    page.get_by_label("Title").fill("Enterprise SSO")
    shoot(page, screenshots, "docs-new")
    page.get_by_role("button", name="Create and edit").click()

    expect(page).to_have_url(re.compile(r"/docs/\d+/edit/$"))
    body = page.get_by_label("Body (Markdown)")
    template_text = body.input_value()
    assert template_text  # the shipped PRD template
    body.focus()
    page.keyboard.press("Control+End")
    page.keyboard.type("\n\n## Evidence\n\nAdmins asked for [[SSO")
    option = page.get_by_role("option", name=re.compile("SSO with Okta"))
    expect(option).to_be_visible()
    expect(option).to_have_attribute("aria-selected", "true")
    page.screenshot(path=screenshots / "docs-autocomplete-light.png", animations="disabled")
    page.keyboard.press("Enter")
    expect(body).to_have_value(re.compile(re.escape(f"[[item:{item.id}]]") + r"$"))
    page.keyboard.type(" first.\n\n- [ ] Okta app\n- [x] SAML metadata")
    preview = page.locator("[data-preview]")
    expect(preview.locator(".ref--item")).to_contain_text("SSO with Okta")
    expect(preview.locator(".md-task--done")).to_contain_text("SAML metadata")
    page.get_by_label("What changed").fill("Evidence: SSO")
    body.focus()
    shoot(page, screenshots, "docs-editor")

    page.keyboard.press("Control+s")
    expect(page).to_have_url(re.compile(r"/docs/\d+/$"))
    document = Document.objects.for_workspace(workspace).get()
    assert document.version == 2
    assert f"[[item:{item.id}]]" in document.body
    article = page.locator(".doc-body")
    expect(article.locator(".ref--item")).to_contain_text("SSO with Okta")
    expect(page.locator(".doc-refs")).to_contain_text("SSO with Okta")
    shoot(page, screenshots, "docs-document")
    page.emulate_media(media="print")
    page.screenshot(path=screenshots / "docs-document-print.png", full_page=True)
    expect(page.locator(".doc-side")).to_be_hidden()
    page.emulate_media(media="screen")

    page.get_by_role("link", name=re.compile("^History")).click()
    expect(page.get_by_role("cell", name="Evidence: SSO")).to_be_visible()
    shoot(page, screenshots, "docs-history")
    page.get_by_role("link", name="Changes").first.click()
    expect(page).to_have_url(re.compile(r"/history/1/diff/2/$"))
    added = page.locator(".doc-diff__row--add")
    expect(added.filter(has_text="Admins asked for")).to_have_count(1)
    assert Revision.objects.for_workspace(workspace).filter(document=document).count() == 2

    # A second edit changes one word: the diff marks the word inside the changed line.
    page.get_by_role("link", name="Edit").first.click()
    body = page.get_by_label("Body (Markdown)")
    body.fill(body.input_value().replace(" first.", " before renewal."))
    page.get_by_label("What changed").fill("Timing")
    page.keyboard.press("Control+s")
    expect(page).to_have_url(re.compile(r"/docs/\d+/$"))
    page.goto(f"{base}/w/acme/docs/{document.id}/history/2/diff/3/")
    expect(page.locator(".doc-diff__row--del del")).to_have_text(["first"])
    expect(page.locator(".doc-diff__row--add ins")).to_have_text(["before renewal"])
    shoot(page, screenshots, "docs-diff")

    page.goto(f"{base}/w/acme/docs/")
    expect(page.get_by_role("link", name="Enterprise SSO")).to_be_visible()
    page.keyboard.press("j")
    expect(page.get_by_role("link", name="Enterprise SSO")).to_be_focused()
    shoot(page, screenshots, "docs-list")
    page.get_by_role("link", name="Templates").click()
    expect(page.locator(".badge", has_text="Shipped")).to_have_count(6)
    shoot(page, screenshots, "docs-templates")
    assert console_errors == []


def test_a_save_over_a_newer_version_shows_the_conflict_and_keeps_my_text(
    live_server, page: Page, desk, screenshots, console_errors
):
    workspace, _item = desk
    pm = UserFactory(email="wen@acme.test", name="Wen Writer")
    MembershipFactory(user=pm, workspace=workspace, role=Role.EDITOR)
    document = services.document_create(
        workspace=workspace, actor=pm, kind="prd", title="Exports", body="# Exports\n\nCSV only."
    )
    base = live_server.url
    log_in(page, base)
    page.goto(f"{base}/w/acme/docs/{document.id}/edit/")
    body = page.get_by_label("Body (Markdown)")
    body.fill("# Exports\n\nCSV and **Parquet**.")
    # Meanwhile Wen saves first.
    services.document_save(
        workspace=workspace, actor=pm, document=document, base_version=1,
        title="Exports", body="# Exports\n\nCSV and S3.",
    )  # fmt: skip
    page.get_by_role("button", name="Save").first.click()

    expect(
        page.get_by_role("heading", name=re.compile("Not saved: version 2 came first"))
    ).to_be_visible()
    expect(page.locator(".doc-conflict")).to_contain_text("Wen Writer saved this document")
    expect(page.locator(".doc-conflict .doc-body")).to_contain_text("CSV and S3.")
    expect(body).to_have_value("# Exports\n\nCSV and **Parquet**.")
    shoot(page, screenshots, "docs-conflict")

    body.fill("# Exports\n\nCSV, S3 and **Parquet**.")
    page.keyboard.press("Control+s")
    expect(page).to_have_url(re.compile(rf"/docs/{document.id}/$"))
    document.refresh_from_db()
    assert (document.version, document.body) == (3, "# Exports\n\nCSV, S3 and **Parquet**.")
    # The refused save answers 409 on purpose; Chromium logs any error status.
    assert [e for e in console_errors if "status of 409" not in e] == []
