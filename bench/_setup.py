"""Shared set-up: point Django at a dedicated benchmark database and migrate it."""

from __future__ import annotations

import atexit
import os
import statistics
import time
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit


def bench_database_url() -> str:
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pmhub")
    parts = urlsplit(url)
    name = parts.path.lstrip("/") or "pmhub"
    return urlunsplit(parts._replace(path=f"/{name}_bench"))


def django_setup() -> None:
    """Create the benchmark database if needed, configure Django on it and migrate."""
    import psycopg

    url = bench_database_url()
    parts = urlsplit(url)
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        name = parts.path.lstrip("/")
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pmhub.settings.test")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    # Writes enqueue tagging tasks, as in real use; no worker consumes this run's own queue, so
    # what is left in it goes when the run ends.
    atexit.register(_purge_queue)


def _purge_queue() -> None:
    from pmhub.celery import app

    app.control.purge()


def timed(fn: Callable[[], object], *, repeat: int) -> dict[str, float]:
    """Median and p95 wall time of `fn` in milliseconds, after one warm-up call."""
    fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {
        "median_ms": round(statistics.median(samples), 3),
        "p95_ms": round(samples[int(len(samples) * 0.95) - 1], 3),
    }
