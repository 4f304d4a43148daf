from __future__ import annotations

from django.urls import URLPattern

# Mounted under /api/v1/workspaces/<workspace_slug>/.
urlpatterns: list[URLPattern] = []
