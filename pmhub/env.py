"""The one place that reads the process environment (12-factor settings)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()


def redis_url_for_celery(url: str) -> str:
    """Translate a redis-py URL into kombu's spelling (kombu names unix sockets `redis+socket`)."""
    parts = urlsplit(url)
    if parts.scheme != "unix":
        return url
    db = parse_qs(parts.query).get("db", ["0"])[0]
    return f"redis+socket://{parts.path}?virtual_host={db}"
