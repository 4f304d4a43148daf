from __future__ import annotations

import logging
from typing import Any

from celery.beat import PersistentScheduler

from pmhub.core.heartbeats import BEAT, heartbeat_record

logger = logging.getLogger(__name__)


class HeartbeatScheduler(PersistentScheduler):
    """Celery beat's persistent scheduler that also reports beat itself alive on every tick.

    Beat runs no tasks, so without this a dead beat is only noticed when periodic work stops.
    CELERY_BEAT_MAX_LOOP_INTERVAL bounds the time between ticks.
    """

    def tick(self, *args: Any, **kwargs: Any) -> float:
        try:
            heartbeat_record(component=BEAT)
        except Exception:
            # A Redis hiccup must not stop the schedule; /health/ will report beat stale instead.
            logger.warning("could not record beat heartbeat", exc_info=True)
        return super().tick(*args, **kwargs)
