from __future__ import annotations

from django.urls import path

from backlog import views

app_name = "backlog"

# Mounted under /w/<workspace_slug>/backlog/.
urlpatterns = [
    path("", views.index, name="index"),
]
