"""Helpers of the discovery API tests: clients per role and the objects they act on."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rest_framework.test import APIClient

from discovery import services
from pmhub.accounts.models import User
from pmhub.accounts.services import api_token_create
from pmhub.workspaces.models import Workspace

BASE = "/api/v1/workspaces/acme"
NOT_FOUND = {"message": "Not found.", "extra": {}}
ROLE_DENIED = {"message": "Your role in this workspace does not allow this.", "extra": {}}
READ_ONLY = {"message": "This API token is read-only.", "extra": {}}


def api_as(user: User, workspace: Workspace, access: str = "write") -> APIClient:
    """A client calling with a fresh personal token of `user` in `workspace`."""
    _token, raw = api_token_create(workspace=workspace, user=user, name="test", access=access)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def iso(value: datetime) -> str:
    """A datetime as the API writes it (UTC, with Z)."""
    return value.isoformat().replace("+00:00", "Z")


def fields_error(**fields: Any) -> dict[str, Any]:
    return {"message": "Validation error", "extra": {"fields": fields}}


def feedback(workspace: Workspace, actor: User | None, text: str = "Exports time out", **kwargs):
    return services.feedback_create(
        workspace=workspace, actor=actor, data=services.FeedbackInput(text=text, **kwargs)
    )


UNAUTHENTICATED = {"message": "Authentication credentials were not provided.", "extra": {}}

# (who, token access, expected status, expected body) for the callers that must not write.
DENIED_WRITERS = [
    ("anonymous", "", 401, UNAUTHENTICATED),
    ("viewer", "write", 403, ROLE_DENIED),
    ("member", "read", 403, READ_ONLY),
    ("admin", "read", 403, READ_ONLY),
    ("outsider", "write", 404, NOT_FOUND),
]
DENIED_WRITER_IDS = [
    "anonymous_case",
    "viewer_case",
    "read_only_token_case",
    "admin_read_only_token_case",
    "outsider_case",
]


def client_of(request: Any, who: str, access: str) -> APIClient:
    """The client of a DENIED_WRITERS caller; the outsider's token is of their own workspace,
    the only one a token of theirs can reach."""
    if who == "anonymous":
        return APIClient()
    workspace_fixture = "other_workspace" if who == "outsider" else "workspace"
    return api_as(request.getfixturevalue(who), request.getfixturevalue(workspace_fixture), access)
