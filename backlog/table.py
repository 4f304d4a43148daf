"""The backlog table's own reads and writes, beside the shared item list (backlog.selectors):
the primary formula's input columns, each page row's version and inputs in one query, and one
cell's edit, refused when the item changed since the page showed it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import transaction

from backlog import scoring, services
from backlog.formula import DEMAND_NAMES, FRAMEWORKS, FormulaError, parse
from backlog.models import Item, ItemInputs, ScoreField, ScoringFormula
from pmhub.workspaces.models import Workspace

if TYPE_CHECKING:
    from pmhub.accounts.models import User

# Cells every item has; the rest of a table's editable cells are the primary formula's inputs.
ITEM_CELLS = ("status", "owner", "area", "effort")
EXTRA_FIELDS = ("version", "effort")


def cell_text(value: float | None) -> str:
    """A number as a cell holds it for editing (and sends it back as `was`), exactly: "" when
    unset, whole numbers without ".0", never an exponent for a reach in the millions."""
    if value is None:
        return ""
    number = float(value)
    return str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)


@dataclass(frozen=True)
class InputColumn:
    """One scoring input of the primary formula, as a column of the table."""

    key: str  # the ItemInputs key: "rice.reach", or a ScoreField's name
    label: str
    help: str
    minimum: float | None
    maximum: float | None
    choices: tuple[tuple[float, str], ...] | None

    @property
    def options(self) -> list[tuple[str, str]]:
        """A choice input's options as the editor offers them, values written as stored."""
        return [(cell_text(number), label) for number, label in self.choices or ()]

    def shown(self, value: float | None) -> str:
        """The cell's text: a choice's short label ("High", "80%"), else the number."""
        if value is None:
            return ""
        for number, label in self.choices or ():
            if float(number) == value:
                return label.split(" (")[0]
        return f"{value:,.2f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:,.0f}"


def _custom_column(field: ScoreField) -> InputColumn:
    choices = None
    if field.kind == ScoreField.Kind.CHOICE:
        choices = tuple((float(value), str(label)) for value, label in field.choices)
    return InputColumn(field.name, field.label, field.help, field.minimum, field.maximum, choices)


def input_columns(*, workspace: Workspace, formula: ScoringFormula | None) -> list[InputColumn]:
    """The inputs `formula` reads that a person sets (not demand figures, not the item's own
    effort), in the framework's order, then the workspace fields. Queries the workspace's
    fields only when the formula names one."""
    if formula is None:
        return []
    try:
        names = parse(formula.source).names
    except FormulaError:
        return []
    framework = FRAMEWORKS.get(formula.framework)
    columns: list[InputColumn] = []
    if framework is not None:
        columns = [
            InputColumn(
                f"{framework.key}.{spec.name}",
                spec.label,
                spec.help,
                spec.minimum,
                spec.maximum,
                spec.choices,
            )
            for spec in framework.fields
            if spec.name in names
        ]
        own = {spec.name for spec in framework.fields}
    else:
        for name, (key, field_name) in scoring.QUALIFIED.items():
            if name in names:
                spec = next(f for f in FRAMEWORKS[key].fields if f.name == field_name)
                columns.append(
                    InputColumn(
                        f"{key}.{field_name}",
                        f"{FRAMEWORKS[key].name} {spec.label.lower()}",
                        spec.help,
                        spec.minimum,
                        spec.maximum,
                        spec.choices,
                    )
                )
        own = {*scoring.QUALIFIED, "effort"}
    rest = names - own - {name for name, _ in DEMAND_NAMES}
    if rest:
        fields = ScoreField.objects.for_workspace(workspace).filter(name__in=rest).order_by("name")
        columns.extend(_custom_column(field) for field in fields)
    return columns


@transaction.atomic
def item_cell_set(
    *,
    workspace: Workspace,
    actor: User | None,
    item: Item,
    version: int,
    field: str,
    value: Any,
    reason: str = "",
    was: str | None = None,
) -> Item:
    """Change one cell of the table begun on the item's `version`: "status" (with `reason` to
    decline), "owner", "area" (ids or None), "effort", or a scoring input key ("rice.reach").
    Each goes through its own service; a change made in between refuses it (StaleItemError).

    Inputs live beside the item and do not bump its version, so an input's edit also names the
    value it replaces (`was`, as cell_text writes it): another person's edit of the same input
    in between refuses it too."""
    locked = (
        Item.objects.for_workspace(workspace)
        .select_for_update()
        .filter(id=item.id, merged_into__isnull=True)
        .first()
    )
    if locked is None:
        raise services.ItemGoneError("This item was deleted or merged meanwhile.")
    if locked.version != version:
        raise services.StaleItemError(
            "Someone changed this item since the table was loaded; it now shows their change.",
            extra={"version": locked.version},
        )
    if field == "status":
        return services.item_set_status(
            workspace=workspace, actor=actor, item=locked, status=value, reason=reason
        )
    if field in ("owner", "area", "effort"):
        key = field if field == "effort" else f"{field}_id"
        return services.item_update(
            workspace=workspace, actor=actor, item=locked, version=version, **{key: value}
        )
    if was is not None:
        stored = (
            ItemInputs.objects.for_workspace(workspace)
            .filter(item_id=locked.id)
            .values_list("values", flat=True)
            .first()
        ) or {}
        if cell_text(stored.get(field)) != was:
            raise services.StaleItemError(
                "Someone changed this value since the table was loaded; it now shows theirs.",
                extra={"version": locked.version},
            )
    scoring.item_inputs_set(workspace=workspace, actor=actor, item=locked, values={field: value})
    return locked
