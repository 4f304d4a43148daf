from __future__ import annotations

from celery import shared_task
from celery.signals import worker_ready

from pmhub.core.heartbeats import WORKER, heartbeat_record


@shared_task(name="pmhub.core.worker_heartbeat", acks_late=False, ignore_result=True)
def worker_heartbeat_task() -> None:
    """Record that a worker consumes the queue. Idempotent: it only overwrites a timestamp."""
    heartbeat_record(component=WORKER)


@worker_ready.connect
def _worker_ready(**_: object) -> None:
    # Report at once instead of waiting for beat's first heartbeat task.
    heartbeat_record(component=WORKER)
