"""`manage.py backup FILE`: the whole database as a pg_dump custom-format archive."""

from __future__ import annotations

import os
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
    tool_for_server,
    user_relations,
)


class Command(BaseCommand):
    help = (
        "Write the database to FILE with pg_dump (custom format, no owners or grants), "
        "ready for `manage.py restore FILE` into an empty database."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="where to write the archive (replaced if it exists)")
        parser.add_argument("--database", default="default", help="the DATABASES alias")

    def handle(self, *args: Any, **options: Any) -> None:
        alias = options["database"]
        dbname = database_settings(alias)["NAME"]
        target = Path(options["file"]).expanduser().resolve()
        if not target.parent.is_dir():
            raise CommandError(f"folder {target.parent} does not exist")
        with connect(alias, dbname=dbname) as conn:
            server_major = server_major_version(conn)
            tables, _ = user_relations(conn)
        pg_dump, dump_major = tool_for_server("pg_dump", server_major=server_major)
        # A dump that dies halfway must not leave a file that looks like a good backup.
        partial = target.with_name(f".{target.name}.partial")
        conninfo, env = libpq_invocation(alias, dbname=dbname)
        started = time.monotonic()
        try:
            run_tool(
                [
                    str(pg_dump),
                    "--format=custom",
                    "--no-owner",
                    "--no-acl",
                    f"--file={partial}",
                    f"--dbname={conninfo}",
                ],
                env=env,
                what="pg_dump",
            )
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        elapsed = time.monotonic() - started
        size = target.stat().st_size
        self.stdout.write(
            f"backup of {dbname!r} written to {target}: {size / 1_048_576:.1f} MiB, "
            f"{tables} tables and sequences, {elapsed:.2f} s "
            f"(pg_dump {dump_major}, server {server_major})"
        )
