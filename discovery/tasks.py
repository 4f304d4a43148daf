"""Celery tasks of discovery: thin wrappers that load by id in the workspace and call a service."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from celery.contrib.django.task import DjangoTask
from celery.exceptions import SoftTimeLimitExceeded
from django.db import InterfaceError, OperationalError

from discovery.imports import import_job_fail, import_run
from discovery.models import ImportJob
from pmhub.workspaces.models import Workspace


class ImportRunTask(DjangoTask):
    def on_failure(
        self, exc: Exception, task_id: str, args: Any, kwargs: dict[str, Any], einfo: Any
    ) -> None:
        """A terminal error: mark the job FAILED so the page stops waiting; done chunks stay."""
        workspace = Workspace.objects.filter(id=kwargs.get("workspace_id")).first()
        if workspace is None:
            return
        if isinstance(exc, SoftTimeLimitExceeded):
            message = (
                "The import took too long and was stopped. The rows counted as processed are "
                "in; upload the file again to import the rest (imported rows stay unchanged)."
            )
        else:
            message = "The import stopped on an unexpected error; the rows counted are in."
        try:
            import_job_fail(workspace=workspace, job_id=kwargs["job_id"], message=message)
        except ImportJob.DoesNotExist:
            return


@shared_task(
    base=ImportRunTask,
    name="pmhub.discovery.import_run",
    acks_late=True,
    # A lost database connection is transient: the retry resumes after the last chunk.
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=5,
    # 100,000 rows take well under a minute; these bound a pathological file, below the
    # broker's visibility timeout (one hour) so acks_late never hands a live run to a second
    # worker.
    soft_time_limit=20 * 60,
    time_limit=25 * 60,
)
def import_run_task(*, workspace_id: int, job_id: int) -> None:
    """Run one import. Idempotent: the service's status guard (PENDING -> RUNNING under a row
    lock, plus an advisory lock per job) skips done jobs and resumes a crashed run."""
    workspace = Workspace.objects.filter(id=workspace_id).first()
    if workspace is None:
        return
    try:
        import_run(workspace=workspace, job_id=job_id)
    except ImportJob.DoesNotExist:
        return  # Deleted with its workspace or by hand: nothing to do.
