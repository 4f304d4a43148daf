"""Writes of roadmaps: roadmaps and their columns, items placed and moved on boards, item
schedules (release, start, end), and the events every one of those changes leaves.

Releases (`releases.py`), objectives (`objectives.py`) and share links (`sharing.py`) have their
own modules; they record their events through `roadmap_event_record` here.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, Min

from backlog.models import Item
from backlog.ranking import key_between
from pmhub.core.exceptions import ApplicationError
from pmhub.workspaces.audit import audit_record
from pmhub.workspaces.models import Workspace
from roadmap.models import (
    DESCRIPTION_MAX_CHARS,
    REASON_MAX_CHARS,
    ItemSchedule,
    Placement,
    Release,
    Roadmap,
    RoadmapColumn,
    RoadmapEvent,
)

if TYPE_CHECKING:
    from pmhub.accounts.models import User

DEFAULT_COLUMNS = ("Now", "Next", "Later")
MAX_COLUMNS = 12
FILTER_KEYS = ("area", "tag", "owner", "status")


class StaleRoadmapError(ApplicationError):
    """The roadmap changed since this edit began. The API: 412."""

    status_code = 412


class GoneError(ApplicationError):
    """What the change points at (a column, an item, a release) no longer exists."""

    status_code = 404


class ReasonRequiredError(ApplicationError):
    """A move backwards or a slip, sent without the reason the page asks for."""


# --- events ------------------------------------------------------------------------------------
def roadmap_event_record(
    *,
    workspace: Workspace,
    actor: User | None,
    kind: str,
    item: Item | None = None,
    roadmap: Roadmap | None = None,
    release: Release | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
    is_setback: bool = False,
) -> RoadmapEvent:
    """One event, in the caller's transaction (a change and its event commit together)."""
    return RoadmapEvent.objects.create(
        workspace=workspace,
        actor=actor,
        kind=kind,
        item=item,
        roadmap=roadmap,
        release=release,
        before=before or {},
        after=after or {},
        reason=clean_reason(reason),
        is_setback=is_setback,
    )


def clean_reason(reason: str | None) -> str:
    reason = " ".join((reason or "").split())
    if len(reason) > REASON_MAX_CHARS:
        raise ValidationError({"reason": f"At most {REASON_MAX_CHARS} characters."})
    return reason


def _require_reason(reason: str, required: bool, message: str) -> None:
    if required and not clean_reason(reason):
        raise ReasonRequiredError(message, extra={"reason_required": True})


def item_status_event(
    *, workspace: Workspace, actor: User | None, item: Item, before: str, reason: str = ""
) -> None:
    """The event of a ship or a decline (backlog.services.item_set_status calls this)."""
    kind = {
        Item.Status.SHIPPED: RoadmapEvent.Kind.SHIPPED,
        Item.Status.DECLINED: RoadmapEvent.Kind.DECLINED,
    }.get(item.status)
    if kind is None:
        return
    roadmap_event_record(
        workspace=workspace,
        actor=actor,
        kind=kind,
        item=item,
        before={"status": before},
        after={"status": item.status},
        reason=reason,
        is_setback=kind == RoadmapEvent.Kind.DECLINED,
    )
    if kind == RoadmapEvent.Kind.SHIPPED:
        # Stakeholders who chose "immediately" hear of a ship at once; digests build on roadmap.
        from pmhub.digests.tasks import digests_immediate_task

        digests_immediate_task.delay_on_commit(
            workspace_id=workspace.id, kind="shipped", object_id=item.id
        )


# --- roadmaps and columns ----------------------------------------------------------------------
def _clean_name(name: str, limit: int = 120) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": "Give it a name."})
    if len(name) > limit:
        raise ValidationError({"name": f"At most {limit} characters."})
    return name


def _clean_description(description: str) -> str:
    description = description or ""
    if len(description) > DESCRIPTION_MAX_CHARS:
        raise ValidationError(
            {"description": f"At most {DESCRIPTION_MAX_CHARS:,} characters; this has "
             f"{len(description):,}."}
        )  # fmt: skip
    return description


def clean_filters(workspace: Workspace, filters: dict[str, Any] | None) -> dict[str, Any]:
    """A roadmap's item filters, each a list of ids (or statuses) that exist in the workspace."""
    from backlog.models import ProductArea
    from discovery.models import Tag
    from pmhub.workspaces.models import Membership

    cleaned: dict[str, Any] = {}
    for key, values in (filters or {}).items():
        if key not in FILTER_KEYS:
            raise ValidationError(
                {"filters": f"Unknown filter {key!r}; use {', '.join(FILTER_KEYS)}."}
            )
        values = values if isinstance(values, list | tuple) else [values]
        if not values:
            continue
        if key == "status":
            unknown = set(values) - set(Item.Status.values)
            if unknown:
                raise ValidationError({"filters": f"Unknown status {sorted(unknown)[0]!r}."})
            cleaned[key] = sorted(set(values))
            continue
        try:
            ids = sorted({int(v) for v in values})
        except (TypeError, ValueError) as exc:
            raise ValidationError({"filters": f"{key}: ids are numbers."}) from exc
        if key == "area":
            known = ProductArea.objects.for_workspace(workspace).filter(id__in=ids)
        elif key == "tag":
            known = Tag.objects.for_workspace(workspace).filter(id__in=ids)
        else:
            known = Membership.objects.for_workspace(workspace).filter(user_id__in=ids)
        found = set(known.values_list("user_id" if key == "owner" else "id", flat=True))
        if set(ids) - found:
            raise ValidationError({"filters": f"Unknown {key} in this workspace."})
        cleaned[key] = ids
    return cleaned


@transaction.atomic
def roadmap_create(
    *,
    workspace: Workspace,
    actor: User | None,
    name: str,
    kind: str = Roadmap.Kind.NOW_NEXT_LATER,
    description: str = "",
    columns: list[str] | None = None,
    filters: dict[str, Any] | None = None,
    group_by: str = "",
    scale: str = Roadmap.Scale.MONTH,
) -> Roadmap:
    if kind not in Roadmap.Kind.values:
        raise ValidationError({"kind": "Choose now / next / later, timeline or release plan."})
    if group_by not in Roadmap.GroupBy.values:
        raise ValidationError({"group_by": "Group by nothing, area or objective."})
    if scale not in Roadmap.Scale.values:
        raise ValidationError({"scale": "Months or quarters."})
    roadmap = Roadmap(
        workspace=workspace,
        name=_clean_name(name),
        kind=kind,
        description=_clean_description(description),
        filters=clean_filters(workspace, filters),
        group_by=group_by,
        scale=scale,
        created_by=actor,
    )
    try:
        with transaction.atomic():
            roadmap.save()
    except IntegrityError as exc:
        raise ValidationError({"name": "A roadmap with this name exists."}) from exc
    if kind == Roadmap.Kind.NOW_NEXT_LATER:
        names = [_clean_name(n, 60) for n in (columns or DEFAULT_COLUMNS)]
        if len({n.lower() for n in names}) != len(names):
            raise ValidationError({"columns": "Column names must differ."})
        if len(names) > MAX_COLUMNS:
            raise ValidationError({"columns": f"At most {MAX_COLUMNS} columns."})
        RoadmapColumn.objects.bulk_create(
            RoadmapColumn(workspace=workspace, roadmap=roadmap, name=n, position=i)
            for i, n in enumerate(names)
        )
    audit_record(workspace=workspace, actor=actor, action="roadmap.created", target=roadmap)
    return roadmap


def _locked_roadmap(workspace: Workspace, roadmap_id: int) -> Roadmap:
    roadmap = (
        Roadmap.objects.for_workspace(workspace).select_for_update().filter(id=roadmap_id).first()
    )
    if roadmap is None:
        raise GoneError("This roadmap no longer exists.")
    return roadmap


@transaction.atomic
def roadmap_update(
    *,
    workspace: Workspace,
    actor: User | None,
    roadmap: Roadmap,
    version: int | None = None,
    **changes: Any,
) -> Roadmap:
    """Rename, describe, re-filter, regroup or rescale a roadmap (its kind stays)."""
    roadmap = _locked_roadmap(workspace, roadmap.id)
    if version is not None and roadmap.version != version:
        raise StaleRoadmapError(
            "Someone changed this roadmap after you opened it. Reload, then apply yours again.",
            extra={"version": roadmap.version},
        )
    unknown = set(changes) - {"name", "description", "filters", "group_by", "scale"}
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "This field cannot be changed here."))
    if "name" in changes:
        changes["name"] = _clean_name(changes["name"])
    if "description" in changes:
        changes["description"] = _clean_description(changes["description"])
    if "filters" in changes:
        changes["filters"] = clean_filters(workspace, changes["filters"])
    if changes.get("group_by", "") not in Roadmap.GroupBy.values:
        raise ValidationError({"group_by": "Group by nothing, area or objective."})
    if changes.get("scale", Roadmap.Scale.MONTH) not in Roadmap.Scale.values:
        raise ValidationError({"scale": "Months or quarters."})
    diff = {k: [getattr(roadmap, k), v] for k, v in changes.items() if getattr(roadmap, k) != v}
    if not diff:
        return roadmap
    for name, (_, value) in diff.items():
        setattr(roadmap, name, value)
    roadmap.version += 1
    try:
        with transaction.atomic():
            roadmap.save(update_fields=[*diff, "version", "updated_at"])
    except IntegrityError as exc:
        raise ValidationError({"name": "A roadmap with this name exists."}) from exc
    audit_record(
        workspace=workspace,
        actor=actor,
        action="roadmap.updated",
        target=roadmap,
        changes={k: v for k, v in diff.items() if k != "description"},
    )
    return roadmap


@transaction.atomic
def roadmap_delete(*, workspace: Workspace, actor: User | None, roadmap: Roadmap) -> None:
    roadmap = _locked_roadmap(workspace, roadmap.id)
    audit_record(
        workspace=workspace,
        actor=actor,
        action="roadmap.deleted",
        target=roadmap,
        changes={"name": roadmap.name},
    )
    roadmap.delete()


def _columns(workspace: Workspace, roadmap: Roadmap) -> list[RoadmapColumn]:
    return list(
        RoadmapColumn.objects.for_workspace(workspace)
        .filter(roadmap=roadmap)
        .order_by("position", "id")
    )


@transaction.atomic
def roadmap_column_create(
    *, workspace: Workspace, actor: User | None, roadmap: Roadmap, name: str
) -> RoadmapColumn:
    roadmap = _locked_roadmap(workspace, roadmap.id)
    if roadmap.kind != Roadmap.Kind.NOW_NEXT_LATER:
        raise ValidationError({"name": "Only now / next / later roadmaps have columns."})
    columns = _columns(workspace, roadmap)
    if len(columns) >= MAX_COLUMNS:
        raise ValidationError({"name": f"At most {MAX_COLUMNS} columns."})
    name = _clean_name(name, 60)
    if any(c.name.lower() == name.lower() for c in columns):
        raise ValidationError({"name": "This roadmap has a column with this name."})
    column = RoadmapColumn.objects.create(
        workspace=workspace,
        roadmap=roadmap,
        name=name,
        position=(columns[-1].position + 1) if columns else 0,
    )
    audit_record(
        workspace=workspace,
        actor=actor,
        action="roadmap.column_added",
        target=roadmap,
        changes={"column": name},
    )
    return column


@transaction.atomic
def roadmap_column_rename(
    *, workspace: Workspace, actor: User | None, column: RoadmapColumn, name: str
) -> RoadmapColumn:
    roadmap = _locked_roadmap(workspace, column.roadmap_id)
    name = _clean_name(name, 60)
    columns = _columns(workspace, roadmap)
    column = next((c for c in columns if c.id == column.id), None)
    if column is None:
        raise GoneError("This column no longer exists.")
    if any(c.name.lower() == name.lower() and c.id != column.id for c in columns):
        raise ValidationError({"name": "This roadmap has a column with this name."})
    before = column.name
    column.name = name
    column.save(update_fields=["name", "updated_at"])
    audit_record(
        workspace=workspace,
        actor=actor,
        action="roadmap.column_renamed",
        target=roadmap,
        changes={"column": [before, name]},
    )
    return column


@transaction.atomic
def roadmap_columns_reorder(
    *, workspace: Workspace, actor: User | None, roadmap: Roadmap, column_ids: list[int]
) -> None:
    roadmap = _locked_roadmap(workspace, roadmap.id)
    columns = {c.id: c for c in _columns(workspace, roadmap)}
    if sorted(column_ids) != sorted(columns):
        raise ValidationError({"columns": "Send every column of this roadmap once."})
    for position, column_id in enumerate(column_ids):
        columns[column_id].position = position
    RoadmapColumn.objects.bulk_update(columns.values(), ["position"])
    audit_record(
        workspace=workspace, actor=actor, action="roadmap.columns_reordered", target=roadmap
    )


@transaction.atomic
def roadmap_column_delete(
    *,
    workspace: Workspace,
    actor: User | None,
    column: RoadmapColumn,
    move_to: RoadmapColumn | None = None,
) -> None:
    """Delete a column; its items move to `move_to` (recorded as moves), or the delete is
    refused while it holds any."""
    roadmap = _locked_roadmap(workspace, column.roadmap_id)
    columns = {c.id: c for c in _columns(workspace, roadmap)}
    if column.id not in columns:
        raise GoneError("This column no longer exists.")
    if len(columns) == 1:
        raise ValidationError({"column": "A roadmap keeps at least one column."})
    placed = list(
        Placement.objects.for_workspace(workspace)
        .select_for_update()
        .filter(roadmap=roadmap, column_id=column.id)
        .select_related("item")
        .order_by("rank")
    )
    if placed and (move_to is None or move_to.id not in columns or move_to.id == column.id):
        raise ValidationError(
            {"move_to": f"This column holds {len(placed)} item(s); choose where they go."}
        )
    if placed and move_to is not None:
        target = columns[move_to.id]
        last = _column_edge(workspace, roadmap, target.id, last=True)
        for placement in placed:
            last = key_between(last, None)
            placement.column = target
            placement.rank = last
            placement.version += 1
            _moved_event(
                workspace, actor, roadmap, placement.item, column, target,
                reason=f"Column “{column.name}” was deleted.",
            )  # fmt: skip
        Placement.objects.bulk_update(placed, ["column", "rank", "version"])
    RoadmapColumn.objects.for_workspace(workspace).filter(id=column.id).delete()
    audit_record(
        workspace=workspace,
        actor=actor,
        action="roadmap.column_deleted",
        target=roadmap,
        changes={"column": column.name},
    )


# --- placements on a now/next/later board --------------------------------------------------------
def _moved_event(
    workspace: Workspace,
    actor: User | None,
    roadmap: Roadmap,
    item: Item,
    source: RoadmapColumn,
    target: RoadmapColumn,
    reason: str,
) -> RoadmapEvent:
    """A move between two columns; one to a later column (further right) is a setback."""
    return roadmap_event_record(
        workspace=workspace,
        actor=actor,
        kind=RoadmapEvent.Kind.MOVED,
        item=item,
        roadmap=roadmap,
        before={"column": source.name, "column_id": source.id},
        after={"column": target.name, "column_id": target.id},
        reason=reason,
        is_setback=target.position > source.position,
    )


def _column_edge(
    workspace: Workspace, roadmap: Roadmap, column_id: int, *, last: bool
) -> str | None:
    ranks = Placement.objects.for_workspace(workspace).filter(roadmap=roadmap, column_id=column_id)
    return ranks.aggregate(r=Max("rank") if last else Min("rank"))["r"]


def _live_item(workspace: Workspace, item_id: int, *, lock: bool = False) -> Item:
    items = Item.objects.for_workspace(workspace).filter(id=item_id, merged_into__isnull=True)
    item = (items.select_for_update() if lock else items).first()
    if item is None:
        raise GoneError("This item no longer exists.")
    return item


def _board_column(workspace: Workspace, roadmap: Roadmap, column_id: int) -> RoadmapColumn:
    column = (
        RoadmapColumn.objects.for_workspace(workspace).filter(roadmap=roadmap, id=column_id).first()
    )
    if column is None:
        raise GoneError("That column no longer exists; reload the roadmap.")
    return column


def _locked_placement(workspace: Workspace, roadmap: Roadmap, item: Item) -> Placement | None:
    """The placement under its row lock, then its column and item. Locked alone: a locking
    read joined to the column would drop the row when a concurrent move changed its column
    (PostgreSQL re-checks the join against the old column row after the wait)."""
    placement = (
        Placement.objects.for_workspace(workspace)
        .select_for_update()
        .filter(roadmap_id=roadmap.id, item_id=item.id)
        .first()
    )
    if placement is not None:
        placement.column = RoadmapColumn.objects.for_workspace(workspace).get(
            id=placement.column_id
        )
        placement.item = Item.objects.for_workspace(workspace).get(id=placement.item_id)
    return placement


@transaction.atomic
def placement_add(
    *,
    workspace: Workspace,
    actor: User | None,
    roadmap: Roadmap,
    item: Item,
    column_id: int,
    reason: str = "",
) -> Placement:
    """Put an item at the bottom of a column (already on the board: a move there)."""
    roadmap = _locked_roadmap(workspace, roadmap.id)
    if roadmap.kind != Roadmap.Kind.NOW_NEXT_LATER:
        raise ValidationError(
            {"roadmap": "Timelines and release plans show items by their dates and releases."}
        )
    item = _live_item(workspace, item.id)
    existing = Placement.objects.for_workspace(workspace).filter(roadmap=roadmap, item=item).first()
    if existing is not None:
        return placement_move(
            workspace=workspace,
            actor=actor,
            roadmap=roadmap,
            item=item,
            column_id=column_id,
            reason=reason,
        )
    column = _board_column(workspace, roadmap, column_id)
    placement = Placement.objects.create(
        workspace=workspace,
        roadmap=roadmap,
        column=column,
        item=item,
        rank=key_between(_column_edge(workspace, roadmap, column.id, last=True), None),
    )
    roadmap_event_record(
        workspace=workspace,
        actor=actor,
        kind=RoadmapEvent.Kind.PLACED,
        item=item,
        roadmap=roadmap,
        after={"column": column.name, "column_id": column.id},
        reason=reason,
    )
    return placement


@transaction.atomic
def placement_move(
    *,
    workspace: Workspace,
    actor: User | None,
    roadmap: Roadmap,
    item: Item,
    column_id: int,
    after_item_id: int | None = None,
    before_item_id: int | None = None,
    reason: str = "",
    reason_required: bool = False,
) -> Placement:
    """Move a placed item into `column_id`, right after `after_item_id` (or before
    `before_item_id`; neither: to the bottom). One short transaction writing one placement
    row and, when the column changes, one event.

    Two people moving the same item take turns on its row lock: both moves are recorded, in
    order, and the board shows the last. A move to a later column (backwards) needs a reason
    when `reason_required` (the pages ask for one; the API leaves it optional)."""
    placement = _locked_placement(workspace, roadmap, item)
    if placement is None:
        raise GoneError("This item is no longer on this roadmap; reload it.")
    column = _board_column(workspace, roadmap, column_id)
    setback = column.position > placement.column.position
    if setback:
        _require_reason(
            reason,
            reason_required,
            f"Moving it back to {column.name}: say why, for the people following it.",
        )
    anchor_id = after_item_id if after_item_id is not None else before_item_id
    ranks = (
        Placement.objects.for_workspace(workspace)
        .filter(roadmap_id=roadmap.id, column=column)
        .exclude(item_id=item.id)
    )
    if anchor_id is not None:
        anchor = ranks.filter(item_id=anchor_id).values_list("rank", flat=True).first()
        if anchor is None:
            raise GoneError("The item it was dropped next to has moved; reload the roadmap.")
        if after_item_id is not None:
            low, high = anchor, ranks.filter(rank__gt=anchor).aggregate(r=Min("rank"))["r"]
        else:
            low, high = ranks.filter(rank__lt=anchor).aggregate(r=Max("rank"))["r"], anchor
    else:
        low, high = ranks.aggregate(r=Max("rank"))["r"], None
    before_column = placement.column
    placement.column = column
    placement.rank = key_between(low, high)
    placement.version += 1
    placement.save(update_fields=["column", "rank", "version", "updated_at"])
    if before_column.id != column.id:
        _moved_event(workspace, actor, roadmap, placement.item, before_column, column, reason)
    return placement


@transaction.atomic
def placement_remove(
    *, workspace: Workspace, actor: User | None, roadmap: Roadmap, item: Item, reason: str = ""
) -> None:
    placement = _locked_placement(workspace, roadmap, item)
    if placement is None:
        return
    roadmap_event_record(
        workspace=workspace,
        actor=actor,
        kind=RoadmapEvent.Kind.REMOVED,
        item=placement.item,
        roadmap=roadmap,
        before={"column": placement.column.name, "column_id": placement.column_id},
        reason=reason,
    )
    placement.delete()


# --- schedules: releases and dates -------------------------------------------------------------
def _iso(day: datetime.date | None) -> str | None:
    return day.isoformat() if day else None


_UNSET: Any = object()


@transaction.atomic
def item_schedule_set(
    *,
    workspace: Workspace,
    actor: User | None,
    item: Item,
    start_date: datetime.date | None = _UNSET,
    end_date: datetime.date | None = _UNSET,
    release_id: int | None = _UNSET,
    reason: str = "",
    reason_required: bool = False,
    roadmap: Roadmap | None = None,
) -> ItemSchedule:
    """Set an item's dates and/or target release (what is not passed stays). A changed date is
    a `redated` event, a changed release a `release_changed` one; a later end, or a release due
    later, is a slip, which needs a reason when `reason_required`."""
    item = _live_item(workspace, item.id, lock=True)
    schedule = ItemSchedule.objects.for_workspace(workspace).filter(item=item).first()
    if schedule is None:
        schedule = ItemSchedule(workspace=workspace, item=item)
    old_start, old_end, old_release_id = schedule.start_date, schedule.end_date, schedule.release_id
    start = old_start if start_date is _UNSET else start_date
    end = old_end if end_date is _UNSET else end_date
    if start and end and end < start:
        raise ValidationError({"end_date": "It ends before it starts."})
    new_release_id = old_release_id if release_id is _UNSET else release_id
    releases = {
        r.id: r
        for r in Release.objects.for_workspace(workspace).filter(
            id__in=[i for i in (old_release_id, new_release_id) if i]
        )
    }
    if new_release_id and new_release_id not in releases:
        raise GoneError("That release no longer exists.")
    old_release = releases.get(old_release_id) if old_release_id else None
    new_release = releases.get(new_release_id) if new_release_id else None

    dates_changed = (start, end) != (old_start, old_end)
    release_changed = new_release_id != old_release_id
    if not dates_changed and not release_changed and schedule.pk:
        return schedule
    slipped_dates = bool(old_end and end and end > old_end) or bool(
        old_start and start and start > old_start and not end
    )
    slipped_release = bool(
        old_release
        and new_release
        and old_release.target_date
        and new_release.target_date
        and new_release.target_date > old_release.target_date
    ) or bool(old_release and release_changed and new_release is None)
    if (dates_changed and slipped_dates) or (release_changed and slipped_release):
        _require_reason(reason, reason_required, "It slips: say why, for the people following it.")
    schedule.start_date, schedule.end_date, schedule.release = start, end, new_release
    schedule.save()
    if dates_changed:
        roadmap_event_record(
            workspace=workspace,
            actor=actor,
            kind=RoadmapEvent.Kind.REDATED,
            item=item,
            roadmap=roadmap,
            before={"start": _iso(old_start), "end": _iso(old_end)},
            after={"start": _iso(start), "end": _iso(end)},
            reason=reason,
            is_setback=slipped_dates,
        )
    if release_changed:
        roadmap_event_record(
            workspace=workspace,
            actor=actor,
            kind=RoadmapEvent.Kind.RELEASE_CHANGED,
            item=item,
            roadmap=roadmap,
            release=new_release or old_release,
            before={"release": old_release.name if old_release else None,
                    "release_id": old_release_id},
            after={"release": new_release.name if new_release else None,
                   "release_id": new_release_id},
            reason=reason,
            is_setback=slipped_release,
        )  # fmt: skip
    return schedule
