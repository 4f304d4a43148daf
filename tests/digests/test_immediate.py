"""Stakeholders who chose "immediately" hear of a ship, or of published release notes, at once:
through the task that the ship or the publication enqueues after commit."""

from __future__ import annotations

import time

import pytest

from backlog import services as backlog
from discovery import services as discovery
from docs import services as docs
from pmhub.digests import sender, services
from pmhub.digests.models import Cadence, Delivery
from pmhub.digests.tasks import digests_immediate_task
from tests.digests.test_content import _asked_by
from tests.digests.test_sender import bodies
from tests.factories import WorkspaceFactory


def _owner(workspace, email, company, cadence):
    person = services.stakeholder_create(workspace=workspace, email=email, cadence=cadence)
    services.follow_add(workspace=workspace, stakeholder=person, company_id=company.id, owns=True)
    return person


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_ship_sends_the_immediate_owner_of_an_asking_company_a_digest_at_once(
    celery_worker, worker_smtp
):
    worker_smtp.messages.clear()
    workspace = WorkspaceFactory(name="Acme")
    initech, _ = discovery.company_upsert(workspace=workspace, actor=None, name="Initech")
    globex, _ = discovery.company_upsert(workspace=workspace, actor=None, name="Globex")
    item = backlog.item_create(workspace=workspace, actor=None, title="Single sign-on")
    _asked_by(workspace, item, initech, "ann@initech.test")
    owner = _owner(workspace, "owner@acme.test", initech, Cadence.IMMEDIATELY)
    _owner(workspace, "elsewhere@acme.test", globex, Cadence.IMMEDIATELY)
    _owner(workspace, "weekly@acme.test", initech, Cadence.WEEKLY)

    backlog.item_set_status(workspace=workspace, actor=None, item=item, status="shipped")

    received = worker_smtp.wait_for(1, timeout=30)
    assert [m["To"] for m in received] == ["owner@acme.test"], celery_worker.log.read_text()[-3000:]
    text, html = bodies(received[0])
    assert "Single sign-on" in text
    assert "Initech" in text
    assert "Single sign-on" in html
    period = f"now-shipped-{item.id}"
    delivery = Delivery.objects.for_workspace(workspace).get(period=period)
    assert delivery.stakeholder_id == owner.id
    deadline = time.monotonic() + 10
    while delivery.status != "sent" and time.monotonic() < deadline:
        time.sleep(0.1)
        delivery.refresh_from_db()
    assert delivery.status == "sent"
    # The others' deliveries were made (or not) in the same step as the owner's: none.
    assert Delivery.objects.for_workspace(workspace).count() == 1
    # The same ship announced again (a redelivered task) finds nothing new to tell.
    again = digests_immediate_task(workspace_id=workspace.id, kind="shipped", object_id=item.id)
    assert again == 0
    assert Delivery.objects.for_workspace(workspace).count() == 1
    assert len(worker_smtp.messages) == 1


@pytest.mark.django_db
def test_published_release_notes_are_sent_at_once_to_immediate_followers(
    smtp_mail, django_capture_on_commit_callbacks
):
    workspace = WorkspaceFactory(name="Acme")
    follower = services.stakeholder_create(
        workspace=workspace, email="exec@acme.test", cadence=Cadence.IMMEDIATELY,
        follows_workspace=True,
    )  # fmt: skip
    services.stakeholder_create(
        workspace=workspace, email="weekly@acme.test", cadence=Cadence.WEEKLY,
        follows_workspace=True,
    )  # fmt: skip
    notes = docs.document_create(
        workspace=workspace, actor=None, kind="release_notes", title="November release",
        body="Faster exports.",
    )  # fmt: skip
    for status in ("in_review", "approved"):
        notes = docs.document_set_status(
            workspace=workspace, actor=None, document=notes, status=status
        )

    with django_capture_on_commit_callbacks() as callbacks:
        docs.document_set_status(
            workspace=workspace, actor=None, document=notes, status="published"
        )

    assert [c.keywords for c in callbacks] == [
        {"workspace_id": workspace.id, "kind": "release_notes", "object_id": notes.id}
    ]
    time.sleep(1)  # windows are whole seconds: the publication is a second behind "now"
    assert digests_immediate_task(**callbacks[0].keywords) == 1
    report = sender.deliveries_send()

    assert (report.claimed, report.sent) == (1, 1)
    [message] = smtp_mail.messages
    assert message["To"] == "exec@acme.test"
    assert "November release" in bodies(message)[0]
    delivery = Delivery.objects.for_workspace(workspace).get(stakeholder=follower)
    assert (delivery.period, delivery.status) == (f"now-release_notes-{notes.id}", "sent")
