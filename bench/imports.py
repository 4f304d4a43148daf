"""A 100,000-row feedback CSV imported through the real import path, against its floor.

python -m bench.imports [--rows 100000]

The import runs synchronously here (the worker's task calls the same `imports.import_run`):
parse, validate, upsert customers, upsert feedback in chunks. It then runs again on the same file
(idempotency: nothing may change). The floor is PostgreSQL's COPY of the same rows into the
feedback table through raw psycopg, in the same run. The final line is JSON.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

from bench._setup import django_setup


def _csv(rows: int) -> bytes:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    lines = ["id,text,email,received_at"]
    for i in range(rows):
        when = (start + timedelta(minutes=i)).isoformat()
        lines.append(
            f"b-{i},Exports of board {i} time out after {i % 60} seconds,"
            f"user{i % 5000}@bench.test,{when}"
        )
    return ("\n".join(lines) + "\n").encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    django_setup()

    import psycopg
    from django.db import connection

    from discovery import imports
    from discovery.models import Feedback
    from pmhub.workspaces.models import Workspace

    data = _csv(args.rows)
    workspace = Workspace.objects.create(
        name="Bench imports", slug=f"bench-im-{uuid.uuid4().hex[:8]}"
    )

    def run() -> tuple[float, dict[str, int]]:
        started = time.perf_counter()
        job = imports.import_job_create(
            workspace=workspace, actor=None, kind="feedback_csv", filename="bench.csv", data=data
        )
        imports.import_job_start(
            workspace=workspace,
            actor=None,
            job=job,
            default_source="support",
            fields={
                "external_id": "id",
                "text": "text",
                "customer_email": "email",
                "received_at": "received_at",
            },
        )
        job = imports.import_run(workspace=workspace, job_id=job.id)
        seconds = time.perf_counter() - started
        counts = {
            "created": job.created_count,
            "updated": job.updated_count,
            "unchanged": job.unchanged_count,
            "errors": job.error_count,
        }
        return seconds, counts

    first_seconds, first = run()
    again_seconds, again = run()
    stored = Feedback.objects.for_workspace(workspace).count()

    floor_workspace = Workspace.objects.create(
        name="Bench floor", slug=f"bench-fl-{uuid.uuid4().hex[:8]}"
    )
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with psycopg.connect(**params) as raw:
        started = time.perf_counter()
        with raw.cursor().copy(
            "COPY discovery_feedback (workspace_id, text, source, external_id, external_url, "
            "received_at, status, created_at, updated_at) FROM STDIN"
        ) as copy:
            now = datetime.now(UTC)
            for i in range(args.rows):
                copy.write_row(
                    (
                        floor_workspace.id,
                        f"Exports of board {i} time out after {i % 60} seconds",
                        "support",
                        f"b-{i}",
                        "",
                        start + timedelta(minutes=i),
                        "new",
                        now,
                        now,
                    )
                )
        raw.commit()
        floor_seconds = time.perf_counter() - started

    for scratch in (workspace, floor_workspace):
        Feedback.objects.for_workspace(scratch).delete()
    print(
        json.dumps(
            {
                "bench": "imports",
                "rows": args.rows,
                "first_import_s": round(first_seconds, 2),
                "first": first,
                "second_import_s": round(again_seconds, 2),
                "second": again,
                "stored": stored,
                "floor_copy_s": round(floor_seconds, 2),
                "ratio": round(first_seconds / floor_seconds, 1),
                "rows_per_s": round(args.rows / first_seconds),
            }
        )
    )


if __name__ == "__main__":
    main()
