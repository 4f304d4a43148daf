from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from pmhub.workspaces.roles import Role
from pmhub.workspaces.selectors import membership_list_for_user


def workspace_nav(request: HttpRequest) -> dict[str, Any]:
    """The current workspace and the switcher's list for the layout.

    The list is a callable so that pages which do not draw the switcher run no query for it.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    context: dict[str, Any] = {
        "switcher_memberships": lambda: membership_list_for_user(user=user),
    }
    workspace = getattr(request, "workspace", None)
    if workspace is not None:
        role = request.membership.role
        context.update(
            {
                "workspace": workspace,
                "membership": request.membership,
                "is_admin": role == Role.ADMIN,
                "can_edit": role in (Role.ADMIN, Role.EDITOR),
            }
        )
    return context
