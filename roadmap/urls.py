from __future__ import annotations

from roadmap.views import objectives, releases, roadmaps, sharing

app_name = "roadmap"

# Mounted under /w/<workspace_slug>/roadmap/. Each views module declares its own routes.
urlpatterns = [
    *roadmaps.urlpatterns,
    *releases.urlpatterns,
    *objectives.urlpatterns,
    *sharing.urlpatterns,
]
