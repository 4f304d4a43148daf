"""RabbitMQ as the broker (`CELERY_BROKER_URL=amqp://...`): a real worker runs a task sent over it.

The same round trip over the default Redis broker is measured alongside, for the README's figures:
the task records the worker's heartbeat in Redis, and the test waits until it reads it back.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings

from pmhub.core.heartbeats import WORKER, heartbeat_age

ROOT = Path(__file__).resolve().parent.parent
# RabbitMQ's stock account, which it accepts from loopback only.
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672//"
ROUND_TRIPS = 20


def _rabbitmq_answers() -> str | None:
    """None if RabbitMQ accepts a connection, else why not."""
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=1):
            pass
    except OSError as exc:
        return f"no RabbitMQ on 127.0.0.1:5672 ({exc})"
    probe = Celery("probe", broker=AMQP_URL, set_as_current=False)
    try:
        with probe.connection() as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as exc:  # noqa: BLE001 - any refusal means the test cannot run here
        return f"RabbitMQ on 127.0.0.1:5672 refused {AMQP_URL}: {exc}"
    return None


pytestmark = pytest.mark.skipif(
    (reason := _rabbitmq_answers()) is not None, reason=reason or "RabbitMQ answers"
)


def _start_worker(broker: str, queue: str, log: Path) -> subprocess.Popen[bytes]:
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "pmhub.settings.test",
        "CELERY_BROKER_URL": broker,
        "PMHUB_CELERY_QUEUE": queue,
        "PMHUB_CACHE_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
    }
    hostname = f"test-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
    command = [sys.executable, "-m", "celery", "-A", "pmhub.celery", "worker", "--pool", "solo"]
    command += ["--without-gossip", "--without-mingle"]
    command += ["--loglevel", "INFO", "--hostname", hostname]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env=environment, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 60
    while b"ready." not in log.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the Celery worker did not start:\n{log.read_text()}")
        time.sleep(0.05)
    return process


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


def _round_trip_ms(sender: Celery, queue: str) -> float:
    """Send the heartbeat task and wait until the heartbeat it records is newer than the send."""
    sent = time.time()
    sender.send_task("pmhub.core.worker_heartbeat", queue=queue)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        age = heartbeat_age(component=WORKER)
        if age is not None and time.time() - age >= sent:
            return (time.time() - sent) * 1000
        time.sleep(0.001)
    pytest.fail("the worker did not run the task within 20 s")


@pytest.fixture(scope="module")
def queue() -> Iterator[str]:
    name = f"pmhub-test-amqp-{uuid.uuid4().hex[:8]}"
    yield name
    # Queues on RabbitMQ outlive the worker (durable); this one is of no use after the test.
    with Celery("cleanup", broker=AMQP_URL, set_as_current=False).connection() as connection:
        connection.default_channel.queue_delete(name)


@pytest.mark.parametrize("broker", ["amqp", "redis"])
def test_a_worker_runs_a_task_sent_over_the_broker(broker, queue, tmp_path, capsys):
    url = AMQP_URL if broker == "amqp" else settings.CELERY_BROKER_URL
    name = queue if broker == "amqp" else f"{queue}-redis"
    process = _start_worker(url, name, tmp_path / "worker.log")
    try:
        sender = Celery("sender", broker=url, set_as_current=False)
        _round_trip_ms(sender, name)  # opens the sender's connection
        timings = [_round_trip_ms(sender, name) for _ in range(ROUND_TRIPS)]
    finally:
        _stop(process)

    log = (tmp_path / "worker.log").read_text()
    scheme = "amqp" if broker == "amqp" else "redis"
    assert f".> transport:   {scheme}://" in log
    assert log.count("] succeeded in ") == ROUND_TRIPS + 1
    with capsys.disabled():
        print(
            f"\n{broker} round trip over {ROUND_TRIPS}: median {statistics.median(timings):.1f} ms,"
            f" max {max(timings):.1f} ms"
        )


@pytest.mark.django_db
def test_health_checks_the_broker_in_use(client):
    from pmhub.celery import app

    original = app.conf.broker_url
    app.conf.broker_url = AMQP_URL
    try:
        broker = client.get("/health/").json()["checks"]["broker"]
    finally:
        app.conf.broker_url = original

    assert broker["ok"] is True
    assert broker["transport"] == "amqp"
