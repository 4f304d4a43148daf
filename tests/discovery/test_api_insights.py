"""The insights API: insights with a version guard, and the evidence that backs them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from discovery import services
from discovery.models import FEEDBACK_MAX_CHARS, Evidence, Feedback, Insight
from tests.discovery.api_support import (
    BASE,
    DENIED_WRITER_IDS,
    DENIED_WRITERS,
    NOT_FOUND,
    api_as,
    client_of,
    feedback,
    fields_error,
    iso,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor(workspace, member):
    return api_as(member, workspace)


@pytest.fixture
def insight(workspace, member):
    return services.insight_create(
        workspace=workspace, actor=member, title="Exports fail at scale", summary="**Big** boards"
    )


def _row(insight: Insight) -> dict:
    return {
        "id": insight.id,
        "title": insight.title,
        "summary": insight.summary,
        "status": insight.status,
        "version": insight.version,
        "evidence_count": insight.evidence_count,
        "customer_count": insight.customer_count,
        "company_count": insight.company_count,
        "arr": f"{insight.arr:.2f}",
        "created_at": iso(insight.created_at),
        "updated_at": iso(insight.updated_at),
    }


def _evidence_row(evidence: Evidence, quote: str) -> dict:
    return {
        "id": evidence.id,
        "insight_id": evidence.insight_id,
        "feedback_id": evidence.feedback_id,
        "highlight_id": evidence.highlight_id,
        "quote": quote,
        "note": evidence.note,
        "created_at": iso(evidence.created_at),
    }


# --- insights --------------------------------------------------------------------------------
def test_create_an_insight(workspace, editor):
    summary = "Exports **time out**.\n\n<script>alert(1)</script>"

    response = editor.post(
        f"{BASE}/insights/",
        {"title": "Exports fail", "summary": summary, "status": "validated"},
        format="json",
    )

    assert response.status_code == 201
    insight = Insight.objects.for_workspace(workspace).get()
    # Markdown is stored and returned as written; only the HTML pages render (and sanitize) it.
    assert (insight.title, insight.summary, insight.status, insight.version) == (
        "Exports fail",
        summary,
        "validated",
        1,
    )
    assert response.json() == _row(insight)


def test_list_filtered_by_status_and_get(workspace, member, editor, insight):
    validated = services.insight_create(
        workspace=workspace, actor=member, title="Pricing confuses", status="validated"
    )

    everything = editor.get(f"{BASE}/insights/")
    only_validated = editor.get(f"{BASE}/insights/?status=validated")
    got = editor.get(f"{BASE}/insights/{insight.id}/")

    assert [r["id"] for r in everything.json()["results"]] == [insight.id, validated.id]
    assert only_validated.json()["results"] == [_row(validated)]
    assert got.json() == _row(insight)


def test_an_oversized_summary_is_400(workspace, editor):
    response = editor.post(
        f"{BASE}/insights/",
        {"title": "Long", "summary": "x" * (FEEDBACK_MAX_CHARS + 1)},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == fields_error(
        summary=[f"Ensure this field has no more than {FEEDBACK_MAX_CHARS} characters."]
    )
    assert not Insight.objects.for_workspace(workspace).exists()


def test_patch_with_the_current_version_saves_and_bumps_it(editor, insight):
    response = editor.patch(
        f"{BASE}/insights/{insight.id}/",
        {"version": 1, "status": "validated", "title": "Exports fail on big boards"},
        format="json",
    )

    assert response.status_code == 200
    insight.refresh_from_db()
    assert (insight.title, insight.status, insight.version) == (
        "Exports fail on big boards",
        "validated",
        2,
    )
    assert response.json() == _row(insight)


def test_the_later_of_two_edits_on_the_same_version_is_told(editor, insight, workspace, admin):
    other_editor = api_as(admin, workspace)
    first = other_editor.patch(
        f"{BASE}/insights/{insight.id}/", {"version": 1, "summary": "Theirs"}, format="json"
    )

    second = editor.patch(
        f"{BASE}/insights/{insight.id}/", {"version": 1, "summary": "Mine"}, format="json"
    )

    assert first.status_code == 200
    assert second.status_code == 409
    assert second.json() == {
        "message": "Someone else saved this insight while you were editing it. Reload to see "
        "their changes, then make yours again.",
        "extra": {"version": 2},
    }
    insight.refresh_from_db()
    assert (insight.summary, insight.version) == ("Theirs", 2)


def test_delete_an_insight_keeps_the_cited_feedback(workspace, member, editor, insight):
    item = feedback(workspace, member)
    services.evidence_add(workspace=workspace, actor=member, insight=insight, feedback=item)

    response = editor.delete(f"{BASE}/insights/{insight.id}/")

    assert response.status_code == 204
    assert not Insight.objects.for_workspace(workspace).exists()
    assert not Evidence.objects.for_workspace(workspace).exists()
    assert Feedback.objects.for_workspace(workspace).get().id == item.id


def test_an_insight_of_another_workspace_is_404(other_workspace, editor):
    foreign = services.insight_create(workspace=other_workspace, actor=None, title="Globex")

    responses = [
        editor.get(f"{BASE}/insights/{foreign.id}/"),
        editor.patch(f"{BASE}/insights/{foreign.id}/", {"version": 1}, format="json"),
        editor.delete(f"{BASE}/insights/{foreign.id}/"),
        editor.get(f"{BASE}/insights/{foreign.id}/evidence/"),
    ]

    assert [(r.status_code, r.json()) for r in responses] == [(404, NOT_FOUND)] * 4
    assert Insight.objects.for_workspace(other_workspace).get().version == 1


# --- evidence --------------------------------------------------------------------------------
@pytest.fixture
def sources(workspace, member):
    """Feedback from Peter (Initech, ARR 1,000) and a highlight of an interview with Gavin."""
    initech, _ = services.company_upsert(
        workspace=workspace, actor=member, name="Initech", domain="initech.test", arr=Decimal(1000)
    )
    hooli, _ = services.company_upsert(
        workspace=workspace, actor=member, name="Hooli", domain="hooli.test", arr=Decimal(250)
    )
    peter, _ = services.customer_upsert(
        workspace=workspace, actor=member, email="peter@initech.test", company=initech
    )
    gavin, _ = services.customer_upsert(
        workspace=workspace, actor=member, email="gavin@hooli.test", company=hooli
    )
    item = feedback(workspace, member, text="Exports time out", customer_id=peter.id)
    interview = services.interview_create(
        workspace=workspace,
        actor=member,
        title="Call with Gavin",
        transcript="Gavin: pricing is confusing.",
        participant_ids=[gavin.id],
    )
    highlight = services.highlight_create(
        workspace=workspace, actor=member, interview=interview, start=7, end=27
    )
    return item, highlight


def test_cite_feedback_and_a_highlight_and_the_reach_follows(workspace, editor, insight, sources):
    item, highlight = sources

    cited_feedback = editor.post(
        f"{BASE}/insights/{insight.id}/evidence/",
        {"feedback_id": item.id, "note": "<b>key</b> quote"},
        format="json",
    )
    cited_highlight = editor.post(
        f"{BASE}/insights/{insight.id}/evidence/", {"highlight_id": highlight.id}, format="json"
    )

    assert (cited_feedback.status_code, cited_highlight.status_code) == (201, 201)
    on_feedback = Evidence.objects.for_workspace(workspace).get(feedback=item)
    on_highlight = Evidence.objects.for_workspace(workspace).get(highlight=highlight)
    assert cited_feedback.json() == _evidence_row(on_feedback, "Exports time out")
    assert cited_feedback.json()["note"] == "<b>key</b> quote"
    assert cited_highlight.json() == _evidence_row(on_highlight, "pricing is confusing")
    insight.refresh_from_db()
    assert (
        insight.evidence_count,
        insight.customer_count,
        insight.company_count,
        insight.arr,
    ) == (2, 2, 2, Decimal(1250))
    assert editor.get(f"{BASE}/insights/{insight.id}/").json()["arr"] == "1250.00"


def test_list_and_remove_evidence(workspace, member, editor, insight, sources):
    item, highlight = sources
    first = services.evidence_add(workspace=workspace, actor=member, insight=insight, feedback=item)
    second = services.evidence_add(
        workspace=workspace, actor=member, insight=insight, highlight=highlight
    )

    listed = editor.get(f"{BASE}/insights/{insight.id}/evidence/")

    assert listed.json()["results"] == [
        _evidence_row(first, "Exports time out"),
        _evidence_row(second, "pricing is confusing"),
    ]

    removed = editor.delete(f"{BASE}/insights/{insight.id}/evidence/{first.id}/")

    assert removed.status_code == 204
    assert list(Evidence.objects.for_workspace(workspace).values_list("id", flat=True)) == [
        second.id
    ]
    insight.refresh_from_db()
    assert (insight.evidence_count, insight.arr) == (1, Decimal(250))


def test_citing_the_same_feedback_twice_keeps_one_link(workspace, editor, insight, sources):
    item, _ = sources

    first = editor.post(
        f"{BASE}/insights/{insight.id}/evidence/", {"feedback_id": item.id}, format="json"
    )
    again = editor.post(
        f"{BASE}/insights/{insight.id}/evidence/", {"feedback_id": item.id}, format="json"
    )

    assert again.json()["id"] == first.json()["id"]
    assert Evidence.objects.for_workspace(workspace).count() == 1


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            {}, {"non_field_errors": ["Give feedback_id or highlight_id (one)."]}, id="neither_case"
        ),
        pytest.param(
            {"feedback_id": 1, "highlight_id": 1},
            {"non_field_errors": ["Give feedback_id or highlight_id (one)."]},
            id="both_case",
        ),
        pytest.param(
            {"feedback_id": 999_999_999}, {"feedback_id": ["Unknown feedback."]}, id="missing_case"
        ),
        pytest.param(
            {"feedback_id": 1, "note": "x" * 501},
            {"note": ["Ensure this field has no more than 500 characters."]},
            id="oversized_note_case",
        ),
    ],
)
def test_bad_evidence_is_400(workspace, editor, insight, body, expected):
    response = editor.post(f"{BASE}/insights/{insight.id}/evidence/", body, format="json")

    assert response.status_code == 400
    assert response.json() == fields_error(**expected)
    assert not Evidence.objects.for_workspace(workspace).exists()


def test_feedback_and_highlights_of_another_workspace_are_unknown(
    workspace, other_workspace, editor, insight
):
    foreign_item = feedback(other_workspace, None, text="Globex secret")
    foreign_interview = services.interview_create(
        workspace=other_workspace, actor=None, title="Globex call", transcript="secret words"
    )
    foreign_highlight = services.highlight_create(
        workspace=other_workspace, actor=None, interview=foreign_interview, start=0, end=6
    )

    by_feedback = editor.post(
        f"{BASE}/insights/{insight.id}/evidence/", {"feedback_id": foreign_item.id}, format="json"
    )
    by_highlight = editor.post(
        f"{BASE}/insights/{insight.id}/evidence/",
        {"highlight_id": foreign_highlight.id},
        format="json",
    )

    assert by_feedback.status_code == 400
    assert by_feedback.json() == fields_error(feedback_id=["Unknown feedback."])
    assert by_highlight.status_code == 400
    assert by_highlight.json() == fields_error(highlight_id=["Unknown highlight."])
    assert not Evidence.objects.for_workspace(workspace).exists()
    assert not Evidence.objects.for_workspace(other_workspace).exists()
    assert Insight.objects.for_workspace(workspace).get().evidence_count == 0


def test_evidence_of_another_insight_is_404(workspace, member, editor, insight, sources):
    item, _ = sources
    other = services.insight_create(workspace=workspace, actor=member, title="Other")
    evidence = services.evidence_add(
        workspace=workspace, actor=member, insight=other, feedback=item
    )

    response = editor.delete(f"{BASE}/insights/{insight.id}/evidence/{evidence.id}/")

    assert response.status_code == 404
    assert Evidence.objects.for_workspace(workspace).get().id == evidence.id


def test_evidence_list_query_count_is_constant(
    workspace, member, insight, django_assert_num_queries
):
    for n in range(30):
        services.evidence_add(
            workspace=workspace,
            actor=member,
            insight=insight,
            feedback=feedback(workspace, member, text=f"Item {n}"),
        )
    client = APIClient()
    client.force_authenticate(member)

    # membership, the insight, the page of evidence with feedback and highlight joined
    with django_assert_num_queries(3):
        response = client.get(f"{BASE}/insights/{insight.id}/evidence/?page_size=25")

    assert len(response.json()["results"]) == 25


# --- who may write ---------------------------------------------------------------------------
@pytest.mark.parametrize(("who", "access", "status", "body"), DENIED_WRITERS, ids=DENIED_WRITER_IDS)
def test_who_cannot_write_changes_nothing(
    request, workspace, other_workspace, member, insight, sources, who, access, status, body
):
    item, highlight = sources
    evidence = services.evidence_add(
        workspace=workspace, actor=member, insight=insight, feedback=item
    )
    client = client_of(request, who, access)
    writes = [
        ("post", f"{BASE}/insights/", {"title": "New"}),
        ("patch", f"{BASE}/insights/{insight.id}/", {"version": 1, "title": "Changed"}),
        ("delete", f"{BASE}/insights/{insight.id}/", None),
        ("post", f"{BASE}/insights/{insight.id}/evidence/", {"highlight_id": highlight.id}),
        ("delete", f"{BASE}/insights/{insight.id}/evidence/{evidence.id}/", None),
    ]
    before = (
        list(Insight.objects.for_workspace(workspace).values()),
        list(Evidence.objects.for_workspace(workspace).values()),
    )

    responses = [getattr(client, m)(url, data, format="json") for m, url, data in writes]

    assert [(r.status_code, r.json()) for r in responses] == [(status, body)] * len(writes)
    assert (
        list(Insight.objects.for_workspace(workspace).values()),
        list(Evidence.objects.for_workspace(workspace).values()),
    ) == before


def test_a_viewer_reads_insights_and_evidence(viewer, workspace, insight):
    client = api_as(viewer, workspace, "read")

    responses = [
        client.get(f"{BASE}/insights/"),
        client.get(f"{BASE}/insights/{insight.id}/"),
        client.get(f"{BASE}/insights/{insight.id}/evidence/"),
    ]

    assert [r.status_code for r in responses] == [200] * 3
