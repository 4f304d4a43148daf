"""A private redis-server that a test may kill and start again, and a worker and beat on it.

The shared Redis of this machine serves every other test run, so restart tests start their own
on a free loopback port, keeping nothing on disk (as CI's and a default compose Redis): a
restart empties it, queue included.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from django.conf import settings

from tests.conftest import ROOT, database_url_of


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PrivateRedis:
    folder: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10) -> None:
        """Start it empty on its port and wait until it answers."""
        with (self.folder / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - a fixed command line
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--dir", str(self.folder)],
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + timeout
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise
                time.sleep(0.02)
            finally:
                client.close()

    def kill(self) -> None:
        """SIGKILL: no shutdown, no save."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def queued(self, queue: str) -> int:
        """How many messages wait in a Celery queue (a Redis list of that name)."""
        client = redis.Redis(port=self.port)
        try:
            return int(client.llen(queue))
        finally:
            client.close()

    def keys(self) -> int:
        client = redis.Redis(port=self.port)
        try:
            return int(client.dbsize())
        finally:
            client.close()


@contextlib.contextmanager
def private_redis(folder: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(folder=folder)
    server.start()
    try:
        yield server
    finally:
        server.kill()


@contextlib.contextmanager
def publishing_to(url: str) -> Iterator[None]:
    """Have this process's Celery app publish to `url` (the private Redis) meanwhile."""
    from pmhub.celery import app

    previous = app.conf.broker_url

    def switch(to: str) -> None:
        app.conf.broker_url = to
        app._pool = None  # noqa: SLF001 - the pool and producer pool are per broker URL
        app.amqp._producer_pool = None  # noqa: SLF001

    switch(url)
    try:
        yield
    finally:
        switch(previous)


@dataclass
class Stack:
    """A `celery worker` (prefork, as deployed) and `celery beat` on the private Redis."""

    worker: subprocess.Popen[bytes]
    beat: subprocess.Popen[bytes]
    folder: Path

    def logs(self, tail: int = 4000) -> str:
        return "\n".join(
            f"--- {name} ---\n{(self.folder / name).read_text(errors='replace')[-tail:]}"
            for name in ("worker.log", "beat.log")
        )


def _environment(server: PrivateRedis, smtp_port: int | None) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "pmhub.settings.test",
        "DATABASE_URL": database_url_of(settings.DATABASES["default"]),
        "REDIS_URL": server.url,
        "CELERY_BROKER_URL": "",
        "PMHUB_CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
        "PMHUB_CACHE_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
    }
    if smtp_port is not None:
        env["PMHUB_TEST_EMAIL_BACKEND"] = "django.core.mail.backends.smtp.EmailBackend"
        env["EMAIL_URL"] = f"smtp://127.0.0.1:{smtp_port}"
    return env


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextlib.contextmanager
def worker_and_beat(
    server: PrivateRedis, folder: Path, *, smtp_port: int | None = None, concurrency: int = 2
) -> Iterator[Stack]:
    env = _environment(server, smtp_port)
    celery = [sys.executable, "-m", "celery", "-A", "pmhub.celery"]
    hostname = f"restart-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
    with (
        (folder / "worker.log").open("wb") as worker_log,
        (folder / "beat.log").open("wb") as beat_log,
    ):
        worker = subprocess.Popen(  # noqa: S603 - our own worker
            [*celery, "worker", "--pool", "prefork", "--concurrency", str(concurrency),
             "--loglevel", "INFO", "--without-gossip", "--without-mingle",
             "--hostname", hostname],
            env=env, cwd=ROOT, stdout=worker_log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        beat = subprocess.Popen(  # noqa: S603 - our own beat
            [*celery, "beat", "--loglevel", "INFO", "--schedule", str(folder / "beat-schedule")],
            env=env, cwd=ROOT, stdout=beat_log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    stack = Stack(worker=worker, beat=beat, folder=folder)
    try:
        deadline = time.monotonic() + 60
        while b"ready." not in (folder / "worker.log").read_bytes():
            if worker.poll() is not None or beat.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker or beat did not start:\n{stack.logs()}")
            time.sleep(0.1)
        yield stack
    finally:
        _stop(beat)
        _stop(worker)


def wait_until(predicate: Any, *, timeout: float, step: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())
