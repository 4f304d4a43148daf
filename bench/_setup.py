"""Shared set-up: point Django at a dedicated benchmark database and migrate it."""

from __future__ import annotations

import atexit
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any
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


def progress(label: str, value: object) -> None:
    print(f"{label}: {value}", file=sys.stderr, flush=True)


def _stats(samples: list[float]) -> dict[str, float]:
    samples = sorted(samples)
    return {
        "median_ms": round(statistics.median(samples), 3),
        "p95_ms": round(samples[max(0, int(len(samples) * 0.95) - 1)], 3),
    }


def timed_pair(
    fn: Callable[[], object], floor: Callable[[], object], *, repeat: int
) -> tuple[dict[str, float], dict[str, float]]:
    """Median and p95 of `fn` and of its floor, sampled alternately after a warm-up of each.

    Alternating (and swapping who goes first) exposes both to the same machine load, so their
    ratio holds on a busy host where two back-to-back series would not.
    """
    started = time.perf_counter()
    fn()
    if time.perf_counter() - started > 0.5:
        repeat = min(repeat, 5)  # a slow path: enough samples to see it, not minutes more
    floor()
    samples: tuple[list[float], list[float]] = ([], [])
    for i in range(repeat):
        order = ((0, fn), (1, floor)) if i % 2 == 0 else ((1, floor), (0, fn))
        for slot, call in order:
            started = time.perf_counter()
            call()
            samples[slot].append((time.perf_counter() - started) * 1000)
    return _stats(samples[0]), _stats(samples[1])


def capture(fn: Callable[[], object]) -> list[tuple[str, Any]]:
    """The SQL statements (text and parameters) Django runs for `fn`."""
    from django.db import connection

    statements: list[tuple[str, Any]] = []

    def wrapper(execute: Any, sql: str, sql_params: Any, many: bool, context: Any) -> Any:
        statements.append((sql, sql_params))
        return execute(sql, sql_params, many, context)

    with connection.execute_wrapper(wrapper):
        fn()
    return statements


def raw_floor(raw: Any, statements: list[tuple[str, Any]]) -> Callable[[], bytes]:
    """The floor of `statements`: replayed through the raw psycopg connection `raw` (a
    client-side-binding cursor, like Django's, so PostgreSQL sees the same literal SQL and plans
    it the same way), each one's rows encoded with orjson."""
    import orjson

    def floor() -> bytes:
        results = []
        for sql, sql_params in statements:
            cur = raw.execute(sql, sql_params)
            if cur.description is None:
                continue
            names = [c.name for c in cur.description]
            results.append([dict(zip(names, row, strict=True)) for row in cur.fetchall()])
        return orjson.dumps(results, option=orjson.OPT_UTC_Z, default=str)

    return floor
