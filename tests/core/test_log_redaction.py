"""Credentials carried in URL paths never reach a log line: Django's nor gunicorn's access log."""

from __future__ import annotations

import io
import json
import logging
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

from pmhub.core.logs import RedactSecrets, redact
from tests.conftest import database_url_of

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("logged", "expected"),
    [
        ("GET /share/Abc-123_x/ HTTP/1.1", "GET /share/[redacted]/ HTTP/1.1"),
        ("/share/Abc-123_x/embed/?theme=dark", "/share/[redacted]/embed/?theme=dark"),
        ("Not Found: /digest/view/eyJ0.sig/", "Not Found: /digest/view/[redacted]/"),
        ("/digest/unsubscribe/eyJ0.sig/", "/digest/unsubscribe/[redacted]/"),
        ("/invitations/inv-token/", "/invitations/[redacted]/"),
        ("/accounts/reset/MQ/cdl2-0f3a9/", "/accounts/reset/MQ/[redacted]/"),
        ("https://pm.example.com/share/tok", "https://pm.example.com/share/[redacted]"),
        # Paths that carry no credential are left as they are.
        ("/w/acme/backlog/items/12/", "/w/acme/backlog/items/12/"),
        ("/accounts/login/?next=/w/acme/", "/accounts/login/?next=/w/acme/"),
    ],
)
def test_redact_hides_the_credential_segment_only(logged, expected):
    assert redact(logged) == expected


@pytest.mark.django_db
def test_django_logs_a_missing_share_link_without_its_token():
    handler = next(
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, RedactSecrets) for f in h.filters)
    )
    captured = io.StringIO()
    previous = handler.setStream(captured)
    token = secrets.token_urlsafe(24)
    try:
        response = Client().get(f"/share/{token}/")
    finally:
        handler.setStream(previous)

    assert response.status_code == 404
    assert "Not Found: /share/[redacted]/" in captured.getvalue()
    assert token not in captured.getvalue()


def _dockerfile_command() -> list[str]:
    line = next(
        line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("CMD ")
    )
    return json.loads(line.removeprefix("CMD "))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
@pytest.mark.django_db
def test_gunicorns_access_log_hides_tokens_in_paths_referers_and_headers(tmp_path):
    port = _free_port()
    command = _dockerfile_command()
    command[command.index("--bind") + 1] = f"127.0.0.1:{port}"
    command[command.index("--worker-tmp-dir") + 1] = str(tmp_path)
    log = tmp_path / "gunicorn.log"
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "pmhub.settings.test",
        "DATABASE_URL": database_url_of(connection.settings_dict),
    }
    binary = Path(sys.executable).with_name("gunicorn")
    with log.open("wb") as output:
        server = subprocess.Popen(  # noqa: S603
            [str(binary), *command[1:]], cwd=ROOT, env=environment, stdout=output, stderr=output
        )
    path_token, referer_token, bearer = (secrets.token_urlsafe(24) for _ in range(3))
    try:
        deadline = time.monotonic() + 30
        while True:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/share/{path_token}/",
                headers={
                    "Referer": f"http://127.0.0.1:{port}/digest/view/{referer_token}/",
                    "Authorization": f"Bearer {bearer}",
                },
            )
            try:
                urllib.request.urlopen(request, timeout=5)  # noqa: S310
            except urllib.error.HTTPError as answered:
                status = answered.code
                break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        time.sleep(0.5)  # the access log line is written after the response
    finally:
        server.terminate()
        server.wait(timeout=30)

    logged = log.read_text()
    assert status == 404
    assert '"GET /share/[redacted]/ HTTP/1.1" 404' in logged, logged
    assert "/digest/view/[redacted]/" in logged
    for secret in (path_token, referer_token, bearer):
        assert secret not in logged
