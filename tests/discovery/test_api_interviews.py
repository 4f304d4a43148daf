"""The interviews API: interviews with a version guard, and their highlights."""

from __future__ import annotations

from datetime import date

import pytest
from rest_framework.test import APIClient

from discovery import services
from discovery.models import TRANSCRIPT_MAX_CHARS, Highlight, Interview, Tagging
from tests.discovery.api_support import (
    BASE,
    DENIED_WRITER_IDS,
    DENIED_WRITERS,
    NOT_FOUND,
    api_as,
    client_of,
    fields_error,
    iso,
)

pytestmark = pytest.mark.django_db

TRANSCRIPT = "Peter: the export times out every Monday.\nPM: how big is the board?"


@pytest.fixture
def editor(workspace, member):
    return api_as(member, workspace)


@pytest.fixture
def peter(workspace, member):
    customer, _ = services.customer_upsert(
        workspace=workspace, actor=member, email="peter@initech.test", name="Peter"
    )
    return customer


@pytest.fixture
def interview(workspace, member, peter):
    return services.interview_create(
        workspace=workspace,
        actor=member,
        title="Call with Peter",
        held_on=date(2026, 11, 2),
        transcript=TRANSCRIPT,
        notes="Follow up",
        participant_ids=[peter.id],
    )


def _detail(interview: Interview, participant_ids: list[int]) -> dict:
    return {
        "id": interview.id,
        "title": interview.title,
        "held_on": interview.held_on.isoformat() if interview.held_on else None,
        "transcript": interview.transcript,
        "notes": interview.notes,
        "participant_ids": participant_ids,
        "version": interview.version,
        "created_at": iso(interview.created_at),
        "updated_at": iso(interview.updated_at),
    }


def _highlight_row(highlight: Highlight, tags=()) -> dict:
    return {
        "id": highlight.id,
        "interview_id": highlight.interview_id,
        "feedback_id": highlight.feedback_id,
        "start": highlight.start,
        "end": highlight.end,
        "quote": highlight.quote,
        "needs_review": highlight.needs_review,
        "tags": [{"id": t.id, "name": t.name, "color": t.color} for t in tags],
        "created_at": iso(highlight.created_at),
    }


# --- interviews ------------------------------------------------------------------------------
def test_create_an_interview_with_participants(workspace, editor, peter):
    transcript = "  Peter: <b>slow</b> exports.  \n"

    response = editor.post(
        f"{BASE}/interviews/",
        {
            "title": "Call with Peter",
            "held_on": "2026-11-02",
            "transcript": transcript,
            "participant_ids": [peter.id],
        },
        format="json",
    )

    assert response.status_code == 201
    interview = Interview.objects.for_workspace(workspace).get()
    # Kept byte for byte: highlight offsets count from the first character.
    assert interview.transcript == transcript
    assert response.json() == _detail(interview, [peter.id])


def test_list_and_get_interviews(editor, interview, peter):
    listed = editor.get(f"{BASE}/interviews/")
    got = editor.get(f"{BASE}/interviews/{interview.id}/")

    assert listed.json()["results"] == [
        {
            "id": interview.id,
            "title": "Call with Peter",
            "held_on": "2026-11-02",
            "version": 1,
            "created_at": iso(interview.created_at),
            "updated_at": iso(interview.updated_at),
        }
    ]
    assert got.json() == _detail(interview, [peter.id])


def test_a_participant_of_another_workspace_is_unknown(workspace, other_workspace, editor):
    foreign, _ = services.customer_upsert(workspace=other_workspace, actor=None, email="e@g.test")

    response = editor.post(
        f"{BASE}/interviews/", {"title": "Call", "participant_ids": [foreign.id]}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == fields_error(participants=["Unknown customer."])
    assert not Interview.objects.for_workspace(workspace).exists()


def test_an_oversized_transcript_is_400(workspace, editor):
    response = editor.post(
        f"{BASE}/interviews/",
        {"title": "Long", "transcript": "x" * (TRANSCRIPT_MAX_CHARS + 1)},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == fields_error(
        transcript=[f"Ensure this field has no more than {TRANSCRIPT_MAX_CHARS} characters."]
    )
    assert not Interview.objects.for_workspace(workspace).exists()


def test_patch_with_the_current_version_saves_and_bumps_it(workspace, editor, interview):
    response = editor.patch(
        f"{BASE}/interviews/{interview.id}/",
        {"version": 1, "title": "Call with Peter (Initech)", "participant_ids": []},
        format="json",
    )

    assert response.status_code == 200
    interview.refresh_from_db()
    assert (interview.title, interview.version) == ("Call with Peter (Initech)", 2)
    assert response.json() == _detail(interview, [])


def test_a_stale_edit_is_409_with_the_current_version_and_changes_nothing(
    workspace, member, editor, interview
):
    services.interview_update(
        workspace=workspace, actor=member, interview=interview, version=1, notes="Theirs"
    )

    response = editor.patch(
        f"{BASE}/interviews/{interview.id}/", {"version": 1, "notes": "Mine"}, format="json"
    )

    assert response.status_code == 409
    assert response.json() == {
        "message": "Someone else saved this interview while you were editing it. Reload to see "
        "their changes, then make yours again.",
        "extra": {"version": 2},
    }
    interview.refresh_from_db()
    assert (interview.notes, interview.version) == ("Theirs", 2)


def test_patch_without_a_version_is_400(editor, interview):
    response = editor.patch(f"{BASE}/interviews/{interview.id}/", {"title": "New"}, format="json")

    assert response.status_code == 400
    assert response.json() == fields_error(version=["This field is required."])


def test_editing_the_transcript_moves_or_flags_highlights(workspace, member, editor, interview):
    kept = services.highlight_create(
        workspace=workspace, actor=member, interview=interview, start=7, end=33
    )
    lost = services.highlight_create(
        workspace=workspace, actor=member, interview=interview, start=46, end=66
    )

    response = editor.patch(
        f"{BASE}/interviews/{interview.id}/",
        {"version": 1, "transcript": "Intro.\n" + TRANSCRIPT[:42]},
        format="json",
    )

    assert response.status_code == 200
    kept.refresh_from_db()
    lost.refresh_from_db()
    assert (kept.start, kept.end, kept.needs_review) == (14, 40, False)
    assert lost.needs_review is True


def test_delete_an_interview_with_its_highlights(workspace, member, editor, interview):
    services.highlight_create(
        workspace=workspace, actor=member, interview=interview, start=7, end=33
    )

    response = editor.delete(f"{BASE}/interviews/{interview.id}/")

    assert response.status_code == 204
    assert not Interview.objects.for_workspace(workspace).exists()
    assert not Highlight.objects.for_workspace(workspace).exists()


def test_an_interview_of_another_workspace_is_404(other_workspace, editor):
    foreign = services.interview_create(
        workspace=other_workspace, actor=None, title="Globex call", transcript="secret words"
    )

    responses = [
        editor.get(f"{BASE}/interviews/{foreign.id}/"),
        editor.patch(f"{BASE}/interviews/{foreign.id}/", {"version": 1}, format="json"),
        editor.delete(f"{BASE}/interviews/{foreign.id}/"),
        editor.get(f"{BASE}/interviews/{foreign.id}/highlights/"),
        editor.post(
            f"{BASE}/interviews/{foreign.id}/highlights/", {"start": 0, "end": 6}, format="json"
        ),
    ]

    assert [(r.status_code, r.json()) for r in responses] == [(404, NOT_FOUND)] * 5
    assert Interview.objects.for_workspace(other_workspace).get().version == 1
    assert not Highlight.objects.for_workspace(other_workspace).exists()


# --- highlights ------------------------------------------------------------------------------
def test_highlight_words_of_a_transcript_with_tags(workspace, member, editor, interview):
    tag = services.tag_create(workspace=workspace, actor=member, name="Exports")

    response = editor.post(
        f"{BASE}/interviews/{interview.id}/highlights/",
        {"start": 7, "end": 33, "tag_ids": [tag.id]},
        format="json",
    )

    assert response.status_code == 201
    highlight = Highlight.objects.for_workspace(workspace).get()
    assert (highlight.quote, highlight.interview_id, highlight.start, highlight.end) == (
        "the export times out every",
        interview.id,
        7,
        33,
    )
    assert response.json() == _highlight_row(highlight, [tag])


@pytest.mark.parametrize(
    ("span", "fields"),
    [
        pytest.param(
            {"start": 60, "end": 999},
            {"start": ["The span 60–999 is outside the text (0–67)."]},
            id="past_the_end_case",
        ),
        pytest.param(
            {"start": 10, "end": 10},
            {"start": ["The span 10–10 is outside the text (0–67)."]},
            id="empty_case",
        ),
        pytest.param(
            {"start": 12, "end": 5},
            {"start": ["The span 12–5 is outside the text (0–67)."]},
            id="reversed_case",
        ),
        pytest.param(
            {"start": -1, "end": 5},
            {"start": ["Ensure this value is greater than or equal to 0."]},
            id="negative_case",
        ),
        pytest.param(
            {"start": 6, "end": 7},
            {"start": ["Select some words, not only spaces."]},
            id="only_spaces_case",
        ),
    ],
)
def test_invalid_offsets_are_400(workspace, editor, interview, span, fields):
    response = editor.post(f"{BASE}/interviews/{interview.id}/highlights/", span, format="json")

    assert response.status_code == 400
    assert response.json() == fields_error(**fields)
    assert not Highlight.objects.for_workspace(workspace).exists()


def test_a_highlight_with_a_tag_of_another_workspace_is_not_created(
    workspace, other_workspace, editor, interview
):
    foreign = services.tag_create(workspace=other_workspace, actor=None, name="Globex")

    response = editor.post(
        f"{BASE}/interviews/{interview.id}/highlights/",
        {"start": 7, "end": 33, "tag_ids": [foreign.id]},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == fields_error(tag=["Unknown tag."])
    assert not Highlight.objects.for_workspace(workspace).exists()
    assert not Tagging.objects.for_workspace(other_workspace).exists()


def test_list_get_and_delete_highlights(workspace, member, editor, interview):
    tag = services.tag_create(workspace=workspace, actor=member, name="Exports")
    first = services.highlight_create(
        workspace=workspace, actor=member, interview=interview, start=0, end=5, tag_ids=[tag.id]
    )
    second = services.highlight_create(
        workspace=workspace, actor=member, interview=interview, start=7, end=33
    )

    listed = editor.get(f"{BASE}/interviews/{interview.id}/highlights/")
    got = editor.get(f"{BASE}/highlights/{first.id}/")

    assert listed.json()["results"] == [_highlight_row(first, [tag]), _highlight_row(second)]
    assert got.json() == _highlight_row(first, [tag])

    deleted = editor.delete(f"{BASE}/highlights/{first.id}/")

    assert deleted.status_code == 204
    assert list(Highlight.objects.for_workspace(workspace).values_list("id", flat=True)) == [
        second.id
    ]


def test_markup_in_a_transcript_is_quoted_verbatim(workspace, editor):
    created = editor.post(
        f"{BASE}/interviews/",
        {"title": "<i>t</i>", "transcript": "<script>alert(1)</script> said"},
        format="json",
    ).json()

    response = editor.post(
        f"{BASE}/interviews/{created['id']}/highlights/", {"start": 0, "end": 25}, format="json"
    )

    assert created["title"] == "<i>t</i>"
    assert response.json()["quote"] == "<script>alert(1)</script>"


def test_a_highlight_of_another_workspace_is_404(other_workspace, editor):
    foreign_interview = services.interview_create(
        workspace=other_workspace, actor=None, title="Globex call", transcript="secret words"
    )
    foreign = services.highlight_create(
        workspace=other_workspace, actor=None, interview=foreign_interview, start=0, end=6
    )

    responses = [
        editor.get(f"{BASE}/highlights/{foreign.id}/"),
        editor.delete(f"{BASE}/highlights/{foreign.id}/"),
    ]

    assert [(r.status_code, r.json()) for r in responses] == [(404, NOT_FOUND)] * 2
    assert Highlight.objects.for_workspace(other_workspace).get().id == foreign.id


def test_highlight_list_query_count_is_constant(
    workspace, member, interview, django_assert_num_queries
):
    tag = services.tag_create(workspace=workspace, actor=member, name="Exports")
    for start in range(30):
        services.highlight_create(
            workspace=workspace,
            actor=member,
            interview=interview,
            start=start,
            end=start + 10,
            tag_ids=[tag.id],
        )
    client = APIClient()
    client.force_authenticate(member)

    # membership, the interview, the page of highlights, their taggings with tags
    with django_assert_num_queries(4):
        response = client.get(f"{BASE}/interviews/{interview.id}/highlights/?page_size=25")

    assert len(response.json()["results"]) == 25


# --- who may write ---------------------------------------------------------------------------
@pytest.mark.parametrize(("who", "access", "status", "body"), DENIED_WRITERS, ids=DENIED_WRITER_IDS)
def test_who_cannot_write_changes_nothing(
    request, workspace, other_workspace, member, interview, who, access, status, body
):
    highlight = services.highlight_create(
        workspace=workspace, actor=member, interview=interview, start=7, end=33
    )
    client = client_of(request, who, access)
    writes = [
        ("post", f"{BASE}/interviews/", {"title": "New"}),
        ("patch", f"{BASE}/interviews/{interview.id}/", {"version": 1, "title": "Changed"}),
        ("delete", f"{BASE}/interviews/{interview.id}/", None),
        ("post", f"{BASE}/interviews/{interview.id}/highlights/", {"start": 0, "end": 5}),
        ("delete", f"{BASE}/highlights/{highlight.id}/", None),
    ]
    before = (
        list(Interview.objects.for_workspace(workspace).values()),
        list(Highlight.objects.for_workspace(workspace).values()),
    )

    responses = [getattr(client, m)(url, data, format="json") for m, url, data in writes]

    assert [(r.status_code, r.json()) for r in responses] == [(status, body)] * len(writes)
    assert (
        list(Interview.objects.for_workspace(workspace).values()),
        list(Highlight.objects.for_workspace(workspace).values()),
    ) == before


def test_a_viewer_reads_interviews_and_highlights(workspace, member, viewer, interview):
    highlight = services.highlight_create(
        workspace=workspace, actor=member, interview=interview, start=7, end=33
    )
    client = api_as(viewer, workspace, "read")

    responses = [
        client.get(f"{BASE}/interviews/"),
        client.get(f"{BASE}/interviews/{interview.id}/"),
        client.get(f"{BASE}/interviews/{interview.id}/highlights/"),
        client.get(f"{BASE}/highlights/{highlight.id}/"),
    ]

    assert [r.status_code for r in responses] == [200] * 4
