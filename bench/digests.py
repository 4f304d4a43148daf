"""10,000 stakeholder digests into a real SMTP server, and a worker killed ten times.

python -m bench.digests [--recipients 10000] [--fault 2000] [--kills 10] [--worker celery|plain]
                        [--batch-size 500] [--reload] [--profile FILE]

Its database is DATABASE_URL's name + "_digests_bench" (pmhub_digests_bench by default), its
Redis REDIS_URL (db 14 by default).

Loads (once; reused while it is there) a workspace with N stakeholders, each following a
distinct scope (the two companies they own, a product area, an item), and three days of
changes (ships and moves with their reasons, validated insights, approved documents,
key-result values) so that each digest has a handful of entries. Then, in one run, against an
aiosmtpd sink in a process of its own that counts messages per recipient and connections:

- the floor: the same messages, rendered beforehand (`digests_build` + `digest_email`), pushed
  as bytes through one smtplib connection (`floor_msgs_per_s`; measured before and after the
  worker, the faster one kept);
- ours: one due delivery per stakeholder, sent by ONE worker process: a real `celery worker
  --pool solo` consuming one digests_send task (`--worker plain`: the sender's loop,
  `pmhub.digests.sender.deliveries_send`, in a plain process, `--batch-size` as given) until
  nothing is due (`msgs_per_s`, `throughput_ratio`, target >= 0.5), with the SMTP connections it
  opened (target <= recipients / 100), the SQL statements it ran (target <= recipients / 50) and
  its peak RSS after the first 1,000 deliveries and at the end (`memory_ratio`, target <= 1.2);
  `per_message_ms` splits a message's time into the floor's, building, rendering and the rest;
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


@dataclass
class Worker:
    """One worker process: `plain` runs the sender's loop (bench._digests_worker) and exits when
    nothing is due; `celery` is a real `celery worker --pool solo` consuming digests_send."""

    kind: str
    process: subprocess.Popen[Any]
    report: Path | None = None

    def pending_work(self, conn: Any, workspace_id: int, total: int) -> bool:
        """Whether it still has work: the plain one until it exits, the Celery one until every
        delivery is done (it waits for more tasks)."""
        if self.process.poll() is not None:
            return False
        return self.kind == "plain" or done_count(conn, workspace_id) < total

    def finish(self) -> dict[str, Any]:
        """Its own figures (statements, peak RSS) once it has stopped."""
        if self.kind == "plain":
            out = self.process.stdout.read() if self.process.stdout else ""
            self.process.wait()
            if self.process.returncode != 0:
                raise RuntimeError(f"the worker failed ({self.process.returncode}): {out[-2000:]}")
            return json.loads(out.strip().splitlines()[-1])
        self.process.send_signal(signal.SIGTERM)  # a warm shutdown writes the report
        self.process.wait(timeout=60)
        assert self.report is not None
        return json.loads(self.report.read_text())

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        if self.process.stdout:
            self.process.stdout.read()


def batch_default() -> int:
    """The batch size digests_send claims (deliveries_send's default)."""
    import inspect

    from pmhub.digests.sender import deliveries_send

    return inspect.signature(deliveries_send).parameters["batch_size"].default


def queue_purge() -> None:
    """Drop the benchmark queue's tasks (a killed worker's, restored later by the broker)."""
    from pmhub.celery import app

    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(cache_prefix())


def worker_start(kind: str, port: int, batch_size: int, folder: Path, profile: str = "") -> Worker:
    """A worker process, ready, with the sending begun (for Celery: digests_send enqueued)."""
    env = worker_env(port)
    if kind == "plain":
        command = [sys.executable, "-m", "bench._digests_worker", "--batch-size", str(batch_size)]
        if profile:
            command += ["--profile", profile]
        process = subprocess.Popen(  # noqa: S603 - our own module
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
        )
        line = process.stdout.readline() if process.stdout else ""
        if line.strip() != "READY":
            process.kill()
            raise RuntimeError(f"the worker did not start: {line!r}")
        return Worker(kind, process)
    name = f"celery-{time.monotonic_ns()}"
    log, report = folder / f"{name}.log", folder / f"{name}.json"
    env["PMHUB_BENCH_REPORT"] = str(report)
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - celery's own command line
            [sys.executable, "-m", "celery", "-A", "bench._digests_celery", "worker",
             "--pool", "solo", "--loglevel", "INFO", "--without-gossip", "--without-mingle",
             "--without-heartbeat", "--queues", cache_prefix(), "--hostname", f"{name}@bench"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    deadline = time.monotonic() + 60
    while b"ready." not in log.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"the Celery worker did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.02)
    from pmhub.digests.tasks import digests_send_task

    digests_send_task.apply_async(queue=cache_prefix())
    return Worker(kind, process, report)


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


def main_run(workspace: Any, port: int, args: Any, folder: Path, total: int) -> dict[str, Any]:
    """One worker sends every due delivery; its SQL, its time (from the moment it is ready to
    the last delivery recorded), its peak RSS at `args.memory_at` deliveries done (read from
    /proc while it runs) and at the end, and its resident set each time a batch was recorded
    (`rss_trace`: [deliveries done, MB])."""
    queue_purge()
    started = time.perf_counter()
    worker = worker_start(args.worker, port, args.batch_size, folder, args.profile)
    sending = time.perf_counter()
    peak_early, last, trace, finished = 0, 0, [], sending
    with raw_connection() as conn:
        while True:
            done = done_count(conn, workspace.id)
            if done != last:
                finished = time.perf_counter()
                with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                    peak, now = rss_kb(worker.process.pid)
                    trace.append((done, round(now / 1024, 1)))
                    if not peak_early and done >= args.memory_at:
                        peak_early = peak
                last = done
            if not worker.pending_work(conn, workspace.id, total):
                break
            time.sleep(0.01)
        if done_count(conn, workspace.id) != last:
            finished = time.perf_counter()
    report = worker.finish()
    report["seconds"] = round(finished - sending, 3)
    report["startup_s"] = round(sending - started, 3)
    report["peak_early_kb"] = peak_early
    report["rss_trace"] = trace
    return report


def fault_run(
    workspace: Any, port: int, args: Any, folder: Path, rate: float, rng: random.Random
) -> dict[str, Any]:
    """Start the worker, SIGKILL it at a random moment of its sending, restart it: `kills`
    times, then let one finish. The moment is drawn within a share of the time the deliveries
    still due would take (at the main run's rate), so that kills land mid-batch rather than
    after the work is done."""
    done_kills = starts = 0
    queue_purge()
    with raw_connection() as conn:
        while True:
            pending = conn.execute(
                "SELECT count(*) FROM digests_delivery WHERE workspace_id = %s"
                " AND status = 'pending'",
                [workspace.id],
            ).fetchone()[0]
            if not pending or starts > args.kills + 20:
                break  # done, or deliveries left pending to retry later: reported below
            worker = worker_start(args.worker, port, args.batch_size, folder)
            starts += 1
            total = done_count(conn, workspace.id) + pending
            if done_kills < args.kills:
                # Within the share of the remaining work's time that leaves some for each
                # kill still to come.
                share = pending / max(rate, 1.0) / (args.kills - done_kills + 1)
                time.sleep(rng.uniform(0.0, max(0.05, share)))
                # Only a kill with work in hand counts (a Celery worker idles when done).
                if worker.pending_work(conn, workspace.id, total):
                    worker.kill()
                    done_kills += 1
                    continue
            while worker.pending_work(conn, workspace.id, total):
                time.sleep(0.02)
            worker.finish()
    queue_purge()
    return {"kills": done_kills, "starts": starts}


# --- the run ------------------------------------------------------------------------------------
def per_message(rate: float, floor_rate: float, content: dict[str, Any]) -> dict[str, float]:
    ours = 1000 / rate if rate else 0.0
    floor = 1000 / floor_rate if floor_rate else 0.0
    build, render = content["build_ms_per_digest"], content["render_ms_per_message"]
    return {
        "ours": round(ours, 3), "floor": round(floor, 3), "build": build, "render": render,
        "rest": round(ours - floor - build - render, 3),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--fault", type=int, default=2_000)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--memory-at", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--reload", action="store_true")
    parser.add_argument("--profile", default="", help="cProfile the plain worker into this file")
    parser.add_argument(
        "--worker", choices=("celery", "plain"), default="celery",
        help="a real Celery worker (--pool solo) consuming digests_send, or a plain process"
        " running the sender's loop (batch size as given)",
    )  # fmt: skip
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
        worker = main_run(workspace, sink.port, args, folder, len(rendered))
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
                workspace, sink.port, args, folder, rate,
                random.Random(args.seed),  # noqa: S311 - kill moments
            )  # fmt: skip
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
        # Where a message's time goes: the floor's share (the sink and the wire) and, measured
        # in this process, building and rendering; the rest is the worker's own (Django's SMTP
        # backend building the bytes again, the Redis marker, the batch's SQL, Celery).
        "per_message_ms": per_message(rate, floor_rate, content),
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
        "worker": args.worker,
        "batch_size": args.batch_size if args.worker == "plain" else batch_default(),
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
