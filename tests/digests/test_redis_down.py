"""The digest sender and its watchdog when Redis (the sent-markers' store) goes away: sending
stops without spending an attempt, and the watchdog has the rest sent once it is back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from pmhub.digests import sender
from pmhub.digests.models import Delivery
from pmhub.digests.tasks import digests_resume_task
from tests.digests.test_sender import due, fresh, shipped, stakeholder
from tests.factories import WorkspaceFactory
from tests.ops.redis_support import PrivateRedis, free_port, private_redis

pytestmark = pytest.mark.django_db


class _KillingSink:
    """An SMTP server that accepts each message and, after the first, kills Redis."""

    def __init__(self, server: PrivateRedis) -> None:
        self.server = server
        self.recipients: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.recipients.extend(envelope.rcpt_tos)
        self.server.kill()
        return "250 Message accepted for delivery"


@pytest.fixture
def markers_on(settings: Any, tmp_path: Path) -> Iterator[PrivateRedis]:
    """The sent-markers in a private Redis this test may kill."""
    with private_redis(tmp_path) as server:
        settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": server.url}}
        sender._MARKERS.clear()  # noqa: SLF001 - the process's client is made from the settings
        yield server
    sender._MARKERS.clear()  # noqa: SLF001


def test_redis_lost_mid_batch_sends_no_more_and_costs_the_rest_no_attempt(markers_on, settings):
    workspace = WorkspaceFactory(name="Acme")
    people = [stakeholder(workspace, f"p{i}@customer.test") for i in range(4)]
    shipped(workspace, "Audit log")
    deliveries = [due(person) for person in people]
    sink = _KillingSink(markers_on)
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    try:
        first = sender.deliveries_send()
        second = sender.deliveries_send()  # Redis still down: nothing is claimed
    finally:
        controller.stop()

    # The first message went out (its "250" came before the marker failed) and is recorded.
    assert sink.recipients == ["p0@customer.test"]
    assert (first.claimed, first.sent, first.retried) == (4, 1, 3)
    assert second.claimed == 0
    states = [(d.status, d.attempts, d.next_attempt_at) for d in map(fresh, deliveries)]
    assert states == [("sent", 1, None)] + [("pending", 0, None)] * 3
    assert sender.deliveries_waiting()


def test_the_watchdog_has_due_digests_sent_and_nothing_when_none_is_due(
    django_capture_on_commit_callbacks,
):
    workspace = WorkspaceFactory(name="Acme")
    delivery = due(stakeholder(workspace, "exec@customer.test"))

    with django_capture_on_commit_callbacks() as callbacks:
        assert digests_resume_task() is True
    Delivery.objects.for_workspace(workspace).filter(id=delivery.id).update(status="sent")
    with django_capture_on_commit_callbacks() as none_due:
        assert digests_resume_task() is False

    assert [(c.func.__self__.name, c.keywords) for c in callbacks] == [
        ("pmhub.digests.digests_send", {"expires": 15})
    ]
    assert none_due == []
