"""PostgreSQL restarts under load, with real processes: a private PostgreSQL cluster, gunicorn
with the production settings, and client threads that write through the API and read pages and
the API. PostgreSQL is stopped twice, with `pg_ctl stop -m fast` (a restart) and `-m immediate`
(a crash), kept down a few seconds and started again; gunicorn is never touched.

While it is down every request is a 503 that says so (the 503 page, the API's error shape,
Retry-After), never a 500 or a traceback; once it is back every request succeeds again within
seconds, from the same gunicorn processes; every write acknowledged with a 201 is in the
database afterwards, under the id the response gave. The item writer retries each create with
its Idempotency-Key until it gets a 201: every item is stored once, and a create that committed
although its answer was a 503 is acknowledged by its retry with the id it was stored under.

Run it with `-s` to see the figures (one JSON line)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import psycopg
import pytest
import redis
import requests
from django.conf import settings
from django.db import connection

from pmhub.core.unavailable import MESSAGE, RETRY_AFTER_SECONDS
from tests.conftest import database_url_of

# django_db: pytest-django creates the test database only for a session with such a test, and
# the private cluster copies its schema.
pytestmark = [pytest.mark.slow, pytest.mark.django_db]

ROOT = Path(__file__).resolve().parents[2]
SLUG = "restart"
STEADY_SECONDS = 3  # load before the first stop
DOWN_SECONDS = 4
AFTER_SECONDS = 6  # load after each start, before the next stop
QUIET_AFTER_SECONDS = 3  # load after the restart that no request saw
RECOVERY_LIMIT_SECONDS = 10
PAUSE_SECONDS = 0.05  # between one client's requests: a busy team, not a benchmark
LEAKS = ("Traceback", "OperationalError", "InterfaceError", "psycopg", 'File "/')


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _postgres_binaries() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]))
    assert found, "PostgreSQL's server binaries (pg_ctl, initdb) are not installed"
    return found[-1].parent


# --- a private PostgreSQL cluster, stopped and started by the test ---------------------------
@dataclass
class Cluster:
    folder: Path
    port: int = field(default_factory=_free_port)
    binaries: Path = field(default_factory=_postgres_binaries)

    def _run(self, program: str, *args: str) -> None:
        # PostgreSQL refuses to run as root; CI runs as root, a developer usually does not.
        user = "postgres" if os.geteuid() == 0 else None
        subprocess.run(  # noqa: S603
            [str(self.binaries / program), *args],
            check=True,
            capture_output=True,
            timeout=120,
            user=user,
        )

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
        self._run("initdb", "-D", str(self.folder / "data"), "-U", "postgres", "-A", "trust", "-N")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        log = str(self.folder / "postgres.log")
        self._run(
            "pg_ctl", "-D", str(self.folder / "data"), "-l", log, "-o", options, "-w", "start"
        )

    def stop(self, mode: str) -> None:
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", mode, "-w", "stop")

    def url(self, dbname: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def copy_schema(self, source: str, dbname: str) -> None:
        """Create `dbname` with the schema of the migrated database `source` (a URL) and its
        record of applied migrations."""
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {dbname}")
        dumps = [
            ["--schema-only", "--no-owner", "--no-privileges"],
            ["--data-only", "--table", "django_migrations"],
        ]
        for options in dumps:
            dump = subprocess.run(  # noqa: S603
                [str(self.binaries / "pg_dump"), *options, source],
                check=True,
                capture_output=True,
                timeout=120,
            )
            subprocess.run(  # noqa: S603
                [str(self.binaries / "psql"), "-q", "-v", "ON_ERROR_STOP=1", self.url(dbname)],
                input=dump.stdout,
                check=True,
                capture_output=True,
                timeout=120,
            )


@pytest.fixture
def cluster(django_db_setup: None) -> Iterator[Cluster]:
    cluster = Cluster(Path(tempfile.mkdtemp(prefix="pmhub-pg-restart-")))
    try:
        cluster.init()
        cluster.start()
        # A copy of the test database's schema, which pytest-django has just migrated: ~1 s,
        # where `manage.py migrate` on the empty database takes 6 s on an idle machine and 30 s
        # on a busy one.
        cluster.copy_schema(database_url_of(connection.settings_dict), "pmhub")
        yield cluster
    finally:
        # Not running if the test failed while it was down.
        with contextlib.suppress(subprocess.CalledProcessError):
            cluster.stop("immediate")
        shutil.rmtree(cluster.folder, ignore_errors=True)


# --- pmhub on it: migrated, seeded, served by gunicorn ---------------------------------------
@dataclass
class App:
    base: str
    token: str
    password: str
    server: subprocess.Popen[bytes]
    log: Path
    timings: dict[str, float]


def _manage(environment: dict[str, str], *args: str) -> str:
    done = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


SEED = """
from pmhub.accounts.services import api_token_create, user_create
from pmhub.core.heartbeats import BEAT, WORKER, heartbeat_record
from pmhub.workspaces.services import workspace_create

user = user_create(email="pm@restart.test", password="{password}", name="Pat")
workspace = workspace_create(actor=user, name="Restart", slug="{slug}")
_token, raw = api_token_create(workspace=workspace, user=user, name="load", access="write")
# No worker or beat runs here: their heartbeats stand in, so that /health/ is green exactly
# when the database is up.
heartbeat_record(component=WORKER)
heartbeat_record(component=BEAT)
print(raw)
"""


def _gunicorn_command(port: int, folder: Path) -> list[str]:
    """The Dockerfile's command on a loopback port, with the compose stack's --workers option."""
    line = next(
        line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("CMD ")
    )
    command = json.loads(line.removeprefix("CMD "))
    command[command.index("--bind") + 1] = f"127.0.0.1:{port}"
    command[command.index("--worker-tmp-dir") + 1] = str(folder)
    # Two rather than the compose stack's three: this machine has two cores, shared with the
    # client threads.
    return [str(Path(sys.executable).with_name("gunicorn")), *command[1:], "--workers", "2"]


@pytest.fixture
def app(cluster: Cluster, tmp_path: Path) -> Iterator[App]:
    port = _free_port()
    run = f"pgrestart-{os.getpid()}-{secrets.token_hex(4)}"
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PMHUB_"))},
        "DJANGO_SETTINGS_MODULE": "tests.ops.production_settings",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "DATABASE_URL": cluster.url("pmhub"),
        "REDIS_URL": settings.REDIS_URL,
        "PMHUB_CACHE_PREFIX": run,
        "PMHUB_CELERY_QUEUE": run,
        "PMHUB_HTTPS": "false",
        "PMHUB_BASE_URL": f"http://127.0.0.1:{port}",
        "PMHUB_STATIC_ROOT": str(tmp_path / "static"),
        "PMHUB_HEARTBEAT_STALE_SECONDS": "600",
    }
    (tmp_path / "static").mkdir()
    password = secrets.token_urlsafe(16)
    started = time.monotonic()
    seeded = _manage(environment, "shell", "-c", SEED.format(password=password, slug=SLUG))
    timings = {"seed_s": round(time.monotonic() - started, 1)}
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as output:
        server = subprocess.Popen(  # noqa: S603
            _gunicorn_command(port, tmp_path),
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=output,
        )
    base = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            try:
                if requests.get(f"{base}/health/", timeout=60).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        timings["gunicorn_ready_s"] = round(time.monotonic() - started, 1)
        yield App(base, seeded.split()[-1], password, server, log, timings)
    finally:
        server.terminate()
        server.wait(timeout=30)
        connection = redis.Redis.from_url(settings.REDIS_URL)
        # The cache's keys, the queue of the tagging tasks that the writes enqueued, and the
        # broker's bookkeeping for it all carry the run's name.
        stale = list(connection.scan_iter(f"*{run}*"))
        if stale:
            connection.delete(*stale)


# --- the load ---------------------------------------------------------------------------------
@dataclass
class Outcome:
    client: str
    path: str
    sent: float
    done: float
    status: int  # 0: no HTTP answer at all
    retry_after: str | None = None
    content_type: str = ""
    body: str = ""  # kept for answers other than 2xx
    marker: str = ""
    created_id: int | None = None
    replayed: bool = False  # a retry answered with the first request's answer
    database_ok: bool | None = None  # /health/'s database check


Request = Callable[[requests.Session], tuple[str, requests.Response, str]]


class Load:
    """Client threads, each sending one request after another until stopped."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.outcomes: list[Outcome] = []
        self.leaks: list[str] = []
        self.threads: list[threading.Thread] = []
        self.stopped = threading.Event()
        self.running = threading.Event()
        self.running.set()
        self.lock = threading.Lock()
        self.in_flight = 0

    def add(self, client: str, session: requests.Session, request: Request, pause: float) -> None:
        thread = threading.Thread(
            target=self._loop, args=(client, session, request, pause), daemon=True
        )
        self.threads.append(thread)

    def pause(self) -> None:
        """Hold every client before its next request; return once none is in flight."""
        with self.lock:
            self.running.clear()
        deadline = time.monotonic() + 60
        while self.in_flight and time.monotonic() < deadline:
            time.sleep(0.02)

    def resume(self) -> None:
        self.running.set()

    def _loop(self, client: str, session: requests.Session, request: Request, pause: float):
        while not self.stopped.is_set():
            self.running.wait(timeout=0.1)
            with self.lock:
                if not self.running.is_set():
                    continue
                self.in_flight += 1
            try:
                self._send(client, session, request)
            finally:
                with self.lock:
                    self.in_flight -= 1
            time.sleep(pause)

    def _send(self, client: str, session: requests.Session, request: Request) -> None:
        sent = time.monotonic()
        try:
            path, response, marker = request(session)
        except requests.RequestException as exc:
            self.outcomes.append(Outcome(client, str(exc), sent, time.monotonic(), 0))
            return
        outcome = Outcome(
            client,
            path,
            sent,
            time.monotonic(),
            response.status_code,
            response.headers.get("Retry-After"),
            response.headers.get("Content-Type", ""),
            marker=marker,
        )
        if "Traceback" in response.text:
            self.leaks.append(f"{client} {path} {response.status_code}")
        if response.status_code == 201:
            outcome.created_id = response.json()["id"]
            outcome.replayed = response.headers.get("Idempotent-Replayed") == "true"
        if not response.ok:
            outcome.body = response.text
        if path == "/health/":
            outcome.database_ok = response.json()["checks"]["database"]["ok"]
        self.outcomes.append(outcome)

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopped.set()
        for thread in self.threads:
            thread.join(timeout=60)


def _api_session(app: App) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {app.token}"
    return session


def _page_session(app: App) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{app.base}/accounts/login/", timeout=10)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]
    answer = session.post(
        f"{app.base}/accounts/login/",
        data={"csrfmiddlewaretoken": csrf, "username": "pm@restart.test", "password": app.password},
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 302, answer.text
    return session


def _build_load(app: App) -> Load:
    api = f"/api/v1/workspaces/{SLUG}"

    def write_feedback(session: requests.Session) -> tuple[str, requests.Response, str]:
        marker = f"restart-{secrets.token_hex(8)}"
        body = {"text": f"Feedback written during a restart ({marker})", "external_id": marker}
        return (
            f"{api}/feedback/",
            session.post(f"{app.base}{api}/feedback/", json=body, timeout=30),
            marker,
        )

    retrying = {"marker": ""}

    def write_item(session: requests.Session) -> tuple[str, requests.Response, str]:
        # A careful client: the same create, with the same key, until it is answered 201.
        marker = retrying["marker"] or f"restart-{secrets.token_hex(8)}"
        retrying["marker"] = marker
        path = f"{api}/items/"
        response = session.post(
            f"{app.base}{path}",
            json={"title": marker},
            headers={"Idempotency-Key": marker},
            timeout=30,
        )
        if response.status_code == 201:
            retrying["marker"] = ""
        return path, response, marker

    def cycle(paths: list[str]) -> Request:
        turn = iter(range(sys.maxsize))

        def request(session: requests.Session) -> tuple[str, requests.Response, str]:
            path = paths[next(turn) % len(paths)]
            return path, session.get(f"{app.base}{path}", timeout=30), ""

        return request

    load = Load(app)
    load.retrying = retrying
    load.add("feedback writer", _api_session(app), write_feedback, PAUSE_SECONDS)
    load.add("item writer", _api_session(app), write_item, PAUSE_SECONDS)
    reads = [f"{api}/feedback/?page_size=20", f"{api}/items/?page_size=20"]
    load.add("api reader", _api_session(app), cycle(reads), PAUSE_SECONDS)
    pages = [f"/w/{SLUG}/", f"/w/{SLUG}/backlog/", f"/w/{SLUG}/discovery/"]
    signed_in = _page_session(app)
    for reader in ("page reader 1", "page reader 2"):
        session = requests.Session()
        session.cookies.update(signed_in.cookies)
        load.add(reader, session, cycle(pages), PAUSE_SECONDS)
    load.add("health probe", requests.Session(), cycle(["/health/"]), 0.25)
    return load


# --- the test ---------------------------------------------------------------------------------
@dataclass
class Outage:
    mode: str
    stop_began: float
    down: float  # pg_ctl stop returned: PostgreSQL is gone
    start_began: float
    up: float  # pg_ctl start -w returned: PostgreSQL accepts connections
    until: float = 0.0  # the next outage's stop, or the end of the load


def _check_503(outcome: Outcome) -> None:
    if outcome.path == "/health/":
        assert outcome.database_ok is False, outcome
        return
    assert outcome.retry_after == str(RETRY_AFTER_SECONDS), outcome
    if outcome.path.startswith("/api/"):
        assert outcome.content_type == "application/json", outcome
        assert json.loads(outcome.body) == {"message": MESSAGE, "extra": {}}, outcome
    else:
        assert outcome.content_type.startswith("text/html"), outcome
        assert "pmhub can’t reach its database" in outcome.body, outcome
    for leak in LEAKS:
        assert leak not in outcome.body, outcome


def _figures(outage: Outage, outcomes: list[Outcome]) -> dict[str, Any]:
    during = [o for o in outcomes if o.sent >= outage.down and o.done <= outage.start_began]
    after = [o for o in outcomes if o.sent >= outage.start_began and o.done <= outage.until]
    failed_after = [o for o in after if not 200 <= o.status < 300]
    recovered_at = max((o.done for o in failed_after), default=outage.up)
    return {
        "mode": outage.mode,
        "stop_s": round(outage.down - outage.stop_began, 2),
        "start_s": round(outage.up - outage.start_began, 2),
        "requests_while_down": len(during),
        "statuses_while_down": dict(Counter(o.status for o in during)),
        "first_success_s_after_up": round(
            min(o.done for o in after if o.sent >= outage.up and 200 <= o.status < 300) - outage.up,
            2,
        ),
        "recovered_s_after_up": round(max(0.0, recovered_at - outage.up), 2),
        "failed_sent_after_up": sum(1 for o in failed_after if o.sent >= outage.up),
        "successes_after_recovery": sum(
            1 for o in after if o.sent > recovered_at and 200 <= o.status < 300
        ),
        "clients_succeeding_after_recovery": sorted(
            {o.client for o in after if o.sent > recovered_at and 200 <= o.status < 300}
        ),
    }


def test_requests_fail_only_while_postgres_is_down_and_no_acknowledged_write_is_lost(
    cluster: Cluster, app: App
) -> None:
    workers = {p.pid for p in psutil.Process(app.server.pid).children()}
    outages: list[Outage] = []
    load = _build_load(app)
    with load:
        time.sleep(STEADY_SECONDS)
        for mode in ("fast", "immediate"):
            stop_began = time.monotonic()
            cluster.stop(mode)
            down = time.monotonic()
            time.sleep(DOWN_SECONDS)
            start_began = time.monotonic()
            cluster.start()
            outages.append(Outage(mode, stop_began, down, start_began, time.monotonic()))
            time.sleep(AFTER_SECONDS)
        # A restart while no request comes in: each gunicorn worker keeps the connection it had
        # (CONN_MAX_AGE), dead now, and must not answer its next request with it.
        load.pause()
        quiet_restart = time.monotonic()
        cluster.stop("fast")
        cluster.start()
        load.resume()
        resumed = time.monotonic()
        time.sleep(QUIET_AFTER_SECONDS)
    outages[0].until = outages[1].stop_began
    outages[1].until = quiet_restart
    outcomes = sorted(load.outcomes, key=lambda o: o.sent)

    with psycopg.connect(cluster.url("pmhub")) as conn:
        stored = dict(conn.execute("SELECT external_id, id FROM discovery_feedback").fetchall())
        items = conn.execute("SELECT title, id FROM backlog_item WHERE title LIKE 'restart-%'")
        items = items.fetchall()
        stored |= dict(items)
    item_markers = {o.marker for o in outcomes if o.path.endswith("/items/")}
    acknowledged = {o.marker: o.created_id for o in outcomes if o.status == 201}
    # A write can commit and its answer still be a 503, when the connection drops between the
    # commit and the end of the request: counted, not failed (the client cannot know; a retry
    # of a feedback create with its external_id is refused as a duplicate).
    refused_but_stored = Counter(
        o.path for o in outcomes if o.marker in stored and o.marker not in acknowledged
    )
    figures = {
        **app.timings,
        "requests": len(outcomes),
        "statuses": dict(Counter(o.status for o in outcomes)),
        "outages": [_figures(outage, outcomes) for outage in outages],
        "after_quiet_restart": dict(Counter(o.status for o in outcomes if o.sent >= resumed)),
        "writes_acknowledged": len(acknowledged),
        "writes_acknowledged_and_found": sum(
            1 for marker, created in acknowledged.items() if stored.get(marker) == created
        ),
        "writes_refused_but_stored": dict(refused_but_stored),
        "item_creates": len(item_markers),
        "item_attempts": sum(1 for o in outcomes if o.path.endswith("/items/")),
        "item_retries_replayed": sum(1 for o in outcomes if o.replayed),
    }
    print(json.dumps(figures))
    logged = app.log.read_text()

    assert load.leaks == []
    assert set(figures["statuses"]) <= {200, 201, 503}, [o for o in outcomes if o.status == 0][:3]
    for outcome in outcomes:
        if outcome.status == 503:
            _check_503(outcome)
    for outage, summary in zip(outages, figures["outages"], strict=True):
        assert summary["requests_while_down"] >= 20, summary
        assert summary["statuses_while_down"] == {503: summary["requests_while_down"]}, summary
        assert summary["recovered_s_after_up"] < RECOVERY_LIMIT_SECONDS, summary
        assert summary["clients_succeeding_after_recovery"] == sorted(
            {o.client for o in outcomes}
        ), summary
        assert any(
            o.database_ok for o in outcomes if o.path == "/health/" and o.sent > outage.up
        ), outage
    assert set(figures["after_quiet_restart"]) <= {200, 201}, figures["after_quiet_restart"]
    # Nothing acknowledged is missing, under the id the response gave; that holds for crash
    # recovery too, because PostgreSQL acknowledges a commit after its WAL record is flushed.
    assert figures["writes_acknowledged"] >= 50
    assert figures["writes_acknowledged_and_found"] == figures["writes_acknowledged"]
    # Retried with its Idempotency-Key, each item is stored once, and each stored one was
    # acknowledged in the end under its id (but the create still being retried when the load
    # stopped, which may be stored or not).
    assert len(items) == len({title for title, _ in items}), Counter(t for t, _ in items)
    unfinished = {load.retrying["marker"]} - {""}
    assert {title for title, _ in items} - set(acknowledged) <= unfinished
    assert item_markers - set(acknowledged) <= unfinished
    # The same gunicorn processes served before, during and after: none was restarted.
    assert app.server.poll() is None
    assert {p.pid for p in psutil.Process(app.server.pid).children()} == workers
    # One log line per refused request and no traceback.
    refused = sum(1 for o in outcomes if o.status == 503 and o.path != "/health/")
    assert logged.count("Database unavailable, answered 503") == refused
    assert "Traceback" not in logged
