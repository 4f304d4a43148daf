"""Highlights: offsets, re-anchoring, the create / tag / delete routes, and how they render."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from discovery import services
from discovery.highlight_text import marked_text, quote_in_context
from discovery.models import Evidence, Highlight, Tagging
from discovery.services import reanchor
from tests.discovery.pages_support import TRANSCRIPT, make_desk, span_of

pytestmark = pytest.mark.django_db

BASE = "/w/acme/discovery"


@pytest.fixture
def desk(workspace, member):
    return make_desk(workspace, member)


# --- reanchor (pure) -------------------------------------------------------------------------
def test_reanchor_keeps_a_span_whose_words_did_not_move():
    assert reanchor("abc quote def", start=4, end=9, quote="quote") == (4, 9)


def test_reanchor_follows_words_that_moved():
    assert reanchor("new text, abc quote def", start=4, end=9, quote="quote") == (14, 19)


def test_reanchor_picks_the_nearest_of_several_occurrences():
    text = "quote ... quote ........ quote"
    assert reanchor(text, start=12, end=17, quote="quote") == (10, 15)


def test_reanchor_gives_up_when_the_words_are_gone():
    assert reanchor("completely different", start=0, end=5, quote="quote") is None


# --- highlight_create: offsets and tenancy ---------------------------------------------------
@pytest.mark.parametrize(
    ("start", "end"),
    [(-1, 5), (5, 5), (9, 3), (0, len(TRANSCRIPT) + 1), (10_000, 10_001)],
    ids=["negative_case", "empty_case", "reversed_case", "past_end_case", "far_away_case"],
)
def test_offsets_outside_the_text_are_refused(desk, member, start, end):
    with pytest.raises(ValidationError) as caught:
        services.highlight_create(
            workspace=desk.interview.workspace,
            actor=member,
            start=start,
            end=end,
            interview=desk.interview,
        )

    assert "is outside the text" in str(caught.value)
    assert not Highlight.objects.for_workspace(desk.interview.workspace).exists()


def test_a_span_of_only_spaces_is_refused(desk, member):
    with pytest.raises(ValidationError, match="Select some words"):
        services.highlight_create(
            workspace=desk.feedback.workspace,
            actor=member,
            start=3,
            end=4,
            feedback=desk.feedback,
        )


def test_the_quote_is_the_words_between_the_offsets(desk, member):
    start, end = span_of(desk.feedback.text, "times out")

    highlight = services.highlight_create(
        workspace=desk.feedback.workspace,
        actor=member,
        start=start,
        end=end,
        feedback=desk.feedback,
    )

    assert highlight.quote == "times out"


def test_a_highlight_on_another_workspaces_interview_is_refused(
    desk, other_workspace, outsider, member
):
    theirs = make_desk(other_workspace, outsider, prefix="G")

    with pytest.raises(ValidationError, match="Unknown interview or feedback"):
        services.highlight_create(
            workspace=desk.interview.workspace,
            actor=member,
            start=0,
            end=5,
            interview=theirs.interview,
        )


def test_a_tag_of_another_workspace_is_refused(desk, other_workspace, outsider, member):
    theirs = make_desk(other_workspace, outsider, prefix="G")

    with pytest.raises(ValidationError, match="Unknown tag"):
        services.highlight_create(
            workspace=desk.interview.workspace,
            actor=member,
            start=0,
            end=5,
            interview=desk.interview,
            tag_ids=[theirs.tag.id],
        )

    assert not Highlight.objects.for_workspace(desk.interview.workspace).exists()


# --- routes ----------------------------------------------------------------------------------
def test_posting_offsets_creates_a_tagged_highlight_and_returns_to_it(desk, member, login):
    start, end = span_of(TRANSCRIPT, "export times out")

    response = login(member).post(
        f"{BASE}/interviews/{desk.interview.id}/highlights/",
        {"start": start, "end": end, "tag_ids": [desk.tag.id]},
    )

    highlight = Highlight.objects.for_workspace(desk.interview.workspace).get()
    assert response.status_code == 302
    assert response["Location"] == (
        f"{BASE}/interviews/{desk.interview.id}/#highlight-{highlight.id}"
    )
    assert highlight.quote == "export times out"
    assert highlight.author == member
    assert [t.tag_id for t in highlight.taggings.all()] == [desk.tag.id]


def test_a_highlight_on_a_long_feedback_text_works_the_same_way(desk, member, login):
    workspace = desk.feedback.workspace
    long_text = ("Filler sentence about nothing much. " * 500) + "The needle is here."
    services.feedback_update(
        workspace=workspace, actor=member, feedback=desk.feedback, text=long_text
    )
    start, end = span_of(long_text, "The needle is here")

    response = login(member).post(
        f"{BASE}/feedback/{desk.feedback.id}/highlights/", {"start": start, "end": end}
    )

    highlight = Highlight.objects.for_workspace(workspace).get()
    assert response["Location"].endswith(f"#highlight-{highlight.id}")
    assert highlight.feedback_id == desk.feedback.id
    assert highlight.quote == "The needle is here"


def test_invalid_offsets_are_a_clear_error_and_create_nothing(desk, member, login):
    client = login(member)

    response = client.post(
        f"{BASE}/interviews/{desk.interview.id}/highlights/", {"start": 5, "end": 99_999}
    )
    page = client.get(response["Location"])

    assert response.status_code == 302
    assert "The highlight was not saved." in page.content.decode()
    assert f"is outside the text (0–{len(TRANSCRIPT)})" in page.content.decode()
    assert not Highlight.objects.for_workspace(desk.interview.workspace).exists()


def test_offsets_that_are_not_numbers_are_a_clear_error(desk, member, login):
    client = login(member)

    response = client.post(
        f"{BASE}/interviews/{desk.interview.id}/highlights/", {"start": "a", "end": ""}
    )

    assert "give a start and an end position" in client.get(response["Location"]).content.decode()
    assert not Highlight.objects.for_workspace(desk.interview.workspace).exists()


def test_tag_ids_of_another_workspace_are_refused_by_the_form(
    desk, other_workspace, outsider, member, login
):
    theirs = make_desk(other_workspace, outsider, prefix="G")

    login(member).post(
        f"{BASE}/interviews/{desk.interview.id}/highlights/",
        {"start": 0, "end": 11, "tag_ids": [theirs.tag.id]},
    )

    assert not Highlight.objects.for_workspace(desk.interview.workspace).exists()


def test_tag_and_untag_a_highlight(desk, member, login):
    workspace = desk.interview.workspace
    highlight = services.highlight_create(
        workspace=workspace, actor=member, start=0, end=11, interview=desk.interview
    )
    client = login(member)

    tagged = client.post(f"{BASE}/highlights/{highlight.id}/tag/", {"tag_id": desk.tag.id})
    assert Tagging.objects.for_workspace(workspace).filter(highlight=highlight).count() == 1
    untagged = client.post(f"{BASE}/highlights/{highlight.id}/untag/", {"tag_id": desk.tag.id})

    assert tagged["Location"] == f"{BASE}/interviews/{desk.interview.id}/#highlight-{highlight.id}"
    assert untagged.status_code == 302
    assert not Tagging.objects.for_workspace(workspace).filter(highlight=highlight).exists()


def test_deleting_a_highlight_recounts_the_insights_citing_it(desk, member, login):
    workspace = desk.interview.workspace
    highlight = services.highlight_create(
        workspace=workspace, actor=member, start=0, end=11, interview=desk.interview
    )
    services.evidence_add(
        workspace=workspace, actor=member, insight=desk.insight, highlight=highlight
    )

    response = login(member).post(f"{BASE}/highlights/{highlight.id}/delete/")

    desk.insight.refresh_from_db()
    assert response["Location"] == f"{BASE}/interviews/{desk.interview.id}/"
    assert not Highlight.objects.for_workspace(workspace).exists()
    assert not Evidence.objects.for_workspace(workspace).exists()
    assert desk.insight.evidence_count == 0
    assert desk.insight.customer_count == 0


def test_a_highlights_link_opens_its_feedback_at_the_highlight(desk, member, login):
    highlight = services.highlight_create(
        workspace=desk.feedback.workspace, actor=member, start=4, end=7, feedback=desk.feedback
    )

    response = login(member).get(f"{BASE}/highlights/{highlight.id}/")

    assert response["Location"] == f"{BASE}/feedback/{desk.feedback.id}/#highlight-{highlight.id}"


@pytest.mark.parametrize(("user_case", "status"), [("viewer_case", 403), ("outsider_case", 404)])
def test_who_may_not_touch_highlights(request, desk, member, login, user_case, status):
    workspace = desk.interview.workspace
    highlight = services.highlight_create(
        workspace=workspace, actor=member, start=0, end=11, interview=desk.interview
    )
    client = login(request.getfixturevalue(user_case.removesuffix("_case")))

    responses = [
        client.post(f"{BASE}/interviews/{desk.interview.id}/highlights/", {"start": 0, "end": 5}),
        client.post(f"{BASE}/feedback/{desk.feedback.id}/highlights/", {"start": 0, "end": 5}),
        client.post(f"{BASE}/highlights/{highlight.id}/tag/", {"tag_id": desk.tag.id}),
        client.post(f"{BASE}/highlights/{highlight.id}/delete/"),
    ]

    assert [r.status_code for r in responses] == [status] * 4
    assert list(Highlight.objects.for_workspace(workspace).values_list("id", flat=True)) == [
        highlight.id
    ]
    assert not Tagging.objects.for_workspace(workspace).filter(highlight=highlight).exists()


# --- rendering -------------------------------------------------------------------------------
def _highlight(id_, start, end, text, needs_review=False):
    highlight = Highlight(id=id_, start=start, end=end, quote=text[start:end])
    highlight.needs_review = needs_review
    highlight._prefetched_objects_cache = {"taggings": Tagging.objects.none()}
    return highlight


def test_marked_text_escapes_markup_in_peoples_words():
    text = "<script>alert(1)</script> & more"

    html = marked_text(text, [_highlight(1, 0, 8, text)])

    assert "<script>" not in html
    assert html.startswith('<mark class="hl" data-highlight-id="1"')
    assert "&lt;script&gt;</mark>alert(1)&lt;/script&gt; &amp; more" in html


def test_overlapping_highlights_become_flat_segments_naming_both():
    text = "one two three four"
    outer, inner = _highlight(1, 0, 13, text), _highlight(2, 4, 7, text)

    html = marked_text(text, [outer, inner])

    assert html == (
        '<mark class="hl" data-highlight-id="1" data-highlight-ids="1" id="highlight-1">one '
        "</mark>"
        '<mark class="hl hl--overlap" data-highlight-id="2" data-highlight-ids="1 2" '
        'id="highlight-2">two</mark>'
        '<mark class="hl" data-highlight-id="1" data-highlight-ids="1"> three</mark> four'
    )


def test_a_carriage_return_survives_the_html_parser_so_offsets_hold():
    text = "line one\r\nline two"

    html = marked_text(text, [_highlight(1, 10, 14, text)])

    assert html.startswith("line one&#13;\n<mark")


def test_a_highlight_whose_offsets_no_longer_cover_its_quote_is_not_marked():
    highlight = _highlight(1, 0, 3, "abc")
    highlight.quote = "xyz"

    assert marked_text("abc def", [highlight]) == "abc def"


def test_offsets_count_characters_not_bytes_or_utf16_units(desk, member):
    workspace = desk.feedback.workspace
    text = "Love it 😍 but the export times out"
    services.feedback_update(workspace=workspace, actor=member, feedback=desk.feedback, text=text)
    desk.feedback.refresh_from_db()
    start, end = span_of(text, "export")

    highlight = services.highlight_create(
        workspace=workspace, actor=member, start=start, end=end, feedback=desk.feedback
    )

    assert (highlight.start, highlight.quote) == (18, "export")  # 😍 is one character


def test_quote_in_context_keeps_a_few_words_around_the_quote():
    text = " ".join(f"w{n}" for n in range(40))
    start, end = span_of(text, "w20 w21")

    context = quote_in_context(text, start=start, end=end, quote="w20 w21", words=3)

    assert (context.before, context.quote, context.after) == (
        "w17 w18 w19 ",
        "w20 w21",
        " w22 w23 w24",
    )
    assert context.cut_before
    assert context.cut_after


@pytest.mark.parametrize("count", [1, 6])
def test_the_transcript_page_query_count_does_not_grow_with_highlights(
    desk, member, login, count, django_assert_num_queries
):
    workspace = desk.interview.workspace
    for n in range(count):
        services.highlight_create(
            workspace=workspace,
            actor=member,
            start=n,
            end=n + 20,
            interview=desk.interview,
            tag_ids=[desk.tag.id],
        )
    client = login(member)
    client.get(f"{BASE}/interviews/{desk.interview.id}/")

    # membership (+workspace, user); switcher memberships; the interview; highlights;
    # their taggings (+tag); participants (+company); the workspace's tags.
    with django_assert_num_queries(7):
        response = client.get(f"{BASE}/interviews/{desk.interview.id}/")

    assert len(response.context["highlights"]) == count


@pytest.mark.parametrize("count", [1, 6])
def test_the_feedback_page_query_count_does_not_grow_with_highlights(
    desk, member, login, count, django_assert_num_queries
):
    workspace = desk.feedback.workspace
    services.feedback_tag(
        workspace=workspace, actor=member, feedback_ids=[desk.feedback.id], tag_id=desk.tag.id
    )
    for n in range(count):
        services.highlight_create(
            workspace=workspace,
            actor=member,
            start=n,
            end=n + 10,
            feedback=desk.feedback,
            tag_ids=[desk.tag.id],
        )
    client = login(member)
    client.get(f"{BASE}/feedback/{desk.feedback.id}/")

    # membership (+workspace, user); switcher memberships; the feedback (+customer,
    # company); its taggings (+tag); its pending suggestions (+tag); highlights; their taggings
    # (+tag); the workspace's tags; insights to link; insights citing it; backlog items citing
    # it (+item).
    with django_assert_num_queries(11):
        response = client.get(f"{BASE}/feedback/{desk.feedback.id}/")

    assert len(response.context["highlights"]) == count
