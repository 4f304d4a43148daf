"""Release pages: the list, one release (progress, slippage, its items and its launch
checklist), the release form, and the checklist's task form."""

from __future__ import annotations

from functools import partial
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from backlog.selectors import item_search
from pmhub.core.exceptions import ApplicationError
from pmhub.core.forms import form_add_service_error
from pmhub.core.markdown import render_markdown
from pmhub.core.views import object_or_404
from pmhub.workspaces.decorators import workspace_view
from pmhub.workspaces.roles import Role
from pmhub.workspaces.selectors import membership_list
from roadmap import releases
from roadmap.models import DESCRIPTION_MAX_CHARS, REASON_MAX_CHARS, LaunchTask, Release
from roadmap.services import ReasonRequiredError, StaleRoadmapError

PICKER_MATCHES = 12
STATUS_TABS = (("", "All"), *Release.Status.choices)


class ReleaseForm(forms.Form):
    name = forms.CharField(max_length=120, widget=forms.TextInput(attrs={"autofocus": True}))
    target_date = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="When it is meant to ship. Leave empty while it is undecided.",
    )
    status = forms.ChoiceField(choices=Release.Status.choices, initial=Release.Status.PLANNED)
    description = forms.CharField(
        required=False,
        max_length=DESCRIPTION_MAX_CHARS,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="Markdown: the theme of the release, what it means for customers.",
    )
    reason = forms.CharField(
        label="Why the date moves",
        required=False,
        max_length=REASON_MAX_CHARS,
        help_text="Asked when the target date moves later; shown on the release's slippage chart.",
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    @staticmethod
    def initial_for(release: Release) -> dict[str, Any]:
        return {
            "name": release.name,
            "target_date": release.target_date,
            "status": release.status,
            "description": release.description,
            "version": release.version,
        }


class LaunchTaskForm(forms.Form):
    title = forms.CharField(max_length=releases.TITLE_MAX_CHARS)
    team = forms.ChoiceField(choices=LaunchTask.Team.choices, initial=LaunchTask.Team.MARKETING)
    owner = forms.TypedChoiceField(coerce=int, empty_value=None, required=False)
    due_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, members: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [
            ("", "No owner"),
            *((m.user_id, m.user.display_name) for m in members),
        ]

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "title": data["title"],
            "team": data["team"],
            "owner_id": data["owner"],
            "due_date": data["due_date"],
        }


def _can_edit(request: HttpRequest) -> bool:
    return request.membership.role in (Role.ADMIN, Role.EDITOR)


def _release(request: HttpRequest, release_id: int) -> Release:
    return object_or_404(releases.release_get, workspace=request.workspace, release_id=release_id)


def _task(request: HttpRequest, release: Release, launch_task_id: int) -> LaunchTask:
    return object_or_404(
        releases.launch_task_get,
        workspace=request.workspace,
        release=release,
        launch_task_id=launch_task_id,
    )


def _detail_url(request: HttpRequest, release_id: int, anchor: str = "") -> str:
    url = reverse(
        "roadmap:release-detail",
        kwargs={"workspace_slug": request.workspace.slug, "release_id": release_id},
    )
    return f"{url}#{anchor}" if anchor else url


def _message(exc: ValidationError | ApplicationError) -> str:
    return exc.message if isinstance(exc, ApplicationError) else " ".join(exc.messages)


def _members(request: HttpRequest) -> list[Any]:
    return list(membership_list(workspace=request.workspace))


def _item_options(request: HttpRequest, release: Release, find: str) -> list[dict[str, Any]]:
    """Items matching `find` for the add-items picker, those already here marked."""
    if not find.strip():
        return []
    hits = item_search(workspace=request.workspace, query=find, limit=PICKER_MATCHES)
    here = {
        i.id for i in releases.release_items(workspace=request.workspace, release=release)
    } if hits else set()  # fmt: skip
    return [{"item": hit, "here": hit.id in here} for hit in hits]


def _checklist_context(request: HttpRequest, release: Release) -> dict[str, Any]:
    tasks = releases.launch_task_list(workspace=request.workspace, release=release)
    return {
        "release": release,
        "task_groups": releases.launch_tasks_by_team(tasks),
        "task_total": len(tasks),
        "tasks_done": sum(t.is_done for t in tasks),
        "tasks_overdue": releases.launch_task_overdue(tasks),
    }


def _detail_context(request: HttpRequest, release: Release, **overrides: Any) -> dict[str, Any]:
    workspace = request.workspace
    items = releases.release_items(workspace=workspace, release=release)
    events = releases.release_slippage(workspace=workspace, release=release)
    ship_times = releases.release_ship_times(workspace=workspace, items=items)
    find = request.GET.get("find", "")[:200]
    can_edit = _can_edit(request)
    groups: dict[str, list[Any]] = {}
    for item in items:
        groups.setdefault(item.status, []).append(item)
    context = {
        "release": release,
        "description_html": render_markdown(release.description),
        "item_groups": [
            (status, items[0].get_status_display(), items) for status, items in groups.items()
        ],
        "item_count": len(items),
        "progress": releases.release_progress(release),
        "slippage": releases.release_slippage_chart(release, events),
        "burnup": releases.release_burnup_chart(release, items, ship_times),
        "statuses": Release.Status.choices,
        "find": find,
        "item_options": _item_options(request, release, find) if can_edit else [],
        "task_form": LaunchTaskForm(members=_members(request)) if can_edit else None,
        "add_error": "",
        **_checklist_context(request, release),
    }
    context.update(overrides)
    return context


def _detail(request: HttpRequest, release: Release, status: int = 200, **overrides: Any):
    return render(
        request,
        "roadmap/release_detail.html",
        _detail_context(request, release, **overrides),
        status=status,
    )


@workspace_view()
@require_GET
def release_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    if status not in Release.Status.values:
        status = ""
    rows = list(releases.release_list(workspace=request.workspace, status=status or None))
    for release in rows:
        release.progress = releases.release_progress(release)
    context = {"releases": rows, "status": status, "status_tabs": STATUS_TABS}
    return render(request, "roadmap/release_list.html", context)


@workspace_view()
@require_http_methods(["GET", "POST"])
def release_new(request: HttpRequest) -> HttpResponse:
    form = ReleaseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            release = releases.release_create(
                workspace=request.workspace,
                actor=request.user,
                name=data["name"],
                target_date=data["target_date"],
                status=data["status"],
                description=data["description"],
            )
        except (ValidationError, ApplicationError) as exc:
            form_add_service_error(form, exc)
        else:
            messages.success(request, f"Release “{release.name}” created.")
            return redirect(_detail_url(request, release.id))
    status = 400 if form.is_bound else 200
    return render(request, "roadmap/release_form.html", {"form": form}, status=status)


@workspace_view()
@require_GET
def release_detail(request: HttpRequest, release_id: int) -> HttpResponse:
    release = _release(request, release_id)
    if request.htmx and "find" in request.GET:
        context = {
            "release": release,
            "item_options": _item_options(request, release, request.GET["find"][:200]),
            "find": request.GET["find"][:200],
        }
        return render(request, "roadmap/_release_item_options.html", context)
    return _detail(request, release)


@workspace_view()
@require_http_methods(["GET", "POST"])
def release_edit(request: HttpRequest, release_id: int) -> HttpResponse:
    """Edit begun on `version`: a stale save keeps the person's text and says what changed;
    a later target date asks why."""
    release = _release(request, release_id)
    if request.method == "GET":
        form = ReleaseForm(initial=ReleaseForm.initial_for(release))
        return render(request, "roadmap/release_form.html", {"form": form, "release": release})
    form = ReleaseForm(request.POST)
    conflict = None
    if form.is_valid():
        data = form.cleaned_data
        try:
            releases.release_update(
                workspace=request.workspace,
                actor=request.user,
                release=release,
                version=data["version"],
                reason=data["reason"],
                reason_required=True,
                name=data["name"],
                target_date=data["target_date"],
                status=data["status"],
                description=data["description"],
            )
        except StaleRoadmapError:
            # The form now carries the saved version: saving again, on purpose, replaces theirs.
            conflict = _release(request, release_id)
            post = request.POST.copy()
            post["version"] = str(conflict.version)
            form = ReleaseForm(post)
            form.is_valid()
        except ReasonRequiredError as exc:
            form.add_error("reason", exc.message)
        except (ValidationError, ApplicationError) as exc:
            form_add_service_error(form, exc)
        else:
            messages.success(request, "Release saved.")
            return redirect(_detail_url(request, release.id))
    context = {"form": form, "release": release, "conflict": conflict}
    return render(request, "roadmap/release_form.html", context, status=409 if conflict else 400)


@workspace_view()
@require_POST
def release_status(request: HttpRequest, release_id: int) -> HttpResponse:
    release = _release(request, release_id)
    try:
        release = releases.release_update(
            workspace=request.workspace,
            actor=request.user,
            release=release,
            status=request.POST.get("status", ""),
        )
    except (ValidationError, ApplicationError) as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(request, f"Status: {release.get_status_display()}.")
    return redirect(_detail_url(request, release.id))


@workspace_view()
@require_POST
def release_delete(request: HttpRequest, release_id: int) -> HttpResponse:
    release = _release(request, release_id)
    releases.release_delete(workspace=request.workspace, actor=request.user, release=release)
    messages.success(request, f"Release “{release.name}” deleted; its items are unscheduled.")
    return redirect("roadmap:release-list", workspace_slug=request.workspace.slug)


def _posted_id(request: HttpRequest, name: str) -> int | None:
    value = request.POST.get(name, "")
    return int(value) if value.isdigit() else None


@workspace_view()
@require_POST
def release_item_add(request: HttpRequest, release_id: int) -> HttpResponse:
    release = _release(request, release_id)
    item_id = _posted_id(request, "item_id")
    if item_id is None:
        return _detail(request, release, 400, add_error="Choose an item to add.")
    try:
        releases.release_item_add(
            workspace=request.workspace,
            actor=request.user,
            release=release,
            item_id=item_id,
            reason=request.POST.get("reason", ""),
            reason_required=True,
        )
    except (ValidationError, ApplicationError) as exc:
        find = request.POST.get("find", "")[:200]
        return _detail(
            request,
            release,
            400,
            add_error=_message(exc),
            find=find,
            item_options=_item_options(request, release, find),
            chosen_item_id=item_id,
        )
    messages.success(request, "Item added to the release.")
    return redirect(_detail_url(request, release.id, "items"))


@workspace_view()
@require_POST
def release_item_remove(request: HttpRequest, release_id: int, item_id: int) -> HttpResponse:
    release = _release(request, release_id)
    try:
        releases.release_item_remove(
            workspace=request.workspace,
            actor=request.user,
            release=release,
            item_id=item_id,
            reason=request.POST.get("reason", ""),
            reason_required=True,
        )
    except (ValidationError, ApplicationError) as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(request, "Item taken out of the release.")
    return redirect(_detail_url(request, release.id, "items"))


def _checklist_response(request: HttpRequest, release: Release) -> HttpResponse:
    """htmx: the checklist again (its counts and overdue flags move with the change); without
    JS: back to the page, at the checklist."""
    if request.htmx:
        context = {
            **_checklist_context(request, release),
            "can_edit": _can_edit(request),
            "oob": True,
        }
        return render(request, "roadmap/_release_checklist.html", context)
    return redirect(_detail_url(request, release.id, "launch"))


def _task_saved(
    request: HttpRequest, form: LaunchTaskForm, release: Release, save: Any, done: str
) -> HttpResponse | None:
    """Save a valid task form through `save(**fields)`: back to the checklist, or None with the
    service's refusal on the form."""
    if not form.is_valid():
        return None
    try:
        save(workspace=request.workspace, actor=request.user, **form.service_kwargs())
    except (ValidationError, ApplicationError) as exc:
        form_add_service_error(form, exc)
        return None
    messages.success(request, done)
    return redirect(_detail_url(request, release.id, "launch"))


@workspace_view()
@require_POST
def launch_task_new(request: HttpRequest, release_id: int) -> HttpResponse:
    release = _release(request, release_id)
    form = LaunchTaskForm(request.POST, members=_members(request))
    create = partial(releases.launch_task_create, release=release)
    saved = _task_saved(request, form, release, create, "Task added to the launch checklist.")
    return saved or _detail(request, release, 400, task_form=form)


@workspace_view()
@require_POST
def launch_task_toggle(request: HttpRequest, release_id: int, launch_task_id: int) -> HttpResponse:
    release = _release(request, release_id)
    task = _task(request, release, launch_task_id)
    wanted = request.POST.get("is_done")
    releases.launch_task_toggle(
        workspace=request.workspace,
        actor=request.user,
        task=task,
        is_done=None if wanted not in ("0", "1") else wanted == "1",
    )
    return _checklist_response(request, release)


@workspace_view()
@require_POST
def launch_task_move(request: HttpRequest, release_id: int, launch_task_id: int) -> HttpResponse:
    """Move a task one place up or down its checklist: the keyboard's (and no-JS) reorder."""
    release = _release(request, release_id)
    task = _task(request, release, launch_task_id)
    ids = [t.id for t in releases.launch_task_list(workspace=request.workspace, release=release)]
    at = ids.index(task.id)
    to = at - 1 if request.POST.get("direction") == "up" else at + 1
    if 0 <= to < len(ids):
        ids[at], ids[to] = ids[to], ids[at]
        releases.launch_task_reorder(
            workspace=request.workspace, actor=request.user, release=release, task_ids=ids
        )
    return _checklist_response(request, release)


@workspace_view()
@require_http_methods(["GET", "POST"])
def launch_task_edit(request: HttpRequest, release_id: int, launch_task_id: int) -> HttpResponse:
    release = _release(request, release_id)
    task = _task(request, release, launch_task_id)
    members = _members(request)
    if request.method == "GET":
        initial = {
            "title": task.title,
            "team": task.team,
            "owner": task.owner_id,
            "due_date": task.due_date,
        }
        form = LaunchTaskForm(initial=initial, members=members)
    else:
        form = LaunchTaskForm(request.POST, members=members)
        update = partial(releases.launch_task_update, task=task)
        saved = _task_saved(request, form, release, update, "Task saved.")
        if saved:
            return saved
    context = {"form": form, "release": release, "task": task}
    status = 400 if form.is_bound else 200
    return render(request, "roadmap/release_task_form.html", context, status=status)


@workspace_view()
@require_POST
def launch_task_delete(request: HttpRequest, release_id: int, launch_task_id: int) -> HttpResponse:
    release = _release(request, release_id)
    task = _task(request, release, launch_task_id)
    releases.launch_task_delete(workspace=request.workspace, actor=request.user, task=task)
    messages.success(request, f"Task “{task.title}” deleted.")
    return _checklist_response(request, release)


_TASK = "releases/<int:release_id>/tasks/<int:launch_task_id>"

urlpatterns = [
    path("releases/", release_list, name="release-list"),
    path("releases/new/", release_new, name="release-new"),
    path("releases/<int:release_id>/", release_detail, name="release-detail"),
    path("releases/<int:release_id>/edit/", release_edit, name="release-edit"),
    path("releases/<int:release_id>/status/", release_status, name="release-status"),
    path("releases/<int:release_id>/delete/", release_delete, name="release-delete"),
    path("releases/<int:release_id>/items/", release_item_add, name="release-item-add"),
    path(
        "releases/<int:release_id>/items/<int:item_id>/remove/",
        release_item_remove,
        name="release-item-remove",
    ),
    path("releases/<int:release_id>/tasks/", launch_task_new, name="release-task-new"),
    path(f"{_TASK}/toggle/", launch_task_toggle, name="release-task-toggle"),
    path(f"{_TASK}/move/", launch_task_move, name="release-task-move"),
    path(f"{_TASK}/edit/", launch_task_edit, name="release-task-edit"),
    path(f"{_TASK}/delete/", launch_task_delete, name="release-task-delete"),
]
