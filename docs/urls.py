from __future__ import annotations

from django.urls import path

from docs import views

app_name = "docs"

# Mounted under /w/<workspace_slug>/docs/.
urlpatterns = [
    path("", views.index, name="index"),
]
