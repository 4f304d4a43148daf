"""The discovery watchdog: what PostgreSQL records as unfinished is enqueued again, once per
stall period, and nothing finished, fresh or waiting for a person is."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone

from discovery import imports, recovery
from discovery.models import Feedback, ImportJob, TaggingJob
from discovery.services import FeedbackInput, feedback_create, feedback_update, highlight_create
from discovery.tagging import enqueueing_paused, retag_start, tag_items

pytestmark = pytest.mark.django_db


def enqueued(callbacks: list[Any]) -> list[tuple[str, dict[str, Any]]]:
    """(task name, keyword arguments) of each task enqueued on commit."""
    return [(c.func.__self__.name, c.keywords) for c in callbacks]


def csv_job(workspace, member, *, start: bool = True) -> ImportJob:
    job = imports.import_job_create(
        workspace=workspace, actor=member, kind="feedback_csv", filename="f.csv",
        data=b"id,text\n1,Export is slow\n",
    )  # fmt: skip
    if start:
        imports.import_job_start(
            workspace=workspace, actor=member, job=job,
            fields={"text": "text", "external_id": "id"},
        )  # fmt: skip
    return ImportJob.objects.for_workspace(workspace).get(id=job.id)


def silent_for(model: Any, seconds: float, **filters: Any) -> None:
    model.objects.unscoped().filter(**filters).update(
        updated_at=timezone.now() - datetime.timedelta(seconds=seconds)
    )


def test_a_queued_import_silent_for_the_stall_period_is_enqueued_again_once(
    workspace, member, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks():  # its first task, lost with the queue
        job = csv_job(workspace, member)
    silent_for(ImportJob, 21, id=job.id)

    with django_capture_on_commit_callbacks() as callbacks:
        assert recovery.imports_resume(now=timezone.now()) == 1
    with django_capture_on_commit_callbacks() as again:
        assert recovery.imports_resume(now=timezone.now()) == 0

    assert enqueued(callbacks) == [
        ("pmhub.discovery.import_run", {"workspace_id": workspace.id, "job_id": job.id})
    ]
    assert again == []  # its updated_at was touched: the next try is a stall period away


def test_a_running_import_without_progress_is_enqueued_again_and_resumes_after_its_rows(
    workspace, member, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks():
        job = csv_job(workspace, member)
    ImportJob.objects.for_workspace(workspace).filter(id=job.id).update(status="running")
    silent_for(ImportJob, 21, id=job.id)

    with django_capture_on_commit_callbacks() as callbacks:
        recovery.imports_resume(now=timezone.now())
    for callback in callbacks:
        callback()  # the worker runs what was enqueued
    # Runs twice (the old task was alive after all): the status guard makes it a no-op.
    imports.import_run(workspace=workspace, job_id=job.id)

    job.refresh_from_db()
    assert (job.status, job.processed_rows, job.created_count) == ("done", 1, 1)
    assert Feedback.objects.for_workspace(workspace).count() == 1


@pytest.mark.parametrize(
    ("case", "status", "silent", "start"),
    [
        ("fresh_case", "pending", 5, True),
        ("done_case", "done", 600, True),
        ("failed_case", "failed", 600, True),
        ("waiting_for_its_mapping_case", "pending", 600, False),
    ],
)
def test_fresh_finished_or_unmapped_imports_are_left_alone(
    workspace, member, django_capture_on_commit_callbacks, case, status, silent, start
):
    with django_capture_on_commit_callbacks():
        job = csv_job(workspace, member, start=start)
    ImportJob.objects.for_workspace(workspace).filter(id=job.id).update(status=status)
    silent_for(ImportJob, silent, id=job.id)

    with django_capture_on_commit_callbacks() as callbacks:
        assert recovery.imports_resume(now=timezone.now()) == 0
    assert callbacks == []


def test_a_waiting_tagging_job_is_enqueued_again_and_a_running_one_is_not(
    workspace, member, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks():
        waiting = retag_start(workspace=workspace, actor=member)
        running = retag_start(workspace=workspace, actor=member)
    TaggingJob.objects.for_workspace(workspace).filter(id=running.id).update(status="running")
    silent_for(TaggingJob, 21)

    with django_capture_on_commit_callbacks() as callbacks:
        assert recovery.tagging_jobs_resume(now=timezone.now()) == 1

    assert enqueued(callbacks) == [
        ("pmhub.discovery.tagging_job_run", {"workspace_id": workspace.id, "job_id": waiting.id})
    ]


def test_items_never_tagged_or_tagged_at_another_text_are_enqueued_for_tagging(
    workspace, member, django_capture_on_commit_callbacks
):
    with enqueueing_paused():  # as if their tasks were lost
        first = feedback_create(
            workspace=workspace, actor=member, data=FeedbackInput(text="Export is slow")
        )
        second = feedback_create(
            workspace=workspace, actor=member, data=FeedbackInput(text="Search is slow")
        )
        highlight = highlight_create(
            workspace=workspace, actor=member, feedback=second, start=0, end=6
        )
    tag_items(workspace=workspace, kind="feedback", ids=[second.id])
    with django_capture_on_commit_callbacks() as before:
        assert recovery.untagged_resume() == (1, 1)

    with enqueueing_paused():
        feedback_update(workspace=workspace, actor=member, feedback=second, text="Search fails")
    tag_items(workspace=workspace, kind="feedback", ids=[first.id])
    tag_items(workspace=workspace, kind="highlight", ids=[highlight.id])
    with django_capture_on_commit_callbacks() as after_edit:
        assert recovery.untagged_resume() == (1, 0)
    tag_items(workspace=workspace, kind="feedback", ids=[second.id])

    assert enqueued(before) == [
        ("pmhub.discovery.tag_items", {"workspace_id": workspace.id, "kind": "feedback",
                                       "ids": [first.id]}),
        ("pmhub.discovery.tag_items", {"workspace_id": workspace.id, "kind": "highlight",
                                       "ids": [highlight.id]}),
    ]  # fmt: skip
    assert enqueued(after_edit) == [
        ("pmhub.discovery.tag_items", {"workspace_id": workspace.id, "kind": "feedback",
                                       "ids": [second.id]}),
    ]  # fmt: skip
    assert recovery.untagged_resume() == (0, 0)


def test_the_untagged_scan_runs_once_per_interval_and_at_once_after_redis_lost_its_marker(
    workspace, member, django_capture_on_commit_callbacks
):
    with enqueueing_paused():
        feedback_create(workspace=workspace, actor=member, data=FeedbackInput(text="Slow"))
    cache.delete(recovery.UNTAGGED_SCAN_KEY)

    with django_capture_on_commit_callbacks():
        first = recovery.work_resume()
        second = recovery.work_resume()
        cache.delete(recovery.UNTAGGED_SCAN_KEY)  # what a restart of an empty Redis does
        third = recovery.work_resume()

    assert (first.untagged_feedback, second.untagged_feedback, third.untagged_feedback) == (
        1,
        0,
        1,
    )
