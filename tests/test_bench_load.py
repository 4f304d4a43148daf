"""bench.load for 20 seconds with five users, so that the benchmark does not rot: the seeded
workspace, gunicorn, the Celery worker and beat under the production settings, the locust
users' every page, form and API call, an import tagged by the worker, the memory samples and
the final JSON line. Not a timed test: the figures are the benchmark's (a ten-minute run)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
KEYS = {
    "rps", "p50_ms", "p95_ms", "p99_ms", "errors", "duration_s", "requests", "users",
    "web_workers", "web_mem_mb_start", "web_mem_mb_end", "web_mem_ratio", "worker_mem_mb_start",
    "worker_mem_mb_end", "worker_mem_ratio", "classes", "imports", "import_rows", "rows_tagged",
    "floor_rps",
}  # fmt: skip


def test_twenty_seconds_of_load_without_errors():
    # The bench's own database is DATABASE_URL's name + "_load_bench", seeded on the first run.
    command = [sys.executable, "-m", "bench.load", "--duration", "20", "--users", "5",
               "--engineers", "1", "--spawn-rate", "5", "--floor", "3"]  # fmt: skip
    run = subprocess.run(  # noqa: S603 - our own module
        command, cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stderr[-4000:]
    figures = json.loads(run.stdout.strip().splitlines()[-1])
    assert figures.keys() >= KEYS
    assert figures["errors"] == 0, figures["error_examples"]
    assert figures["requests"] > 0
    assert set(figures["classes"]) == {"pm", "engineer", "importer"}
    assert all(c["requests"] > 0 for c in figures["classes"].values()), figures["classes"]
    assert {c["users"] for c in figures["classes"].values()} == {3, 1}
    # The importer's file went through the upload, the mapping and the worker (which the
    # bench waits for after the users stop).
    assert figures["import_rows"] >= 300
    assert figures["rows_tagged"] == figures["import_rows"]
    assert figures["floor_rps"] > 0
    assert figures["floor_errors"] == 0
    assert figures["web_cpu_ms_per_request"] > 0
    assert figures["web_mem_mb_start"] > 0
    assert figures["worker_mem_mb_start"] > 0
