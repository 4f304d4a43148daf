from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.csrf import requires_csrf_token

from pmhub.core.access import USER, mark_access, public_view
from pmhub.core.unavailable import database_is_unavailable, database_unavailable_response

__all__ = ["object_or_404", "page_not_found", "public_view", "server_error", "user_view"]

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


@requires_csrf_token
def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404. Under /api/ a URL no route matches (a word where an id goes, a typo) gets the
    API's error body like any other API 404, not the HTML page meant for people."""
    if request.path.startswith("/api/"):
        return JsonResponse({"message": "Not found.", "extra": {}}, status=404)
    return defaults.page_not_found(request, exception)


@requires_csrf_token
def server_error(request: HttpRequest) -> HttpResponse:
    """handler500. Django calls it for an exception raised anywhere, middleware included (the
    session and auth middleware read the database before any view runs), so an unreachable
    database becomes the 503 here; anything else stays Django's 500 page."""
    exc = sys.exc_info()[1]
    if exc is not None and database_is_unavailable(exc):
        return database_unavailable_response(request, exc)
    return defaults.server_error(request)
