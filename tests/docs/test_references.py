"""Live references: kept as rows on save with their titles, drawn with the target's current
title and status, "deleted" with the kept title, "not found" for another workspace's ids (its
title never shown), literal inside code, and drawn in constant queries whatever their count."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backlog import services as backlog
from backlog.models import Item
from discovery import services as discovery
from discovery.models import Insight
from docs import services
from docs.models import Document, Reference
from docs.references import document_html

pytestmark = pytest.mark.django_db


def _known(workspace, document):
    return {
        (r.target, r.target_id): r.title
        for r in Reference.objects.for_workspace(workspace).filter(document=document)
        if r.title
    }


def _html(workspace, document):
    return str(
        document_html(
            workspace=workspace, body=document.body, known_titles=_known(workspace, document)
        )
    )


def _highlight(workspace, text="Exporting to Excel breaks every accent we have"):
    interview = discovery.interview_create(
        workspace=workspace, actor=None, title="Call with Globex", transcript=text
    )
    return discovery.highlight_create(
        workspace=workspace, actor=None, interview=interview, start=0, end=len(text)
    )


def test_references_are_kept_as_rows_with_their_titles_on_save(workspace):
    item = backlog.item_create(workspace=workspace, actor=None, title="CSV export")
    insight = discovery.insight_create(workspace=workspace, actor=None, title="Exports hurt")
    highlight = _highlight(workspace)
    document = services.document_create(
        workspace=workspace, actor=None, kind="prd", title="Exports",
        body=f"See [[item:{item.id}]] and [[insight:{insight.id}]] and [[item:{item.id}]].",
    )  # fmt: skip

    rows = Reference.objects.for_workspace(workspace).filter(document=document)
    assert {(r.target, r.target_id, r.title) for r in rows} == {
        ("item", item.id, "CSV export"),
        ("insight", insight.id, "Exports hurt"),
    }

    services.document_save(
        workspace=workspace, actor=None, document=document, base_version=1, title="Exports",
        body=f"Only [[highlight:{highlight.id}]] now, and [[item:999999999]].",
    )  # fmt: skip

    rows = Reference.objects.for_workspace(workspace).filter(document=document)
    assert {(r.target, r.target_id, r.title) for r in rows} == {
        ("highlight", highlight.id, "“Exporting to Excel breaks every accent we have”"),
        ("item", 999999999, ""),
    }


def test_a_reference_shows_the_targets_current_title_status_and_link(workspace):
    item = backlog.item_create(workspace=workspace, actor=None, title="CSV export")
    document = services.document_create(
        workspace=workspace, actor=None, kind="prd", title="Exports", body=f"[[item:{item.id}]]"
    )
    Item.objects.for_workspace(workspace).filter(id=item.id).update(title="CSV & Excel export")

    html = _html(workspace, document)

    assert 'class="ref ref--item"' in html
    assert "CSV &amp; Excel export" in html
    assert f"/w/{workspace.slug}/" in html
    assert "ref__status" in html


def test_a_target_deleted_later_shows_as_deleted_with_its_old_title(workspace):
    item = backlog.item_create(workspace=workspace, actor=None, title="Old <b>bold</b> item")
    insight = discovery.insight_create(workspace=workspace, actor=None, title="Gone insight")
    document = services.document_create(
        workspace=workspace, actor=None, kind="prd", title="Exports",
        body=f"[[item:{item.id}]] and [[insight:{insight.id}]]",
    )  # fmt: skip
    Item.objects.for_workspace(workspace).filter(id=item.id).delete()
    Insight.objects.for_workspace(workspace).filter(id=insight.id).delete()

    html = _html(workspace, document)

    assert html.count("ref--deleted") == 2
    assert "Old &lt;b&gt;bold&lt;/b&gt; item" in html
    assert "<b>bold" not in html
    assert "Gone insight" in html
    assert html.count(">deleted<") == 2


def test_another_workspaces_ids_render_not_found_and_never_their_titles(workspace, other_workspace):
    secret_item = backlog.item_create(
        workspace=other_workspace, actor=None, title="Globex secret acquisition"
    )
    secret_insight = discovery.insight_create(
        workspace=other_workspace, actor=None, title="Globex secret insight"
    )
    secret_highlight = _highlight(other_workspace, "Globex secret quote")
    document = services.document_create(
        workspace=workspace, actor=None, kind="prd", title="Snooping",
        body=(
            f"[[item:{secret_item.id}]] [[insight:{secret_insight.id}]] "
            f"[[highlight:{secret_highlight.id}]]"
        ),
    )  # fmt: skip

    html = _html(workspace, document)

    assert html.count("ref--missing") == 3
    assert html.count("not found") == 3
    assert "secret" not in html
    assert set(
        Reference.objects.for_workspace(workspace)
        .filter(document=document)
        .values_list("title", flat=True)
    ) == {""}


def test_references_inside_code_stay_literal(workspace):
    item = backlog.item_create(workspace=workspace, actor=None, title="CSV export")
    body = f"`[[item:{item.id}]]`\n\n```\n[[item:{item.id}]]\n```\n\n    [[item:{item.id}]]\n"
    document = services.document_create(
        workspace=workspace, actor=None, kind="prd", title="Code", body=body
    )

    html = _html(workspace, document)

    assert "CSV export" not in html
    assert "ref--" not in html
    assert html.count(f"[[item:{item.id}]]") == 3
    assert not Reference.objects.for_workspace(workspace).filter(document=document).exists()


def test_without_a_resolver_a_reference_stays_its_literal_text(workspace):
    from pmhub.core.markdown import render_markdown

    assert str(render_markdown("see [[item:5]]")) == "<p>see [[item:5]]</p>\n"


def _targets(workspace, count):
    refs = []
    for i in range(count):
        if i % 3 == 0:
            refs.append(
                f"[[item:{backlog.item_create(workspace=workspace, actor=None, title=f'I{i}').id}]]"
            )
        elif i % 3 == 1:
            insight = discovery.insight_create(workspace=workspace, actor=None, title=f"N{i}")
            refs.append(f"[[insight:{insight.id}]]")
        else:
            refs.append(f"[[highlight:{_highlight(workspace, f'quote number {i}').id}]]")
    return refs


def test_document_html_runs_the_same_queries_for_10_and_200_references(
    workspace, django_assert_num_queries
):
    refs = _targets(workspace, 200)
    small = "\n\n".join(f"Paragraph {i} cites {ref}." for i, ref in enumerate(refs[:10]))
    large = "\n\n".join(f"Paragraph {i} cites {ref}." for i, ref in enumerate(refs))

    with CaptureQueriesContext(connection) as small_queries:
        small_html = str(document_html(workspace=workspace, body=small))
    assert small_html.count('class="ref ref--') == 10
    with django_assert_num_queries(len(small_queries.captured_queries)):
        large_html = str(document_html(workspace=workspace, body=large))
    assert large_html.count('class="ref ref--') == 200
    assert "not found" not in large_html


def test_a_deleted_target_keeps_its_title_through_later_saves(workspace):
    item = backlog.item_create(workspace=workspace, actor=None, title="Retired item")
    document = services.document_create(
        workspace=workspace, actor=None, kind="prd", title="Exports", body=f"[[item:{item.id}]]"
    )
    Item.objects.for_workspace(workspace).filter(id=item.id).delete()
    document = services.document_save(
        workspace=workspace, actor=None, document=document, base_version=1, title="Exports",
        body=f"An unrelated edit.\n\n[[item:{item.id}]]",
    )  # fmt: skip

    html = _html(workspace, document)

    assert "ref--deleted" in html
    assert "Retired item" in html


def test_a_save_of_another_workspaces_document_is_refused(workspace, other_workspace):
    from docs.services import DocumentGoneError

    theirs = services.document_create(
        workspace=other_workspace, actor=None, kind="prd", title="Theirs", body="secret"
    )
    with pytest.raises(DocumentGoneError):
        services.document_save(
            workspace=workspace, actor=None, document=theirs, base_version=1, title="Mine",
            body="overwritten",
        )  # fmt: skip
    assert Document.objects.for_workspace(other_workspace).get(id=theirs.id).body == "secret"
