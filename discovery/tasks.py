"""Celery tasks of discovery: thin wrappers that load by id in the workspace and call a service."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import InterfaceError, OperationalError

from discovery.imports import import_job_fail, import_run
from discovery.models import ImportJob, TaggingJob
from discovery.recovery import work_resume
from discovery.tagging import classifier_train, job_finish, retag_run, tag_items
from pmhub.core.queue import PmhubTask
from pmhub.workspaces.models import Workspace

logger = logging.getLogger(__name__)


class ImportRunTask(PmhubTask):
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


@shared_task(
    name="pmhub.discovery.tag_items",
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=5,
)
def tag_items_task(*, workspace_id: int, kind: str, ids: list[int]) -> None:
    """Tag one batch of new or edited items. Idempotent: unchanged texts are skipped."""
    workspace = Workspace.objects.filter(id=workspace_id).first()
    if workspace is None:
        return
    result = tag_items(workspace=workspace, kind=kind, ids=ids)
    logger.info(
        "tagged %d %s items (%d unchanged) in %.2f s, %.2f s of it classifying",
        result.items,
        kind,
        result.skipped,
        result.seconds,
        result.classify_seconds,
    )


@shared_task(
    name="pmhub.discovery.classifier_train",
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=3,
    # Training on tens of thousands of labels takes minutes, not hours.
    soft_time_limit=30 * 60,
    time_limit=35 * 60,
)
def classifier_train_task(*, workspace_id: int, force: bool = False) -> None:
    """Train a new classifier version when enough new labels arrived (or when asked to).
    Idempotent: a run that finds nothing due, or another training under way, does nothing."""
    workspace = Workspace.objects.filter(id=workspace_id).first()
    if workspace is not None:
        classifier_train(workspace=workspace, force=force)


class TaggingJobTask(PmhubTask):
    def on_failure(
        self, exc: Exception, task_id: str, args: Any, kwargs: dict[str, Any], einfo: Any
    ) -> None:
        workspace = Workspace.objects.filter(id=kwargs.get("workspace_id")).first()
        if workspace is not None:
            job_finish(
                workspace=workspace,
                job_id=kwargs["job_id"],
                status=TaggingJob.Status.FAILED,
                message="The job stopped on an unexpected error; start it again.",
            )


@shared_task(
    base=TaggingJobTask,
    name="pmhub.discovery.tagging_job_run",
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=30 * 60,
    time_limit=35 * 60,
)
def tagging_job_run_task(*, workspace_id: int, job_id: int) -> None:
    """Run a re-tag or themes job; both are idempotent (status guard, same result twice)."""
    workspace = Workspace.objects.filter(id=workspace_id).first()
    if workspace is None:
        return
    job = TaggingJob.objects.for_workspace(workspace).filter(id=job_id).first()
    if job is None:
        return
    if job.kind == TaggingJob.Kind.RETAG:
        retag_run(workspace=workspace, job_id=job_id)
    else:
        from discovery.themes import themes_run

        themes_run(workspace=workspace, job_id=job_id)


@shared_task(
    name="pmhub.discovery.work_resume",
    acks_late=True,
    ignore_result=True,
    soft_time_limit=50,
    time_limit=60,
)
def work_resume_task() -> None:
    """The watchdog on beat: enqueue again the work PostgreSQL records as unfinished whose task
    was lost (discovery.recovery). Idempotent: every task it enqueues is."""
    work_resume()
