"""The quick start, run the way the README says, on embedded services in a temporary folder."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import requests

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start(data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "EMAIL_URL", "DJANGO_SETTINGS_MODULE"}
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pmhub.dev",
                "--data-dir",
                str(data_dir),
                "--port",
                str(port),
                "--no-reload",
                "--workers",
                "1",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _wait_until_ready(process: subprocess.Popen[bytes], log: Path, timeout: float = 150) -> float:
    started = time.monotonic()
    while "pmhub: ready at" not in log.read_text(errors="replace"):
        if process.poll() is not None:
            pytest.fail(f"the quick start exited with {process.returncode}:\n{log.read_text()}")
        if time.monotonic() - started > timeout:
            process.send_signal(signal.SIGINT)
            pytest.fail(f"the quick start was not ready in {timeout}s:\n{log.read_text()}")
        time.sleep(0.2)
    return time.monotonic() - started


def _everything_started(process: subprocess.Popen[bytes], data_dir: Path) -> list[psutil.Process]:
    """The supervisor, its process tree and the embedded PostgreSQL (a daemon of its own)."""
    root = psutil.Process(process.pid)
    processes = [root, *root.children(recursive=True)]
    postmaster = data_dir / "postgres" / "postmaster.pid"
    assert postmaster.exists(), f"no PostgreSQL runs for {data_dir}"
    pid = int(postmaster.read_text().split()[0])
    postgres = psutil.Process(pid)
    return [*processes, postgres, *postgres.children(recursive=True)]


def _command_line(proc: psutil.Process) -> str:
    try:
        return " ".join(proc.cmdline())
    except psutil.Error:  # Short-lived processes (a PostgreSQL backend) may be gone already.
        return ""


def _alive(processes: list[psutil.Process]) -> list[str]:
    alive = []
    for proc in processes:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(f"{proc.pid} {_command_line(proc)[:120]}")
        except psutil.NoSuchProcess:
            continue
    return alive


def _log_in_as_demo(base: str, session: requests.Session | None = None) -> requests.Response:
    session = session or requests.Session()
    page = session.get(f"{base}/accounts/login/", timeout=10)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]
    return session.post(
        f"{base}/accounts/login/",
        data={
            "csrfmiddlewaretoken": csrf,
            "username": "demo@pmhub.local",
            "password": "pmhub-demo",
        },
        headers={"Referer": f"{base}/accounts/login/"},
        timeout=30,
    )


def _stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGINT)
    return process.wait(timeout=60)


def test_quick_start_runs_everything_and_ctrl_c_stops_everything(tmp_path):
    data_dir, log = tmp_path / "data", tmp_path / "run.log"
    port = _free_port()
    base = f"http://127.0.0.1:{port}"

    process = _start(data_dir, port, log)
    first_start = _wait_until_ready(process, log)
    started = _everything_started(process, data_dir)
    health = requests.get(f"{base}/health/", timeout=10)
    session = requests.Session()
    home = _log_in_as_demo(base, session)

    assert health.status_code == 200, health.text
    assert {name: check["ok"] for name, check in health.json()["checks"].items()} == {
        "database": True,
        "broker": True,
        "worker": True,
        "beat": True,
    }
    assert home.status_code == 200
    assert home.url == f"{base}/w/acme/discovery/"
    assert "Acme Product" in home.text
    # The worker tags the demo for real: its rules at once, then the model it trains from the
    # demo's people-made tags applies tags and suggests others across the inbox.
    deadline = time.monotonic() + 150
    inbox = home.text
    while time.monotonic() < deadline and not all(
        marker in inbox
        for marker in ('data-origin="rule"', 'data-origin="model"', "data-suggestion-id")
    ):
        time.sleep(2)
        inbox = session.get(f"{base}/w/acme/discovery/", timeout=10).text
    assert 'data-origin="rule"' in inbox, log.read_text()[-3000:]
    assert 'data-origin="model"' in inbox, log.read_text()[-3000:]
    assert "data-suggestion-id" in inbox, log.read_text()[-3000:]
    names = " ".join(_command_line(p) for p in started)
    for part in (
        "runserver",
        "celery -A pmhub.celery worker",
        "celery -A pmhub.celery beat",
        "redis-server",
        "aiosmtpd",
        "postgres",
    ):
        assert part in names, f"{part} is not running: {names}"

    assert _stop(process) == 0
    time.sleep(0.5)
    assert _alive(started) == [], log.read_text()

    # A second run reuses the data and is quick; a run on the same folder or port is refused.
    log = tmp_path / "second-run.log"
    process = _start(data_dir, port, log)
    second_start = _wait_until_ready(process, log)
    try:
        same_folder = subprocess.run(
            [
                sys.executable,
                "-m",
                "pmhub.dev",
                "--data-dir",
                str(data_dir),
                "--port",
                str(_free_port()),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        same_port = subprocess.run(
            [
                sys.executable,
                "-m",
                "pmhub.dev",
                "--data-dir",
                str(tmp_path / "other"),
                "--port",
                str(port),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        started = _everything_started(process, data_dir)
        assert _stop(process) == 0
    time.sleep(0.5)

    assert same_folder.returncode == 2
    assert "is in use by another pmhub" in same_folder.stdout
    assert same_port.returncode == 2
    assert f"port {port} on 127.0.0.1 is already in use" in same_port.stdout
    assert second_start < 30, f"second start took {second_start:.1f}s (first {first_start:.1f}s)"
    assert _alive(started) == [], log.read_text()
    print(f"quick start: first ready in {first_start:.1f}s, second in {second_start:.1f}s")
