"""The digests' pages, mounted under /w/<workspace_slug>/digests/."""

from __future__ import annotations

from pmhub.digests.views import imports, outbox, preview, runs, settings, stakeholders

app_name = "digests"

# Each views module declares its own routes; the import's path comes before the stakeholder's.
urlpatterns = [
    *imports.urlpatterns,
    *stakeholders.urlpatterns,
    *preview.urlpatterns,
    *settings.urlpatterns,
    *runs.urlpatterns,
    *outbox.urlpatterns,
]
