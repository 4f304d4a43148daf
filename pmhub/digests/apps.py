from __future__ import annotations

from django.apps import AppConfig


class DigestsConfig(AppConfig):
    name = "pmhub.digests"
    label = "digests"
    verbose_name = "Stakeholder digests"
