from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse


class RequestSizeLimitMiddleware:
    """Refuse oversized bodies with 413 before anything parses them.

    Django's DATA_UPLOAD_MAX_MEMORY_SIZE only guards form parsing; DRF's JSON parser reads the
    raw stream, so the limit is enforced here for every request alike.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.PMHUB_MAX_REQUEST_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            message = f"Request body too large: {length} bytes; the limit is {limit} bytes."
            if request.path.startswith("/api/"):
                return JsonResponse({"message": message, "extra": {"limit": limit}}, status=413)
            return HttpResponse(message, status=413, content_type="text/plain")
        return self.get_response(request)
