from __future__ import annotations

from docs.api import documents, templates

# Mounted under /api/v1/workspaces/<workspace_slug>/ (pmhub/api_urls.py, namespace "api").
urlpatterns = [
    *documents.urlpatterns,
    *templates.urlpatterns,
]
