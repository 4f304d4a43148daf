"""The digests' public pages, mounted at /digest/: no login, the signed token is the address."""

from __future__ import annotations

app_name = "digest"

urlpatterns: list = []
