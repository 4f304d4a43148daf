"""Review: reviewers (members only), verdicts (reviewers only, on a document in review), the
document approved when every reviewer approved, back to draft on changes requested, verdicts
waiting again when the document is submitted again; the review panel's pages and queries."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from docs import review
from docs.models import Document, DocumentEvent, Reviewer
from docs.services import document_create, document_set_status
from pmhub.core.exceptions import ApplicationError
from pmhub.workspaces.roles import Role
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def _doc(workspace, actor, title="Checkout PRD", body="We ship one-click checkout."):
    return document_create(workspace=workspace, actor=actor, kind="prd", title=title, body=body)


def _submit(workspace, actor, document):
    return document_set_status(
        workspace=workspace, actor=actor, document=document, status=Document.Status.IN_REVIEW
    )


def _url(workspace, name, **kwargs):
    return reverse(name, kwargs={"workspace_slug": workspace.slug, **kwargs})


def _status(document):
    return Document.objects.get(id=document.id).status


# --- reviewers -----------------------------------------------------------------------------------
def test_reviewer_add_is_idempotent_and_members_only(workspace, member, admin, outsider):
    document = _doc(workspace, member)

    first = review.reviewer_add(workspace=workspace, actor=member, document=document, user=admin)
    again = review.reviewer_add(workspace=workspace, actor=member, document=document, user=admin)
    with pytest.raises(ValidationError) as exc:
        review.reviewer_add(workspace=workspace, actor=member, document=document, user=outsider)

    assert first.id == again.id
    assert "Only members" in exc.value.message_dict["user"][0]
    assert list(Reviewer.objects.values_list("user_id", flat=True)) == [admin.id]


def test_reviewer_remove_of_another_documents_reviewer_removes_nothing(workspace, member, admin):
    document, other = _doc(workspace, member), _doc(workspace, member, title="Other")
    reviewer = review.reviewer_add(workspace=workspace, actor=member, document=other, user=admin)

    removed = review.reviewer_remove(
        workspace=workspace, document=document, reviewer_id=reviewer.id
    )

    assert removed is False
    assert Reviewer.objects.filter(id=reviewer.id).exists()


def test_removing_a_reviewer_twice_through_the_page_says_so(workspace, member, admin, login):
    document = _doc(workspace, member)
    reviewer = review.reviewer_add(workspace=workspace, actor=member, document=document, user=admin)
    client = login(member)
    remove = _url(
        workspace, "docs:reviewer-remove", document_id=document.id, reviewer_id=reviewer.id
    )

    first = client.post(remove, follow=True).content.decode()
    again = client.post(remove, follow=True).content.decode()

    assert "Reviewer removed." in first
    assert "That reviewer was removed already." in again
    assert "Reviewer removed." not in again
    assert not Reviewer.objects.filter(document=document).exists()


# --- verdicts ------------------------------------------------------------------------------------
def test_all_reviewers_approving_approves_the_document(workspace, member, admin, viewer):
    document = _doc(workspace, member)
    for user in (admin, viewer):
        review.reviewer_add(workspace=workspace, actor=member, document=document, user=user)
    _submit(workspace, member, document)

    review.review_verdict(workspace=workspace, actor=admin, document=document, verdict="approved")
    assert _status(document) == Document.Status.IN_REVIEW
    # A viewer who reviews gives a verdict like anyone.
    reviewer = review.review_verdict(
        workspace=workspace, actor=viewer, document=document, verdict="approved", note=" LGTM  "
    )

    assert _status(document) == Document.Status.APPROVED
    assert (reviewer.verdict, reviewer.note, reviewer.on_version) == ("approved", "LGTM", 1)
    kinds = list(
        DocumentEvent.objects.filter(document=document).order_by("id").values_list("kind", "actor")
    )
    assert kinds == [("created", member.id), ("submitted", member.id), ("approved", viewer.id)]


def test_changes_requested_sends_the_document_back_to_draft(workspace, member, admin, viewer):
    document = _doc(workspace, member)
    for user in (admin, viewer):
        review.reviewer_add(workspace=workspace, actor=member, document=document, user=user)
    _submit(workspace, member, document)
    review.review_verdict(workspace=workspace, actor=admin, document=document, verdict="approved")

    review.review_verdict(
        workspace=workspace, actor=viewer, document=document, verdict="changes", note="Add metrics"
    )

    assert _status(document) == Document.Status.DRAFT
    event = DocumentEvent.objects.get(document=document, kind=DocumentEvent.Kind.CHANGES)
    assert event.actor_id == viewer.id


def test_submitting_again_sets_every_verdict_back_to_waiting(workspace, member, admin, viewer):
    """Decision: a verdict counts in the round it was given in. After changes were requested and
    the document is submitted again, the earlier approval waits again: all must approve anew."""
    document = _doc(workspace, member)
    for user in (admin, viewer):
        review.reviewer_add(workspace=workspace, actor=member, document=document, user=user)
    _submit(workspace, member, document)
    review.review_verdict(workspace=workspace, actor=admin, document=document, verdict="approved")
    review.review_verdict(workspace=workspace, actor=viewer, document=document, verdict="changes")

    _submit(workspace, member, document)
    started = review.review_round_started(workspace=workspace, document=document)
    verdicts = {
        r.user_id: (r.current_verdict, r.stale_verdict)
        for r in review.reviewer_list(workspace=workspace, document=document, round_started=started)
    }
    assert verdicts == {admin.id: ("pending", "approved"), viewer.id: ("pending", "changes")}

    review.review_verdict(workspace=workspace, actor=viewer, document=document, verdict="approved")
    assert _status(document) == Document.Status.IN_REVIEW  # the admin's old approval waits
    review.review_verdict(workspace=workspace, actor=admin, document=document, verdict="approved")
    assert _status(document) == Document.Status.APPROVED


def test_only_reviewers_give_a_verdict_and_only_in_review(workspace, member, admin):
    document = _doc(workspace, member)
    review.reviewer_add(workspace=workspace, actor=member, document=document, user=admin)

    with pytest.raises(ApplicationError, match="not in review"):
        review.review_verdict(
            workspace=workspace, actor=admin, document=document, verdict="approved"
        )
    _submit(workspace, member, document)
    with pytest.raises(review.NotAReviewerError):
        review.review_verdict(
            workspace=workspace, actor=member, document=document, verdict="approved"
        )
    with pytest.raises(ValidationError):
        review.review_verdict(workspace=workspace, actor=admin, document=document, verdict="meh")

    assert Reviewer.objects.get().verdict == "pending"
    assert _status(document) == Document.Status.IN_REVIEW


def test_removing_the_last_waiting_reviewer_approves(workspace, member, admin, viewer):
    document = _doc(workspace, member)
    review.reviewer_add(workspace=workspace, actor=member, document=document, user=admin)
    waiting = review.reviewer_add(workspace=workspace, actor=member, document=document, user=viewer)
    _submit(workspace, member, document)
    review.review_verdict(workspace=workspace, actor=admin, document=document, verdict="approved")

    review.reviewer_remove(workspace=workspace, document=document, reviewer_id=waiting.id)

    assert _status(document) == Document.Status.APPROVED


# --- pages ---------------------------------------------------------------------------------------
ROLES = [Role.ADMIN, Role.EDITOR, Role.VIEWER]


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        pytest.param(Role.ADMIN, True, id="admin_case"),
        pytest.param(Role.EDITOR, True, id="editor_case"),
        pytest.param(Role.VIEWER, False, id="viewer_case"),
    ],
)
def test_reviewer_add_page_permissions(workspace, member, login, role, allowed):
    document = _doc(workspace, member)
    person = MembershipFactory(workspace=workspace, role=role).user
    candidate = MembershipFactory(workspace=workspace, role=Role.VIEWER).user

    response = login(person).post(
        _url(workspace, "docs:reviewer-add", document_id=document.id),
        {"user": candidate.id},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == (200 if allowed else 403)
    assert Reviewer.objects.filter(user=candidate).exists() is allowed


def test_outsider_and_anonymous_get_404_and_login(workspace, member, outsider, login, client):
    document = _doc(workspace, member)
    routes = [
        ("docs:review-panel", {}),
        ("docs:review-verdict", {}),
        ("docs:reviewer-add", {}),
        ("docs:comment-add", {}),
    ]
    for name, extra in routes:
        url = _url(workspace, name, document_id=document.id, **extra)
        method = "get" if name == "docs:review-panel" else "post"
        assert getattr(login(outsider), method)(url).status_code == 404
        assert getattr(client, method)(url).status_code == 302
    assert Reviewer.objects.count() == 0


def test_reviewer_add_refuses_an_outsider_by_id(workspace, member, outsider, login):
    document = _doc(workspace, member)

    response = login(member).post(
        _url(workspace, "docs:reviewer-add", document_id=document.id),
        {"user": outsider.id},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 400
    assert "Only members of this workspace can review." in response.content.decode()
    assert Reviewer.objects.count() == 0


def test_verdict_through_the_page_approves_and_asks_for_a_refresh(workspace, member, admin, login):
    document = _doc(workspace, member)
    review.reviewer_add(workspace=workspace, actor=member, document=document, user=admin)
    _submit(workspace, member, document)

    response = login(admin).post(
        _url(workspace, "docs:review-verdict", document_id=document.id),
        {"verdict": "approved", "note": "Ship it"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert response["HX-Refresh"] == "true"
    assert _status(document) == Document.Status.APPROVED


def test_a_viewer_who_is_not_a_reviewer_gets_403_for_a_verdict(workspace, member, viewer, login):
    document = _doc(workspace, member)
    _submit(workspace, member, document)

    response = login(viewer).post(
        _url(workspace, "docs:review-verdict", document_id=document.id),
        {"verdict": "approved"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 403
    assert "Only the document&#x27;s reviewers give a verdict." in response.content.decode()
    assert _status(document) == Document.Status.IN_REVIEW


def _panel_queries(workspace, user, login, django_assert_num_queries, count):
    document = Document.objects.get()
    client = login(user)
    url = _url(workspace, "docs:review-panel", document_id=document.id)
    client.get(url)  # warm the session
    with django_assert_num_queries(count):
        response = client.get(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    return response


@pytest.mark.parametrize("size", [1, 8])
def test_review_panel_queries_are_constant(
    workspace, member, admin, login, django_assert_num_queries, size
):
    document = _doc(workspace, member)
    for n in range(size):
        user = MembershipFactory(workspace=workspace, role=Role.VIEWER).user
        review.reviewer_add(workspace=workspace, actor=member, document=document, user=user)
        thread = review.comment_add(
            workspace=workspace, actor=user, document=document, body=f"Point {n}", quote="ship"
        )
        review.comment_add(
            workspace=workspace, actor=member, document=document, body=f"Reply {n}",
            parent_id=thread.id,
        )  # fmt: skip
        if n % 2:
            review.comment_resolve(workspace=workspace, actor=member, comment=thread)

    # Editor: the user with the membership, the document, the round's start, the reviewers,
    # the comments, the members (the reviewer picker, the @mention suggestions).
    response = _panel_queries(workspace, member, login, django_assert_num_queries, 6)
    assert response.content.decode().count('<li class="comment-thread') == size


# --- decision records on the item page ----------------------------------------------------------
def test_the_item_page_lists_the_decision_records_concerning_it(
    workspace, other_workspace, member, viewer, login
):
    from backlog import services as backlog
    from docs.services import document_link_add, document_update_details

    item = backlog.item_create(workspace=workspace, actor=None, title="Offline mode")
    linked = document_create(workspace=workspace, actor=member, kind="decision", title="Use SQLite")
    document_link_add(workspace=workspace, document=linked, item_id=item.id)
    cited = document_create(
        workspace=workspace, actor=member, kind="decision", title="Sync with CRDTs",
        body=f"Concerns [[item:{item.id}]].",
    )  # fmt: skip
    document_update_details(
        workspace=workspace, document=linked, decision_status="superseded", superseded_by=cited
    )
    document_update_details(workspace=workspace, document=cited, decision_status="accepted")
    document_create(
        workspace=workspace, actor=member, kind="prd", title="Offline PRD",
        body=f"[[item:{item.id}]]",
    )  # fmt: skip
    document_create(
        workspace=other_workspace, actor=None, kind="decision", title="Globex secret",
        body=f"[[item:{item.id}]]",
    )  # fmt: skip

    response = login(viewer).get(_url(workspace, "backlog:item-detail", item_id=item.id))

    html = response.content.decode()
    section = html.split('id="decisions"')[1].split("</section>")[0]
    assert "Use SQLite" in section
    assert "Sync with CRDTs" in section
    assert "Superseded" in section
    assert "Accepted" in section
    assert section.count(_url(workspace, "docs:document-detail", document_id=cited.id)) == 2
    assert "Offline PRD" not in section
    assert "Globex secret" not in html
    records = review.decision_records_for_item(workspace=workspace, item_id=item.id)
    assert {r.title for r in records} == {"Use SQLite", "Sync with CRDTs"}


def test_an_item_without_decisions_says_where_they_come_from(workspace, viewer, login):
    from backlog import services as backlog

    item = backlog.item_create(workspace=workspace, actor=None, title="Offline mode")

    html = login(viewer).get(_url(workspace, "backlog:item-detail", item_id=item.id))

    assert "Decision records linked to this item or citing it show here." in html.content.decode()


def test_the_same_verdict_sent_twice_is_accepted_once(workspace, member, admin, login):
    document = _doc(workspace, member)
    review.reviewer_add(workspace=workspace, actor=member, document=document, user=admin)
    _submit(workspace, member, document)
    client = login(admin)
    url = _url(workspace, "docs:review-verdict", document_id=document.id)

    responses = [
        client.post(url, {"verdict": "approved"}, HTTP_HX_REQUEST="true") for _ in range(2)
    ]

    assert [r.status_code for r in responses] == [200, 200]
    assert _status(document) == Document.Status.APPROVED
    assert DocumentEvent.objects.filter(document=document, kind="approved").count() == 1


def test_review_panel_queries_for_a_viewer(
    workspace, member, viewer, login, django_assert_num_queries
):
    document = _doc(workspace, member)
    review.reviewer_add(workspace=workspace, actor=member, document=document, user=viewer)
    review.comment_add(workspace=workspace, actor=viewer, document=document, body="Hm", quote="We")

    # The user with the membership, the document, the round's start, the reviewers, the
    # comments, the members (the @mention suggestions).
    _panel_queries(workspace, viewer, login, django_assert_num_queries, 6)


def test_a_viewer_who_reviews_approves_through_the_page(workspace, member, viewer, login):
    document = _doc(workspace, member)
    review.reviewer_add(workspace=workspace, actor=member, document=document, user=viewer)
    _submit(workspace, member, document)

    response = login(viewer).post(
        _url(workspace, "docs:review-verdict", document_id=document.id),
        {"verdict": "changes", "note": "Say what happens offline."},
    )

    assert response.status_code == 302
    assert (
        response["Location"]
        == _url(workspace, "docs:document-detail", document_id=document.id) + "#review"
    )
    assert _status(document) == Document.Status.DRAFT
    assert Reviewer.objects.get().note == "Say what happens offline."


def test_review_waiting_on_names_who_has_not_approved_this_round(workspace, member, admin, viewer):
    document = _doc(workspace, member)
    for user in (admin, viewer):
        review.reviewer_add(workspace=workspace, actor=member, document=document, user=user)
    _submit(workspace, member, document)
    review.review_verdict(workspace=workspace, actor=admin, document=document, verdict="approved")

    waiting = review.review_waiting_on(workspace=workspace, document=document)

    assert [r.user_id for r in waiting] == [viewer.id]


def test_a_note_too_long_is_refused_and_kept(workspace, member, admin, login):
    document = _doc(workspace, member)
    review.reviewer_add(workspace=workspace, actor=member, document=document, user=admin)
    _submit(workspace, member, document)
    note = "n" * 1_001

    response = login(admin).post(
        _url(workspace, "docs:review-verdict", document_id=document.id),
        {"verdict": "approved", "note": note},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 400
    assert "Keep the note under 1,000 characters." in response.content.decode()
    assert f'value="{note}"' in response.content.decode()
    assert Reviewer.objects.get().verdict == "pending"


def test_a_reviewer_who_left_the_workspace_holds_nothing_back(workspace, member, admin, viewer):
    from pmhub.workspaces.models import Membership

    document = _doc(workspace, member)
    for user in (admin, viewer):
        review.reviewer_add(workspace=workspace, actor=member, document=document, user=user)
    _submit(workspace, member, document)
    Membership.objects.for_workspace(workspace).filter(user=viewer).delete()

    review.review_verdict(workspace=workspace, actor=admin, document=document, verdict="approved")

    assert _status(document) == Document.Status.APPROVED
    assert [r.user_id for r in review.reviewer_list(workspace=workspace, document=document)] == [
        admin.id
    ]


def test_the_status_control_cannot_approve_over_waiting_reviewers(workspace, member, admin):
    document = _doc(workspace, member)
    review.reviewer_add(workspace=workspace, actor=member, document=document, user=admin)
    _submit(workspace, member, document)

    with pytest.raises(ApplicationError) as exc:
        document_set_status(
            workspace=workspace, actor=member, document=document, status=Document.Status.APPROVED
        )
    assert "Waiting on" in exc.value.message
    assert _status(document) == Document.Status.IN_REVIEW

    review.review_verdict(workspace=workspace, actor=admin, document=document, verdict="approved")
    assert _status(document) == Document.Status.APPROVED


def test_without_reviewers_an_editor_approves_by_hand(workspace, member):
    document = _doc(workspace, member)
    _submit(workspace, member, document)
    document_set_status(
        workspace=workspace, actor=member, document=document, status=Document.Status.APPROVED
    )
    assert _status(document) == Document.Status.APPROVED
