from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from django.contrib.auth import SESSION_KEY
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode
from django_htmx.http import HttpResponseClientRedirect

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


def two_factor_setup_redirect(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    """To the two-factor setup, which explains that this workspace requires it and comes back
    here after; an htmx request gets the whole page changed rather than a fragment swapped."""
    from_htmx = request.headers.get("HX-Request") == "true"
    query = {"workspace": workspace_slug}
    if request.method == "GET" and not from_htmx:
        query["next"] = request.get_full_path()
    url = f"{reverse('accounts:two-factor')}?{urlencode(query)}"
    if from_htmx:
        return HttpResponseClientRedirect(url)
    return HttpResponseRedirect(url)


def workspace_view(roles: Mapping[str, Role] | None = None) -> Callable[[View], View]:
    """Resolve `/w/<workspace_slug>/` once, at the edge, for a UI view.

    Sets `request.workspace` and `request.membership`, and drops `workspace_slug` from the view's
    arguments. Anonymous visitors are sent to log in; non-members get 404 (never 403, so the
    existence of a workspace leaks nothing); members without two-factor authentication, in a
    workspace that requires it, are sent to set it up; members below the role this method needs
    get 403. The two-factor check reads the user and workspace rows already read with the
    membership: it costs no query.
    """

    def decorator(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, workspace_slug: str, **kwargs: Any) -> HttpResponse:
            membership = _membership(request, workspace_slug)
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if membership is None or membership.user_id != request.user.pk:
                raise Http404("No such workspace")
            if membership.workspace.two_factor_required and not request.user.has_two_factor:
                return two_factor_setup_redirect(request, workspace_slug)
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
