from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from django.contrib.auth import SESSION_KEY
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse

from pmhub.accounts.backends import user_read_already
from pmhub.accounts.models import User
from pmhub.core.access import WORKSPACE, mark_access
from pmhub.workspaces.models import Membership
from pmhub.workspaces.roles import Role, role_allows, role_required_for
from pmhub.workspaces.selectors import membership_get_for_user_id

View = Callable[..., HttpResponse]


def _membership(request: HttpRequest, workspace_slug: str) -> Membership | None:
    """The signed-in user's membership in the workspace, read with the user when the request
    has not read the user yet (one statement instead of two), Django's checks of the session
    then made on it; None for no membership (or no one signed in)."""
    try:
        user_id = User._meta.pk.to_python(request.session[SESSION_KEY])
    except (KeyError, ValidationError):
        return None
    membership = membership_get_for_user_id(user_id=user_id, workspace_slug=workspace_slug)
    with user_read_already(membership.user if membership else None):
        if not request.user.is_authenticated:  # reads the user now, unless read before
            return None
    return membership


def workspace_view(roles: Mapping[str, Role] | None = None) -> Callable[[View], View]:
    """Resolve `/w/<workspace_slug>/` once, at the edge, for a UI view.

    Sets `request.workspace` and `request.membership`, and drops `workspace_slug` from the view's
    arguments. Anonymous visitors are sent to log in; non-members get 404 (never 403, so the
    existence of a workspace leaks nothing); members below the role this method needs get 403.
    """

    def decorator(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, workspace_slug: str, **kwargs: Any) -> HttpResponse:
            membership = _membership(request, workspace_slug)
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if membership is None or membership.user_id != request.user.pk:
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
