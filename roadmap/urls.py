from __future__ import annotations

from django.urls import path

from roadmap import views

app_name = "roadmap"

# Mounted under /w/<workspace_slug>/roadmap/.
urlpatterns = [
    path("", views.index, name="index"),
]
