"""GET /health/: what a load balancer and an operator need to know, as JSON."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from pmhub.core.heartbeats import BEAT, WORKER, heartbeat_age
from pmhub.core.views import public_view


def _check_database() -> dict[str, Any]:
    started = time.monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means "down"; the message says why.
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True, "latency_ms": round((time.monotonic() - started) * 1000, 1)}


def _check_broker() -> dict[str, Any]:
    from pmhub.celery import app

    started = time.monotonic()
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True, "latency_ms": round((time.monotonic() - started) * 1000, 1)}


def _check_heartbeat(component: str) -> dict[str, Any]:
    try:
        age = heartbeat_age(component=component)
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "error": exc.__class__.__name__}
    if age is None:
        return {"ok": False, "error": "never reported"}
    stale = settings.PMHUB_HEARTBEAT_STALE_SECONDS
    return {"ok": age <= stale, "last_seen_seconds_ago": round(age, 1)}


@public_view
@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    checks = {
        "database": _check_database(),
        "broker": _check_broker(),
        "worker": _check_heartbeat(WORKER),
        "beat": _check_heartbeat(BEAT),
    }
    healthy = all(check["ok"] for check in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status=200 if healthy else 503,
    )
