"""Roles and the one table that says which role each HTTP method needs.

UI views (`workspace_view`) and API views (`WorkspaceApiView`) both ask `role_required_for`, so a
view only states where it departs from the default.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    EDITOR = "editor", "Editor"
    VIEWER = "viewer", "Viewer"


_RANK = {Role.VIEWER: 1, Role.EDITOR: 2, Role.ADMIN: 3}

ROLE_DESCRIPTIONS = {
    Role.ADMIN: "Manages members, settings and tokens, and changes everything.",
    Role.EDITOR: "Creates and changes research, backlog, roadmaps and docs.",
    Role.VIEWER: "Reads everything and comments; cannot change priorities.",
}

# Reading needs membership; every write needs at least an editor unless a view says otherwise.
DEFAULT_METHOD_ROLES: Mapping[str, Role] = {
    "GET": Role.VIEWER,
    "HEAD": Role.VIEWER,
    "OPTIONS": Role.VIEWER,
    "POST": Role.EDITOR,
    "PUT": Role.EDITOR,
    "PATCH": Role.EDITOR,
    "DELETE": Role.EDITOR,
}

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def role_required_for(method: str, overrides: Mapping[str, Role] | None = None) -> Role:
    """The least role that may send `method` to a view with these overrides."""
    method = method.upper()
    if overrides and method in overrides:
        return Role(overrides[method])
    return DEFAULT_METHOD_ROLES.get(method, Role.ADMIN)


def role_allows(role: str, required: str) -> bool:
    return _RANK[Role(role)] >= _RANK[Role(required)]
