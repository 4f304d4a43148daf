from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from pmhub.accounts.models import ApiToken, User
from pmhub.accounts.selectors import api_token_find_active
from pmhub.accounts.services import api_token_mark_used
from pmhub.accounts.tokens import token_is_well_formed


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer pmh_...`. Sets request.auth to the ApiToken."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        keyword, _, raw = header.partition(" ")
        if keyword.lower() not in {"bearer", "token"}:
            return None
        raw = raw.strip()
        if not token_is_well_formed(raw):
            raise exceptions.AuthenticationFailed(
                "Malformed API token: expected 'Bearer pmh_' followed by 40 characters."
            )
        token = api_token_find_active(raw=raw)
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid or revoked API token.")
        api_token_mark_used(token=token)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class ApiTokenAuthenticationScheme(OpenApiAuthenticationExtension):
    """Describes token auth in the OpenAPI schema."""

    target_class = "pmhub.accounts.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token from Settings → API tokens: `pmh_...`.",
        }
