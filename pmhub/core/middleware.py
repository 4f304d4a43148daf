from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve

F = TypeVar("F", bound=Callable[..., Any])


def allows_large_bodies(view: F) -> F:
    """Let a view (a file upload) receive bodies up to PMHUB_MAX_UPLOAD_BYTES."""
    view.pmhub_allows_large_bodies = True  # type: ignore[attr-defined]
    return view


def _limit_for(request: HttpRequest) -> int:
    try:
        view = resolve(request.path_info).func
    except Resolver404:
        return settings.PMHUB_MAX_REQUEST_BYTES
    if getattr(view, "pmhub_allows_large_bodies", False):
        return settings.PMHUB_MAX_UPLOAD_BYTES
    return settings.PMHUB_MAX_REQUEST_BYTES


class RequestSizeLimitMiddleware:
    """Refuse oversized bodies with 413 before anything parses them.

    Django's DATA_UPLOAD_MAX_MEMORY_SIZE only guards form parsing; DRF's JSON parser reads the
    raw stream, so the limit is enforced here for every request alike.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        # Only a body over the usual limit pays for resolving the URL to ask for an exception.
        if length > settings.PMHUB_MAX_REQUEST_BYTES and length > (limit := _limit_for(request)):
            message = f"Request body too large: {length} bytes; the limit is {limit} bytes."
            if request.path.startswith("/api/"):
                return JsonResponse({"message": message, "extra": {"limit": limit}}, status=413)
            return HttpResponse(message, status=413, content_type="text/plain")
        return self.get_response(request)
