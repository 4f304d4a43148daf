"""Write a workspace's export (JSON of every tenant-owned row) to a file, or to stdout with `-`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from pmhub.workspaces.export import workspace_export
from pmhub.workspaces.models import Workspace


class Command(BaseCommand):
    help = "Export every row of a workspace as one JSON document (secrets left out)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The workspace's address, e.g. acme.")
        parser.add_argument("file", help="Where to write the JSON; - for standard output.")

    def handle(self, *args: Any, slug: str, file: str, **options: Any) -> None:
        workspace = Workspace.objects.filter(slug=slug).first()
        if workspace is None:
            raise CommandError(f"No workspace has the address {slug!r}.")
        if file == "-":
            for chunk in workspace_export(workspace):
                self.stdout.write(chunk, ending="")
            return
        path = Path(file)
        # Written aside, then renamed: a failed run leaves no truncated export that looks whole.
        partial = path.with_name(path.name + ".partial")
        with partial.open("w", encoding="utf-8") as out:
            for chunk in workspace_export(workspace):
                out.write(chunk)
        partial.replace(path)
        self.stderr.write(f"Exported {workspace.slug} to {path} ({path.stat().st_size} bytes).")
