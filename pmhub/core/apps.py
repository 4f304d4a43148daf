from __future__ import annotations

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "pmhub.core"
    label = "core"

    def ready(self) -> None:
        # Loading the app here binds every task module to it in web processes too, so that
        # delay_on_commit() reaches the configured broker.
        from pmhub import celery  # noqa: F401
