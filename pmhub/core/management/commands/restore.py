"""`manage.py restore FILE`: a `backup` archive into an empty database, never over data."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from pmhub.core.management.postgres_tools import (
    connect,
    database_settings,
    libpq_invocation,
    run_tool,
    server_major_version,
    tool_candidates,
    tool_major_version,
    user_relations,
)

DUMPED_FROM = re.compile(r"Dumped from database version:\s*(\d+)")


def _pg_restore_that_reads(archive: Path, *, server_major: int) -> tuple[Path, int, str]:
    """A pg_restore new enough for the server that can read the archive, and its table of contents.

    An archive written by a newer pg_dump cannot be read by an older pg_restore, so each candidate
    proves itself by listing the file before anything touches the target database.
    """
    problems = []
    for binary in tool_candidates("pg_restore"):
        major = tool_major_version(binary)
        if major is None or major < server_major:
            problems.append(f"{binary} is version {major}, older than the server's {server_major}")
            continue
        listing = subprocess.run(  # noqa: S603 - a binary we located; no connection involved.
            [str(binary), "--list", str(archive)], capture_output=True, text=True, check=False
        )
        if listing.returncode == 0:
            return binary, major, listing.stdout
        problems.append(f"{binary} ({major}): {listing.stderr.strip()}")
    if not problems:
        raise CommandError(
            f"pg_restore not found: install the PostgreSQL client tools of version "
            f"{server_major} or newer so that pg_restore is on PATH."
        )
    raise CommandError(f"cannot read {archive} as a backup: {'; '.join(problems)}")


class Command(BaseCommand):
    help = (
        "Restore an archive written by `manage.py backup` into an empty database (create it "
        "first, do not migrate it). Refuses a database that already holds tables."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="an archive written by `manage.py backup`")
        parser.add_argument("--database", default="default", help="the DATABASES alias")
        parser.add_argument(
            "--dbname",
            help="restore into this database on the same server and login instead of the "
            "alias's own database",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        alias = options["database"]
        dbname = options["dbname"] or database_settings(alias)["NAME"]
        archive = Path(options["file"]).expanduser().resolve()
        if not archive.is_file():
            raise CommandError(f"backup file {archive} does not exist")
        with connect(alias, dbname=dbname) as conn:
            server_major = server_major_version(conn)
            count, names = user_relations(conn)
        if count:
            raise CommandError(
                f"database {dbname!r} is not empty ({count} tables and sequences, e.g. "
                f"{', '.join(names)}); restore only into a new, empty database "
                f"(createdb NAME, without running migrate)."
            )
        pg_restore, restore_major, listing = _pg_restore_that_reads(
            archive, server_major=server_major
        )
        dumped_from = DUMPED_FROM.search(listing)
        if dumped_from and int(dumped_from.group(1)) > server_major:
            raise CommandError(
                f"{archive} comes from PostgreSQL {dumped_from.group(1)}; restore it into a "
                f"server of that version or newer, not {server_major}."
            )
        conninfo, env = libpq_invocation(alias, dbname=dbname)
        started = time.monotonic()
        run_tool(
            [
                str(pg_restore),
                "--no-owner",
                "--no-acl",
                "--exit-on-error",
                # All or nothing: a failed restore leaves the target as empty as it was.
                "--single-transaction",
                f"--dbname={conninfo}",
                str(archive),
            ],
            env=env,
            what="pg_restore",
        )
        elapsed = time.monotonic() - started
        with connect(alias, dbname=dbname) as conn:
            count, _ = user_relations(conn)
        self.stdout.write(
            f"restored {archive} into {dbname!r}: {count} tables and sequences, {elapsed:.2f} s "
            f"(pg_restore {restore_major}, server {server_major})"
        )
