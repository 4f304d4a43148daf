"""pmhub's Celery app for the digests benchmark's real worker, with its SQL counted.

celery -A bench._digests_celery worker --pool solo ...

The app is pmhub's own (pmhub.celery: the same tasks, settings and signals); this module only
adds a counter of the statements Django runs in the worker (installed on the connection of the
thread that runs tasks, before the first) and, at a warm shutdown, writes the count and the
process's peak RSS to the file named by PMHUB_BENCH_REPORT.
"""

from __future__ import annotations

import collections
import json
import os
from typing import Any

from celery import signals

from pmhub.celery import app

__all__ = ["app"]

kinds: collections.Counter[str] = collections.Counter()
_installed: list[bool] = []


def _count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
    words = sql.split(None, 4)
    table = next((w.strip('"') for w in words[1:] if w.startswith('"')), "")
    kinds[f"{words[0].upper()} {table}".strip()] += 1
    return execute(sql, params, many, context)


@signals.task_prerun.connect
def _count_statements(**_kwargs: Any) -> None:
    if _installed:
        return
    from django.db import connection

    connection.execute_wrappers.append(_count)
    _installed.append(True)


@signals.worker_shutdown.connect
def _report(**_kwargs: Any) -> None:
    path = os.environ.get("PMHUB_BENCH_REPORT")
    if not path:
        return
    peak = 0
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                peak = int(line.split()[1])
    with open(path, "w") as out:
        json.dump(
            {"statements": sum(kinds.values()), "by_kind": dict(kinds.most_common()),
             "maxrss_kb": peak},
            out,
        )  # fmt: skip
