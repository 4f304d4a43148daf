"""The beat's sweep and the sender on a real Celery worker: the due digest arrives once."""

from __future__ import annotations

import datetime
import time

import pytest
from django.db.models import F
from django.utils import timezone

from backlog import services as backlog
from pmhub.digests import services
from pmhub.digests.models import Cadence, Delivery, Stakeholder
from pmhub.digests.schedule import current_period
from pmhub.digests.tasks import digests_sweep_task
from roadmap.models import RoadmapEvent
from tests.digests.test_sender import bodies, subject_of
from tests.factories import WorkspaceFactory


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_worker_sweeps_and_sends_each_due_digest_once(celery_worker, worker_smtp):
    worker_smtp.messages.clear()
    workspace = WorkspaceFactory(name="Acme")
    now = timezone.now()
    period = current_period(Cadence.DAILY, now.hour, "UTC", now)
    person = services.stakeholder_create(
        workspace=workspace, email="exec@customer.test", cadence=Cadence.DAILY,
        send_hour=now.hour, timezone_name="UTC", follows_workspace=True,
    )  # fmt: skip
    item = backlog.item_create(workspace=workspace, actor=None, title="Audit log")
    backlog.item_set_status(workspace=workspace, actor=None, item=item, status="shipped")
    # They have followed for days; the ship happened in the day this digest covers.
    Stakeholder.objects.for_workspace(workspace).update(
        created_at=F("created_at") - datetime.timedelta(days=3)
    )
    RoadmapEvent.objects.for_workspace(workspace).update(
        created_at=period.due_at - datetime.timedelta(hours=1)
    )

    digests_sweep_task.delay()

    received = worker_smtp.wait_for(1, timeout=30)
    assert [m["To"] for m in received] == ["exec@customer.test"], celery_worker.log.read_text()[
        -3000:
    ]
    text, _html = bodies(received[0])
    assert "Audit log" in text
    delivery = Delivery.objects.for_workspace(workspace).get()
    deadline = time.monotonic() + 10
    while delivery.status != "sent" and time.monotonic() < deadline:
        time.sleep(0.1)
        delivery.refresh_from_db()
    assert (delivery.period, delivery.status, delivery.attempts) == (period.key, "sent", 1)
    assert delivery.subject == subject_of(received[0])
    person.refresh_from_db()
    assert person.covered_until == period.due_at

    # A second beat's sweep finds the period's delivery made and sent: nothing more goes out.
    digests_sweep_task.delay()
    time.sleep(2)
    assert Delivery.objects.for_workspace(workspace).count() == 1
    assert len(worker_smtp.messages) == 1
