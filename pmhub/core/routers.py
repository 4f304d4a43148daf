"""Reads of read-only API requests on a replica (`DATABASE_REPLICA_URL`); all else on "default".

A replica lags its primary. Only what tolerates a stale read goes there: the ORM reads of an API
`GET` or `HEAD`, until that request writes anything. Pages never read from it: a PM who saves a
change and is redirected must see it. Reads inside a transaction stay on "default" too, where the
rows they lock or check are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpRequest, HttpResponse

REPLICA_DB_ALIAS = "replica"
SAFE_METHODS = frozenset({"GET", "HEAD"})
API_PREFIX = "/api/"

_replica_reads: ContextVar[bool] = ContextVar("pmhub_replica_reads", default=False)


@contextmanager
def replica_reads() -> Iterator[None]:
    """Within this block, reads outside transactions and before any write go to the replica."""
    token = _replica_reads.set(True)
    try:
        yield
    finally:
        _replica_reads.reset(token)


def reads_from_replica() -> bool:
    return _replica_reads.get() and not connections[DEFAULT_DB_ALIAS].in_atomic_block


class ReplicaRouter:
    """https://docs.djangoproject.com/en/5.2/topics/db/multi-db/#using-routers"""

    def db_for_read(self, model: type, **hints: Any) -> str:
        return REPLICA_DB_ALIAS if reads_from_replica() else DEFAULT_DB_ALIAS

    def db_for_write(self, model: type, **hints: Any) -> str:
        # The rest of the request reads its own write, which the replica may not have yet. The
        # block's reset() still restores the value from before the request.
        _replica_reads.set(False)
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        # Both aliases hold the same rows.
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS


class ReplicaReadsMiddleware:
    """Marks API `GET` and `HEAD` requests as allowed to read from the replica."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in SAFE_METHODS and request.path_info.startswith(API_PREFIX):
            with replica_reads():
                return self.get_response(request)
        return self.get_response(request)
