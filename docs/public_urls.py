"""The public changelog: /changelog/<workspace_slug>/ and its Atom feed."""

from __future__ import annotations

from docs.views import changelog

app_name = "changelog"

urlpatterns = [*changelog.urlpatterns]
