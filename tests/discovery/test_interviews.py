"""Interview pages: list, new (paste or upload), the transcript page, edits and conflicts."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from discovery import services
from discovery.models import Highlight, Interview
from tests.discovery.pages_support import TRANSCRIPT, make_desk, span_of

pytestmark = pytest.mark.django_db

BASE = "/w/acme/discovery"


@pytest.fixture
def desk(workspace, member):
    return make_desk(workspace, member)


def test_the_empty_list_says_what_interviews_are_for(workspace, member, login):
    response = login(member).get(f"{BASE}/interviews/")

    assert response.status_code == 200
    body = response.content.decode()
    assert "Keep your customer interviews here" in body
    assert f"{BASE}/interviews/new/" in body


def test_the_list_shows_title_date_participants_and_highlight_count(desk, member, login):
    services.highlight_create(
        workspace=desk.interview.workspace, actor=member, start=0, end=11, interview=desk.interview
    )

    response = login(member).get(f"{BASE}/interviews/")

    body = response.content.decode()
    assert "Call with Peter" in body
    assert "Peter Gibbons (Initech)" in body
    assert re.search(r'<td class="num">1</td>', body)


@pytest.mark.parametrize("interviews", [1, 12])
def test_the_list_query_count_does_not_grow_with_interviews(
    workspace, member, login, interviews, django_assert_num_queries
):
    customer, _ = services.customer_upsert(
        workspace=workspace, actor=member, email="p@x.test", name="P"
    )
    for n in range(interviews):
        services.interview_create(
            workspace=workspace, actor=member, title=f"Call {n}", participant_ids=[customer.id]
        )
    client = login(member)
    client.get(f"{BASE}/interviews/")

    # membership (+workspace, user); switcher memberships; page count; interviews with
    # highlight counts; their participants (+company).
    with django_assert_num_queries(5):
        response = client.get(f"{BASE}/interviews/")

    assert len(response.context["page"].object_list) == interviews


def test_a_pasted_transcript_is_stored_with_plain_newlines(workspace, member, desk, login):
    response = login(member).post(
        f"{BASE}/interviews/new/",
        {
            "title": "Onboarding call",
            "held_on": "2026-11-02",
            "participants": [desk.customer.id],
            "transcript": "Ana: First line.\r\nBob: Second line.",
            "notes": "Follow up\r\nnext week",
        },
    )

    interview = Interview.objects.for_workspace(workspace).get(title="Onboarding call")
    assert response.status_code == 302
    assert response["Location"] == f"{BASE}/interviews/{interview.id}/"
    assert interview.transcript == "Ana: First line.\nBob: Second line."
    assert interview.notes == "Follow up\nnext week"
    assert interview.held_on == dt.date(2026, 11, 2)
    assert list(interview.participants.values_list("id", flat=True)) == [desk.customer.id]


def test_an_uploaded_vtt_keeps_speakers_and_drops_timestamps(workspace, member, login):
    vtt = (
        b"WEBVTT\n\n1\n00:00:01.000 --> 00:00:03.000\n<v Ana>Hello there.</v>\n\n"
        b"2\n00:00:03.500 --> 00:00:05.000\n<v Bob>Exports are slow.</v>\n"
    )

    login(member).post(
        f"{BASE}/interviews/new/",
        {
            "title": "Captioned call",
            "transcript_file": SimpleUploadedFile("call.vtt", vtt, "text/vtt"),
        },
    )

    interview = Interview.objects.for_workspace(workspace).get(title="Captioned call")
    assert interview.transcript == "Ana: Hello there.\n\nBob: Exports are slow."


def test_a_binary_upload_is_refused_with_a_reason_and_nothing_is_created(workspace, member, login):
    response = login(member).post(
        f"{BASE}/interviews/new/",
        {
            "title": "Broken",
            "transcript_file": SimpleUploadedFile("call.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00"),
        },
    )

    assert response.status_code == 400
    assert "call.txt is a binary file, not a text transcript." in response.content.decode()
    assert not Interview.objects.for_workspace(workspace).exists()


def test_participants_from_another_workspace_are_refused(
    workspace, other_workspace, member, outsider, login
):
    stranger, _ = services.customer_upsert(
        workspace=other_workspace, actor=outsider, email="s@globex.test", name="S"
    )

    response = login(member).post(
        f"{BASE}/interviews/new/", {"title": "Sneaky", "participants": [stranger.id]}
    )

    assert response.status_code == 400
    assert not Interview.objects.for_workspace(workspace).exists()


def test_the_transcript_page_shows_highlights_in_place_and_in_the_list(desk, member, login):
    workspace = desk.interview.workspace
    start, end = span_of(TRANSCRIPT, "the export times out on big boards")
    highlight = services.highlight_create(
        workspace=workspace,
        actor=member,
        start=start,
        end=end,
        interview=desk.interview,
        tag_ids=[desk.tag.id],
    )

    response = login(member).get(f"{BASE}/interviews/{desk.interview.id}/")

    body = response.content.decode()
    assert (
        f'<mark class="hl" data-highlight-id="{highlight.id}" '
        f'data-highlight-ids="{highlight.id}" data-color="#d9480f" '
        f'id="highlight-{highlight.id}">the export times out on big boards</mark>'
    ) in body
    assert f'id="highlight-item-{highlight.id}"' in body
    assert "Peter Gibbons" in body
    assert f'action="{BASE}/interviews/{desk.interview.id}/highlights/"' in body


def test_the_edit_form_carries_the_version(desk, member, login):
    response = login(member).get(f"{BASE}/interviews/{desk.interview.id}/edit/")

    assert '<input type="hidden" name="version" value="1"' in response.content.decode()


def _edit(client, interview, **fields):
    data = {
        "title": interview.title,
        "transcript": interview.transcript,
        "notes": interview.notes,
        "version": interview.version,
        **fields,
    }
    return client.post(f"{BASE}/interviews/{interview.id}/edit/", data)


def test_an_edit_saves_and_moves_the_version_on(desk, member, login):
    response = _edit(login(member), desk.interview, title="Call with Peter (Monday)")

    desk.interview.refresh_from_db()
    assert response.status_code == 302
    assert desk.interview.title == "Call with Peter (Monday)"
    assert desk.interview.version == 2


def test_a_stale_edit_shows_the_conflict_and_keeps_every_word_typed(desk, member, admin, login):
    workspace = desk.interview.workspace
    services.interview_update(
        workspace=workspace,
        actor=admin,
        interview=desk.interview,
        version=1,
        notes="Alice's notes, saved first.",
    )
    mine = TRANSCRIPT + "\n\nPeter: One more thing I typed."

    response = _edit(login(member), desk.interview, transcript=mine, version=1, notes="Mine")

    desk.interview.refresh_from_db()
    body = response.content.decode()
    assert response.status_code == 409
    assert "Someone else saved this interview while you were editing it." in body
    assert "Peter: One more thing I typed." in body  # the person's text, still in the form
    assert "Alice&#x27;s notes, saved first." in body  # what was saved meanwhile
    assert '<input type="hidden" name="version" value="2"' in body
    assert desk.interview.notes == "Alice's notes, saved first."
    assert desk.interview.transcript == TRANSCRIPT


def test_saving_again_after_a_conflict_replaces_the_other_version(desk, member, admin, login):
    workspace = desk.interview.workspace
    services.interview_update(
        workspace=workspace, actor=admin, interview=desk.interview, version=1, notes="Theirs"
    )
    client = login(member)
    _edit(client, desk.interview, notes="Mine", version=1)

    response = _edit(client, desk.interview, notes="Mine", version=2)

    desk.interview.refresh_from_db()
    assert response.status_code == 302
    assert desk.interview.notes == "Mine"


def test_editing_the_transcript_moves_highlights_and_flags_lost_ones(desk, member, login):
    workspace = desk.interview.workspace
    moved = services.highlight_create(
        workspace=workspace,
        actor=member,
        interview=desk.interview,
        **dict(zip(("start", "end"), span_of(TRANSCRIPT, "I copy it by hand"), strict=True)),
    )
    lost = services.highlight_create(
        workspace=workspace,
        actor=member,
        interview=desk.interview,
        **dict(zip(("start", "end"), span_of(TRANSCRIPT, "It takes an hour"), strict=True)),
    )
    client = login(member)
    edited = "Summary: painful exports.\n\n" + TRANSCRIPT.replace("It takes an hour.", "Slow.")

    _edit(client, desk.interview, transcript=edited)
    response = client.get(f"{BASE}/interviews/{desk.interview.id}/")

    moved.refresh_from_db()
    lost.refresh_from_db()
    body = response.content.decode()
    assert edited[moved.start : moved.end] == "I copy it by hand"
    assert lost.needs_review is True
    assert f'data-highlight-id="{lost.id}"' not in body
    assert "Needs review" in body
    assert f'data-highlight-id="{moved.id}"' in body


@pytest.mark.parametrize(
    ("user_case", "status"),
    [("viewer_case", 403), ("outsider_case", 404), ("member_case", 302)],
)
def test_who_may_create_an_interview(request, workspace, login, user_case, status):
    user = request.getfixturevalue(user_case.removesuffix("_case"))

    response = login(user).post(f"{BASE}/interviews/new/", {"title": "Call"})

    assert response.status_code == status
    assert Interview.objects.for_workspace(workspace).count() == (1 if status == 302 else 0)


def test_a_viewer_reads_the_transcript_without_the_highlight_tool(desk, viewer, login):
    response = login(viewer).get(f"{BASE}/interviews/{desk.interview.id}/")

    body = response.content.decode()
    assert response.status_code == 200
    assert "data-highlight-text" in body
    assert "data-highlight-popover" not in body


def test_an_outsider_gets_404_for_every_interview_page(desk, outsider, login):
    client = login(outsider)
    for url in (
        f"{BASE}/interviews/",
        f"{BASE}/interviews/{desk.interview.id}/",
        f"{BASE}/interviews/{desk.interview.id}/edit/",
    ):
        assert client.get(url).status_code == 404
    assert not Highlight.objects.for_workspace(desk.interview.workspace).exists()


def test_a_file_uploaded_on_the_edit_page_replaces_the_transcript(desk, member, login):
    srt = b"1\n00:00:01,000 --> 00:00:02,000\nAna: New words.\n"

    response = login(member).post(
        f"{BASE}/interviews/{desk.interview.id}/edit/",
        {
            "title": desk.interview.title,
            "transcript": desk.interview.transcript,
            "version": 1,
            "transcript_file": SimpleUploadedFile("new.srt", srt),
        },
    )

    desk.interview.refresh_from_db()
    assert response.status_code == 302
    assert desk.interview.transcript == "Ana: New words."


def test_pasting_and_uploading_at_once_on_a_new_interview_is_refused(workspace, member, login):
    response = login(member).post(
        f"{BASE}/interviews/new/",
        {
            "title": "Both",
            "transcript": "Pasted",
            "transcript_file": SimpleUploadedFile("t.txt", b"Uploaded"),
        },
    )

    assert response.status_code == 400
    assert "Paste the transcript or upload a file, not both." in response.content.decode()
    assert not Interview.objects.for_workspace(workspace).exists()


def test_deleting_an_interview_asks_first_and_recounts_insights(desk, member, login):
    workspace = desk.interview.workspace
    highlight = services.highlight_create(
        workspace=workspace, actor=member, start=0, end=11, interview=desk.interview
    )
    services.evidence_add(
        workspace=workspace, actor=member, insight=desk.insight, highlight=highlight
    )
    client = login(member)
    page = client.get(f"{BASE}/interviews/{desk.interview.id}/").content.decode()

    response = client.post(f"{BASE}/interviews/{desk.interview.id}/delete/")

    desk.insight.refresh_from_db()
    assert 'data-confirm="Delete “Call with Peter” with its transcript and 1 highlight?' in page
    assert response["Location"] == f"{BASE}/interviews/"
    assert not Interview.objects.for_workspace(workspace).exists()
    assert (desk.insight.evidence_count, desk.insight.customer_count) == (0, 0)


def test_a_viewer_cannot_delete_an_interview(desk, viewer, login):
    response = login(viewer).post(f"{BASE}/interviews/{desk.interview.id}/delete/")

    assert response.status_code == 403
    assert Interview.objects.for_workspace(desk.interview.workspace).count() == 1
