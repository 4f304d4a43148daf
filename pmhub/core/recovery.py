"""Enqueue again the work whose task was lost.

PostgreSQL records what is unfinished; the broker's queue is only how work reaches a worker. A
Redis restart empties the queue (the quick start's, CI's and a default compose Redis keep
nothing on disk), and a publish attempted while Redis is unreachable fails (pmhub.core.queue
logs it). `work_resume` runs on beat every 15 seconds and calls each app's resumer in
RESUMERS; each finds its rows still waiting for a task after a while and enqueues that task
again. Discovery's imports and tagging (discovery.recovery) and the digest sender
(pmhub.digests.tasks.digests_resume_task) have watchdogs of their own.

Enqueueing twice is harmless: every task here is idempotent by a status guard under a row lock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

# Each is called with `now=` and returns how many tasks it enqueued.
RESUMERS = (
    "backlog.recovery.scoring_jobs_resume",
    "docs.recovery.mentions_resume",
    "pmhub.workspaces.recovery.invitations_resume",
    "pmhub.digests.recovery.immediate_digests_resume",
)


def enqueue_again(rows: QuerySet[Any], enqueue: Callable[[Any], None]) -> int:
    """Call `enqueue(row)` (which enqueues on commit) for each of `rows`, touching its
    updated_at so that the next try is a stall period away; rows another watchdog holds are
    skipped. The number of rows."""
    with transaction.atomic():
        locked = list(rows.select_for_update(skip_locked=True).order_by("id"))
        if locked:
            rows.filter(pk__in=[row.pk for row in locked]).update(updated_at=timezone.now())
        for row in locked:
            enqueue(row)
    return len(locked)


def work_resume(*, now: datetime | None = None) -> dict[str, int]:
    """Run every resumer; what each enqueued, by its name."""
    now = now or timezone.now()
    resumed = {path.rsplit(".", 1)[1]: import_string(path)(now=now) for path in RESUMERS}
    if any(resumed.values()):
        logger.warning("enqueued again after a lost task: %s", resumed)
    return resumed
