"""The workspace's digest defaults: cadence, send hour, timezone, sender name and reply-to.
Everyone reads them; admins change them (they speak for the workspace to people outside it)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_http_methods

from pmhub.core.exceptions import ApplicationError
from pmhub.core.forms import form_add_service_error
from pmhub.digests import services
from pmhub.digests.forms import DigestSettingsForm
from pmhub.workspaces.decorators import workspace_view
from pmhub.workspaces.roles import Role


@workspace_view(roles={"POST": Role.ADMIN})
@require_http_methods(["GET", "POST"])
def digest_settings(request: HttpRequest) -> HttpResponse:
    current = services.digest_settings_get(workspace=request.workspace)
    form = DigestSettingsForm(request.POST or None, initial=DigestSettingsForm.initial_for(current))
    if request.method == "POST" and form.is_valid():
        try:
            services.digest_settings_update(workspace=request.workspace, **form.service_kwargs())
        except (ValidationError, ApplicationError) as exc:
            form_add_service_error(form, exc)
        else:
            messages.success(request, "Digest settings saved.")
            return redirect("digests:settings", workspace_slug=request.workspace.slug)
    context = {
        "form": form,
        "current": current,
        "can_change": request.membership.role == Role.ADMIN,
    }
    return render(request, "digests/settings.html", context, status=400 if form.is_bound else 200)


urlpatterns = [path("settings/", digest_settings, name="settings")]
