from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from pmhub.workspaces.roles import Role
from pmhub.workspaces.selectors import membership_list_for_user


def workspace_nav(request: HttpRequest) -> dict[str, Any]:
    """The current workspace and the switcher's list, for the layout. One query, only in-app."""
    workspace = getattr(request, "workspace", None)
    if workspace is None:
        return {}
    membership = request.membership
    return {
        "workspace": workspace,
        "membership": membership,
        "is_admin": membership.role == Role.ADMIN,
        "can_edit": membership.role in (Role.ADMIN, Role.EDITOR),
        "switcher_memberships": lambda: membership_list_for_user(user=request.user),
    }
