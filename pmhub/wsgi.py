"""WSGI entry point for gunicorn: `gunicorn pmhub.wsgi`."""

from __future__ import annotations

import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pmhub.settings.production")

application = get_wsgi_application()

# What startup built (apps, models, the URLconf) lives as long as the process. Frozen, the
# garbage collector stops walking it on every full collection; measured with bench.backlog, the
# backlog table's page took ~25 % less time.
get_resolver().url_patterns  # noqa: B018 - built now, so that it is frozen with the rest
gc.freeze()
