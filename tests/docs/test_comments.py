"""Comments: Markdown bodies, quotes, one level of replies, limits, double submission, @mentions
(members only), resolve / reopen / delete and who may; viewers comment; pages and their errors."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from docs import review
from docs.models import COMMENT_MAX_CHARS, QUOTE_MAX_CHARS, Comment, Mention
from docs.services import document_create
from pmhub.workspaces.roles import Role
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def dana(workspace):
    return MembershipFactory(
        workspace=workspace,
        role=Role.EDITOR,
        user__name="Dana Scully",
        user__email="dana@acme.test",
    ).user


@pytest.fixture
def document(workspace, member):
    return document_create(
        workspace=workspace, actor=member, kind="prd", title="Checkout PRD",
        body="We ship one-click checkout in March.",
    )  # fmt: skip


def _url(workspace, name, **kwargs):
    return reverse(name, kwargs={"workspace_slug": workspace.slug, **kwargs})


def _add(workspace, actor, document, body, **kwargs):
    return review.comment_add(
        workspace=workspace, actor=actor, document=document, body=body, **kwargs
    )


# --- comment_add ---------------------------------------------------------------------------------
def test_a_comment_keeps_its_quote_whitespace_collapsed_and_the_version(
    workspace, member, document
):
    comment = _add(
        workspace, member, document, "  Which **March**?\r\n", quote="one-click\n  checkout"
    )

    assert (comment.body, comment.quote, comment.on_version) == (
        "Which **March**?",
        "one-click checkout",
        1,
    )


def test_a_reply_to_a_reply_joins_the_thread_and_has_no_quote(workspace, member, admin, document):
    thread = _add(workspace, member, document, "Why March?", quote="in March")
    reply = _add(workspace, admin, document, "Sales asked.", parent_id=thread.id)

    nested = _add(workspace, member, document, "OK", parent_id=reply.id, quote="ignored")

    assert (nested.parent_id, nested.quote) == (thread.id, "")
    threads = review.comment_list(workspace=workspace, document=document)
    assert [(t.id, [r.id for r in t.thread_replies]) for t in threads] == [
        (thread.id, [reply.id, nested.id])
    ]


def test_a_reply_to_another_documents_comment_is_refused(workspace, member, document):
    other = document_create(workspace=workspace, actor=member, kind="brief", title="Other")
    foreign = _add(workspace, member, other, "Elsewhere")

    with pytest.raises(review.DocumentGoneError):
        _add(workspace, member, document, "Hi", parent_id=foreign.id)


@pytest.mark.parametrize(
    ("body", "quote", "field"),
    [
        pytest.param("   ", "", "body", id="empty_case"),
        pytest.param("x" * (COMMENT_MAX_CHARS + 1), "", "body", id="long_body_case"),
        pytest.param("ok", "q" * (QUOTE_MAX_CHARS + 1), "quote", id="long_quote_case"),
    ],
)
def test_bad_comments_are_refused(workspace, member, document, body, quote, field):
    with pytest.raises(ValidationError) as exc:
        _add(workspace, member, document, body, quote=quote)

    assert field in exc.value.message_dict
    assert Comment.objects.count() == 0


def test_the_same_comment_sent_twice_is_one_comment(workspace, member, document):
    first = _add(workspace, member, document, "Ship it @Bob", quote="March")
    second = _add(workspace, member, document, "Ship it @Bob", quote="March")
    other_quote = _add(workspace, member, document, "Ship it @Bob", quote="one-click")

    assert first.id == second.id
    assert other_quote.id != first.id
    assert Comment.objects.count() == 2


def test_double_post_of_the_comment_form_creates_one(workspace, member, document, login):
    client = login(member)
    url = _url(workspace, "docs:comment-add", document_id=document.id)
    data = {"body": "Looks good", "quote": "in March"}

    responses = [client.post(url, data, HTTP_HX_REQUEST="true") for _ in range(2)]

    assert [r.status_code for r in responses] == [200, 200]
    assert Comment.objects.count() == 1


# --- mentions ------------------------------------------------------------------------------------
def test_mentions_by_name_and_by_email_resolve_to_members_only(
    workspace, member, admin, dana, outsider, document, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        comment = _add(
            workspace, member, document,
            f"@Dana Scully and @{admin.email}, see this. Not @{outsider.email} nor @Danaa.",
        )  # fmt: skip

    assert set(Mention.objects.filter(comment=comment).values_list("user_id", flat=True)) == {
        dana.id, admin.id,
    }  # fmt: skip
    assert len(callbacks) == 1


def test_mentioning_only_an_outsider_creates_nothing_and_enqueues_nothing(
    workspace, member, outsider, document, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        _add(workspace, member, document, f"cc @{outsider.email} @charlie")

    assert Mention.objects.count() == 0
    assert callbacks == []


def test_mentioning_yourself_does_not_notify_you(workspace, member, document):
    _add(workspace, member, document, f"Note to self @{member.email}")

    assert Mention.objects.count() == 0


def test_a_name_inside_a_longer_word_or_email_is_not_a_mention(workspace, dana):
    bodies = ["@DanaScullyX", "mail dana@acme.test", "@Dana Scully-Mulder", "x@Dana Scully"]

    found = [review.mentioned_members(workspace=workspace, body=b) for b in bodies]

    assert found == [[], [], [], []]
    assert review.mentioned_members(workspace=workspace, body="(@dana scully.)") == [dana]


# --- resolve / reopen / delete ------------------------------------------------------------------
def test_resolve_then_reopen(workspace, member, document):
    comment = _add(workspace, member, document, "Typo", quote="one-click")

    resolved = review.comment_resolve(workspace=workspace, actor=member, comment=comment)
    assert resolved.resolved_by_id == member.id
    assert resolved.resolved_at is not None
    reopened = review.comment_reopen(workspace=workspace, actor=member, comment=comment)
    assert reopened.resolved_at is None
    assert reopened.resolved_by_id is None


def test_a_viewer_resolves_their_own_comment_but_not_anothers(workspace, member, viewer, document):
    own = _add(workspace, viewer, document, "Mine")
    theirs = _add(workspace, member, document, "Theirs")

    review.comment_resolve(workspace=workspace, actor=viewer, comment=own)
    with pytest.raises(review.CommentPermissionError):
        review.comment_resolve(workspace=workspace, actor=viewer, comment=theirs)

    assert Comment.objects.get(id=theirs.id).resolved_at is None


def test_delete_author_or_admin_only_and_replies_go_along(workspace, member, admin, dana, document):
    thread = _add(workspace, member, document, "Thread")
    _add(workspace, dana, document, "Reply", parent_id=thread.id)

    with pytest.raises(review.CommentPermissionError):
        review.comment_delete(workspace=workspace, actor=dana, comment=thread)
    review.comment_delete(workspace=workspace, actor=admin, comment=thread)

    assert Comment.objects.count() == 0


# --- pages ---------------------------------------------------------------------------------------
def test_viewers_read_and_comment(workspace, viewer, document, login):
    """Decision: viewers (engineers, designers) comment and reply; they give no verdict unless
    they are reviewers (see test_review)."""
    client = login(viewer)

    response = client.post(
        _url(workspace, "docs:comment-add", document_id=document.id),
        {"body": "How does this work **offline**?", "quote": "one-click checkout"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "<strong>offline</strong>" in html
    assert 'data-quote="one-click checkout"' in html
    assert Comment.objects.get().author_id == viewer.id


def test_a_refused_comment_comes_back_in_the_form(workspace, member, document, login):
    text = "y" * (COMMENT_MAX_CHARS + 1)

    response = login(member).post(
        _url(workspace, "docs:comment-add", document_id=document.id),
        {"body": text, "quote": "in March"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert f"at most {COMMENT_MAX_CHARS:,} characters" in html
    assert text in html
    assert 'value="in March"' in html
    assert Comment.objects.count() == 0


def test_xss_in_a_comment_renders_inert(workspace, member, document, login):
    payload = "<script>alert(1)</script><img src=x onerror=alert(2)>[x](javascript:alert(3))"

    response = login(member).post(
        _url(workspace, "docs:comment-add", document_id=document.id),
        {"body": payload, "quote": '"><svg onload=alert(4)>'},
        HTTP_HX_REQUEST="true",
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    for live in ("<script>", "<img", "<svg onload", 'href="javascript', "onload=alert(4)>"):
        assert live not in html, live


def test_resolved_comments_collapse_into_a_count(workspace, member, document, login):
    for n in range(3):
        comment = _add(workspace, member, document, f"Point {n}")
        if n:
            review.comment_resolve(workspace=workspace, actor=member, comment=comment)

    html = (
        login(member)
        .get(_url(workspace, "docs:review-panel", document_id=document.id), HTTP_HX_REQUEST="true")
        .content.decode()
    )

    assert "<summary>2 resolved</summary>" in html
    open_part, resolved_part = html.split("<summary>2 resolved</summary>")
    assert "Point 0" in open_part
    assert "Point 1" in resolved_part
    assert "Point 2" in resolved_part


def test_resolve_reopen_and_delete_through_the_page(workspace, member, document, login):
    comment = _add(workspace, member, document, "Point")
    client = login(member)

    for name in ("docs:comment-resolve", "docs:comment-reopen", "docs:comment-delete"):
        response = client.post(
            _url(workspace, name, document_id=document.id, comment_id=comment.id),
            HTTP_HX_REQUEST="true",
        )
        assert response.status_code == 200, name

    assert Comment.objects.count() == 0


def test_comment_routes_of_another_workspace_are_404(
    workspace, other_workspace, member, outsider, document, login
):
    comment = _add(workspace, member, document, "Point")
    client = login(outsider)

    for name in ("docs:comment-resolve", "docs:comment-reopen", "docs:comment-delete"):
        url = reverse(
            name,
            kwargs={"workspace_slug": other_workspace.slug, "document_id": document.id,
                    "comment_id": comment.id},
        )  # fmt: skip
        assert client.post(url).status_code == 404

    assert Comment.objects.get().resolved_at is None


def test_without_htmx_a_comment_goes_back_to_the_document(workspace, member, document, login):
    response = login(member).post(
        _url(workspace, "docs:comment-add", document_id=document.id), {"body": "Plain post"}
    )

    comment = Comment.objects.get()
    assert response.status_code == 302
    assert response["Location"].endswith(f"/docs/{document.id}/#comment-{comment.id}")


@pytest.mark.django_db(transaction=True)
def test_the_same_comment_sent_at_once_from_two_connections_is_one(workspace, member, document):
    """Two requests of a double click, in two threads (two database connections) at once: the
    document's row lock makes the second wait and then find the first."""
    import threading

    from django.db import connection

    barrier = threading.Barrier(2)
    ids: list[int] = []

    def send():
        try:
            barrier.wait()
            comment = _add(workspace, member, document, "Double click", quote="in March")
            ids.append(comment.id)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(ids) == 2
    assert ids[0] == ids[1]
    assert Comment.objects.count() == 1


@pytest.mark.parametrize(
    ("who", "status"),
    [
        pytest.param("anonymous", 302, id="anonymous_case"),
        pytest.param("outsider", 404, id="outsider_case"),
        pytest.param("viewer", 200, id="viewer_case"),
        pytest.param("member", 200, id="editor_case"),
        pytest.param("admin", 200, id="admin_case"),
    ],
)
def test_comment_add_permission_matrix(
    workspace, document, client, login, request, who, status, django_capture_on_commit_callbacks
):
    web = client if who == "anonymous" else login(request.getfixturevalue(who))

    with django_capture_on_commit_callbacks() as callbacks:
        response = web.post(
            _url(workspace, "docs:comment-add", document_id=document.id),
            {"body": "@Dana Scully hi"},
            HTTP_HX_REQUEST="true",
        )

    assert response.status_code == status
    assert Comment.objects.count() == (1 if status == 200 else 0)
    if status != 200:
        assert callbacks == []


def test_mentions_of_members_are_drawn_as_mentions(workspace, member, dana, document, login):
    _add(
        workspace, member, document, "@Dana Scully and @nobody, `@Dana Scully` <b>@Dana Scully</b>"
    )

    html = (
        login(member)
        .get(_url(workspace, "docs:review-panel", document_id=document.id), HTTP_HX_REQUEST="true")
        .content.decode()
    )

    assert '<span class="mention">@Dana Scully</span> and @nobody' in html
    assert '&lt;b&gt;<span class="mention">@Dana Scully</span>&lt;/b&gt;' in html
    assert '"name": "Dana Scully", "email": "dana@acme.test"' in html  # the suggestions
