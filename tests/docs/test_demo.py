"""The demo workspace's documents: written once over the demo data, citing it live."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from backlog.demo import demo_backlog_create
from discovery.demo import demo_discovery_create
from docs.changelog import public_changelog_get
from docs.demo import DECISION_TITLE, PRD_TITLE, UPDATE_TITLE, demo_docs_create
from docs.models import Changelog, Document, DocumentLink, DocumentTemplate, Reference, Revision
from docs.references import document_html
from roadmap.demo import demo_roadmap_create

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


@pytest.fixture
def demo(workspace, admin):
    demo_discovery_create(workspace=workspace, actor=admin, now=NOW)
    demo_backlog_create(workspace=workspace, actor=admin)
    demo_roadmap_create(workspace=workspace, actor=admin)
    return workspace


def test_the_demo_documents_are_written_once(demo, admin):
    assert demo_docs_create(workspace=demo, actor=admin) is True
    count = Document.objects.for_workspace(demo).count()
    assert demo_docs_create(workspace=demo, actor=admin) is False
    assert Document.objects.for_workspace(demo).count() == count == 4
    assert set(
        DocumentTemplate.objects.for_workspace(demo)
        .filter(is_default=True)
        .values_list("kind", flat=True)
    ) == set(Document.Kind.values)


def test_the_prd_cites_real_items_insights_and_highlights_live(demo, admin):
    demo_docs_create(workspace=demo, actor=admin)
    prd = Document.objects.for_workspace(demo).get(title=PRD_TITLE)

    targets = set(
        Reference.objects.for_workspace(demo).filter(document=prd).values_list("target", "title")
    )
    assert {kind for kind, _ in targets} == {"item", "insight", "highlight"}
    assert all(title for _, title in targets)  # every reference found its target
    html = str(document_html(workspace=demo, body=prd.body))
    assert "not found" not in html
    assert "ref--highlight" in html
    assert "Exports that keep every field" in html
    assert "<table>" in html
    assert "md-task" in html
    assert prd.status == "in_review"
    assert Revision.objects.for_workspace(demo).filter(document=prd).count() == 2


def test_the_decision_is_accepted_and_linked_to_its_item(demo, admin):
    demo_docs_create(workspace=demo, actor=admin)
    decision = Document.objects.for_workspace(demo).get(title=DECISION_TITLE)

    assert decision.kind == "decision"
    assert decision.decision_status == "accepted"
    link = DocumentLink.objects.for_workspace(demo).get(document=decision)
    assert link.item.title == "SAML single sign-on"
    assert Document.objects.for_workspace(demo).filter(title=UPDATE_TITLE, kind="update").exists()


def test_the_shipped_releases_notes_are_on_the_public_changelog(demo, admin):
    demo_docs_create(workspace=demo, actor=admin)
    notes = Document.objects.for_workspace(demo).get(kind="release_notes")

    assert notes.status == "published"
    assert notes.release.name == "2026.11 — Accents"
    assert Changelog.objects.for_workspace(demo).get().is_public
    changelog = public_changelog_get(slug=demo.slug)
    assert [entry.title for entry in changelog.entries] == [notes.title]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_demo_prd_reads_well_in_the_browser(live_server, page, workspace, screenshots):
    from django.urls import reverse
    from playwright.sync_api import expect

    from tests.backlog.browser_support import shoot
    from tests.factories import PASSWORD, MembershipFactory

    pm = MembershipFactory(workspace=workspace, role="admin", user__email="pm@acme.test").user
    demo_discovery_create(workspace=workspace, actor=pm, now=NOW)
    demo_backlog_create(workspace=workspace, actor=pm)
    demo_roadmap_create(workspace=workspace, actor=pm)
    demo_docs_create(workspace=workspace, actor=pm)
    prd = Document.objects.for_workspace(workspace).get(title=PRD_TITLE)

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("pm@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    page.goto(
        live_server.url
        + reverse(
            "docs:document-detail",
            kwargs={"workspace_slug": workspace.slug, "document_id": prd.id},
        )
    )

    expect(page.get_by_role("heading", name="Problem")).to_be_visible()
    expect(page.locator(".ref--highlight").first).to_be_visible()
    expect(page.locator(".ref--insight").first).to_be_visible()
    expect(page.locator("table").first).to_be_visible()
    assert page.locator(".ref--missing").count() == 0
    shoot(page, screenshots, "docs-demo-prd")
    page.goto(f"{live_server.url}/changelog/{workspace.slug}/")
    expect(page.get_by_text("Release notes: 2026.11 — Accents")).to_be_visible()
    shoot(page, screenshots, "docs-demo-changelog")
