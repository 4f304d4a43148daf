"""Release notes from a release (generate the draft and open it) and the settings of the
workspace's public changelog."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods, require_POST

from docs import changelog
from docs.release_notes import release_notes_draft
from pmhub.core.exceptions import ApplicationError
from pmhub.core.forms import form_add_service_error
from pmhub.core.views import object_or_404
from pmhub.workspaces.decorators import workspace_view
from pmhub.workspaces.roles import Role
from roadmap import releases


@workspace_view()
@require_POST
def release_notes_new(request: HttpRequest, release_id: int) -> HttpResponse:
    """Generate the release's notes (or find the draft already there) and open them."""
    release = object_or_404(
        releases.release_get, workspace=request.workspace, release_id=release_id
    )
    document = release_notes_draft(workspace=request.workspace, actor=request.user, release=release)
    messages.success(request, f"Release notes for “{release.name}”: review, edit, then publish.")
    return redirect(
        "docs:document-detail", workspace_slug=request.workspace.slug, document_id=document.id
    )


class ChangelogForm(forms.Form):
    is_public = forms.BooleanField(
        label="Publish a public changelog",
        required=False,
        help_text="Anyone with the address can read the published release notes and subscribe "
        "to their Atom feed. Drafts and other documents are never shown.",
    )
    title = forms.CharField(
        required=False,
        max_length=changelog.TITLE_MAX_CHARS,
        help_text="Shown atop the page and in feed readers. Empty: “<workspace> changelog”.",
    )
    description = forms.CharField(
        required=False,
        max_length=changelog.DESCRIPTION_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One or two sentences under the title (plain text).",
    )


@workspace_view(roles={"POST": Role.ADMIN})
@require_http_methods(["GET", "POST"])
def changelog_settings(request: HttpRequest) -> HttpResponse:
    """Admins turn the public changelog on or off and name it; members see where it lives."""
    current = changelog.changelog_get(workspace=request.workspace)
    form = ChangelogForm(
        request.POST or None,
        initial={
            "is_public": current.is_public,
            "title": current.title,
            "description": current.description,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            changelog.changelog_update(workspace=request.workspace, **form.cleaned_data)
        except (ValidationError, ApplicationError) as exc:
            form_add_service_error(form, exc)
        else:
            state = "on" if form.cleaned_data["is_public"] else "off"
            messages.success(request, f"The public changelog is {state}.")
            return redirect("docs:changelog-settings", workspace_slug=request.workspace.slug)
    public_url = request.build_absolute_uri(
        reverse("changelog:index", kwargs={"changelog_slug": request.workspace.slug})
    )
    return render(
        request,
        "docs/changelog_settings.html",
        {
            "form": form,
            "changelog": current,
            "public_url": public_url,
            "can_edit": request.membership.role == Role.ADMIN,
        },
        status=400 if form.is_bound else 200,
    )


urlpatterns = [
    path("release-notes/new/<int:release_id>/", release_notes_new, name="release-notes-new"),
    path("changelog/", changelog_settings, name="changelog-settings"),
]
