"""Auth hardening (issue 9, Security 4-5): password hashing, throttling, session cookies and
rotation, reset tokens, security headers, `check --deploy`, and secrets kept out of logs and error
pages. Production values are read from pmhub.settings.production in a child process, with the
environment a real deployment sets, and applied to the test settings where a request needs them."""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.tokens import PasswordResetTokenGenerator, default_token_generator
from django.contrib.sessions.backends.cached_db import SessionStore
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.urls import path
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from pmhub.accounts.models import LoginFailure, User
from pmhub.accounts.tokens import token_generate
from tests.factories import PASSWORD, UserFactory
from tests.ops.redis_support import free_port

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
THROTTLED = "Too many failed attempts. Wait 15 minutes, or reset your password."
NEW_PASSWORD = "quiet-lantern-meadow-77"
DEPLOYMENT_SECRET_KEY = secrets.token_urlsafe(50)
# What the production process is asked for, by name; each is checked below.
PRODUCTION_SETTINGS = [
    "DEBUG",
    "PASSWORD_HASHERS",
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "SECURE_REFERRER_POLICY",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE",
    "CSRF_COOKIE_SECURE",
    "CSRF_COOKIE_SAMESITE",
    "X_FRAME_OPTIONS",
]
_DUMP = (
    "import json, sys; from django.conf import settings; "
    "print(json.dumps({name: getattr(settings, name) for name in sys.argv[1:]}))"
)


def _deployment_env() -> dict[str, str]:
    """The environment of a real deployment: HTTPS, a long random key, its own host."""
    # Only what a server's environment holds: the test run's own variables (Django's async
    # override among them) are not a deployment's.
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    env.update(
        DJANGO_SETTINGS_MODULE="pmhub.settings.production",
        SECRET_KEY=DEPLOYMENT_SECRET_KEY,
        ALLOWED_HOSTS="pmhub.example.com",
        PMHUB_BASE_URL="https://pmhub.example.com",
        PMHUB_HTTPS="1",
        DATABASE_URL=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pmhub"),
        REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
    )
    return env


@pytest.fixture(scope="module")
def production() -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", _DUMP, *PRODUCTION_SETTINGS],
        cwd=ROOT,
        env=_deployment_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


@pytest.fixture
def as_production(settings, production):
    """The test settings with production's security values (tuples come back from JSON as lists)."""
    for name, value in production.items():
        if name not in {"DEBUG", "PASSWORD_HASHERS", "SECURE_SSL_REDIRECT"}:
            setattr(settings, name, tuple(value) if isinstance(value, list) else value)
    return settings


@pytest.fixture
def person() -> User:
    """A unique address, so that no other test's failure counter applies."""
    return UserFactory(email=f"pat-{secrets.token_hex(4)}@example.com")


def _login(client: Client, email: str, password: str):
    return client.post("/accounts/login/", {"username": email, "password": password})


# --- password hashing ------------------------------------------------------------------------
def test_production_hashes_new_passwords_with_argon2(settings, production):
    assert production["PASSWORD_HASHERS"][0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    settings.PASSWORD_HASHERS = production["PASSWORD_HASHERS"]

    user = User.objects.create_user(email="argon@example.com", password=NEW_PASSWORD)

    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$")
    assert _login(Client(), "argon@example.com", NEW_PASSWORD).status_code == 302


def test_an_older_pbkdf2_hash_becomes_argon2_at_the_next_login(person, settings, production):
    settings.PASSWORD_HASHERS = production["PASSWORD_HASHERS"]
    person.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
    person.save(update_fields=["password"])

    assert _login(Client(), person.email, PASSWORD).status_code == 302

    person.refresh_from_db()
    assert person.password.startswith("argon2$argon2id$")


def test_argon2_is_a_pinned_dependency():
    lock = (ROOT / "requirements.lock").read_text()
    assert re.search(r"^argon2-cffi==\d", lock, re.MULTILINE)
    assert re.search(r'"argon2-cffi[>=~]', (ROOT / "pyproject.toml").read_text())


# --- throttling ------------------------------------------------------------------------------
def test_a_burst_of_wrong_guesses_locks_the_email_even_for_the_right_password(
    person, settings, every_log_record
):
    settings.PMHUB_LOGIN_ATTEMPTS = 5
    client = Client(REMOTE_ADDR="198.51.100.7")
    burst = [_login(client, person.email, f"guess-{n}") for n in range(8)]

    locked = _login(client, person.email, PASSWORD)

    errors = [r.context["form"].non_field_errors() for r in burst]
    assert errors[5:] == [[THROTTLED]] * 3
    assert locked.context["form"].non_field_errors() == [THROTTLED]
    assert "_auth_user_id" not in client.session
    logged = [r for r in every_log_record if r.name == "pmhub.accounts.forms"]
    assert [r.levelname for r in logged] == ["INFO"] * 5 + ["WARNING"] * 4
    assert logged[4].getMessage() == (
        f"login failed: email={person.email} address=198.51.100.7 failures=5"
    )
    assert logged[5].getMessage() == (
        f"login refused, too many failures: email={person.email} address=198.51.100.7"
    )


def test_a_locked_out_person_can_still_reset_their_password_and_get_in(person, settings):
    settings.PMHUB_LOGIN_ATTEMPTS = 2
    client = Client(REMOTE_ADDR="198.51.100.8")
    for n in range(2):
        _login(client, person.email, f"guess-{n}")
    assert _login(client, person.email, PASSWORD).context["form"].non_field_errors() == [THROTTLED]

    assert _reset_with(client, _reset_link(person, default_token_generator.make_token(person)))

    assert client.session["_auth_user_id"] == str(person.id)


def test_the_count_survives_a_redis_restart_and_holds_while_redis_is_down(
    person, settings, tmp_path
):
    """Failures are rows in PostgreSQL: an emptied cache (a Redis restarted empty) forgets
    none, and a cache that cannot be reached (Redis down) lifts no limit."""
    settings.PMHUB_LOGIN_ATTEMPTS = 3
    client = Client(REMOTE_ADDR="198.51.100.10")
    for n in range(2):
        _login(client, person.email, f"guess-{n}")
    cache.clear()
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
        }
    }
    third = _login(client, person.email, "guess-2")
    locked = _login(client, person.email, PASSWORD)

    assert third.context["form"].non_field_errors() != [THROTTLED]
    assert locked.context["form"].non_field_errors() == [THROTTLED]
    # The table keeps neither the email nor the address in clear.
    keys = set(LoginFailure.objects.values_list("key", flat=True))
    assert len(keys) == 1
    assert all(re.fullmatch(r"[0-9a-f]{64}", key) for key in keys)


def test_failures_past_the_window_stop_counting_and_are_deleted(person, settings):
    settings.PMHUB_LOGIN_ATTEMPTS = 2
    client = Client(REMOTE_ADDR="198.51.100.11")
    for n in range(2):
        _login(client, person.email, f"guess-{n}")
    assert _login(client, person.email, PASSWORD).context["form"].non_field_errors() == [THROTTLED]
    window = timedelta(seconds=settings.PMHUB_LOGIN_WINDOW_SECONDS)
    LoginFailure.objects.update(failed_at=datetime.now(tz=UTC) - window - timedelta(seconds=1))

    assert _login(client, person.email, "guess-2").status_code == 200  # counted afresh: 1 of 2
    assert LoginFailure.objects.count() == 1  # the expired ones went on the way
    assert _login(client, person.email, PASSWORD).status_code == 302


# --- session cookies and rotation ------------------------------------------------------------
def test_the_session_cookie_is_secure_httponly_and_lax_in_production(person, as_production):
    response = Client().post(
        "/accounts/login/", {"username": person.email, "password": PASSWORD}, secure=True
    )

    assert response.status_code == 302
    cookie = response.cookies[django_settings.SESSION_COOKIE_NAME]
    assert cookie["secure"] is True
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    csrf = Client().get("/accounts/login/", secure=True).cookies[django_settings.CSRF_COOKIE_NAME]
    assert csrf["secure"] is True
    assert csrf["samesite"] == "Lax"


def test_login_gives_a_new_session_key_and_forgets_the_old_one(person):
    client = Client()
    session = client.session
    session["before_login"] = "kept"
    session.save()
    before = session.session_key

    _login(client, person.email, PASSWORD)

    after = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    assert after != before
    assert not SessionStore().exists(before)
    assert client.session["_auth_user_id"] == str(person.id)
    assert client.session["before_login"] == "kept"


def test_logout_deletes_the_session(person):
    client = Client()
    _login(client, person.email, PASSWORD)
    session_key = client.cookies[django_settings.SESSION_COOKIE_NAME].value

    client.post("/accounts/logout/")

    assert not SessionStore().exists(session_key)
    assert "_auth_user_id" not in client.session
    replayed = Client()
    replayed.cookies[django_settings.SESSION_COOKIE_NAME] = session_key
    assert replayed.get("/api/v1/me/").status_code in {401, 403}


# --- password reset tokens -------------------------------------------------------------------
def _reset_link(user: User, token: str) -> str:
    return f"/accounts/reset/{urlsafe_base64_encode(force_bytes(user.pk))}/{token}/"


def _reset_with(client: Client, link: str) -> bool:
    """Follow a reset link and set a new password; False if the link was refused."""
    form_page = client.get(link)
    if form_page.status_code != 302:
        return False
    done = client.post(
        form_page["Location"], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    return done.status_code == 302


def test_using_one_reset_token_spends_every_token_issued_before(person):
    first = default_token_generator.make_token(person)
    second = default_token_generator.make_token(person)

    assert _reset_with(Client(), _reset_link(person, first))

    person.refresh_from_db()
    assert not default_token_generator.check_token(person, first)
    assert not default_token_generator.check_token(person, second)
    assert Client().get(_reset_link(person, second)).context["validlink"] is False


@pytest.mark.parametrize(("age", "accepted"), [(50, True), (70, False)])
def test_a_reset_token_expires_after_password_reset_timeout(person, settings, age, accepted):
    settings.PASSWORD_RESET_TIMEOUT = 60
    issued_at = datetime.now() - timedelta(seconds=age)  # noqa: DTZ005 - Django's own clock is naive.

    class IssuedEarlier(PasswordResetTokenGenerator):
        def _now(self) -> datetime:
            return issued_at

    token = IssuedEarlier().make_token(person)

    assert default_token_generator.check_token(person, token) is accepted
    assert _reset_with(Client(), _reset_link(person, token)) is accepted


# --- security headers ------------------------------------------------------------------------
def _assert_security_headers(response) -> None:
    csp = response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Strict-Transport-Security"] == ("max-age=31536000; includeSubDomains; preload")


def test_a_page_carries_the_security_headers(as_production):
    response = Client().get("/accounts/login/", secure=True)

    assert response.status_code == 200
    _assert_security_headers(response)


def test_an_api_response_carries_the_security_headers(as_production, workspace, member, make_token):
    client = Client(HTTP_AUTHORIZATION=f"Bearer {make_token(member, workspace, 'read')}")

    response = client.get("/api/v1/me/", secure=True)

    assert response.status_code == 200
    _assert_security_headers(response)


def test_production_redirects_plain_http_to_https(as_production, production):
    assert production["DEBUG"] is False
    as_production.SECURE_SSL_REDIRECT = production["SECURE_SSL_REDIRECT"]

    plain = Client().get("/accounts/login/")
    behind_tls_proxy = Client().get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")

    assert plain.status_code == 301
    assert plain["Location"] == "https://testserver/accounts/login/"
    assert behind_tls_proxy.status_code == 200
    assert "Strict-Transport-Security" in behind_tls_proxy


def test_manage_check_deploy_reports_no_issues():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_deployment_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


# --- secrets out of logs and error pages -----------------------------------------------------
@pytest.fixture
def every_log_record() -> Iterator[list[logging.LogRecord]]:
    """Every record at DEBUG and above from any logger, SQL statements included."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            self.format(record)  # fills exc_text, so that tracebacks are searched too
            records.append(record)

    # Django's own logging configuration holds the "django" logger at INFO; open every gate.
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger) and logger.level != logging.NOTSET
    ]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    handler = Keep(level=logging.DEBUG)
    loggers[0].addHandler(handler)
    connection.force_debug_cursor = True
    try:
        yield records
    finally:
        connection.force_debug_cursor = False
        loggers[0].removeHandler(handler)
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _logged_text(records: list[logging.LogRecord]) -> str:
    return "\n".join(f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in records)


def test_logins_and_api_calls_log_no_password_or_token(
    person, workspace, member, make_token, every_log_record
):
    wrong_password = f"wrong-{secrets.token_hex(8)}"
    valid_token = make_token(member, workspace, "write")
    unknown_token = token_generate()
    malformed_token = f"pmh_short-{secrets.token_hex(4)}"

    _login(Client(), person.email, wrong_password)
    _login(Client(), person.email, PASSWORD)
    for token in (valid_token, unknown_token, malformed_token):
        Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/v1/me/")

    logged = _logged_text(every_log_record)
    assert any(r.name == "django.db.backends" for r in every_log_record)  # SQL was captured
    assert "Unauthorized: /api/v1/me/" in logged
    for secret in (wrong_password, PASSWORD, valid_token, unknown_token, malformed_token):
        assert secret not in logged


def _fail(request):
    raise RuntimeError("a bug")


urlpatterns = [path("fail/", _fail)]


@pytest.mark.urls(__name__)
def test_the_error_page_shows_no_settings_or_traceback(settings, every_log_record):
    assert settings.DEBUG is False

    response = Client(raise_request_exception=False).get("/fail/")

    body = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong on our side" in body
    for leak in (settings.SECRET_KEY, "SECRET_KEY", "DATABASES", "Traceback", "a bug"):
        assert leak not in body
    assert settings.SECRET_KEY not in _logged_text(every_log_record)
