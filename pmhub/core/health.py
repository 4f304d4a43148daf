"""GET /health/: what a load balancer and an operator need to know, as JSON."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from pmhub.core.heartbeats import BEAT, WORKER, heartbeat_age
from pmhub.core.routers import REPLICA_DB_ALIAS
from pmhub.core.views import public_view


def _check_database(alias: str = DEFAULT_DB_ALIAS) -> dict[str, Any]:
    started = time.monotonic()
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means "down"; the message says why.
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True, "latency_ms": round((time.monotonic() - started) * 1000, 1)}


def _check_replica() -> dict[str, Any]:
    """The replica answers, and how far its replay trails the primary. The lag is reported, not
    judged: an idle primary writes nothing to replay, so the figure grows without any fault."""
    check = _check_database(REPLICA_DB_ALIAS)
    if not check["ok"]:
        return check
    try:
        with connections[REPLICA_DB_ALIAS].cursor() as cursor:
            cursor.execute(
                "SELECT pg_is_in_recovery(), "
                "extract(epoch FROM now() - pg_last_xact_replay_timestamp())"
            )
            in_recovery, lag = cursor.fetchone()
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "error": exc.__class__.__name__}
    # A replica promoted (or pointed at the primary by mistake) still serves correct reads.
    check["in_recovery"] = in_recovery
    check["replay_lag_seconds"] = None if lag is None else round(float(lag), 1)
    return check


def _check_broker() -> dict[str, Any]:
    from pmhub.celery import app

    started = time.monotonic()
    try:
        with app.connection_for_write() as conn:
            transport = conn.transport_cls
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "error": exc.__class__.__name__}
    return {
        "ok": True,
        "transport": transport,  # "redis" or "amqp" (CELERY_BROKER_URL)
        "latency_ms": round((time.monotonic() - started) * 1000, 1),
    }


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
    if REPLICA_DB_ALIAS in connections.settings:  # DATABASE_REPLICA_URL is set
        checks["replica"] = _check_replica()
    healthy = all(check["ok"] for check in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status=200 if healthy else 503,
    )
