"""API plumbing shared by every endpoint: the one error format and the default pagination."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.http import Http404, HttpResponse
from rest_framework import exceptions, pagination
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.validators import ProhibitSurrogateCharactersValidator
from rest_framework.views import exception_handler as drf_exception_handler

from pmhub.core.exceptions import ApplicationError
from pmhub.core.unavailable import database_is_unavailable, database_unavailable_response


class CursorPagination(pagination.CursorPagination):
    """Keyset pagination on the primary key: stable under inserts and constant cost per page."""

    ordering = "id"
    page_size_query_param = "page_size"
    max_page_size = 200


def _texts(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _texts(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _texts(item)


def storable_json(value: Any) -> None:
    """Validator of free-form JSON input (DictField, JSONField): every key and string, at any
    depth, without the NUL character (PostgreSQL's jsonb refuses it) or a lone surrogate (UTF-8
    has none); CharField checks the same of plain text."""
    for text in _texts(value):
        ProhibitNullCharactersValidator()(text)
        ProhibitSurrogateCharactersValidator()(text)


def json_response(payload: Any, status_code: int = 200, etag: str = "") -> HttpResponse:
    """`payload` encoded by orjson (UTC times with Z), for the endpoints that build plain rows
    instead of going through a serializer."""
    response = HttpResponse(
        orjson.dumps(payload, option=orjson.OPT_UTC_Z),
        content_type="application/json",
        status=status_code,
    )
    if etag:
        response["ETag"] = etag
    return response


def version_etag(kind: str, object_id: int, version: int) -> str:
    """The ETag of one version of an object that counts its versions: `"item-7-v3"`."""
    return f'"{kind}-{object_id}-v{version}"'


def if_match_version(
    request: Any, kind: str, object_id: int, stale: ApplicationError
) -> int | None:
    """The version an If-Match header names for version_etag(kind, object_id, ...); None
    without the header (or with `*`). A tag of another object, or not one of ours, raises
    `stale` (a 412 error of the caller's)."""
    header = request.headers.get("If-Match", "").strip()
    if not header or header == "*":
        return None
    prefix = f'"{kind}-{object_id}-v'
    tag = header.removeprefix("W/")
    if not (tag.startswith(prefix) and tag.endswith('"') and tag[len(prefix) : -1].isdigit()):
        raise stale
    return int(tag[len(prefix) : -1])


def exception_handler(exc: Exception, context: dict[str, Any]) -> HttpResponse | None:
    """Answer every error as `{"message": str, "extra": {...}}`.

    An unreachable database is a 503 with Retry-After. Other unknown exceptions are not caught:
    they are bugs and must surface as 500s.
    """
    if database_is_unavailable(exc):
        return database_unavailable_response(context["request"], exc)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, Http404 | ObjectDoesNotExist):
        # Selectors raise DoesNotExist for ids outside the workspace as for missing ones.
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, ApplicationError):
        return Response({"message": exc.message, "extra": exc.extra}, status=exc.status_code)

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"message": "Validation error", "extra": {"fields": response.data}}
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else ""
        response.data = {"message": str(detail), "extra": {}}
    return response


def paginated_response(
    *, view: Any, queryset: Any, serializer_class: type, request: Any
) -> Response:
    """One cursor page of `queryset` through `serializer_class`, with next/previous links."""
    pagination_class = getattr(view, "pagination_class", None) or CursorPagination
    paginator = pagination_class()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)
