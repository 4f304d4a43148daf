"""Shared fixtures: the Alice/Bob/Charlie pattern, real SMTP, a real Celery worker, Chromium."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from pmhub.accounts.models import User
from pmhub.accounts.services import api_token_create
from pmhub.workspaces.models import Workspace
from pmhub.workspaces.roles import Role
from tests.factories import PASSWORD, MembershipFactory, WorkspaceFactory

# Playwright's sync API runs an event loop in the test thread; Django must allow ORM use there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"


# --- people and workspaces -------------------------------------------------------------------
@pytest.fixture
def workspace(db: None) -> Workspace:
    return WorkspaceFactory(name="Acme", slug="acme")


@pytest.fixture
def other_workspace(db: None) -> Workspace:
    return WorkspaceFactory(name="Globex", slug="globex")


@pytest.fixture
def admin(workspace: Workspace) -> User:
    return MembershipFactory(
        workspace=workspace, role=Role.ADMIN, user__email="alice@acme.test"
    ).user


@pytest.fixture
def member(workspace: Workspace) -> User:
    """An editor: the PM who changes things."""
    return MembershipFactory(
        workspace=workspace, role=Role.EDITOR, user__email="bob@acme.test"
    ).user


@pytest.fixture
def viewer(workspace: Workspace) -> User:
    return MembershipFactory(
        workspace=workspace, role=Role.VIEWER, user__email="vic@acme.test"
    ).user


@pytest.fixture
def outsider(other_workspace: Workspace) -> User:
    """Charlie: an admin of another workspace, a stranger to `workspace`."""
    return MembershipFactory(
        workspace=other_workspace, role=Role.ADMIN, user__email="charlie@globex.test"
    ).user


@pytest.fixture
def login() -> Callable[[User], Client]:
    def _login(user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return _login


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def make_token() -> Callable[..., str]:
    """Create an API token and return its value."""

    def _make(user: User, workspace: Workspace, access: str = "write") -> str:
        _token, raw = api_token_create(workspace=workspace, user=user, name="test", access=access)
        return raw

    return _make


@pytest.fixture
def token_client(make_token: Callable[..., str]) -> Callable[..., APIClient]:
    def _client(user: User, workspace: Workspace, access: str = "write") -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(user, workspace, access)}")
        return client

    return _client


# --- real SMTP on loopback -------------------------------------------------------------------
@dataclass
class SmtpSink:
    """A real SMTP server (aiosmtpd) on a free loopback port, keeping what it receives."""

    host: str = "127.0.0.1"
    port: int = 0
    messages: list[Message] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.original_content))
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 20) -> list[Message]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages


@contextlib.contextmanager
def _smtp_sink() -> Iterator[SmtpSink]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = SmtpSink(port=port)
    controller = Controller(sink, hostname=sink.host, port=port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpSink]:
    """The SMTP server of mail sent by the test process itself."""
    with _smtp_sink() as sink:
        yield sink


@pytest.fixture(scope="session")
def worker_smtp() -> Iterator[SmtpSink]:
    """The SMTP server of mail sent by the real worker; apart, so that late mail never mixes."""
    with _smtp_sink() as sink:
        yield sink


@pytest.fixture
def smtp_mail(smtp_server: SmtpSink, settings: Any) -> SmtpSink:
    """Send this test's mail through the real SMTP server."""
    smtp_server.messages.clear()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = smtp_server.host
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    return smtp_server


# --- a real Celery worker --------------------------------------------------------------------
def database_url_of(db_settings: dict[str, Any]) -> str:
    """A DATABASE_URL for the database Django is connected to (the test database)."""
    user = db_settings.get("USER") or "postgres"
    password = db_settings.get("PASSWORD") or ""
    auth = f"{user}:{password}" if password else user
    name = db_settings["NAME"]
    host = db_settings.get("HOST") or ""
    socket_dir = (db_settings.get("OPTIONS") or {}).get("host")
    if not host and socket_dir:
        return f"postgresql://{auth}@/{name}?host={socket_dir}"
    return f"postgresql://{auth}@{host or '127.0.0.1'}:{db_settings.get('PORT') or 5432}/{name}"


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log: Path
    hostname: str = ""

    def settle(self, timeout: float = 60) -> None:
        """Drop the queued work and wait for the task in hand to end.

        A transactional test's teardown truncates every table; a task still holding row locks
        (the tagging of an import's batches, say) would deadlock it. The solo pool answers
        control messages only between tasks, so an answer means it is idle.
        """
        from pmhub.celery import app

        app.control.purge()
        inspector = app.control.inspect(destination=[self.hostname], timeout=0.5)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            active = inspector.active()
            if active and not any(active.values()):
                return
            time.sleep(0.1)


@pytest.fixture(autouse=True)
def _worker_settles_before_teardown(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tests with a real worker end with it idle (see Worker.settle). pytest-django's database
    fixtures are set up before this one, so they are torn down after it."""
    yield
    if "celery_worker" in request.fixturenames:
        request.getfixturevalue("celery_worker").settle()


@pytest.fixture(scope="module")
def celery_worker(
    django_db_setup: None, django_db_blocker: Any, worker_smtp: SmtpSink, tmp_path_factory: Any
) -> Iterator[Worker]:
    """A real `celery worker` process on the real Redis, reading the test database.

    One per test module, started on an empty queue: work that other modules' tests committed
    (for objects long gone) must not run in the middle of theirs.
    """
    from pmhub.celery import app

    app.control.purge()
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    hostname = f"test-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "pmhub.settings.test",
        "DATABASE_URL": database_url_of(settings.DATABASES["default"]),
        "PMHUB_CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
        "PMHUB_CACHE_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
        "PMHUB_TEST_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_URL": f"smtp://{worker_smtp.host}:{worker_smtp.port}",
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "pmhub.celery",
                "worker",
                "--pool",
                "solo",
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--hostname",
                hostname,
            ],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while b"ready." not in log.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the Celery worker did not start:\n{log.read_text()}")
        time.sleep(0.1)
    yield Worker(process=process, log=log, hostname=hostname)
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


# --- Chromium through Playwright -------------------------------------------------------------
@pytest.fixture
def console_errors(page: Any) -> list[str]:
    """Errors the page logs to its console (CSP violations included) or throws: browser tests
    assert there are none."""
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def screenshots() -> Path:
    path = ARTIFACTS / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


__all__ = ["PASSWORD"]
