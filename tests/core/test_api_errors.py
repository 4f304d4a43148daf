"""Every API error has the one shape `{"message": str, "extra": dict}`."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions

from pmhub.core.api import exception_handler
from pmhub.core.exceptions import ApplicationError
from pmhub.workspaces.models import Membership

pytestmark = pytest.mark.django_db

NOT_FOUND = {"message": "Not found.", "extra": {}}


def _assert_error_shape(body: object) -> None:
    assert isinstance(body, dict)
    assert set(body) == {"message", "extra"}
    assert isinstance(body["message"], str)
    assert body["message"]
    assert isinstance(body["extra"], dict)


# --- 404 -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "data"),
    [
        pytest.param("get", None, id="get_case"),
        pytest.param("patch", {"role": "viewer"}, id="patch_case"),
        pytest.param("delete", None, id="delete_case"),
    ],
)
def test_an_unknown_member_id_is_404(workspace, admin, token_client, method, data):
    client = token_client(admin, workspace)
    # <int:member_id> does not match -1, so a never-issued id stands for the missing row.

    response = getattr(client, method)(
        "/api/v1/workspaces/acme/members/999999999/", data, format="json"
    )

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


@pytest.mark.parametrize(
    ("method", "data"),
    [
        pytest.param("get", None, id="get_case"),
        pytest.param("patch", {"role": "viewer"}, id="patch_case"),
        pytest.param("delete", None, id="delete_case"),
    ],
)
def test_a_member_id_of_another_workspace_is_404(
    workspace, admin, outsider, other_workspace, token_client, method, data
):
    foreign = Membership.objects.for_workspace(other_workspace).get(user=outsider)
    client = token_client(admin, workspace)

    response = getattr(client, method)(
        f"/api/v1/workspaces/acme/members/{foreign.id}/", data, format="json"
    )

    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    assert Membership.objects.get(id=foreign.id).role == "admin"


def test_an_unknown_workspace_is_404(db, outsider, api_client):
    api_client.force_login(outsider)

    response = api_client.get("/api/v1/workspaces/nowhere/")

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_an_invalid_cursor_is_404(workspace, admin, token_client):
    response = token_client(admin, workspace).get("/api/v1/workspaces/acme/members/?cursor=zzz")

    assert response.status_code == 404
    assert response.json() == {"message": "Invalid cursor", "extra": {}}


# --- 400 -------------------------------------------------------------------------------------
def test_a_validation_error_lists_the_fields(workspace, admin, member, token_client):
    membership = Membership.objects.for_workspace(workspace).get(user=member)

    response = token_client(admin, workspace).patch(
        f"/api/v1/workspaces/acme/members/{membership.id}/", {"role": "owner"}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {
        "message": "Validation error",
        "extra": {"fields": {"role": ['"owner" is not a valid choice.']}},
    }
    assert Membership.objects.get(id=membership.id).role == "editor"


def test_a_refused_business_rule_is_400_with_its_message(workspace, admin, token_client):
    membership = Membership.objects.for_workspace(workspace).get(user=admin)

    response = token_client(admin, workspace).patch(
        f"/api/v1/workspaces/acme/members/{membership.id}/", {"role": "viewer"}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {
        "message": "A workspace needs at least one admin. Make someone else an admin first.",
        "extra": {},
    }
    assert Membership.objects.get(id=membership.id).role == "admin"


# --- 401, 403, 405 ---------------------------------------------------------------------------
def test_no_credentials_is_401(workspace, api_client):
    response = api_client.get("/api/v1/workspaces/acme/members/")

    assert response.status_code == 401
    assert response.json() == {
        "message": "Authentication credentials were not provided.",
        "extra": {},
    }


def test_a_role_refusal_is_403(workspace, viewer, token_client):
    response = token_client(viewer, workspace).patch(
        "/api/v1/workspaces/acme/", {"name": "X"}, format="json"
    )

    assert response.status_code == 403
    assert response.json() == {
        "message": "Your role in this workspace does not allow this.",
        "extra": {},
    }


def test_an_unsupported_method_is_405(workspace, admin, token_client):
    response = token_client(admin, workspace).delete("/api/v1/workspaces/acme/")

    assert response.status_code == 405
    assert response.json() == {"message": 'Method "DELETE" not allowed.', "extra": {}}


# --- the handler itself ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("exc", "status", "body"),
    [
        pytest.param(
            DjangoValidationError({"name": "Too long."}),
            400,
            {"message": "Validation error", "extra": {"fields": {"name": ["Too long."]}}},
            id="django_validation_dict_case",
        ),
        pytest.param(
            DjangoValidationError("Nope."),
            400,
            {"message": "Validation error", "extra": {"fields": {"non_field_errors": ["Nope."]}}},
            id="django_validation_message_case",
        ),
        pytest.param(
            ApplicationError("No can do.", extra={"limit": 3}),
            400,
            {"message": "No can do.", "extra": {"limit": 3}},
            id="application_error_case",
        ),
        pytest.param(Http404("secret detail"), 404, NOT_FOUND, id="http404_case"),
        pytest.param(
            PermissionDenied("secret detail"),
            403,
            {"message": "You do not have permission to perform this action.", "extra": {}},
            id="permission_denied_case",
        ),
        pytest.param(
            exceptions.Throttled(wait=5),
            429,
            {"message": "Request was throttled. Expected available in 5 seconds.", "extra": {}},
            id="throttled_case",
        ),
    ],
)
def test_the_exception_handler_answers_in_the_one_format(exc, status, body):
    response = exception_handler(exc, {})

    assert response.status_code == status
    assert response.data == body
    _assert_error_shape(response.data)


def test_the_exception_handler_leaves_unknown_errors_to_surface_as_500():
    assert exception_handler(RuntimeError("bug"), {}) is None
