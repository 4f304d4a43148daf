"""10,000 stakeholder digests into a real SMTP server, and a worker killed ten times.

python -m bench.digests [--recipients 10000] [--fault 2000] [--kills 10] [--batch-size 500]
                        [--reload] [--profile FILE]

Loads (once; reused while it is there) a workspace with N stakeholders, each following a
distinct scope (the two companies they own, a product area, an item), and three days of
changes (ships and moves with their reasons, validated insights, approved documents,
key-result values) so that each digest has a handful of entries. Then, in one run, against an
aiosmtpd sink in a process of its own that counts messages per recipient and connections:

- the floor: the same messages, rendered beforehand (`digests_build` + `digest_email`), pushed
  as bytes through one smtplib connection (`floor_msgs_per_s`; measured before and after the
  worker, the faster one kept);
- ours: one due delivery per stakeholder, sent by ONE worker process running the sender
  (`pmhub.digests.sender.deliveries_send`) until nothing is due (`msgs_per_s`,
  `throughput_ratio`, target >= 0.5), with the SMTP connections it opened (target <=
  recipients / 100), the SQL statements it ran (target <= recipients / 50) and its peak RSS
  after the first 1,000 deliveries and at the end (`memory_ratio`, target <= 1.2);
- the fault run: 2,000 due digests, the worker SIGKILLed `--kills` times at random moments
  and restarted until all are done; per recipient in the sink: received, duplicates (beyond
  the first), missing (target 0; duplicates <= kills).

The final line is JSON with every figure.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import smtplib
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bench._setup import progress

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {
    "throughput_ratio": 0.5,
    "smtp_connections_per_recipient": 1 / 100,
    "statements_per_recipient": 1 / 50,
    "memory_ratio": 1.2,
    "fault_missing": 0,
}


# --- the sink -----------------------------------------------------------------------------------
@dataclass
class Sink:
    """A running `bench._digests_sink` process; `stop()` returns what it counted."""

    process: subprocess.Popen[str]
    port: int
    out: Path
    counts: dict[str, Any] = field(default_factory=dict)

    def stop(self) -> dict[str, Any]:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)
        self.counts = json.loads(self.out.read_text())
        return self.counts


@contextlib.contextmanager
def sink_running(folder: Path, name: str) -> Iterator[Sink]:
    out = folder / f"{name}.json"
    process = subprocess.Popen(  # noqa: S603 - our own module
        [sys.executable, "-m", "bench._digests_sink", "--out", str(out)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    line = process.stdout.readline() if process.stdout else ""
    if not line.startswith("READY "):
        process.kill()
        raise RuntimeError(f"the SMTP sink did not start: {line!r}")
    sink = Sink(process=process, port=int(line.split()[1]), out=out)
    try:
        yield sink
    finally:
        if process.poll() is None:
            sink.stop()


def recipients_figures(counts: dict[str, Any], expected: set[str]) -> dict[str, int]:
    """Received, duplicates (messages beyond the first per recipient) and missing (expected
    recipients with none) from a sink's counts."""
    per = counts["recipients"]
    return {
        "received": counts["messages"],
        "duplicates": sum(n - 1 for n in per.values() if n > 1),
        "missing": sum(1 for address in expected if not per.get(address.lower())),
        "unexpected": sum(1 for address in per if address not in expected),
    }


# --- the floor ----------------------------------------------------------------------------------
def floor_push(messages: list[tuple[str, str, bytes]], port: int) -> dict[str, Any]:
    """`messages` (from, to, bytes) through one smtplib connection: msgs/s."""
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for sender, to, data in messages:
            smtp.sendmail(sender, [to], data)
    seconds = time.perf_counter() - started
    return {"messages": len(messages), "seconds": round(seconds, 3),
            "msgs_per_s": round(len(messages) / seconds, 1)}  # fmt: skip


# --- data ---------------------------------------------------------------------------------------
def bench_env() -> None:
    """The bench's own database, apart from the other benches' and from other runs': the
    DATABASE_URL's name with "_digests" (bench._setup then adds "_bench": pmhub_digests_bench
    by default). The sender claims due deliveries in every workspace of its database, so two
    runs on one database would send each other's."""
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pmhub")
    parts = urlsplit(url)
    name = parts.path.lstrip("/") or "pmhub"
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{name}_digests"))
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")


def cache_prefix() -> str:
    """The Redis key prefix of this database's workers, killed or not: one per database, since
    the sent markers are keyed by delivery id."""
    from django.db import connection

    return f"bench-digests-{connection.settings_dict['NAME']}"


def markers_purge() -> None:
    """Drop the sent markers of earlier runs: a dropped and reloaded database numbers its
    deliveries from 1 again, and an old marker would pass a new delivery for sent."""
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.REDIS_URL)
    keys = list(client.scan_iter(match=f"{cache_prefix()}:*digests:sent:*", count=10_000))
    for first in range(0, len(keys), 10_000):
        client.delete(*keys[first : first + 10_000])


def database_drop() -> None:
    import psycopg

    from bench._setup import bench_database_url

    parts = urlsplit(bench_database_url())
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')


def raw_connection(autocommit: bool = True) -> Any:
    import psycopg
    from django.db import connection

    params = {k: v for k, v in connection.get_connection_params().items() if k != "cursor_factory"}
    return psycopg.connect(**params, autocommit=autocommit)


def workspace_ready(recipients: int) -> tuple[Any, dict[str, Any]]:
    """The bench workspace for this many recipients, loaded unless it is there."""
    import datetime

    from bench._digests_load import load
    from pmhub.digests.models import Stakeholder
    from pmhub.digests.services import digest_settings_update
    from pmhub.workspaces.models import Workspace

    workspace, created = Workspace.objects.get_or_create(
        slug=f"bench-digests-{recipients}", defaults={"name": "Bench digests"}
    )
    have = Stakeholder.objects.for_workspace(workspace).count()
    if have == recipients:
        return workspace, {"reused": True, "stakeholders": have}
    if have:
        raise SystemExit(f"the workspace holds {have} stakeholders, not {recipients}: --reload")
    started = time.perf_counter()
    now = datetime.datetime.now(tz=datetime.UTC).replace(microsecond=0)
    with raw_connection(autocommit=False) as conn:
        loaded = load(conn, workspace_id=workspace.id, recipients=recipients, now=now)
        conn.commit()
    digest_settings_update(workspace=workspace, sender_name="Bench product team")
    with raw_connection() as conn:
        conn.execute("VACUUM ANALYZE")
    return workspace, {"reused": False, **loaded, "load_s": round(time.perf_counter() - started, 1)}


def window_end(workspace: Any) -> Any:
    """The moment the loaded changes lead up to (an hour after the newest): the deliveries'
    covers_until, so that a reused load still falls inside the first digests' week."""
    import datetime

    from django.db.models import Max

    from roadmap.models import RoadmapEvent

    newest = RoadmapEvent.objects.for_workspace(workspace).aggregate(m=Max("created_at"))["m"]
    return newest.replace(microsecond=0) + datetime.timedelta(hours=1)


def deliveries_reset(workspace: Any, stakeholder_ids: list[int], until: Any) -> None:
    """No deliveries but one due now for each of `stakeholder_ids`, and every stakeholder as
    new (active, nothing covered yet)."""
    from pmhub.digests.schedule import current_period

    period = current_period("weekly", 8, "UTC", until)
    markers_purge()
    with raw_connection() as conn, conn.transaction():
        # The whole database's: the sender would claim another workspace's leftovers too.
        conn.execute("DELETE FROM digests_delivery")
        conn.execute(
            "UPDATE digests_stakeholder SET covered_until = NULL, status = 'active',"
            " failure_count = 0, last_failure = '' WHERE workspace_id = %s",
            [workspace.id],
        )
        conn.execute(
            "INSERT INTO digests_delivery (workspace_id, stakeholder_id, period, due_at,"
            " covers_until, status, attempts, error, message_id, subject, entry_count,"
            " created_at, updated_at)"
            " SELECT %(ws)s, s, %(period)s, %(until)s, %(until)s, 'pending', 0, '', '', '', 0,"
            " now(), now() FROM unnest(%(ids)s::bigint[]) AS s",
            {"ws": workspace.id, "period": period.key, "until": until, "ids": stakeholder_ids},
        )


def delivery_statuses(workspace: Any) -> dict[str, int]:
    with raw_connection() as conn:
        return dict(
            conn.execute(
                "SELECT status, count(*) FROM digests_delivery WHERE workspace_id = %s"
                " GROUP BY status",
                [workspace.id],
            ).fetchall()
        )


def prerender(workspace: Any, until: Any, batch: int = 500) -> tuple[list[Any], dict[str, Any]]:
    """Every stakeholder's digest for the window ending `until`, rendered to the bytes the
    sender would send (the floor's messages): [(stakeholder id, email, from, bytes or None for
    an empty digest)], and the time it took per message."""
    from pmhub.digests.content import DigestRequest, digests_build, first_window_start
    from pmhub.digests.models import Stakeholder
    from pmhub.digests.render import digest_email, message_id_for
    from pmhub.digests.services import digest_settings_get

    settings = digest_settings_get(workspace=workspace)
    stakeholders = list(Stakeholder.objects.for_workspace(workspace).order_by("id"))
    start = first_window_start("weekly", until)
    rendered: list[Any] = []
    entries: list[int] = []
    build_s = render_s = 0.0
    for first in range(0, len(stakeholders), batch):
        chunk = stakeholders[first : first + batch]
        started = time.perf_counter()
        digests = digests_build(workspace, [DigestRequest(s, start, until) for s in chunk])
        build_s += time.perf_counter() - started
        started = time.perf_counter()
        for stakeholder, digest in zip(chunk, digests, strict=True):
            entries.append(digest.entry_count)
            if digest.is_empty:
                rendered.append((stakeholder.id, stakeholder.email, "", None))
                continue
            email = digest_email(
                digest, settings=settings, message_id=message_id_for(stakeholder.id)
            )
            message = email.message()
            rendered.append(
                (
                    stakeholder.id,
                    stakeholder.email,
                    email.from_email,
                    message.as_bytes(linesep="\r\n"),
                )
            )
        render_s += time.perf_counter() - started
    count = max(1, len(stakeholders))
    entries.sort()
    return rendered, {
        "build_ms_per_digest": round(build_s * 1000 / count, 3),
        "render_ms_per_message": round(render_s * 1000 / count, 3),
        "entries_min": entries[0] if entries else 0,
        "entries_median": entries[len(entries) // 2] if entries else 0,
        "entries_max": entries[-1] if entries else 0,
        "empty": sum(1 for n in entries if n == 0),
        "message_bytes_median": sorted(len(r[3]) for r in rendered if r[3])[
            len([r for r in rendered if r[3]]) // 2
        ] if any(r[3] for r in rendered) else 0,
    }  # fmt: skip


# --- the worker ---------------------------------------------------------------------------------
def database_url() -> str:
    """A URL of the database Django is connected to (the bench's, or a test's)."""
    from django.db import connection

    db = connection.settings_dict
    auth = db.get("USER") or "postgres"
    if db.get("PASSWORD"):
        auth += f":{db['PASSWORD']}"
    host = db.get("HOST") or "127.0.0.1"
    return f"postgres://{auth}@{host}:{db.get('PORT') or 5432}/{db['NAME']}"


def worker_env(port: int) -> dict[str, str]:
    from django.conf import settings

    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "pmhub.settings.test",
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "PMHUB_CACHE_PREFIX": cache_prefix(),
        "PMHUB_CELERY_QUEUE": cache_prefix(),
        "PMHUB_TEST_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_URL": f"smtp://127.0.0.1:{port}",
    }


def worker_start(port: int, batch_size: int, profile: str = "") -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "bench._digests_worker", "--batch-size", str(batch_size)]
    if profile:
        command += ["--profile", profile]
    process = subprocess.Popen(  # noqa: S603 - our own module
        command, cwd=ROOT, env=worker_env(port), stdout=subprocess.PIPE, text=True
    )
    line = process.stdout.readline() if process.stdout else ""
    if line.strip() != "READY":
        process.kill()
        raise RuntimeError(f"the worker did not start: {line!r}")
    return process


def rss_kb(pid: int) -> tuple[int, int]:
    """The process's peak resident set so far (VmHWM, what getrusage's maxrss reports) and its
    resident set now (VmRSS), in kB."""
    found = dict.fromkeys(("VmHWM", "VmRSS"), 0)
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name = line.split(":", 1)[0]
        if name in found:
            found[name] = int(line.split()[1])
    return found["VmHWM"], found["VmRSS"]


def done_count(conn: Any, workspace_id: int) -> int:
    return conn.execute(
        "SELECT count(*) FROM digests_delivery WHERE workspace_id = %s AND status <> 'pending'",
        [workspace_id],
    ).fetchone()[0]


def main_run(
    workspace: Any, port: int, batch_size: int, profile: str, memory_at: int
) -> dict[str, Any]:
    """One worker sends every due delivery; its SQL, its time and its peak RSS at `memory_at`
    deliveries done (read from /proc while it runs) and at the end, and its resident set each
    time a batch was recorded (`rss_trace`: [deliveries done, MB])."""
    started = time.perf_counter()
    process = worker_start(port, batch_size, profile)
    ready_s = time.perf_counter() - started
    peak_early, last, trace = 0, 0, []
    with raw_connection() as conn:
        while process.poll() is None:
            done = done_count(conn, workspace.id)
            if done != last:
                with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                    peak, now = rss_kb(process.pid)
                    trace.append((done, round(now / 1024, 1)))
                    if not peak_early and done >= memory_at:
                        peak_early = peak
                last = done
            time.sleep(0.02)
    out = process.stdout.read() if process.stdout else ""
    if process.returncode != 0:
        raise RuntimeError(f"the worker failed ({process.returncode}): {out[-2000:]}")
    report = json.loads(out.strip().splitlines()[-1])
    report["startup_s"] = round(ready_s, 3)
    report["wall_s"] = round(time.perf_counter() - started, 3)
    report["peak_early_kb"] = peak_early
    report["rss_trace"] = trace
    return report


def fault_run(
    workspace: Any, port: int, batch_size: int, kills: int, rate: float, rng: random.Random
) -> dict[str, Any]:
    """Start the worker, SIGKILL it at a random moment of its sending, restart it: `kills`
    times, then let one finish. The moment is drawn within the time the deliveries still due
    would take, so that kills land mid-batch rather than after the work is done."""
    done_kills = 0
    restarts = 0
    with raw_connection() as conn:
        while True:
            pending = conn.execute(
                "SELECT count(*) FROM digests_delivery WHERE workspace_id = %s"
                " AND status = 'pending'",
                [workspace.id],
            ).fetchone()[0]
            if not pending:
                break
            process = worker_start(port, batch_size)
            restarts += 1
            if done_kills < kills:
                time.sleep(rng.uniform(0.0, max(0.05, 0.7 * pending / max(rate, 1.0))))
                if process.poll() is None:
                    process.send_signal(signal.SIGKILL)
                    done_kills += 1
            process.wait()
            if process.stdout:
                process.stdout.read()
            if restarts > kills + 20:
                break  # deliveries left pending (retries later): reported below
    return {"kills": done_kills, "starts": restarts}


# --- the run ------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--fault", type=int, default=2_000)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--memory-at", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--reload", action="store_true")
    parser.add_argument("--profile", default="", help="cProfile the worker into this file")
    args = parser.parse_args()
    began = time.perf_counter()
    bench_env()
    if args.reload:
        database_drop()
    from bench._setup import django_setup

    django_setup()
    figures = run(args)
    figures["seconds"] = round(time.perf_counter() - began, 1)
    print(json.dumps(figures, default=str))


def run(args: Any) -> dict[str, Any]:
    """Every phase; the figures."""
    workspace, loading = workspace_ready(args.recipients)
    progress("load", loading)
    until = window_end(workspace)
    rendered, content = prerender(workspace, until)
    progress("content", content)
    expected = {email for _id, email, _from, data in rendered if data is not None}
    messages = [(sender, email, data) for _id, email, sender, data in rendered if data]
    folder = Path(tempfile.mkdtemp(prefix="bench-digests-"))

    floors = []
    with sink_running(folder, "floor-1") as sink:
        floors.append(floor_push(messages, sink.port))
        sink.stop()
    progress("floor", floors[-1])

    deliveries_reset(workspace, [r[0] for r in rendered], until)
    with sink_running(folder, "main") as sink:
        worker = main_run(workspace, sink.port, args.batch_size, args.profile, args.memory_at)
        counts = sink.stop()
    statuses = delivery_statuses(workspace)
    main = recipients_figures(counts, expected)
    progress("worker", {k: v for k, v in worker.items() if k not in ("by_kind", "rss_trace")})
    progress("worker resident MB by deliveries done", worker["rss_trace"])
    progress("sql by kind", worker["by_kind"])
    progress("main", {**main, "connections": counts["connections"], "statuses": statuses})

    with sink_running(folder, "floor-2") as sink:
        floors.append(floor_push(messages, sink.port))
        sink.stop()
    progress("floor again", floors[-1])
    floor_rate = max(f["msgs_per_s"] for f in floors)
    rate = main["received"] / worker["seconds"] if worker["seconds"] else 0.0

    fault: dict[str, Any] = {}
    if args.fault:
        chosen = [r for r in rendered if r[3] is not None][: args.fault]
        deliveries_reset(workspace, [r[0] for r in chosen], until)
        with sink_running(folder, "fault") as sink:
            harness = fault_run(
                workspace,
                sink.port,
                args.batch_size,
                args.kills,
                rate,
                random.Random(args.seed),  # noqa: S311 - kill moments
            )
            counts_fault = sink.stop()
        fault = {
            **harness,
            **recipients_figures(counts_fault, {r[1] for r in chosen}),
            "statuses": delivery_statuses(workspace),
            "connections": counts_fault["connections"],
        }
        progress("fault", fault)

    recipients = args.recipients
    figures: dict[str, Any] = {
        "bench": "digests",
        "load": loading,
        "content": content,
        "recipients": recipients,
        "messages": main["received"],
        "msgs_per_s": round(rate, 1),
        "floor_msgs_per_s": floor_rate,
        "floors": floors,
        "throughput_ratio": round(rate / floor_rate, 3) if floor_rate else None,
        "smtp_connections": counts["connections"],
        "sql_statements": worker["statements"],
        "statements_per_recipient": round(worker["statements"] / recipients, 4),
        "sql_by_kind": worker["by_kind"],
        "memory_peak_1k_mb": round(worker["peak_early_kb"] / 1024, 1),
        "memory_peak_10k_mb": round(worker["maxrss_kb"] / 1024, 1),
        "memory_ratio": round(worker["maxrss_kb"] / worker["peak_early_kb"], 3)
        if worker["peak_early_kb"] else None,
        "memory_trace_mb": worker["rss_trace"],
        "main_duplicates": main["duplicates"],
        "main_missing": main["missing"],
        "main_statuses": statuses,
        "worker_send_s": worker["seconds"],
        "worker_startup_s": worker["startup_s"],
        "batch_size": args.batch_size,
        "fault_kills": fault.get("kills"),
        "fault_due": len([r for r in rendered if r[3] is not None][: args.fault]),
        "fault_received": fault.get("received"),
        "fault_duplicates": fault.get("duplicates"),
        "fault_missing": fault.get("missing"),
        "fault_statuses": fault.get("statuses"),
        "targets": {
            "throughput_ratio": f">= {TARGETS['throughput_ratio']}",
            "smtp_connections": f"<= {recipients // 100}",
            "sql_statements": f"<= {recipients // 50}",
            "memory_ratio": f"<= {TARGETS['memory_ratio']}",
            "fault_missing": 0,
            "fault_duplicates": f"<= {fault.get('kills')}",
        },
    }  # fmt: skip
    return figures


if __name__ == "__main__":
    main()
