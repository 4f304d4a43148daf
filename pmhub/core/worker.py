"""The Celery worker's consumer, made to survive losing a Redis broker.

When Redis goes away, kombu 5.7's Redis channel is left with a released transport: closing it
(Celery collects the broken connection, then closes it, restoring the unacknowledged messages)
or acknowledging a task that finished during the outage on it raises AttributeError
("'NoneType' object has no attribute 'hostname'" in `_connparams`). That is not among the
transport's connection errors, so it escapes Celery's guards and the worker exits
("Unrecoverable error"), its prefork children and their tasks with it: tests/ops/
test_redis_restart.py hit both, one or the other in each run before this class.

Here AttributeError counts as a connection error of the consumer: the consumer reconnects
instead of dying, and such an ack is logged and dropped (the message lived in that Redis, gone
or back with it). Task code is not concerned: it runs in the pool, where errors are the task's.
"""

from __future__ import annotations

import logging
from typing import Any

from celery.worker.consumer import Consumer as CeleryConsumer

logger = logging.getLogger(__name__)


class Consumer(CeleryConsumer):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connection_errors = (*self.connection_errors, AttributeError)

    def on_connection_error_after_connected(self, exc: Any) -> None:
        try:
            super().on_connection_error_after_connected(exc)
        except AttributeError:
            # Raised by the close (kombu checks its transport's own errors there); the base
            # class has dropped the connection already, and what it skipped after the close
            # (cancelling tasks on connection loss) is off in pmhub's settings.
            logger.warning(
                "closing the lost broker connection failed; reconnecting all the same",
                exc_info=True,
            )
