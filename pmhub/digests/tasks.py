from __future__ import annotations

import smtplib

from celery import shared_task

from pmhub.digests import sender, services
from pmhub.digests.models import Stakeholder
from pmhub.workspaces.models import Workspace

# A sending task stops claiming batches after this long and hands the rest to a fresh task, well
# inside its time limit (a batch of 500 takes seconds); the broker's visibility timeout (1 h)
# exceeds the hard limit, so acks_late never runs a slow send twice.
SEND_SLICE_SECONDS = 5 * 60
SEND_SOFT_TIME_LIMIT = 9 * 60
SEND_TIME_LIMIT = 10 * 60
# A queued send older than a sweep interval is superseded by the next sweep's.
SEND_EXPIRES = 120
# The watchdog's sender is superseded by its next run, 15 s later.
RESUME_EXPIRES = 15


def _send_soon() -> None:
    digests_send_task.apply_async_on_commit(expires=SEND_EXPIRES)


@shared_task(
    name="pmhub.digests.digests_sweep",
    acks_late=True,
    ignore_result=True,
    soft_time_limit=100,
    time_limit=115,
)
def digests_sweep_task() -> int:
    """Create every delivery now due, then have them sent. Idempotent: deliveries are unique per
    (stakeholder, period) and created with ON CONFLICT DO NOTHING (an upsert)."""
    due = services.deliveries_create_due()
    if sender.deliveries_waiting():
        _send_soon()
    return due


@shared_task(
    name="pmhub.digests.digests_send",
    acks_late=True,
    ignore_result=True,
    soft_time_limit=SEND_SOFT_TIME_LIMIT,
    time_limit=SEND_TIME_LIMIT,
)
def digests_send_task() -> int:
    """Send due deliveries in batches. Idempotent: a status guard under row locks (only pending
    rows are claimed, skip locked) plus Redis sent-markers for a batch a kill left uncommitted."""
    report = sender.deliveries_send(stop_after=SEND_SLICE_SECONDS)
    if sender.deliveries_waiting():  # stopped by the slice, not by running out of work
        _send_soon()
    return report.sent


@shared_task(
    name="pmhub.digests.digests_resume",
    acks_late=True,
    ignore_result=True,
    soft_time_limit=50,
    time_limit=60,
)
def digests_resume_task() -> bool:
    """The watchdog on beat: have due deliveries sent when some wait, as after a sender's task
    was lost with Redis's queue or stopped while Redis was down. Idempotent: senders claim rows
    with SKIP LOCKED, so one more sender shares the work or finds none; a queued one older than
    the watchdog's interval expires."""
    if not sender.deliveries_waiting():
        return False
    digests_send_task.apply_async_on_commit(expires=RESUME_EXPIRES)
    return True


@shared_task(
    name="pmhub.digests.digests_immediate",
    acks_late=True,
    ignore_result=True,
    soft_time_limit=100,
    time_limit=115,
)
def digests_immediate_task(*, workspace_id: int, kind: str, object_id: int) -> int:
    """An item shipped or release notes were published: create the "immediately" stakeholders'
    deliveries and have them sent. Idempotent: unique per (stakeholder, "now-<kind>-<id>")."""
    workspace = Workspace.objects.filter(id=workspace_id).first()
    if workspace is None:
        return 0
    made = sender.deliveries_create_immediate(workspace=workspace, kind=kind, object_id=object_id)
    if made:
        _send_soon()
    return made


@shared_task(
    name="pmhub.digests.digest_test_send",
    bind=True,
    acks_late=True,
    ignore_result=True,
    autoretry_for=(smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, ConnectionError),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=3,
    soft_time_limit=60,
    time_limit=75,
)
def digest_test_send_task(self, *, workspace_id: int, stakeholder_id: int, to: str) -> int | None:
    """Send a stakeholder's next digest to `to` (a member trying it). Idempotent: the delivery's
    period is "test-<task id>", created and marked sent in one transaction, so a redelivery of
    this task finds it sent."""
    workspace = Workspace.objects.filter(id=workspace_id).first()
    if workspace is None:
        return None
    stakeholder = Stakeholder.objects.for_workspace(workspace).filter(id=stakeholder_id).first()
    if stakeholder is None:
        return None
    key = (self.request.id or "").replace("-", "") or None
    delivery = sender.digest_test_send(workspace=workspace, stakeholder=stakeholder, to=to, key=key)
    return delivery.id
