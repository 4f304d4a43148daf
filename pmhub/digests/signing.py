"""Signed links in a digest: unsubscribe (RFC 8058 one-click) and the web version of a digest.

Both carry ids only, signed with the project's SECRET_KEY under their own salt and stamped with
the time they were made, so a link expires and a link of one kind never works as the other.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.core import signing

UNSUBSCRIBE_SALT = "pmhub.digests.unsubscribe"
WEB_SALT = "pmhub.digests.web"
UNSUBSCRIBE_MAX_AGE = datetime.timedelta(days=60)
WEB_MAX_AGE = datetime.timedelta(days=90)

BadLink = signing.BadSignature  # SignatureExpired is a subclass: expired links are bad links too


@dataclass(frozen=True)
class WebDigest:
    workspace_id: int
    stakeholder_id: int
    covers_from: datetime.datetime
    covers_until: datetime.datetime


class _SignedAt(signing.TimestampSigner):
    """Signs with a given moment as its timestamp: a digest's links are stamped with the end of
    its window, so the same digest always has the same links (the preview, the email and the
    web version match byte for byte) and expire a fixed time after it."""

    def __init__(self, *, salt: str, at: datetime.datetime | None) -> None:
        super().__init__(salt=salt)
        self.at = at

    def timestamp(self) -> str:
        if self.at is None:
            return super().timestamp()
        return signing.b62_encode(int(self.at.timestamp()))


def unsubscribe_token(
    *, workspace_id: int, stakeholder_id: int, signed_at: datetime.datetime | None = None
) -> str:
    signer = _SignedAt(salt=UNSUBSCRIBE_SALT, at=signed_at)
    return signer.sign(f"{workspace_id}.{stakeholder_id}")


def unsubscribe_token_read(token: str) -> tuple[int, int]:
    """(workspace_id, stakeholder_id) of a valid token; BadLink for a tampered or expired one."""
    value = signing.TimestampSigner(salt=UNSUBSCRIBE_SALT).unsign(
        token, max_age=UNSUBSCRIBE_MAX_AGE
    )
    workspace_id, stakeholder_id = value.split(".")
    return int(workspace_id), int(stakeholder_id)


def web_token(
    *,
    workspace_id: int,
    stakeholder_id: int,
    covers_from: datetime.datetime,
    covers_until: datetime.datetime,
) -> str:
    start, end = int(covers_from.timestamp()), int(covers_until.timestamp())
    value = f"{workspace_id}.{stakeholder_id}.{start}.{end}"
    return _SignedAt(salt=WEB_SALT, at=covers_until).sign(value)


def web_token_read(token: str) -> WebDigest:
    """The digest a valid web-version token names; BadLink for a tampered or expired one."""
    value = signing.TimestampSigner(salt=WEB_SALT).unsign(token, max_age=WEB_MAX_AGE)
    workspace_id, stakeholder_id, start, end = (int(part) for part in value.split("."))
    return WebDigest(
        workspace_id=workspace_id,
        stakeholder_id=stakeholder_id,
        covers_from=datetime.datetime.fromtimestamp(start, tz=datetime.UTC),
        covers_until=datetime.datetime.fromtimestamp(end, tz=datetime.UTC),
    )
