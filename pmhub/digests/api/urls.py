from __future__ import annotations

# Mounted under /api/v1/workspaces/<workspace_slug>/ (pmhub/api_urls.py, namespace "api").
urlpatterns: list = []
