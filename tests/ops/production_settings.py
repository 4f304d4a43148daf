"""The production settings for tests that run gunicorn, except that static files are served
from the source folders (as in the test settings), so that no collectstatic run (37 MB of
compressed copies, ~19 s) has to come first. DEBUG stays off: error pages are the real ones."""

from __future__ import annotations

from pmhub.settings.production import *  # noqa: F403

STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
