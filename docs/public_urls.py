"""The public changelog: /changelog/<workspace_slug>/ and its Atom feed."""

from __future__ import annotations

app_name = "changelog"

urlpatterns: list = []
