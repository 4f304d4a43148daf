"""Secrets the server must read back (authenticator keys), sealed with a key derived from
SECRET_KEY, so that a copy of the database (a backup, a replica, an export gone astray) does not
hold them in the clear.

The standard library has no cipher, and pmhub takes no dependency for one: the seal is HMAC-SHA-256
as a pseudo-random function in counter mode (the keystream), then HMAC-SHA-256 over the result
(encrypt-then-MAC), with separate keys for the two, each derived from SECRET_KEY. Keys in
SECRET_KEY_FALLBACKS still open older seals, so the key can be rotated the way Django rotates it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from django.conf import settings

VERSION = b"\x01"
NONCE_BYTES = 16
TAG_BYTES = 32
_BLOCK = hashlib.sha256().digest_size


class SealBroken(ValueError):
    """The text was not sealed by this installation's keys, or it was altered."""


def _keys(secret_key: str) -> tuple[bytes, bytes]:
    root = secret_key.encode()
    encryption = hmac.new(root, b"pmhub.accounts.sealing:encryption", hashlib.sha256).digest()
    authentication = hmac.new(root, b"pmhub.accounts.sealing:mac", hashlib.sha256).digest()
    return encryption, authentication


def _keystream(key: bytes, nonce: bytes, length: int) -> bytes:
    blocks = (length + _BLOCK - 1) // _BLOCK
    stream = b"".join(
        hmac.new(key, nonce + counter.to_bytes(4, "big"), hashlib.sha256).digest()
        for counter in range(blocks)
    )
    return stream[:length]


def _xor(data: bytes, stream: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, stream, strict=True))


def seal(plain: bytes) -> str:
    """`plain` encrypted and authenticated under the current SECRET_KEY, as ASCII text."""
    encryption, authentication = _keys(settings.SECRET_KEY)
    nonce = secrets.token_bytes(NONCE_BYTES)
    body = VERSION + nonce + _xor(plain, _keystream(encryption, nonce, len(plain)))
    tag = hmac.new(authentication, body, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(body + tag).decode("ascii")


def unseal(text: str) -> bytes:
    """What seal() sealed, under SECRET_KEY or one of SECRET_KEY_FALLBACKS; SealBroken if none
    of them made it or it was changed since."""
    try:
        raw = base64.urlsafe_b64decode(text.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise SealBroken("not a sealed value") from exc
    if len(raw) < 1 + NONCE_BYTES + TAG_BYTES or raw[:1] != VERSION:
        raise SealBroken("not a sealed value")
    body, tag = raw[:-TAG_BYTES], raw[-TAG_BYTES:]
    nonce, cipher = body[1 : 1 + NONCE_BYTES], body[1 + NONCE_BYTES :]
    for secret_key in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]:
        encryption, authentication = _keys(secret_key)
        if hmac.compare_digest(hmac.new(authentication, body, hashlib.sha256).digest(), tag):
            return _xor(cipher, _keystream(encryption, nonce, len(cipher)))
    raise SealBroken("sealed under another key, or altered")
