"""Sending digests exactly once: claimed in batches under row locks, sent over one SMTP
connection a batch, recorded by two UPDATEs a batch, and recognised after a crash from the
Redis sent-markers."""

from __future__ import annotations

import datetime
import socket
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backlog.models import Item
from backlog.services import item_create, item_set_status
from pmhub.digests import sender, services
from pmhub.digests.models import Delivery, Stakeholder
from pmhub.digests.render import message_id_for
from pmhub.digests.tasks import digest_test_send_task
from pmhub.workspaces.models import Workspace
from roadmap.models import RoadmapEvent
from tests.factories import WorkspaceFactory


# --- arranging -----------------------------------------------------------------------------------
def stakeholder(workspace: Workspace, email: str, **fields: Any) -> Stakeholder:
    fields.setdefault("follows_workspace", True)
    return services.stakeholder_create(workspace=workspace, email=email, **fields)


def shipped(workspace: Workspace, title: str) -> Item:
    item = item_create(workspace=workspace, actor=None, title=title)
    return item_set_status(workspace=workspace, actor=None, item=item, status=Item.Status.SHIPPED)


def due(person: Stakeholder, period: str = "2026-W48", **fields: Any) -> Delivery:
    """A delivery due now, as the sweeper makes it. Windows are whole seconds: it ends on the
    next one, so what happened a moment ago is inside."""
    until = timezone.now().replace(microsecond=0) + datetime.timedelta(seconds=1)
    return Delivery.objects.create(
        workspace_id=person.workspace_id, stakeholder=person, period=period, due_at=until,
        covers_until=until, **fields,
    )  # fmt: skip


def subject_of(message: Message) -> str:
    return str(make_header(decode_header(message["Subject"])))


def bodies(message: Message) -> tuple[str, str]:
    """The text and the HTML part of a multipart/alternative message."""
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.get_payload()
    assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    return (
        text.get_payload(decode=True).decode(text.get_content_charset()),
        html.get_payload(decode=True).decode(html.get_content_charset()),
    )


def fresh(delivery: Delivery) -> Delivery:
    return Delivery.objects.for_workspace(delivery.workspace_id).get(id=delivery.id)


def person_now(person: Stakeholder) -> Stakeholder:
    return Stakeholder.objects.for_workspace(person.workspace_id).get(id=person.id)


# --- an SMTP server that refuses some recipients -------------------------------------------------
class PickySink:
    """A real SMTP server (aiosmtpd) answering RCPT for chosen addresses with a chosen reply
    ("451 ..." or "550 ..."), and counting the connections it served."""

    def __init__(self) -> None:
        self.host, self.port = "127.0.0.1", 0
        self.refuse: dict[str, str] = {}
        self.messages: list[tuple[list[str], bytes]] = []
        self.peers: set[Any] = set()
        self.data_delay = 0.0
        self.drop: set[str] = set()  # recipients whose DATA the server hangs up on, once
        self.refuse_once: dict[str, str] = {}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        self.peers.add(session.peer)
        if address in self.refuse_once:
            return self.refuse_once.pop(address)
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.data_delay:
            time.sleep(self.data_delay)  # a slow server: holds the batch (and its locks) open
        dropped = self.drop.intersection(envelope.rcpt_tos)
        if dropped:
            self.drop -= dropped
            server.transport.close()
            return "421 4.3.0 Going away"
        self.messages.append((list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted for delivery"

    def parsed(self) -> list[tuple[list[str], Message]]:
        return [(tos, message_from_bytes(data)) for tos, data in self.messages]

    def recipients(self) -> list[str]:
        return [to for tos, _ in self.messages for to in tos]


@pytest.fixture
def picky_smtp(settings: Any) -> Iterator[PickySink]:
    sink = PickySink()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        sink.port = probe.getsockname()[1]
    controller = Controller(sink, hostname=sink.host, port=sink.port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = sink.host, sink.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    try:
        yield sink
    finally:
        controller.stop()


# --- sending -------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_each_due_stakeholder_gets_one_digest_with_both_bodies_and_the_headers(smtp_mail):
    workspace = WorkspaceFactory(name="Acme")
    people = [stakeholder(workspace, f"p{n}@customer.test", name=f"P {n}") for n in range(3)]
    shipped(workspace, "Single sign-on")
    deliveries = [due(person) for person in people]

    report = sender.deliveries_send()

    assert (report.claimed, report.sent, report.empty, report.batches) == (3, 3, 0, 1)
    received = {message["To"]: message for message in smtp_mail.messages}
    assert sorted(received) == [f"p{n}@customer.test" for n in range(3)]
    for person, delivery in zip(people, deliveries, strict=True):
        message = received[person.email]
        text, html = bodies(message)
        assert "Single sign-on" in text
        assert "Single sign-on" in html
        assert message["Message-ID"] == message_id_for(delivery.id)
        assert message["List-Unsubscribe"].startswith("<http")
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        row = fresh(delivery)
        assert (row.status, row.attempts, row.error) == ("sent", 1, "")
        assert row.message_id == message_id_for(delivery.id)
        assert row.subject == subject_of(message)
        assert row.entry_count == 1
        assert row.sent_at is not None
        assert row.covers_from == delivery.covers_until - datetime.timedelta(days=7)
        assert person_now(person).covered_until == delivery.covers_until


@pytest.mark.django_db
def test_running_again_sends_nothing_twice(smtp_mail):
    workspace = WorkspaceFactory()
    people = [stakeholder(workspace, f"p{n}@customer.test") for n in range(4)]
    shipped(workspace, "Audit log")
    for person in people:
        due(person)
    assert sender.deliveries_send().sent == 4

    again = sender.deliveries_send()

    assert (again.claimed, again.sent, again.batches) == (0, 0, 0)
    assert len(smtp_mail.messages) == 4


@pytest.mark.django_db
def test_an_empty_digest_is_recorded_and_not_sent_but_its_window_is_covered(smtp_mail):
    workspace = WorkspaceFactory()
    quiet = stakeholder(workspace, "quiet@customer.test", follows_workspace=False)
    delivery = due(quiet)

    report = sender.deliveries_send()

    assert (report.claimed, report.sent, report.empty) == (1, 0, 1)
    assert smtp_mail.messages == []
    row = fresh(delivery)
    assert (row.status, row.attempts, row.message_id, row.sent_at) == ("empty", 1, "", None)
    assert person_now(quiet).covered_until == delivery.covers_until


@pytest.mark.django_db
def test_paused_and_unsubscribed_stakeholders_are_skipped(smtp_mail):
    workspace = WorkspaceFactory()
    shipped(workspace, "Dark mode")
    paused = stakeholder(workspace, "paused@customer.test")
    gone = stakeholder(workspace, "gone@customer.test")
    Stakeholder.objects.for_workspace(workspace).filter(id=paused.id).update(status="paused")
    Stakeholder.objects.for_workspace(workspace).filter(id=gone.id).update(status="unsubscribed")
    deliveries = [due(paused), due(gone)]

    report = sender.deliveries_send()

    assert (report.claimed, report.skipped, report.sent) == (2, 2, 0)
    assert smtp_mail.messages == []
    assert [fresh(d).status for d in deliveries] == ["skipped", "skipped"]
    assert person_now(paused).covered_until is None


@pytest.mark.django_db
def test_a_crash_after_the_smtp_250_is_recognised_from_the_markers_and_not_sent_again(
    smtp_mail, monkeypatch
):
    workspace = WorkspaceFactory()
    people = [stakeholder(workspace, f"p{n}@customer.test") for n in range(3)]
    shipped(workspace, "Exports")
    deliveries = [due(person) for person in people]

    def killed(outcomes: Any) -> None:
        raise RuntimeError("the worker dies before its batch's UPDATE")

    monkeypatch.setattr(sender, "_outcomes_write", killed)
    with pytest.raises(RuntimeError):
        sender.deliveries_send()
    # The mail went out, the transaction rolled back: the rows are pending again.
    assert len(smtp_mail.messages) == 3
    assert [fresh(d).status for d in deliveries] == ["pending"] * 3
    monkeypatch.undo()

    report = sender.deliveries_send()

    assert (report.claimed, report.sent) == (3, 3)
    assert len(smtp_mail.messages) == 3
    for delivery, message in zip(
        deliveries, sorted(smtp_mail.messages, key=lambda m: m["To"]), strict=True
    ):
        row = fresh(delivery)
        assert (row.status, row.message_id) == ("sent", message_id_for(delivery.id))
        assert row.subject == subject_of(message)
        assert row.entry_count == 1
    assert all(person_now(p).covered_until is not None for p in people)


# --- SMTP errors ---------------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_temporary_refusal_waits_with_backoff_and_is_sent_on_a_later_run(picky_smtp):
    workspace = WorkspaceFactory()
    shipped(workspace, "Webhooks")
    later = stakeholder(workspace, "later@customer.test")
    fine = stakeholder(workspace, "fine@customer.test")
    waiting, sent = due(later), due(fine)
    picky_smtp.refuse["later@customer.test"] = "451 4.3.2 Try again later"
    now = timezone.now()

    report = sender.deliveries_send(now=now)

    assert (report.sent, report.retried, report.failed) == (1, 1, 0)
    row = fresh(waiting)
    assert (row.status, row.attempts, row.error) == ("pending", 1, "451 4.3.2 Try again later")
    assert row.next_attempt_at == now + datetime.timedelta(minutes=1)
    assert person_now(later).covered_until is None
    assert person_now(later).failure_count == 0
    assert fresh(sent).status == "sent"
    # Not due again before its backoff is over.
    assert sender.deliveries_send(now=now + datetime.timedelta(seconds=30)).claimed == 0

    del picky_smtp.refuse["later@customer.test"]
    retry = sender.deliveries_send(now=now + datetime.timedelta(minutes=2))

    assert (retry.claimed, retry.sent) == (1, 1)
    row = fresh(waiting)
    assert (row.status, row.attempts, row.error, row.next_attempt_at) == ("sent", 2, "", None)
    assert picky_smtp.recipients() == ["fine@customer.test", "later@customer.test"]


@pytest.mark.django_db
def test_temporary_failures_give_up_after_six_attempts(picky_smtp):
    workspace = WorkspaceFactory()
    shipped(workspace, "Webhooks")
    person = stakeholder(workspace, "later@customer.test")
    delivery = due(person, attempts=5)
    picky_smtp.refuse["later@customer.test"] = "452 4.2.2 Mailbox full"

    report = sender.deliveries_send()

    assert (report.failed, report.retried) == (1, 0)
    row = fresh(delivery)
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 6, None)
    # A temporary failure says nothing about the address: the stakeholder is not penalised.
    assert (person_now(person).failure_count, person_now(person).status) == (0, "active")


@pytest.mark.django_db
def test_a_permanent_refusal_fails_counts_against_the_address_and_pauses_it_at_three(
    picky_smtp,
):
    workspace = WorkspaceFactory()
    shipped(workspace, "Webhooks")
    person = stakeholder(workspace, "gone@customer.test")
    picky_smtp.refuse["gone@customer.test"] = "550 5.1.1 No such user"

    for week in (46, 47):
        delivery = due(person, period=f"2026-W{week}")
        report = sender.deliveries_send()
        assert (report.failed, report.sent) == (1, 0)
        assert (fresh(delivery).status, fresh(delivery).error) == (
            "failed", "550 5.1.1 No such user",
        )  # fmt: skip
    found = person_now(person)
    assert (found.failure_count, found.status) == (2, "active")
    assert found.last_failure == "550 5.1.1 No such user"
    assert found.covered_until is None

    due(person, period="2026-W48")
    sender.deliveries_send()
    found = person_now(person)
    assert (found.failure_count, found.status) == (3, "paused")
    assert found.version == 2

    skipped = due(person, period="2026-W49")
    assert sender.deliveries_send().skipped == 1
    assert fresh(skipped).status == "skipped"
    assert picky_smtp.messages == []


@pytest.mark.django_db
def test_a_sent_digest_clears_the_failure_count(picky_smtp):
    workspace = WorkspaceFactory()
    shipped(workspace, "Webhooks")
    person = stakeholder(workspace, "flaky@customer.test")
    picky_smtp.refuse["flaky@customer.test"] = "550 5.2.1 Mailbox disabled"
    due(person, period="2026-W47")
    sender.deliveries_send()
    assert person_now(person).failure_count == 1

    del picky_smtp.refuse["flaky@customer.test"]
    due(person, period="2026-W48")
    assert sender.deliveries_send().sent == 1

    assert (person_now(person).failure_count, person_now(person).status) == (0, "active")


@pytest.mark.django_db
def test_a_dropped_connection_is_reopened_once_then_the_rest_waits(picky_smtp):
    workspace = WorkspaceFactory()
    shipped(workspace, "Webhooks")
    deliveries = [due(stakeholder(workspace, f"p{n}@customer.test")) for n in range(5)]
    picky_smtp.drop = {"p1@customer.test", "p3@customer.test"}
    now = timezone.now()

    report = sender.deliveries_send(now=now)

    # p1's hang-up: reopened, p1 sent again and p2 after it; p3's: the batch's one reopening
    # is spent, so p3 and p4 wait for a later run.
    assert (report.sent, report.retried) == (3, 2)
    assert picky_smtp.recipients() == [f"p{n}@customer.test" for n in range(3)]
    assert len(picky_smtp.peers) == 2
    waiting = [fresh(d) for d in deliveries[3:]]
    assert [(d.status, d.attempts) for d in waiting] == [("pending", 1)] * 2
    assert all(d.error.startswith("SMTP connection lost") for d in waiting)

    later = sender.deliveries_send(now=now + datetime.timedelta(minutes=2))

    assert later.sent == 2
    assert picky_smtp.recipients() == [f"p{n}@customer.test" for n in range(5)]


def _two_weeks(workspace: Workspace, person: Stakeholder) -> tuple[Delivery, Delivery]:
    """Last week's delivery, still pending, with "Exports" shipped inside it, and this week's
    with "Dark mode" shipped since: both due in the same batch."""
    now = timezone.now().replace(microsecond=0)
    exports = shipped(workspace, "Exports")
    RoadmapEvent.objects.for_workspace(workspace).filter(item=exports).update(
        created_at=now - datetime.timedelta(hours=2)
    )
    last_week = Delivery.objects.create(
        workspace=workspace, stakeholder=person, period="2026-W47",
        due_at=now - datetime.timedelta(hours=1), covers_until=now - datetime.timedelta(hours=1),
    )  # fmt: skip
    shipped(workspace, "Dark mode")
    return last_week, due(person)


@pytest.mark.django_db
def test_a_stakeholders_deliveries_in_one_batch_follow_one_another(smtp_mail):
    workspace = WorkspaceFactory()
    person = stakeholder(workspace, "exec@customer.test")
    last_week, this_week = _two_weeks(workspace, person)

    assert sender.deliveries_send().sent == 2

    first, second = (bodies(m)[0] for m in smtp_mail.messages)
    assert "Exports" in first
    assert "Dark mode" not in first
    assert "Dark mode" in second
    assert "Exports" not in second
    assert fresh(this_week).covers_from == last_week.covers_until
    assert person_now(person).covered_until == this_week.covers_until


@pytest.mark.django_db
def test_an_earlier_delivery_waiting_to_retry_holds_covered_until_back(picky_smtp):
    workspace = WorkspaceFactory()
    person = stakeholder(workspace, "exec@customer.test")
    last_week, this_week = _two_weeks(workspace, person)
    picky_smtp.refuse_once["exec@customer.test"] = "451 4.7.1 Greylisted"
    now = timezone.now()

    report = sender.deliveries_send(now=now)

    assert (report.sent, report.retried) == (1, 1)
    assert (fresh(last_week).status, fresh(this_week).status) == ("pending", "sent")
    # This week's went out, but last week's must still be told: the window stays open.
    assert person_now(person).covered_until is None

    assert sender.deliveries_send(now=now + datetime.timedelta(minutes=2)).sent == 1

    told = [bodies(message)[0] for _, message in picky_smtp.parsed()]
    assert ["Exports" in text for text in told] == [False, True]
    assert person_now(person).covered_until == last_week.covers_until


# --- test sends ----------------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_test_send_goes_to_the_member_and_leaves_the_window_open(smtp_mail):
    workspace = WorkspaceFactory()
    shipped(workspace, "Roadmap sharing")
    person = stakeholder(workspace, "exec@customer.test")

    a_second_later = timezone.now() + datetime.timedelta(seconds=1)
    delivery = sender.digest_test_send(
        workspace=workspace, stakeholder=person, to="pm@acme.test", key="abc123",
        now=a_second_later,
    )  # fmt: skip
    again = sender.digest_test_send(
        workspace=workspace, stakeholder=person, to="pm@acme.test", key="abc123"
    )

    assert again.id == delivery.id
    assert len(smtp_mail.messages) == 1
    message = smtp_mail.messages[0]
    assert message["To"] == "pm@acme.test"
    assert message["Message-ID"] == message_id_for(delivery.id)
    assert "Roadmap sharing" in bodies(message)[0]
    row = fresh(delivery)
    assert (row.period, row.status, row.attempts) == ("test-abc123", "sent", 1)
    assert row.subject == subject_of(message)
    assert person_now(person).covered_until is None
    # Never claimed by a sender.
    assert sender.deliveries_send().claimed == 0


@pytest.mark.django_db
def test_the_test_send_task_sends_once_however_often_its_message_is_delivered(smtp_mail):
    workspace = WorkspaceFactory()
    person = stakeholder(workspace, "exec@customer.test")
    kwargs = {"workspace_id": workspace.id, "stakeholder_id": person.id, "to": "pm@acme.test"}

    first = digest_test_send_task.apply(kwargs=kwargs, task_id="5f0c7a54-redelivered").get()
    again = digest_test_send_task.apply(kwargs=kwargs, task_id="5f0c7a54-redelivered").get()

    assert first == again
    assert [m["To"] for m in smtp_mail.messages] == ["pm@acme.test"]
    delivery = Delivery.objects.for_workspace(workspace).get()
    assert (delivery.period, delivery.status) == ("test-5f0c7a54redelivered", "sent")
    # Another workspace's stakeholder id is not found through this workspace.
    outsider = digest_test_send_task.apply(
        kwargs={**kwargs, "workspace_id": WorkspaceFactory().id}
    ).get()
    assert outsider is None


# --- cost ----------------------------------------------------------------------------------------
def _batch_statements(workspace: Workspace, count: int, first: int) -> list[str]:
    people = [stakeholder(workspace, f"p{first + n}@customer.test") for n in range(count)]
    for person in people:
        due(person)
    with CaptureQueriesContext(connection) as queries:
        report = sender.deliveries_send(batch_size=500)
    assert (report.batches, report.sent) == (1, count)
    return [query["sql"] for query in queries.captured_queries]


def _listing(*runs: list[str]) -> str:
    return "\n\n".join("\n".join(sql[:120] for sql in run) for run in runs)


@pytest.mark.django_db
def test_a_batch_costs_the_same_statements_and_one_smtp_connection_for_10_or_100(picky_smtp):
    workspace = WorkspaceFactory()
    shipped(workspace, "Search")

    ten = _batch_statements(workspace, 10, 0)
    connections_for_ten = len(picky_smtp.peers)
    hundred = _batch_statements(workspace, 100, 10)

    # The batch's savepoint (a transaction outside tests), the claim (joined with the
    # stakeholders and workspaces), the workspaces' settings, the content's three round trips,
    # one UPDATE of the deliveries, one of the stakeholders, the savepoint's release.
    assert len(ten) == len(hundred) == 8, _listing(ten, hundred)
    assert sum("UPDATE" in sql[:20] for sql in hundred) == 2, _listing(ten, hundred)
    assert (connections_for_ten, len(picky_smtp.peers)) == (1, 2)
    assert len(picky_smtp.messages) == 110


@pytest.mark.django_db
def test_batches_open_one_smtp_connection_each(picky_smtp):
    workspace = WorkspaceFactory()
    shipped(workspace, "Search")
    for n in range(25):
        due(stakeholder(workspace, f"p{n}@customer.test"))

    report = sender.deliveries_send(batch_size=10)

    assert (report.batches, report.sent) == (3, 25)
    assert len(picky_smtp.peers) == 3


@pytest.mark.django_db
def test_limit_stops_after_that_many_deliveries(smtp_mail):
    workspace = WorkspaceFactory()
    shipped(workspace, "Search")
    for n in range(7):
        due(stakeholder(workspace, f"p{n}@customer.test"))

    report = sender.deliveries_send(batch_size=3, limit=5)

    assert (report.claimed, report.batches) == (5, 2)
    assert Delivery.objects.for_workspace(workspace).filter(status="pending").count() == 2


# --- concurrency ---------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_two_senders_at_once_claim_disjoint_batches_and_send_each_digest_once(picky_smtp):
    workspace = WorkspaceFactory()
    shipped(workspace, "Search")
    deliveries = [due(stakeholder(workspace, f"p{n}@customer.test")) for n in range(40)]
    picky_smtp.data_delay = 0.01
    barrier, reports, errors = threading.Barrier(2), [], []

    def send() -> None:
        try:
            barrier.wait()
            reports.append(sender.deliveries_send(batch_size=5))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sum(r.claimed for r in reports) == 40
    assert all(r.sent > 0 for r in reports), reports
    assert sorted(picky_smtp.recipients()) == sorted(f"p{n}@customer.test" for n in range(40))
    assert {fresh(d).status for d in deliveries} == {"sent"}
