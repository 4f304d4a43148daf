"""The Celery app. Workers: `celery -A pmhub.celery worker`; beat: `celery -A pmhub.celery beat`."""

from __future__ import annotations

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pmhub.settings.production")

# PmhubTask (a DjangoTask) gives every task delay_on_commit(), the only way this project enqueues
# work, and logs rather than raises when the broker is unreachable (see pmhub.core.queue).
app = Celery("pmhub", task_cls="pmhub.core.queue:PmhubTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # Every 15 seconds (https://crontab.guru has no seconds; this is a plain interval): proves to
    # /health/ that a worker consumes the queue.
    "worker-heartbeat": {
        "task": "pmhub.core.worker_heartbeat",
        "schedule": 15.0,
        "options": {"expires": 60},
    },
    # Every 2 minutes (https://crontab.guru/#*/2_*_*_*_*, as an interval): create the stakeholder
    # digests now due in their own timezones and have them sent. A sweep queued longer than its
    # interval is dropped; the next one does the same work.
    "digests-sweep": {
        "task": "pmhub.digests.digests_sweep",
        "schedule": 120.0,
        "options": {"expires": 110},
    },
    # Every 15 seconds (a plain interval): enqueue again the imports, tagging jobs and items to
    # tag that PostgreSQL records as unfinished but whose tasks were lost, as a Redis restart
    # loses its queue. Idempotent tasks make a needless re-enqueue harmless.
    "discovery-work-resume": {
        "task": "pmhub.discovery.work_resume",
        "schedule": 15.0,
        "options": {"expires": 15},
    },
    # Every 15 seconds (a plain interval): have due digests sent when some wait (a sender lost
    # with the queue, or stopped while Redis was down); senders share the work safely.
    "digests-resume": {
        "task": "pmhub.digests.digests_resume",
        "schedule": 15.0,
        "options": {"expires": 15},
    },
    # Every 15 seconds (a plain interval): enqueue again the scoring jobs, invitation and
    # mention mails and immediate digests whose tasks were lost (pmhub.core.recovery).
    "work-resume": {
        "task": "pmhub.core.work_resume",
        "schedule": 15.0,
        "options": {"expires": 15},
    },
    # Hourly (https://crontab.guru/#0_*_*_*_*, as an interval): forget the API's idempotency
    # keys older than their 24 hours.
    "idempotency-keys-prune": {
        "task": "pmhub.workspaces.idempotency_keys_prune",
        "schedule": 3600.0,
        "options": {"expires": 3000},
    },
}


@signals.worker_init.connect
def share_cores_with_the_tagger(sender, **_kwargs) -> None:
    """Give each worker process its share of the cores for the tagging model's matrix work.

    The encoder would otherwise use every core in every prefork process, and processes that
    oversubscribe the cores run it several times slower. Set before the pool forks, so every
    process inherits it; an explicit PMHUB_ENCODER_THREADS wins.
    """
    cores = os.cpu_count() or 1
    single = "solo" in str(getattr(sender, "pool_cls", "")).lower()
    processes = 1 if single else (int(getattr(sender, "concurrency", 0) or 0) or cores)
    os.environ.setdefault("PMHUB_ENCODER_THREADS", str(max(1, cores // processes)))


@signals.worker_process_init.connect
@signals.worker_ready.connect
def load_the_url_configuration(**_kwargs) -> None:
    """Import every URL module now rather than in the first task that builds a link (a digest
    run's first batch paid ~0.8 s for it). worker_process_init reaches prefork children,
    worker_ready a solo worker."""
    from django.urls import get_resolver

    get_resolver().reverse_dict  # noqa: B018 - populating it imports the URL configuration
