from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_required

from pmhub.core.access import USER, mark_access, public_view

__all__ = ["public_view", "user_view"]

F = TypeVar("F", bound=Callable[..., Any])


def user_view(view: F) -> F:
    """Declare a view for any logged-in person; anonymous visitors go to the login page."""
    return mark_access(login_required(view), USER)
