"""A roadmap's share links: the list, making one (its address shown once), changing what one
shows or when it expires, and revoking it. Editors and admins change them; viewers see the list,
never an address."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from pmhub.core.exceptions import ApplicationError
from pmhub.core.forms import form_add_service_error
from pmhub.core.views import object_or_404
from pmhub.workspaces.decorators import workspace_view
from pmhub.workspaces.roles import Role, role_allows
from roadmap.models import Roadmap, ShareLink
from roadmap.selectors import roadmap_get
from roadmap.sharing import (
    DEFAULT_FIELDS,
    FIELD_LABELS,
    SENSITIVE_FIELDS,
    SHAREABLE_FIELDS,
    share_link_create,
    share_link_get,
    share_link_list,
    share_link_revoke,
    share_link_state,
    share_link_update,
)

NEW_LINK_SESSION_KEY = "new_share_link"
MAX_EXPIRY_AHEAD = datetime.timedelta(days=5 * 366)


class ShareLinkForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=80,
        required=False,
        help_text="Who it is for, so you know which link to revoke: “Customer advisory board”.",
    )
    fields = forms.MultipleChoiceField(
        label="Show",
        choices=[(f, FIELD_LABELS[f]) for f in SHAREABLE_FIELDS],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    expires_on = forms.DateField(
        label="Expires",
        required=False,
        help_text="The link stops working at the end of this day (UTC). Empty: until revoked.",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def clean_expires_on(self) -> datetime.date | None:
        day = self.cleaned_data.get("expires_on")
        if day is not None and day > timezone.now().date() + MAX_EXPIRY_AHEAD:
            raise ValidationError("At most five years ahead; leave it empty for no expiry.")
        return day

    def expires_at(self) -> datetime.datetime | None:
        day = self.cleaned_data.get("expires_on")
        if day is None:
            return None
        return datetime.datetime.combine(
            day + datetime.timedelta(days=1), datetime.time.min, tzinfo=datetime.UTC
        )


def _expires_on(link: ShareLink) -> datetime.date | None:
    if link.expires_at is None:
        return None
    return (link.expires_at.astimezone(datetime.UTC) - datetime.timedelta(microseconds=1)).date()


def _field_choices(form: ShareLinkForm) -> list[dict[str, Any]]:
    """The checkboxes with what the template says beside them (sensitive ones marked)."""
    return [
        {"widget": widget, "sensitive": widget.data["value"] in SENSITIVE_FIELDS}
        for widget in form["fields"]
    ]


def _share_url(secret: str, *, embed: bool = False) -> str:
    name = "share:embed" if embed else "share:page"
    return settings.PMHUB_BASE_URL + reverse(name, kwargs={"share_token": secret})


def _embed_snippet(secret: str, title: str) -> str:
    # Shown as text for people to paste into their own pages; never rendered here.
    return (
        f'<iframe src="{_share_url(secret, embed=True)}" title="{title}" width="100%" '
        'height="600" style="border:0" loading="lazy"></iframe>'
    )


def _show_refusal(form: ShareLinkForm, exc: ValidationError | ApplicationError) -> None:
    """The service's refusal on the form; its expiry is the form's date field."""
    if isinstance(exc, ValidationError) and "expires_at" in getattr(exc, "error_dict", {}):
        exc = ValidationError({"expires_on": exc.error_dict["expires_at"]})
    form_add_service_error(form, exc)


def _list_url(workspace_slug: str, roadmap: Roadmap) -> str:
    return reverse(
        "roadmap:share-link-list",
        kwargs={"workspace_slug": workspace_slug, "roadmap_id": roadmap.id},
    )


@workspace_view()
@require_http_methods(["GET", "POST"])
def share_link_list_view(request: HttpRequest, roadmap_id: int) -> HttpResponse:
    workspace = request.workspace
    roadmap = object_or_404(roadmap_get, workspace=workspace, roadmap_id=roadmap_id)
    form = ShareLinkForm(request.POST or None, initial={"fields": list(DEFAULT_FIELDS)})
    if request.method == "POST" and form.is_valid():
        try:
            link, secret = share_link_create(
                workspace=workspace,
                actor=request.user,
                roadmap=roadmap,
                name=form.cleaned_data["name"],
                fields=form.cleaned_data["fields"],
                expires_at=form.expires_at(),
            )
        except (ValidationError, ApplicationError) as exc:
            _show_refusal(form, exc)
        else:
            # Shown once: the address waits in the session only until the next page load pops
            # it, so reloading neither shows it again nor makes a second link.
            request.session[NEW_LINK_SESSION_KEY] = {
                "id": link.id,
                "roadmap_id": roadmap.id,
                "url": _share_url(secret),
                "embed": _embed_snippet(secret, roadmap.name),
            }
            return redirect(_list_url(workspace.slug, roadmap))
    new_link = request.session.pop(NEW_LINK_SESSION_KEY, None)
    if new_link and new_link.get("roadmap_id") != roadmap.id:
        new_link = None
    can_edit = role_allows(request.membership.role, Role.EDITOR)
    now = timezone.now()
    links = [
        {
            "link": link,
            "state": share_link_state(link, now),
            "fields": [(f, FIELD_LABELS[f], f in SENSITIVE_FIELDS) for f in link.fields],
        }
        for link in share_link_list(workspace=workspace, roadmap=roadmap)
    ]
    context = {
        "roadmap": roadmap,
        "form": form,
        "field_choices": _field_choices(form),
        "links": links,
        "new_link": new_link if can_edit else None,
        "can_edit": can_edit,
    }
    status = 400 if form.errors else 200
    return render(request, "roadmap/share_links.html", context, status=status)


@workspace_view()
@require_http_methods(["GET", "POST"])
def share_link_update_view(
    request: HttpRequest, roadmap_id: int, share_link_id: int
) -> HttpResponse:
    workspace = request.workspace
    roadmap = object_or_404(roadmap_get, workspace=workspace, roadmap_id=roadmap_id)
    link = object_or_404(
        share_link_get, workspace=workspace, roadmap=roadmap, share_link_id=share_link_id
    )
    if link.revoked_at is not None:
        messages.info(request, "That link is revoked; it can no longer be changed.")
        return redirect(_list_url(workspace.slug, roadmap))
    initial = {"name": link.name, "fields": link.fields, "expires_on": _expires_on(link)}
    form = ShareLinkForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            share_link_update(
                workspace=workspace,
                actor=request.user,
                link=link,
                name=form.cleaned_data["name"],
                fields=form.cleaned_data["fields"],
                expires_at=form.expires_at(),
            )
        except (ValidationError, ApplicationError) as exc:
            _show_refusal(form, exc)
        else:
            messages.success(request, f"“{link}” now shows what you chose.")
            return redirect(_list_url(workspace.slug, roadmap))
    context = {
        "roadmap": roadmap,
        "link": link,
        "shown_labels": [FIELD_LABELS[f] for f in link.fields],
        "form": form,
        "field_choices": _field_choices(form),
        "can_edit": role_allows(request.membership.role, Role.EDITOR),
    }
    status = 400 if form.errors else 200
    return render(request, "roadmap/share_link_edit.html", context, status=status)


@workspace_view()
@require_POST
def share_link_revoke_view(
    request: HttpRequest, roadmap_id: int, share_link_id: int
) -> HttpResponse:
    workspace = request.workspace
    roadmap = object_or_404(roadmap_get, workspace=workspace, roadmap_id=roadmap_id)
    link = object_or_404(
        share_link_get, workspace=workspace, roadmap=roadmap, share_link_id=share_link_id
    )
    try:
        share_link_revoke(workspace=workspace, actor=request.user, link=link)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"“{link}” revoked. Its page no longer opens.")
    return redirect(_list_url(workspace.slug, roadmap))


urlpatterns = [
    path("roadmaps/<int:roadmap_id>/share/", share_link_list_view, name="share-link-list"),
    path(
        "roadmaps/<int:roadmap_id>/share/<int:share_link_id>/",
        share_link_update_view,
        name="share-link-update",
    ),
    path(
        "roadmaps/<int:roadmap_id>/share/<int:share_link_id>/revoke/",
        share_link_revoke_view,
        name="share-link-revoke",
    ),
]
