"""The workspace's data page for admins: download everything, or delete everything."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from pmhub.core.exceptions import ApplicationError
from pmhub.core.forms import form_add_service_error
from pmhub.workspaces.decorators import workspace_view
from pmhub.workspaces.export import workspace_export
from pmhub.workspaces.roles import Role
from pmhub.workspaces.services import workspace_delete, workspace_export_record

ADMIN_ONLY = {"GET": Role.ADMIN, "POST": Role.ADMIN}


class WorkspaceDeleteForm(forms.Form):
    confirm_slug = forms.CharField(
        max_length=50,
        label="Type the workspace's address to confirm",
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none"}),
    )


def _page(request: HttpRequest, form: WorkspaceDeleteForm, status: int = 200) -> HttpResponse:
    return render(
        request, "workspaces/settings_data.html", {"form": form, "tab": "data"}, status=status
    )


@workspace_view(roles=ADMIN_ONLY)
@require_GET
def settings_data(request: HttpRequest) -> HttpResponse:
    return _page(request, WorkspaceDeleteForm())


@workspace_view(roles=ADMIN_ONLY)
@require_GET
def workspace_export_view(request: HttpRequest) -> StreamingHttpResponse:
    workspace = request.workspace
    workspace_export_record(workspace=workspace, actor=request.user)
    response = StreamingHttpResponse(
        workspace_export(workspace), content_type="application/json; charset=utf-8"
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="pmhub-{workspace.slug}-{stamp}.json"'
    # Everything the workspace holds: no cache of any kind may keep a copy.
    response["Cache-Control"] = "no-store"
    return response


@workspace_view(roles=ADMIN_ONLY)
@require_POST
def workspace_delete_view(request: HttpRequest) -> HttpResponse:
    form = WorkspaceDeleteForm(request.POST)
    if form.is_valid():
        workspace = request.workspace
        try:
            workspace_delete(workspace=workspace, actor=request.user, **form.cleaned_data)
        except (ValidationError, ApplicationError) as exc:
            form_add_service_error(form, exc)
        else:
            messages.success(request, f"Workspace {workspace.name} and all its data were deleted.")
            return redirect("home")
    return _page(request, form, status=400)
