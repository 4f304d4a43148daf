from __future__ import annotations

from roadmap.api import objectives, releases, roadmaps

# Mounted under /api/v1/workspaces/<workspace_slug>/ (pmhub/api_urls.py, namespace "api").
# Each api module declares its own routes.
urlpatterns = [
    *roadmaps.urlpatterns,
    *releases.urlpatterns,
    *objectives.urlpatterns,
]
