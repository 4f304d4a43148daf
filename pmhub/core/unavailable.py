"""PostgreSQL unreachable (restarting, failing over, down): answer 503 and say so.

Pages get templates/503.html; the API, and the pages' scripts that ask for JSON, get the API's
`{"message", "extra"}` error; both carry Retry-After, and the log gets one line per request
instead of a traceback. Persistent connections broken by a restart are dropped and reopened by
Django itself (`CONN_HEALTH_CHECKS`), so the app recovers as soon as the database answers again.
"""

from __future__ import annotations

import logging

import psycopg
from django.db import utils
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader

# Long enough for a restart or a failover to finish; a client that retries sooner only gets
# another 503.
RETRY_AFTER_SECONDS = 5
MESSAGE = "The database is unavailable for a moment; try again in a few seconds."

# SQLSTATEs of a lost or refused connection: class 08 (connection exception), the server
# terminating sessions (admin_shutdown, crash_shutdown) and refusing them while it starts or
# stops (cannot_connect_now). Errors raised by libpq itself (connection refused, server closed
# the connection) carry none. Other OperationalErrors (statement timeout, deadlock, lock not
# available) come from a statement, not from an outage, and stay 500s.
_LOST_CONNECTION_STATES = ("08", "57P01", "57P02", "57P03")

logger = logging.getLogger("pmhub.database")


def _is_lost_connection(exc: BaseException) -> bool:
    if isinstance(exc, utils.InterfaceError | psycopg.InterfaceError):
        return True
    if isinstance(exc, utils.OperationalError):
        exc = exc.__cause__ or exc
    if isinstance(exc, psycopg.OperationalError):
        sqlstate = exc.sqlstate
        return sqlstate is None or sqlstate.startswith(_LOST_CONNECTION_STATES)
    return isinstance(exc, utils.OperationalError)


def database_is_unavailable(exc: BaseException) -> bool:
    """True when `exc`, or an exception it was raised from, says the connection to PostgreSQL
    is gone or cannot be made."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if _is_lost_connection(current):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _wants_json(request: HttpRequest) -> bool:
    # The pages' own scripts ask for JSON (Accept: application/json) and toast its `message`.
    if request.path.startswith("/api/"):
        return True
    return request.get_preferred_type(["text/html", "application/json"]) == "application/json"


def database_unavailable_response(request: HttpRequest, exc: BaseException) -> HttpResponse:
    """The 503 for `request`: the API's error shape for the API and for scripts asking for
    JSON, the 503 page otherwise. Logs one line."""
    cause = exc.__cause__ if isinstance(exc, utils.Error) and exc.__cause__ else exc
    reason = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    logger.warning(
        "Database unavailable, answered 503: %s %s (%s: %s)",
        request.method,
        request.path,
        type(cause).__name__,
        reason,
    )
    response: HttpResponse
    if _wants_json(request):
        response = JsonResponse({"message": MESSAGE, "extra": {}}, status=503)
    else:
        # No request context: context processors would query the database that is down.
        response = HttpResponse(loader.render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    # The line above stands for the request; Django would add its own with a full traceback.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response
