"""The public pages of roadmap share links, mounted at /share/ (no login, no workspace in the
path: the token is the whole address)."""

from __future__ import annotations

from roadmap.views import share

app_name = "share"

urlpatterns = [*share.urlpatterns]
