"""The shape of personal API tokens: `pmh_` + 40 url-safe characters."""

from __future__ import annotations

import hashlib
import re
import secrets

TOKEN_PREFIX = "pmh_"  # noqa: S105 - a public marker, not a secret.
_TOKEN_RE = re.compile(r"pmh_[A-Za-z0-9_-]{40}")


def token_generate() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(30)


def token_is_well_formed(raw: str) -> bool:
    return _TOKEN_RE.fullmatch(raw) is not None


def token_hash(raw: str) -> str:
    # Tokens carry 240 random bits, so a fast unsalted hash is enough: nothing to brute-force.
    return hashlib.sha256(raw.encode()).hexdigest()
