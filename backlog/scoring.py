"""Scoring: the workspace's formulas and fields, item inputs, stored scores, history, what-if.

Names a formula may use:
- a framework's formula (RICE, ICE, WSJF, value vs effort): that framework's field names
  (`reach`, `impact`...), the demand figures (backlog.formula.DEMAND_NAMES) and the workspace's
  ScoreFields;
- a workspace formula: every framework field qualified as `<framework>_<field>` (`rice_impact`
  and `ice_impact` differ: 0.25..3 and 1..10), `effort` (the item's own estimate), the demand
  figures and the workspace's ScoreFields.
Inputs are stored in ItemInputs.values as "<framework>.<field>" or the ScoreField's name. RICE's
effort falls back to the item's own effort when no RICE effort is set.

Scores are stored in ItemScore, one row per (item, formula), and recomputed whenever an input
changes: item_inputs_set and the backlog.services hooks (demand, effort) recompute one item at
once; a formula's change recomputes every item in a ScoringJob (backlog.tasks).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Aggregate, F, FloatField, Max, Window
from django.db.models.expressions import RawSQL
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, RowNumber
from django.utils import timezone

from backlog.formula import DEMAND_NAMES, FRAMEWORKS, RESERVED_NAMES, Formula, FormulaError, parse
from backlog.models import (
    Item,
    ItemInputs,
    ItemScore,
    ScoreChange,
    ScoreField,
    ScoringFormula,
    ScoringJob,
)
from pmhub.core.exceptions import ApplicationError
from pmhub.workspaces.audit import audit_record
from pmhub.workspaces.models import Workspace

if TYPE_CHECKING:
    from pmhub.accounts.models import User

FIELD_NAME = re.compile(r"[a-z_][a-z0-9_]*\Z")
DEMAND_FIELDS = tuple(name for name, _ in DEMAND_NAMES)
DEMAND_LABELS = dict(DEMAND_NAMES)
# Names a workspace formula uses for framework inputs: "rice_impact" -> ("rice", "impact").
QUALIFIED = {
    f"{key}_{field.name}": (key, field.name)
    for key, framework in FRAMEWORKS.items()
    for field in framework.fields
}
FRAMEWORK_FIELD_NAMES = frozenset(
    field.name for framework in FRAMEWORKS.values() for field in framework.fields
)
# A workspace field may not shadow any name a formula already has.
TAKEN_NAMES = (
    RESERVED_NAMES | FRAMEWORK_FIELD_NAMES | frozenset(DEMAND_FIELDS) | frozenset(QUALIFIED)
)
# Loading a whole workspace into memory for a what-if stays under a second and ~100 MB here.
WHAT_IF_MAX_ITEMS = 100_000
# Items per chunk of a recompute job: one read, one upsert and one progress write each; small
# enough that a chunk's transaction holds its row locks for well under a second.
JOB_CHUNK = 2_000
# Up to this many items, ranks are counted in the database (index range scans); above, all the
# formula's scores are loaded once and ranked in memory.
COUNTED_RANKS_MAX = 50
HISTORY_LIMIT = 5


class ScoringTooLargeError(ApplicationError):
    """The what-if would load more items than fit in memory comfortably."""


# --- names and values ------------------------------------------------------------------------
def _custom_fields(workspace: Workspace) -> list[ScoreField]:
    return list(ScoreField.objects.for_workspace(workspace).order_by("name"))


def formula_names(framework: str, fields: Iterable[ScoreField]) -> list[str]:
    """The names a formula of this framework ("" for a workspace formula) may use."""
    custom = [field.name for field in fields]
    if framework:
        return [f.name for f in FRAMEWORKS[framework].fields] + list(DEMAND_FIELDS) + custom
    return [*QUALIFIED, "effort", *DEMAND_FIELDS, *custom]


def _labels(framework: str, fields: Iterable[ScoreField]) -> dict[str, str]:
    labels = dict(DEMAND_LABELS)
    labels.update({field.name: field.label for field in fields})
    if framework:
        labels.update({f.name: f.label for f in FRAMEWORKS[framework].fields})
    else:
        labels["effort"] = "Effort (the item's estimate)"
        for name, (key, field_name) in QUALIFIED.items():
            spec = next(f for f in FRAMEWORKS[key].fields if f.name == field_name)
            labels[name] = f"{FRAMEWORKS[key].name} {spec.label.lower()}"
    return labels


def _formula_values(framework: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """The values a formula of `framework` sees for one item row (see _item_rows)."""
    inputs: dict[str, Any] = row["inputs"] or {}
    values: dict[str, Any] = {name: row[name] for name in DEMAND_FIELDS}
    values.update({k: v for k, v in inputs.items() if "." not in k})
    if framework:
        prefix = f"{framework}."
        values.update({k[len(prefix) :]: v for k, v in inputs.items() if k.startswith(prefix)})
        if framework == "rice" and values.get("effort") is None:
            values["effort"] = row["effort"]
    else:
        for name, (key, field_name) in QUALIFIED.items():
            values[name] = inputs.get(f"{key}.{field_name}")
        values["effort"] = row["effort"]
    return values


def _item_rows(workspace: Workspace, item_ids: Collection[int] | None) -> Iterator[dict[str, Any]]:
    """Each item's id, title, effort, demand and inputs, in one query (all items: None)."""
    items = Item.objects.for_workspace(workspace).filter(merged_into__isnull=True)
    if item_ids is not None:
        items = items.filter(id__in=item_ids)
    return (
        items.order_by("id")
        .values("id", "title", "effort", *DEMAND_FIELDS, inputs=F("score_inputs__values"))
        .iterator(chunk_size=JOB_CHUNK)
    )


def _parse_stored(formula: ScoringFormula, fields: Iterable[ScoreField]) -> Formula | None:
    try:
        return parse(formula.source, names=formula_names(formula.framework, fields))
    except FormulaError:
        return None  # Saved sources always parsed; a field deleted under it makes it unknown.


# --- fields ----------------------------------------------------------------------------------
def _clean_field(
    workspace: Workspace,
    *,
    label: str,
    kind: str,
    choices: Any,
    minimum: Any,
    maximum: Any,
) -> dict[str, Any]:
    label = " ".join((label or "").split())
    if not label:
        raise ValidationError({"label": "Give the field a label."})
    if kind not in ScoreField.Kind.values:
        raise ValidationError({"kind": "Choose number or choice."})
    bounds = {}
    for key, value in (("minimum", minimum), ("maximum", maximum)):
        if value in (None, ""):
            bounds[key] = None
            continue
        try:
            bounds[key] = float(value)
        except (TypeError, ValueError) as exc:
            raise ValidationError({key: "A number, e.g. 0 or 10."}) from exc
    if None not in bounds.values() and bounds["minimum"] > bounds["maximum"]:
        raise ValidationError({"maximum": "The maximum is below the minimum."})
    cleaned: list[list[Any]] = []
    if kind == ScoreField.Kind.CHOICE:
        try:
            cleaned = [[float(value), str(text).strip()[:80]] for value, text in choices or ()]
        except (TypeError, ValueError) as exc:
            raise ValidationError({"choices": "Each choice is a number and a label."}) from exc
        if len(cleaned) < 2:
            raise ValidationError({"choices": "A choice field needs at least two choices."})
        if len({value for value, _ in cleaned}) != len(cleaned):
            raise ValidationError({"choices": "Two choices have the same value."})
        if any(not text for _, text in cleaned):
            raise ValidationError({"choices": "Every choice needs a label."})
    return {"label": label[:80], "kind": kind, "choices": cleaned, **bounds}


@transaction.atomic
def score_field_create(
    *,
    workspace: Workspace,
    actor: User | None,
    name: str,
    label: str,
    kind: str = ScoreField.Kind.NUMBER,
    choices: Any = None,
    minimum: Any = None,
    maximum: Any = None,
    help: str = "",  # noqa: A002 - the model's field name
) -> ScoreField:
    """A new custom input for every item, usable in the workspace's formulas by `name`."""
    name = (name or "").strip()
    if not FIELD_NAME.match(name) or len(name) > 40:
        raise ValidationError(
            {"name": "Use lower-case letters, digits and _, starting with a letter or _."}
        )
    if name in TAKEN_NAMES:
        raise ValidationError({"name": f"{name!r} already means something in formulas."})
    field = ScoreField(
        workspace=workspace,
        name=name,
        help=help.strip()[:300],
        **_clean_field(
            workspace, label=label, kind=kind, choices=choices, minimum=minimum, maximum=maximum
        ),
    )
    try:
        with transaction.atomic():
            field.save()
    except IntegrityError as exc:
        raise ValidationError({"name": f"There is already a field {name!r}."}) from exc
    audit_record(
        workspace=workspace,
        actor=actor,
        action="score_field.created",
        target=field,
        changes={"name": name},
    )
    return field


@transaction.atomic
def score_field_update(
    *, workspace: Workspace, actor: User | None, field: ScoreField, **changes: Any
) -> ScoreField:
    """Change a field's label, kind, choices or bounds (its name stays: formulas use it).
    Values already set stay; new ones are checked against the new rules."""
    field = ScoreField.objects.for_workspace(workspace).select_for_update().get(id=field.id)
    unknown = set(changes) - {"label", "kind", "choices", "minimum", "maximum", "help"}
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "This field cannot be changed here."))
    current = {
        "label": field.label,
        "kind": field.kind,
        "choices": field.choices,
        "minimum": field.minimum,
        "maximum": field.maximum,
    }
    help_text = changes.pop("help", field.help)
    cleaned = _clean_field(workspace, **{**current, **changes})
    cleaned["help"] = (help_text or "").strip()[:300]
    diff = {k: [getattr(field, k), v] for k, v in cleaned.items() if getattr(field, k) != v}
    if diff:
        for key, (_, value) in diff.items():
            setattr(field, key, value)
        field.save(update_fields=[*diff, "updated_at"])
        audit_record(
            workspace=workspace,
            actor=actor,
            action="score_field.updated",
            target=field,
            changes=diff,
        )
    return field


@transaction.atomic
def score_field_delete(*, workspace: Workspace, actor: User | None, field: ScoreField) -> None:
    """Delete a field no formula uses; the values items had for it are dropped."""
    field = ScoreField.objects.for_workspace(workspace).select_for_update().get(id=field.id)
    fields = _custom_fields(workspace)
    users = [
        formula.name
        for formula in ScoringFormula.objects.for_workspace(workspace).order_by("position", "id")
        if (parsed := _parse_stored(formula, fields)) is not None and field.name in parsed.names
    ]
    if users:
        raise ValidationError({"name": f"Used by {', '.join(users)}: change those first."})
    audit_record(
        workspace=workspace,
        actor=actor,
        action="score_field.deleted",
        target=field,
        changes={"name": field.name},
    )
    # Values stay in ItemInputs.values: harmless, and restored if the field comes back.
    field.delete()


# --- formulas --------------------------------------------------------------------------------
@transaction.atomic
def scoring_defaults_ensure(*, workspace: Workspace) -> list[ScoringFormula]:
    """The workspace's formulas, creating RICE, ICE, WSJF and value vs effort on first use
    (RICE primary). Idempotent: the unique (workspace, framework) makes a second call a no-op."""
    formulas = ScoringFormula.objects.for_workspace(workspace)
    have = set(formulas.exclude(framework="").values_list("framework", flat=True))
    missing = [key for key in FRAMEWORKS if key not in have]
    if missing:
        has_primary = formulas.filter(is_primary=True).exists()
        last = formulas.aggregate(last=Max("position"))["last"]
        start = -1 if last is None else last
        ScoringFormula.objects.bulk_create(
            [
                ScoringFormula(
                    workspace=workspace,
                    name=FRAMEWORKS[key].name,
                    source=FRAMEWORKS[key].source,
                    framework=key,
                    position=start + 1 + index,
                    is_primary=not has_primary and key == "rice",
                )
                for index, key in enumerate(missing)
            ],
            ignore_conflicts=True,
        )
        new = list(formulas.filter(framework__in=missing))
        if Item.objects.for_workspace(workspace).count() <= JOB_CHUNK:
            # Small enough to score now: the first page already sorts by score.
            item_scores_recompute(
                workspace=workspace,
                item_ids=None,
                cause="scoring set up",
                formula_ids=[formula.id for formula in new],
                record_history=False,
            )
        else:
            for formula in new:
                _job_start(workspace, None, formula, "scoring set up")
    return list(formulas.order_by("position", "id"))


def _parse_for(workspace: Workspace, framework: str, source: str) -> Formula:
    """Parse a draft; a mistake is a ValidationError on "source" pointing at its column."""
    try:
        return parse(source, names=formula_names(framework, _custom_fields(workspace)))
    except FormulaError as error:
        raise ValidationError({"source": str(error)}) from error


def _job_start(
    workspace: Workspace, actor: User | None, formula: ScoringFormula, cause: str
) -> ScoringJob:
    from backlog.tasks import scores_recompute_task

    # Every item gets its row at once (unknown until the job reaches it), so a list sorted by
    # this formula, which walks item_score_rank, shows every item from the start.
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO backlog_itemscore"
            " (workspace_id, item_id, formula_id, value, reason, created_at, updated_at)"
            " SELECT workspace_id, id, %s, NULL, %s, now(), now() FROM backlog_item"
            " WHERE workspace_id = %s ON CONFLICT (item_id, formula_id) DO NOTHING",
            [formula.id, "Being computed.", workspace.id],
        )
    job = ScoringJob.objects.create(
        workspace=workspace,
        formula=formula,
        formula_version=formula.version,
        cause=cause[:500],
        created_by=actor,
    )
    scores_recompute_task.delay_on_commit(workspace_id=workspace.id, job_id=job.id)
    return job


def _clean_name(workspace: Workspace, name: str, exclude_id: int | None = None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": "Give the formula a name."})
    if len(name) > 80:
        raise ValidationError({"name": "At most 80 characters."})
    others = ScoringFormula.objects.for_workspace(workspace).filter(name__iexact=name)
    if exclude_id is not None:
        others = others.exclude(id=exclude_id)
    if others.exists():
        raise ValidationError({"name": f"There is already a formula {name!r}."})
    return name


@transaction.atomic
def formula_create(
    *, workspace: Workspace, actor: User | None, name: str, source: str
) -> tuple[ScoringFormula, ScoringJob]:
    """A workspace formula, scored for every item in the background (the job's progress)."""
    name = _clean_name(workspace, name)
    _parse_for(workspace, "", source)
    formulas = ScoringFormula.objects.for_workspace(workspace)
    last = formulas.aggregate(last=Max("position"))["last"]
    formula = ScoringFormula.objects.create(
        workspace=workspace,
        name=name,
        source=source.strip(),
        position=0 if last is None else last + 1,
        is_primary=not formulas.filter(is_primary=True).exists(),
        created_by=actor,
    )
    audit_record(
        workspace=workspace,
        actor=actor,
        action="formula.created",
        target=formula,
        changes={"name": name, "source": formula.source},
    )
    return formula, _job_start(workspace, actor, formula, "formula created")


@transaction.atomic
def formula_update(
    *,
    workspace: Workspace,
    actor: User | None,
    formula: ScoringFormula,
    version: int,
    name: str | None = None,
    source: str | None = None,
    is_primary: bool | None = None,
) -> tuple[ScoringFormula, ScoringJob | None]:
    """Rename, re-source or make primary. A source that does not parse is refused with the
    column of the mistake and the old formula stays; a new source bumps the version and
    recomputes every item in the background (the job is returned)."""
    from backlog.services import StaleItemError

    formula = ScoringFormula.objects.for_workspace(workspace).select_for_update().get(id=formula.id)
    if formula.version != version:
        raise StaleItemError(
            "Someone changed this formula after you opened it. Reload, then apply yours again.",
            extra={"version": formula.version},
        )
    diff: dict[str, list[Any]] = {}
    if name is not None:
        name = _clean_name(workspace, name, exclude_id=formula.id)
        if name != formula.name:
            diff["name"] = [formula.name, name]
    if source is not None:
        source = source.strip()
        _parse_for(workspace, formula.framework, source)
        if source != formula.source:
            diff["source"] = [formula.source, source]
    if is_primary and not formula.is_primary:
        ScoringFormula.objects.for_workspace(workspace).filter(is_primary=True).update(
            is_primary=False, updated_at=timezone.now()
        )
        diff["is_primary"] = [False, True]
    if not diff:
        return formula, None
    for key, (_, value) in diff.items():
        setattr(formula, key, value)
    if "source" in diff:
        formula.version += 1
    formula.save(update_fields=[*diff, "version", "updated_at"])
    audit_record(
        workspace=workspace, actor=actor, action="formula.updated", target=formula, changes=diff
    )
    job = None
    if "source" in diff:
        job = _job_start(
            workspace, actor, formula, f"formula changed: {diff['source'][0]} → {source}"
        )
    return formula, job


@transaction.atomic
def formula_delete(*, workspace: Workspace, actor: User | None, formula: ScoringFormula) -> None:
    """Delete a formula with its scores and history; the primary passes to the next one."""
    formula = ScoringFormula.objects.for_workspace(workspace).select_for_update().get(id=formula.id)
    audit_record(
        workspace=workspace,
        actor=actor,
        action="formula.deleted",
        target=formula,
        changes={"name": formula.name, "source": formula.source},
    )
    was_primary = formula.is_primary
    formula.delete()
    if was_primary:
        successor = ScoringFormula.objects.for_workspace(workspace).order_by("position", "id")
        successor_id = successor.values_list("id", flat=True).first()
        if successor_id is not None:
            successor.filter(id=successor_id).update(is_primary=True, updated_at=timezone.now())


# --- item inputs -----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Rule:
    label: str
    minimum: float | None
    maximum: float | None
    choices: tuple[float, ...] | None


def _rules(workspace: Workspace) -> dict[str, _Rule]:
    rules = {
        f"{key}.{spec.name}": _Rule(
            f"{framework.name} {spec.label.lower()}",
            spec.minimum,
            spec.maximum,
            tuple(value for value, _ in spec.choices) if spec.choices else None,
        )
        for key, framework in FRAMEWORKS.items()
        for spec in framework.fields
    }
    for field in _custom_fields(workspace):
        rules[field.name] = _Rule(
            field.label,
            field.minimum,
            field.maximum,
            tuple(float(value) for value, _ in field.choices)
            if field.kind == ScoreField.Kind.CHOICE
            else None,
        )
    return rules


def _format(value: Any) -> str:
    if value is None:
        return "blank"
    return f"{value:g}" if isinstance(value, float) else str(value)


@transaction.atomic
def item_inputs_set(
    *, workspace: Workspace, actor: User | None, item: Item, values: Mapping[str, Any]
) -> ItemInputs:
    """Set some of an item's scoring inputs ("rice.reach", a ScoreField's name; None or ""
    clears one) and recompute its scores now. Out-of-range values refuse the whole change."""
    rules = _rules(workspace)
    errors: dict[str, str] = {}
    cleaned: dict[str, float | None] = {}
    for key, raw in values.items():
        rule = rules.get(key)
        if rule is None:
            errors[key] = "Unknown input."
            continue
        if raw in (None, ""):
            cleaned[key] = None
            continue
        try:
            number = float(raw)
        except (TypeError, ValueError):
            errors[key] = f"{rule.label} is a number."
            continue
        if number != number or number in (float("inf"), float("-inf")):
            errors[key] = f"{rule.label} is a finite number."
        elif rule.choices is not None and number not in rule.choices:
            allowed = ", ".join(_format(c) for c in rule.choices)
            errors[key] = f"{rule.label} is one of {allowed}."
        elif rule.minimum is not None and number < rule.minimum:
            errors[key] = f"{rule.label} is at least {_format(rule.minimum)}."
        elif rule.maximum is not None and number > rule.maximum:
            errors[key] = f"{rule.label} is at most {_format(rule.maximum)}."
        else:
            cleaned[key] = number
    if errors:
        raise ValidationError(errors)
    item = Item.objects.for_workspace(workspace).select_for_update().get(id=item.id)
    inputs, _ = ItemInputs.objects.for_workspace(workspace).get_or_create(
        workspace=workspace, item=item
    )
    before = dict(inputs.values)
    after = {k: v for k, v in {**before, **cleaned}.items() if v is not None}
    if after == before:
        return inputs
    inputs.values = after
    inputs.save(update_fields=["values", "updated_at"])
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    audit_record(
        workspace=workspace,
        actor=actor,
        action="item.inputs",
        target=item,
        changes={k: [before.get(k), after.get(k)] for k in changed},
    )
    cause = "inputs changed: " + ", ".join(
        f"{k} {_format(before.get(k))} → {_format(after.get(k))}" for k in changed
    )
    item_scores_recompute(workspace=workspace, item_ids=[item.id], cause=cause, actor=actor)
    return inputs


# --- recomputing -----------------------------------------------------------------------------
def _higher_count(values: list[float], value: float) -> int:
    """How many of `values` (sorted ascending) are strictly above `value`."""
    return len(values) - bisect.bisect_right(values, value)


def _counted_position(
    workspace: Workspace, formula_id: int, value: float | None, excluded: Collection[int]
) -> int | None:
    if value is None:
        return None
    return 1 + (
        ItemScore.objects.for_workspace(workspace)
        .filter(formula_id=formula_id, value__gt=value)
        .exclude(item_id__in=excluded)
        .count()
    )


def item_scores_recompute(
    *,
    workspace: Workspace,
    item_ids: Collection[int] | None,
    cause: str,
    actor: User | None = None,
    formula_ids: Collection[int] | None = None,
    record_history: bool = True,
) -> int:
    """Recompute these items' scores (None: every item) by every formula (or those given),
    upsert them, and record a ScoreChange with the rank before and after for each value that
    moved. Returns how many scores changed. Call it inside the caller's transaction."""
    fields = _custom_fields(workspace)
    formulas = ScoringFormula.objects.for_workspace(workspace).order_by("id")
    if formula_ids is not None:
        formulas = formulas.filter(id__in=formula_ids)
    parsed = [(formula, _parse_stored(formula, fields)) for formula in formulas]
    if not parsed:
        return 0
    rows = list(_item_rows(workspace, item_ids))
    ids = [row["id"] for row in rows]
    stored = {
        (item_id, formula_id): (value, reason)
        for item_id, formula_id, value, reason in ItemScore.objects.for_workspace(workspace)
        .filter(formula_id__in=[f.id for f, _ in parsed], item_id__in=ids)
        .values_list("item_id", "formula_id", "value", "reason")
    }
    upserts: list[ItemScore] = []
    changes: list[ScoreChange] = []
    changed = 0
    for formula, compiled in parsed:
        moved: list[tuple[int, float | None, float | None]] = []
        for row in rows:
            if compiled is None:
                value, reason = None, "The formula no longer parses; edit it."
            else:
                value, reason = compiled.evaluate_explained(_formula_values(formula.framework, row))
            key = (row["id"], formula.id)
            old = stored.get(key)
            if old == (value, reason or ""):
                continue
            upserts.append(
                ItemScore(
                    workspace=workspace,
                    item_id=row["id"],
                    formula=formula,
                    value=value,
                    reason=(reason or "")[:300],
                )
            )
            old_value = old[0] if old else None
            if old_value != value:
                moved.append((row["id"], old_value, value))
        changed += len(moved)
        if record_history and moved:
            changes.extend(_history(workspace, formula, moved, cause, actor))
    ItemScore.objects.bulk_create(
        upserts,
        update_conflicts=True,
        unique_fields=["item", "formula"],
        update_fields=["value", "reason", "updated_at"],
        batch_size=JOB_CHUNK,
    )
    ScoreChange.objects.bulk_create(changes, batch_size=JOB_CHUNK)
    return changed


def _history(
    workspace: Workspace,
    formula: ScoringFormula,
    moved: list[tuple[int, float | None, float | None]],
    cause: str,
    actor: User | None,
) -> list[ScoreChange]:
    """ScoreChange rows with ranks among the formula's known scores, before and after."""
    batch = {item_id for item_id, _, _ in moved}
    new_values = sorted(value for _, _, value in moved if value is not None)
    old_values = sorted(value for _, value, _ in moved if value is not None)
    if len(moved) <= COUNTED_RANKS_MAX:

        def old_position(item_id: int, value: float | None) -> int | None:
            return _counted_position(workspace, formula.id, value, {item_id})

        def new_position(item_id: int, value: float | None) -> int | None:
            found = _counted_position(workspace, formula.id, value, batch)
            return None if found is None else found + _higher_count(new_values, value)  # type: ignore[arg-type]

    else:
        others = sorted(
            value
            for item_id, value in ItemScore.objects.for_workspace(workspace)
            .filter(formula=formula, value__isnull=False)
            .values_list("item_id", "value")
            if item_id not in batch
        )
        before = sorted(others + old_values)
        after = sorted(others + new_values)

        def old_position(item_id: int, value: float | None) -> int | None:
            return None if value is None else 1 + _higher_count(before, value)

        def new_position(item_id: int, value: float | None) -> int | None:
            return None if value is None else 1 + _higher_count(after, value)

    return [
        ScoreChange(
            workspace=workspace,
            item_id=item_id,
            formula=formula,
            old_value=old,
            new_value=new,
            old_position=old_position(item_id, old),
            new_position=new_position(item_id, new),
            cause=cause[:500],
            actor=actor,
        )
        for item_id, old, new in moved
    ]


def _demand_cause(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    """'demand: +3 customers (2 Enterprise), +1 company' from two demand snapshots."""
    parts = []
    for name, noun in (
        ("customer_count", "customers"),
        ("company_count", "companies"),
        ("evidence_count", "linked feedback"),
        ("critical_count", "critical"),
        ("important_count", "important"),
    ):
        delta = (after.get(name) or 0) - (before.get(name) or 0)
        if not delta:
            continue
        text = f"{delta:+d} {noun}"
        if name == "customer_count":
            segments = []
            old_segments = before.get("segments") or {}
            for segment, figures in sorted((after.get("segments") or {}).items()):
                moved = figures.get("customers", 0) - old_segments.get(segment, {}).get(
                    "customers", 0
                )
                if moved and segment:
                    segments.append(f"{moved:+d} {segment}" if moved < 0 else f"{moved} {segment}")
            if segments:
                text += f" ({', '.join(segments)})"
        parts.append(text)
    if after.get("arr") != before.get("arr"):
        parts.append(f"ARR {before.get('arr') or '0'} → {after.get('arr')}")
    return "demand: " + (", ".join(parts) or "changed")


def item_demand_scores_refresh(*, workspace: Workspace, item_id: int) -> None:
    """The item's demand figures were recounted (backlog.services): when they differ from what
    its scores last saw, recompute them with the difference as the cause."""
    row = (
        Item.objects.for_workspace(workspace)
        .filter(id=item_id)
        .values(*DEMAND_FIELDS, "demand_by_segment")
        .first()
    )
    if row is None:
        return
    snapshot = {name: row[name] for name in DEMAND_FIELDS if name != "arr"}
    snapshot["arr"] = str(row["arr"])
    snapshot["segments"] = row["demand_by_segment"]
    inputs, _ = ItemInputs.objects.for_workspace(workspace).get_or_create(
        workspace=workspace, item_id=item_id
    )
    if inputs.demand == snapshot:
        return
    cause = _demand_cause(inputs.demand, snapshot)
    inputs.demand = snapshot
    inputs.save(update_fields=["demand", "updated_at"])
    item_scores_recompute(workspace=workspace, item_ids=[item_id], cause=cause)


# --- the background job ----------------------------------------------------------------------
def _job_claim(workspace: Workspace, job_id: int) -> ScoringJob | None:
    with transaction.atomic():
        job = (
            ScoringJob.objects.for_workspace(workspace)
            .select_for_update()
            .select_related("formula")
            .get(id=job_id)
        )
        if job.status not in (ScoringJob.Status.PENDING, ScoringJob.Status.RUNNING):
            return None
        if job.formula.version != job.formula_version:
            job.status = ScoringJob.Status.SUPERSEDED
            job.finished_at = timezone.now()
            job.save(update_fields=["status", "finished_at", "updated_at"])
            return None
        job.status = ScoringJob.Status.RUNNING
        job.save(update_fields=["status", "updated_at"])
        return job


def scoring_job_finish(
    *, workspace: Workspace, job_id: int, status: str, message: str = ""
) -> None:
    """End a job (the task's failure hook too); a done job stays done."""
    ScoringJob.objects.for_workspace(workspace).filter(id=job_id).exclude(
        status=ScoringJob.Status.DONE
    ).update(
        status=status, message=message[:500], finished_at=timezone.now(), updated_at=timezone.now()
    )


def scores_recompute_run(*, workspace: Workspace, job_id: int) -> ScoringJob | None:
    """Recompute every item's score by the job's formula, in chunks, counting progress.

    Idempotent: a status guard under a row lock skips finished jobs and jobs whose formula has
    changed since (a newer job covers it); a crashed run starts over, and recomputing a score
    that is already current writes nothing. Ranks in the history are counted in the database
    per chunk, so they reflect the chunks already written.
    """
    job = _job_claim(workspace, job_id)
    if job is None:
        return None
    item_ids = list(
        Item.objects.for_workspace(workspace).order_by("id").values_list("id", flat=True)
    )
    jobs = ScoringJob.objects.for_workspace(workspace).filter(id=job_id)
    jobs.update(total=len(item_ids), processed=0, updated_at=timezone.now())
    for start in range(0, len(item_ids), JOB_CHUNK):
        chunk = item_ids[start : start + JOB_CHUNK]
        with transaction.atomic():
            current = (
                ScoringFormula.objects.for_workspace(workspace)
                .select_for_update()
                .filter(id=job.formula_id, version=job.formula_version)
                .exists()
            )
            if not current:
                scoring_job_finish(
                    workspace=workspace, job_id=job_id, status=ScoringJob.Status.SUPERSEDED
                )
                return None
            item_scores_recompute(
                workspace=workspace,
                item_ids=chunk,
                cause=job.cause or "formula changed",
                actor=job.created_by,
                formula_ids=[job.formula_id],
            )
            jobs.update(processed=start + len(chunk), updated_at=timezone.now())
    scoring_job_finish(workspace=workspace, job_id=job_id, status=ScoringJob.Status.DONE)
    job.refresh_from_db()
    return job


# --- reads -----------------------------------------------------------------------------------
def formula_get(*, workspace: Workspace, formula_id: int) -> ScoringFormula:
    """The workspace's formula; another workspace's id is ScoringFormula.DoesNotExist."""
    return ScoringFormula.objects.for_workspace(workspace).get(id=formula_id)


def score_field_get(*, workspace: Workspace, field_id: int) -> ScoreField:
    return ScoreField.objects.for_workspace(workspace).get(id=field_id)


def scoring_job_get(*, workspace: Workspace, job_id: int) -> ScoringJob:
    return ScoringJob.objects.for_workspace(workspace).get(id=job_id)


def item_ids_by_score(
    *, workspace: Workspace, formula: ScoringFormula, limit: int = 50, offset: int = 0
) -> list[int]:
    """Item ids, highest score first (unknown scores last, then by id): one index range scan
    of item_score_rank. Items never scored by the formula are not listed."""
    return list(
        ItemScore.objects.for_workspace(workspace)
        .filter(formula=formula)
        .order_by(F("value").desc(nulls_last=True), "item_id")
        .values_list("item_id", flat=True)[offset : offset + limit]
    )


class _Median(Aggregate):
    function = "PERCENTILE_CONT"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


def _median_expression(framework: str, name: str) -> Any:
    if name in DEMAND_FIELDS:
        return Cast(name, FloatField())
    if framework:
        key = f"{framework}.{name}"
    elif name in QUALIFIED:
        key = "{}.{}".format(*QUALIFIED[name])
    elif name == "effort":
        return F("effort")
    else:
        key = name
    value = Cast(KeyTextTransform(key, "score_inputs__values"), FloatField())
    if framework == "rice" and name == "effort":
        return Coalesce(value, F("effort"))
    return value


# The medians are the "typical item" each input's contribution is measured against: a baseline
# minutes old explains a score as well as a fresh one, and computing them reads every item of the
# workspace (~0.5 s at 100,000 items), so they are cached, not read on every item page. The key
# carries the formula's version, so an edited formula never explains itself with old names.
MEDIANS_TTL = 300


def _medians_key(workspace: Workspace, formula: ScoringFormula) -> str:
    return f"backlog:medians:{workspace.id}:{formula.id}:{formula.version}"


def _medians(
    workspace: Workspace,
    parsed: list[tuple[ScoringFormula, Formula]],
    aliases: dict[tuple[str, str], str],
) -> dict[str, float | None]:
    """The workspace's median of every input alias of `parsed`: from the cache where each formula
    has its own, else every missing one in one aggregate (which then fills the cache)."""
    keys = {formula.id: _medians_key(workspace, formula) for formula, _ in parsed}
    cached = cache.get_many(list(keys.values()))
    medians: dict[str, float | None] = {}
    missing: dict[str, tuple[str, str]] = {}
    for formula, compiled in parsed:
        hit = cached.get(keys[formula.id])
        for name in compiled.names:
            key = ("", name) if name in DEMAND_FIELDS else (formula.framework, name)
            if hit is not None and name in hit:
                medians[aliases[key]] = hit[name]
            else:
                missing[aliases[key]] = key
    if missing:
        medians.update(
            Item.objects.for_workspace(workspace).aggregate(
                **{alias: _Median(_median_expression(*key)) for alias, key in missing.items()}
            )
        )
        fresh = {}
        for formula, compiled in parsed:
            fresh[keys[formula.id]] = {
                name: medians[
                    aliases[("", name) if name in DEMAND_FIELDS else (formula.framework, name)]
                ]
                for name in compiled.names
            }
        cache.set_many(fresh, timeout=MEDIANS_TTL)
    return medians


# An item's position by a formula is exact while at most this many items score higher: counting
# them walks that much of the item_score_rank index. Further down, where "about 41,000th" says as
# much as "40,873rd", it is read off the formula's cached score quantiles instead of counting up
# to 100,000 index entries per formula on every item page.
POSITION_COUNTED = 1_000
QUANTILE_STEPS = 200
QUANTILES_TTL = 300


def _quantiles_key(workspace: Workspace, formula: ScoringFormula) -> str:
    return f"backlog:score-quantiles:{workspace.id}:{formula.id}:{formula.version}"


def _score_quantiles(
    workspace: Workspace, formulas: list[ScoringFormula]
) -> dict[int, tuple[int, list[float]]]:
    """Per formula id: how many items have a known score, and the score at every
    1/QUANTILE_STEPS of them, highest first; cached (one query for those missing)."""
    keys = {formula.id: _quantiles_key(workspace, formula) for formula in formulas}
    cached = cache.get_many(list(keys.values()))
    found = {fid: cached[key] for fid, key in keys.items() if key in cached}
    missing = [fid for fid in keys if fid not in found]
    if missing:
        fractions = [step / QUANTILE_STEPS for step in range(1, QUANTILE_STEPS + 1)]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT formula_id, count(*), percentile_disc(%s::float8[]) WITHIN GROUP"
                " (ORDER BY value DESC) FROM backlog_itemscore WHERE workspace_id = %s"
                " AND formula_id = ANY(%s) AND value IS NOT NULL GROUP BY formula_id",
                [fractions, workspace.id, missing],
            )
            fresh = {fid: (count, list(values)) for fid, count, values in cursor.fetchall()}
        for fid in missing:
            found[fid] = fresh.get(fid, (0, []))
        cache.set_many({keys[fid]: found[fid] for fid in missing}, timeout=QUANTILES_TTL)
    return found


def _estimated_higher(known: int, quantiles: list[float], value: float) -> int:
    """About how many of `known` scores (quantiles highest first) are above `value`."""
    above = next((n for n, q in enumerate(quantiles) if q <= value), len(quantiles))
    return round(known * above / max(len(quantiles), 1))


@dataclass(frozen=True)
class ScorePosition:
    score: ItemScore
    # 1 + how many items score higher; None while the score is unknown.
    position: int | None
    exact: bool


def score_positions(
    *, workspace: Workspace, item: Item, formulas: list[ScoringFormula]
) -> dict[int, ScorePosition]:
    """The item's stored scores by formula id, each with its position by that formula: exact in
    the top POSITION_COUNTED + 1, estimated below. One query for all formulas (counts bounded by
    POSITION_COUNTED on item_score_rank), plus one for the quantiles when not cached."""
    higher = RawSQL(
        # `value > ` (not the score_key) so the bound is an index condition of item_score_rank.
        "SELECT count(*) FROM (SELECT 1 FROM backlog_itemscore higher"
        " WHERE higher.workspace_id = %s AND higher.formula_id = backlog_itemscore.formula_id"
        " AND higher.value > backlog_itemscore.value LIMIT %s) counted",
        (workspace.id, POSITION_COUNTED),
    )
    quantiles = _score_quantiles(workspace, formulas)
    positions = {}
    for score in (
        ItemScore.objects.for_workspace(workspace)
        .filter(item_id=item.id, formula_id__in=[f.id for f in formulas])
        .annotate(higher=higher)
    ):
        if score.value is None:
            positions[score.formula_id] = ScorePosition(score, None, exact=True)
        elif score.higher < POSITION_COUNTED:
            positions[score.formula_id] = ScorePosition(score, 1 + score.higher, exact=True)
        else:
            known, steps = quantiles.get(score.formula_id, (0, []))
            estimate = max(POSITION_COUNTED, _estimated_higher(known, steps, score.value))
            positions[score.formula_id] = ScorePosition(score, 1 + estimate, exact=False)
    return positions


def score_explain(*, workspace: Workspace, item: Item, formula: ScoringFormula) -> dict[str, Any]:
    """The formula, the item's inputs with labels, each input's contribution against the
    workspace's median of that input, the score and its recent history. A formula that no
    longer parses is a ValidationError on "source"."""
    _parse_for(workspace, formula.framework, formula.source)
    explained = scores_explain(workspace=workspace, item=item, formulas=[formula])[formula.id]
    assert explained is not None  # it parsed just above
    return explained


def scores_explain(
    *, workspace: Workspace, item: Item, formulas: Iterable[ScoringFormula]
) -> dict[int, dict[str, Any] | None]:
    """score_explain for each of `formulas` by id (None for one that no longer parses), in three
    queries whatever their number: the workspace's fields, the item's row and the recent history
    of every formula in one windowed query; plus, when the cache lacks them, every median in one
    aggregate (see MEDIANS_TTL)."""
    formulas = list(formulas)
    fields = _custom_fields(workspace)
    parsed: list[tuple[ScoringFormula, Formula]] = []
    for formula in formulas:
        compiled = _parse_stored(formula, fields)
        if compiled is not None:
            parsed.append((formula, compiled))
    explained: dict[int, dict[str, Any] | None] = dict.fromkeys((f.id for f in formulas), None)
    if not parsed:
        return explained
    row = next(_item_rows(workspace, [item.id]))
    # One median per distinct (framework, input): formulas of one framework share theirs, and
    # the demand figures mean the same in every formula.
    aliases: dict[tuple[str, str], str] = {}
    for formula, compiled in parsed:
        for name in compiled.names:
            key = ("", name) if name in DEMAND_FIELDS else (formula.framework, name)
            aliases.setdefault(key, f"m{len(aliases)}")
    medians = _medians(workspace, parsed, aliases)
    history: dict[int, list[dict[str, Any]]] = {formula.id: [] for formula, _ in parsed}
    for change in (
        ScoreChange.objects.for_workspace(workspace)
        .filter(item_id=item.id, formula_id__in=list(history))
        .annotate(
            recent=Window(RowNumber(), partition_by=[F("formula_id")], order_by=F("id").desc())
        )
        .filter(recent__lte=HISTORY_LIMIT)
        .order_by("formula_id", "-id")
        .values(
            "formula_id",
            "old_value",
            "new_value",
            "old_position",
            "new_position",
            "cause",
            "created_at",
        )
    ):
        history[change.pop("formula_id")].append(change)
    for formula, compiled in parsed:
        values = _formula_values(formula.framework, row)
        baseline = {}
        for name in compiled.names:
            key = ("", name) if name in DEMAND_FIELDS else (formula.framework, name)
            if medians.get(aliases[key]) is not None:
                baseline[name] = medians[aliases[key]]
        labels = _labels(formula.framework, fields)
        evaluation = compiled.evaluate_explained(values)
        explained[formula.id] = {
            "formula": {
                "id": formula.id,
                "name": formula.name,
                "source": formula.source,
                "normalised": compiled.describe(),
            },
            "value": evaluation.value,
            "reason": evaluation.reason,
            "inputs": [
                {
                    "name": c.name,
                    "label": labels.get(c.name, c.name),
                    "value": c.value,
                    "median": c.baseline,
                    "contribution": c.effect,
                }
                for c in compiled.contributions(values, baseline)
            ],
            "history": history[formula.id],
        }
    return explained


def what_if(
    *,
    workspace: Workspace,
    source: str,
    formula: ScoringFormula | None = None,
    limit: int = 20,
) -> list[dict[str, Any]]:
    """The top `limit` items by a draft source (for `formula`'s framework, or a workspace
    formula), evaluated in memory without saving, each with its current stored score and rank
    by `formula`. A draft with a mistake is a ValidationError on "source"."""
    framework = formula.framework if formula is not None else ""
    compiled = _parse_for(workspace, framework, source)
    if Item.objects.for_workspace(workspace).count() > WHAT_IF_MAX_ITEMS:
        raise ScoringTooLargeError(
            f"A what-if covers at most {WHAT_IF_MAX_ITEMS:,} items; save the formula as a new "
            "one instead and it is scored in the background."
        )
    scored = []
    titles = {}
    for row in _item_rows(workspace, None):
        value = compiled.evaluate(_formula_values(framework, row))
        titles[row["id"]] = row["title"]
        scored.append((value, row["id"]))
    known = sorted(value for value, _ in scored if value is not None)
    # Highest first, unknown last, ties by id: the same order as item_ids_by_score.
    scored.sort(key=lambda pair: (pair[0] is None, -(pair[0] or 0.0), pair[1]))
    top = scored[:limit]
    old: dict[int, float | None] = {}
    if formula is not None:
        old = dict(
            ItemScore.objects.for_workspace(workspace)
            .filter(formula=formula, item_id__in=[item_id for _, item_id in top])
            .values_list("item_id", "value")
        )
    return [
        {
            "item_id": item_id,
            "title": titles[item_id],
            "value": value,
            "position": None if value is None else 1 + _higher_count(known, value),
            "old_value": old.get(item_id),
            "old_position": _counted_position(workspace, formula.id, old.get(item_id), {item_id})
            if formula is not None
            else None,
        }
        for value, item_id in top
    ]
