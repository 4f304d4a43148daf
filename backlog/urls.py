from __future__ import annotations

from backlog.views import board, export, items, links, scoring, table

app_name = "backlog"

# Mounted under /w/<workspace_slug>/backlog/. Each views module declares its own routes.
urlpatterns = [
    *table.urlpatterns,
    *board.urlpatterns,
    *items.urlpatterns,
    *links.urlpatterns,
    *export.urlpatterns,
    *scoring.urlpatterns,
]
