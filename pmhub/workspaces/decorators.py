from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse

from pmhub.core.access import WORKSPACE, mark_access
from pmhub.workspaces.roles import Role, role_allows, role_required_for
from pmhub.workspaces.selectors import membership_get_for_user

View = Callable[..., HttpResponse]


def workspace_view(roles: Mapping[str, Role] | None = None) -> Callable[[View], View]:
    """Resolve `/w/<workspace_slug>/` once, at the edge, for a UI view.

    Sets `request.workspace` and `request.membership`, and drops `workspace_slug` from the view's
    arguments. Anonymous visitors are sent to log in; non-members get 404 (never 403, so the
    existence of a workspace leaks nothing); members below the role this method needs get 403.
    """

    def decorator(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, workspace_slug: str, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            membership = membership_get_for_user(user=request.user, workspace_slug=workspace_slug)
            if membership is None:
                raise Http404("No such workspace")
            if not role_allows(membership.role, role_required_for(request.method or "GET", roles)):
                raise PermissionDenied("Your role in this workspace does not allow this.")
            request.workspace = membership.workspace  # type: ignore[attr-defined]
            request.membership = membership  # type: ignore[attr-defined]
            if request.session.get("last_workspace") != workspace_slug:
                request.session["last_workspace"] = workspace_slug
            return view(request, **kwargs)

        wrapper.pmhub_roles = dict(roles or {})  # type: ignore[attr-defined]
        return mark_access(wrapper, WORKSPACE)

    return decorator
