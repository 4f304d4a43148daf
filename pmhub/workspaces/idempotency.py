"""Safe retries of API POSTs: the `Idempotency-Key` request header.

A client that sends a POST with a key of its choosing may send it again, as many times as it
likes, and the work is done once: a retry gets the first answer again (with
`Idempotent-Replayed: true`). It is what makes retrying a create safe when the first answer never
arrived (a 503 during a database restart, a timeout, a dropped connection), although the
create itself was committed.

How (pmhub.workspaces.api.base.WorkspaceApiView): the request runs in one transaction that
first inserts the key's row and, before committing, stores the 2xx answer in it. The row commits
with the work or not at all; a concurrent request with the same key waits on the row's unique
index until the first one ends. Any other answer rolls the transaction back, key included:
nothing was done, so a retry runs again. Keys are kept for KEY_TTL, then pruned.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone

from pmhub.core.exceptions import ApplicationError
from pmhub.workspaces.models import IdempotentRequest

if TYPE_CHECKING:
    from pmhub.accounts.models import User
    from pmhub.workspaces.models import Workspace

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_TTL = timedelta(hours=24)
# Printable ASCII without spaces at either end, as UUIDs and the keys of other APIs are.
KEY_PATTERN = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]{0,253}[\x21-\x7e])?")
# What an answer is replayed with besides its body.
KEPT_HEADERS = {"location": "Location", "etag": "ETag"}


class IdempotencyKeyInvalid(ApplicationError):
    status_code = 400


class IdempotencyKeyReused(ApplicationError):
    status_code = 422


@dataclass(frozen=True)
class Claim:
    """The key's row, inserted by this request in its still open transaction."""

    row_id: int


def idempotency_key_read(headers: Any) -> str:
    """The request's key; a malformed (or empty) one raises IdempotencyKeyInvalid."""
    key = headers.get(HEADER, "")
    if not KEY_PATTERN.fullmatch(key):
        raise IdempotencyKeyInvalid(
            f"{HEADER} must be 1 to 255 printable ASCII characters, such as a UUID.",
            extra={"header": HEADER},
        )
    return key


def request_fingerprint(*, method: str, full_path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), full_path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def idempotent_request_claim(
    *, workspace: Workspace, user: User, key: str, fingerprint: str
) -> Claim | HttpResponse:
    """Claim `key` for this request, or the answer an earlier request with it got.

    Must run inside the transaction that does the request's work. Waits while another request
    with the key is running. The same key sent with another method, path or body raises
    IdempotencyKeyReused.
    """
    rows = IdempotentRequest.objects.for_workspace(workspace).filter(user=user, key=key)
    # An expired key is free again; its row goes now rather than at the next prune.
    rows.filter(created_at__lt=timezone.now() - KEY_TTL).delete()
    try:
        with transaction.atomic():
            row = IdempotentRequest.objects.create(
                workspace=workspace, user=user, key=key, fingerprint=fingerprint
            )
    except IntegrityError:
        # The key's row committed since our delete above (it waited for the other request).
        earlier = rows.get()
    else:
        return Claim(row_id=row.id)
    if earlier.fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            f"This {HEADER} was sent before with a different request; use a new key for a "
            "new request.",
            extra={"header": HEADER},
        )
    return idempotent_response(earlier)


def idempotent_response(row: IdempotentRequest) -> HttpResponse:
    response = HttpResponse(bytes(row.body), status=row.status_code, content_type=row.content_type)
    for field, header in KEPT_HEADERS.items():
        if value := getattr(row, field):
            response[header] = value
    response[REPLAYED_HEADER] = "true"
    return response


def idempotent_request_record(*, workspace: Workspace, claim: Claim, response: Any) -> None:
    """Keep a 2xx answer in the claimed row, to commit with the work. A streamed answer cannot
    be replayed: its key is forgotten instead."""
    rows = IdempotentRequest.objects.for_workspace(workspace).filter(id=claim.row_id)
    if response.streaming:
        rows.delete()
        return
    if hasattr(response, "render"):
        response.render()
    rows.update(
        status_code=response.status_code,
        content_type=response.get("Content-Type", ""),
        body=response.content,
        **{field: response.get(header, "") for field, header in KEPT_HEADERS.items()},
    )


def idempotent_requests_prune(*, now: datetime | None = None) -> int:
    """Delete the keys older than KEY_TTL, in every workspace; the number deleted."""
    cutoff = (now or timezone.now()) - KEY_TTL
    # cross-workspace: expiry is by age alone, the same for every workspace.
    deleted, _ = IdempotentRequest.objects.unscoped().filter(created_at__lt=cutoff).delete()
    return deleted
