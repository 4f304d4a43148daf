from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """The client's IP address, read through PMHUB_TRUSTED_PROXIES reverse proxies.

    Each trusted proxy appends the address it received from; the client is the entry that many
    places from the end. Entries further left are client-supplied and cannot be trusted.
    """
    proxies = settings.PMHUB_TRUSTED_PROXIES
    if proxies > 0:
        chain = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        chain = [a for a in chain if a]
        if len(chain) >= proxies:
            return chain[-proxies]
    return request.META.get("REMOTE_ADDR", "")
