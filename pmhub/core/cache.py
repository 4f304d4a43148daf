"""Django's Redis cache, made to ride out a Redis restart.

Everything pmhub keeps in the cache can be lost: sessions are written through to PostgreSQL
(cached_db), the scoring medians and quantiles are computed again, a heartbeat or a login
counter starts over. So while Redis is unreachable a read is a miss and a write is dropped,
with a log line each time, instead of an error page for every request in those seconds.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

UNREACHABLE = (RedisConnectionError, RedisTimeoutError)


def _tolerant(fallback: Callable[..., Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def wrapper(self: RedisCacheClient, *args: Any) -> Any:
            try:
                return method(self, *args)
            except UNREACHABLE as exc:
                logger.warning("cache unreachable, %s skipped: %s", method.__name__, exc)
                return fallback(*args)

        return wrapper

    return decorate


def _missing_key(key: str, *_args: Any) -> Any:
    # What incr() raises for a key that is not there: callers already handle it (they set it).
    raise ValueError(f"Key {key!r} not found (the cache is unreachable).")


class TolerantRedisCacheClient(RedisCacheClient):
    """Each operation's fallback is what it returns for a key that is not stored."""

    add = _tolerant(lambda *_: False)(RedisCacheClient.add)
    get = _tolerant(lambda _key, default: default)(RedisCacheClient.get)
    set = _tolerant(lambda *_: None)(RedisCacheClient.set)
    touch = _tolerant(lambda *_: False)(RedisCacheClient.touch)
    delete = _tolerant(lambda *_: False)(RedisCacheClient.delete)
    get_many = _tolerant(lambda *_: {})(RedisCacheClient.get_many)
    has_key = _tolerant(lambda *_: False)(RedisCacheClient.has_key)
    incr = _tolerant(_missing_key)(RedisCacheClient.incr)
    set_many = _tolerant(lambda *_: None)(RedisCacheClient.set_many)
    delete_many = _tolerant(lambda *_: None)(RedisCacheClient.delete_many)
    clear = _tolerant(lambda *_: False)(RedisCacheClient.clear)


class TolerantRedisCache(RedisCache):
    """`django.core.cache.backends.redis.RedisCache` with `TolerantRedisCacheClient`."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = TolerantRedisCacheClient
