"""Liveness records of the worker and beat, kept in Redis for /health/."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache

WORKER = "worker"
BEAT = "beat"


def _key(component: str) -> str:
    return f"health:heartbeat:{component}"


def heartbeat_record(*, component: str) -> None:
    """Store now as the last time `component` was seen alive."""
    cache.set(_key(component), time.time(), timeout=settings.PMHUB_HEARTBEAT_STALE_SECONDS * 10)


def heartbeat_age(*, component: str) -> float | None:
    """Seconds since `component` last reported in, or None if it never did."""
    seen = cache.get(_key(component))
    return None if seen is None else max(0.0, time.time() - seen)
