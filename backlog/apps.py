from __future__ import annotations

from django.apps import AppConfig


class BacklogConfig(AppConfig):
    name = "backlog"
    label = "backlog"
