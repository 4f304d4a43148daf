"""Roadmap pages: the list, each roadmap (a now/next/later board, a timeline or a release plan),
its settings and columns, and its history.

Moves answer JSON to the board's script (static/js/roadmap_board.js) and redirect back with a
toast for a plain form post, so every action also works without JavaScript.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from backlog import selectors as backlog_selectors
from backlog.models import Item
from discovery import selectors as discovery_selectors
from pmhub.accounts.models import User
from pmhub.core.db import querysets_read_together_compiled
from pmhub.core.exceptions import ApplicationError
from pmhub.core.forms import FastWidgetRenderer, form_add_service_error
from pmhub.core.html import html_text
from pmhub.core.views import object_or_404
from pmhub.workspaces.decorators import workspace_view
from pmhub.workspaces.models import Workspace
from pmhub.workspaces.roles import Role, role_allows
from pmhub.workspaces.selectors import membership_list, membership_query_for_user
from roadmap import selectors, services
from roadmap.models import (
    DESCRIPTION_MAX_CHARS,
    REASON_MAX_CHARS,
    Roadmap,
    RoadmapColumn,
    RoadmapEvent,
)

PICKER_RESULTS = 8
_URL_ID = 987654321  # a placeholder id: one reverse() per page, then a replace per card


def _can_edit(request: HttpRequest) -> bool:
    return role_allows(request.membership.role, Role.EDITOR)


def _roadmap(request: HttpRequest, roadmap_id: int) -> Roadmap:
    return object_or_404(selectors.roadmap_get, workspace=request.workspace, roadmap_id=roadmap_id)


def _item(request: HttpRequest, item_id: int) -> Item:
    item = object_or_404(backlog_selectors.item_get, workspace=request.workspace, item_id=item_id)
    if item.merged_into_id:
        raise Http404("This item was merged into another.")
    return item


def _item_urls(
    workspace_slug: str, roadmap_id: int | None = None, **names: str
) -> Callable[[dict[str, Any], int], None]:
    """A function setting a card's (or any dict's) links to an item, key -> URL, for `names`
    (key -> URL name)."""
    kwargs: dict[str, Any] = {"workspace_slug": workspace_slug, "item_id": _URL_ID}
    # Each URL split around the placeholder once, so a card's links are two joins each.
    parts = []
    for key, name in names.items():
        extra = {"roadmap_id": roadmap_id} if name.startswith("roadmap:") else {}
        before, _, after = reverse(name, kwargs={**kwargs, **extra}).partition(str(_URL_ID))
        # A slug and ids: nothing to escape, so cards put these links in HTML as they are.
        if html_text(before) != before or html_text(after) != after:
            raise ValueError(f"{name} would need escaping in HTML: {before}{after}")
        parts.append((key, before, after))

    def links(card: dict[str, Any], item_id: int) -> None:
        for key, before, after in parts:
            card[key] = f"{before}{item_id}{after}"

    return links


_STATUS_LABELS = dict(Item.Status.choices)
_KIND_LABELS = dict(Item.Kind.choices)


def _decorate(
    cards: Iterable[dict[str, Any]], links: Callable[[dict[str, Any], int], None]
) -> None:
    """What a card shows beyond its row: labels, the owner's name, its links."""
    for card in cards:
        links(card, card["id"])
        card["status_label"] = _STATUS_LABELS[card["status"]]
        card["kind_label"] = _KIND_LABELS[card["kind"]]
        card["owner_label"] = card.get("owner_name") or card.get("owner_email") or ""


def _back(request: HttpRequest, roadmap: Roadmap) -> HttpResponse:
    """Back to the page the form was on (its `next`), else the roadmap."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("roadmap:roadmap-detail", workspace_slug=request.workspace.slug,
                    roadmap_id=roadmap.id)  # fmt: skip


def _answer(
    request: HttpRequest, roadmap: Roadmap, status: int, message: str, **data: Any
) -> HttpResponse:
    """JSON for the board's script; a plain form post goes back with a toast."""
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"message": message, **data}, status=status)
    (messages.success if status == 200 else messages.error)(request, message)
    return _back(request, roadmap)


def _refusal(
    request: HttpRequest, roadmap: Roadmap, exc: ValidationError | ApplicationError
) -> HttpResponse:
    """A service's refusal as the answer: gone 404, stale 409, the rest 400 (with its extra:
    `reason_required` tells the script to ask why and send it again)."""
    if isinstance(exc, ApplicationError):
        status = {404: 404, 412: 409}.get(getattr(exc, "status_code", 400), 400)
        return _answer(request, roadmap, status, exc.message, **(exc.extra or {}))
    return _answer(request, roadmap, 400, " ".join(exc.messages))


# --- filters ---------------------------------------------------------------------------------
class RoadmapFilterForm(forms.Form):
    """The page's filters, narrowing what the roadmap shows, and how the page groups it."""

    # The backlog's filter bar's renderer: its selects written in Python, the same markup as
    # Django's templates (through them, the five selects cost ~1.5 ms a page).
    default_renderer = FastWidgetRenderer()

    area = forms.ChoiceField(label="Area", required=False)
    tag = forms.ChoiceField(label="Tag", required=False)
    owner = forms.ChoiceField(label="Owner", required=False)
    status = forms.ChoiceField(label="Status", required=False)
    group = forms.ChoiceField(label="Group by", required=False)

    def __init__(
        self,
        *args: Any,
        workspace: Any,
        choices: tuple[Iterable[Any], Iterable[Any], Iterable[Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        """`choices`: the workspace's areas, tags and members when the page read them already."""
        super().__init__(*args, **kwargs)
        if choices is None:
            choices = (
                backlog_selectors.product_area_list(workspace=workspace),
                discovery_selectors.tag_list(workspace=workspace),
                membership_list(workspace=workspace),
            )
        areas, tags, members = choices
        self.fields["area"].choices = [("", "Any area"), *((str(a.id), a.name) for a in areas)]
        self.fields["tag"].choices = [("", "Any tag"), *((str(t.id), t.name) for t in tags)]
        self.fields["owner"].choices = [
            ("", "Anyone"),
            *((str(m.user_id), m.user.name or m.user.email) for m in members),
        ]
        self.fields["status"].choices = [("", "Any status"), *Item.Status.choices]
        self.fields["group"].choices = [
            ("", "As saved"),
            ("none", "No grouping"),
            ("area", "Product area"),
            ("objective", "Objective"),
        ]
        for field in self.fields.values():
            field.widget.attrs["data-autosubmit"] = ""

    def page_filters(self) -> dict[str, Any]:
        if not self.is_valid():
            return {}
        return {k: [v] for k in ("area", "tag", "owner", "status") if (v := self.cleaned_data[k])}

    def grouping(self, roadmap: Roadmap) -> str:
        chosen = self.cleaned_data.get("group", "") if self.is_valid() else ""
        if chosen == "none":
            return ""
        return chosen or roadmap.group_by


def _filter_query(request: HttpRequest, **extra: str) -> str:
    query = QueryDict(mutable=True)
    for name in ("area", "tag", "owner", "status", "group", "scale", "window"):
        if request.GET.get(name):
            query[name] = request.GET[name][:40]
    for name, value in extra.items():
        query[name] = value
    return query.urlencode()


def _lanes(cards: list[dict[str, Any]], group: str) -> list[dict[str, Any]]:
    """Cards in lanes by area or objective (by name; the ungrouped last)."""
    if not group:
        return [{"key": "all", "label": "", "cards": cards}]
    key_field, label_field, none_label = {
        "area": ("area_id", "area_name", "No area"),
        "objective": ("objective_id", "objective_title", "No objective"),
    }[group]
    lanes: dict[Any, dict[str, Any]] = {}
    for card in cards:
        key = card.get(key_field)
        lane = lanes.setdefault(
            key, {"key": key or "none", "label": card.get(label_field) or none_label, "cards": []}
        )
        lane["cards"].append(card)
    return sorted(lanes.values(), key=lambda lane: (lane["key"] == "none", lane["label"].lower()))


# --- the list and the new roadmap ------------------------------------------------------------
@workspace_view()
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """Every roadmap of the workspace: one statement."""
    roadmaps = list(selectors.roadmap_list(workspace=request.workspace))
    return render(
        request,
        "roadmap/index.html",
        {"roadmaps": roadmaps, "can_edit": _can_edit(request), "kinds": Roadmap.Kind},
    )


def _split_columns(text: str) -> list[str]:
    separator = "\n" if "\n" in text else ","
    return [name.strip() for name in text.split(separator) if name.strip()]


class RoadmapForm(forms.Form):
    name = forms.CharField(max_length=120, label="Name")
    kind = forms.ChoiceField(
        choices=Roadmap.Kind.choices,
        initial=Roadmap.Kind.NOW_NEXT_LATER,
        widget=forms.RadioSelect,
        label="Kind",
    )
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=DESCRIPTION_MAX_CHARS,
        label="Description",
        help_text="Who it is for and what it answers.",
    )
    columns = forms.CharField(
        initial="Now, Next, Later",
        required=False,
        max_length=800,
        label="Columns",
        help_text="For now / next / later: the horizons left to right, separated by commas.",
    )
    area = forms.MultipleChoiceField(required=False, label="Areas")
    tag = forms.MultipleChoiceField(required=False, label="Tags")
    owner = forms.MultipleChoiceField(required=False, label="Owners")
    status = forms.MultipleChoiceField(
        required=False, label="Statuses", choices=Item.Status.choices
    )
    group_by = forms.ChoiceField(choices=Roadmap.GroupBy.choices, required=False, label="Group by")
    scale = forms.ChoiceField(
        choices=Roadmap.Scale.choices, initial=Roadmap.Scale.MONTH, label="Timeline scale"
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, workspace: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        areas = backlog_selectors.product_area_list(workspace=workspace)
        tags = discovery_selectors.tag_list(workspace=workspace)
        members = membership_list(workspace=workspace)
        self.fields["area"].choices = [(str(a.id), a.name) for a in areas]
        self.fields["tag"].choices = [(str(t.id), t.name) for t in tags]
        self.fields["owner"].choices = [
            (str(m.user_id), m.user.name or m.user.email) for m in members
        ]
        for name in ("area", "tag", "owner", "status"):
            self.fields[name].widget.attrs["size"] = 4
        if editing:
            del self.fields["kind"]
            del self.fields["columns"]

    def saved_filters(self) -> dict[str, list[str]]:
        data = self.cleaned_data
        return {k: data[k] for k in ("area", "tag", "owner", "status") if data.get(k)}


@workspace_view(roles={"GET": Role.EDITOR})
@require_http_methods(["GET", "POST"])
def roadmap_new(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace
    form = RoadmapForm(request.POST or None, workspace=workspace)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            roadmap = services.roadmap_create(
                workspace=workspace,
                actor=request.user,
                name=data["name"],
                kind=data["kind"],
                description=data["description"],
                columns=_split_columns(data["columns"]) or None,
                filters=form.saved_filters(),
                group_by=data["group_by"],
                scale=data["scale"],
            )
        except (ValidationError, ApplicationError) as exc:
            form_add_service_error(form, exc)
        else:
            messages.success(request, f"“{roadmap.name}” is ready.")
            return redirect(
                "roadmap:roadmap-detail", workspace_slug=workspace.slug, roadmap_id=roadmap.id
            )
    return render(request, "roadmap/roadmap_form.html", {"form": form, "roadmap": None})


# --- one roadmap -------------------------------------------------------------------------------
def _detail_reads(values: dict[str, Any]) -> tuple[QuerySet[Any], ...]:
    """The roadmap page's small reads, by the ids in `values` (stand-ins when compiled)."""
    workspace = Workspace(id=values["workspace_id"])
    roadmap_id = values["roadmap_id"]
    return (
        selectors.roadmap_query(workspace=workspace, roadmap_id=roadmap_id),
        # Read for every kind, though only a board has columns: it costs less than the round
        # trip it would take after the roadmap's kind is known.
        selectors.roadmap_columns_query(workspace=workspace, roadmap_id=roadmap_id),
        backlog_selectors.product_area_list(workspace=workspace),
        discovery_selectors.tag_list(workspace=workspace),
        membership_list(workspace=workspace),
        backlog_selectors.primary_formula_query(workspace=workspace),
        membership_query_for_user(user=User(id=values["user_id"])),
    )


@workspace_view()
@require_GET
def roadmap_detail(request: HttpRequest, roadmap_id: int) -> HttpResponse:
    """The roadmap as its kind draws it. Queries: in one round trip the roadmap, its columns,
    the filters' choices (areas, tags, members), the primary formula and the layout's
    workspace switcher; then the board's cards, the timeline's bars or the release plan's
    releases and cards."""
    workspace = request.workspace
    values = {"workspace_id": workspace.id, "roadmap_id": roadmap_id, "user_id": request.user.id}
    roadmaps, columns, areas, tags, members, primaries, switcher = querysets_read_together_compiled(
        "roadmap_detail", _detail_reads, values
    )
    if not roadmaps:
        raise Http404
    roadmap = roadmaps[0]
    form = RoadmapFilterForm(
        request.GET or None, workspace=workspace, choices=(areas, tags, members)
    )
    filters = selectors.roadmap_filters(roadmap, form.page_filters())
    group = form.grouping(roadmap)
    saved_group = roadmap.group_by
    roadmap.group_by = group  # this page's grouping; never saved from here
    can_edit = _can_edit(request)
    context: dict[str, Any] = {
        "roadmap": roadmap,
        "form": form,
        "group": group,
        "saved_group": saved_group,
        "can_edit": can_edit,
        "has_filters": bool(form.page_filters()),
        "primary": primaries[0] if primaries else None,
        "filter_query": _filter_query(request),
        "page_url": request.get_full_path(),
        # The layout's workspace switcher, read with the rest (the context processor's is lazy).
        "switcher_memberships": switcher,
    }
    if roadmap.kind == Roadmap.Kind.TIMELINE:
        context.update(_timeline_context(request, roadmap, filters, group, can_edit))
        template = "roadmap/roadmap_timeline.html"
    elif roadmap.kind == Roadmap.Kind.RELEASE_PLAN:
        context.update(_release_plan_context(request, roadmap, filters, group, can_edit))
        template = "roadmap/roadmap_releases.html"
    else:
        context.update(_board_context(request, roadmap, filters, group, can_edit, columns))
        return _render_late(request, "roadmap/roadmap_detail.html", context)
    return render(request, template, context)


def _render_late(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    """render(), with the fragments the template left for later (`late_html`: marker -> HTML)
    put in the page's bytes in their markers' places.

    A board's lanes are ~420 KB of its ~550 KB page. Rendered in place, the template engine
    copied them again at every level of nesting (each block, `if` and `with` joins its nodes'
    output into a new string) and encoded them with the rest: ~4 ms a page, more than building
    them took."""
    late: dict[str, str] = {}
    response = render(request, template, {**context, "late_html": late})
    if late:
        content = response.content
        for marker, html in late.items():
            before, found, after = content.partition(marker.encode(response.charset))
            if found:
                content = b"".join((before, html.encode(response.charset), after))
        response.content = content
    return response


def _card_links(request: HttpRequest, roadmap: Roadmap, can_edit: bool, **extra: str):
    names = {"detail_url": "backlog:item-detail", **(extra if can_edit else {})}
    return _item_urls(request.workspace.slug, roadmap.id, **names)


def _board_context(
    request: HttpRequest,
    roadmap: Roadmap,
    filters: selectors.RoadmapFilters,
    group: str,
    can_edit: bool,
    roadmap_columns: list[RoadmapColumn],
) -> dict[str, Any]:
    columns = selectors.roadmap_board(
        workspace=request.workspace,
        roadmap=roadmap,
        filters=filters,
        page_size=selectors.COLUMN_PAGE,
        columns=roadmap_columns,
    )
    links = _card_links(
        request,
        roadmap,
        can_edit,
        move_url="roadmap:placement-move",
        remove_url="roadmap:placement-remove",
    )
    _decorate((card for column in columns for card in column.cards), links)
    total = sum(column.count for column in columns)
    for column in columns:
        column.remaining = column.count - len(column.cards)
    lane_cards: dict[Any, dict[str, Any]] = {}
    for index, column in enumerate(columns):
        for lane in _lanes(column.cards, group):
            entry = lane_cards.setdefault(lane["key"], {**lane, "cells": {}})
            entry["cells"][index] = lane["cards"]
    lanes = sorted(
        lane_cards.values(), key=lambda lane: (lane["key"] == "none", lane["label"].lower())
    )
    if not lanes:
        lanes = [{"key": "all", "label": "", "cells": {}}]
    for lane in lanes:
        lane["cells"] = [
            {
                "column": column.column,
                "board": column,
                "position": index,
                "cards": lane["cells"].get(index, []),
            }
            for index, column in enumerate(columns)
        ]
    return {
        "columns": columns,
        "lanes": lanes,
        "total": total,
        "is_empty": total == 0 and not filters.active,
    }


# --- the timeline ------------------------------------------------------------------------------
def _percent(value: float) -> str:
    return f"{max(0.0, min(100.0, value)):.3f}"


def _period_starts(start: datetime.date, end: datetime.date, months: int) -> list[datetime.date]:
    starts, day = [], start
    while day <= end:
        starts.append(day)
        index = day.year * 12 + day.month - 1 + months
        day = datetime.date(index // 12, index % 12 + 1, 1)
    return starts


def timeline_layout(
    timeline: selectors.Timeline, scale: str, today: datetime.date
) -> dict[str, Any]:
    """Where everything sits on the timeline, in % of its width: the periods, today's line, and
    each bar (start to end, clipped to the window) or diamond (a release's target date when
    the item has no dates). Computed here so the page needs no style attributes."""
    start, end = timeline.start, timeline.end
    days = (end - start).days + 1

    def at(day: datetime.date) -> float:
        return (day - start).days / days * 100

    step = 3 if scale == Roadmap.Scale.QUARTER else 1
    periods = []
    starts = _period_starts(start, end, step)
    for index, first in enumerate(starts):
        last = starts[index + 1] if index + 1 < len(starts) else end + datetime.timedelta(days=1)
        label = (
            f"Q{(first.month - 1) // 3 + 1} {first.year}"
            if step == 3
            else first.strftime("%b %Y" if first.month == 1 or index == 0 else "%b")
        )
        periods.append({"label": label, "left": _percent(at(first)),
                        "width": _percent(at(last) - at(first)), "start": first})  # fmt: skip
    for bar in timeline.bars:
        first, last = bar.get("start_date"), bar.get("end_date")
        if first or last:
            first, last = first or last, last or first
            left, right = at(first), at(last + datetime.timedelta(days=1))
            bar["shape"] = "bar"
            bar["left"] = _percent(left)
            bar["width"] = _percent(max(min(right, 100) - max(left, 0), 0.6))
            bar["clipped_start"] = first < start
            bar["clipped_end"] = last > end
            bar["label_dates"] = f"{first:%b %-d} – {last:%b %-d, %Y}"
        else:
            target = bar["release_target"]
            bar["shape"] = "milestone"
            bar["left"] = _percent(at(target) + 0.5 / days * 100)
            bar["label_dates"] = f"{bar.get('release_name')} · {target:%b %-d, %Y}"
    return {
        "periods": periods,
        "days": days,
        "today_left": _percent(at(today)) if start <= today <= end else None,
    }


def _timeline_context(
    request: HttpRequest,
    roadmap: Roadmap,
    filters: selectors.RoadmapFilters,
    group: str,
    can_edit: bool,
) -> dict[str, Any]:
    scale = request.GET.get("scale", "")
    scale = scale if scale in Roadmap.Scale.values else roadmap.scale
    raw_window = request.GET.get("window", "0")
    offset = int(raw_window) if raw_window.lstrip("-").isdigit() else 0
    offset = max(-20, min(20, offset))
    today = timezone.localdate()
    start, end = selectors.timeline_window(scale, today, offset)
    timeline = selectors.roadmap_timeline(
        workspace=request.workspace, roadmap=roadmap, start=start, end=end, filters=filters
    )
    links = _card_links(request, roadmap, can_edit, schedule_url="roadmap:item-schedule")
    _decorate(timeline.bars, links)
    layout = timeline_layout(timeline, scale, today)

    def window_url(**changes: str) -> str:
        query = _filter_query(request, scale=scale, window=str(offset))
        merged = QueryDict(query, mutable=True)
        for key, value in changes.items():
            merged[key] = value
        return f"?{merged.urlencode()}"

    return {
        "timeline": timeline,
        "layout": layout,
        "lanes": _lanes(timeline.bars, group),
        "scale": scale,
        "offset": offset,
        "prev_url": window_url(window=str(offset - 1)),
        "next_url": window_url(window=str(offset + 1)),
        "today_url": window_url(window="0"),
        "month_url": window_url(scale=Roadmap.Scale.MONTH, window="0"),
        "quarter_url": window_url(scale=Roadmap.Scale.QUARTER, window="0"),
        "is_empty": timeline.count == 0 and not filters.active and offset == 0,
        "backlog_url": reverse("backlog:index", kwargs={"workspace_slug": request.workspace.slug}),
    }


# --- the release plan --------------------------------------------------------------------------
def _release_plan_context(
    request: HttpRequest,
    roadmap: Roadmap,
    filters: selectors.RoadmapFilters,
    group: str,
    can_edit: bool,
) -> dict[str, Any]:
    columns = selectors.roadmap_release_plan(
        workspace=request.workspace, roadmap=roadmap, today=timezone.localdate(), filters=filters
    )
    links = _card_links(request, roadmap, can_edit, move_url="roadmap:item-schedule")
    _decorate((card for column in columns for card in column.cards), links)
    for index, column in enumerate(columns):
        column.position = index
    return {
        "release_columns": columns,
        "total": sum(column.count for column in columns),
        "is_empty": not columns,
    }


# --- moves on a board ----------------------------------------------------------------------------
class MoveForm(forms.Form):
    column_id = forms.IntegerField(min_value=1)
    after_item_id = forms.IntegerField(min_value=1, required=False)
    before_item_id = forms.IntegerField(min_value=1, required=False)
    reason = forms.CharField(required=False, max_length=REASON_MAX_CHARS)


def _form_message(form: forms.Form, fallback: str) -> str:
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        return (
            f"{label or name.replace('_', ' ').capitalize()}: {errors[0]}" if label else errors[0]
        )
    return fallback


def _board_roadmap(request: HttpRequest, roadmap_id: int) -> Roadmap:
    roadmap = _roadmap(request, roadmap_id)
    if roadmap.kind != Roadmap.Kind.NOW_NEXT_LATER:
        raise Http404("Only now / next / later roadmaps have columns.")
    return roadmap


@workspace_view()
@require_POST
def placement_move(request: HttpRequest, roadmap_id: int, item_id: int) -> HttpResponse:
    """A card dropped in a column (and next to a card), or moved there with the keyboard. A move
    to a later column needs a reason: without one the answer is 400 with reason_required."""
    roadmap = _board_roadmap(request, roadmap_id)
    item = _item(request, item_id)
    form = MoveForm(request.POST)
    if not form.is_valid():
        return _answer(request, roadmap, 400, _form_message(form, "Choose a column."))
    data = form.cleaned_data
    try:
        placement = services.placement_move(
            workspace=request.workspace,
            actor=request.user,
            roadmap=roadmap,
            item=item,
            column_id=data["column_id"],
            after_item_id=data["after_item_id"],
            before_item_id=None if data["after_item_id"] else data["before_item_id"],
            reason=data["reason"],
            reason_required=True,
        )
    except (ValidationError, ApplicationError) as exc:
        return _refusal(request, roadmap, exc)
    return _answer(
        request,
        roadmap,
        200,
        f"“{item.title}” is in {placement.column.name}.",
        column_id=placement.column_id,
        rank=placement.rank,
    )


class AddForm(forms.Form):
    item_id = forms.IntegerField(min_value=1, label="Item", error_messages={
        "required": "Choose an item to add."})  # fmt: skip
    column_id = forms.IntegerField(min_value=1)


@workspace_view()
@require_POST
def placement_add(request: HttpRequest, roadmap_id: int) -> HttpResponse:
    """An item added at the bottom of a column; one already on the board moves there."""
    roadmap = _board_roadmap(request, roadmap_id)
    form = AddForm(request.POST)
    if not form.is_valid():
        return _answer(request, roadmap, 400, _form_message(form, "Choose an item to add."))
    item = _item(request, form.cleaned_data["item_id"])
    try:
        placement = services.placement_add(
            workspace=request.workspace,
            actor=request.user,
            roadmap=roadmap,
            item=item,
            column_id=form.cleaned_data["column_id"],
            reason=request.POST.get("reason", "")[:REASON_MAX_CHARS],
        )
    except (ValidationError, ApplicationError) as exc:
        return _refusal(request, roadmap, exc)
    return _answer(request, roadmap, 200, f"“{item.title}” is in {placement.column.name}.")


@workspace_view()
@require_POST
def placement_remove(request: HttpRequest, roadmap_id: int, item_id: int) -> HttpResponse:
    roadmap = _board_roadmap(request, roadmap_id)
    item = _item(request, item_id)
    try:
        services.placement_remove(
            workspace=request.workspace,
            actor=request.user,
            roadmap=roadmap,
            item=item,
            reason=request.POST.get("reason", "")[:REASON_MAX_CHARS],
        )
    except (ValidationError, ApplicationError) as exc:
        return _refusal(request, roadmap, exc)
    return _answer(request, roadmap, 200, f"“{item.title}” is off this roadmap.")


@workspace_view()
@require_GET
def item_picker(request: HttpRequest, roadmap_id: int) -> HttpResponse:
    """Items matching what is typed in a column's "Add item" picker: one statement."""
    roadmap = _board_roadmap(request, roadmap_id)
    query = request.GET.get("q", "")[:200]
    column_id = request.GET.get("column_id", "")
    items = (
        backlog_selectors.item_search(
            workspace=request.workspace, query=query, limit=PICKER_RESULTS
        )
        if query.strip()
        else []
    )
    return render(
        request,
        "roadmap/_roadmap_picker_options.html",
        {"roadmap": roadmap, "items": items, "query": query,
         "column_id": column_id if column_id.isdigit() else ""},
    )  # fmt: skip


@workspace_view()
@require_GET
def column_more(request: HttpRequest, roadmap_id: int, column_id: int) -> HttpResponse:
    """A column's next page of cards, after the rank `after`: appended by htmx, or a page of
    its own without JavaScript."""
    roadmap = _board_roadmap(request, roadmap_id)
    column = object_or_404(
        selectors.roadmap_column_get, workspace=request.workspace, roadmap=roadmap,
        column_id=column_id,
    )  # fmt: skip
    form = RoadmapFilterForm(request.GET or None, workspace=request.workspace)
    filters = selectors.roadmap_filters(roadmap, form.page_filters())
    after = request.GET.get("after", "")[:64]
    cards = selectors.roadmap_column_page(
        workspace=request.workspace, roadmap=roadmap, column=column, after_rank=after,
        filters=filters, page_size=selectors.COLUMN_PAGE,
    )  # fmt: skip
    has_more = len(cards) > selectors.COLUMN_PAGE
    cards = cards[: selectors.COLUMN_PAGE]
    can_edit = _can_edit(request)
    links = _card_links(
        request, roadmap, can_edit,
        move_url="roadmap:placement-move", remove_url="roadmap:placement-remove",
    )  # fmt: skip
    _decorate(cards, links)
    context = {
        "roadmap": roadmap,
        "column": column,
        "cards": cards,
        "next_rank": cards[-1]["rank"] if has_more and cards else None,
        "can_edit": can_edit,
        "filter_query": _filter_query(request),
        "primary": backlog_selectors.primary_formula_get(workspace=request.workspace),
    }
    if request.headers.get("HX-Request"):
        return render(request, "roadmap/_roadmap_more.html", context)
    return render(request, "roadmap/roadmap_column.html", context)


# --- dates and releases ------------------------------------------------------------------------
class ScheduleForm(forms.Form):
    start_date = forms.DateField(required=False, label="Start")
    end_date = forms.DateField(required=False, label="End")
    release_id = forms.IntegerField(min_value=1, required=False)
    reason = forms.CharField(required=False, max_length=REASON_MAX_CHARS, label="Reason")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("start_date"), data.get("end_date")
        if start and end and end < start:
            raise ValidationError("It ends before it starts: pick an end on or after the start.")
        return data


@workspace_view()
@require_POST
def item_schedule(request: HttpRequest, roadmap_id: int, item_id: int) -> HttpResponse:
    """An item's dates from the timeline, or its release from the release plan. A slip (a later
    end, a later release) needs a reason: 400 with reason_required without one."""
    roadmap = _roadmap(request, roadmap_id)
    if roadmap.kind == Roadmap.Kind.NOW_NEXT_LATER:
        raise Http404("Boards place items in columns, not on dates.")
    item = _item(request, item_id)
    form = ScheduleForm(request.POST)
    if not form.is_valid():
        return _answer(request, roadmap, 400, _form_message(form, "Check the dates."))
    data = form.cleaned_data
    changes: dict[str, Any] = {}
    if "release_id" in request.POST:
        changes["release_id"] = data["release_id"]
    if "start_date" in request.POST or "end_date" in request.POST:
        changes.update(start_date=data["start_date"], end_date=data["end_date"])
    if not changes:
        return _answer(request, roadmap, 400, "Send dates or a release.")
    try:
        schedule = services.item_schedule_set(
            workspace=request.workspace,
            actor=request.user,
            item=item,
            reason=data["reason"],
            reason_required=True,
            roadmap=roadmap,
            **changes,
        )
    except (ValidationError, ApplicationError) as exc:
        return _refusal(request, roadmap, exc)
    if "release_id" in changes:
        where = f"in {schedule.release.name}" if schedule.release else "without a release"
        message = f"“{item.title}” is {where}."
    elif schedule.start_date or schedule.end_date:
        first, last = schedule.start_date or schedule.end_date, schedule.end_date
        message = f"“{item.title}” runs {first:%b %-d}" + (
            f" – {last:%b %-d, %Y}." if last else "."
        )
    else:
        message = f"“{item.title}” has no dates now."
    return _answer(request, roadmap, 200, message, release_id=schedule.release_id)


# --- settings and columns ------------------------------------------------------------------------
def _settings_context(request: HttpRequest, roadmap: Roadmap, form: RoadmapForm) -> dict[str, Any]:
    columns = (
        selectors.roadmap_columns(workspace=request.workspace, roadmap=roadmap)
        if roadmap.kind == Roadmap.Kind.NOW_NEXT_LATER
        else []
    )
    return {"roadmap": roadmap, "form": form, "columns": columns}


@workspace_view(roles={"GET": Role.EDITOR})
@require_http_methods(["GET", "POST"])
def roadmap_edit(request: HttpRequest, roadmap_id: int) -> HttpResponse:
    """The roadmap's settings. Saving checks the version the form was opened at, so a second
    tab's older form does not undo a newer change."""
    workspace = request.workspace
    roadmap = _roadmap(request, roadmap_id)
    initial = {
        "name": roadmap.name,
        "description": roadmap.description,
        "group_by": roadmap.group_by,
        "scale": roadmap.scale,
        "version": roadmap.version,
        **{k: [str(v) for v in roadmap.filters.get(k, [])] for k in services.FILTER_KEYS},
    }
    form = RoadmapForm(request.POST or None, workspace=workspace, editing=True, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            roadmap = services.roadmap_update(
                workspace=workspace,
                actor=request.user,
                roadmap=roadmap,
                version=data["version"],
                name=data["name"],
                description=data["description"],
                filters=form.saved_filters(),
                group_by=data["group_by"],
                scale=data["scale"],
            )
        except (ValidationError, ApplicationError) as exc:
            form_add_service_error(form, exc)
        else:
            messages.success(request, f"“{roadmap.name}” saved.")
            return redirect(
                "roadmap:roadmap-detail", workspace_slug=workspace.slug, roadmap_id=roadmap.id
            )
    return render(request, "roadmap/roadmap_form.html", _settings_context(request, roadmap, form))


@workspace_view()
@require_POST
def roadmap_delete(request: HttpRequest, roadmap_id: int) -> HttpResponse:
    roadmap = _roadmap(request, roadmap_id)
    try:
        services.roadmap_delete(workspace=request.workspace, actor=request.user, roadmap=roadmap)
    except ApplicationError as exc:
        raise Http404(exc.message) from exc
    messages.success(request, f"“{roadmap.name}” was deleted. The backlog items are untouched.")
    return redirect("roadmap:index", workspace_slug=request.workspace.slug)


def _settings_back(request: HttpRequest, roadmap: Roadmap, error: Any = None) -> HttpResponse:
    if error is not None:
        text = error.message if isinstance(error, ApplicationError) else " ".join(error.messages)
        messages.error(request, text)
    return redirect("roadmap:roadmap-edit", workspace_slug=request.workspace.slug,
                    roadmap_id=roadmap.id)  # fmt: skip


def _column(request: HttpRequest, roadmap: Roadmap, column_id: int) -> Any:
    column = selectors.roadmap_columns(workspace=request.workspace, roadmap=roadmap)
    found = next((c for c in column if c.id == column_id), None)
    if found is None:
        raise Http404("This column no longer exists.")
    return found, column


def _column_change(
    request: HttpRequest, roadmap: Roadmap, change: Callable[[], Any], message: Callable[[Any], str]
) -> HttpResponse:
    """Run a column service; back to the settings with its toast or its refusal."""
    try:
        result = change()
    except (ValidationError, ApplicationError) as exc:
        return _settings_back(request, roadmap, exc)
    messages.success(request, message(result))
    return _settings_back(request, roadmap)


@workspace_view()
@require_POST
def column_create(request: HttpRequest, roadmap_id: int) -> HttpResponse:
    roadmap = _board_roadmap(request, roadmap_id)
    return _column_change(
        request,
        roadmap,
        lambda: services.roadmap_column_create(
            workspace=request.workspace,
            actor=request.user,
            roadmap=roadmap,
            name=request.POST.get("name", "")[:200],
        ),  # fmt: skip
        lambda column: f"Column “{column.name}” added at the end.",
    )


@workspace_view()
@require_POST
def column_rename(request: HttpRequest, roadmap_id: int, column_id: int) -> HttpResponse:
    roadmap = _board_roadmap(request, roadmap_id)
    column, _ = _column(request, roadmap, column_id)
    return _column_change(
        request,
        roadmap,
        lambda: services.roadmap_column_rename(
            workspace=request.workspace,
            actor=request.user,
            column=column,
            name=request.POST.get("name", "")[:200],
        ),  # fmt: skip
        lambda renamed: f"Column renamed to “{renamed.name}”.",
    )


@workspace_view()
@require_POST
def column_shift(request: HttpRequest, roadmap_id: int, column_id: int) -> HttpResponse:
    """Move a column one place left or right (the order says what is sooner)."""
    roadmap = _board_roadmap(request, roadmap_id)
    column, columns = _column(request, roadmap, column_id)
    step = -1 if request.POST.get("direction") == "left" else 1
    ids = [c.id for c in columns]
    index = ids.index(column.id)
    target = index + step
    if 0 <= target < len(ids):
        ids[index], ids[target] = ids[target], ids[index]
        try:
            services.roadmap_columns_reorder(
                workspace=request.workspace, actor=request.user, roadmap=roadmap, column_ids=ids
            )
        except (ValidationError, ApplicationError) as exc:
            return _settings_back(request, roadmap, exc)
    return _settings_back(request, roadmap)


@workspace_view()
@require_POST
def column_delete(request: HttpRequest, roadmap_id: int, column_id: int) -> HttpResponse:
    """Delete a column; its items go to the column chosen (each move recorded)."""
    roadmap = _board_roadmap(request, roadmap_id)
    column, columns = _column(request, roadmap, column_id)
    raw = request.POST.get("move_to", "")
    move_to = next((c for c in columns if raw.isdigit() and c.id == int(raw)), None)
    moved = f"; its items are in {move_to.name}" if move_to else ""
    return _column_change(
        request,
        roadmap,
        lambda: services.roadmap_column_delete(
            workspace=request.workspace, actor=request.user, column=column, move_to=move_to
        ),
        lambda _: f"Column “{column.name}” deleted{moved}.",
    )


# --- history -----------------------------------------------------------------------------------
def _parse_cursor(raw: str) -> tuple[datetime.datetime, int] | None:
    at, _, event_id = raw.rpartition("_")
    try:
        moment = datetime.datetime.fromisoformat(at)
    except ValueError:
        return None
    if moment.tzinfo is None or not event_id.isdigit():
        return None
    return moment, int(event_id)


@workspace_view()
@require_GET
def roadmap_history(request: HttpRequest, roadmap_id: int) -> HttpResponse:
    """The roadmap's events, newest first, 50 a page: the roadmap, then one statement."""
    roadmap = _roadmap(request, roadmap_id)
    kind = request.GET.get("kind", "")
    kind = kind if kind in RoadmapEvent.Kind.values else ""
    cursor = _parse_cursor(request.GET.get("before", "")[:80])
    events, has_older = selectors.roadmap_event_page(
        workspace=request.workspace,
        roadmap=roadmap,
        kinds=(kind,) if kind else (),
        before=cursor,
        limit=selectors.HISTORY_PAGE,
    )
    older_url = None
    if has_older and events:
        last = events[-1]
        query = QueryDict(mutable=True)
        if kind:
            query["kind"] = kind
        query["before"] = f"{last.created_at.isoformat()}_{last.id}"
        older_url = f"?{query.urlencode()}"
    links = _item_urls(request.workspace.slug, detail_url="backlog:item-detail")
    for event in events:
        event_links: dict[str, Any] = {"detail_url": ""}
        if event.item_id:
            links(event_links, event.item_id)
        event.detail_url = event_links["detail_url"]
        event.change = _event_change(event)
    return render(
        request,
        "roadmap/roadmap_history.html",
        {
            "roadmap": roadmap,
            "events": events,
            "kind": kind,
            "kinds": RoadmapEvent.Kind.choices,
            "older_url": older_url,
            "is_first_page": cursor is None,
        },
    )


def _event_change(event: RoadmapEvent) -> tuple[str, str] | None:
    """The event's before → after in words."""
    before, after = event.before or {}, event.after or {}

    def dates(side: dict[str, Any]) -> str:
        first, last = side.get("start"), side.get("end")
        if not first and not last:
            return "no dates"
        return f"{first or '…'} – {last or '…'}"

    if event.kind == RoadmapEvent.Kind.PLACED:
        return ("", after.get("column") or "—")
    if event.kind == RoadmapEvent.Kind.REMOVED:
        return (before.get("column") or "—", "off the roadmap")
    if event.kind == RoadmapEvent.Kind.MOVED:
        return (before.get("column") or "—", after.get("column") or "—")
    if event.kind == RoadmapEvent.Kind.REDATED:
        return (dates(before), dates(after))
    if event.kind == RoadmapEvent.Kind.RELEASE_CHANGED:
        return (before.get("release") or "no release", after.get("release") or "no release")
    if event.kind in (RoadmapEvent.Kind.SHIPPED, RoadmapEvent.Kind.DECLINED,
                      RoadmapEvent.Kind.RELEASE_STATUS):  # fmt: skip
        return (str(before.get("status", "—")).replace("_", " "),
                str(after.get("status", "—")).replace("_", " "))  # fmt: skip
    if event.kind == RoadmapEvent.Kind.RELEASE_REDATED:
        return (str(before.get("target_date") or "no date"),
                str(after.get("target_date") or "no date"))  # fmt: skip
    return None


urlpatterns = [
    path("", index, name="index"),
    path("roadmaps/new/", roadmap_new, name="roadmap-new"),
    path("roadmaps/<int:roadmap_id>/", roadmap_detail, name="roadmap-detail"),
    path("roadmaps/<int:roadmap_id>/edit/", roadmap_edit, name="roadmap-edit"),
    path("roadmaps/<int:roadmap_id>/delete/", roadmap_delete, name="roadmap-delete"),
    path("roadmaps/<int:roadmap_id>/history/", roadmap_history, name="roadmap-history"),
    path("roadmaps/<int:roadmap_id>/items/add/", placement_add, name="placement-add"),
    path("roadmaps/<int:roadmap_id>/items/search/", item_picker, name="item-picker"),
    path(
        "roadmaps/<int:roadmap_id>/items/<int:item_id>/move/",
        placement_move,
        name="placement-move",
    ),
    path(
        "roadmaps/<int:roadmap_id>/items/<int:item_id>/remove/",
        placement_remove,
        name="placement-remove",
    ),
    path(
        "roadmaps/<int:roadmap_id>/items/<int:item_id>/schedule/",
        item_schedule,
        name="item-schedule",
    ),
    path("roadmaps/<int:roadmap_id>/columns/new/", column_create, name="column-create"),
    path(
        "roadmaps/<int:roadmap_id>/columns/<int:column_id>/more/", column_more, name="column-more"
    ),
    path(
        "roadmaps/<int:roadmap_id>/columns/<int:column_id>/rename/",
        column_rename,
        name="column-rename",
    ),
    path(
        "roadmaps/<int:roadmap_id>/columns/<int:column_id>/shift/",
        column_shift,
        name="column-shift",
    ),
    path(
        "roadmaps/<int:roadmap_id>/columns/<int:column_id>/delete/",
        column_delete,
        name="column-delete",
    ),
]
