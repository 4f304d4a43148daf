"""The mention email: through a real SMTP server, a text and an HTML part, the link to the
comment on the document, sent once however often the task runs; members only; and a real Celery
worker sending it after the comment's transaction commits."""

from __future__ import annotations

from email.header import decode_header, make_header

import pytest
from django.conf import settings
from django.urls import reverse

from docs import review
from docs.models import Mention
from docs.services import document_create
from docs.tasks import comment_mentions_notify_task
from pmhub.workspaces.models import Membership
from pmhub.workspaces.roles import Role
from tests.factories import MembershipFactory


def _parts(message):
    return {
        part.get_content_type(): part.get_payload(decode=True).decode()
        for part in message.walk()
        if not part.is_multipart()
    }


@pytest.fixture
def dana(workspace):
    return MembershipFactory(
        workspace=workspace,
        role=Role.VIEWER,
        user__name="Dana Scully",
        user__email="dana@acme.test",
    ).user


def _setup(workspace, member, body):
    document = document_create(
        workspace=workspace, actor=member, kind="prd", title="Checkout <PRD>",
        body="We ship one-click checkout in March.",
    )  # fmt: skip
    comment = review.comment_add(
        workspace=workspace, actor=member, document=document, body=body, quote="in March"
    )
    return document, comment


def _link(workspace, document, comment):
    path = reverse(
        "docs:document-detail",
        kwargs={"workspace_slug": workspace.slug, "document_id": document.id},
    )
    return f"{settings.PMHUB_BASE_URL}{path}#comment-{comment.id}"


@pytest.mark.django_db
def test_the_mention_mail_has_text_html_and_the_link_and_goes_once(
    workspace, member, dana, smtp_mail
):
    document, comment = _setup(
        workspace, member, "@Dana Scully can you check **this**? <script>alert(1)</script>"
    )

    sent = comment_mentions_notify_task(workspace_id=workspace.id, comment_id=comment.id)
    again = comment_mentions_notify_task(workspace_id=workspace.id, comment_id=comment.id)

    assert (sent, again) == (1, 0)
    assert len(smtp_mail.messages) == 1
    mail = smtp_mail.messages[0]
    assert mail["To"] == "dana@acme.test"
    assert (
        str(make_header(decode_header(mail["Subject"])))
        == f"{member.display_name} mentioned you on “Checkout <PRD>”"
    )
    parts = _parts(mail)
    assert set(parts) == {"text/plain", "text/html"}
    link = _link(workspace, document, comment)
    assert link in parts["text/plain"]
    assert f'href="{link}"' in parts["text/html"]
    assert "On: “in March”" in parts["text/plain"]
    assert "<strong>this</strong>" in parts["text/html"]
    assert "<script>" not in parts["text/html"]
    assert "Checkout &lt;PRD&gt;" in parts["text/html"]
    assert Mention.objects.get().notified_at is not None


@pytest.mark.django_db
def test_an_outsiders_email_mentioned_sends_nothing(workspace, member, outsider, smtp_mail):
    _, comment = _setup(workspace, member, f"@{outsider.email} what do you think?")

    sent = comment_mentions_notify_task(workspace_id=workspace.id, comment_id=comment.id)

    assert sent == 0
    assert Mention.objects.count() == 0
    assert smtp_mail.messages == []


@pytest.mark.django_db
def test_a_member_who_left_before_the_mail_gets_none(workspace, member, dana, smtp_mail):
    _, comment = _setup(workspace, member, "@Dana Scully ping")
    Membership.objects.for_workspace(workspace).filter(user=dana).delete()

    sent = comment_mentions_notify_task(workspace_id=workspace.id, comment_id=comment.id)

    assert sent == 0
    assert smtp_mail.messages == []


@pytest.mark.django_db
def test_the_task_for_another_workspace_sends_nothing(
    workspace, other_workspace, member, dana, smtp_mail
):
    _, comment = _setup(workspace, member, "@Dana Scully ping")

    sent = comment_mentions_notify_task(workspace_id=other_workspace.id, comment_id=comment.id)

    assert sent == 0
    assert smtp_mail.messages == []
    assert Mention.objects.get().notified_at is None


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sends_the_mention_mail_once(
    celery_worker, worker_smtp, workspace, member, dana
):
    worker_smtp.messages.clear()

    document, comment = _setup(workspace, member, "@Dana Scully, over to you")

    messages = worker_smtp.wait_for(1)
    assert len(messages) == 1, celery_worker.log.read_text()[-2000:]
    assert messages[0]["To"] == "dana@acme.test"
    assert _link(workspace, document, comment) in _parts(messages[0])["text/plain"]
    # Run again by hand: the mention is stamped, nothing goes out twice.
    assert comment_mentions_notify_task(workspace_id=workspace.id, comment_id=comment.id) == 0
    assert Mention.objects.get().notified_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_mention_claimed_by_another_run_is_skipped_not_sent_twice(
    workspace, member, dana, smtp_mail
):
    """Two runs at once (a retry racing the first): the one that finds the mention locked skips
    it; the run holding it sends it, once."""
    import threading

    from django.db import connection, transaction

    # The mention made by hand: comment_add would enqueue it to this module's real worker.
    _, comment = _setup(workspace, member, "Dana, ping")
    Mention.objects.create(workspace=workspace, comment=comment, user=dana)
    locked, release = threading.Event(), threading.Event()

    def hold_the_row():
        try:
            with transaction.atomic():
                Mention.objects.for_workspace(workspace).select_for_update().get()
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    locked.wait(10)
    skipped = comment_mentions_notify_task(workspace_id=workspace.id, comment_id=comment.id)
    release.set()
    holder.join()
    sent = comment_mentions_notify_task(workspace_id=workspace.id, comment_id=comment.id)

    assert (skipped, sent) == (0, 1)
    assert len(smtp_mail.messages) == 1
