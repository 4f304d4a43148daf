"""Importing files into discovery: CSV with a column mapping, Zendesk and Intercom JSON exports.

Three steps, each a function here:
1. `import_job_create` checks that the upload is what its kind claims (text, UTF-8 or, for CSV,
   Windows-1252; not binary; JSON that parses into the export's shape; CSV with a header row),
   stores it as UTF-8 under the workspace's own folder and records the job. A refused file
   writes nothing.
2. `import_preview` and `import_job_start`: the CSV mapping step. The preview runs the very row
   parser the import uses, so what the page shows is what the worker will do.
3. `import_run` (in the worker): streams the file in chunks, validating each row, upserting
   companies and customers (match on domain / email) and feedback through
   `services.feedback_bulk_upsert` (idempotent on (workspace, source, external id)), and commits
   each chunk together with the job's progress.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import hashlib
import html
import io
import itertools
import json
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nh3
import orjson
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import DatabaseError, connection, transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.db.models.functions import Lower
from django.utils import timezone

from discovery import services
from discovery.models import FEEDBACK_MAX_CHARS, Company, Customer, Feedback, ImportJob
from pmhub.core.exceptions import ApplicationError
from pmhub.workspaces.audit import audit_record
from pmhub.workspaces.models import Workspace

if TYPE_CHECKING:
    from pmhub.accounts.models import User

Kind = ImportJob.Kind
Status = ImportJob.Status

# Rows per transaction. Big enough that per-chunk overhead (a handful of queries, one progress
# write) is small next to the rows themselves; small enough that a chunk's locks are held for
# well under a second, memory stays flat whatever the file size, progress moves visibly, a crash
# loses at most one chunk of work, and it matches the API's 1,000-item bulk limit.
CHUNK_ROWS = 1_000
# Bad rows kept on the job for the page; all of them are counted in `error_count`.
MAX_STORED_ERRORS = 1_000
PREVIEW_ROWS = 10
# Room left in a request for the multipart envelope and the form's other fields.
_MULTIPART_OVERHEAD = 16 * 1024
# A CSV cell may be longer than csv's default 128 KiB only up to this; longer text is still
# refused per row by the feedback length check, not by the parser for the whole file.
_CSV_FIELD_LIMIT = 8 * 1024 * 1024

CSV_KINDS = frozenset({Kind.FEEDBACK_CSV, Kind.CUSTOMERS_CSV, Kind.COMPANIES_CSV})
JSON_KINDS = frozenset({Kind.ZENDESK_JSON, Kind.INTERCOM_JSON})


class RowError(Exception):
    """One row cannot be imported; the message is the reason shown next to its line number."""


class ImportFileError(Exception):
    """The stored file cannot be read any more (gone, or changed since upload)."""


def upload_max_bytes() -> int:
    """The largest file the upload page accepts: the upload limit minus the form's envelope."""
    return settings.PMHUB_MAX_UPLOAD_BYTES - _MULTIPART_OVERHEAD


def upload_root(workspace_id: int) -> Path:
    """The folder of one workspace's uploads; every stored path includes the workspace id."""
    return Path(settings.PMHUB_UPLOAD_ROOT) / str(workspace_id)


# --- fields of each kind ---------------------------------------------------------------------
@dataclass(frozen=True)
class ImportField:
    name: str
    label: str
    required: bool = False
    # Normalized header names that map to this field when the mapping is guessed.
    aliases: tuple[str, ...] = ()


FIELDS: dict[str, tuple[ImportField, ...]] = {
    Kind.FEEDBACK_CSV: (
        ImportField(
            "text",
            "Text",
            required=True,
            aliases=(
                "text", "feedback", "comment", "comments", "body", "message", "description",
                "content", "verbatim", "response", "review", "note", "notes",
            ),
        ),
        ImportField("source", "Source", aliases=("source", "channel", "origin")),
        ImportField(
            "external_id",
            "External id",
            aliases=("external_id", "id", "ticket_id", "ticket", "reference", "ref", "uid"),
        ),
        ImportField(
            "external_url", "External URL", aliases=("external_url", "url", "link", "ticket_url")
        ),
        ImportField(
            "customer_email",
            "Customer email",
            aliases=("customer_email", "email", "requester_email", "user_email", "e_mail"),
        ),
        ImportField(
            "customer_name",
            "Customer name",
            aliases=("customer_name", "name", "customer", "requester", "user", "full_name"),
        ),
        ImportField(
            "company_name",
            "Company name",
            aliases=("company_name", "company", "organization", "organisation", "account"),
        ),
        ImportField(
            "company_domain", "Company domain", aliases=("company_domain", "domain", "website")
        ),
        ImportField(
            "received_at",
            "Received at",
            aliases=(
                "received_at", "date", "created_at", "created", "timestamp", "submitted_at",
                "received", "time",
            ),
        ),
    ),
    Kind.CUSTOMERS_CSV: (
        ImportField(
            "email", "Email", required=True, aliases=("email", "customer_email", "e_mail")
        ),
        ImportField("name", "Name", aliases=("name", "full_name", "customer_name", "customer")),
        ImportField(
            "company_name",
            "Company name",
            aliases=("company_name", "company", "organization", "organisation", "account"),
        ),
        ImportField(
            "company_domain", "Company domain", aliases=("company_domain", "domain", "website")
        ),
    ),
    Kind.COMPANIES_CSV: (
        ImportField(
            "name",
            "Name",
            required=True,
            aliases=("name", "company_name", "company", "organization", "account", "account_name"),
        ),
        ImportField("domain", "Domain", aliases=("domain", "company_domain", "website", "url")),
        ImportField("arr", "ARR", aliases=("arr", "annual_recurring_revenue", "revenue")),
        ImportField("plan", "Plan", aliases=("plan", "tier", "subscription", "pricing_plan")),
        ImportField("segment", "Segment", aliases=("segment", "customer_segment", "size")),
    ),
}  # fmt: skip


def import_fields(kind: str) -> tuple[ImportField, ...]:
    return FIELDS.get(kind, ())


def _normalize_header(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def import_mapping_guess(*, kind: str, columns: list[str]) -> dict[str, str]:
    """Guess which column feeds which field from the header names: {field: column}."""
    normalized = {_normalize_header(c): c for c in reversed(columns)}
    guess: dict[str, str] = {}
    taken: set[str] = set()
    for spec in import_fields(kind):
        for alias in spec.aliases:
            column = normalized.get(alias)
            if column is not None and column not in taken:
                guess[spec.name] = column
                taken.add(column)
                break
    return guess


# --- reading values --------------------------------------------------------------------------
_SOURCE_ALIASES = {
    "support": Feedback.Source.SUPPORT,
    "ticket": Feedback.Source.SUPPORT,
    "helpdesk": Feedback.Source.SUPPORT,
    "zendesk": Feedback.Source.SUPPORT,
    "intercom": Feedback.Source.SUPPORT,
    "chat": Feedback.Source.SUPPORT,
    "sales": Feedback.Source.SALES,
    "crm": Feedback.Source.SALES,
    "survey": Feedback.Source.SURVEY,
    "nps": Feedback.Source.SURVEY,
    "app_review": Feedback.Source.APP_REVIEW,
    "appreview": Feedback.Source.APP_REVIEW,
    "review": Feedback.Source.APP_REVIEW,
    "app_store": Feedback.Source.APP_REVIEW,
    "email": Feedback.Source.EMAIL,
    "e_mail": Feedback.Source.EMAIL,
    "mail": Feedback.Source.EMAIL,
    "interview": Feedback.Source.INTERVIEW,
    "call": Feedback.Source.INTERVIEW,
    "manual": Feedback.Source.MANUAL,
}


def parse_source(raw: str, *, default: str) -> str:
    value = _normalize_header(raw or "")
    if not value:
        return default
    source = _SOURCE_ALIASES.get(value)
    if source is None:
        raise RowError(
            f"unknown source {raw.strip()[:40]!r}; use one of {', '.join(Feedback.Source.values)}"
        )
    return str(source)


def parse_received_at(raw: Any) -> datetime | None:
    """An aware datetime from ISO 8601 (date or date and time) or Unix seconds; None if blank."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        raise RowError(f"unreadable date {raw!r}")
    if isinstance(raw, int | float) or (isinstance(raw, str) and raw.strip().isdigit()):
        seconds = float(raw)
        if seconds > 100_000_000_000:  # Milliseconds, as JavaScript writes them.
            seconds /= 1000
        try:
            value = datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise RowError(f"unreadable date {raw!r}") from exc
    else:
        text = str(raw).strip()
        try:
            value = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
        except ValueError as exc:
            raise RowError(
                f"unreadable date {text[:40]!r}; use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS"
            ) from exc
        if timezone.is_naive(value):
            value = value.replace(tzinfo=UTC)
    if value.year < 1970 or value > timezone.now() + timedelta(days=1):
        raise RowError(f"date {str(raw)[:40]!r} is out of range (1970 until today)")
    return value


def _email(raw: str, *, required: bool = False) -> str:
    value = (raw or "").strip().lower()
    if not value:
        if required:
            raise RowError("email is empty")
        return ""
    try:
        validate_email(value)
    except ValidationError as exc:
        raise RowError(f"{raw.strip()[:60]!r} is not an email address") from exc
    return value


def _domain(raw: str) -> str:
    """A bare domain from what people paste: 'https://www.acme.com/about' -> 'www.acme.com'."""
    value = (raw or "").strip().lower()
    value = re.sub(r"^[a-z]+://", "", value).split("/", 1)[0].split("?", 1)[0]
    if value and not re.fullmatch(r"[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?", value):
        raise RowError(f"{raw.strip()[:60]!r} is not a domain")
    return value


def _limited(raw: str, *, label: str, limit: int) -> str:
    value = (raw or "").replace("\x00", "").strip()
    if len(value) > limit:
        raise RowError(f"{label} is too long: {len(value):,} characters; the limit is {limit:,}")
    return value


def _arr(raw: str) -> Decimal | None:
    value = re.sub(r"[\s$€£,_]", "", raw or "")
    if not value:
        return None
    try:
        amount = Decimal(value).quantize(Decimal("0.01"))
    except InvalidOperation as exc:
        raise RowError(f"ARR {raw.strip()[:40]!r} is not a number") from exc
    if amount < 0 or amount >= Decimal("1e12"):
        raise RowError(f"ARR {raw.strip()[:40]!r} is out of range")
    return amount


_url_validator = URLValidator(schemes=["http", "https"])


def _url(raw: str) -> str:
    value = (raw or "").strip()
    if not value:
        return ""
    if len(value) > 500:
        raise RowError("external URL is longer than 500 characters")
    try:
        _url_validator(value)
    except ValidationError as exc:
        raise RowError(f"{value[:60]!r} is not an http(s) URL") from exc
    return value


_PARAGRAPH_END = re.compile(r"<\s*/(p|div|h[1-6]|blockquote|ul|ol|table)\s*>", re.IGNORECASE)
_LINE_END = re.compile(r"<\s*(br\s*/?|/li|/tr)\s*>", re.IGNORECASE)


def html_to_text(markup: Any) -> str:
    """Plain text of an HTML fragment: block ends become line breaks, every tag goes."""
    if not markup:
        return ""
    spaced = _LINE_END.sub("\n", _PARAGRAPH_END.sub("\n\n", str(markup)))
    # nh3 with no allowed tags drops every tag and the contents of <script> and <style>; what is
    # left is escaped text, which is unescaped once to get the words back.
    text = html.unescape(nh3.clean(spaced, tags=set()))
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


# --- rows ------------------------------------------------------------------------------------
@dataclass
class FeedbackRow:
    text: str
    source: str
    external_id: str
    external_url: str
    customer_email: str
    customer_name: str
    company_name: str
    company_domain: str
    received_at: datetime | None


@dataclass
class CompanyRow:
    name: str
    domain: str
    arr: Decimal | None = None
    plan: str = ""
    segment: str = ""
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass
class CustomerRow:
    email: str
    name: str
    company_name: str
    company_domain: str


def _derived_external_id(text: str, email: str, received_at: datetime | None) -> str:
    # Rows without an id get one from their content, so that the same file imported twice
    # changes nothing. Give the file an id column to let a re-import update edited rows.
    digest = hashlib.sha256(
        "\x1f".join([text, email, received_at.isoformat() if received_at else ""]).encode()
    ).hexdigest()
    return f"row:{digest[:40]}"


def parse_feedback(values: dict[str, Any], *, default_source: str) -> FeedbackRow:
    """One feedback row as it will be imported, or RowError with the reason."""
    text = str(values.get("text") or "").replace("\x00", "").strip()
    if not text:
        raise RowError("text is empty")
    if len(text) > FEEDBACK_MAX_CHARS:
        raise RowError(
            f"text is too long: {len(text):,} characters; the limit is {FEEDBACK_MAX_CHARS:,}"
        )
    email = _email(str(values.get("customer_email") or ""))
    received_at = parse_received_at(values.get("received_at"))
    external_id = _limited(str(values.get("external_id") or ""), label="external id", limit=200)
    return FeedbackRow(
        text=text,
        source=parse_source(str(values.get("source") or ""), default=default_source),
        external_id=external_id or _derived_external_id(text, email, received_at),
        external_url=_url(str(values.get("external_url") or "")),
        customer_email=email,
        customer_name=_limited(
            str(values.get("customer_name") or ""), label="customer name", limit=200
        ),
        company_name=_limited(
            str(values.get("company_name") or ""), label="company name", limit=200
        ),
        company_domain=_domain(str(values.get("company_domain") or "")),
        received_at=received_at,
    )


def parse_customer(values: dict[str, Any]) -> CustomerRow:
    return CustomerRow(
        email=_email(str(values.get("email") or ""), required=True),
        name=_limited(str(values.get("name") or ""), label="name", limit=200),
        company_name=_limited(
            str(values.get("company_name") or ""), label="company name", limit=200
        ),
        company_domain=_domain(str(values.get("company_domain") or "")),
    )


def parse_company(values: dict[str, Any], attributes: dict[str, str]) -> CompanyRow:
    name = _limited(str(values.get("name") or ""), label="name", limit=200)
    if not name:
        raise RowError("name is empty")
    return CompanyRow(
        name=name,
        domain=_domain(str(values.get("domain") or "")),
        arr=_arr(str(values.get("arr") or "")),
        plan=_limited(str(values.get("plan") or ""), label="plan", limit=80),
        segment=_limited(str(values.get("segment") or ""), label="segment", limit=80),
        attributes={k: v.strip() for k, v in attributes.items() if v and v.strip()},
    )


# --- upload: check and store -----------------------------------------------------------------
def _refuse(message: str) -> ValidationError:
    return ValidationError({"file": message})


def decode_upload(data: bytes, *, allow_cp1252: bool) -> tuple[str, str]:
    """The file's text and the encoding it was read with; ValidationError if it is not text."""
    if not data.strip():
        raise _refuse("The file is empty.")
    if data.startswith(b"PK\x03\x04"):
        raise _refuse(
            "This is a ZIP archive or an Excel workbook, not a text file. Export the sheet as "
            "CSV (UTF-8) and upload that."
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _refuse("This file is UTF-16 text. Save it as UTF-8 and upload it again.")
    if b"\x00" in data:
        raise _refuse("This is a binary file, not text: it contains NUL bytes.")
    try:
        text, encoding = data.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError as exc:
        if not allow_cp1252:
            raise _refuse(
                f"This file is not UTF-8 text (byte {exc.start:,} cannot be read). "
                "Save it as UTF-8 and upload it again."
            ) from exc
        try:
            # Excel on Windows saves "CSV" as Windows-1252; it is the one fallback tried.
            text, encoding = data.decode("cp1252"), "Windows-1252"
        except UnicodeDecodeError as second:
            raise _refuse(
                f"This file is neither UTF-8 nor Windows-1252 text (byte {second.start:,} "
                "cannot be read). Save it as CSV UTF-8 and upload it again."
            ) from second
    controls = sum(1 for ch in text[:65536] if ch < " " and ch not in "\t\n\r\f")
    if controls > max(8, len(text[:65536]) // 100):
        raise _refuse("This looks like a binary file, not text: it is full of control bytes.")
    return text, encoding


def _delimiter_of(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _header_of(cells: list[str]) -> list[str]:
    """Column names from the header row; blank ones get a placeholder, duplicates are refused."""
    names = [cell.strip() or f"Column {i + 1}" for i, cell in enumerate(cells)]
    seen: set[str] = set()
    for name in names:
        if name.lower() in seen:
            raise _refuse(f"Two columns are named {name!r}; give every column its own name.")
        seen.add(name.lower())
    return names


def _raise_csv_field_limit() -> None:
    if csv.field_size_limit() < _CSV_FIELD_LIMIT:
        csv.field_size_limit(_CSV_FIELD_LIMIT)


def _inspect_csv(text: str) -> tuple[str, list[str], int]:
    """(delimiter, columns, data rows) of a CSV text, or ValidationError."""
    _raise_csv_field_limit()
    delimiter = _delimiter_of(text.split("\n", 1)[0])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        first = next(reader, None)
        if first is None or not any(cell.strip() for cell in first):
            raise _refuse("The file has no header row: its first line should name the columns.")
        if any("@" in cell and "." in cell.split("@")[-1] for cell in first) or any(
            len(cell) > 100 for cell in first
        ):
            raise _refuse(
                "The first row looks like data, not a header. Add a first line that names the "
                "columns (for example: text,email,date)."
            )
        columns = _header_of(first)
        total = sum(1 for row in reader if any(cell.strip() for cell in row))
    except csv.Error as exc:
        raise _refuse(f"This is not a readable CSV file (line {reader.line_num}): {exc}.") from exc
    if total == 0:
        raise _refuse("The file has a header row but no rows to import.")
    return delimiter, columns, total


def _json_list(kind: str, document: Any) -> list[Any]:
    key, what = (
        ("tickets", "Zendesk tickets")
        if kind == Kind.ZENDESK_JSON
        else (
            "conversations",
            "Intercom conversations",
        )
    )
    if not isinstance(document, dict) or not isinstance(document.get(key), list):
        other = "conversations" if key == "tickets" else "tickets"
        hint = ""
        if isinstance(document, dict) and isinstance(document.get(other), list):
            hint = f" It looks like an export of {other}: choose that kind instead."
        raise _refuse(
            f"This JSON is not a {what} export: expected an object with a {key!r} list.{hint}"
        )
    return document[key]


def _inspect_json(kind: str, text: str) -> int:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _refuse(
            f"This is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
        ) from exc
    items = _json_list(kind, document)
    if not items:
        raise _refuse("The export holds no items to import.")
    return len(items)


def _safe_filename(name: str) -> str:
    return (Path(name or "upload").name or "upload")[:255]


@transaction.atomic
def import_job_create(
    *, workspace: Workspace, actor: User | None, kind: str, filename: str, data: bytes
) -> ImportJob:
    """Check the upload, store it as UTF-8 under the workspace's folder and record the job.

    A file that is not what `kind` claims raises ValidationError({"file": ...}) and writes
    nothing. JSON exports have a fixed shape and are queued at once; a CSV waits for its mapping.
    """
    if kind not in Kind.values:
        raise ValidationError({"kind": "Choose what the file holds."})
    if len(data) > upload_max_bytes():
        raise _refuse(
            f"The file is {len(data):,} bytes; files up to {upload_max_bytes():,} bytes can be "
            "imported."
        )
    text, encoding = decode_upload(data, allow_cp1252=kind in CSV_KINDS)
    mapping: dict[str, Any] = {"encoding": encoding}
    if kind in CSV_KINDS:
        delimiter, columns, total = _inspect_csv(text)
        mapping.update(delimiter=delimiter, columns=columns)
    else:
        total = _inspect_json(kind, text)
    folder = upload_root(workspace.id)
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".csv" if kind in CSV_KINDS else ".json"
    relative = f"{workspace.id}/{uuid.uuid4().hex}{suffix}"
    target = folder / Path(relative).name
    target.write_text(text, encoding="utf-8", newline="")
    try:
        job = ImportJob.objects.create(
            workspace=workspace,
            kind=kind,
            filename=_safe_filename(filename),
            path=relative,
            mapping=mapping,
            total_rows=total,
            created_by=actor,
        )
    except Exception:
        target.unlink(missing_ok=True)
        raise
    if kind in JSON_KINDS:
        _queue(workspace=workspace, actor=actor, job=job)
    return job


def _queue(*, workspace: Workspace, actor: User | None, job: ImportJob) -> None:
    from discovery.tasks import import_run_task  # Here: tasks.py imports this module.

    job.mapping = {**job.mapping, "queued_at": timezone.now().isoformat()}
    job.save(update_fields=["mapping", "updated_at"])
    audit_record(
        workspace=workspace,
        actor=actor,
        action="import.started",
        target=job,
        changes={"kind": job.kind, "file": job.filename, "rows": job.total_rows},
    )
    import_run_task.delay_on_commit(workspace_id=workspace.id, job_id=job.id)


def _stored_path(job: ImportJob) -> Path:
    folder = upload_root(job.workspace_id)
    path = folder / Path(job.path or "missing").name
    if not job.path or not path.is_file():
        raise ImportFileError("The uploaded file is no longer on the server; upload it again.")
    return path


# --- mapping step ----------------------------------------------------------------------------
def import_is_queued(job: ImportJob) -> bool:
    return bool((job.mapping or {}).get("queued_at")) or job.status != Status.PENDING


def import_columns(job: ImportJob) -> list[str]:
    return list((job.mapping or {}).get("columns") or [])


def _check_mapping(job: ImportJob, fields: dict[str, str], default_source: str) -> dict[str, str]:
    columns = import_columns(job)
    chosen = {name: column for name, column in fields.items() if column}
    errors: dict[str, str] = {}
    for spec in import_fields(job.kind):
        column = chosen.get(spec.name)
        if column is not None and column not in columns:
            errors[spec.name] = f"The file has no column {column!r}."
        elif column is None and spec.required:
            errors[spec.name] = f"Choose the column that holds the {spec.label.lower()}."
    used: dict[str, str] = {}
    for name, column in chosen.items():
        if column in used:
            errors[name] = f"Column {column!r} already feeds {used[column]}."
        used[column] = name
    unknown = set(chosen) - {spec.name for spec in import_fields(job.kind)}
    if unknown:
        errors["__all__"] = f"Unknown fields: {', '.join(sorted(unknown))}."
    if job.kind == Kind.FEEDBACK_CSV and default_source not in Feedback.Source.values:
        errors["default_source"] = "Choose a source."
    if errors:
        raise ValidationError(errors)
    return chosen


def _csv_records(job: ImportJob, path: Path) -> Iterator[tuple[int, list[str]]]:
    """(first line number, cells) of every non-blank data row, streamed from the file."""
    _raise_csv_field_limit()
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter=(job.mapping or {}).get("delimiter", ","))
        next(reader, None)
        line = reader.line_num + 1
        for cells in reader:
            if any(cell.strip() for cell in cells):
                yield line, cells
            line = reader.line_num + 1


@dataclass
class SourceRow:
    line: int
    values: dict[str, Any]
    attributes: dict[str, str] = field(default_factory=dict)
    error: str = ""


def _csv_rows(job: ImportJob, mapping: dict[str, Any]) -> Iterator[SourceRow]:
    columns = import_columns(job)
    index = {column: i for i, column in enumerate(columns)}
    fields = {name: index[column] for name, column in mapping.get("fields", {}).items()}
    extra = {column: index[column] for column in mapping.get("attributes", [])}
    width = len(columns)
    for line, cells in _csv_records(job, _stored_path(job)):
        if len(cells) > width and any(cell.strip() for cell in cells[width:]):
            yield SourceRow(
                line,
                {},
                error=f"the row has {len(cells)} cells but the header names {width} columns",
            )
            continue
        padded = cells + [""] * (width - len(cells))
        yield SourceRow(
            line,
            {name: padded[i] for name, i in fields.items()},
            {column: padded[i] for column, i in extra.items()},
        )


def _zendesk_agent_url(api_url: str) -> str:
    match = re.fullmatch(r"(https://[^/]+)/api/v2/tickets/(\d+)\.json", api_url or "")
    return f"{match[1]}/agent/tickets/{match[2]}" if match else ""


def _zendesk_values(
    ticket: Any, users: dict[Any, dict[str, Any]], organizations: dict[Any, dict[str, Any]]
) -> dict[str, Any]:
    if not isinstance(ticket, dict):
        raise RowError("not a ticket object")
    if ticket.get("id") in (None, ""):
        raise RowError("the ticket has no id")
    subject = str(ticket.get("subject") or "").strip()
    description = str(ticket.get("description") or "").strip()
    text = description
    if subject and subject not in description:
        text = f"{subject}\n\n{description}".strip()
    requester = ticket.get("requester")
    if not isinstance(requester, dict):
        requester = users.get(ticket.get("requester_id")) or {}
    organization = organizations.get(
        ticket.get("organization_id") or requester.get("organization_id")
    )
    domains = (organization or {}).get("domain_names") or []
    return {
        "text": text,
        "source": Feedback.Source.SUPPORT,
        # Prefixed so that a Zendesk ticket and an Intercom conversation with the same number
        # (both "support") stay two items.
        "external_id": f"zendesk:{ticket['id']}",
        "external_url": _zendesk_agent_url(str(ticket.get("url") or "")),
        "customer_email": requester.get("email") or "",
        "customer_name": requester.get("name") or "",
        "company_name": (organization or {}).get("name") or "",
        "company_domain": domains[0] if domains and isinstance(domains[0], str) else "",
        "received_at": ticket.get("created_at"),
    }


_INTERCOM_PEOPLE = {"user", "lead", "contact"}


def _intercom_values(conversation: Any) -> dict[str, Any]:
    if not isinstance(conversation, dict):
        raise RowError("not a conversation object")
    if conversation.get("id") in (None, ""):
        raise RowError("the conversation has no id")
    source = conversation.get("source") or {}
    author = source.get("author") or {}
    texts = [html_to_text(source.get("subject")), html_to_text(source.get("body"))]
    parts = conversation.get("conversation_parts") or {}
    if isinstance(parts, dict):
        parts = parts.get("conversation_parts") or []
    # The customer's words only: replies by teammates and bots are not feedback.
    texts.extend(
        html_to_text(part.get("body"))
        for part in parts
        if isinstance(part, dict)
        and part.get("part_type", "comment") == "comment"
        and (part.get("author") or {}).get("type") in _INTERCOM_PEOPLE
    )
    is_person = author.get("type", "user") in _INTERCOM_PEOPLE
    return {
        "text": "\n\n".join(t for t in texts if t),
        "source": Feedback.Source.SUPPORT,
        "external_id": f"intercom:{conversation['id']}",
        "external_url": "",
        "customer_email": (author.get("email") or "") if is_person else "",
        "customer_name": (author.get("name") or "") if is_person else "",
        "company_name": "",
        "company_domain": "",
        "received_at": conversation.get("created_at"),
    }


def _json_rows(job: ImportJob) -> Iterator[SourceRow]:
    # A JSON document is parsed whole; the upload limit bounds it (5 MiB by default). The
    # items are then handled in chunks like CSV rows.
    try:
        document = orjson.loads(_stored_path(job).read_bytes())
    except orjson.JSONDecodeError as exc:
        raise ImportFileError(f"The stored file is no longer valid JSON: {exc}") from exc
    try:
        items = _json_list(job.kind, document)
    except ValidationError as exc:
        raise ImportFileError(exc.messages[0]) from exc
    if job.kind == Kind.ZENDESK_JSON:
        users = {u.get("id"): u for u in document.get("users") or [] if isinstance(u, dict)}
        organizations = {
            o.get("id"): o for o in document.get("organizations") or [] if isinstance(o, dict)
        }
        convert: Callable[[Any], dict[str, Any]] = functools.partial(
            _zendesk_values, users=users, organizations=organizations
        )
    else:
        convert = _intercom_values
    for position, item in enumerate(items, start=1):
        try:
            yield SourceRow(position, convert(item))
        except RowError as exc:
            yield SourceRow(position, {}, error=str(exc))


def _source_rows(job: ImportJob) -> Iterator[SourceRow]:
    if job.kind in CSV_KINDS:
        return _csv_rows(job, job.mapping or {})
    return _json_rows(job)


@dataclass
class PreviewRow:
    line: int
    cells: list[str]
    error: str = ""


def _display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return str(value)


def import_preview(
    *, job: ImportJob, fields: dict[str, str], default_source: str = Feedback.Source.MANUAL
) -> tuple[list[str], list[PreviewRow]]:
    """The first rows as the import would store them: (headings, rows with their errors).

    Reads only the file, never the database; an unmapped required field shows on every row.
    """
    names = [spec.name for spec in import_fields(job.kind)]
    headings = [spec.label for spec in import_fields(job.kind)]
    chosen = {k: v for k, v in fields.items() if v in import_columns(job) and k in names}
    mapping = {"fields": chosen, "attributes": _attribute_columns(job, chosen)}
    if job.kind == Kind.COMPANIES_CSV:
        headings.append("Custom attributes")
    rows: list[PreviewRow] = []
    for source in itertools.islice(_csv_rows(job, mapping), PREVIEW_ROWS):
        if source.error:
            rows.append(PreviewRow(source.line, [""] * len(headings), source.error))
            continue
        try:
            parsed = _parse_row(job.kind, source, default_source)
        except RowError as exc:
            cells = [str(source.values.get(name, "")) for name in names]
            if job.kind == Kind.COMPANIES_CSV:
                cells.append("")
            rows.append(PreviewRow(source.line, cells, str(exc)))
            continue
        cells = [_display(getattr(parsed, name, "")) for name in names]
        if isinstance(parsed, FeedbackRow) and "external_id" not in chosen:
            cells[names.index("external_id")] = "(from the row's content)"
        if isinstance(parsed, CompanyRow):
            cells.append(", ".join(f"{k}: {v}" for k, v in parsed.attributes.items()))
        rows.append(PreviewRow(source.line, cells))
    return headings, rows


def _attribute_columns(job: ImportJob, chosen: dict[str, str]) -> list[str]:
    if job.kind != Kind.COMPANIES_CSV:
        return []
    used = set(chosen.values())
    return [column for column in import_columns(job) if column not in used]


def import_attribute_columns(*, job: ImportJob, fields: dict[str, str]) -> list[str]:
    """Columns that become custom attributes of companies with this mapping."""
    return _attribute_columns(job, {k: v for k, v in fields.items() if v})


@transaction.atomic
def import_job_start(
    *,
    workspace: Workspace,
    actor: User | None,
    job: ImportJob,
    fields: dict[str, str],
    default_source: str = Feedback.Source.MANUAL,
) -> ImportJob:
    """Save a CSV job's column mapping and queue the import once (a second start is refused)."""
    job = ImportJob.objects.for_workspace(workspace).select_for_update().get(id=job.id)
    if import_is_queued(job):
        raise ApplicationError("This import has already started.")
    if job.kind not in CSV_KINDS:
        raise ApplicationError("Only CSV files need a column mapping.")
    chosen = _check_mapping(job, fields, default_source)
    _stored_path(job)  # Refuse at once, not in the worker, if the file is gone.
    job.mapping = {
        **job.mapping,
        "fields": chosen,
        "attributes": _attribute_columns(job, chosen),
        "default_source": default_source,
    }
    job.save(update_fields=["mapping", "updated_at"])
    _queue(workspace=workspace, actor=actor, job=job)
    return job


def import_job_list(*, workspace: Workspace) -> QuerySet[ImportJob]:
    """The workspace's imports, newest first, with who started them."""
    return (
        ImportJob.objects.for_workspace(workspace)
        .select_related("created_by")
        .order_by("-created_at", "-id")
    )


# --- the import ------------------------------------------------------------------------------
def _parse_row(
    kind: str, row: SourceRow, default_source: str
) -> FeedbackRow | CustomerRow | CompanyRow:
    if kind == Kind.CUSTOMERS_CSV:
        return parse_customer(row.values)
    if kind == Kind.COMPANIES_CSV:
        return parse_company(row.values, row.attributes)
    return parse_feedback(row.values, default_source=default_source)


@dataclass
class Tally:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)


CompanyKey = tuple[str, str]


def _company_key(name: str, domain: str) -> CompanyKey | None:
    if domain:
        return ("domain", domain)
    if name:
        return ("name", name.lower())
    return None


def _companies_upsert(
    workspace: Workspace, rows: list[CompanyRow], *, tally: Tally | None = None
) -> dict[CompanyKey, int]:
    """Batch `company_upsert`: match on domain, else on name among companies without one.

    Fields a row leaves blank keep their stored value; a later row of the same company wins.
    Returns the company id of every key.
    """
    merged: dict[CompanyKey, CompanyRow] = {}
    for row in rows:
        key = _company_key(row.name, row.domain)
        if key is None:
            continue
        current = merged.get(key)
        if current is None:
            merged[key] = CompanyRow(row.name, row.domain, attributes=dict(row.attributes))
            current = merged[key]
        current.name = row.name or current.name
        current.arr = row.arr if row.arr is not None else current.arr
        current.plan = row.plan or current.plan
        current.segment = row.segment or current.segment
        current.attributes.update(row.attributes)
    if not merged:
        return {}
    companies = Company.objects.for_workspace(workspace)
    domains = [key[1] for key in merged if key[0] == "domain"]
    by_domain = {
        c.domain_lower: c
        for c in companies.annotate(domain_lower=Lower("domain")).filter(domain_lower__in=domains)
    }
    names = {row.name.lower() for key, row in merged.items() if row.name}
    by_name: dict[str, Company] = {}
    for company in (
        companies.filter(domain="")
        .annotate(name_lower=Lower("name"))
        .filter(name_lower__in=names)
        .order_by("id")
    ):
        by_name.setdefault(company.name_lower, company)
    result: dict[CompanyKey, Company] = {}
    created: list[Company] = []
    changed: dict[int, Company] = {}
    now = timezone.now()
    for key, row in merged.items():
        company = by_domain.get(row.domain) if row.domain else None
        if company is None and row.name:
            company = by_name.get(row.name.lower())
        if company is None:
            company = Company(
                workspace=workspace,
                name=row.name or row.domain,
                domain=row.domain,
                arr=row.arr,
                plan=row.plan,
                segment=row.segment,
                attributes=row.attributes,
            )
            created.append(company)
            if row.domain:
                by_domain[row.domain] = company
        else:
            new_values = {
                "name": row.name or company.name,
                "domain": row.domain or company.domain,
                "arr": row.arr if row.arr is not None else company.arr,
                "plan": row.plan or company.plan,
                "segment": row.segment or company.segment,
                "attributes": {**(company.attributes or {}), **row.attributes},
            }
            if all(getattr(company, k) == v for k, v in new_values.items()):
                if tally and company.id not in changed:
                    tally.unchanged += 1
            else:
                for k, v in new_values.items():
                    setattr(company, k, v)
                company.updated_at = now
                changed[company.id] = company
        result[key] = company
    Company.objects.bulk_create(created, batch_size=CHUNK_ROWS)
    Company.objects.bulk_update(
        list(changed.values()),
        ["name", "domain", "arr", "plan", "segment", "attributes", "updated_at"],
        batch_size=CHUNK_ROWS,
    )
    if tally is not None:
        tally.created += len(created)
        tally.updated += len(changed)
    return {key: company.id for key, company in result.items()}


CustomerKey = tuple[str, str]


def _customers_upsert(
    workspace: Workspace,
    rows: list[tuple[str, str, int | None]],
    *,
    tally: Tally | None = None,
) -> dict[CustomerKey, int]:
    """Batch `customer_upsert` for (email, name, company id): match on email.

    Customers without an email are matched on their name among customers without one, so a
    re-import does not duplicate them either. A blank name or company keeps the stored one.
    """
    merged: dict[CustomerKey, tuple[str, str, int | None]] = {}
    for email, name, company_id in rows:
        key: CustomerKey = ("email", email) if email else ("name", name.lower())
        if not key[1]:
            continue
        previous = merged.get(key)
        merged[key] = (
            email,
            name or (previous[1] if previous else ""),
            company_id or (previous[2] if previous else None),
        )
    if not merged:
        return {}
    customers = Customer.objects.for_workspace(workspace)
    emails = [key[1] for key in merged if key[0] == "email"]
    names = [key[1] for key in merged if key[0] == "name"]
    existing: dict[CustomerKey, Customer] = {
        ("email", c.email_lower): c
        for c in customers.annotate(email_lower=Lower("email")).filter(email_lower__in=emails)
    }
    if names:
        for customer in (
            customers.filter(email="")
            .annotate(name_lower=Lower("name"))
            .filter(name_lower__in=names)
            .order_by("id")
        ):
            existing.setdefault(("name", customer.name_lower), customer)
    created: list[Customer] = []
    changed: list[Customer] = []
    moved: list[int] = []
    now = timezone.now()
    result: dict[CustomerKey, Customer] = {}
    for key, (email, name, company_id) in merged.items():
        customer = existing.get(key)
        if customer is None:
            customer = Customer(workspace=workspace, email=email, name=name, company_id=company_id)
            created.append(customer)
        else:
            new_name = name or customer.name
            new_company = company_id or customer.company_id
            if (new_name, new_company) == (customer.name, customer.company_id):
                if tally:
                    tally.unchanged += 1
            else:
                if new_company != customer.company_id:
                    moved.append(customer.id)
                customer.name, customer.company_id, customer.updated_at = new_name, new_company, now
                changed.append(customer)
        result[key] = customer
    Customer.objects.bulk_create(created, batch_size=CHUNK_ROWS)
    Customer.objects.bulk_update(changed, ["name", "company", "updated_at"], batch_size=CHUNK_ROWS)
    if moved:
        # Feedback carries its customer's company for filters without joins (as customer_upsert).
        Feedback.objects.for_workspace(workspace).filter(customer_id__in=moved).update(
            company_id=Subquery(
                Customer.objects.for_workspace(workspace)
                .filter(id=OuterRef("customer_id"))
                .values("company_id")[:1]
            )
        )
    if tally is not None:
        tally.created += len(created)
        tally.updated += len(changed)
    return {key: customer.id for key, customer in result.items()}


def _people_of(
    workspace: Workspace, people: list[tuple[str, str, str, str]]
) -> dict[CustomerKey, int]:
    """Upsert the companies, then the customers of (email, name, company name, domain) rows."""
    company_ids = _companies_upsert(
        workspace, [CompanyRow(name, domain) for _e, _n, name, domain in people if name or domain]
    )
    return _customers_upsert(
        workspace,
        [
            (email, name, _company_id(company_ids, company_name, domain))
            for email, name, company_name, domain in people
        ],
    )


def _company_id(ids: dict[CompanyKey, int], name: str, domain: str) -> int | None:
    key = _company_key(name, domain)
    return ids.get(key) if key else None


def _feedback_chunk(
    workspace: Workspace, actor: User | None, good: list[tuple[int, FeedbackRow]], tally: Tally
) -> None:
    # A later row with the same id wins, as it would if it came in a later chunk or file.
    latest: dict[tuple[str, str], tuple[int, FeedbackRow]] = {}
    for line, row in good:
        latest[(row.source, row.external_id)] = (line, row)
    tally.unchanged += len(good) - len(latest)
    rows = list(latest.values())
    customer_ids = _people_of(
        workspace,
        [
            (r.customer_email, r.customer_name, r.company_name, r.company_domain)
            for _line, r in rows
            if r.customer_email or r.customer_name
        ],
    )
    # A row without a date keeps the stored item's date; a new item is dated now. Without this,
    # importing such a file twice would "update" every date.
    undated = [(r.source, r.external_id) for _line, r in rows if r.received_at is None]
    stored_dates: dict[tuple[str, str], datetime] = {}
    if undated:
        stored_dates = {
            (f.source, f.external_id): f.received_at
            for f in Feedback.objects.for_workspace(workspace)
            .filter(external_id__in=[e for _s, e in undated])
            .only("source", "external_id", "received_at")
        }
    now = timezone.now()
    items = []
    for _line, r in rows:
        key = (r.customer_email and ("email", r.customer_email)) or (
            r.customer_name and ("name", r.customer_name.lower())
        )
        items.append(
            services.FeedbackInput(
                text=r.text,
                source=r.source,
                external_id=r.external_id,
                external_url=r.external_url,
                customer_id=customer_ids.get(key) if key else None,
                received_at=r.received_at or stored_dates.get((r.source, r.external_id), now),
            )
        )
    result = services.feedback_bulk_upsert(workspace=workspace, actor=actor, items=items)
    tally.created += result.created
    tally.updated += result.updated
    tally.unchanged += result.unchanged


def _import_chunk(
    workspace: Workspace, actor: User | None, job: ImportJob, chunk: Iterable[SourceRow]
) -> tuple[int, Tally]:
    tally = Tally()
    good: list[tuple[int, Any]] = []
    count = 0
    default_source = (job.mapping or {}).get("default_source", Feedback.Source.MANUAL)
    for row in chunk:
        count += 1
        if row.error:
            tally.errors.append({"line": row.line, "reason": row.error})
            continue
        try:
            good.append((row.line, _parse_row(job.kind, row, default_source)))
        except RowError as exc:
            tally.errors.append({"line": row.line, "reason": str(exc)})
    if not good:
        return count, tally
    if job.kind == Kind.FEEDBACK_CSV or job.kind in JSON_KINDS:
        _feedback_chunk(workspace, actor, good, tally)
    elif job.kind == Kind.COMPANIES_CSV:
        _companies_upsert(workspace, [row for _line, row in good], tally=tally)
        # Rows merged into an earlier row of the same company change nothing more.
        tally.unchanged += len(good) - (tally.created + tally.updated + tally.unchanged)
    else:
        customers: list[CustomerRow] = [row for _line, row in good]
        company_ids = _companies_upsert(
            workspace,
            [
                CompanyRow(c.company_name, c.company_domain)
                for c in customers
                if c.company_name or c.company_domain
            ],
        )
        _customers_upsert(
            workspace,
            [
                (c.email, c.name, _company_id(company_ids, c.company_name, c.company_domain))
                for c in customers
            ],
            tally=tally,
        )
        tally.unchanged += len(good) - (tally.created + tally.updated + tally.unchanged)
    return count, tally


def _progress_save(workspace: Workspace, job_id: int, count: int, tally: Tally) -> ImportJob:
    job = ImportJob.objects.for_workspace(workspace).select_for_update().get(id=job_id)
    room = max(0, MAX_STORED_ERRORS - len(job.errors))
    job.errors = [*job.errors, *tally.errors[:room]]
    job.error_count += len(tally.errors)
    job.processed_rows += count
    job.created_count += tally.created
    job.updated_count += tally.updated
    job.unchanged_count += tally.unchanged
    job.save(
        update_fields=[
            "errors",
            "error_count",
            "processed_rows",
            "created_count",
            "updated_count",
            "unchanged_count",
            "updated_at",
        ]
    )
    return job


@contextlib.contextmanager
def _run_lock(workspace_id: int, job_id: int) -> Iterator[bool]:
    """A session advisory lock naming the job: one worker at a time runs it."""
    key = f"pmhub:import:{workspace_id}:{job_id}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", [key])
        acquired = bool(cursor.fetchone()[0])
    try:
        yield acquired
    finally:
        # A broken connection has dropped the lock already; do not hide the original error.
        if acquired:
            with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [key])


def _people_lock(workspace_id: int) -> None:
    # Two imports in one workspace would both create a company or customer they do not find;
    # the chunk's people writes are serialized per workspace, until the chunk commits.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
            [f"pmhub:import-people:{workspace_id}"],
        )


def _finish(workspace: Workspace, job_id: int, status: str, message: str) -> ImportJob:
    with transaction.atomic():
        job = ImportJob.objects.for_workspace(workspace).select_for_update().get(id=job_id)
        if job.status in (Status.DONE, Status.FAILED):
            return job
        job.status = status
        job.message = message[:500]
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "message", "finished_at", "updated_at"])
    # The file is not needed once the job is over; people's data should not linger on disk.
    (upload_root(workspace.id) / Path(job.path or "missing").name).unlink(missing_ok=True)
    return job


def _summary(job: ImportJob) -> str:
    parts = [
        f"{job.created_count:,} created",
        f"{job.updated_count:,} updated",
        f"{job.unchanged_count:,} unchanged",
    ]
    if job.error_count:
        parts.append(f"{job.error_count:,} rows skipped")
    return "Imported: " + ", ".join(parts) + "."


def import_run(*, workspace: Workspace, job_id: int) -> ImportJob:
    """Import a queued job's file, committing each chunk of rows with the job's progress.

    Idempotent: a status guard under the row lock (PENDING -> RUNNING; DONE and FAILED are left
    alone) plus an advisory lock, so one worker runs a job at a time. A RUNNING job whose worker
    died is resumed after its `processed_rows`; every write is an upsert, so rows met twice
    change nothing.
    """
    with _run_lock(workspace.id, job_id) as acquired:
        with transaction.atomic():
            job = ImportJob.objects.for_workspace(workspace).select_for_update().get(id=job_id)
            if not acquired or not import_is_queued(job):
                return job  # Another worker has it, or a CSV still waits for its mapping.
            if job.status in (Status.DONE, Status.FAILED):
                return job
            if job.status == Status.PENDING:
                job.status = Status.RUNNING
                job.save(update_fields=["status", "updated_at"])
        actor = job.created_by
        try:
            rows = itertools.islice(_source_rows(job), job.processed_rows, None)
            while chunk := list(itertools.islice(rows, CHUNK_ROWS)):
                with transaction.atomic():
                    _people_lock(workspace.id)
                    count, tally = _import_chunk(workspace, actor, job, chunk)
                    job = _progress_save(workspace, job_id, count, tally)
        except ImportFileError as exc:
            return _finish(workspace, job_id, Status.FAILED, str(exc))
        return _finish(workspace, job_id, Status.DONE, _summary(job))


def import_job_fail(*, workspace: Workspace, job_id: int, message: str) -> ImportJob:
    """Mark a job that cannot go on as FAILED (finished chunks stay); a done job stays done."""
    return _finish(workspace, job_id, Status.FAILED, message)
