"""Release notes: the draft written from a release's shipped items (grouped by area, one line
each, the insights they answer cited live), opened again rather than written twice, in
constant queries; publishing as an event; the page that generates them."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from backlog import services as backlog
from discovery.services import insight_create
from docs import services as docs
from docs.models import Document, DocumentEvent, DocumentLink
from docs.release_notes import one_line, release_notes_draft
from pmhub.core.exceptions import ApplicationError
from roadmap import releases
from roadmap.services import item_schedule_set

pytestmark = pytest.mark.django_db

DEC_15 = datetime.date(2026, 12, 15)


def make_release(workspace, name="2026.12"):
    return releases.release_create(workspace=workspace, actor=None, name=name, target_date=DEC_15)


def shipped_item(workspace, release, title, *, area=None, description="", status="shipped"):
    item = backlog.item_create(
        workspace=workspace,
        actor=None,
        title=title,
        description=description,
        area_id=area.id if area is not None else None,
    )
    item_schedule_set(workspace=workspace, actor=None, item=item, release_id=release.id)
    if status != "new":
        backlog.item_set_status(workspace=workspace, actor=None, item=item, status=status)
    return item


def answers(workspace, item, title):
    insight = insight_create(workspace=workspace, actor=None, title=title)
    backlog.item_link_evidence(workspace=workspace, actor=None, item=item, insight_id=insight.id)
    return insight


def published_notes(workspace, actor, release):
    """Release notes generated, approved and published, the way people do it."""
    notes = release_notes_draft(workspace=workspace, actor=actor, release=release)
    for status in ("in_review", "approved", "published"):
        notes = docs.document_set_status(
            workspace=workspace, actor=actor, document=notes, status=status
        )
    return notes


# --- the one-line description ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("description", "expected"),
    [
        ("", ""),
        ("Export any view to CSV. Large ones arrive by email.", "Export any view to CSV."),
        ("\n\n## Why\nCustomers **need** it\nsecond line", "Why"),
        ("- [x] Done: [the spec](https://x.test/spec) is `ready`", "Done: the spec is ready"),
        ("Cites [[item:3]] inline", "Cites [ [item:3]] inline"),
        ("word " * 60, ("word " * 60)[:159].rstrip() + "…"),
    ],
    ids=["empty", "first_sentence", "first_line_plain", "markdown_stripped", "no_live_ref", "long"],
)
def test_one_line_is_plain_short_and_first(description, expected):
    assert one_line(description) == expected
    assert len(one_line(description)) <= 160


# --- the draft -----------------------------------------------------------------------------------
def test_draft_groups_shipped_items_by_area_with_the_insights_they_answer(workspace, member):
    release = make_release(workspace)
    reports = backlog.product_area_create(workspace=workspace, actor=None, name="Reports")
    billing = backlog.product_area_create(workspace=workspace, actor=None, name="Billing")
    csv = shipped_item(
        workspace, release, "CSV export", area=reports,
        description="Export any view to CSV. Large ones arrive by email.",
    )  # fmt: skip
    shipped_item(workspace, release, "Invoices in EUR", area=billing, description="Pay in euros")
    loose = shipped_item(workspace, release, "Faster search")
    shipped_item(workspace, release, "Not done yet", area=reports, status="in_progress")
    other_release = make_release(workspace, "2027.01")
    shipped_item(workspace, other_release, "Elsewhere", area=reports)
    timeouts = answers(workspace, csv, "Exports time out")
    big = answers(workspace, csv, "Big accounts need exports")
    speed = answers(workspace, loose, "Search is slow")

    notes = release_notes_draft(workspace=workspace, actor=member, release=release)

    assert (notes.kind, notes.status, notes.release_id, notes.title) == (
        "release_notes", "draft", release.id, "Release notes: 2026.12",
    )  # fmt: skip
    assert notes.body == (
        "## Billing\n"
        "\n"
        "- **Invoices in EUR**: Pay in euros\n"
        "\n"
        "## Reports\n"
        "\n"
        "- **CSV export**: Export any view to CSV.\\\n"
        f"  Answers: [[insight:{timeouts.id}]], [[insight:{big.id}]]\n"
        "\n"
        "## Other\n"
        "\n"
        "- **Faster search**\\\n"
        f"  Answers: [[insight:{speed.id}]]\n"
    )
    link = DocumentLink.objects.get(document=notes)
    assert (link.release_id, link.item_id, link.insight_id) == (release.id, None, None)
    # The insights are live references: kept as rows with their titles.
    assert sorted(notes.references.values_list("target", "title")) == [
        ("insight", "Big accounts need exports"),
        ("insight", "Exports time out"),
        ("insight", "Search is slow"),
    ]
    assert Document.objects.get(id=notes.id).version == 1


def test_item_titles_keep_their_markdown_marks_as_typed(workspace, member):
    release = make_release(workspace)
    shipped_item(workspace, release, "**Bold** <b>claims</b> [[item:1]]")

    notes = release_notes_draft(workspace=workspace, actor=member, release=release)

    assert "- **\\*\\*Bold\\*\\* \\<b\\>claims\\</b\\> \\[ \\[item:1\\]\\]**" in notes.body
    assert not notes.references.exists()


def test_generating_twice_opens_the_same_draft_unless_it_was_archived(workspace, member):
    release = make_release(workspace)
    shipped_item(workspace, release, "CSV export")

    first = release_notes_draft(workspace=workspace, actor=member, release=release)
    again = release_notes_draft(workspace=workspace, actor=member, release=release)
    docs.document_set_status(workspace=workspace, actor=member, document=first, status="archived")
    fresh = release_notes_draft(workspace=workspace, actor=member, release=release)

    assert again.id == first.id
    assert fresh.id != first.id
    assert Document.objects.filter(workspace=workspace, kind="release_notes").count() == 2


def test_an_empty_release_gets_a_draft_that_says_so(workspace, member):
    release = make_release(workspace)
    shipped_item(workspace, release, "Still planned", status="planned")

    notes = release_notes_draft(workspace=workspace, actor=member, release=release)

    assert notes.body.startswith("_No shipped items in this release yet._")
    assert "Still planned" not in notes.body


def test_a_release_of_another_workspace_is_refused(workspace, other_workspace, member):
    foreign = make_release(other_workspace)

    with pytest.raises(docs.DocumentGoneError):
        release_notes_draft(workspace=workspace, actor=member, release=foreign)
    assert not Document.objects.filter(kind="release_notes").exists()


def test_the_draft_is_written_in_constant_queries(workspace, member):
    def queries(n: int) -> int:
        release = make_release(workspace, f"R{n}")
        area = backlog.product_area_create(workspace=workspace, actor=None, name=f"Area {n}")
        for k in range(n):
            item = shipped_item(workspace, release, f"Item {n}.{k}", area=area if k % 2 else None)
            answers(workspace, item, f"Insight {n}.{k}")
        with CaptureQueriesContext(connection) as ctx:
            release_notes_draft(workspace=workspace, actor=member, release=release)
        return len(ctx.captured_queries)

    assert queries(2) == queries(8)


# --- publishing ----------------------------------------------------------------------------------
def test_publishing_needs_approval_and_is_an_event(workspace, member):
    release = make_release(workspace)
    notes = release_notes_draft(workspace=workspace, actor=member, release=release)

    with pytest.raises(ApplicationError) as refused:
        docs.document_set_status(
            workspace=workspace, actor=member, document=notes, status="published"
        )
    assert refused.value.message == "A document draft cannot become published."

    published = published_notes(workspace, member, release)

    assert published.id == notes.id
    assert published.status == "published"
    assert published.published_at is not None
    event = DocumentEvent.objects.get(document=notes, kind="published")
    assert (event.actor_id, event.on_version) == (member.id, 1)


# --- the page that generates them ----------------------------------------------------------------
def _new_url(workspace, release_id):
    return reverse(
        "docs:release-notes-new",
        kwargs={"workspace_slug": workspace.slug, "release_id": release_id},
    )


def test_generate_from_the_release_page_opens_the_draft(workspace, member, login):
    release = make_release(workspace)
    shipped_item(workspace, release, "CSV export")
    client = login(member)

    first = client.post(_new_url(workspace, release.id))
    second = client.post(_new_url(workspace, release.id))

    notes = Document.objects.get(kind="release_notes")
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert str(notes.id) in first["Location"] or first["Location"].endswith("/docs/")
    assert client.get(_new_url(workspace, release.id)).status_code == 405


@pytest.mark.parametrize(
    ("who", "status_code"),
    [("viewer", 403), ("outsider", 404)],
    ids=["viewer_case", "outsider_case"],
)
def test_generate_is_refused_to_viewers_and_outsiders(request, workspace, login, who, status_code):
    release = make_release(workspace)
    client = login(request.getfixturevalue(who))

    response = client.post(_new_url(workspace, release.id))

    assert response.status_code == status_code
    assert not Document.objects.exists()


def test_generate_for_an_unknown_release_is_404(workspace, member, login, other_workspace):
    foreign = make_release(other_workspace)
    client = login(member)

    assert client.post(_new_url(workspace, foreign.id)).status_code == 404
    assert client.post(_new_url(workspace, 999_999)).status_code == 404


def test_the_release_page_offers_release_notes_to_editors_only(workspace, member, viewer, login):
    release = make_release(workspace)
    url = reverse(
        "roadmap:release-detail",
        kwargs={"workspace_slug": workspace.slug, "release_id": release.id},
    )

    as_editor = login(member).get(url).content.decode()
    as_viewer = login(viewer).get(url).content.decode()

    assert _new_url(workspace, release.id) in as_editor
    assert "Write release notes" in as_editor
    assert "Write release notes" not in as_viewer
