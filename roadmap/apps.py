from __future__ import annotations

from django.apps import AppConfig


class RoadmapConfig(AppConfig):
    name = "roadmap"
    label = "roadmap"
