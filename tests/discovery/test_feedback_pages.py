"""The feedback page: words with highlights, customer, source link, status, tags, insights."""

from __future__ import annotations

import pytest

from discovery import services
from discovery.models import Evidence, Feedback, Tagging, TagSuggestion
from tests.discovery.pages_support import make_desk, span_of

pytestmark = pytest.mark.django_db

BASE = "/w/acme/discovery"


@pytest.fixture
def desk(workspace, member):
    return make_desk(workspace, member)


def _url(desk, suffix=""):
    return f"{BASE}/feedback/{desk.feedback.id}/{suffix}"


def test_the_page_shows_the_words_the_customer_and_the_source(desk, member, login):
    response = login(member).get(_url(desk))

    body = response.content.decode()
    assert response.status_code == 200
    assert "The CSV export times out on boards with more than 500 cards." in body
    assert "Peter Gibbons" in body
    assert "Initech" in body
    assert "Support" in body
    assert (
        '<a class="subtle" href="https://support.example.com/tickets/42" '
        'rel="noopener noreferrer" target="_blank">'
    ) in body


def test_a_link_that_is_not_a_web_address_is_never_rendered(workspace, member, login):
    result = services.feedback_bulk_upsert(
        workspace=workspace,
        actor=member,
        items=[
            services.FeedbackInput(
                text="Hi", external_id="x1", external_url="javascript:alert(document.cookie)"
            )
        ],
    )

    response = login(member).get(f"{BASE}/feedback/{result.ids[0]}/")

    body = response.content.decode()
    assert "javascript:" not in body
    assert "Open the original" not in body


def test_markup_in_the_feedback_text_is_shown_as_text(workspace, member, login):
    feedback = services.feedback_create(
        workspace=workspace,
        actor=member,
        data=services.FeedbackInput(text='<img src=x onerror="alert(1)"> broken'),
    )

    body = login(member).get(f"{BASE}/feedback/{feedback.id}/").content.decode()

    assert "<img src=x" not in body
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; broken" in body


def test_the_highlights_of_the_text_are_marked_in_place(desk, member, login):
    start, end = span_of(desk.feedback.text, "times out")
    highlight = services.highlight_create(
        workspace=desk.feedback.workspace,
        actor=member,
        start=start,
        end=end,
        feedback=desk.feedback,
    )

    body = login(member).get(_url(desk)).content.decode()

    assert f'data-highlight-id="{highlight.id}"' in body
    assert f'id="highlight-{highlight.id}">times out</mark>' in body
    assert f'action="{BASE}/feedback/{desk.feedback.id}/highlights/"' in body


@pytest.mark.parametrize("status", ["triaged", "archived", "new"])
def test_status_buttons_move_the_item(desk, member, login, status):
    if status == "new":
        services.feedback_set_status(
            workspace=desk.feedback.workspace,
            actor=member,
            feedback_ids=[desk.feedback.id],
            status="archived",
        )

    response = login(member).post(_url(desk, "status/"), {"status": status})

    desk.feedback.refresh_from_db()
    assert response["Location"] == _url(desk)
    assert desk.feedback.status == status


def test_an_unknown_status_changes_nothing(desk, member, login):
    login(member).post(_url(desk, "status/"), {"status": "deleted"})

    desk.feedback.refresh_from_db()
    assert desk.feedback.status == Feedback.Status.NEW


def test_add_and_remove_a_tag(desk, member, login):
    workspace = desk.feedback.workspace
    client = login(member)

    client.post(_url(desk, "tag/"), {"tag_id": desk.tag.id})
    tagging = Tagging.objects.for_workspace(workspace).get(feedback=desk.feedback)
    page = client.get(_url(desk)).content.decode()
    client.post(_url(desk, "untag/"), {"tag_id": desk.tag.id})

    assert (tagging.tag_id, tagging.origin, tagging.created_by) == (desk.tag.id, "person", member)
    assert 'aria-label="Remove tag Exports"' in page
    assert not Tagging.objects.for_workspace(workspace).filter(feedback=desk.feedback).exists()


def _suggest(desk, tag, confidence=0.62):
    return TagSuggestion.objects.create(
        workspace=desk.feedback.workspace,
        tag=tag,
        feedback=desk.feedback,
        confidence=confidence,
        model_version=1,
    )


def test_the_page_shows_who_applied_each_tag_and_the_pending_suggestions(desk, member, login):
    workspace = desk.feedback.workspace
    speed = services.tag_create(workspace=workspace, actor=None, name="Speed")
    ux = services.tag_create(workspace=workspace, actor=None, name="UX")
    billing = services.tag_create(workspace=workspace, actor=None, name="Billing")
    # Exports by a rule and by a person: one chip, the person's.
    Tagging.objects.create(workspace=workspace, tag=desk.tag, feedback=desk.feedback, origin="rule")
    services.feedback_tag(
        workspace=workspace, actor=member, feedback_ids=[desk.feedback.id], tag_id=desk.tag.id
    )
    Tagging.objects.create(
        workspace=workspace, tag=speed, feedback=desk.feedback, origin="model", confidence=0.87
    )
    Tagging.objects.create(workspace=workspace, tag=ux, feedback=desk.feedback, origin="rule")
    suggestion = _suggest(desk, billing)
    decided = _suggest(desk, services.tag_create(workspace=workspace, actor=None, name="Old"))
    TagSuggestion.objects.for_workspace(workspace).filter(id=decided.id).update(status="rejected")

    response = login(member).get(_url(desk))

    assert [(t.name, t.origin, t.percent) for t in response.context["applied_tags"]] == [
        ("Exports", "person", None),
        ("Speed", "model", 87),
        ("UX", "rule", None),
    ]
    assert [s.id for s in response.context["suggestions"]] == [suggestion.id]
    body = response.content.decode()
    assert f'data-tag-id="{desk.tag.id}" data-origin="person"' in body
    assert f'data-tag-id="{speed.id}" data-origin="model"' in body
    assert "87%" in body
    assert f'data-tag-id="{ux.id}" data-origin="rule"' in body
    assert "(by a rule)" in body
    assert f'data-suggestion-id="{suggestion.id}"' in body
    assert "62%" in body
    assert 'aria-label="Accept Billing"' in body
    assert 'aria-label="Reject Billing"' in body
    assert f'name="next" value="{_url(desk)}"' in body
    # Plain posts back to this page: no htmx row swap here.
    assert 'hx-target="closest tr"' not in body
    assert "No tag fits" in body
    # The page's own tag chips are the inbox's: the old ones are gone.
    assert 'class="tag-chip"' not in body


@pytest.mark.parametrize(("decision", "status"), [("accept", "accepted"), ("reject", "rejected")])
def test_deciding_a_suggestion_on_the_page_comes_back_to_it(desk, member, login, decision, status):
    workspace = desk.feedback.workspace
    suggestion = _suggest(desk, desk.tag)
    client = login(member)

    response = client.post(f"{BASE}/suggestions/{suggestion.id}/{decision}/", {"next": _url(desk)})

    assert response.status_code == 302
    assert response["Location"] == _url(desk)
    suggestion.refresh_from_db()
    assert suggestion.status == status
    tags = list(
        Tagging.objects.for_workspace(workspace)
        .filter(feedback=desk.feedback)
        .values_list("tag_id", "origin")
    )
    assert tags == ([(desk.tag.id, "person")] if decision == "accept" else [])
    page = client.get(_url(desk))
    assert page.context["suggestions"] == []
    assert [t.origin for t in page.context["applied_tags"]] == (
        ["person"] if decision == "accept" else []
    )


def test_no_tag_fits_from_the_page_turns_down_its_suggestions(desk, member, login):
    suggestion = _suggest(desk, desk.tag)
    client = login(member)

    response = client.post(f"{BASE}/feedback/{desk.feedback.id}/no-tag-fits/", {"next": _url(desk)})

    assert response["Location"] == _url(desk)
    desk.feedback.refresh_from_db()
    suggestion.refresh_from_db()
    assert (desk.feedback.no_tag_fits, suggestion.status) == (True, "rejected")
    body = client.get(_url(desk)).content.decode()
    assert "data-no-tag-fits-badge" in body
    assert "Undo “no tag fits”" in body


def test_a_viewer_sees_origins_and_suggestions_without_buttons(desk, viewer, login):
    workspace = desk.feedback.workspace
    Tagging.objects.create(workspace=workspace, tag=desk.tag, feedback=desk.feedback, origin="rule")
    suggestion = _suggest(
        desk, services.tag_create(workspace=workspace, actor=None, name="Billing")
    )

    body = login(viewer).get(_url(desk)).content.decode()

    assert 'data-origin="rule"' in body
    assert f'data-suggestion-id="{suggestion.id}"' in body
    assert "Accept Billing" not in body
    assert "Remove tag" not in body
    assert "data-no-tag-fits" not in body


def test_a_tag_of_another_workspace_is_refused(desk, other_workspace, outsider, member, login):
    theirs = make_desk(other_workspace, outsider, prefix="G")
    client = login(member)

    response = client.post(_url(desk, "tag/"), {"tag_id": theirs.tag.id})

    assert "Unknown tag." in client.get(response["Location"]).content.decode()
    assert not Tagging.objects.for_workspace(desk.feedback.workspace).exists()
    assert not Tagging.objects.for_workspace(other_workspace).exists()


def test_link_to_an_insight_cites_the_feedback_with_a_note(desk, member, login):
    workspace = desk.feedback.workspace

    response = login(member).post(
        _url(desk, "link/"), {"insight_id": desk.insight.id, "note": "Same as ticket 41"}
    )

    evidence = Evidence.objects.for_workspace(workspace).get()
    desk.insight.refresh_from_db()
    assert response["Location"] == _url(desk)
    assert (evidence.insight_id, evidence.feedback_id, evidence.note, evidence.created_by) == (
        desk.insight.id,
        desk.feedback.id,
        "Same as ticket 41",
        member,
    )
    assert (desk.insight.evidence_count, desk.insight.customer_count) == (1, 1)


def test_an_insight_of_another_workspace_cannot_be_linked(
    desk, other_workspace, outsider, member, login
):
    theirs = make_desk(other_workspace, outsider, prefix="G")

    login(member).post(_url(desk, "link/"), {"insight_id": theirs.insight.id})

    assert not Evidence.objects.for_workspace(desk.feedback.workspace).exists()
    assert not Evidence.objects.for_workspace(other_workspace).exists()


def test_the_edit_page_saves_the_text_and_the_customer(desk, member, login):
    other, _ = services.customer_upsert(
        workspace=desk.feedback.workspace, actor=member, email="milton@initech.test", name="Milton"
    )

    response = login(member).post(
        _url(desk, "edit/"),
        {
            "text": "Exports time out.\r\nEvery time.",
            "customer": other.id,
            "external_url": "https://support.example.com/tickets/43",
            "received_at": "2026-11-20T10:30",
        },
    )

    desk.feedback.refresh_from_db()
    assert response["Location"] == _url(desk)
    assert desk.feedback.text == "Exports time out.\nEvery time."
    assert desk.feedback.customer_id == other.id
    assert desk.feedback.company_id is None
    assert desk.feedback.external_url == "https://support.example.com/tickets/43"


def test_an_empty_text_is_refused_on_the_edit_page(desk, member, login):
    response = login(member).post(
        _url(desk, "edit/"), {"text": "", "received_at": "2026-11-20T10:30"}
    )

    desk.feedback.refresh_from_db()
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert desk.feedback.text.startswith("The CSV export")


def test_editing_the_text_never_marks_other_words(desk, member, login):
    start, end = span_of(desk.feedback.text, "times out")
    highlight = services.highlight_create(
        workspace=desk.feedback.workspace,
        actor=member,
        start=start,
        end=end,
        feedback=desk.feedback,
    )
    client = login(member)
    client.post(
        _url(desk, "edit/"),
        {"text": "Completely new words here.", "received_at": "2026-11-20T10:30"},
    )

    body = client.get(_url(desk)).content.decode()

    assert f'data-highlight-id="{highlight.id}"' not in body
    assert "Needs review" in body


def test_delete_asks_first_then_deletes_and_recounts_insights(desk, member, login):
    workspace = desk.feedback.workspace
    services.evidence_add(
        workspace=workspace, actor=member, insight=desk.insight, feedback=desk.feedback
    )
    client = login(member)
    page = client.get(_url(desk)).content.decode()

    response = client.post(_url(desk, "delete/"))

    desk.insight.refresh_from_db()
    assert 'data-confirm="Delete this feedback with its highlights?' in page
    assert response["Location"] == f"{BASE}/"
    assert not Feedback.objects.for_workspace(workspace).exists()
    assert desk.insight.evidence_count == 0


@pytest.mark.parametrize(("user_case", "status"), [("viewer_case", 403), ("outsider_case", 404)])
def test_who_may_not_change_feedback(request, desk, login, user_case, status):
    client = login(request.getfixturevalue(user_case.removesuffix("_case")))

    responses = [
        client.post(_url(desk, "status/"), {"status": "archived"}),
        client.post(_url(desk, "tag/"), {"tag_id": desk.tag.id}),
        client.post(_url(desk, "link/"), {"insight_id": desk.insight.id}),
        client.post(_url(desk, "edit/"), {"text": "x", "received_at": "2026-11-20T10:30"}),
        client.post(_url(desk, "delete/")),
    ]

    desk.feedback.refresh_from_db()
    assert [r.status_code for r in responses] == [status] * 5
    assert desk.feedback.status == "new"
    assert desk.feedback.text.startswith("The CSV export")
    assert not Tagging.objects.for_workspace(desk.feedback.workspace).exists()
    assert not Evidence.objects.for_workspace(desk.feedback.workspace).exists()


def test_a_viewer_reads_the_page_without_edit_controls(desk, viewer, login):
    response = login(viewer).get(_url(desk))

    body = response.content.decode()
    assert response.status_code == 200
    assert "/status/" not in body
    assert "/delete/" not in body


def test_an_outsider_gets_404(desk, outsider, login):
    client = login(outsider)

    assert client.get(_url(desk)).status_code == 404
    assert client.get(_url(desk, "edit/")).status_code == 404
