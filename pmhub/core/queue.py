"""The base class of every pmhub task: a publish that finds the broker unreachable is logged,
not raised.

Tasks are enqueued after commit (DjangoTask's delay_on_commit): when the publish runs, the
transaction has committed, and raising would only turn the request (or the task that wrote)
into an error page or a failed import while the write stays. PostgreSQL records what is
unfinished (import and tagging jobs, untagged items, due digests), and the watchdogs on beat
(discovery's work_resume, digests_resume) enqueue it again once the broker is back, so a task
that could not be published is logged and left to them.
"""

from __future__ import annotations

import logging
from typing import Any

from celery.contrib.django.task import DjangoTask
from kombu.exceptions import OperationalError as BrokerUnreachable

logger = logging.getLogger(__name__)


class PmhubTask(DjangoTask):
    def apply_async(self, args: Any = None, kwargs: Any = None, *more: Any, **options: Any) -> Any:
        """Celery's apply_async; None (and an error in the log) if the broker cannot be reached
        within the publish retry policy (~0.6 s)."""
        try:
            return super().apply_async(args, kwargs, *more, **options)
        except BrokerUnreachable as exc:
            logger.error(
                "broker unreachable, task %s %s not enqueued (the watchdogs enqueue the work "
                "the database records as unfinished): %s",
                self.name,
                kwargs or args,
                exc,
            )
            return None
