from __future__ import annotations

from docs.views import documents, history, release_notes, review, templates

app_name = "docs"

# Mounted under /w/<workspace_slug>/docs/. Each views module declares its own routes.
urlpatterns = [
    *documents.urlpatterns,
    *history.urlpatterns,
    *review.urlpatterns,
    *release_notes.urlpatterns,
    *templates.urlpatterns,
]
