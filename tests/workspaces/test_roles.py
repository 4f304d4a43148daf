"""Who may change what: the role table, and the permission matrices of the UI and the API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from pmhub.accounts.models import ApiToken, User
from pmhub.workspaces.models import AuditEvent, Invitation, Membership, Workspace
from pmhub.workspaces.roles import Role, role_allows, role_required_for
from pmhub.workspaces.services import invitation_create
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

ROLE_DENIED = {"message": "Your role in this workspace does not allow this.", "extra": {}}
READ_ONLY = {"message": "This API token is read-only.", "extra": {}}
NOT_FOUND = {"message": "Not found.", "extra": {}}
UNAUTHENTICATED = {"message": "Authentication credentials were not provided.", "extra": {}}


# --- the role table --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "expected"),
    [
        pytest.param("GET", Role.VIEWER, id="get_case"),
        pytest.param("head", Role.VIEWER, id="lowercase_head_case"),
        pytest.param("OPTIONS", Role.VIEWER, id="options_case"),
        pytest.param("POST", Role.EDITOR, id="post_case"),
        pytest.param("PUT", Role.EDITOR, id="put_case"),
        pytest.param("PATCH", Role.EDITOR, id="patch_case"),
        pytest.param("DELETE", Role.EDITOR, id="delete_case"),
        pytest.param("TRACE", Role.ADMIN, id="unknown_method_case"),
    ],
)
def test_role_required_for_each_method_by_default(method, expected):
    assert role_required_for(method) is expected


def test_role_required_for_follows_a_views_override_and_defaults_the_rest():
    overrides = {"POST": Role.ADMIN, "GET": Role.ADMIN}

    assert role_required_for("post", overrides) is Role.ADMIN
    assert role_required_for("GET", overrides) is Role.ADMIN
    assert role_required_for("DELETE", overrides) is Role.EDITOR


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        pytest.param("viewer", {"viewer"}, id="viewer_case"),
        pytest.param("editor", {"viewer", "editor"}, id="editor_case"),
        pytest.param("admin", {"viewer", "editor", "admin"}, id="admin_case"),
    ],
)
def test_role_allows_only_the_same_or_lower_roles(role, allowed):
    assert {required for required in Role.values if role_allows(role, required)} == allowed


# --- helpers ---------------------------------------------------------------------------------
def _actor(request: pytest.FixtureRequest, name: str | None) -> User | None:
    return request.getfixturevalue(name) if name else None


def _ui_client(request: pytest.FixtureRequest, name: str | None) -> Client:
    user = _actor(request, name)
    if user is None:
        return Client()
    return request.getfixturevalue("login")(user)


def _api_client(request: pytest.FixtureRequest, name: str | None) -> APIClient:
    """Members call with a read-write token; the outsider with a session (no token could reach
    this workspace); anonymous with nothing."""
    user = _actor(request, name)
    client = APIClient()
    if user is None:
        return client
    if name == "outsider":
        client.force_login(user)
        return client
    workspace = request.getfixturevalue("workspace")
    return request.getfixturevalue("token_client")(user, workspace, "write")


def _snapshot(workspace: Workspace) -> dict[str, Any]:
    """Everything a denied write must leave as it was; take it after creating callers' tokens."""
    return {
        "name": Workspace.objects.get(id=workspace.id).name,
        "members": sorted(
            Membership.objects.unscoped().values_list("workspace_id", "user__email", "role")
        ),
        "invitations": list(
            Invitation.objects.unscoped()
            .order_by("id")
            .values_list("email", "role", "expires_at", "revoked_at", "email_status")
        ),
        "audit": list(AuditEvent.objects.unscoped().order_by("id").values_list("id", "action")),
    }


@pytest.fixture
def target(workspace: Workspace) -> Membership:
    """A member whose role the matrix tries to change or whom it tries to remove."""
    return MembershipFactory(workspace=workspace, role=Role.VIEWER, user__email="tess@acme.test")


@pytest.fixture
def pending(workspace: Workspace, admin: User) -> Invitation:
    """An open invitation the matrix tries to resend or revoke (its own send is not captured)."""
    return invitation_create(
        workspace=workspace, actor=admin, email="pat@example.com", role="viewer"
    )


# --- UI: admin-only writes -------------------------------------------------------------------
UI_ADMIN_WRITES: dict[str, Callable[[Membership, Invitation], tuple[str, dict[str, str]]]] = {
    "rename": lambda target, pending: ("/w/acme/settings/", {"name": "Renamed"}),
    "invite": lambda target, pending: (
        "/w/acme/settings/invitations/",
        {"email": "new@example.com", "role": "viewer"},
    ),
    "role": lambda target, pending: (
        f"/w/acme/settings/members/{target.id}/role/",
        {"role": "editor"},
    ),
    "remove": lambda target, pending: (f"/w/acme/settings/members/{target.id}/remove/", {}),
    "resend": lambda target, pending: (
        f"/w/acme/settings/invitations/{pending.id}/resend/",
        {},
    ),
    "revoke": lambda target, pending: (
        f"/w/acme/settings/invitations/{pending.id}/revoke/",
        {},
    ),
}


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        pytest.param(None, 302, id="anonymous_case"),
        pytest.param("outsider", 404, id="outsider_case"),
        pytest.param("viewer", 403, id="viewer_case"),
        pytest.param("member", 403, id="editor_case"),
    ],
)
@pytest.mark.parametrize("write", list(UI_ADMIN_WRITES))
def test_ui_admin_only_writes_are_refused_to_everyone_else(
    request,
    workspace,
    admin,
    target,
    pending,
    actor,
    expected,
    write,
    django_capture_on_commit_callbacks,
):
    client = _ui_client(request, actor)
    path, data = UI_ADMIN_WRITES[write](target, pending)
    before = _snapshot(workspace)

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(path, data)

    assert response.status_code == expected
    if actor is None:
        assert response["Location"] == f"/accounts/login/?next={path}"
    assert _snapshot(workspace) == before
    assert callbacks == []


def test_ui_admin_renames_the_workspace(workspace, admin, login):
    response = login(admin).post("/w/acme/settings/", {"name": "Acme Corp"})

    assert response.status_code == 302
    assert response["Location"] == "/w/acme/settings/"
    assert Workspace.objects.get(id=workspace.id).name == "Acme Corp"


def test_ui_admin_invites_and_one_send_is_enqueued(
    workspace, admin, login, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = login(admin).post(
            "/w/acme/settings/invitations/", {"email": "new@example.com", "role": "viewer"}
        )

    assert response.status_code == 302
    assert response["Location"] == "/w/acme/settings/members/"
    assert list(Invitation.objects.for_workspace(workspace).values_list("email", "role")) == [
        ("new@example.com", "viewer")
    ]
    assert len(callbacks) == 1


def test_ui_admin_changes_a_members_role(workspace, admin, target, login):
    response = login(admin).post(f"/w/acme/settings/members/{target.id}/role/", {"role": "editor"})

    assert response.status_code == 302
    assert response["Location"] == "/w/acme/settings/members/"
    assert Membership.objects.get(id=target.id).role == "editor"


def test_ui_admin_removes_a_member(workspace, admin, target, login):
    response = login(admin).post(f"/w/acme/settings/members/{target.id}/remove/")

    assert response.status_code == 302
    assert response["Location"] == "/w/acme/settings/members/"
    assert not Membership.objects.filter(id=target.id).exists()


def test_ui_admin_resends_an_invitation_and_one_send_is_enqueued(
    workspace, admin, pending, login, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = login(admin).post(f"/w/acme/settings/invitations/{pending.id}/resend/")

    assert response.status_code == 302
    assert response["Location"] == "/w/acme/settings/members/"
    assert len(callbacks) == 1
    assert AuditEvent.objects.for_workspace(workspace).order_by("-id").first().action == (
        "invitation.resent"
    )


def test_ui_admin_revokes_an_invitation(workspace, admin, pending, login):
    response = login(admin).post(f"/w/acme/settings/invitations/{pending.id}/revoke/")

    assert response.status_code == 302
    assert Invitation.objects.get(id=pending.id).revoked_at is not None


def test_ui_admin_cannot_reach_a_member_of_another_workspace(
    workspace, admin, outsider, other_workspace, login
):
    foreign = Membership.objects.for_workspace(other_workspace).get(user=outsider)

    role = login(admin).post(f"/w/acme/settings/members/{foreign.id}/role/", {"role": "viewer"})
    remove = login(admin).post(f"/w/acme/settings/members/{foreign.id}/remove/")

    assert (role.status_code, remove.status_code) == (404, 404)
    assert Membership.objects.get(id=foreign.id).role == "admin"


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        pytest.param(None, 302, id="anonymous_case"),
        pytest.param("outsider", 404, id="outsider_case"),
        pytest.param("viewer", 302, id="viewer_case"),
        pytest.param("member", 302, id="editor_case"),
        pytest.param("admin", 302, id="admin_case"),
    ],
)
def test_ui_leaving_is_open_to_every_member(request, workspace, admin, actor, expected):
    MembershipFactory(workspace=workspace, role=Role.ADMIN)  # so that the admin may leave
    user = _actor(request, actor)
    client = _ui_client(request, actor)

    response = client.post("/w/acme/settings/leave/")

    assert response.status_code == expected
    if actor in {"viewer", "member", "admin"}:
        assert response["Location"] == "/"
        assert not Membership.objects.for_workspace(workspace).filter(user=user).exists()
    else:
        assert Membership.objects.for_workspace(workspace).count() == 2


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        pytest.param(None, 302, id="anonymous_case"),
        pytest.param("outsider", 404, id="outsider_case"),
        pytest.param("viewer", 403, id="viewer_case"),
        pytest.param("member", 403, id="editor_case"),
        pytest.param("admin", 200, id="admin_case"),
    ],
)
def test_ui_audit_log_is_for_admins_only(request, workspace, admin, actor, expected):
    response = _ui_client(request, actor).get("/w/acme/settings/audit/")

    assert response.status_code == expected


# --- API: admin-only writes ------------------------------------------------------------------
API_ADMIN_WRITES: dict[str, Callable[[Membership], tuple[str, str, dict[str, str] | None]]] = {
    "rename": lambda target: ("patch", "/api/v1/workspaces/acme/", {"name": "Renamed"}),
    "role": lambda target: (
        "patch",
        f"/api/v1/workspaces/acme/members/{target.id}/",
        {"role": "editor"},
    ),
    "remove": lambda target: ("delete", f"/api/v1/workspaces/acme/members/{target.id}/", None),
    "invite": lambda target: (
        "post",
        "/api/v1/workspaces/acme/invitations/",
        {"email": "new@example.com", "role": "viewer"},
    ),
}


@pytest.mark.parametrize(
    ("actor", "expected_status", "expected_body"),
    [
        pytest.param(None, 401, UNAUTHENTICATED, id="anonymous_case"),
        pytest.param("outsider", 404, NOT_FOUND, id="outsider_case"),
        pytest.param("viewer", 403, ROLE_DENIED, id="viewer_case"),
        pytest.param("member", 403, ROLE_DENIED, id="editor_case"),
    ],
)
@pytest.mark.parametrize("write", list(API_ADMIN_WRITES))
def test_api_admin_only_writes_are_refused_to_everyone_else(
    request,
    workspace,
    admin,
    target,
    actor,
    expected_status,
    expected_body,
    write,
    django_capture_on_commit_callbacks,
):
    client = _api_client(request, actor)
    method, path, data = API_ADMIN_WRITES[write](target)
    before = _snapshot(workspace)

    with django_capture_on_commit_callbacks() as callbacks:
        response = getattr(client, method)(path, data, format="json")

    assert response.status_code == expected_status
    assert response.json() == expected_body
    assert _snapshot(workspace) == before
    assert callbacks == []


def test_api_admin_renames_the_workspace(workspace, admin, token_client):
    response = token_client(admin, workspace).patch(
        "/api/v1/workspaces/acme/", {"name": "Acme Corp"}, format="json"
    )

    assert response.status_code == 200
    assert response.json() == {
        "id": workspace.id,
        "slug": "acme",
        "name": "Acme Corp",
        "created_at": response.json()["created_at"],
    }
    assert Workspace.objects.get(id=workspace.id).name == "Acme Corp"


def test_api_admin_changes_a_members_role(workspace, admin, target, token_client):
    response = token_client(admin, workspace).patch(
        f"/api/v1/workspaces/acme/members/{target.id}/", {"role": "editor"}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["email"], body["role"]) == (target.id, "tess@acme.test", "editor")
    assert Membership.objects.get(id=target.id).role == "editor"


def test_api_admin_removes_a_member(workspace, admin, target, token_client):
    response = token_client(admin, workspace).delete(
        f"/api/v1/workspaces/acme/members/{target.id}/"
    )

    assert response.status_code == 204
    assert response.content == b""
    assert not Membership.objects.filter(id=target.id).exists()


def test_api_admin_invites_and_one_send_is_enqueued(
    workspace, admin, token_client, django_capture_on_commit_callbacks
):
    client = token_client(admin, workspace)

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            "/api/v1/workspaces/acme/invitations/",
            {"email": "New@Example.com", "role": "viewer"},
            format="json",
        )

    assert response.status_code == 201
    invitation = Invitation.objects.for_workspace(workspace).get()
    body = response.json()
    assert (body["id"], body["email"], body["role"], body["email_status"]) == (
        invitation.id,
        "new@example.com",
        "viewer",
        "pending",
    )
    assert len(callbacks) == 1


# --- API: reads ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        pytest.param(None, 401, id="anonymous_case"),
        pytest.param("outsider", 404, id="outsider_case"),
        pytest.param("viewer", 200, id="viewer_case"),
        pytest.param("member", 200, id="editor_case"),
        pytest.param("admin", 200, id="admin_case"),
    ],
)
@pytest.mark.parametrize(
    "path", ["/api/v1/workspaces/acme/", "/api/v1/workspaces/acme/members/"], ids=["ws", "members"]
)
def test_api_reads_are_open_to_every_member(request, workspace, admin, actor, expected, path):
    response = _api_client(request, actor).get(path)

    assert response.status_code == expected


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        pytest.param(None, 401, id="anonymous_case"),
        pytest.param("outsider", 404, id="outsider_case"),
        pytest.param("viewer", 403, id="viewer_case"),
        pytest.param("member", 403, id="editor_case"),
        pytest.param("admin", 200, id="admin_case"),
    ],
)
def test_api_open_invitations_are_listed_to_admins_only(request, workspace, admin, actor, expected):
    response = _api_client(request, actor).get("/api/v1/workspaces/acme/invitations/")

    assert response.status_code == expected


# --- tokens: access level and role both apply ------------------------------------------------
@pytest.mark.parametrize("write", list(API_ADMIN_WRITES))
def test_a_read_only_token_of_an_admin_cannot_write(
    workspace, admin, target, token_client, write, django_capture_on_commit_callbacks
):
    client = token_client(admin, workspace, "read")
    method, path, data = API_ADMIN_WRITES[write](target)
    before = _snapshot(workspace)

    with django_capture_on_commit_callbacks() as callbacks:
        response = getattr(client, method)(path, data, format="json")

    assert response.status_code == 403
    assert response.json() == READ_ONLY
    assert _snapshot(workspace) == before
    assert callbacks == []


def test_a_read_only_token_of_an_admin_can_read(workspace, admin, token_client):
    client = token_client(admin, workspace, "read")

    detail = client.get("/api/v1/workspaces/acme/")
    invitations = client.get("/api/v1/workspaces/acme/invitations/")

    assert detail.status_code == 200
    assert detail.json()["name"] == "Acme"
    assert invitations.status_code == 200
    assert invitations.json()["results"] == []


def test_a_read_write_token_of_a_viewer_still_cannot_write(
    workspace, viewer, token_client, django_capture_on_commit_callbacks
):
    client = token_client(viewer, workspace, "write")
    assert ApiToken.objects.get(user=viewer).access == "write"

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.patch("/api/v1/workspaces/acme/", {"name": "Mine"}, format="json")

    assert response.status_code == 403
    assert response.json() == ROLE_DENIED
    assert Workspace.objects.get(id=workspace.id).name == "Acme"
    assert callbacks == []
