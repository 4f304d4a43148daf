"""The digests' pages, mounted under /w/<workspace_slug>/digests/."""

from __future__ import annotations

app_name = "digests"

urlpatterns: list = []
