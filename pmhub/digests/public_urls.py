"""The digests' public pages, mounted at /digest/: no login, the signed token is the address."""

from __future__ import annotations

from django.urls import path

from pmhub.digests import public_views

app_name = "digest"

urlpatterns = [
    path("unsubscribe/<str:digest_token>/", public_views.unsubscribe, name="unsubscribe"),
    path("view/<str:digest_token>/", public_views.web_version, name="web"),
]
