"""Objectives and key results: their writes (services) and reads (selectors).

A key result's `current` is always its newest measurement: every write of a value (by hand, by
CSV, through the API) recomputes it under the key result's row lock, so a back-dated value joins
the history without overwriting a newer current. A CSV of dated values is validated whole before
anything is written, and imported by upsert on (key result, time), so importing it twice writes
nothing the second time.
"""

from __future__ import annotations

import csv
import datetime
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, F, Max, OuterRef, Prefetch, QuerySet, Subquery, Window
from django.db.models.functions import Coalesce, RowNumber
from django.utils import timezone

from backlog.models import Item, ItemEvidence
from pmhub.core.exceptions import ApplicationError
from pmhub.workspaces.audit import audit_record
from pmhub.workspaces.models import Membership, Workspace
from roadmap.models import (
    DESCRIPTION_MAX_CHARS,
    KeyResult,
    KeyResultItem,
    KeyResultValue,
    Objective,
)
from roadmap.services import GoneError, StaleRoadmapError

if TYPE_CHECKING:
    from pmhub.accounts.models import User

TITLE_MAX_CHARS = 200
PERIOD_MAX_CHARS = 40
METRIC_MAX_CHARS = 200
UNIT_MAX_CHARS = 20
NOTE_MAX_CHARS = 200
MAX_KEY_RESULTS = 12  # per objective: more than a handful stops being a focus
# A daily metric over 27 years; anything larger is not a hand-kept KPI export.
CSV_MAX_ROWS = 10_000
CSV_MAX_BYTES = 1_000_000
CSV_ERRORS_SHOWN = 20
# How far ahead a measurement may be dated: clocks and time zones differ, the future does not.
FUTURE_SLACK = datetime.timedelta(days=1)
OBJECTIVE_FIELDS = ("title", "description", "owner_id", "period", "start_date", "end_date")
KEY_RESULT_FIELDS = ("metric", "unit", "baseline", "target", "position")


class ValuesImportError(ApplicationError):
    """A CSV of values with problems; `extra["errors"]` lists them by row. Nothing was written."""


@dataclass(frozen=True)
class ImportResult:
    added: int
    updated: int
    unchanged: int

    @property
    def summary(self) -> str:
        parts = [f"{self.added} added", f"{self.updated} updated", f"{self.unchanged} unchanged"]
        return ", ".join(parts)


# --- cleaning ------------------------------------------------------------------------------------
def _clean_text(field: str, value: str | None, limit: int, *, required: bool = False) -> str:
    value = " ".join((value or "").split())
    if required and not value:
        raise ValidationError({field: "This cannot be empty."})
    if len(value) > limit:
        raise ValidationError({field: f"At most {limit} characters; this has {len(value)}."})
    return value


def _clean_description(description: str | None) -> str:
    description = description or ""
    if len(description) > DESCRIPTION_MAX_CHARS:
        raise ValidationError(
            {"description": f"At most {DESCRIPTION_MAX_CHARS:,} characters; this has "
             f"{len(description):,}."}
        )  # fmt: skip
    return description


def _clean_number(field: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise ValidationError({field: "Enter a number."}) from exc
    if not math.isfinite(number):
        raise ValidationError({field: "Enter a finite number."})
    return number


def _clean_owner(workspace: Workspace, owner_id: int | None) -> int | None:
    if owner_id is None:
        return None
    if not Membership.objects.for_workspace(workspace).filter(user_id=owner_id).exists():
        raise ValidationError({"owner_id": "The owner must be a member of this workspace."})
    return owner_id


def _check_dates(start: datetime.date | None, end: datetime.date | None) -> None:
    if start and end and end < start:
        raise ValidationError(
            {"end_date": f"The end ({end:%-d %b %Y}) is before the start ({start:%-d %b %Y})."}
        )


def _check_target(baseline: float, target: float) -> None:
    if baseline == target:
        raise ValidationError(
            {"target": "The target must differ from the baseline, or there is nothing to move."}
        )


def _next_position(queryset: QuerySet[Any]) -> int:
    top = queryset.aggregate(top=Max("position"))["top"]
    return 0 if top is None else top + 1


def _save_changes(
    workspace: Workspace, actor: User | None, row: Any, changes: dict[str, Any], action: str
) -> Any:
    """Save the fields that really change (none: no write) and audit them, long text left out."""
    diff = {k: [getattr(row, k), v] for k, v in changes.items() if getattr(row, k) != v}
    if not diff:
        return row
    for name, (_, value) in diff.items():
        setattr(row, name, value)
    row.save(update_fields=[*diff, "updated_at"])
    audit_record(
        workspace=workspace,
        actor=actor,
        action=action,
        target=row,
        changes={k: [str(a), str(b)] for k, (a, b) in diff.items() if k != "description"},
    )
    return row


# --- objectives ----------------------------------------------------------------------------------
def _locked_objective(workspace: Workspace, objective_id: int) -> Objective:
    objective = (
        Objective.objects.for_workspace(workspace).select_for_update().filter(id=objective_id)
    ).first()
    if objective is None:
        raise GoneError("This objective no longer exists.")
    return objective


@transaction.atomic
def objective_create(
    *,
    workspace: Workspace,
    actor: User | None,
    title: str,
    description: str = "",
    owner_id: int | None = None,
    period: str = "",
    start_date: datetime.date | None = None,
    end_date: datetime.date | None = None,
    position: int | None = None,
) -> Objective:
    """A new objective, last in the workspace's order unless `position` says otherwise."""
    _check_dates(start_date, end_date)
    objective = Objective.objects.create(
        workspace=workspace,
        title=_clean_text("title", title, TITLE_MAX_CHARS, required=True),
        description=_clean_description(description),
        owner_id=_clean_owner(workspace, owner_id),
        period=_clean_text("period", period, PERIOD_MAX_CHARS),
        start_date=start_date,
        end_date=end_date,
        position=(
            position
            if position is not None
            else _next_position(Objective.objects.for_workspace(workspace))
        ),
    )
    audit_record(workspace=workspace, actor=actor, action="objective.created", target=objective)
    return objective


@transaction.atomic
def objective_update(
    *,
    workspace: Workspace,
    actor: User | None,
    objective: Objective,
    unchanged_since: datetime.datetime | None = None,
    **changes: Any,
) -> Objective:
    """Change an objective's title, description, owner, period, dates or position. With
    `unchanged_since` (the `updated_at` the editor read), a change made meanwhile by someone
    else is refused with StaleRoadmapError rather than silently overwritten."""
    unknown = set(changes) - {*OBJECTIVE_FIELDS, "position"}
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "This field cannot be changed here."))
    objective = _locked_objective(workspace, objective.id)
    if unchanged_since is not None and objective.updated_at != unchanged_since:
        raise StaleRoadmapError(
            "Someone changed this objective after you opened it. Your text is kept below; "
            "save again to replace theirs.",
            extra={"updated_at": objective.updated_at.isoformat()},
        )
    if "title" in changes:
        changes["title"] = _clean_text("title", changes["title"], TITLE_MAX_CHARS, required=True)
    if "description" in changes:
        changes["description"] = _clean_description(changes["description"])
    if "period" in changes:
        changes["period"] = _clean_text("period", changes["period"], PERIOD_MAX_CHARS)
    if "owner_id" in changes:
        changes["owner_id"] = _clean_owner(workspace, changes["owner_id"])
    if "position" in changes and (changes["position"] is None or changes["position"] < 0):
        raise ValidationError({"position": "A position is 0 or more."})
    _check_dates(
        changes.get("start_date", objective.start_date), changes.get("end_date", objective.end_date)
    )
    return _save_changes(workspace, actor, objective, changes, "objective.updated")


@transaction.atomic
def objective_archive(
    *, workspace: Workspace, actor: User | None, objective: Objective, archived: bool = True
) -> Objective:
    """Archive an objective (hidden from lists, kept with its history), or bring it back."""
    objective = _locked_objective(workspace, objective.id)
    if objective.is_archived == archived:
        return objective
    objective.is_archived = archived
    objective.save(update_fields=["is_archived", "updated_at"])
    action = "objective.archived" if archived else "objective.restored"
    audit_record(workspace=workspace, actor=actor, action=action, target=objective)
    return objective


@transaction.atomic
def objective_delete(*, workspace: Workspace, actor: User | None, objective: Objective) -> None:
    """Delete an objective with its key results, their history and item links."""
    objective = _locked_objective(workspace, objective.id)
    audit_record(
        workspace=workspace,
        actor=actor,
        action="objective.deleted",
        target=objective,
        changes={"title": objective.title},
    )
    objective.delete()


# --- key results ---------------------------------------------------------------------------------
def _locked_key_result(workspace: Workspace, key_result_id: int) -> KeyResult:
    key_result = (
        KeyResult.objects.for_workspace(workspace).select_for_update().filter(id=key_result_id)
    ).first()
    if key_result is None:
        raise GoneError("This key result no longer exists.")
    return key_result


@transaction.atomic
def key_result_create(
    *,
    workspace: Workspace,
    actor: User | None,
    objective: Objective,
    metric: str,
    target: Any,
    baseline: Any = 0,
    unit: str = "",
    position: int | None = None,
) -> KeyResult:
    """A key result of `objective`: a metric to move from `baseline` to `target`."""
    objective = _locked_objective(workspace, objective.id)
    siblings = KeyResult.objects.for_workspace(workspace).filter(objective=objective)
    if siblings.count() >= MAX_KEY_RESULTS:
        raise ValidationError(
            {"metric": f"An objective has at most {MAX_KEY_RESULTS} key results."}
        )
    baseline, target = _clean_number("baseline", baseline), _clean_number("target", target)
    _check_target(baseline, target)
    key_result = KeyResult.objects.create(
        workspace=workspace,
        objective=objective,
        metric=_clean_text("metric", metric, METRIC_MAX_CHARS, required=True),
        unit=_clean_text("unit", unit, UNIT_MAX_CHARS),
        baseline=baseline,
        target=target,
        position=position if position is not None else _next_position(siblings),
    )
    audit_record(workspace=workspace, actor=actor, action="key_result.created", target=key_result)
    return key_result


@transaction.atomic
def key_result_update(
    *, workspace: Workspace, actor: User | None, key_result: KeyResult, **changes: Any
) -> KeyResult:
    """Change a key result's metric, unit, baseline, target or position."""
    unknown = set(changes) - set(KEY_RESULT_FIELDS)
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "This field cannot be changed here."))
    key_result = _locked_key_result(workspace, key_result.id)
    if "metric" in changes:
        changes["metric"] = _clean_text(
            "metric", changes["metric"], METRIC_MAX_CHARS, required=True
        )
    if "unit" in changes:
        changes["unit"] = _clean_text("unit", changes["unit"], UNIT_MAX_CHARS)
    for field in ("baseline", "target"):
        if field in changes:
            changes[field] = _clean_number(field, changes[field])
    if "position" in changes and (changes["position"] is None or changes["position"] < 0):
        raise ValidationError({"position": "A position is 0 or more."})
    _check_target(
        changes.get("baseline", key_result.baseline), changes.get("target", key_result.target)
    )
    return _save_changes(workspace, actor, key_result, changes, "key_result.updated")


@transaction.atomic
def key_result_delete(*, workspace: Workspace, actor: User | None, key_result: KeyResult) -> None:
    """Delete a key result with its history and item links."""
    key_result = _locked_key_result(workspace, key_result.id)
    audit_record(
        workspace=workspace,
        actor=actor,
        action="key_result.deleted",
        target=key_result,
        changes={"metric": key_result.metric},
    )
    key_result.delete()


# --- values --------------------------------------------------------------------------------------
def _refresh_current(workspace: Workspace, key_result: KeyResult) -> None:
    """Set `current` to the newest measurement (or none). The caller holds the row lock."""
    newest = (
        KeyResultValue.objects.for_workspace(workspace)
        .filter(key_result=key_result)
        .order_by("-measured_at")
        .values_list("value", "measured_at")
        .first()
    )
    current, current_at = newest if newest else (None, None)
    if (key_result.current, key_result.current_at) != (current, current_at):
        key_result.current, key_result.current_at = current, current_at
        key_result.save(update_fields=["current", "current_at", "updated_at"])


def _clean_measured_at(measured_at: datetime.datetime | datetime.date | None) -> datetime.datetime:
    now = timezone.now()
    if measured_at is None:
        return now
    if not isinstance(measured_at, datetime.datetime):
        measured_at = datetime.datetime.combine(measured_at, datetime.time.min, tzinfo=datetime.UTC)
    if timezone.is_naive(measured_at):
        measured_at = measured_at.replace(tzinfo=datetime.UTC)
    if measured_at > now + FUTURE_SLACK:
        raise ValidationError({"measured_at": "A measurement cannot be dated in the future."})
    return measured_at


@transaction.atomic
def key_result_value_record(
    *,
    workspace: Workspace,
    actor: User | None,
    key_result: KeyResult,
    value: Any,
    measured_at: datetime.datetime | datetime.date | None = None,
    source: str = KeyResultValue.Source.MANUAL,
    note: str = "",
) -> KeyResultValue:
    """Record one measurement (now, unless dated) and keep `current` the newest one. A second
    value at the same time replaces the first: one measurement per moment."""
    if source not in KeyResultValue.Source.values:
        raise ValidationError({"source": "Unknown source."})
    number = _clean_number("value", value)
    measured_at = _clean_measured_at(measured_at)
    note = _clean_text("note", note, NOTE_MAX_CHARS)
    key_result = _locked_key_result(workspace, key_result.id)
    record, _created = KeyResultValue.objects.for_workspace(workspace).update_or_create(
        key_result=key_result,
        measured_at=measured_at,
        defaults={"value": number, "note": note, "source": source, "actor": actor},
        create_defaults={
            "workspace": workspace,
            "value": number,
            "note": note,
            "source": source,
            "actor": actor,
        },
    )
    _refresh_current(workspace, key_result)
    audit_record(
        workspace=workspace,
        actor=actor,
        action="key_result.value_recorded",
        target=key_result,
        changes={"value": number, "measured_at": measured_at.isoformat(), "source": source},
    )
    return record


@transaction.atomic
def key_result_value_delete(
    *, workspace: Workspace, actor: User | None, value: KeyResultValue
) -> None:
    """Delete a measurement (a typo); `current` falls back to the newest one left."""
    key_result = _locked_key_result(workspace, value.key_result_id)
    deleted, _ = KeyResultValue.objects.for_workspace(workspace).filter(id=value.id).delete()
    if not deleted:
        return
    _refresh_current(workspace, key_result)
    audit_record(
        workspace=workspace,
        actor=actor,
        action="key_result.value_deleted",
        target=key_result,
        changes={"value": value.value, "measured_at": value.measured_at.isoformat()},
    )


def _parse_when(text: str) -> datetime.datetime | None:
    text = text.strip()
    if not text:
        return None
    try:
        if len(text) == 10:
            day = datetime.date.fromisoformat(text)
            return datetime.datetime.combine(day, datetime.time.min, tzinfo=datetime.UTC)
        when = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    return when.replace(tzinfo=datetime.UTC) if timezone.is_naive(when) else when


def _parse_number(text: str) -> float | None:
    text = text.strip().replace("\u00a0", "").replace(" ", "").removesuffix("%")
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


HEADER_WORDS = {"date", "day", "time", "timestamp", "measured_at", "when", "week", "month"}


@dataclass(frozen=True)
class _Row:
    line: int
    measured_at: datetime.datetime
    value: float
    note: str | None  # None: the file has no note for this row, so a stored note stays


def _read_csv(file: IO[bytes] | IO[str] | bytes) -> str:
    raw = file if isinstance(file, bytes) else file.read(CSV_MAX_BYTES + 1)
    if isinstance(raw, str):
        raw = raw.encode()
    if len(raw) > CSV_MAX_BYTES:
        raise ValuesImportError(
            f"The file is larger than {CSV_MAX_BYTES // 1_000_000} MB; split it, or import "
            f"at most {CSV_MAX_ROWS:,} rows at a time.",
            extra={"errors": []},
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValuesImportError(
            f"The file is not UTF-8 text (byte {exc.start + 1} is not). Save it as "
            "CSV UTF-8 and try again.",
            extra={"errors": []},
        ) from exc


def _parse_csv(text: str) -> list[_Row]:
    """Every row checked before anything is written; the problems listed by row number."""
    errors: list[dict[str, Any]] = []
    rows: list[_Row] = []
    seen: dict[datetime.datetime, int] = {}
    now = timezone.now()

    def fail(line: int, message: str) -> None:
        errors.append({"row": line, "message": message})

    try:
        lines = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise ValuesImportError(
            f"This is not a readable CSV file: {exc}.", extra={"errors": []}
        ) from exc
    for line, cells in enumerate(lines, start=1):
        cells = [c.strip() for c in cells]
        if not any(cells):
            continue
        if not rows and not errors and cells[0].lower() in HEADER_WORDS:
            continue
        if len(rows) + len(errors) >= CSV_MAX_ROWS:
            raise ValuesImportError(
                f"The file has more than {CSV_MAX_ROWS:,} rows; import at most {CSV_MAX_ROWS:,} "
                "at a time.",
                extra={"errors": []},
            )
        if len(cells) < 2 or len(cells) > 3:
            fail(line, f"Expected date,value[,note]; found {len(cells)} column(s).")
            continue
        when = _parse_when(cells[0])
        number = _parse_number(cells[1])
        if when is None:
            fail(line, f"“{cells[0][:40]}” is not a date (use 2026-11-01 or 2026-11-01T09:30).")
        elif when > now + FUTURE_SLACK:
            fail(line, f"{cells[0]} is in the future.")
        if number is None:
            fail(line, f"“{cells[1][:40]}” is not a number.")
        note = cells[2] if len(cells) == 3 else None
        if note is not None and len(note) > NOTE_MAX_CHARS:
            fail(line, f"The note has more than {NOTE_MAX_CHARS} characters.")
        if when is None or number is None or when > now + FUTURE_SLACK:
            continue
        if when in seen:
            fail(line, f"{cells[0]} is also on row {seen[when]}; one value per date.")
            continue
        seen[when] = line
        if note is None or len(note) <= NOTE_MAX_CHARS:
            rows.append(_Row(line=line, measured_at=when, value=number, note=note))
    if errors:
        shown = errors[:CSV_ERRORS_SHOWN]
        more = len(errors) - len(shown)
        message = (
            f"{len(errors)} problem{'s' if len(errors) != 1 else ''} in the file; nothing was "
            "imported. Fix them and upload it again."
        )
        raise ValuesImportError(message, extra={"errors": shown, "more": more})
    if not rows:
        raise ValuesImportError(
            "The file has no values. Each row is date,value with an optional note.",
            extra={"errors": []},
        )
    return rows


@transaction.atomic
def key_result_values_import_csv(
    *,
    workspace: Workspace,
    actor: User | None,
    key_result: KeyResult,
    file: IO[bytes] | IO[str] | bytes,
) -> ImportResult:
    """Import `date,value[,note]` rows (header optional). The whole file is checked first;
    values are upserted on (key result, time), so importing the same file twice changes nothing.
    """
    rows = _parse_csv(_read_csv(file))
    key_result = _locked_key_result(workspace, key_result.id)
    existing = {
        v.measured_at: v
        for v in KeyResultValue.objects.for_workspace(workspace).filter(
            key_result=key_result, measured_at__in=[r.measured_at for r in rows]
        )
    }
    added: list[KeyResultValue] = []
    changed: list[KeyResultValue] = []
    unchanged = 0
    for row in rows:
        stored = existing.get(row.measured_at)
        if stored is None:
            added.append(
                KeyResultValue(
                    workspace=workspace,
                    key_result=key_result,
                    value=row.value,
                    measured_at=row.measured_at,
                    source=KeyResultValue.Source.CSV,
                    note=row.note or "",
                    actor=actor,
                )
            )
        elif stored.value != row.value or (row.note is not None and stored.note != row.note):
            stored.value = row.value
            stored.note = row.note if row.note is not None else stored.note
            stored.source = KeyResultValue.Source.CSV
            stored.actor = actor
            changed.append(stored)
        else:
            unchanged += 1
    KeyResultValue.objects.bulk_create(added, batch_size=1000)
    if changed:
        now = timezone.now()
        for value in changed:
            value.updated_at = now
        KeyResultValue.objects.bulk_update(
            changed, ["value", "note", "source", "actor", "updated_at"], batch_size=1000
        )
    result = ImportResult(added=len(added), updated=len(changed), unchanged=unchanged)
    if added or changed:
        _refresh_current(workspace, key_result)
        audit_record(
            workspace=workspace,
            actor=actor,
            action="key_result.values_imported",
            target=key_result,
            changes={"added": result.added, "updated": result.updated},
        )
    return result


# --- item links ----------------------------------------------------------------------------------
def _live_item(workspace: Workspace, item_id: int) -> Item:
    item = (
        Item.objects.for_workspace(workspace)
        .filter(id=item_id, merged_into__isnull=True)
        .only("id", "title")
        .first()
    )
    if item is None:
        raise ValidationError({"item_id": "No such item in this workspace (or it was merged)."})
    return item


@transaction.atomic
def key_result_item_link(
    *, workspace: Workspace, actor: User | None, key_result: KeyResult, item_id: int
) -> bool:
    """Link a live item of the workspace to the key result it should move. Linking an item
    twice is harmless; returns whether a link was made."""
    item = _live_item(workspace, item_id)
    key_result = _locked_key_result(workspace, key_result.id)
    # The key result's row lock serializes links to it, so the check cannot race a twin.
    links = KeyResultItem.objects.for_workspace(workspace).filter(key_result=key_result, item=item)
    created = not links.exists()
    if created:
        KeyResultItem.objects.create(workspace=workspace, key_result=key_result, item=item)
    if created:
        audit_record(
            workspace=workspace,
            actor=actor,
            action="key_result.item_linked",
            target=key_result,
            changes={"item_id": item.id, "item": item.title},
        )
    return created


@transaction.atomic
def key_result_item_unlink(
    *, workspace: Workspace, actor: User | None, key_result: KeyResult, item_id: int
) -> bool:
    """Unlink an item from a key result; unlinking one that is not linked is harmless."""
    deleted, _ = (
        KeyResultItem.objects.for_workspace(workspace)
        .filter(key_result_id=key_result.id, item_id=item_id)
        .delete()
    )
    if deleted:
        audit_record(
            workspace=workspace,
            actor=actor,
            action="key_result.item_unlinked",
            target=key_result,
            changes={"item_id": item_id},
        )
    return bool(deleted)


# --- selectors -----------------------------------------------------------------------------------
def rollup(key_results: Iterable[KeyResult]) -> float | None:
    """An objective's progress: the mean of its key results' progress (None without any)."""
    shares = [kr.progress for kr in key_results]
    return sum(shares) / len(shares) if shares else None


def _key_results(workspace: Workspace) -> QuerySet[KeyResult]:
    links = (
        KeyResultItem.objects.for_workspace(workspace)
        .filter(key_result=OuterRef("pk"))
        .order_by()
        .values("key_result")
        .annotate(n=Count("id"))
        .values("n")
    )
    return (
        KeyResult.objects.for_workspace(workspace)
        .annotate(item_count=Coalesce(Subquery(links), 0))
        .order_by("position", "id")
    )


def objective_list(*, workspace: Workspace, include_archived: bool = False) -> QuerySet[Objective]:
    """Objectives in their order with owner and key results (each with `item_count`); two
    queries whatever the number of objectives and key results. `rollup(o.key_results.all())`
    is the progress."""
    objectives = Objective.objects.for_workspace(workspace)
    if not include_archived:
        objectives = objectives.filter(is_archived=False)
    return (
        objectives.select_related("owner")
        .prefetch_related(Prefetch("key_results", queryset=_key_results(workspace)))
        .order_by("is_archived", "position", "id")
    )


def objective_archived_count(*, workspace: Workspace) -> int:
    return Objective.objects.for_workspace(workspace).filter(is_archived=True).count()


def objective_get(*, workspace: Workspace, objective_id: int) -> Objective:
    """One objective with owner and key results; Objective.DoesNotExist outside the workspace."""
    return objective_list(workspace=workspace, include_archived=True).get(id=objective_id)


def key_result_get(
    *, workspace: Workspace, key_result_id: int, objective: Objective | None = None
) -> KeyResult:
    """One key result (of `objective` when given); KeyResult.DoesNotExist otherwise."""
    key_results = KeyResult.objects.for_workspace(workspace)
    if objective is not None:
        key_results = key_results.filter(objective=objective)
    return key_results.get(id=key_result_id)


def key_result_value_get(
    *, workspace: Workspace, key_result: KeyResult, key_result_value_id: int
) -> KeyResultValue:
    return (
        KeyResultValue.objects.for_workspace(workspace)
        .filter(key_result=key_result)
        .get(id=key_result_value_id)
    )


def key_result_history(*, workspace: Workspace, key_result: KeyResult) -> QuerySet[KeyResultValue]:
    """A key result's measurements, oldest first, with who recorded them."""
    return (
        KeyResultValue.objects.for_workspace(workspace)
        .filter(key_result=key_result)
        .select_related("actor")
        .order_by("measured_at")
    )


def key_result_histories(
    *, workspace: Workspace, key_results: list[KeyResult], limit: int = 120
) -> dict[int, list[KeyResultValue]]:
    """The `limit` newest measurements of each key result, oldest first; one query."""
    histories: dict[int, list[KeyResultValue]] = {kr.id: [] for kr in key_results}
    if not key_results:
        return histories
    newest_first = Window(
        RowNumber(), partition_by=[F("key_result_id")], order_by=F("measured_at").desc()
    )
    values = (
        KeyResultValue.objects.for_workspace(workspace)
        .filter(key_result_id__in=list(histories))
        .annotate(recency=newest_first)
        .filter(recency__lte=limit)
        .order_by("key_result_id", "measured_at")
    )
    for value in values:
        histories[value.key_result_id].append(value)
    return histories


@dataclass
class ObjectiveItem:
    item: Item
    key_result_ids: list[int]
    key_result_names: list[str]
    evidence: list[ItemEvidence]


def objective_items(
    *, workspace: Workspace, objective: Objective, limit: int = 100, evidence_per_item: int = 3
) -> list[ObjectiveItem]:
    """Live items linked to any key result of `objective`, most ARR asking first, each with the
    key results it serves and its newest evidence (insights and feedback it cites). Three
    queries whatever the number of items, links and evidence."""
    links = list(
        KeyResultItem.objects.for_workspace(workspace)
        .filter(key_result__objective_id=objective.id)
        .values_list("item_id", "key_result_id", "key_result__metric")
        .order_by("key_result__position", "key_result_id")
    )
    if not links:
        return []
    serves: dict[int, list[tuple[int, str]]] = {}
    for item_id, key_result_id, metric in links:
        serves.setdefault(item_id, []).append((key_result_id, metric))
    items = list(
        Item.objects.for_workspace(workspace)
        .filter(id__in=list(serves), merged_into__isnull=True)
        .select_related("area", "owner")
        .order_by("-arr", "-customer_count", "id")[:limit]
    )
    newest = Window(RowNumber(), partition_by=[F("item_id")], order_by=[F("created_at").desc()])
    evidence: dict[int, list[ItemEvidence]] = {item.id: [] for item in items}
    for link in (
        ItemEvidence.objects.for_workspace(workspace)
        .filter(item_id__in=list(evidence))
        .annotate(recency=newest)
        .filter(recency__lte=evidence_per_item)
        .select_related("insight", "feedback", "feedback__customer")
        .order_by("item_id", "-created_at", "-id")
    ):
        evidence[link.item_id].append(link)
    return [
        ObjectiveItem(
            item=item,
            key_result_ids=[key_result_id for key_result_id, _ in serves[item.id]],
            key_result_names=[metric for _, metric in serves[item.id]],
            evidence=evidence[item.id],
        )
        for item in items
    ]


def objective_item_count(*, workspace: Workspace, objective: Objective) -> int:
    """How many live items serve the objective (the page shows at most a limit of them)."""
    return (
        Item.objects.for_workspace(workspace)
        .filter(
            merged_into__isnull=True,
            id__in=KeyResultItem.objects.for_workspace(workspace)
            .filter(key_result__objective_id=objective.id)
            .values("item_id"),
        )
        .count()
    )


def key_result_item_ids(*, workspace: Workspace, key_result_ids: list[int]) -> set[int]:
    """Items already linked to any of these key results (for the picker's "linked" marks)."""
    return set(
        KeyResultItem.objects.for_workspace(workspace)
        .filter(key_result_id__in=key_result_ids)
        .values_list("item_id", flat=True)
    )
