from __future__ import annotations

from django.urls import path

from pmhub.workspaces import views_data

app_name = "workspace-data"

# Mounted under /w/<workspace_slug>/settings/data/.
urlpatterns = [
    path("", views_data.settings_data, name="index"),
    path("export/", views_data.workspace_export_view, name="export"),
    path("delete/", views_data.workspace_delete_view, name="delete"),
]
