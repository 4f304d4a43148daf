"""Stakeholders from a CSV file: upload, a check of every row (each bad row reported with its
line; nothing imported while any is bad), then a confirmed import of the whole file at once."""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_http_methods

from pmhub.core.forms import form_add_service_error
from pmhub.digests import imports
from pmhub.digests.forms import ImportForm
from pmhub.workspaces.decorators import workspace_view

# A checked file waits this long for its confirmation.
PENDING_SECONDS = 60 * 60
SAMPLE = (
    "email,name,team,cadence,send_hour,timezone,follows,owns\n"
    'dana@example.com,Dana Ruiz,Sales,weekly,8,Europe/Paris,"area:Payments; roadmap:Product '
    'roadmap",Acme\n'
    "lee@example.com,Lee Chen,Leadership,monthly,,,workspace,\n"
)


def _key(request: HttpRequest, token: str) -> str:
    return f"digests:import:{request.workspace.id}:{request.user.pk}:{token}"


def _page(request: HttpRequest, status: int = 200, **context: object) -> HttpResponse:
    base = {
        "form": ImportForm(),
        "columns": imports.COLUMNS,
        "sample": SAMPLE,
        "max_rows": imports.MAX_ROWS,
        "check": None,
    }
    return render(request, "digests/stakeholder_import.html", {**base, **context}, status=status)


def _confirm(request: HttpRequest) -> HttpResponse:
    token = request.POST.get("confirm", "")[:64]
    key = _key(request, token)
    pending = cache.get(key) if token.isalnum() else None
    if pending is None:
        messages.error(request, "That upload has expired or was imported already. Upload it again.")
        return redirect("digests:stakeholder-import", workspace_slug=request.workspace.slug)
    # Two clicks on Import: only the first imports (SET NX), the second finds it taken.
    if not cache.add(f"{key}:applying", 1, timeout=PENDING_SECONDS):
        messages.info(request, "This file is being imported or was imported already.")
        return redirect("digests:stakeholder-list", workspace_slug=request.workspace.slug)
    try:
        check = imports.import_check(
            workspace=request.workspace, data=pending["data"], existing=pending["existing"]
        )
        result = imports.import_apply(workspace=request.workspace, check=check)
    except ValidationError as exc:
        cache.delete(f"{key}:applying")
        form = ImportForm()
        form_add_service_error(form, exc)
        return _page(request, status=400, form=form)
    cache.delete(key)
    parts = [f"{result.created} added", f"{result.updated} updated"]
    if result.skipped:
        parts.append(f"{result.skipped} skipped (already here)")
    messages.success(request, f"Stakeholders imported: {', '.join(parts)}.")
    return redirect("digests:stakeholder-list", workspace_slug=request.workspace.slug)


@workspace_view()
@require_http_methods(["GET", "POST"])
def stakeholder_import(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _page(request)
    if "confirm" in request.POST:
        return _confirm(request)
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, status=400, form=form)
    upload = form.cleaned_data["file"]
    if upload.size > imports.MAX_BYTES:
        form.add_error("file", f"The file is {upload.size / 1_048_576:.1f} MB; the limit is 2 MB.")
        return _page(request, status=400, form=form)
    data = upload.read()
    existing = form.cleaned_data["existing"]
    try:
        check = imports.import_check(workspace=request.workspace, data=data, existing=existing)
    except ValidationError as exc:
        form_add_service_error(form, exc)
        return _page(request, status=400, form=form)
    if not check.is_valid:
        return _page(request, status=400, form=form, check=check, filename=upload.name)
    token = secrets.token_hex(16)
    cache.set(_key(request, token), {"data": data, "existing": existing}, PENDING_SECONDS)
    return _page(request, form=form, check=check, token=token, filename=upload.name)


urlpatterns = [path("stakeholders/import/", stakeholder_import, name="stakeholder-import")]
