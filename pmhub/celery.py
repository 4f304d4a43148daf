"""The Celery app. Workers: `celery -A pmhub.celery worker`; beat: `celery -A pmhub.celery beat`."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pmhub.settings.production")

# DjangoTask gives every task delay_on_commit(), the only way this project enqueues work.
app = Celery("pmhub", task_cls="celery.contrib.django.task:DjangoTask")
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
}
