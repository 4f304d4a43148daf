"""Redis killed (SIGKILL) in the middle of a tagging import and of a digest run, and started
again empty on its port after 3 s: the work resumes and completes within a minute of Redis's
return, nothing lost and nothing done twice.

Real processes: a private redis-server (broker, cache, sent-markers), a prefork `celery worker`
and `celery beat` on it, reading this test's committed database, and an SMTP server on
loopback. Recovery comes from PostgreSQL: the watchdogs on beat (discovery's work_resume,
digests_resume, pmhub.core.recovery's work_resume) enqueue what the database records as
unfinished.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from backlog import scoring
from backlog.models import ScoringJob
from backlog.services import item_create, item_set_status
from discovery import imports
from discovery.models import Feedback, ImportJob, TaggedText, Tagging, TagSuggestion
from discovery.services import tag_create
from discovery.tag_rules import rule_create
from discovery.tagging import text_hash
from docs.models import Mention
from docs.review import comment_add
from docs.services import document_create
from pmhub.digests import services as digests
from pmhub.digests.models import Cadence, Delivery
from pmhub.digests.tasks import digests_send_task
from pmhub.workspaces.models import Invitation
from pmhub.workspaces.services import invitation_create
from tests.conftest import _smtp_sink
from tests.digests.test_sender import due, shipped, stakeholder
from tests.factories import WorkspaceFactory
from tests.ops.redis_support import (
    free_port,
    private_redis,
    publishing_to,
    wait_until,
    worker_and_beat,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

DOWN_SECONDS = 3
RESUME_LIMIT_SECONDS = 60
ROWS = 6_000


def _outage(server: Any) -> float:
    """Kill Redis, keep it down DOWN_SECONDS, start it again empty: the moment it is back."""
    server.kill()
    time.sleep(DOWN_SECONDS)
    server.start()
    assert server.keys() == 0  # empty, as a Redis that keeps nothing on disk comes back
    return time.monotonic()


def test_a_tagging_import_resumes_after_a_redis_restart_with_each_row_imported_and_tagged_once(
    workspace, member, tmp_path: Path
):
    tag = tag_create(workspace=workspace, actor=member, name="Billing")
    rule_create(workspace=workspace, actor=member, tag=tag, kind="keyword", pattern="invoice")
    rows = "".join(
        f"r-{i},Row {i}: {'the invoice is wrong' if i % 3 == 0 else 'search is slow'},"
        f"u{i % 50}@acme.test\n"
        for i in range(ROWS)
    )
    job = imports.import_job_create(
        workspace=workspace, actor=member, kind="feedback_csv", filename="big.csv",
        data=("id,text,email\n" + rows).encode(),
    )  # fmt: skip

    with private_redis(tmp_path) as server, worker_and_beat(server, tmp_path) as stack:
        with publishing_to(server.url):
            imports.import_job_start(
                workspace=workspace, actor=member, job=job,
                fields={"text": "text", "external_id": "id", "customer_email": "email"},
                default_source="survey",
            )  # fmt: skip

        def mid_run() -> bool:
            job.refresh_from_db()
            return job.processed_rows >= 2 * imports.CHUNK_ROWS

        assert wait_until(mid_run, timeout=60, step=0.05), stack.logs()
        at_kill = (job.status, job.processed_rows)
        back = _outage(server)

        def all_done() -> bool:
            job.refresh_from_db()
            tagged = TaggedText.objects.for_workspace(workspace).count()
            return job.status in ("done", "failed") and tagged == ROWS

        finished = wait_until(all_done, timeout=RESUME_LIMIT_SECONDS, step=0.25)
        resumed_in = time.monotonic() - back
        logs = stack.logs()

    print(f"\nimport: killed at {at_kill}, complete {resumed_in:.1f} s after Redis came back")
    assert at_kill[0] == "running", at_kill  # the kill was mid-run
    assert at_kill[1] < ROWS, at_kill
    assert finished, (job.status, TaggedText.objects.for_workspace(workspace).count(), logs)
    assert resumed_in < RESUME_LIMIT_SECONDS
    assert (job.status, job.processed_rows, job.total_rows) == ("done", ROWS, ROWS)
    assert (job.created_count, job.updated_count, job.error_count) == (ROWS, 0, 0)
    feedback = Feedback.objects.for_workspace(workspace)
    assert feedback.count() == ROWS
    assert set(feedback.values_list("external_id", flat=True)) == {f"r-{i}" for i in range(ROWS)}
    # Tagged once each, at its own text.
    hashes = dict(
        TaggedText.objects.for_workspace(workspace).values_list("feedback_id", "text_hash")
    )
    texts = dict(feedback.values_list("id", "text"))
    assert hashes == {i: text_hash(t) for i, t in texts.items()}
    taggings = Tagging.objects.for_workspace(workspace)
    expected = {i for i, t in texts.items() if "invoice" in t}
    assert sorted(taggings.values_list("feedback_id", flat=True)) == sorted(expected)
    assert set(taggings.values_list("tag_id", "origin").distinct()) == {(tag.id, "rule")}
    assert (
        not taggings.values("feedback_id", "tag_id", "origin")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    assert TagSuggestion.objects.for_workspace(workspace).count() == 0  # no classifier yet
    assert ImportJob.objects.for_workspace(workspace).count() == 1


def test_an_import_whose_task_was_lost_with_the_queue_is_enqueued_again_and_completes(
    workspace, member, tmp_path: Path
):
    rows = 2_000
    job = imports.import_job_create(
        workspace=workspace, actor=member, kind="feedback_csv", filename="lost.csv",
        data=("id,text\n" + "".join(f"l-{i},Lost row {i}\n" for i in range(rows))).encode(),
    )  # fmt: skip

    with private_redis(tmp_path) as server:
        with publishing_to(server.url):
            imports.import_job_start(
                workspace=workspace, actor=member, job=job,
                fields={"text": "text", "external_id": "id"},
            )  # fmt: skip
        queued = server.queued(settings.CELERY_TASK_DEFAULT_QUEUE)
        back = _outage(server)  # the import's message is gone with the queue
        with worker_and_beat(server, tmp_path) as stack:

            def all_done() -> bool:
                job.refresh_from_db()
                tagged = TaggedText.objects.for_workspace(workspace).count()
                return job.status in ("done", "failed") and tagged == rows

            finished = wait_until(all_done, timeout=RESUME_LIMIT_SECONDS, step=0.25)
            resumed_in = time.monotonic() - back
            logs = stack.logs()

    print(
        f"\nlost import: complete {resumed_in:.1f} s after Redis came back (worker start included)"
    )
    assert queued == 1  # the import's message, lost with the restart
    assert finished, (job.status, logs)
    assert resumed_in < RESUME_LIMIT_SECONDS
    assert (job.status, job.processed_rows, job.created_count) == ("done", rows, rows)
    assert Feedback.objects.for_workspace(workspace).count() == rows


class _SlowSink:
    """An SMTP server on loopback that takes DELAY per message (a digest run lasting seconds)
    and counts the messages per recipient."""

    DELAY = 0.02

    def __init__(self) -> None:
        self.received: Counter[str] = Counter()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        await asyncio.sleep(self.DELAY)
        self.received.update(address.lower() for address in envelope.rcpt_tos)
        return "250 Message accepted for delivery"


def test_a_digest_run_resumes_after_a_redis_restart_with_each_digest_sent_once(
    tmp_path: Path,
):
    count = 300
    workspace = WorkspaceFactory(name="Acme")
    people = [stakeholder(workspace, f"p{i}@customer.test") for i in range(count)]
    shipped(workspace, "Audit log")
    for person in people:
        due(person)
    sink = _SlowSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with (
            private_redis(tmp_path) as server,
            worker_and_beat(server, tmp_path, smtp_port=port) as stack,
        ):
            with publishing_to(server.url):
                digests_send_task.delay()
            assert wait_until(lambda: sum(sink.received.values()) >= 60, timeout=60), stack.logs()
            sent_at_kill = sum(sink.received.values())
            back = _outage(server)

            def all_sent() -> bool:
                return (
                    Delivery.objects.for_workspace(workspace).filter(status="sent").count() == count
                )

            finished = wait_until(all_sent, timeout=RESUME_LIMIT_SECONDS, step=0.25)
            resumed_in = time.monotonic() - back
            logs = stack.logs()
    finally:
        controller.stop()

    print(
        f"\ndigests: {sent_at_kill} sent when Redis was killed, all {count} sent "
        f"{resumed_in:.1f} s after it came back"
    )
    assert sent_at_kill < count
    assert finished, logs
    assert resumed_in < RESUME_LIMIT_SECONDS
    expected = {f"p{i}@customer.test" for i in range(count)}
    assert set(sink.received) == expected  # none missing, none unexpected
    assert [a for a, n in sink.received.items() if n > 1] == []  # none twice
    deliveries = Delivery.objects.for_workspace(workspace)
    # The outage cost no delivery an attempt (nor a backoff).
    assert set(deliveries.values_list("status", "attempts")) == {("sent", 1)}


def test_mails_a_scoring_job_and_immediate_digests_whose_tasks_were_lost_are_done_once(
    workspace, member, admin, tmp_path: Path
):
    """The tasks no import or digest run records: a formula's scoring job, an invitation, a
    mention and a ship's immediate digest, published to Redis and lost with its restart. The
    watchdog (pmhub.core.recovery) finds each in PostgreSQL and has it done once."""
    follower = digests.stakeholder_create(
        workspace=workspace, email="exec@acme.test", cadence=Cadence.IMMEDIATELY,
        follows_workspace=True,
    )  # fmt: skip
    item = item_create(workspace=workspace, actor=member, title="Audit log")
    document = document_create(
        workspace=workspace, actor=member, kind="prd", title="Checkout", body="One click."
    )
    with private_redis(tmp_path) as server:
        with publishing_to(server.url):
            _formula, job = scoring.formula_create(
                workspace=workspace, actor=member, name="Value", source="customer_count * 2"
            )
            invitation = invitation_create(
                workspace=workspace, actor=admin, email="new@acme.test", role="editor"
            )
            comment_add(
                workspace=workspace, actor=member, document=document,
                body="@alice@acme.test, have a look",
            )  # fmt: skip
            item_set_status(workspace=workspace, actor=member, item=item, status="shipped")
        queued = server.queued(settings.CELERY_TASK_DEFAULT_QUEUE)
        back = _outage(server)  # the four messages are gone with the queue
        # As if the outage had lasted the mail watchdogs' stall period (two minutes).
        for model in (ScoringJob, Invitation, Mention):
            model.objects.for_workspace(workspace).update(
                updated_at=timezone.now() - timedelta(minutes=3)
            )
        with _smtp_sink() as sink, worker_and_beat(server, tmp_path, smtp_port=sink.port) as stack:

            def all_done() -> bool:
                job.refresh_from_db()
                invitation.refresh_from_db()
                return (
                    job.status == "done"
                    and invitation.email_status == "sent"
                    and not Mention.objects.for_workspace(workspace)
                    .filter(notified_at__isnull=True)
                    .exists()
                    and Delivery.objects.for_workspace(workspace).filter(status="sent").exists()
                )

            finished = wait_until(all_done, timeout=RESUME_LIMIT_SECONDS, step=0.25)
            resumed_in = time.monotonic() - back
            time.sleep(16)  # one more round of the watchdog: nothing is sent twice
            logs = stack.logs()
            received = sorted(m["To"] for m in sink.messages)

    print(
        f"\nlost mails, scoring job and digest: all done {resumed_in:.1f} s after Redis came back"
    )
    assert queued == 4
    assert finished, logs
    assert resumed_in < RESUME_LIMIT_SECONDS
    assert (job.status, job.processed) == ("done", 1)
    assert received == ["alice@acme.test", "exec@acme.test", "new@acme.test"]
    delivery = Delivery.objects.for_workspace(workspace).get()
    assert (delivery.stakeholder_id, delivery.period) == (follower.id, f"now-shipped-{item.id}")
