"""Access policies every route declares, so that the tenancy crawler can check each one.

A view is exactly one of:
- PUBLIC: anyone, logged in or not (login, health, invitation links);
- USER: any logged-in person, with no workspace in play (create a workspace, /api/v1/me/);
- WORKSPACE: members of the workspace in the URL only; everyone else gets 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

PUBLIC = "public"
USER = "user"
WORKSPACE = "workspace"

ATTRIBUTE = "pmhub_access"

F = TypeVar("F", bound=Callable[..., Any])


def mark_access(view: F, policy: str) -> F:
    setattr(view, ATTRIBUTE, policy)
    return view


def public_view(view: F) -> F:
    """Declare a view open to anonymous visitors."""
    return mark_access(view, PUBLIC)


def access_of(callback: Any) -> str | None:
    """The declared policy of a resolved URL callback (function or class-based view)."""
    for candidate in (
        callback,
        getattr(callback, "view_class", None),
        getattr(callback, "cls", None),
    ):
        policy = getattr(candidate, ATTRIBUTE, None)
        if policy:
            return policy
    return None
