"""The quick start's outbox: the mail its SMTP sink kept in a Maildir (PMHUB_DEV_MAILDIR), read
back for the workspace whose slug a message carries in `X-PMHub-Workspace`. Nothing here exists
outside the quick start: with the setting empty every read says there is no outbox."""

from __future__ import annotations

import datetime
import heapq
import mailbox
import os
import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import BinaryIO

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist

from pmhub.digests.models import Delivery
from pmhub.workspaces.models import Workspace

WORKSPACE_HEADER = "X-PMHub-Workspace"
# The sink keeps every message of every workspace: the list reads the newest few only, and
# only their headers, so a long-running quick start still opens the page at once.
LIST_SIZE = 200
HEADER_BYTES = 64 * 1024
BODY_BYTES = 2 * 1024 * 1024
# Maildir names a message "<seconds>.M<micro>P<pid>Q<n>.<host>"; a key starting with a letter
# or digit and made of these characters cannot climb out of the Maildir, whatever is asked.
_KEY = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]{0,199}")
_DELIVERY_ID = re.compile(r"<digest-(\d{1,18})@")
_KINDS = (
    (re.compile(r"\d{4}-\d{2}-\d{2}"), "Daily"),
    (re.compile(r"\d{4}-W\d{2}"), "Weekly"),
    (re.compile(r"\d{4}-\d{2}"), "Monthly"),
    (re.compile(r"now-.*"), "Immediate"),
    (re.compile(r"test-.*"), "Test"),
)
_PARSER = BytesParser(policy=policy.default)


class OutboxMissing(ObjectDoesNotExist):
    """No outbox (not the quick start), or no such message of this workspace."""


@dataclass(frozen=True)
class OutboxEntry:
    """One message of the list: its envelope and when the sink received it."""

    key: str
    received_at: datetime.datetime | None  # the file's time, read for the list only
    subject: str
    sender: str
    to: str
    date: str
    message_id: str
    list_unsubscribe: str
    kind: str = "Digest"
    period: str = ""


@dataclass(frozen=True)
class OutboxMessage:
    """One message as received: its envelope and its text and HTML parts."""

    entry: OutboxEntry
    html: str
    text: str
    size: int
    is_whole: bool  # False past BODY_BYTES: the parts are not shown


def outbox_enabled() -> bool:
    return bool(settings.PMHUB_DEV_MAILDIR)


def _maildir() -> mailbox.Maildir:
    if not settings.PMHUB_DEV_MAILDIR:
        raise OutboxMissing("There is no outbox outside the quick start.")
    try:
        return mailbox.Maildir(settings.PMHUB_DEV_MAILDIR, factory=None, create=False)
    except mailbox.NoSuchMailboxError as exc:  # no mail has been sent yet
        raise OutboxMissing("The quick start has not kept any mail yet.") from exc


def _read_headers(file: BinaryIO) -> EmailMessage:
    lines = []
    size = 0
    for line in file:
        if line in (b"\n", b"\r\n") or size > HEADER_BYTES:
            break
        lines.append(line)
        size += len(line)
    message = _PARSER.parsebytes(b"".join(lines), headersonly=True)
    assert isinstance(message, EmailMessage)
    return message


def _header(message: EmailMessage, name: str) -> str:
    try:
        return str(message.get(name, "")).strip()
    except (ValueError, IndexError, TypeError):  # a malformed header is shown as missing
        return ""


def _entry(key: str, mtime: float | None, message: EmailMessage) -> OutboxEntry:
    return OutboxEntry(
        key=key,
        received_at=None
        if mtime is None
        else datetime.datetime.fromtimestamp(mtime, tz=datetime.UTC),
        subject=_header(message, "Subject"),
        sender=_header(message, "From"),
        to=_header(message, "To"),
        date=_header(message, "Date"),
        message_id=_header(message, "Message-ID"),
        list_unsubscribe=_header(message, "List-Unsubscribe"),
    )


def _newest(box: mailbox.Maildir, limit: int) -> list[tuple[float, str, str]]:
    """(mtime, key, path) of the Maildir's newest delivered messages, newest first."""
    found = []
    for subdir in ("new", "cur"):
        with os.scandir(os.path.join(settings.PMHUB_DEV_MAILDIR, subdir)) as entries:
            for entry in entries:
                key = entry.name.split(box.colon)[0]
                if _KEY.fullmatch(key) and entry.is_file():
                    found.append((entry.stat().st_mtime, key, entry.path))
    return heapq.nlargest(limit, found)


def _with_kinds(workspace: Workspace, entries: list[OutboxEntry]) -> list[OutboxEntry]:
    """The entries with the kind of digest each was (daily, weekly, a test…), read from the
    workspace's deliveries their Message-IDs name, in one statement."""
    ids = {}
    for entry in entries:
        match = _DELIVERY_ID.match(entry.message_id)
        if match:
            ids[entry.key] = int(match.group(1))
    if not ids:
        return entries
    periods = {
        (delivery_id, message_id): period
        for delivery_id, message_id, period in Delivery.objects.for_workspace(workspace)
        .filter(id__in=set(ids.values()))
        .values_list("id", "message_id", "period")
    }
    kinded = []
    for entry in entries:
        period = periods.get((ids.get(entry.key), entry.message_id), "")
        kind = next((label for pattern, label in _KINDS if pattern.fullmatch(period)), "Digest")
        kinded.append(
            OutboxEntry(**{**entry.__dict__, "kind": kind, "period": period}) if period else entry
        )
    return kinded


def outbox_list(*, workspace: Workspace) -> list[OutboxEntry]:
    """The workspace's mail among the sink's newest LIST_SIZE messages, newest first, headers
    only; OutboxMissing outside the quick start."""
    box = _maildir()
    entries = []
    for mtime, key, path in _newest(box, LIST_SIZE):
        try:
            with open(path, "rb") as file:
                message = _read_headers(file)
        except FileNotFoundError:  # moved or removed since the directory was listed
            continue
        if _header(message, WORKSPACE_HEADER) == workspace.slug:
            entries.append(_entry(key, mtime, message))
    return _with_kinds(workspace, entries)


def outbox_message_get(*, workspace: Workspace, message_key: str) -> OutboxMessage:
    """One of the workspace's messages by its Maildir key, its body read up to BODY_BYTES;
    OutboxMissing for a malformed key, an unknown one, or another workspace's message."""
    if not _KEY.fullmatch(message_key):
        raise OutboxMissing("No such message.")
    box = _maildir()
    try:
        file = box.get_file(message_key)
    except (KeyError, FileNotFoundError) as exc:
        raise OutboxMissing("No such message.") from exc
    with file:
        data = file.read(BODY_BYTES + 1)
    is_whole = len(data) <= BODY_BYTES
    message = _PARSER.parsebytes(data, headersonly=not is_whole)
    assert isinstance(message, EmailMessage)
    if _header(message, WORKSPACE_HEADER) != workspace.slug:
        raise OutboxMissing("No such message.")
    html = text = ""
    if is_whole:
        html = _part(message, "html")
        text = _part(message, "plain")
    (entry,) = _with_kinds(workspace, [_entry(message_key, None, message)])
    return OutboxMessage(entry=entry, html=html, text=text, size=len(data), is_whole=is_whole)


def _part(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    if part is None or part.get_content_subtype() != subtype:
        return ""
    try:
        return str(part.get_content())
    except (LookupError, ValueError):  # an unknown charset or a broken transfer encoding
        return ""
