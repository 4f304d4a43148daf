"""A real Celery worker process, on the real Redis, runs work enqueued after commit."""

from __future__ import annotations

import pytest
from django.db import transaction

from pmhub.workspaces.models import Invitation
from pmhub.workspaces.services import invitation_create

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


class Rollback(Exception):
    pass


def test_worker_sends_the_invitation_mail_after_commit(
    celery_worker, worker_smtp, workspace, admin
):
    worker_smtp.messages.clear()

    invitation = invitation_create(
        workspace=workspace, actor=admin, email="new.pm@example.com", role="editor"
    )

    messages = worker_smtp.wait_for(1)
    assert len(messages) == 1, celery_worker.log.read_text()
    mail = messages[0]
    assert mail["To"] == "new.pm@example.com"
    assert "invited you to Acme" in mail["Subject"]
    parts = {
        part.get_content_type(): part.get_payload(decode=True).decode()
        for part in mail.walk()
        if not part.is_multipart()
    }
    assert set(parts) == {"text/plain", "text/html"}
    assert "/invitations/" in parts["text/plain"]
    invitation.refresh_from_db()
    assert invitation.email_status == Invitation.EmailStatus.SENT
    assert invitation.email_sent_at is not None


def test_nothing_is_enqueued_when_the_transaction_rolls_back(
    celery_worker, worker_smtp, workspace, admin
):
    worker_smtp.messages.clear()

    def invite_then_roll_back():
        with transaction.atomic():
            invitation_create(
                workspace=workspace, actor=admin, email="ghost@example.com", role="viewer"
            )
            raise Rollback

    with pytest.raises(Rollback):
        invite_then_roll_back()

    # The worker runs one task at a time in order: once this later mail arrives, a task for the
    # rolled-back invitation would already have run.
    invitation_create(workspace=workspace, actor=admin, email="real@example.com", role="viewer")
    messages = worker_smtp.wait_for(1)

    assert [m["To"] for m in messages] == ["real@example.com"]
    assert (
        not Invitation.objects.for_workspace(workspace).filter(email="ghost@example.com").exists()
    )


def test_a_rerun_of_the_send_task_sends_nothing_twice(celery_worker, worker_smtp, workspace, admin):
    from pmhub.workspaces.tasks import invitation_send_task

    worker_smtp.messages.clear()
    invitation = invitation_create(
        workspace=workspace, actor=admin, email="once@example.com", role="viewer"
    )
    worker_smtp.wait_for(1)

    invitation_send_task.delay(workspace_id=workspace.id, invitation_id=invitation.id)
    invitation_create(workspace=workspace, actor=admin, email="marker@example.com", role="viewer")
    messages = worker_smtp.wait_for(2)

    assert [m["To"] for m in messages] == ["once@example.com", "marker@example.com"]
