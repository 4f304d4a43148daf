from __future__ import annotations

from django.urls import path

from discovery import views

app_name = "discovery"

# Mounted under /w/<workspace_slug>/discovery/.
urlpatterns = [
    path("", views.index, name="index"),
]
