from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404

from pmhub.core.access import USER, mark_access, public_view

__all__ = ["object_or_404", "public_view", "user_view"]

F = TypeVar("F", bound=Callable[..., Any])


def user_view(view: F) -> F:
    """Declare a view for any logged-in person; anonymous visitors go to the login page."""
    return mark_access(login_required(view), USER)


T = TypeVar("T")


def object_or_404(selector: Callable[..., T], **kwargs: Any) -> T:
    """Call a `_get` selector; an id outside the workspace or unknown becomes the same 404."""
    try:
        return selector(**kwargs)
    except ObjectDoesNotExist as exc:
        raise Http404 from exc
