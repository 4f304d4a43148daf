from __future__ import annotations

from discovery.views import (
    feedback,
    imports,
    inbox,
    insights,
    interviews,
    people,
    search,
    tagging,
    tags,
    themes,
)

app_name = "discovery"

# Mounted under /w/<workspace_slug>/discovery/. Each views module declares its own routes.
urlpatterns = [
    *inbox.urlpatterns,
    *feedback.urlpatterns,
    *people.urlpatterns,
    *tags.urlpatterns,
    *tagging.urlpatterns,
    *themes.urlpatterns,
    *interviews.urlpatterns,
    *insights.urlpatterns,
    *search.urlpatterns,
    *imports.urlpatterns,
]
