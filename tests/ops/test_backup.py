"""Backup and restore: the demo workspace goes through pg_dump and pg_restore into a new
database, and every table of the restored copy matches the original row for row."""

from __future__ import annotations

import time
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from psycopg import sql

from pmhub.core.management.postgres_tools import connect, libpq_invocation

TABLES = "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
ROWS = sql.SQL("SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {} t")


def _fingerprint(dbname: str) -> dict[str, tuple[int, str | None]]:
    """Every public table's row count and the md5 of its rows in a fixed order."""
    with connect("default", dbname=dbname) as conn:
        # Rows render as text; timestamps must render alike in both sessions.
        conn.execute("SET TIME ZONE 'UTC'")
        result = {}
        for (table,) in conn.execute(TABLES).fetchall():
            count, digest = conn.execute(ROWS.format(sql.Identifier(table))).fetchone()
            result[table] = (count, digest)
        sequences = conn.execute(
            "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'"
        ).fetchall()
        # Restored sequences must continue after the restored ids, or the next insert collides.
        result.update({f"sequence {name}": (value or 0, None) for name, value in sequences})
    return result


@pytest.fixture
def empty_database() -> Iterator[str]:
    name = f"{connection.settings_dict['NAME']}_restore"
    with connect("default", dbname="postgres") as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield name
    with connect("default", dbname="postgres") as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.django_db(transaction=True)
def test_the_demo_workspace_survives_a_backup_and_restore(
    empty_database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("pmhub_demo", stdout=StringIO())
    archive = tmp_path / "pmhub.dump"

    started = time.monotonic()
    call_command("backup", str(archive))
    backup_seconds = time.monotonic() - started
    started = time.monotonic()
    call_command("restore", str(archive), dbname=empty_database)
    restore_seconds = time.monotonic() - started

    source = _fingerprint(connection.settings_dict["NAME"])
    restored = _fingerprint(empty_database)
    differences = {
        table: (source.get(table), restored.get(table))
        for table in source.keys() | restored.keys()
        if source.get(table) != restored.get(table)
    }
    assert differences == {}
    filled = [name for name, (rows, digest) in source.items() if digest and rows]
    assert len(filled) >= 30, "the demo should fill most tables, or the comparison proves little"
    assert not list(tmp_path.glob(".*.partial"))

    with pytest.raises(CommandError, match="is not empty"):
        call_command("restore", str(archive), dbname=empty_database)
    assert _fingerprint(empty_database) == restored

    tables = {name: rows for name, (rows, _) in source.items() if not name.startswith("sequence")}
    with capsys.disabled():
        print(
            f"\nbackup/restore of the demo: {len(tables)} tables, {sum(tables.values())} rows, "
            f"{archive.stat().st_size / 1024:.0f} KiB archive, backup {backup_seconds:.2f} s, "
            f"restore {restore_seconds:.2f} s"
        )


@pytest.mark.django_db
def test_a_missing_backup_file_is_a_clear_error(empty_database: str, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"backup file .*nothing\.dump does not exist"):
        call_command("restore", str(tmp_path / "nothing.dump"), dbname=empty_database)


@pytest.mark.django_db
def test_a_file_that_is_not_a_backup_leaves_the_target_untouched(
    empty_database: str, tmp_path: Path
) -> None:
    bogus = tmp_path / "notes.dump"
    bogus.write_text("not a pg_dump archive\n")
    with pytest.raises(CommandError, match="cannot read .* as a backup"):
        call_command("restore", str(bogus), dbname=empty_database)
    assert _fingerprint(empty_database) == {}


@pytest.mark.django_db
def test_restoring_over_the_live_database_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "any.dump"
    archive.write_bytes(b"PGDMP")
    with pytest.raises(CommandError, match=r"is not empty \(\d+ tables and sequences"):
        call_command("restore", str(archive))


@pytest.mark.django_db
def test_the_password_travels_in_the_environment_not_the_command_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(connection.settings_dict, "PASSWORD", "s3cret-pw")
    conninfo, env = libpq_invocation("default", dbname="pmhub")
    assert "s3cret-pw" not in conninfo
    assert "dbname=pmhub" in conninfo
    assert env["PGPASSWORD"] == "s3cret-pw"
