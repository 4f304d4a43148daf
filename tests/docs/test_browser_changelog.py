"""A PM writes a release's notes from its shipped items, has them approved, publishes them and
turns the public changelog on; a customer (not logged in) reads them, and their feed, in
Chromium. Stored XSS in a published note stays inert there."""

from __future__ import annotations

import datetime
import xml.etree.ElementTree as ET  # noqa: S405 (our own feed, parsed in a test)

import pytest
from playwright.sync_api import Browser, Page, expect

from backlog import services as backlog
from discovery.services import insight_create
from docs import services as docs
from pmhub.workspaces.roles import Role
from roadmap import releases
from roadmap.services import item_schedule_set
from tests.backlog.browser_support import log_in, shoot
from tests.docs.test_changelog import XSS
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def release():
    """A release with two shipped items (one answering an insight), one still in progress."""
    workspace = WorkspaceFactory(name="Acme", slug="acme")
    user = UserFactory(email="pm@acme.test", name="Pat Manager")
    MembershipFactory(user=user, workspace=workspace, role=Role.ADMIN)
    release = releases.release_create(
        workspace=workspace,
        actor=user,
        name="Winter 2026",
        target_date=datetime.date(2026, 12, 15),
        status="released",
    )
    reports = backlog.product_area_create(workspace=workspace, actor=user, name="Reports")
    for title, status, area, description in (
        ("CSV export", "shipped", reports, "Export any view to CSV. Large ones by email."),
        ("Faster search", "shipped", None, "Results in under 100 ms."),
        ("Secret SSO project", "in_progress", None, "Internal: Okta deal for BigCo."),
    ):
        item = backlog.item_create(
            workspace=workspace,
            actor=user,
            title=title,
            description=description,
            area_id=area.id if area else None,
        )
        item_schedule_set(workspace=workspace, actor=user, item=item, release_id=release.id)
        backlog.item_set_status(workspace=workspace, actor=user, item=item, status=status)
        if title == "CSV export":
            insight = insight_create(workspace=workspace, actor=user, title="Exports time out")
            backlog.item_link_evidence(
                workspace=workspace, actor=user, item=item, insight_id=insight.id
            )
    return release


def test_release_notes_go_from_release_to_public_changelog(
    live_server, page: Page, browser: Browser, release, screenshots, console_errors
):
    base = live_server.url
    log_in(page, base)

    # The release page writes the draft and opens it.
    page.goto(f"{base}/w/acme/roadmap/releases/{release.id}/")
    page.get_by_role("button", name="Write release notes").click()
    expect(page.get_by_role("heading", name="Release notes: Winter 2026", level=1)).to_be_visible()
    body = page.locator(".doc-body")
    expect(body).to_contain_text("CSV export")
    expect(body).to_contain_text("Export any view to CSV.")
    expect(body).to_contain_text("Exports time out")
    expect(body).not_to_contain_text("Secret SSO project")
    shoot(page, screenshots, "release-notes-draft")

    # Through review to published, with the document page's status buttons.
    for button in ("Submit for review", "Approve", "Publish"):
        page.get_by_role("button", name=button, exact=True).click()
        page.wait_for_load_state()
    notes = docs.Document.objects.get(kind="release_notes")
    assert notes.status == "published"
    assert docs.DocumentEvent.objects.filter(document=notes, kind="published").count() == 1

    # The admin turns the public changelog on.
    page.goto(f"{base}/w/acme/docs/changelog/")
    expect(page.locator("[data-changelog-state]")).to_have_attribute("data-changelog-state", "off")
    page.get_by_label("Publish a public changelog").check()
    page.get_by_label("Title").fill("Acme product updates")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("[data-changelog-state]")).to_have_attribute("data-changelog-state", "on")
    shoot(page, screenshots, "changelog-settings")

    # A draft for another release must not show.
    other = releases.release_create(workspace=release.workspace, actor=None, name="Spring 2027")
    docs.document_create(
        workspace=release.workspace, actor=None, kind="release_notes",
        title="Draft spring notes", body="Unannounced", release_id=other.id,
    )  # fmt: skip

    # A customer, not logged in.
    customer = browser.new_context()
    public = customer.new_page()
    dialogs: list[str] = []
    public.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    public.goto(f"{base}/changelog/acme/")
    expect(public.get_by_role("heading", name="Acme product updates")).to_be_visible()
    entry = public.locator(".changelog-entry")
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text("Release notes: Winter 2026")
    expect(entry).to_contain_text("Winter 2026")
    expect(entry).to_contain_text("CSV export")
    expect(entry).to_contain_text("Exports time out")
    html = public.content()
    for hidden in ("Secret SSO", "Draft spring notes", "Unannounced", "pm@acme.test", "Pat"):
        assert hidden not in html, hidden
    hrefs = public.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert not [h for h in hrefs if "/w/" in h or "/accounts/" in h]
    shoot(public, screenshots, "changelog-public")

    public.get_by_role("link", name="Release notes: Winter 2026").click()
    expect(public).to_have_url(f"{base}/changelog/acme/{notes.id}/")
    public.emulate_media(media="print")
    expect(public.locator(".changelog-head__links")).to_be_hidden()
    public.screenshot(path=screenshots / "changelog-entry-print.png", full_page=True)
    public.emulate_media(media="screen")
    public.set_viewport_size({"width": 390, "height": 844})
    shoot(public, screenshots, "changelog-entry-phone")

    feed = ET.fromstring(customer.request.get(f"{base}/changelog/acme/feed.atom").body())  # noqa: S314
    assert [e.find(f"{ATOM}title").text for e in feed.findall(f"{ATOM}entry")] == [
        "Release notes: Winter 2026"
    ]

    # Stored XSS in a published note: shown as text, nothing runs.
    docs.document_save(
        workspace=release.workspace, actor=None, document=notes, base_version=notes.version,
        title=notes.title, body="\n\n".join(["Careful:", *XSS]),
    )  # fmt: skip
    public.goto(f"{base}/changelog/acme/")
    expect(public.locator(".changelog-entry")).to_contain_text("<script>alert('xss-script')")
    public.wait_for_timeout(300)
    assert dialogs == []
    assert public.locator(".changelog-entry script, .changelog-entry img").count() == 0
    shoot(public, screenshots, "changelog-xss-inert")
    customer.close()
    assert console_errors == []
