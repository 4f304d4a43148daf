"""Enqueue again the discovery work whose tasks were lost.

PostgreSQL says what is unfinished; the broker's queue is only the way work reaches a worker,
and a Redis restart empties it (the quick start's, CI's and a default compose Redis keep
nothing on disk), while a publish attempted during the outage fails (pmhub.core.queue logs
it). `work_resume` runs on beat every 15 seconds and finds:

- imports queued or running with no progress for `STALLED_AFTER`: a running import commits its
  progress every chunk of rows (well under a second), so silence means its task is gone;
- re-tag and themes jobs still waiting after `STALLED_AFTER`;
- items never tagged, or tagged at another text than they have: looked for whenever Redis has
  lost the scan's own marker (a restart: that is when queued tagging tasks are lost too), and
  at least every `UNTAGGED_SCAN_SECONDS` otherwise.

Enqueueing twice is harmless by construction: an import runs under an advisory lock and a
status guard, a job under its status guard, and tagging skips an item whose text hash it
already recorded (taggings and suggestions are unique per item, tag and origin).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db.models import CharField, F, Func, Q, QuerySet
from django.utils import timezone

from discovery.imports import Status as ImportStatus
from discovery.models import Feedback, Highlight, ImportJob, TaggingJob
from discovery.tagging import enqueue_tagging
from pmhub.core.recovery import enqueue_again
from pmhub.workspaces.models import Workspace

logger = logging.getLogger(__name__)

STALLED_AFTER = timedelta(seconds=20)
UNTAGGED_SCAN_SECONDS = 10 * 60
UNTAGGED_SCAN_KEY = "discovery:untagged-scan"


@dataclass
class Resumed:
    imports: int = 0
    tagging_jobs: int = 0
    untagged_feedback: int = 0
    untagged_highlights: int = 0


def work_resume(*, now: datetime | None = None) -> Resumed:
    """Enqueue the stalled imports, the waiting tagging jobs and (when due) the untagged items
    of every workspace; what was enqueued, counted."""
    now = now or timezone.now()
    resumed = Resumed(imports=imports_resume(now=now), tagging_jobs=tagging_jobs_resume(now=now))
    # add() stores the marker only when it is missing: once per interval, and at once when a
    # restarted Redis has lost it (the cache reads False while Redis is down: nothing to do).
    if cache.add(UNTAGGED_SCAN_KEY, now.isoformat(), timeout=UNTAGGED_SCAN_SECONDS):
        resumed.untagged_feedback, resumed.untagged_highlights = untagged_resume()
    if any(vars(resumed).values()):
        logger.warning("discovery: enqueued again after a lost task: %s", resumed)
    return resumed


def imports_resume(*, now: datetime) -> int:
    """Enqueue the queued or running imports without progress for STALLED_AFTER."""
    from discovery.tasks import import_run_task

    return _enqueue_again(
        # cross-workspace: the watchdog serves every workspace's imports.
        ImportJob.objects.unscoped().filter(
            status__in=[ImportStatus.PENDING, ImportStatus.RUNNING],
            mapping__has_key="queued_at",  # a CSV without one waits for its mapping
            updated_at__lt=now - STALLED_AFTER,
        ),
        import_run_task,
    )


def tagging_jobs_resume(*, now: datetime) -> int:
    """Enqueue the re-tag and themes jobs still waiting after STALLED_AFTER (a running one
    keeps its task; only a waiting one can have lost it)."""
    from discovery.tasks import tagging_job_run_task

    return _enqueue_again(
        # cross-workspace: the watchdog serves every workspace's jobs.
        TaggingJob.objects.unscoped().filter(
            status=TaggingJob.Status.PENDING, updated_at__lt=now - STALLED_AFTER
        ),
        tagging_job_run_task,
    )


def _enqueue_again(jobs: QuerySet[Any], task: Any) -> int:
    return enqueue_again(
        jobs, lambda job: task.delay_on_commit(workspace_id=job.workspace_id, job_id=job.id)
    )


class _Sha256Hex(Func):
    """encode(sha256(convert_to(text, 'UTF8')), 'hex'): discovery.tagging.text_hash in SQL,
    without pgcrypto (which Django's SHA256 needs on PostgreSQL)."""

    template = "encode(sha256(convert_to(%(expressions)s, 'UTF8')), 'hex')"
    output_field = CharField()


def _untagged_ids(model: type[Feedback] | type[Highlight], text: str) -> dict[int, list[int]]:
    # cross-workspace: the scan looks at every workspace's items (a join on the one-to-one
    # tagged_text, read back as the hash recorded, if any).
    items = model.objects.unscoped().annotate(recorded=F("tagged_text__text_hash"))
    if model is Feedback:
        items = items.filter(merged_into__isnull=True)
    untagged = items.filter(Q(recorded__isnull=True) | ~Q(recorded=_Sha256Hex(F(text))))
    found: dict[int, list[int]] = {}
    for workspace_id, item_id in untagged.order_by("workspace_id", "id").values_list(
        "workspace_id", "id"
    ):
        found.setdefault(workspace_id, []).append(item_id)
    return found


def untagged_resume() -> tuple[int, int]:
    """Enqueue tagging for every item whose recorded text hash is missing or differs: (feedback,
    highlights) enqueued. Items whose task is only queued are enqueued twice; the second run
    finds the hash recorded and skips them."""
    feedback = _untagged_ids(Feedback, "text")
    highlights = _untagged_ids(Highlight, "quote")
    workspaces = Workspace.objects.in_bulk(set(feedback) | set(highlights))
    for workspace_id, workspace in workspaces.items():
        enqueue_tagging(
            workspace,
            feedback_ids=feedback.get(workspace_id, ()),
            highlight_ids=highlights.get(workspace_id, ()),
        )
    return sum(map(len, feedback.values())), sum(map(len, highlights.values()))
