"""Stakeholders from a CSV file: checked whole first, then imported whole or not at all.

`import_check` reads the file and resolves every row against the workspace (areas, roadmaps,
companies by name, items by id, existing stakeholders by email) in a fixed number of
statements, and reports each bad row with its line number. `import_apply` writes a checked file
in one transaction with bulk statements: a file with any bad row imports nothing, so a fixed
file can simply be uploaded again.

Columns: email (required), name, team, cadence, send_hour, timezone, follows, owns.
`follows` lists what the stakeholder follows, separated by ";": "area:Payments",
"roadmap:Product roadmap", "item:123", "company:Acme" (a name or a domain), or "workspace" for
everything. `owns` lists the companies they own as account owner (followed with `owns`).
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Lower

from discovery.imports import decode_upload
from pmhub.digests.models import Cadence, Follow, Stakeholder
from pmhub.digests.schedule import zone
from pmhub.workspaces.models import Membership, Workspace

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5_000
COLUMNS = ("email", "name", "team", "cadence", "send_hour", "timezone", "follows", "owns")
EXISTING_CHOICES = ("update", "skip")
SEPARATOR = re.compile(r"[;\n]")
HOUR = re.compile(r"^(\d{1,2})(?::00)?$")
_CADENCES = {value: value for value in Cadence.values} | {
    label.lower(): value for value, label in Cadence.choices
}


class ImportFileError(ValidationError):
    """The file as a whole cannot be read (not CSV, not UTF-8, too big, unknown columns)."""


@dataclass
class ImportRow:
    line: int
    email: str
    values: dict[str, Any] = field(default_factory=dict)  # the stakeholder's fields to set
    follows: list[tuple[str, int, str]] = field(default_factory=list)  # (kind, id, label)
    owns: list[tuple[int, str]] = field(default_factory=list)  # (company id, label)
    existing_id: int | None = None
    action: str = "create"  # create, update or skip
    errors: list[str] = field(default_factory=list)


@dataclass
class ImportCheck:
    rows: list[ImportRow]
    existing: str

    @property
    def bad_rows(self) -> list[ImportRow]:
        return [row for row in self.rows if row.errors]

    @property
    def is_valid(self) -> bool:
        return bool(self.rows) and not self.bad_rows

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action and not row.errors)

    @property
    def counts(self) -> dict[str, int]:
        """Rows to create, update and skip (templates cannot pass count() an argument)."""
        return {action: self.count(action) for action in ("create", "update", "skip")}


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    skipped: int
    follows: int


def _refuse(message: str) -> ImportFileError:
    return ImportFileError({"file": message})


def _read_csv(data: bytes) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The header and the (line, cells) of each non-blank row, or ImportFileError."""
    if len(data) > MAX_BYTES:
        raise _refuse(f"The file is {len(data) / 1_048_576:.1f} MB; the limit is 2 MB.")
    try:
        text, _encoding = decode_upload(data, allow_cp1252=False)
    except ValidationError as exc:
        raise ImportFileError(exc.message_dict) from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if not header or not any(cell.strip() for cell in header):
            raise _refuse("The file has no header row: its first line names the columns.")
        columns = [cell.strip().lower().replace(" ", "_") for cell in header]
        unknown = [name for name in columns if name not in COLUMNS]
        if unknown:
            raise _refuse(
                f"Unknown column{'s' if len(unknown) > 1 else ''}: "
                f"{', '.join(repr(name[:40]) for name in unknown[:5])}. "
                f"The columns are: {', '.join(COLUMNS)}."
            )
        if len(set(columns)) != len(columns):
            raise _refuse("A column appears twice in the header; name each column once.")
        if "email" not in columns:
            raise _refuse("The file has no email column; it is the one column required.")
        rows = []
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) >= MAX_ROWS:
                raise _refuse(f"The file has more than {MAX_ROWS:,} rows; split it.")
            if len(cells) > len(columns):
                rows.append(
                    (reader.line_num, {"__extra__": "1", **dict(zip(columns, cells, strict=False))})
                )
                continue
            rows.append(
                (
                    reader.line_num,
                    {name: cell.strip() for name, cell in zip(columns, cells, strict=False)},
                )
            )
    except csv.Error as exc:
        raise _refuse(f"This is not a readable CSV file (line {reader.line_num}): {exc}.") from None
    if not rows:
        raise _refuse("The file has a header row but no stakeholders.")
    return columns, rows


def _parts(cell: str) -> list[str]:
    return [part.strip() for part in SEPARATOR.split(cell or "") if part.strip()]


class _Lookups:
    """The workspace's areas, roadmaps, companies and items a file names, read once."""

    def __init__(self, workspace: Workspace, rows: list[tuple[int, dict[str, str]]]) -> None:
        from backlog.models import Item, ProductArea
        from discovery.models import Company
        from roadmap.models import Roadmap

        wanted: dict[str, set[str]] = defaultdict(set)
        for _line, cells in rows:
            for part in _parts(cells.get("follows", "")):
                kind, _, value = part.partition(":")
                wanted[kind.strip().lower()].add(value.strip().lower())
            for part in _parts(cells.get("owns", "")):
                wanted["company"].add(part.lower())
        self.areas = self._by_name(
            ProductArea.objects.for_workspace(workspace), "name", wanted["area"]
        )
        self.roadmaps = self._by_name(
            Roadmap.objects.for_workspace(workspace), "name", wanted["roadmap"]
        )
        companies = Company.objects.for_workspace(workspace).annotate(lower_name=Lower("name"))
        self.companies: dict[str, list[tuple[int, str]]] = defaultdict(list)
        if wanted["company"]:
            for company in companies.filter(
                Q(lower_name__in=wanted["company"]) | Q(domain__in=wanted["company"])
            ).only("id", "name", "domain"):
                self.companies[company.name.lower()].append((company.id, company.name))
                if company.domain and company.domain.lower() != company.name.lower():
                    self.companies[company.domain.lower()].append((company.id, company.name))
        item_ids = {int(v.lstrip("#")) for v in wanted["item"] if v.lstrip("#").isdigit()}
        self.items = dict(
            Item.objects.for_workspace(workspace)
            .filter(id__in=[i for i in item_ids if i < 2**31])
            .values_list("id", "title")
        )

    @staticmethod
    def _by_name(queryset: Any, name_field: str, names: set[str]) -> dict[str, tuple[int, str]]:
        if not names:
            return {}
        found = queryset.annotate(lower_name=Lower(name_field)).filter(lower_name__in=names)
        return {row.lower_name: (row.id, getattr(row, name_field)) for row in found}

    def follow(self, part: str) -> tuple[str, int, str] | str:
        """(kind, id, label) for one "kind:value" of the follows column, or an error."""
        kind, _, value = part.partition(":")
        kind, value = kind.strip().lower(), value.strip()
        key = value.lower()
        if kind == "area" and key in self.areas:
            return ("area", *self.areas[key])
        if kind == "roadmap" and key in self.roadmaps:
            return ("roadmap", *self.roadmaps[key])
        if kind == "item" and key.lstrip("#").isdigit() and int(key.lstrip("#")) in self.items:
            item_id = int(key.lstrip("#"))
            return ("item", item_id, self.items[item_id])
        if kind == "company":
            company = self.company(value)
            return company if isinstance(company, str) else ("company", *company)
        if kind not in ("area", "roadmap", "item", "company"):
            return (
                f"“{part[:60]}” in follows: write area:, roadmap:, item:, company: before the "
                "name, or “workspace” for everything."
            )
        return f"No {kind} “{value[:60]}” in this workspace."

    def company(self, value: str) -> tuple[int, str] | str:
        found = self.companies.get(value.lower(), [])
        if not found:
            return f"No company “{value[:60]}” in this workspace."
        if len({company_id for company_id, _ in found}) > 1:
            return f"Several companies are named “{value[:60]}”; use its domain instead."
        return found[0]


def _row(line: int, cells: dict[str, str], columns: list[str], lookups: _Lookups) -> ImportRow:
    row = ImportRow(line=line, email=cells.get("email", "")[:254])
    if "__extra__" in cells:
        row.errors.append("This row has more cells than the header has columns.")
        return row
    try:
        validate_email(row.email)
    except ValidationError:
        row.errors.append(
            f"“{row.email[:80]}” is not an email address." if row.email else "No email."
        )
    for name, limit in (("name", 120), ("team", 80)):
        if name in columns and cells.get(name):
            value = " ".join(cells[name].split())
            if len(value) > limit:
                row.errors.append(f"The {name} is {len(value):,} characters; the limit is {limit}.")
            row.values[name] = value[:limit]
    if cells.get("cadence"):
        cadence = _CADENCES.get(cells["cadence"].lower())
        if cadence is None:
            row.errors.append(
                f"Cadence “{cells['cadence'][:30]}”: use one of {', '.join(Cadence.values)}."
            )
        row.values["cadence"] = cadence or ""
    if cells.get("send_hour"):
        match = HOUR.match(cells["send_hour"])
        if match is None or int(match[1]) > 23:
            row.errors.append(f"Send hour “{cells['send_hour'][:20]}”: use 0 to 23 (or 08:00).")
        else:
            row.values["send_hour"] = int(match[1])
    if cells.get("timezone"):
        try:
            zone(cells["timezone"])
            row.values["timezone"] = cells["timezone"]
        except ValueError as exc:
            row.errors.append(str(exc)[:200])
    for part in _parts(cells.get("follows", "")):
        if part.lower() in ("workspace", "all", "everything"):
            row.values["follows_workspace"] = True
            continue
        found = lookups.follow(part)
        if isinstance(found, str):
            row.errors.append(found)
        elif found not in row.follows:
            row.follows.append(found)
    for part in _parts(cells.get("owns", "")):
        company = lookups.company(part)
        if isinstance(company, str):
            row.errors.append(f"In owns: {company}")
        elif company not in row.owns:
            row.owns.append(company)
    return row


def import_check(*, workspace: Workspace, data: bytes, existing: str = "update") -> ImportCheck:
    """Every row of the file checked and resolved; ImportFileError when the file as a whole
    cannot be read. Nothing is written."""
    if existing not in EXISTING_CHOICES:
        raise ValidationError({"existing": "Choose update or skip."})
    columns, cells = _read_csv(data)
    lookups = _Lookups(workspace, cells)
    rows = [_row(line, values, columns, lookups) for line, values in cells]
    first_line: dict[str, int] = {}
    for row in rows:
        key = row.email.lower()
        if key in first_line:
            row.errors.append(
                f"{row.email} is also on line {first_line[key]}; keep one row per person."
            )
        elif row.email:
            first_line[key] = row.line
    known = dict(
        Stakeholder.objects.for_workspace(workspace)
        .annotate(lower_email=Lower("email"))
        .filter(lower_email__in=list(first_line))
        .values_list("lower_email", "id")
    )
    for row in rows:
        row.existing_id = known.get(row.email.lower())
        if row.existing_id is not None:
            row.action = existing
    return ImportCheck(rows=rows, existing=existing)


@transaction.atomic
def import_apply(*, workspace: Workspace, check: ImportCheck) -> ImportResult:
    """Write a valid check in one transaction (bulk statements): new stakeholders created,
    existing ones updated (the file's non-blank cells) or skipped, follows added (never
    removed). Raises ValidationError, writing nothing, if the check has bad rows or another
    request added one of its emails meanwhile."""
    if not check.is_valid:
        raise ValidationError("The file has rows with errors; fix them and upload it again.")
    emails = [row.email.lower() for row in check.rows if row.action == "create"]
    members = dict(
        Membership.objects.for_workspace(workspace)
        .annotate(lower_email=Lower("user__email"))
        .filter(lower_email__in=emails)
        .values_list("lower_email", "user_id")
    )
    new = [
        Stakeholder(
            workspace=workspace, email=row.email, user_id=members.get(row.email.lower()),
            **row.values,
        )
        for row in check.rows
        if row.action == "create"
    ]  # fmt: skip
    try:
        with transaction.atomic():
            Stakeholder.objects.bulk_create(new)
    except IntegrityError:
        raise ValidationError(
            "Someone added one of these stakeholders while you were importing; upload the file "
            "again to see them."
        ) from None
    updates = [row for row in check.rows if row.action == "update"]
    if updates:
        locked = {
            s.id: s
            for s in Stakeholder.objects.for_workspace(workspace)
            .select_for_update()
            .filter(id__in=[row.existing_id for row in updates])
            .order_by("id")
        }
        changed_fields = {"version", "updated_at"}
        for row in updates:
            stakeholder = locked.get(row.existing_id)  # type: ignore[arg-type]
            if stakeholder is None:
                raise ValidationError(
                    f"{row.email} was deleted while you were importing; upload the file again."
                )
            for name, value in row.values.items():
                setattr(stakeholder, name, value)
                changed_fields.add(name)
            stakeholder.version += 1
        Stakeholder.objects.bulk_update(list(locked.values()), sorted(changed_fields))
    ids = {row.email.lower(): row.existing_id for row in updates}
    ids.update({s.email.lower(): s.id for s in new})
    follows, owned = [], []
    for row in check.rows:
        if row.action == "skip":
            continue
        stakeholder_id = ids[row.email.lower()]
        for kind, object_id, _label in row.follows:
            follows.append(
                Follow(
                    workspace=workspace, stakeholder_id=stakeholder_id, **{f"{kind}_id": object_id}
                )
            )
        for company_id, _label in row.owns:
            follows.append(
                Follow(
                    workspace=workspace,
                    stakeholder_id=stakeholder_id,
                    company_id=company_id,
                    owns=True,
                )
            )
            if row.action == "update":  # a new stakeholder has no earlier follow to mark
                owned.append(Q(stakeholder_id=stakeholder_id, company_id=company_id))
    # Followed already: kept (the partial unique constraints make these rows no-ops) ...
    Follow.objects.bulk_create(follows, ignore_conflicts=True)
    if owned:  # ... except that a company now owned is marked so.
        condition = Q()
        for pair in owned:
            condition |= pair
        Follow.objects.for_workspace(workspace).filter(condition).exclude(owns=True).update(
            owns=True
        )
    return ImportResult(
        created=len(new),
        updated=len(updates),
        skipped=check.count("skip"),
        follows=len(follows),
    )
