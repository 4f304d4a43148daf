"""Releases and their launch checklists: the writes (services) and the reads (selectors) the
release pages and the releases API share.

A release's items are the items whose schedule names it (`ItemSchedule.release`); they join and
leave a release only through `roadmap.services.item_schedule_set`, which records the event.
Progress counts items shipped of the items in the release that are not declined (a declined item
will not ship, so it neither helps nor holds back the launch).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    Max,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from backlog.models import Item, ItemScore, ScoringFormula
from backlog.selectors import item_list
from pmhub.workspaces.audit import audit_record
from pmhub.workspaces.models import Membership, Workspace
from roadmap.models import ItemSchedule, LaunchTask, Release, RoadmapEvent
from roadmap.services import (
    GoneError,
    StaleRoadmapError,
    _clean_description,
    _clean_name,
    _require_reason,
    item_schedule_set,
    roadmap_event_record,
)

if TYPE_CHECKING:
    from pmhub.accounts.models import User

TITLE_MAX_CHARS = 200
MAX_LAUNCH_TASKS = 200
# The order of a release's items table: what is moving first, what is done last.
ITEM_STATUS_ORDER = (
    Item.Status.IN_PROGRESS,
    Item.Status.PLANNED,
    Item.Status.UNDER_CONSIDERATION,
    Item.Status.NEW,
    Item.Status.SHIPPED,
    Item.Status.DECLINED,
)
STATUS_ORDER = (Release.Status.PLANNED, Release.Status.IN_PROGRESS, Release.Status.RELEASED)
UPDATABLE = frozenset({"name", "description", "target_date", "status"})


class StaleReleaseError(StaleRoadmapError):
    """The release changed since this edit began. The API: 412."""


# --- releases --------------------------------------------------------------------------------
def _clean_status(status: str) -> str:
    if status not in Release.Status.values:
        raise ValidationError({"status": "Choose planned, in progress or released."})
    return status


def _name_taken(workspace: Workspace, name: str, exclude_id: int | None = None) -> bool:
    releases = Release.objects.for_workspace(workspace).filter(name__iexact=name)
    if exclude_id is not None:
        releases = releases.exclude(id=exclude_id)
    return releases.exists()


def _duplicate_name(name: str) -> ValidationError:
    return ValidationError({"name": f"A release named “{name}” exists; names differ by more "
                            "than capitals."})  # fmt: skip


@transaction.atomic
def release_create(
    *,
    workspace: Workspace,
    actor: User | None,
    name: str,
    target_date: datetime.date | None = None,
    status: str = Release.Status.PLANNED,
    description: str = "",
) -> Release:
    """A new release; a name already used in the workspace (in any case) is refused."""
    name = _clean_name(name)
    status = _clean_status(status)
    if _name_taken(workspace, name):
        raise _duplicate_name(name)
    release = Release(
        workspace=workspace,
        name=name,
        description=_clean_description(description),
        target_date=target_date,
        status=status,
        released_on=timezone.localdate() if status == Release.Status.RELEASED else None,
        created_by=actor,
    )
    try:
        with transaction.atomic():
            release.save()
    except IntegrityError as exc:  # the same name, created at the same moment
        raise _duplicate_name(name) from exc
    audit_record(workspace=workspace, actor=actor, action="release.created", target=release)
    return release


def _locked_release(workspace: Workspace, release_id: int) -> Release:
    release = (
        Release.objects.for_workspace(workspace).select_for_update().filter(id=release_id).first()
    )
    if release is None:
        raise GoneError("This release no longer exists.")
    return release


def _iso(day: datetime.date | None) -> str | None:
    return day.isoformat() if day else None


@transaction.atomic
def release_update(
    *,
    workspace: Workspace,
    actor: User | None,
    release: Release,
    version: int | None = None,
    reason: str = "",
    reason_required: bool = False,
    **changes: Any,
) -> Release:
    """Change a release's name, description, target date or status. Begun on an older
    `version`: refused (StaleReleaseError). A new target date is a `release_redated` event (a
    later one is a slip, which needs a reason when `reason_required`); a new status a
    `release_status` one. Released sets `released_on` (today), leaving released clears it."""
    release = _locked_release(workspace, release.id)
    if version is not None and release.version != version:
        raise StaleReleaseError(
            "Someone changed this release after you opened it. Reload, then apply yours again.",
            extra={"version": release.version},
        )
    unknown = set(changes) - UPDATABLE
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "This field cannot be changed here."))
    if "name" in changes:
        changes["name"] = _clean_name(changes["name"])
        if changes["name"] != release.name and _name_taken(
            workspace, changes["name"], exclude_id=release.id
        ):
            raise _duplicate_name(changes["name"])
    if "description" in changes:
        changes["description"] = _clean_description(changes["description"])
    if "status" in changes:
        changes["status"] = _clean_status(changes["status"])
    diff = {k: [getattr(release, k), v] for k, v in changes.items() if getattr(release, k) != v}
    if not diff:
        return release
    old_date, new_date = release.target_date, changes.get("target_date", release.target_date)
    slipped = bool(old_date and new_date and new_date > old_date)
    if "target_date" in diff and slipped:
        _require_reason(
            reason, reason_required, "The release slips: say why, for the people following it."
        )
    old_status = release.status
    for name, (_, value) in diff.items():
        setattr(release, name, value)
    fields = [*diff, "version", "updated_at"]
    if "status" in diff:
        released = release.status == Release.Status.RELEASED
        release.released_on = timezone.localdate() if released else None
        fields.append("released_on")
    release.version += 1
    try:
        with transaction.atomic():
            release.save(update_fields=fields)
    except IntegrityError as exc:
        raise _duplicate_name(release.name) from exc
    if "target_date" in diff:
        roadmap_event_record(
            workspace=workspace,
            actor=actor,
            kind=RoadmapEvent.Kind.RELEASE_REDATED,
            release=release,
            before={"target_date": _iso(old_date), "release": release.name},
            after={"target_date": _iso(new_date), "release": release.name},
            reason=reason,
            is_setback=slipped,
        )
    if "status" in diff:
        roadmap_event_record(
            workspace=workspace,
            actor=actor,
            kind=RoadmapEvent.Kind.RELEASE_STATUS,
            release=release,
            before={"status": old_status, "release": release.name},
            after={"status": release.status, "release": release.name},
            reason=reason,
            is_setback=STATUS_ORDER.index(release.status) < STATUS_ORDER.index(old_status),
        )
    audit_record(
        workspace=workspace,
        actor=actor,
        action="release.updated",
        target=release,
        changes={k: [_plain(a), _plain(b)] for k, (a, b) in diff.items() if k != "description"},
    )
    return release


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime.date) else value


@transaction.atomic
def release_delete(*, workspace: Workspace, actor: User | None, release: Release) -> None:
    """Delete a release and its checklist; its items leave it, each with a `release_changed`
    event that says why."""
    release = _locked_release(workspace, release.id)
    items = item_list(workspace=workspace).filter(schedule__release=release).order_by("id")
    for item in items:
        item_schedule_set(
            workspace=workspace,
            actor=actor,
            item=item,
            release_id=None,
            reason=f"Release “{release.name}” was deleted.",
        )
    audit_record(
        workspace=workspace,
        actor=actor,
        action="release.deleted",
        target=release,
        changes={"name": release.name},
    )
    release.delete()


# --- a release's items -----------------------------------------------------------------------
def _item(workspace: Workspace, item_id: int) -> Item:
    item = item_list(workspace=workspace).filter(id=item_id).first()
    if item is None:
        raise GoneError("This item no longer exists.")
    return item


def release_item_add(
    *,
    workspace: Workspace,
    actor: User | None,
    release: Release,
    item_id: int,
    reason: str = "",
    reason_required: bool = False,
) -> ItemSchedule:
    """Target an item at this release (from another one due earlier: a slip, see
    item_schedule_set)."""
    return item_schedule_set(
        workspace=workspace,
        actor=actor,
        item=_item(workspace, item_id),
        release_id=release.id,
        reason=reason,
        reason_required=reason_required,
    )


def release_item_remove(
    *,
    workspace: Workspace,
    actor: User | None,
    release: Release,
    item_id: int,
    reason: str = "",
    reason_required: bool = False,
) -> None:
    """Take an item out of this release (a slip: it no longer has a date to ship by)."""
    item = _item(workspace, item_id)
    in_release = (
        ItemSchedule.objects.for_workspace(workspace).filter(item=item, release=release).exists()
    )
    if not in_release:
        raise GoneError("This item is no longer in this release; reload the page.")
    item_schedule_set(
        workspace=workspace,
        actor=actor,
        item=item,
        release_id=None,
        reason=reason,
        reason_required=reason_required,
    )


# --- launch checklist -------------------------------------------------------------------------
def _clean_title(title: str) -> str:
    title = " ".join((title or "").split())
    if not title:
        raise ValidationError({"title": "Say what needs doing."})
    if len(title) > TITLE_MAX_CHARS:
        raise ValidationError({"title": f"At most {TITLE_MAX_CHARS} characters."})
    return title


def _clean_team(team: str) -> str:
    if team not in LaunchTask.Team.values:
        raise ValidationError({"team": "Choose marketing, sales, support, docs, product or "
                               "engineering."})  # fmt: skip
    return team


def _clean_owner(workspace: Workspace, owner_id: int | None) -> int | None:
    if owner_id is None:
        return None
    if not Membership.objects.for_workspace(workspace).filter(user_id=owner_id).exists():
        raise ValidationError({"owner": "The owner must be a member of this workspace."})
    return owner_id


def _locked_task(workspace: Workspace, task_id: int) -> LaunchTask:
    task = (
        LaunchTask.objects.for_workspace(workspace).select_for_update().filter(id=task_id).first()
    )
    if task is None:
        raise GoneError("This launch task no longer exists.")
    return task


@transaction.atomic
def launch_task_create(
    *,
    workspace: Workspace,
    actor: User | None,
    release: Release,
    title: str,
    team: str = LaunchTask.Team.PRODUCT,
    owner_id: int | None = None,
    due_date: datetime.date | None = None,
) -> LaunchTask:
    """A task at the end of the release's launch checklist."""
    release = _locked_release(workspace, release.id)
    tasks = LaunchTask.objects.for_workspace(workspace).filter(release=release)
    stats = tasks.aggregate(n=Count("id"), last=Coalesce(Max("position"), -1))
    if stats["n"] >= MAX_LAUNCH_TASKS:
        raise ValidationError({"title": f"A checklist holds at most {MAX_LAUNCH_TASKS} tasks."})
    task = LaunchTask.objects.create(
        workspace=workspace,
        release=release,
        title=_clean_title(title),
        team=_clean_team(team),
        owner_id=_clean_owner(workspace, owner_id),
        due_date=due_date,
        position=stats["last"] + 1,
    )
    audit_record(
        workspace=workspace,
        actor=actor,
        action="release.task_added",
        target=release,
        changes={"task": task.title},
    )
    return task


@transaction.atomic
def launch_task_update(
    *, workspace: Workspace, actor: User | None, task: LaunchTask, **changes: Any
) -> LaunchTask:
    """Change a task's title, team, owner (`owner_id`), due date or done (`is_done`)."""
    task = _locked_task(workspace, task.id)
    unknown = set(changes) - {"title", "team", "owner_id", "due_date", "is_done"}
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "This field cannot be changed here."))
    if "title" in changes:
        changes["title"] = _clean_title(changes["title"])
    if "team" in changes:
        changes["team"] = _clean_team(changes["team"])
    if "owner_id" in changes:
        changes["owner_id"] = _clean_owner(workspace, changes["owner_id"])
    diff = {k: v for k, v in changes.items() if getattr(task, k) != v}
    if not diff:
        return task
    for name, value in diff.items():
        setattr(task, name, value)
    fields = [*diff, "updated_at"]
    if "is_done" in diff:
        task.done_at = timezone.now() if task.is_done else None
        fields.append("done_at")
    task.save(update_fields=fields)
    audit_record(
        workspace=workspace,
        actor=actor,
        action="release.task_updated",
        target=task,
        changes={k: _plain(v) for k, v in diff.items()},
    )
    return task


def launch_task_toggle(
    *, workspace: Workspace, actor: User | None, task: LaunchTask, is_done: bool | None = None
) -> LaunchTask:
    """Mark a task done or not done; `is_done` names the state wanted, so the same click sent
    twice (a double submit) lands once; None flips it."""
    if is_done is None:
        is_done = not task.is_done
    return launch_task_update(workspace=workspace, actor=actor, task=task, is_done=is_done)


@transaction.atomic
def launch_task_delete(*, workspace: Workspace, actor: User | None, task: LaunchTask) -> None:
    task = _locked_task(workspace, task.id)
    audit_record(
        workspace=workspace,
        actor=actor,
        action="release.task_deleted",
        target=task,
        changes={"task": task.title},
    )
    task.delete()


@transaction.atomic
def launch_task_reorder(
    *, workspace: Workspace, actor: User | None, release: Release, task_ids: list[int]
) -> None:
    """Put the checklist in the order of `task_ids` (every task of the release, once)."""
    release = _locked_release(workspace, release.id)
    tasks = {t.id: t for t in LaunchTask.objects.for_workspace(workspace).filter(release=release)}
    if len(task_ids) != len(set(task_ids)) or set(task_ids) != set(tasks):
        raise ValidationError({"tasks": "Send every task of this checklist once."})
    for position, task_id in enumerate(task_ids):
        tasks[task_id].position = position
    LaunchTask.objects.bulk_update(tasks.values(), ["position"])
    audit_record(workspace=workspace, actor=actor, action="release.tasks_reordered", target=release)


# --- selectors -------------------------------------------------------------------------------
def _counted(workspace: Workspace) -> QuerySet[Release]:
    """Releases with their item, shipped, task and done-task counts: four scalar subqueries
    in the one statement (joins would multiply items by tasks)."""

    def count(qs: QuerySet[Any]) -> Coalesce:
        rows = qs.filter(release=OuterRef("pk")).order_by().values("release")
        return Coalesce(
            Subquery(rows.annotate(n=Count("id")).values("n")[:1], output_field=IntegerField()),
            0,
        )

    scheduled = ItemSchedule.objects.for_workspace(workspace).filter(item__merged_into__isnull=True)
    tasks = LaunchTask.objects.for_workspace(workspace)
    return Release.objects.for_workspace(workspace).annotate(
        item_count=count(scheduled.exclude(item__status=Item.Status.DECLINED)),
        shipped_count=count(scheduled.filter(item__status=Item.Status.SHIPPED)),
        task_count=count(tasks),
        tasks_done=count(tasks.filter(is_done=True)),
    )


def release_list(*, workspace: Workspace, status: str | None = None) -> QuerySet[Release]:
    """Releases with their counts (see _counted): unreleased first by target date (undated
    last), then released ones, latest first."""
    releases = _counted(workspace)
    if status:
        releases = releases.filter(status=status)
    released = Case(When(status=Release.Status.RELEASED, then=Value(1)), default=Value(0))
    return releases.annotate(is_released=released).order_by(
        "is_released",
        F("target_date").asc(nulls_last=True),
        F("released_on").desc(nulls_last=True),
        "id",
    )


def release_get(*, workspace: Workspace, release_id: int) -> Release:
    """One release with its counts; raises Release.DoesNotExist outside the workspace."""
    return _counted(workspace).select_related("created_by").get(id=release_id)


def release_progress(release: Release) -> int:
    """Items shipped of the release's items, as a whole percentage."""
    total = getattr(release, "item_count", 0)
    return round(100 * release.shipped_count / total) if total else 0


def release_item_queryset(*, workspace: Workspace, release: Release) -> QuerySet[Item]:
    """The release's live items with owner, area and `primary_score` (the primary formula's
    stored score, None when unknown or no formula is primary), by status then backlog rank."""
    primary = ScoringFormula.objects.for_workspace(workspace).filter(is_primary=True).values("id")
    score = (
        ItemScore.objects.for_workspace(workspace)
        .filter(item_id=OuterRef("pk"), formula_id=Subquery(primary[:1]))
        .values("value")[:1]
    )
    order = Case(
        *(When(status=s, then=Value(i)) for i, s in enumerate(ITEM_STATUS_ORDER)),
        default=Value(len(ITEM_STATUS_ORDER)),
    )
    return (
        item_list(workspace=workspace)
        .filter(schedule__release=release)
        .select_related("owner", "area")
        .annotate(primary_score=Subquery(score), status_order=order)
        .order_by("status_order", "rank", "id")
    )


def release_items(*, workspace: Workspace, release: Release) -> list[Item]:
    """release_item_queryset, read."""
    return list(release_item_queryset(workspace=workspace, release=release))


def release_slippage(*, workspace: Workspace, release: Release) -> list[RoadmapEvent]:
    """The release's target-date changes, oldest first, with their actors."""
    return list(
        RoadmapEvent.objects.for_workspace(workspace)
        .filter(release=release, kind=RoadmapEvent.Kind.RELEASE_REDATED)
        .select_related("actor")
        .order_by("created_at", "id")
    )


def release_ship_times(*, workspace: Workspace, items: list[Item]) -> dict[int, datetime.datetime]:
    """When each shipped item of `items` last shipped (its latest `shipped` event; its last
    change for one shipped without an event, e.g. imported as shipped)."""
    shipped = {i.id: i for i in items if i.status == Item.Status.SHIPPED}
    if not shipped:
        return {}
    events = (
        RoadmapEvent.objects.for_workspace(workspace)
        .filter(kind=RoadmapEvent.Kind.SHIPPED, item_id__in=list(shipped))
        .order_by("item_id", "-created_at")
        .distinct("item_id")
        .values_list("item_id", "created_at")
    )
    times = dict(events)
    return {item_id: times.get(item_id, item.updated_at) for item_id, item in shipped.items()}


def launch_task_list(*, workspace: Workspace, release: Release) -> list[LaunchTask]:
    """The release's checklist in order, with owners; each task gets `is_overdue` (not done,
    due before today)."""
    return launch_tasks_mark_overdue(
        list(
            LaunchTask.objects.for_workspace(workspace)
            .filter(release=release)
            .select_related("owner")
            .order_by("position", "id")
        )
    )


def launch_tasks_mark_overdue(tasks: list[LaunchTask]) -> list[LaunchTask]:
    """Give each task `is_overdue`: not done, due before today."""
    today = timezone.localdate()
    for task in tasks:
        task.is_overdue = bool(not task.is_done and task.due_date and task.due_date < today)
    return tasks


def launch_task_get(*, workspace: Workspace, release: Release, launch_task_id: int) -> LaunchTask:
    """One task of this release's checklist; raises LaunchTask.DoesNotExist otherwise."""
    return (
        LaunchTask.objects.for_workspace(workspace)
        .select_related("owner")
        .get(release=release, id=launch_task_id)
    )


def launch_task_overdue(tasks: list[LaunchTask]) -> int:
    return sum(1 for t in tasks if getattr(t, "is_overdue", False))


@dataclass(frozen=True)
class TeamGroup:
    team: str
    label: str
    tasks: list[LaunchTask]
    done: int


def launch_tasks_by_team(tasks: list[LaunchTask]) -> list[TeamGroup]:
    """The checklist grouped by team, in the teams' fixed order; teams without tasks left out."""
    groups = []
    for team in LaunchTask.Team:
        mine = [t for t in tasks if t.team == team.value]
        if mine:
            groups.append(TeamGroup(team.value, team.label, mine, sum(t.is_done for t in mine)))
    return groups


# --- charts: laid out here, printed by templates/roadmap/_release_charts.html ------------------
# The drawings' coordinate system; the SVG scales to its container through `viewBox`.
CHART_WIDTH = 640
CHART_HEIGHT = 200
PLOT_LEFT = 64
PLOT_RIGHT = CHART_WIDTH - 16
PLOT_TOP = 14
PLOT_BOTTOM = CHART_HEIGHT - 28


def _day(value: datetime.date | datetime.datetime) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).date()
    return value


def _scale(low: datetime.date, high: datetime.date, start: float, end: float) -> Any:
    span = max((high - low).days, 1)
    return lambda day: round(start + (end - start) * (day - low).days / span, 1)


def _short(day: datetime.date) -> str:
    return f"{day.day} {day:%b}" if day.year == timezone.localdate().year else f"{day:%b %Y}"


@dataclass(frozen=True)
class Tick:
    at: float
    label: str


@dataclass(frozen=True)
class SlipChange:
    """One change of the target date, for the chart's dots and the list under it."""

    x: float
    y: float | None
    when: datetime.datetime
    before: datetime.date | None
    after: datetime.date | None
    days: int | None  # later (+) or earlier (-) than before; None when either is unset
    is_setback: bool
    who: str
    why: str


@dataclass(frozen=True)
class SlippageChart:
    view_box: str
    path: str
    start_x: float
    start_y: float | None
    end_x: float
    changes: list[SlipChange]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    first_target: datetime.date | None
    total_slip_days: int
    description: str
    plot_left: int = PLOT_LEFT
    plot_right: int = PLOT_RIGHT
    plot_top: int = PLOT_TOP
    plot_bottom: int = PLOT_BOTTOM


def _parse(value: Any) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


def release_slippage_chart(release: Release, events: list[RoadmapEvent]) -> SlippageChart:
    """The target date over time as a step line: from the release's creation (at the first
    date it had) through each change to today, each change a dot saying who moved it and why.
    `total_slip_days` is the current target minus the first one (0 when either is unset)."""
    first_target = _parse(events[0].before.get("target_date")) if events else release.target_date
    start = _day(release.created_at)
    end = max(timezone.localdate(), *(_day(e.created_at) for e in events), start)
    if release.released_on:
        end = max(min(end, release.released_on), start)
    targets = [first_target, *(_parse(e.after.get("target_date")) for e in events)]
    known = [t for t in targets if t]
    low = min(known, default=end) - datetime.timedelta(days=7)
    high = max(known, default=end) + datetime.timedelta(days=7)
    # A week at least, so changes made on a new release's first days do not pile up.
    axis_end = max(end, start + datetime.timedelta(days=7))
    x_of = _scale(start, axis_end, PLOT_LEFT + 4, PLOT_RIGHT - 4)
    y_of = _scale(low, high, PLOT_BOTTOM - 4, PLOT_TOP + 4)
    changes, segments, current = [], [], first_target
    pen_x = x_of(start)
    for event, after in zip(events, targets[1:], strict=True):
        x = x_of(_day(event.created_at))
        if current:
            segments.append(f"M{pen_x},{y_of(current)}H{x}")
            if after:
                segments.append(f"V{y_of(after)}")
        changes.append(
            SlipChange(
                x=x,
                y=y_of(after) if after else None,
                when=event.created_at,
                before=current,
                after=after,
                days=(after - current).days if after and current else None,
                is_setback=event.is_setback,
                who=event.actor.display_name if event.actor else "Someone",
                why=event.reason,
            )
        )
        current, pen_x = after, x
    if current:
        segments.append(f"M{pen_x},{y_of(current)}H{x_of(end)}")
    total = (release.target_date - first_target).days if release.target_date and first_target else 0
    mid = low + (high - low) / 2
    y_ticks = [Tick(y_of(d), _short(d)) for d in sorted(set(known))[:6]] or [
        Tick(y_of(mid), "no date")
    ]
    x_ticks = [Tick(x_of(start), _short(start)), Tick(x_of(axis_end), _short(axis_end))]
    slips = sum(1 for c in changes if c.is_setback)
    description = (
        f"Target date of {release.name} since {start:%b %-d, %Y}: "
        f"{len(changes)} change{'s' if len(changes) != 1 else ''}, {slips} of them later; "
        + (f"{total:+d} days overall." if total else "no net change.")
    )
    return SlippageChart(
        view_box=f"0 0 {CHART_WIDTH} {CHART_HEIGHT}",
        path="".join(segments),
        start_x=x_of(start),
        start_y=y_of(first_target) if first_target else None,
        end_x=x_of(end),
        changes=changes,
        y_ticks=y_ticks,
        x_ticks=x_ticks,
        first_target=first_target,
        total_slip_days=total,
        description=description,
    )


@dataclass(frozen=True)
class BurnUpChart:
    view_box: str
    shipped_path: str
    scope_y: float
    total: int
    shipped: int
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    target_x: float | None
    today_x: float
    description: str
    plot_left: int = PLOT_LEFT
    plot_right: int = PLOT_RIGHT
    plot_top: int = PLOT_TOP
    plot_bottom: int = PLOT_BOTTOM


def release_burnup_chart(
    release: Release, items: list[Item], ship_times: dict[int, datetime.datetime]
) -> BurnUpChart:
    """Items shipped over time (a rising step line) against the release's scope now (a flat
    line), from its creation (or its first ship) to its target date or today, whichever is
    later."""
    total = sum(1 for i in items if i.status != Item.Status.DECLINED)
    days = sorted(_day(t) for t in ship_times.values())
    today = timezone.localdate()
    start = min([_day(release.created_at), *days[:1]])
    end = max([today, start + datetime.timedelta(days=1), *days[-1:]])
    if release.target_date:
        end = max(end, release.target_date)
    x_of = _scale(start, end, PLOT_LEFT + 4, PLOT_RIGHT - 4)
    top = max(total, len(days), 1)
    y_of = lambda n: round(PLOT_BOTTOM - (PLOT_BOTTOM - PLOT_TOP - 8) * n / top, 1)  # noqa: E731
    path, shipped = [f"M{x_of(start)},{y_of(0)}"], 0
    for day in days:
        shipped += 1
        path.append(f"H{x_of(day)}V{y_of(shipped)}")
    path.append(f"H{x_of(min(today, end))}")
    ticks = sorted({0, top // 2, top}) if top > 1 else [0, 1]
    description = f"{shipped} of {total} item{'s' if total != 1 else ''} shipped" + (
        f"; target {release.target_date:%b %-d, %Y}." if release.target_date else "."
    )
    return BurnUpChart(
        view_box=f"0 0 {CHART_WIDTH} {CHART_HEIGHT}",
        shipped_path="".join(path),
        scope_y=y_of(total),
        total=total,
        shipped=shipped,
        y_ticks=[Tick(y_of(n), str(n)) for n in ticks],
        x_ticks=[Tick(x_of(start), _short(start)), Tick(x_of(end), _short(end))],
        target_x=x_of(release.target_date) if release.target_date else None,
        today_x=x_of(min(today, end)),
        description=description,
    )
