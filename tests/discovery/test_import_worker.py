"""The import task on a real Celery worker: queued after commit, runs to 100%."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from discovery import imports
from discovery.models import Feedback, ImportJob

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.django_db(transaction=True)
def test_the_worker_imports_a_file_after_commit_and_reaches_100_percent(
    celery_worker, workspace, member
):
    # The worker reads the same upload root (its environment is this process's); the job
    # removes its file when it is over.
    rows = "".join(f"w-{i},Worker row {i},u{i % 7}@acme.test\n" for i in range(2_500))
    data = ("id,text,email\n" + rows).encode()
    job = imports.import_job_create(
        workspace=workspace, actor=member, kind="feedback_csv", filename="w.csv", data=data
    )
    imports.import_job_start(
        workspace=workspace,
        actor=member,
        job=job,
        fields={"text": "text", "external_id": "id", "customer_email": "email"},
        default_source="survey",
    )

    deadline = time.monotonic() + 60
    job.refresh_from_db()
    while job.status not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.2)
        job.refresh_from_db()

    assert job.status == "done", (job.status, job.message, celery_worker.log.read_text()[-2000:])
    assert (job.processed_rows, job.total_rows, job.created_count) == (2_500, 2_500, 2_500)
    assert job.finished_at is not None
    assert Feedback.objects.for_workspace(workspace).filter(source="survey").count() == 2_500
    assert not (imports.upload_root(workspace.id) / Path(job.path).name).exists()
    # Running the task again (a redelivery) changes nothing.
    from discovery.tasks import import_run_task

    import_run_task(workspace_id=workspace.id, job_id=job.id)
    again = ImportJob.objects.for_workspace(workspace).get(id=job.id)
    assert (again.status, again.processed_rows, again.created_count) == ("done", 2_500, 2_500)
