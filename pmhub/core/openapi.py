"""The OpenAPI schema's shared part: the error answers every operation can give, in the one
error format of pmhub.core.api.exception_handler."""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

READS = {"GET", "HEAD", "DELETE"}


class ErrorOutputSerializer(serializers.Serializer):
    """The one error format; a stale edit carries the current `version` in `extra`, a refused
    body its field errors in `extra.fields`."""

    message = serializers.CharField()
    extra = serializers.DictField()


ERROR_DESCRIPTIONS = {
    "400": "The request is malformed or a value is refused; `extra.fields` says which.",
    "401": "No API token or session, or the token is unknown, malformed or revoked.",
    "403": "The token is read-only or the caller's role does not allow this.",
    "404": "No such object in this workspace (or the caller is not a member of it).",
    "413": "The body is over the size limit (PMHUB_MAX_REQUEST_BYTES); `extra.limit` says it.",
    "415": "The body's Content-Type is not one this operation reads.",
    "422": "The Idempotency-Key was sent before with a different request.",
}

IDEMPOTENCY_KEY_DESCRIPTION = (
    "Optional. A key of your choosing (a UUID, say) that makes retrying this request safe: a "
    "request sent again with the same key within 24 hours is not run again, and gets the first "
    "request's answer, with `Idempotent-Replayed: true`. Only successful answers are kept; the "
    "same key with a different body is refused with 422."
)


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's AutoSchema, with the error responses declared on every operation, so
    that clients (and the API fuzzer) find each status the API can answer in the schema.

    401 and 403 can come from any operation, 404 from any with a path parameter, 400 from any
    that reads a body or a query parameter, 413 and 415 from any that reads a body. An error
    status a view declares without a body (`{412: None}`) gets the error body too."""

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code in self._error_statuses():
            responses.setdefault(code, {"description": ERROR_DESCRIPTIONS[code]})
        for code, response in responses.items():
            if code.startswith("4") and "content" not in response:
                description = response.get("description") or ERROR_DESCRIPTIONS.get(code, "")
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(ErrorOutputSerializer, description=description),
                    code,
                    direction=direction,
                )
        return responses

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        header = getattr(self.view, "idempotency_key_header", "")
        if self.method == "POST" and header:
            parameters.append(
                OpenApiParameter(
                    header,
                    {"type": "string", "maxLength": 255, "pattern": r"^[!-~]([ -~]*[!-~])?$"},
                    location=OpenApiParameter.HEADER,
                    required=False,
                    description=IDEMPOTENCY_KEY_DESCRIPTION,
                )
            )
        return parameters

    def _get_paginator(self) -> Any:
        # A view paginates its GET list; the same class's PUT may answer a plain list.
        return super()._get_paginator() if self.method == "GET" else None

    def _error_statuses(self) -> list[str]:
        codes = ["401", "403"]
        if "{" in self.path:
            codes.append("404")
        has_query = any(parameter["in"] == "query" for parameter in self._get_parameters())
        if self.method not in READS or has_query:
            codes.append("400")
        if self.method not in READS:
            codes.extend(["413", "415"])
        if self.method == "POST" and getattr(self.view, "idempotency_key_header", ""):
            codes.append("422")
        return sorted(codes)
