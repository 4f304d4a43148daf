"""Throttling of password and two-factor guesses: at most PMHUB_LOGIN_ATTEMPTS failures per
key within PMHUB_LOGIN_WINDOW_SECONDS.

Failures are rows of LoginFailure in PostgreSQL, under the SHA-256 of their key (the email
and client address of a login, the person of a two-factor code), so the table holds no email
or address in clear. The cache would be faster, but it forgets everything when Redis restarts
and counts nothing while Redis is down: both would lift the limit.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from pmhub.accounts.models import LoginFailure


def throttle_key(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def _window_start() -> datetime:
    return timezone.now() - timedelta(seconds=settings.PMHUB_LOGIN_WINDOW_SECONDS)


def failures_exhausted(key: str) -> bool:
    """Whether `key` has used up its failures in the window."""
    recent = LoginFailure.objects.filter(key=key, failed_at__gte=_window_start())
    return recent.count() >= settings.PMHUB_LOGIN_ATTEMPTS


def failure_record(key: str) -> int:
    """Count one more failure of `key`; how many it has in the window, this one included.
    Failures past the window (of every key) are deleted on the way."""
    start = _window_start()
    LoginFailure.objects.filter(failed_at__lt=start).delete()
    LoginFailure.objects.create(key=key)
    return LoginFailure.objects.filter(key=key, failed_at__gte=start).count()
