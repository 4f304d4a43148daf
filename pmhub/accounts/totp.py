"""Time-based one-time passwords (RFC 6238, on HOTP of RFC 4226), with the standard library only.

What authenticator apps (1Password, Google Authenticator, Authy...) compute from the secret in a
QR code: HMAC-SHA-1 of the number of 30-second steps since the epoch, cut to 6 digits.
"""

from __future__ import annotations

import base64
import hmac
import secrets
from urllib.parse import quote, urlencode

STEP_SECONDS = 30
DIGITS = 6
# One step either side: a phone clock off by up to ~30 s, or a code typed as it turned over.
WINDOW = 1
SECRET_BYTES = 20  # 160 bits, the HMAC-SHA-1 block the RFC's reference key has


def secret_generate() -> bytes:
    return secrets.token_bytes(SECRET_BYTES)


def secret_to_base32(secret: bytes) -> str:
    """The secret as authenticator apps take it typed in: base32, without `=` padding."""
    return base64.b32encode(secret).decode("ascii").rstrip("=")


def secret_from_base32(text: str) -> bytes:
    cleaned = "".join(text.split()).upper()
    return base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))


def hotp(secret: bytes, counter: int, *, digits: int = DIGITS, digest: str = "sha1") -> str:
    """RFC 4226 §5.3: HMAC of the 8-byte counter, dynamically truncated to `digits` digits."""
    mac = hmac.new(secret, counter.to_bytes(8, "big"), digest).digest()
    offset = mac[-1] & 0x0F
    binary = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(binary % 10**digits).zfill(digits)


def time_step(at: float) -> int:
    """The RFC's T: whole 30-second steps since the Unix epoch (T0 = 0)."""
    return int(at // STEP_SECONDS)


def totp(secret: bytes, at: float, *, digits: int = DIGITS, digest: str = "sha1") -> str:
    return hotp(secret, time_step(at), digits=digits, digest=digest)


def code_step(secret: bytes, code: str, at: float, *, after_step: int | None = None) -> int | None:
    """The time step within WINDOW of `at` whose code is `code`, or None.

    Steps at or before `after_step` (the last one accepted) never match, so a code that was
    used once, or an older one still inside the window, cannot be replayed.
    """
    code = "".join(code.split())
    if len(code) != DIGITS or not (code.isascii() and code.isdigit()):
        return None
    now = time_step(at)
    # Every candidate is computed and compared in constant time, so timing tells nothing.
    found = None
    for step in range(now - WINDOW, now + WINDOW + 1):
        if hmac.compare_digest(hotp(secret, step), code) and (
            after_step is None or step > after_step
        ):
            found = step if found is None else found  # the earliest, if two ever match
    return found


def provisioning_uri(secret: bytes, *, account: str, issuer: str) -> str:
    """The `otpauth://totp/...` address a QR code carries (Key Uri Format, Google Authenticator
    wiki). Defaults (SHA1, 6 digits, 30 s) are spelled out: some apps ignore missing ones."""
    label = quote(f"{issuer}:{account}", safe="@:")
    query = urlencode(
        {
            "secret": secret_to_base32(secret),
            "issuer": issuer,
            "algorithm": "SHA1",
            "digits": DIGITS,
            "period": STEP_SECONDS,
        }
    )
    return f"otpauth://totp/{label}?{query}"
