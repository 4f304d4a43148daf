from __future__ import annotations

import time

import pytest
from django.core.cache import cache

from pmhub.core.heartbeats import BEAT, WORKER, heartbeat_record


def _key(component: str) -> str:
    return f"health:heartbeat:{component}"


@pytest.mark.django_db
def test_health_is_green_when_database_broker_worker_and_beat_report(client):
    heartbeat_record(component=WORKER)
    heartbeat_record(component=BEAT)

    response = client.get("/health/")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "database": True,
        "broker": True,
        "worker": True,
        "beat": True,
    }
    assert body["checks"]["broker"]["transport"] == "redis"
    assert "replica" not in body["checks"]  # no DATABASE_REPLICA_URL


@pytest.mark.django_db
def test_health_is_503_when_the_worker_never_reported(client):
    cache.delete(_key(WORKER))
    heartbeat_record(component=BEAT)

    response = client.get("/health/")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["worker"] == {"ok": False, "error": "never reported"}
    assert body["checks"]["beat"]["ok"] is True


@pytest.mark.django_db
def test_health_is_503_when_beat_is_stale(client, settings):
    heartbeat_record(component=WORKER)
    cache.set(_key(BEAT), time.time() - settings.PMHUB_HEARTBEAT_STALE_SECONDS - 5)

    response = client.get("/health/")

    assert response.status_code == 503
    assert response.json()["checks"]["beat"]["ok"] is False


@pytest.mark.django_db
def test_health_reports_a_broker_that_cannot_be_reached(client, settings):
    from pmhub.celery import app

    heartbeat_record(component=WORKER)
    heartbeat_record(component=BEAT)
    original = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        response = client.get("/health/")
    finally:
        app.conf.broker_url = original

    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["ok"] is False
