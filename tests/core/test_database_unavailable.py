"""PostgreSQL unreachable: pages and the API answer 503 with Retry-After and say why, without a
traceback anywhere a user sees it, and the log gets one line per request.

The outage is real: the connection is pointed at a loopback port where nothing listens (as
while PostgreSQL restarts), or its server process is terminated (what a restart does to the
connections it had)."""

from __future__ import annotations

import contextlib
import io
import logging
import socket
import time
from collections.abc import Iterator

import psycopg
import pytest
from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection
from django.db.utils import OperationalError
from django.http import HttpRequest, HttpResponse
from django.test import Client
from playwright.sync_api import expect

from backlog.models import Item
from pmhub.core.unavailable import RETRY_AFTER_SECONDS, database_is_unavailable
from tests.conftest import database_url_of
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

LEAKS = ("Traceback", "OperationalError", "psycopg", "Connection refused", 'File "')


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def logged() -> Iterator[io.StringIO]:
    """What pmhub's and Django's request loggers write during the test."""
    captured = io.StringIO()
    handler = logging.StreamHandler(captured)
    loggers = [logging.getLogger("pmhub.database"), logging.getLogger("django.request")]
    for logger in loggers:
        logger.addHandler(handler)
    yield captured
    for logger in loggers:
        logger.removeHandler(handler)


@contextlib.contextmanager
def database_down(port: int | None = None) -> Iterator[None]:
    """The default connection, closed and pointed at `port`: by default one with no server."""
    connection.close()
    saved = connection.settings_dict["HOST"], connection.settings_dict["PORT"]
    connection.settings_dict["HOST"] = "127.0.0.1"
    connection.settings_dict["PORT"] = port or _free_port()
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["HOST"], connection.settings_dict["PORT"] = saved


def _login(user) -> Client:
    # Errors must come back as responses, as they do for a browser, not be raised into the test.
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def _assert_no_leak(body: str) -> None:
    for leak in LEAKS:
        assert leak not in body


def test_a_page_is_503_with_the_database_page(workspace, admin, logged):
    client = _login(admin)

    with database_down():
        response = client.get("/w/acme/backlog/")

    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert "pmhub can’t reach its database" in body
    assert "try again in a few seconds." in body
    _assert_no_leak(body)
    # One line, from pmhub.database; django.request adds no traceback of its own.
    [line] = logged.getvalue().splitlines()
    assert line.startswith("Database unavailable, answered 503: GET /w/acme/backlog/ (")


def test_the_api_is_503_with_the_error_shape(workspace, admin, token_client):
    client = token_client(admin, workspace)

    with database_down():
        response = client.post("/api/v1/workspaces/acme/items/", {"title": "Saved?"}, format="json")

    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response.json() == {
        "message": "The database is unavailable for a moment; try again in a few seconds.",
        "extra": {},
    }
    _assert_no_leak(response.content.decode())


def test_a_page_script_asking_for_json_gets_the_error_shape(workspace, admin):
    client = _login(admin)

    with database_down():
        response = client.post(
            "/w/acme/backlog/items/1/move/", {"after_id": 2}, HTTP_ACCEPT="application/json"
        )

    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response.json()["message"].startswith("The database is unavailable for a moment")


class ReadsUserMiddleware:
    """Reads request.user before any view runs, as session and auth code in middleware do."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.user.is_authenticated  # noqa: B018 - the read is the point
        return self.get_response(request)


def test_a_database_read_in_middleware_is_503_too(workspace, admin, settings, logged):
    auth = settings.MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware")
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE[: auth + 1],
        "tests.core.test_database_unavailable.ReadsUserMiddleware",
        *settings.MIDDLEWARE[auth + 1 :],
    ]
    client = _login(admin)

    with database_down():
        page = client.get("/w/acme/")
        api = client.get("/api/v1/me/")

    assert (page.status_code, api.status_code) == (503, 503)
    assert "pmhub can’t reach its database" in page.content.decode()
    assert api.json()["extra"] == {}
    assert len(logged.getvalue().splitlines()) == 2


def test_a_server_that_never_answers_is_503_after_the_connect_timeout(workspace, admin):
    client = _login(admin)
    limit = settings.DATABASES["default"]["OPTIONS"]["connect_timeout"]

    with socket.socket() as silent:
        # The kernel accepts the connection; nothing ever reads or answers it, as with a host
        # that went away behind a load balancer.
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        with database_down(port=silent.getsockname()[1]):
            started = time.monotonic()
            response = client.get("/w/acme/backlog/")
            waited = time.monotonic() - started

    assert response.status_code == 503
    assert limit == 5
    assert limit <= waited < limit + 2


def test_health_reports_the_database_down():
    with database_down():
        response = Client().get("/health/")

    assert response.status_code == 503
    assert response.json()["checks"]["database"] == {"ok": False, "error": "OperationalError"}


def test_a_connection_killed_by_a_restart_is_503_then_reopened(workspace, admin):
    client = _login(admin)
    assert client.get("/w/acme/backlog/").status_code == 200
    with psycopg.connect(database_url_of(connection.settings_dict), autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [connection.connection.info.backend_pid])

    killed = client.get("/w/acme/backlog/")
    # Django closes a connection that failed at the end of the request (the test client leaves
    # that to the test); the next request opens a new one.
    connection.close_if_unusable_or_obsolete()
    again = client.get("/w/acme/backlog/")

    assert killed.status_code == 503
    _assert_no_leak(killed.content.decode())
    assert again.status_code == 200


def _real_error(statement: str) -> DatabaseError:
    connection.close()
    with pytest.raises(DatabaseError) as raised, connection.cursor() as cursor:
        cursor.execute(statement)
    connection.close()
    return raised.value


def test_statement_errors_are_not_taken_for_an_outage():
    timeout = _real_error("SET statement_timeout = 1; SELECT pg_sleep(1)")
    duplicate = _real_error("CREATE TEMP TABLE t (x int UNIQUE); INSERT INTO t VALUES (1), (1)")

    assert isinstance(timeout, OperationalError)  # psycopg's QueryCanceled
    assert not database_is_unavailable(timeout)
    assert isinstance(duplicate, IntegrityError)
    assert not database_is_unavailable(duplicate)


def test_a_refused_connection_is_an_outage_also_when_wrapped():
    with pytest.raises(psycopg.OperationalError) as refused:
        psycopg.connect(host="127.0.0.1", port=_free_port(), connect_timeout=2)
    wrapped = RuntimeError("while rendering")
    wrapped.__cause__ = refused.value

    assert database_is_unavailable(refused.value)
    assert database_is_unavailable(wrapped)


@contextlib.contextmanager
def live_database_down() -> Iterator[None]:
    """database_down() for the live server's thread too: its open connection is terminated, as a
    restart does, and the one it opens next finds no server."""
    real = database_url_of(connection.settings_dict)
    name = connection.settings_dict["NAME"]
    with database_down(), psycopg.connect(real, autocommit=True) as other:
        other.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        )
        yield


@pytest.mark.browser
def test_the_browser_shows_the_503_page_and_a_toast_for_htmx(
    live_server, page, workspace, admin, screenshots
):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/w/acme/backlog/")

    with live_database_down():
        # An htmx request of the page (a filter, an inline edit) is answered 503 and not swapped.
        page.evaluate("htmx.ajax('GET', window.location.pathname, {target: 'main'})")
        expect(page.get_by_role("alert")).to_have_text(
            "The database is unavailable for a moment; try again in a few seconds."
        )
        response = page.goto(f"{live_server.url}/w/acme/discovery/")
        page.screenshot(path=screenshots / "database-unavailable.png")

    assert response.status == 503
    expect(page.get_by_role("heading", level=1)).to_have_text("pmhub can’t reach its database")
    page.get_by_role("link", name="Try again").click()
    expect(page).to_have_url(f"{live_server.url}/w/acme/discovery/")
    expect(page.get_by_role("heading", level=1)).not_to_have_text("pmhub can’t reach its database")


def test_a_keyed_post_whose_connection_dies_is_one_503_and_one_log_line(
    workspace, admin, token_client, logged
):
    """A POST with an Idempotency-Key runs in a transaction of its own (pmhub.workspaces.api.
    base): when its connection dies, ending that transaction fails again (Django reconnects
    after the rollback, and the server is still gone); the answer stays the one 503."""
    client = token_client(admin, workspace)
    client.raise_request_exception = False
    assert client.get("/api/v1/workspaces/acme/items/").status_code == 200
    with psycopg.connect(database_url_of(connection.settings_dict), autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [connection.connection.info.backend_pid])
    saved = connection.settings_dict["HOST"], connection.settings_dict["PORT"]
    connection.settings_dict["HOST"], connection.settings_dict["PORT"] = "127.0.0.1", _free_port()
    try:
        response = client.post(
            "/api/v1/workspaces/acme/items/",
            {"title": "Saved?"},
            format="json",
            HTTP_IDEMPOTENCY_KEY="lost-connection",
        )
    finally:
        connection.close()
        connection.settings_dict["HOST"], connection.settings_dict["PORT"] = saved

    assert response.status_code == 503
    assert response.json()["message"].startswith("The database is unavailable")
    lines = logged.getvalue().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("Database unavailable, answered 503: POST /api/v1/")
    assert "Traceback" not in logged.getvalue()
    assert not Item.objects.for_workspace(workspace).exists()
