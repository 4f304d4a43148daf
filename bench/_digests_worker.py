"""One digests worker process for the benchmark: the sender's own loop, with its SQL counted.

python -m bench._digests_worker --batch-size 500 [--profile FILE]

Configured by the environment (DATABASE_URL, REDIS_URL, EMAIL_URL, the cache prefix) as a
Celery worker would be. Prints "READY" once Django is set up, sends until no delivery is due,
then prints one JSON line: the statements Django ran (by kind), the peak RSS and the seconds the
sending took. Whether anything is still due is asked on a connection of its own, outside the
count.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import json
import os
import time
from typing import Any


def _pending(dsn: dict[str, Any]) -> int:
    import psycopg

    with psycopg.connect(**dsn, autocommit=True) as conn:
        return conn.execute(
            "SELECT count(*) FROM digests_delivery WHERE status = 'pending'"
            " AND (next_attempt_at IS NULL OR next_attempt_at <= now())"
        ).fetchone()[0]


def _peak_rss_kb() -> int:
    """This program's peak resident set (VmHWM). Not getrusage's maxrss: that keeps the peak
    of the process before its exec too, i.e. of the benchmark that forked it."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--profile", default="")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pmhub.settings.test")
    import django

    django.setup()
    from django.db import connection

    from pmhub.digests.sender import deliveries_send

    dsn = {k: v for k, v in connection.get_connection_params().items() if k != "cursor_factory"}
    kinds: collections.Counter[str] = collections.Counter()

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        words = sql.split(None, 4)
        table = next((w.strip('"') for w in words[1:] if w.startswith('"')), "")
        kinds[f"{words[0].upper()} {table}".strip()] += 1
        return execute(sql, params, many, context)

    print("READY", flush=True)
    profiler = cProfile.Profile() if args.profile else None
    started = time.perf_counter()
    calls = 0
    with connection.execute_wrapper(count):
        if profiler:
            profiler.enable()
        while True:
            calls += 1
            deliveries_send(batch_size=args.batch_size)
            if not _pending(dsn):
                break
        if profiler:
            profiler.disable()
    seconds = time.perf_counter() - started
    if profiler:
        profiler.dump_stats(args.profile)
    print(
        json.dumps({
            "statements": sum(kinds.values()),
            "by_kind": dict(kinds.most_common()),
            "calls": calls,
            "seconds": round(seconds, 3),
            "maxrss_kb": _peak_rss_kb(),
        }),
        flush=True,
    )  # fmt: skip


if __name__ == "__main__":
    main()
