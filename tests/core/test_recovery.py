"""The watchdog of lost tasks (pmhub.core.recovery): scoring jobs, invitation and mention mails
and immediate digests that PostgreSQL records as owed are enqueued again, once per stall
period, and nothing finished, fresh, closed or too old is."""

from __future__ import annotations

import datetime
import logging
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone

from backlog import recovery as backlog_recovery
from backlog import scoring
from backlog.models import Item, ScoringJob
from backlog.services import item_create, item_set_status
from docs import recovery as docs_recovery
from docs.models import Mention
from docs.review import comment_add
from docs.services import document_create, document_set_status
from pmhub.celery import app as celery_app
from pmhub.core import recovery
from pmhub.digests import recovery as digests_recovery
from pmhub.digests import services as digests
from pmhub.digests.models import Cadence, Delivery
from pmhub.digests.tasks import digests_immediate_task
from pmhub.workspaces import recovery as workspaces_recovery
from pmhub.workspaces.models import Invitation
from pmhub.workspaces.services import invitation_create, invitation_revoke
from tests.discovery.test_recovery import enqueued, silent_for

pytestmark = pytest.mark.django_db


def _later(seconds: float) -> datetime.datetime:
    return timezone.now() + datetime.timedelta(seconds=seconds)


def run(callbacks: list[Any]) -> None:
    """Run the tasks enqueued on commit, here and now, as a worker would."""
    for callback in callbacks:
        callback.func.__self__(**callback.keywords)


# --- scoring jobs --------------------------------------------------------------------------------
def _job(workspace, member, capture) -> ScoringJob:
    item_create(workspace=workspace, actor=member, title="SSO")
    with capture():  # its task, lost with the queue
        _formula, job = scoring.formula_create(
            workspace=workspace, actor=member, name="Value", source="customer_count * 2"
        )
    return job


def test_a_waiting_scoring_job_is_enqueued_again_once_and_then_runs(
    workspace, member, django_capture_on_commit_callbacks
):
    job = _job(workspace, member, django_capture_on_commit_callbacks)
    assert backlog_recovery.scoring_jobs_resume(now=timezone.now()) == 0  # fresh: its task may run
    silent_for(ScoringJob, 21, id=job.id)

    with django_capture_on_commit_callbacks() as callbacks:
        assert backlog_recovery.scoring_jobs_resume(now=timezone.now()) == 1
    with django_capture_on_commit_callbacks() as again:
        assert backlog_recovery.scoring_jobs_resume(now=timezone.now()) == 0

    assert enqueued(callbacks) == [
        ("pmhub.backlog.scores_recompute", {"workspace_id": workspace.id, "job_id": job.id})
    ]
    assert again == []  # touched: the next try is a stall period away
    run(callbacks)
    job.refresh_from_db()
    assert (job.status, job.processed) == ("done", 1)


@pytest.mark.parametrize("status", ["running", "done", "failed", "superseded"])
def test_a_scoring_job_past_waiting_is_left_alone(
    workspace, member, django_capture_on_commit_callbacks, status
):
    job = _job(workspace, member, django_capture_on_commit_callbacks)
    ScoringJob.objects.for_workspace(workspace).filter(id=job.id).update(status=status)
    silent_for(ScoringJob, 3600, id=job.id)
    assert backlog_recovery.scoring_jobs_resume(now=timezone.now()) == 0


# --- invitation mails ----------------------------------------------------------------------------
def test_an_unsent_invitation_is_mailed_again_and_once(
    workspace, admin, smtp_mail, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks():
        invitation = invitation_create(
            workspace=workspace, actor=admin, email="new@acme.test", role="editor"
        )
    silent_for(Invitation, 60, id=invitation.id)
    assert workspaces_recovery.invitations_resume(now=timezone.now()) == 0  # may be retrying
    silent_for(Invitation, 121, id=invitation.id)

    with django_capture_on_commit_callbacks() as callbacks:
        assert workspaces_recovery.invitations_resume(now=timezone.now()) == 1
    run(callbacks + callbacks)  # enqueued twice: still one mail

    assert enqueued(callbacks) == [
        (
            "pmhub.workspaces.invitation_email_send",
            {"workspace_id": workspace.id, "invitation_id": invitation.id},
        )
    ]
    assert [m["To"] for m in smtp_mail.wait_for(1)] == ["new@acme.test"]
    invitation.refresh_from_db()
    assert invitation.email_status == Invitation.EmailStatus.SENT
    silent_for(Invitation, 3600, id=invitation.id)
    assert workspaces_recovery.invitations_resume(now=timezone.now()) == 0


def test_closed_or_expired_invitations_are_not_mailed(
    workspace, admin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks():
        revoked = invitation_create(
            workspace=workspace, actor=admin, email="gone@acme.test", role="editor"
        )
        invitation_revoke(workspace=workspace, actor=admin, invitation=revoked)
        expired = invitation_create(
            workspace=workspace, actor=admin, email="late@acme.test", role="editor"
        )
    Invitation.objects.for_workspace(workspace).filter(id=expired.id).update(
        expires_at=timezone.now()
    )
    silent_for(Invitation, 121, workspace=workspace)
    assert workspaces_recovery.invitations_resume(now=timezone.now()) == 0


# --- mention mails -------------------------------------------------------------------------------
def _mentioning_comment(workspace, member, capture):
    document = document_create(
        workspace=workspace, actor=member, kind="prd", title="Checkout", body="One click."
    )
    with capture():  # its task, lost with the queue
        return comment_add(
            workspace=workspace,
            actor=member,
            document=document,
            body="@alice@acme.test and @vic@acme.test, look",
        )


def test_unsent_mentions_are_mailed_again_once_per_comment(
    workspace, member, admin, viewer, smtp_mail, django_capture_on_commit_callbacks
):
    comment = _mentioning_comment(workspace, member, django_capture_on_commit_callbacks)
    assert Mention.objects.for_workspace(workspace).count() == 2

    silent_for(Mention, 121, workspace=workspace)
    with django_capture_on_commit_callbacks() as callbacks:
        assert docs_recovery.mentions_resume(now=timezone.now()) == 1  # one comment, 2 mentions
    run(callbacks)

    assert enqueued(callbacks) == [
        ("pmhub.docs.mention_emails_send", {"workspace_id": workspace.id, "comment_id": comment.id})
    ]
    assert sorted(m["To"] for m in smtp_mail.wait_for(2)) == ["alice@acme.test", "vic@acme.test"]
    silent_for(Mention, 3600, workspace=workspace)
    assert docs_recovery.mentions_resume(now=timezone.now()) == 0


def test_mentions_older_than_a_day_are_given_up(
    workspace, member, admin, django_capture_on_commit_callbacks
):
    _mentioning_comment(workspace, member, django_capture_on_commit_callbacks)
    Mention.objects.for_workspace(workspace).update(
        created_at=timezone.now() - datetime.timedelta(days=1, minutes=1)
    )
    silent_for(Mention, 3600, workspace=workspace)
    assert docs_recovery.mentions_resume(now=timezone.now()) == 0


# --- immediate digests ---------------------------------------------------------------------------
def test_a_ship_whose_immediate_digests_were_lost_is_announced_after_a_restart(
    workspace, smtp_mail, django_capture_on_commit_callbacks
):
    cache.delete(digests_recovery.SCAN_KEY)
    follower = digests.stakeholder_create(
        workspace=workspace, email="exec@acme.test", cadence=Cadence.IMMEDIATELY,
        follows_workspace=True,
    )  # fmt: skip
    item = item_create(workspace=workspace, actor=None, title="Audit log")
    with django_capture_on_commit_callbacks():  # the ship's task, lost
        item_set_status(workspace=workspace, actor=None, item=item, status=Item.Status.SHIPPED)

    with django_capture_on_commit_callbacks() as callbacks:
        assert digests_recovery.immediate_digests_resume(now=_later(1)) == 1
    # The scan's marker now stands for SCAN_SECONDS: no second scan until it expires (or Redis
    # restarts empty).
    assert digests_recovery.immediate_digests_resume(now=_later(2)) == 0

    assert enqueued(callbacks) == [
        (
            "pmhub.digests.digests_immediate",
            {"workspace_id": workspace.id, "kind": "shipped", "object_id": item.id},
        )
    ]
    run(callbacks)
    delivery = Delivery.objects.for_workspace(workspace).get(period=f"now-shipped-{item.id}")
    assert delivery.stakeholder_id == follower.id
    # A second run (the original task was only late) makes nothing twice.
    assert digests_immediate_task(workspace_id=workspace.id, kind="shipped", object_id=item.id) == 0
    assert Delivery.objects.for_workspace(workspace).count() == 1


def test_release_notes_are_rescanned_and_only_where_someone_gets_immediate_digests(
    workspace, other_workspace, member, django_capture_on_commit_callbacks
):
    cache.delete(digests_recovery.SCAN_KEY)
    digests.stakeholder_create(
        workspace=workspace, email="exec@acme.test", cadence=Cadence.IMMEDIATELY,
        follows_workspace=True,
    )  # fmt: skip
    digests.stakeholder_create(
        workspace=other_workspace, email="weekly@globex.test", cadence=Cadence.WEEKLY,
        follows_workspace=True,
    )  # fmt: skip
    with django_capture_on_commit_callbacks():
        for space in (workspace, other_workspace):
            notes = document_create(
                workspace=space, actor=None, kind="release_notes", title="v2", body="New."
            )
            for status in ("in_review", "approved", "published"):
                notes = document_set_status(
                    workspace=space, actor=None, document=notes, status=status
                )
        old = item_create(workspace=workspace, actor=None, title="Old")
        item_set_status(workspace=workspace, actor=None, item=old, status=Item.Status.SHIPPED)

    with django_capture_on_commit_callbacks() as callbacks:
        # 31 minutes on: the ship and the notes are past the lookback.
        assert digests_recovery.immediate_digests_resume(now=_later(31 * 60)) == 0
    cache.delete(digests_recovery.SCAN_KEY)
    with django_capture_on_commit_callbacks() as callbacks:
        assert digests_recovery.immediate_digests_resume(now=_later(60)) == 2

    assert sorted(c["kind"] for _name, c in enqueued(callbacks)) == ["release_notes", "shipped"]
    assert {c["workspace_id"] for _name, c in enqueued(callbacks)} == {workspace.id}


# --- the beat task -------------------------------------------------------------------------------
def test_work_resume_runs_every_resumer_from_beat(
    workspace, member, django_capture_on_commit_callbacks
):
    _job(workspace, member, django_capture_on_commit_callbacks)
    silent_for(ScoringJob, 21, workspace=workspace)
    cache.set(digests_recovery.SCAN_KEY, "recent", timeout=60)

    lines: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())
    recovery.logger.addHandler(handler)
    try:
        with django_capture_on_commit_callbacks():
            resumed = recovery.work_resume()
    finally:
        recovery.logger.removeHandler(handler)

    assert resumed == {
        "scoring_jobs_resume": 1,
        "mentions_resume": 0,
        "invitations_resume": 0,
        "immediate_digests_resume": 0,
    }
    assert [line.split(":")[0] for line in lines] == ["enqueued again after a lost task"]
    entry = celery_app.conf.beat_schedule["work-resume"]
    assert (entry["task"], entry["schedule"]) == ("pmhub.core.work_resume", 15.0)
