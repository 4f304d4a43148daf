from __future__ import annotations

from celery import shared_task
from celery.signals import worker_ready

from pmhub.core.heartbeats import WORKER, heartbeat_record
from pmhub.core.recovery import work_resume


@shared_task(name="pmhub.core.worker_heartbeat", acks_late=False, ignore_result=True)
def worker_heartbeat_task() -> None:
    """Record that a worker consumes the queue. Idempotent: it only overwrites a timestamp."""
    heartbeat_record(component=WORKER)


@worker_ready.connect
def _worker_ready(**_: object) -> None:
    # Report at once instead of waiting for beat's first heartbeat task.
    heartbeat_record(component=WORKER)


@shared_task(
    name="pmhub.core.work_resume",
    acks_late=True,
    ignore_result=True,
    soft_time_limit=50,
    time_limit=60,
)
def work_resume_task() -> None:
    """The watchdog on beat: enqueue again the work whose task was lost (pmhub.core.recovery).
    Idempotent: what it enqueues is, and a row another run holds is skipped."""
    work_resume()
