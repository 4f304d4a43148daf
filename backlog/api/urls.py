from __future__ import annotations

from django.urls import URLPattern, path

from backlog.api import views

# Mounted under /api/v1/workspaces/<workspace_slug>/ (pmhub/api_urls.py, namespace "api").
urlpatterns: list[URLPattern] = [
    path("items/", views.ItemListCreateApi.as_view(), name="backlog-item-list"),
    path("items/bulk/", views.ItemBulkApi.as_view(), name="backlog-item-bulk"),
    path("items/export.csv", views.ItemExportApi.as_view(), name="backlog-item-export"),
    path("items/<int:item_id>/", views.ItemDetailApi.as_view(), name="backlog-item-detail"),
    path("items/<int:item_id>/merge/", views.ItemMergeApi.as_view(), name="backlog-item-merge"),
    path(
        "items/<int:item_id>/evidence/",
        views.ItemEvidenceListCreateApi.as_view(),
        name="backlog-item-evidence",
    ),
    path(
        "items/<int:item_id>/evidence/<int:evidence_id>/",
        views.ItemEvidenceDetailApi.as_view(),
        name="backlog-item-evidence-detail",
    ),
]
