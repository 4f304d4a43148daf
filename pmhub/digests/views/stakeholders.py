"""Stakeholders: the list (filters by status and team), new, the page of one (edit on a version,
what they follow, their overrides and send log), follow and unfollow, resume, delete."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pmhub.core.exceptions import ApplicationError
from pmhub.core.forms import form_add_service_error
from pmhub.core.views import object_or_404
from pmhub.digests import selectors, services
from pmhub.digests.forms import FollowForm, StakeholderForm, hour_label
from pmhub.digests.models import Cadence, DigestSettings, Stakeholder
from pmhub.workspaces.decorators import workspace_view

STATUS_TABS = [
    ("", "All"),
    ("active", "Active"),
    ("paused", "Paused"),
    ("unsubscribed", "Unsubscribed"),
]


def _stakeholder(request: HttpRequest, stakeholder_id: int) -> Stakeholder:
    return object_or_404(
        selectors.stakeholder_get, workspace=request.workspace, stakeholder_id=stakeholder_id
    )


def _detail_url(request: HttpRequest, stakeholder_id: int, anchor: str = "") -> str:
    url = reverse(
        "digests:stakeholder-detail",
        kwargs={"workspace_slug": request.workspace.slug, "stakeholder_id": stakeholder_id},
    )
    return f"{url}#{anchor}" if anchor else url


def _message(exc: ValidationError | ApplicationError) -> str:
    return exc.message if isinstance(exc, ApplicationError) else " ".join(exc.messages)


def schedule_of(stakeholder: Stakeholder, defaults: DigestSettings) -> dict[str, Any]:
    """The stakeholder's cadence, hour and timezone, each with whether it is the workspace's."""
    cadence = stakeholder.cadence or defaults.cadence
    hour = defaults.send_hour if stakeholder.send_hour is None else stakeholder.send_hour
    return {
        "cadence": Cadence(cadence).label,
        "cadence_is_default": not stakeholder.cadence,
        "hour": hour_label(hour),
        "hour_is_default": stakeholder.send_hour is None,
        "timezone": stakeholder.timezone or defaults.timezone,
        "timezone_is_default": not stakeholder.timezone,
        "is_scheduled": cadence not in (Cadence.OFF, Cadence.IMMEDIATELY),
    }


def scope_summary(stakeholder: Stakeholder) -> list[str]:
    """What they follow, short: "Whole workspace", or each followed thing's name."""
    if stakeholder.follows_workspace:
        return ["Whole workspace"]
    parts = []
    for follow in stakeholder.follow_list:
        if follow.area_id:
            parts.append(f"Area: {follow.area.name}")
        elif follow.roadmap_id:
            parts.append(f"Roadmap: {follow.roadmap.name}")
        elif follow.item_id:
            parts.append(f"Item: {follow.item.title}")
        elif follow.company_id:
            parts.append(f"{'Owns' if follow.owns else 'Company'}: {follow.company.name}")
    return parts


@workspace_view()
@require_GET
def stakeholder_list(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace
    status = request.GET.get("status", "")
    if status not in Stakeholder.Status.values:
        status = ""
    team = request.GET.get("team", "")[:80]
    query = request.GET.get("q", "").strip()[:120]
    page = request.GET.get("page", "1")
    page = int(page) if page.isdigit() and 0 < int(page) < 10_000 else 1
    size = selectors.LIST_PAGE_SIZE
    start = (page - 1) * size
    rows = list(
        selectors.stakeholder_list(workspace=workspace, status=status, team=team, query=query)[
            start : start + size + 1
        ]
    )
    has_next = len(rows) > size
    rows = rows[:size]
    defaults = services.digest_settings_get(workspace=workspace)
    for stakeholder in rows:
        stakeholder.scope = scope_summary(stakeholder)
        stakeholder.schedule = schedule_of(stakeholder, defaults)
    filtered = bool(status or team or query or page > 1)
    context = {
        "stakeholders": rows,
        "status": status,
        "team": team,
        "q": query,
        "teams": selectors.stakeholder_teams(workspace=workspace),
        "status_tabs": STATUS_TABS,
        "filtered": filtered,
        "page": page,
        "has_next": has_next,
        "defaults": defaults,
    }
    return render(request, "digests/stakeholder_list.html", context)


@workspace_view()
@require_http_methods(["GET", "POST"])
def stakeholder_new(request: HttpRequest) -> HttpResponse:
    defaults = services.digest_settings_get(workspace=request.workspace)
    form = StakeholderForm(request.POST or None, defaults=defaults)
    if request.method == "POST" and form.is_valid():
        values = form.service_kwargs()
        try:
            stakeholder = services.stakeholder_create(
                workspace=request.workspace,
                email=values["email"],
                name=values["name"],
                team=values["team"],
                follows_workspace=values["follows_workspace"],
                cadence=values["cadence"],
                send_hour=values["send_hour"],
                timezone_name=values["timezone"],
            )
        except (ValidationError, ApplicationError) as exc:
            form_add_service_error(form, exc)
        else:
            messages.success(request, f"{stakeholder} added. Choose what they follow below.")
            return redirect(_detail_url(request, stakeholder.id, "follows"))
    status = 400 if form.is_bound else 200
    return render(
        request, "digests/stakeholder_new.html", {"form": form, "defaults": defaults}, status=status
    )


def _detail(
    request: HttpRequest,
    stakeholder: Stakeholder,
    *,
    form: StakeholderForm | None = None,
    follow_form: FollowForm | None = None,
    status: int = 200,
    conflict: bool = False,
) -> HttpResponse:
    workspace = request.workspace
    defaults = services.digest_settings_get(workspace=workspace)
    find = request.GET.get("find", "")[:200]
    followed = {
        f"{kind}:{getattr(follow, f'{kind}_id')}"
        for follow in stakeholder.follow_list
        for kind in ("area", "roadmap", "item", "company")
        if getattr(follow, f"{kind}_id")
    }
    options = selectors.follow_options(workspace=workspace, find=find)
    if request.htmx and "find" in request.GET:
        return render(
            request,
            "digests/stakeholder_detail.html#follow-options",
            {"options": options, "followed": followed, "find": find},
        )
    context = {
        "stakeholder": stakeholder,
        "form": form
        or StakeholderForm(initial=StakeholderForm.initial_for(stakeholder), defaults=defaults),
        "follow_form": follow_form or FollowForm(),
        "conflict": conflict,
        "defaults": defaults,
        "schedule": schedule_of(stakeholder, defaults),
        "scope": scope_summary(stakeholder),
        "options": options,
        "followed": followed,
        "find": find,
        "deliveries": selectors.stakeholder_deliveries(
            workspace=workspace, stakeholder=stakeholder
        ),
    }
    return render(request, "digests/stakeholder_detail.html", context, status=status)


@workspace_view()
@require_http_methods(["GET", "POST"])
def stakeholder_detail(request: HttpRequest, stakeholder_id: int) -> HttpResponse:
    """The stakeholder's page; a POST saves the edit form, begun on `version`: a save made in
    between is refused and shown, with this person's input kept."""
    stakeholder = _stakeholder(request, stakeholder_id)
    if request.method == "GET":
        return _detail(request, stakeholder)
    defaults = services.digest_settings_get(workspace=request.workspace)
    form = StakeholderForm(request.POST, defaults=defaults)
    if not form.is_valid():
        return _detail(request, stakeholder, form=form, status=400)
    try:
        services.stakeholder_update(
            workspace=request.workspace,
            stakeholder=stakeholder,
            version=form.cleaned_data["version"] or stakeholder.version,
            **form.service_kwargs(),
        )
    except services.StaleEditError as exc:
        # Their changes are shown; the form keeps this person's input on the newer version,
        # so saving again, on purpose, replaces them.
        current = _stakeholder(request, stakeholder_id)
        post = request.POST.copy()
        post["version"] = str(current.version)
        form = StakeholderForm(post, defaults=defaults)
        form.is_valid()
        form.add_error(None, exc.message)
        return _detail(request, current, form=form, status=409, conflict=True)
    except (ValidationError, ApplicationError) as exc:
        form_add_service_error(form, exc)
        return _detail(request, stakeholder, form=form, status=400)
    messages.success(request, "Stakeholder saved.")
    return redirect(_detail_url(request, stakeholder.id))


@workspace_view()
@require_POST
def follow_add(request: HttpRequest, stakeholder_id: int) -> HttpResponse:
    stakeholder = _stakeholder(request, stakeholder_id)
    form = FollowForm(request.POST)
    if form.is_valid():
        try:
            follow = services.follow_add(
                workspace=request.workspace, stakeholder=stakeholder, **form.service_kwargs()
            )
        except (ValidationError, ApplicationError) as exc:
            form_add_service_error(form, exc)
        else:
            target = follow.area or follow.roadmap or follow.item or follow.company
            messages.success(
                request, f"{stakeholder} {'owns' if follow.owns else 'follows'} {target}."
            )
            return redirect(_detail_url(request, stakeholder.id, "follows"))
    return _detail(request, stakeholder, follow_form=form, status=400)


@workspace_view()
@require_POST
def follow_remove(request: HttpRequest, stakeholder_id: int, follow_id: int) -> HttpResponse:
    stakeholder = _stakeholder(request, stakeholder_id)
    if services.follow_remove(
        workspace=request.workspace, stakeholder=stakeholder, follow_id=follow_id
    ):
        messages.success(request, "No longer followed.")
    else:
        messages.info(request, "That was no longer followed already.")
    return redirect(_detail_url(request, stakeholder.id, "follows"))


@workspace_view()
@require_POST
def stakeholder_resume(request: HttpRequest, stakeholder_id: int) -> HttpResponse:
    stakeholder = _stakeholder(request, stakeholder_id)
    try:
        services.stakeholder_resume(workspace=request.workspace, stakeholder=stakeholder)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Digests to {stakeholder.email} resume with the next one.")
    return redirect(_detail_url(request, stakeholder.id))


@workspace_view()
@require_POST
def stakeholder_delete(request: HttpRequest, stakeholder_id: int) -> HttpResponse:
    stakeholder = _stakeholder(request, stakeholder_id)
    services.stakeholder_delete(workspace=request.workspace, stakeholder=stakeholder)
    messages.success(request, f"{stakeholder} removed, with their send log.")
    return redirect("digests:stakeholder-list", workspace_slug=request.workspace.slug)


urlpatterns = [
    path("", stakeholder_list, name="stakeholder-list"),
    path("stakeholders/new/", stakeholder_new, name="stakeholder-new"),
    path("stakeholders/<int:stakeholder_id>/", stakeholder_detail, name="stakeholder-detail"),
    path("stakeholders/<int:stakeholder_id>/follows/", follow_add, name="follow-add"),
    path(
        "stakeholders/<int:stakeholder_id>/follows/<int:follow_id>/remove/",
        follow_remove,
        name="follow-remove",
    ),
    path(
        "stakeholders/<int:stakeholder_id>/resume/", stakeholder_resume, name="stakeholder-resume"
    ),
    path(
        "stakeholders/<int:stakeholder_id>/delete/", stakeholder_delete, name="stakeholder-delete"
    ),
]
