from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, str]:
    """The installation's public address, for links people copy out of the app."""
    return {
        "base_url": settings.PMHUB_BASE_URL,
        "base_url_host": urlsplit(settings.PMHUB_BASE_URL).netloc,
    }
