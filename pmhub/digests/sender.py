"""Sending digests exactly once, in batches whose SQL does not grow with the recipients.

A batch is claimed with `FOR UPDATE SKIP LOCKED` and its transaction stays open while the batch
is sent: a killed worker's connection drops, PostgreSQL rolls back and releases the row locks at
once, and another worker claims the rows again (no lease to time out).

Marking each message sent in SQL would cost a statement per recipient. Instead, right after the
SMTP server's "250" the sender records the delivery as sent in Redis (one SET, expiring after a
week); the batch's outcomes are written at its end by one UPDATE of the deliveries and one of
the stakeholders, then the transaction commits. A batch claimed after a kill reads its markers
with one MGET and marks those deliveries sent without sending again, so a kill duplicates at
most the message between the "250" and its SET.

The batch's one SMTP connection is driven by a thread of its own (`_SendLine`), in order, so
that the next digests are built and rendered while the server's replies are awaited; the
database is touched by the calling thread only.
"""

from __future__ import annotations

import datetime
import json
import logging
import queue
import smtplib
import sys
import threading
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import redis
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.core.mail import get_connection
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from pmhub.digests.content import (
    DigestRequest,
    covers_from_for,
    digest_next,
    digests_build,
)
from pmhub.digests.models import MAX_FAILURES, Cadence, Delivery, DigestSettings, Stakeholder
from pmhub.digests.render import digest_email, message_id_for
from pmhub.digests.services import digest_settings_get
from pmhub.workspaces.models import Workspace

if TYPE_CHECKING:
    from django.core.mail import EmailMessage
    from django.core.mail.backends.base import BaseEmailBackend

log = logging.getLogger(__name__)

SENT_MARKER_SECONDS = 7 * 24 * 3600
SEND_SWITCH_INTERVAL = 0.0005  # seconds; see _batch_send
# Waits after the 1st, 2nd, ... temporary failure; the sixth attempt that fails is the last.
BACKOFF = (
    datetime.timedelta(minutes=1),
    datetime.timedelta(minutes=5),
    datetime.timedelta(minutes=30),
    datetime.timedelta(hours=2),
    datetime.timedelta(hours=6),
)
MAX_ATTEMPTS = len(BACKOFF) + 1
# Stakeholders built per digests_build call when an event is sent at once: bounded memory and
# statement count per chunk, whatever the workspace's size.
IMMEDIATE_CHUNK = 500
IMMEDIATE_KINDS = ("shipped", "release_notes")
ERROR_MAX_CHARS = 500


@dataclass
class SendReport:
    claimed: int = 0
    sent: int = 0
    empty: int = 0
    failed: int = 0
    retried: int = 0
    skipped: int = 0
    batches: int = 0


@dataclass
class _Outcome:
    delivery: Delivery
    status: str
    attempts: int
    covers_from: datetime.datetime | None = None
    next_attempt_at: datetime.datetime | None = None
    sent_at: datetime.datetime | None = None
    error: str = ""
    message_id: str = ""
    subject: str = ""
    entry_count: int = 0
    # A permanent refusal of the stakeholder's address (counted towards pausing it).
    refused: bool = False


class MarkersUnavailable(Exception):
    """Redis, where the sent-markers live, cannot be reached: no batch is sent until it is."""


class _Markers:
    """The sent-markers in Redis, through a plain client rather than Django's cache: setting one
    sits on the send line between two messages, and the cache's pickling and key checks cost
    more than the round trip. Keys carry the cache's KEY_PREFIX, so parallel test runs and
    benchmarks on one Redis never share them."""

    def __init__(self) -> None:
        config = django_settings.CACHES["default"]
        # The cache's socket timeouts: a hung Redis stops the batch instead of hanging it.
        self.client = redis.Redis.from_url(config["LOCATION"], **config.get("OPTIONS", {}))
        self.prefix = f"{config.get('KEY_PREFIX', '')}:digests:sent:"

    def key(self, delivery_id: int) -> str:
        return f"{self.prefix}{delivery_id}"

    def set(self, sending: _Sending) -> None:
        value = json.dumps([sending.message_id, sending.subject, sending.entry_count])
        self.client.set(self.key(sending.delivery.id), value, ex=SENT_MARKER_SECONDS)

    def get_many(self, delivery_ids: Sequence[int]) -> dict[int, tuple[str, str, int]]:
        if not delivery_ids:
            return {}
        try:
            values = self.client.mget([self.key(i) for i in delivery_ids])
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise MarkersUnavailable(str(exc)) from exc
        return {
            delivery_id: tuple(json.loads(value))
            for delivery_id, value in zip(delivery_ids, values, strict=True)
            if value is not None
        }


_MARKERS: list[_Markers] = []


def _markers_store() -> _Markers:
    """The process's marker client (redis-py's pool is thread-safe and reconnects after a
    fork)."""
    if not _MARKERS:
        _MARKERS.append(_Markers())
    return _MARKERS[0]


# The result of a message the send line did not try: the sent-marker store failed earlier in the
# batch. Its delivery stays as it was (no attempt counted, no backoff), due for the next sender.
_UNSENT = (False, "not sent: the sent-marker store (Redis) is unavailable")


def _short(error: object) -> str:
    return " ".join(str(error).split())[:ERROR_MAX_CHARS]


# --- windows -------------------------------------------------------------------------------------
def _settings_of(workspace_ids: set[int]) -> dict[int, DigestSettings]:
    # cross-workspace: a batch holds deliveries of many workspaces; read their settings at once.
    found = {s.workspace_id: s for s in DigestSettings.objects.unscoped().filter(
        workspace_id__in=workspace_ids
    )}  # fmt: skip
    return {
        workspace_id: found.get(workspace_id) or DigestSettings(workspace_id=workspace_id)
        for workspace_id in workspace_ids
    }


# --- SMTP ----------------------------------------------------------------------------------------
class _ConnectionLost(Exception):
    pass


class _Smtp:
    """One SMTP connection for a batch, opened at its first message; reopened once if it drops.
    `send` returns None when the server accepted the message, else (permanent, error)."""

    def __init__(self) -> None:
        self.backend: BaseEmailBackend | None = None
        self.reopened = False
        self.lost = ""  # why the rest of the batch waits for a later run

    def send(self, message: EmailMessage) -> tuple[bool, str] | None:
        if self.lost:
            return False, self.lost
        try:
            return self._try(message)
        except _ConnectionLost as exc:
            if self.reopened:
                self.lost = f"SMTP connection lost: {_short(exc)}"
                return False, self.lost
        self.reopened = True
        self.close()
        try:
            return self._try(message)
        except _ConnectionLost as exc:
            self.lost = f"SMTP connection lost: {_short(exc)}"
            return False, self.lost

    def _try(self, message: EmailMessage) -> tuple[bool, str] | None:
        try:
            if self.backend is None:
                self.backend = get_connection(fail_silently=False)
                self.backend.open()
            envelope = getattr(message, "prepared_envelope", None)
            smtp = getattr(self.backend, "connection", None)
            if envelope is not None and smtp is not None:
                # Straight to smtplib with the bytes made beforehand: Django's send_messages
                # parses both addresses again and costs ~0.25 ms a message on the one
                # thread that paces the whole batch.
                smtp.sendmail(*envelope)
            else:
                message.connection = self.backend
                self.backend.send_messages([message])
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            return code >= 500, _short(f"{code} {_decode(text)}")
        except smtplib.SMTPSenderRefused as exc:
            # The server refuses our sender, not the stakeholder's address: nothing to hold
            # against them; retried until the sender is fixed.
            return False, _short(f"{exc.smtp_code} {_decode(exc.smtp_error)}")
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code == 421:  # the server closes the connection
                raise _ConnectionLost(f"421 {_decode(exc.smtp_error)}") from exc
            return exc.smtp_code >= 500, _short(f"{exc.smtp_code} {_decode(exc.smtp_error)}")
        except smtplib.SMTPServerDisconnected as exc:
            raise _ConnectionLost(str(exc) or "disconnected") from exc
        except smtplib.SMTPException as exc:
            return False, _short(exc)
        except OSError as exc:  # refused, reset, timed out: smtplib's errors are OSErrors too
            raise _ConnectionLost(str(exc) or type(exc).__name__) from exc
        return None

    def close(self) -> None:
        if self.backend is None:
            return
        backend, self.backend = self.backend, None
        try:
            backend.close()
        except (smtplib.SMTPException, OSError):
            log.info("digests: closing a broken SMTP connection failed", exc_info=True)


def _decode(text: bytes | str) -> str:
    return text.decode(errors="replace") if isinstance(text, bytes) else str(text)


# --- a batch -------------------------------------------------------------------------------------
def _temporary(delivery: Delivery, now: datetime.datetime, error: str, **extra: Any) -> _Outcome:
    attempts = delivery.attempts + 1
    if attempts >= MAX_ATTEMPTS:
        return _Outcome(delivery, Delivery.Status.FAILED, attempts, error=error, **extra)
    return _Outcome(
        delivery, Delivery.Status.PENDING, attempts, error=error,
        next_attempt_at=now + BACKOFF[attempts - 1], **extra,
    )  # fmt: skip


def _due(now: datetime.datetime) -> QuerySet[Delivery]:
    """Pending deliveries whose (next) attempt has come, in every workspace."""
    return (
        # cross-workspace: senders and the sweeper serve every workspace's due deliveries.
        Delivery.objects.unscoped()
        .filter(status=Delivery.Status.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    )


def _claim(size: int, now: datetime.datetime) -> list[Delivery]:
    # cross-workspace: senders serve every workspace's due deliveries, oldest first.
    return list(
        _due(now)
        .select_related("stakeholder", "workspace")
        .order_by("id")
        .select_for_update(skip_locked=True, of=("self",))[:size]
    )


def _batch_send(claimed: Sequence[Delivery], now: datetime.datetime) -> list[_Outcome]:
    """Send a claimed batch (its row locks held by the caller's transaction) and return each
    delivery's outcome; nothing is written to the database here."""
    markers = _markers_store().get_many([d.id for d in claimed])
    defaults = _settings_of({d.workspace_id for d in claimed})
    outcomes: list[_Outcome] = []
    to_build: dict[int, list[tuple[Delivery, DigestRequest]]] = defaultdict(list)
    # Where each stakeholder's previous window in this batch ends: several of their deliveries
    # in one batch (a run of ships told at once, a day's digest retried into the next) follow
    # one another instead of each repeating everything since covered_until.
    window_end: dict[int, datetime.datetime] = {}
    for delivery in claimed:
        stakeholder = delivery.stakeholder
        stakeholder.workspace = delivery.workspace
        marker = markers.get(delivery.id)
        if marker is not None:  # sent by a worker killed before its batch committed
            window_end[stakeholder.id] = max(
                delivery.covers_until, window_end.get(stakeholder.id, delivery.covers_until)
            )
            message_id, subject, entry_count = marker
            outcomes.append(
                _Outcome(
                    delivery, Delivery.Status.SENT, delivery.attempts + 1, sent_at=now,
                    message_id=message_id, subject=subject, entry_count=entry_count,
                )
            )  # fmt: skip
        elif stakeholder.status != Stakeholder.Status.ACTIVE:
            outcomes.append(_Outcome(delivery, Delivery.Status.SKIPPED, delivery.attempts))
        else:
            covers_from = covers_from_for(
                stakeholder, defaults[delivery.workspace_id].cadence, delivery.covers_until
            )
            if stakeholder.id in window_end:
                covers_from = min(
                    max(covers_from, window_end[stakeholder.id]), delivery.covers_until
                )
            window_end[stakeholder.id] = max(
                delivery.covers_until, window_end.get(stakeholder.id, delivery.covers_until)
            )
            request = DigestRequest(stakeholder, covers_from, delivery.covers_until)
            to_build[delivery.workspace_id].append((delivery, request))

    line = _SendLine()
    # The send line's thread wakes on every SMTP reply and must then take the GIL from this
    # thread, busy rendering; with Python's default 5 ms switch interval it waits up to that
    # long each time (four replies a message). A shorter one while the batch is sent keeps the
    # connection busy.
    switch = sys.getswitchinterval()
    sys.setswitchinterval(SEND_SWITCH_INTERVAL)
    try:
        for workspace_id, pairs in to_build.items():
            outcomes.extend(_workspace_render(pairs, defaults[workspace_id], line, now))
        results = line.finish()
    finally:
        sys.setswitchinterval(switch)
        line.stop()
    outcomes.extend(_sent_outcome(s, results[s.delivery.id], now) for s in line.submitted)
    return outcomes


@dataclass
class _Sending:
    delivery: Delivery
    covers_from: datetime.datetime
    message: EmailMessage
    message_id: str
    subject: str
    entry_count: int
    sent_at: datetime.datetime | None = None


class _SendLine:
    """The batch's SMTP connection, driven by a thread of its own: while it waits for the
    server's replies (the GIL released), the caller renders the next messages. It sends in
    the order given and records each message's marker in Redis right after its "250", as a
    sequential sender would."""

    def __init__(self) -> None:
        # Unbounded (a batch at most, ~15 kB a message): the renderer runs ahead and is done
        # early, and the send line then has the GIL to itself; kept a few messages ahead, the
        # two threads fought over it for every SMTP reply.
        self._queue: queue.Queue[_Sending | None] = queue.Queue()
        self.submitted: list[_Sending] = []
        self.results: dict[int, tuple[bool, str] | None] = {}
        self._error: BaseException | None = None
        self._stopped = False
        self._markers = _markers_store()
        self._thread = threading.Thread(target=self._run, name="digests-smtp", daemon=True)
        self._thread.start()

    def submit(self, sending: _Sending) -> None:
        self.submitted.append(sending)
        self._put(sending)

    def finish(self) -> dict[int, tuple[bool, str] | None]:
        """Wait until every message submitted was sent (or refused); their results by id."""
        self._put(None)
        self._thread.join()
        self._stopped = True
        if self._error is not None:
            raise self._error
        return self.results

    def stop(self) -> None:
        """After an error on the caller's side: send nothing more and wait for the thread."""
        if self._stopped:
            return
        self._stopped = True
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._queue.put(None)
        self._thread.join()

    def _put(self, item: _Sending | None) -> None:
        while True:
            if not self._thread.is_alive():
                raise self._error or RuntimeError("the digests' SMTP thread ended")
            try:
                self._queue.put(item, timeout=1)
            except queue.Full:
                continue
            return

    def _run(self) -> None:
        smtp = _Smtp()
        markers_down = False
        try:
            while (sending := self._queue.get()) is not None:
                if markers_down:
                    self.results[sending.delivery.id] = _UNSENT
                    continue
                failure = smtp.send(sending.message)
                if failure is None:
                    sending.sent_at = timezone.now()
                    markers_down = not _marker_set(self._markers, sending)
                self.results[sending.delivery.id] = failure
        except BaseException as exc:  # handed to the caller by finish()
            self._error = exc
        finally:
            smtp.close()


def _marker_set(store: _Markers, sending: _Sending) -> bool:
    try:
        store.set(sending)
    except Exception:
        # Without the marker a kill before the commit would send this again: send no more in
        # this batch (the rest wait); what went out is still recorded when the batch commits.
        log.exception("digests: recording delivery %s as sent in Redis failed", sending.delivery.id)
        return False
    return True


def _workspace_render(
    pairs: Sequence[tuple[Delivery, DigestRequest]],
    defaults: DigestSettings,
    line: _SendLine,
    now: datetime.datetime,
) -> list[_Outcome]:
    """Build the workspace's digests, hand the messages to the send line; the outcomes of the
    deliveries that end here (empty, or failing before the SMTP server)."""
    workspace = pairs[0][0].workspace
    try:
        digests = digests_build(workspace, [request for _, request in pairs])
    except Exception as exc:
        # A content bug must not hold up the queue: these wait with backoff while the rest of
        # the batch goes out.
        log.exception("digests: building workspace %s's digests failed", workspace.id)
        return [
            _temporary(d, now, _short(f"could not build: {exc}"), covers_from=r.covers_from)
            for d, r in pairs
        ]
    outcomes = []
    for (delivery, request), digest in zip(pairs, digests, strict=True):
        if digest.is_empty:
            outcomes.append(
                _Outcome(
                    delivery, Delivery.Status.EMPTY, delivery.attempts + 1,
                    covers_from=request.covers_from,
                )
            )  # fmt: skip
            continue
        message_id = message_id_for(delivery.id)
        try:
            message = digest_email(digest, settings=defaults, message_id=message_id)
            # The bytes are made here, so the send line's thread does nothing but send.
            message.prepared_envelope = message.envelope()
        except Exception as exc:
            log.exception("digests: rendering delivery %s failed", delivery.id)
            outcomes.append(
                _Outcome(
                    delivery, Delivery.Status.FAILED, delivery.attempts + 1,
                    covers_from=request.covers_from, error=_short(f"could not render: {exc}"),
                )
            )  # fmt: skip
            continue
        line.submit(
            _Sending(
                delivery, request.covers_from, message, message_id,
                str(message.subject)[:200], min(digest.entry_count, 32_767),
            )
        )  # fmt: skip
    return outcomes


def _sent_outcome(
    sending: _Sending, failure: tuple[bool, str] | None, now: datetime.datetime
) -> _Outcome:
    delivery = sending.delivery
    if failure is _UNSENT:
        return _Outcome(
            delivery, Delivery.Status.PENDING, delivery.attempts,
            next_attempt_at=delivery.next_attempt_at, error=delivery.error,
            entry_count=delivery.entry_count,
        )  # fmt: skip
    if failure is None:
        return _Outcome(
            delivery, Delivery.Status.SENT, delivery.attempts + 1,
            covers_from=sending.covers_from, sent_at=sending.sent_at,
            message_id=sending.message_id, subject=sending.subject,
            entry_count=sending.entry_count,
        )  # fmt: skip
    permanent, error = failure
    if permanent:
        return _Outcome(
            delivery, Delivery.Status.FAILED, delivery.attempts + 1,
            covers_from=sending.covers_from, error=error, refused=True,
        )  # fmt: skip
    return _temporary(delivery, now, error, covers_from=sending.covers_from)


# --- writing a batch's outcomes ------------------------------------------------------------------
_DELIVERIES_UPDATE = f"""
UPDATE {Delivery._meta.db_table} AS d SET
    status = v.status, attempts = v.attempts, next_attempt_at = v.next_attempt_at,
    sent_at = COALESCE(v.sent_at, d.sent_at), error = v.error,
    message_id = COALESCE(NULLIF(v.message_id, ''), d.message_id),
    subject = COALESCE(NULLIF(v.subject, ''), d.subject),
    entry_count = v.entry_count, covers_from = COALESCE(v.covers_from, d.covers_from),
    updated_at = %s
FROM unnest(
    %s::bigint[], %s::text[], %s::integer[], %s::timestamptz[], %s::timestamptz[], %s::text[],
    %s::text[], %s::text[], %s::integer[], %s::timestamptz[]
) AS v(id, status, attempts, next_attempt_at, sent_at, error, message_id, subject, entry_count,
       covers_from)
WHERE d.id = v.id
"""  # noqa: S608 - table names from the models; every value is a parameter

# Relative to the row as it is now: two batches may hold deliveries of one stakeholder (a weekly
# digest and an immediate one), and GREATEST ignores NULLs, so covered_until only moves forward.
_STAKEHOLDERS_UPDATE = f"""
UPDATE {Stakeholder._meta.db_table} AS s SET
    covered_until = GREATEST(s.covered_until, v.covered_until),
    failure_count = LEAST(
        CASE WHEN v.reset THEN 0 ELSE s.failure_count END + v.refusals, 32767
    ),
    last_failure = CASE WHEN v.refusals > 0 THEN v.last_failure ELSE s.last_failure END,
    status = CASE
        WHEN s.status = %s AND CASE WHEN v.reset THEN 0 ELSE s.failure_count END + v.refusals >= %s
        THEN %s ELSE s.status END,
    version = s.version + CASE
        WHEN s.status = %s AND CASE WHEN v.reset THEN 0 ELSE s.failure_count END + v.refusals >= %s
        THEN 1 ELSE 0 END,
    updated_at = %s
FROM unnest(%s::bigint[], %s::timestamptz[], %s::boolean[], %s::integer[], %s::text[])
    AS v(id, covered_until, reset, refusals, last_failure)
WHERE s.id = v.id
"""  # noqa: S608 - as above


def _outcomes_write(outcomes: Sequence[_Outcome]) -> None:
    """One UPDATE of the batch's deliveries and one of their stakeholders."""
    stamp = timezone.now()
    columns: list[list[Any]] = [[] for _ in range(10)]
    for o in outcomes:
        row = (
            o.delivery.id, o.status, o.attempts, o.next_attempt_at, o.sent_at, o.error,
            o.message_id, o.subject, o.entry_count, o.covers_from,
        )  # fmt: skip
        for column, value in zip(columns, row, strict=True):
            column.append(value)

    changes: dict[int, dict[str, Any]] = {}
    # A stakeholder's windows in a batch follow one another (see _batch_send): covered_until
    # moves through them in order and stops at the first one not delivered, whose retry then
    # starts where it did. A later one already sent is told again rather than the earlier lost.
    stopped: set[int] = set()
    for o in sorted(outcomes, key=lambda o: o.delivery.id):
        stakeholder_id = o.delivery.stakeholder_id
        delivered = o.status in (Delivery.Status.SENT, Delivery.Status.EMPTY)
        if not delivered and o.status != Delivery.Status.SKIPPED:
            stopped.add(stakeholder_id)
        if not (delivered or o.refused):
            continue
        change = changes.setdefault(
            stakeholder_id,
            {"covered_until": None, "reset": False, "refusals": 0, "last_failure": ""},
        )
        # A test send shows the next digest without delivering it: the window stays open.
        if (
            delivered
            and stakeholder_id not in stopped
            and not o.delivery.period.startswith("test-")
        ):
            until = o.delivery.covers_until
            change["covered_until"] = max(filter(None, (change["covered_until"], until)))
        if o.status == Delivery.Status.SENT:
            change["reset"] = True
        if o.refused:
            change["refusals"] += 1
            change["last_failure"] = o.error

    with connection.cursor() as cursor:
        cursor.execute(_DELIVERIES_UPDATE, [stamp, *columns])
        if changes:
            active, paused = Stakeholder.Status.ACTIVE, Stakeholder.Status.PAUSED
            cursor.execute(
                _STAKEHOLDERS_UPDATE,
                [
                    active, MAX_FAILURES, paused, active, MAX_FAILURES, stamp,
                    list(changes), [c["covered_until"] for c in changes.values()],
                    [c["reset"] for c in changes.values()],
                    [c["refusals"] for c in changes.values()],
                    [c["last_failure"] for c in changes.values()],
                ],
            )  # fmt: skip


def _report_add(report: SendReport, outcomes: Sequence[_Outcome]) -> None:
    report.batches += 1
    report.claimed += len(outcomes)
    for o in outcomes:
        if o.status == Delivery.Status.SENT:
            report.sent += 1
        elif o.status == Delivery.Status.EMPTY:
            report.empty += 1
        elif o.status == Delivery.Status.SKIPPED:
            report.skipped += 1
        elif o.status == Delivery.Status.FAILED:
            report.failed += 1
        else:
            report.retried += 1


def deliveries_send(
    *,
    batch_size: int = 500,
    limit: int | None = None,
    now: datetime.datetime | None = None,
    stop_after: float | None = None,
) -> SendReport:
    """Claim, send and record batches of due deliveries until none is left (or `limit`
    deliveries were claimed, or `stop_after` seconds passed). Safe to run in any number of
    workers at once: each batch is claimed under row locks that skip the others' rows."""
    report = SendReport()
    started = timezone.now()
    while limit is None or report.claimed < limit:
        size = batch_size if limit is None else min(batch_size, limit - report.claimed)
        moment = now or timezone.now()
        try:
            with transaction.atomic():
                claimed = _claim(size, moment)
                if not claimed:
                    break
                outcomes = _batch_send(claimed, moment)
                _outcomes_write(outcomes)
        except MarkersUnavailable as exc:
            # Read before anything is sent, so the claim rolls back whole; the watchdog
            # (digests_resume) has these sent once Redis answers again.
            log.warning("digests: sending stops, the sent-marker store is unavailable: %s", exc)
            break
        _report_add(report, outcomes)
        if len(claimed) < size:  # the rest is locked by other workers or waiting to retry
            break
        if stop_after is not None and (timezone.now() - started).total_seconds() > stop_after:
            break
    return report


def deliveries_waiting(*, now: datetime.datetime | None = None) -> bool:
    """Whether any delivery is pending and due (a sender has work)."""
    now = now or timezone.now()
    # cross-workspace: the sweeper asks for every workspace at once.
    return _due(now).exists()


# --- at once: ships and release notes ------------------------------------------------------------
def deliveries_create_immediate(
    *, workspace: Workspace, kind: str, object_id: int, now: datetime.datetime | None = None
) -> int:
    """Create a "now-<kind>-<id>" delivery for each active stakeholder with the cadence
    "immediately" whose digest now has something new; the content's own scope rules decide
    who that is. Unique per (stakeholder, period), so a re-run creates nothing twice. Returns
    how many deliveries there are to send."""
    if kind not in IMMEDIATE_KINDS:
        raise ValueError(f"Unknown immediate digest kind {kind!r}.")
    # Windows are whole seconds (content floors them): end on the next whole second, so the
    # event that called this, a few milliseconds ago, is inside.
    now = (now or timezone.now()).replace(microsecond=0) + datetime.timedelta(seconds=1)
    # Read, not created: most ships happen in workspaces that never set digests up.
    defaults = _settings_of({workspace.id})[workspace.id]
    people = Stakeholder.objects.for_workspace(workspace).filter(status=Stakeholder.Status.ACTIVE)
    if defaults.cadence == Cadence.IMMEDIATELY:
        people = people.filter(cadence__in=["", Cadence.IMMEDIATELY])
    else:
        people = people.filter(cadence=Cadence.IMMEDIATELY)
    period = f"now-{kind}-{object_id}"
    # A re-run (pmhub.digests.recovery) builds only the digests still missing: one probe of
    # the (stakeholder, period) unique index each.
    people = people.filter(
        ~Exists(Delivery.objects.for_workspace(workspace).filter(
            stakeholder_id=OuterRef("id"), period=period
        ))
    )  # fmt: skip
    made, last_id = 0, 0
    while True:
        chunk = list(people.filter(id__gt=last_id).order_by("id")[:IMMEDIATE_CHUNK])
        if not chunk:
            return made
        last_id = chunk[-1].id
        for stakeholder in chunk:
            stakeholder.workspace = workspace
        requests = [DigestRequest(s, covers_from_for(s, defaults.cadence, now), now) for s in chunk]
        due = [
            Delivery(
                workspace=workspace,
                stakeholder=request.stakeholder,
                period=period,
                due_at=now,
                covers_until=now,
            )  # fmt: skip
            for request, digest in zip(requests, digests_build(workspace, requests), strict=True)
            if not digest.is_empty
        ]
        Delivery.objects.bulk_create(due, ignore_conflicts=True)
        made += len(due)


# --- test sends ----------------------------------------------------------------------------------
def digest_test_send(
    *,
    workspace: Workspace,
    stakeholder: Stakeholder,
    to: str,
    key: str | None = None,
    now: datetime.datetime | None = None,
) -> Delivery:
    """Send the stakeholder's next digest, as it stands now, to `to`, recorded as a "test-<key>"
    delivery that leaves their covered_until where it was. Idempotent per key (the task's id):
    a redelivered task finds its delivery and sends nothing. The delivery is created, sent and
    marked in one transaction, so no sender ever claims it."""
    try:
        validate_email(to)
    except ValidationError:
        raise ValidationError({"to": "Give an email address."}) from None
    period = f"test-{key or uuid.uuid4().hex}"
    with transaction.atomic():
        done = (
            Delivery.objects.for_workspace(workspace)
            .filter(stakeholder=stakeholder, period=period)
            .first()
        )
        if done is not None:
            return done
        now = now or timezone.now()
        digest = digest_next(workspace=workspace, stakeholder=stakeholder, now=now)
        delivery = Delivery.objects.create(
            workspace=workspace, stakeholder=stakeholder, period=period, due_at=now,
            covers_from=digest.covers_from, covers_until=digest.covers_until,
        )  # fmt: skip
        message = digest_email(
            digest,
            settings=digest_settings_get(workspace=workspace),
            message_id=message_id_for(delivery.id),
        )
        message.to = [to]
        message.send()
        delivery.status = Delivery.Status.SENT
        delivery.attempts = 1
        delivery.sent_at = timezone.now()
        delivery.message_id = message_id_for(delivery.id)
        delivery.subject = str(message.subject)[:200]
        delivery.entry_count = min(digest.entry_count, 32_767)
        delivery.save(
            update_fields=[
                "status", "attempts", "sent_at", "message_id", "subject", "entry_count",
                "updated_at",
            ]
        )  # fmt: skip
        return delivery
