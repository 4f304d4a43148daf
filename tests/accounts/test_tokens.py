"""Personal API tokens: their shape, storage, and how the API authenticates with them."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from rest_framework.test import APIClient

from pmhub.accounts.models import ApiToken
from pmhub.accounts.services import api_token_create, api_token_revoke
from pmhub.accounts.tokens import token_generate, token_hash, token_is_well_formed
from pmhub.core.exceptions import ApplicationError
from pmhub.workspaces.models import AuditEvent, Membership, Workspace
from pmhub.workspaces.roles import Role
from pmhub.workspaces.services import membership_remove
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

MALFORMED = {
    "message": "Malformed API token: expected 'Bearer pmh_' followed by 40 characters.",
    "extra": {},
}
INVALID = {"message": "Invalid or revoked API token.", "extra": {}}
NOT_FOUND = {"message": "Not found.", "extra": {}}


def _bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


# --- shape -----------------------------------------------------------------------------------
def test_a_generated_token_is_pmh_and_forty_url_safe_chars():
    raw = token_generate()

    assert re.fullmatch(r"pmh_[A-Za-z0-9_-]{40}", raw)
    assert token_is_well_formed(raw)
    assert token_generate() != raw


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("abc", id="short_case"),
        pytest.param("pmh_short", id="short_pmh_case"),
        pytest.param("pmh_" + "a" * 39, id="thirty_nine_case"),
        pytest.param("pmh_" + "a" * 41, id="forty_one_case"),
        pytest.param("pmx_" + "a" * 40, id="wrong_prefix_case"),
        pytest.param("pmh_" + "a" * 39 + "!", id="bad_char_case"),
        pytest.param("pmh_" + "a" * 40 + "\n", id="trailing_newline_case"),
        pytest.param("", id="empty_case"),
    ],
)
def test_token_is_well_formed_rejects(raw):
    assert token_is_well_formed(raw) is False


def test_token_hash_is_the_sha256_hex_digest():
    raw = "pmh_" + "a" * 40

    assert token_hash(raw) == hashlib.sha256(raw.encode()).hexdigest()


# --- create and revoke -----------------------------------------------------------------------
def test_api_token_create_stores_only_the_hash_and_a_short_prefix(workspace, member):
    token, raw = api_token_create(workspace=workspace, user=member, name=" CI ", access="read")

    stored = ApiToken.objects.for_workspace(workspace).get()
    assert stored.id == token.id
    assert re.fullmatch(r"[0-9a-f]{64}", stored.token_hash)
    assert stored.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert (stored.name, stored.access, stored.prefix) == ("CI", "read", raw[:12])
    assert raw not in {str(value) for value in ApiToken.objects.values().get().values()}
    event = AuditEvent.objects.for_workspace(workspace).get()
    assert (event.action, event.actor_id, event.changes) == (
        "token.created",
        member.id,
        {"name": "CI", "access": "read"},
    )


@pytest.mark.parametrize(
    ("name", "access", "errors"),
    [
        pytest.param("CI", "admin", {"access": ["Choose read or write."]}, id="bad_access_case"),
        pytest.param(
            "   ",
            "read",
            {"name": ["Give the token a name, e.g. where it will be used."]},
            id="blank_name_case",
        ),
    ],
)
def test_api_token_create_refuses_bad_input(workspace, member, name, access, errors):
    with pytest.raises(ValidationError) as excinfo:
        api_token_create(workspace=workspace, user=member, name=name, access=access)

    assert excinfo.value.message_dict == errors
    assert ApiToken.objects.unscoped().count() == 0
    assert AuditEvent.objects.unscoped().count() == 0


def test_api_token_revoke_twice_is_refused(workspace, member):
    token, _raw = api_token_create(workspace=workspace, user=member, name="CI", access="read")
    api_token_revoke(workspace=workspace, actor=member, token=token)

    with pytest.raises(ApplicationError) as excinfo:
        api_token_revoke(workspace=workspace, actor=member, token=token)

    assert excinfo.value.message == "This token is already revoked."
    assert list(
        AuditEvent.objects.for_workspace(workspace).order_by("id").values_list("action", "changes")
    ) == [("token.created", {"name": "CI", "access": "read"}), ("token.revoked", {"name": "CI"})]


# --- authenticating with a token -------------------------------------------------------------
@pytest.mark.parametrize(
    "header",
    [
        pytest.param("Bearer abc", id="abc_case"),
        pytest.param("Bearer pmh_short", id="pmh_short_case"),
        pytest.param("Bearer ", id="empty_case"),
        pytest.param("Token pmh_short", id="token_keyword_case"),
    ],
)
def test_a_malformed_token_is_401(workspace, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    response = client.get("/api/v1/workspaces/acme/")

    assert response.status_code == 401
    assert response.json() == MALFORMED
    assert response["WWW-Authenticate"] == "Bearer"


def test_an_unknown_well_formed_token_is_401(workspace):
    response = _bearer("pmh_" + "A" * 40).get("/api/v1/workspaces/acme/")

    assert response.status_code == 401
    assert response.json() == INVALID


def test_a_revoked_token_is_401(workspace, member, make_token):
    raw = make_token(member, workspace, "read")
    api_token_revoke(workspace=workspace, actor=member, token=ApiToken.objects.get())

    response = _bearer(raw).get("/api/v1/workspaces/acme/")

    assert response.status_code == 401
    assert response.json() == INVALID


def test_a_token_of_a_deactivated_user_is_401(workspace, member, make_token):
    raw = make_token(member, workspace, "read")
    member.is_active = False
    member.save(update_fields=["is_active"])

    response = _bearer(raw).get("/api/v1/workspaces/acme/")

    assert response.status_code == 401
    assert response.json() == INVALID


def test_the_token_keyword_is_accepted_like_bearer(workspace, member, make_token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {make_token(member, workspace, 'read')}")

    response = client.get("/api/v1/workspaces/acme/")

    assert response.status_code == 200


def test_a_token_of_another_workspace_is_404_here(workspace, other_workspace, outsider, member):
    # Bob belongs to both workspaces, but his Globex token speaks for Globex only.
    MembershipFactory(workspace=other_workspace, user=member, role=Role.ADMIN)
    _token, raw = api_token_create(
        workspace=other_workspace, user=member, name="globex", access="write"
    )

    detail = _bearer(raw).get("/api/v1/workspaces/acme/")
    rename = _bearer(raw).patch("/api/v1/workspaces/acme/", {"name": "X"}, format="json")

    assert (detail.status_code, rename.status_code) == (404, 404)
    assert detail.json() == NOT_FOUND
    assert _bearer(raw).get("/api/v1/workspaces/globex/").status_code == 200


def test_a_removed_members_token_stops_working_at_once(workspace, admin, member, make_token):
    raw = make_token(member, workspace, "write")
    membership_remove(
        workspace=workspace,
        actor=admin,
        membership=Membership.objects.for_workspace(workspace).get(user=member),
    )

    response = _bearer(raw).get("/api/v1/workspaces/acme/")

    assert response.status_code == 401
    assert response.json() == INVALID


def test_last_used_at_is_recorded_on_use_and_not_rewritten_within_a_minute(
    workspace, member, make_token
):
    raw = make_token(member, workspace, "read")
    client = _bearer(raw)
    assert ApiToken.objects.get().last_used_at is None

    before = timezone.now()
    client.get("/api/v1/workspaces/acme/")
    first = ApiToken.objects.get().last_used_at
    client.get("/api/v1/workspaces/acme/")
    second = ApiToken.objects.get().last_used_at

    assert before <= first <= timezone.now()
    assert second == first


def test_last_used_at_is_rewritten_once_a_minute_has_passed(workspace, member, make_token):
    raw = make_token(member, workspace, "read")
    long_ago = timezone.now() - timedelta(minutes=1, seconds=1)
    ApiToken.objects.update(last_used_at=long_ago)

    before = timezone.now()
    _bearer(raw).get("/api/v1/workspaces/acme/")

    assert ApiToken.objects.get().last_used_at >= before


def test_a_session_write_without_a_csrf_token_is_refused(workspace, admin):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(admin)

    response = client.patch("/api/v1/workspaces/acme/", {"name": "Forged"}, format="json")

    assert response.status_code == 403
    assert response.json() == {"message": "CSRF Failed: CSRF cookie not set.", "extra": {}}
    assert Workspace.objects.get(id=workspace.id).name == "Acme"


def test_a_token_write_needs_no_csrf_token(workspace, admin, make_token):
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(admin, workspace, 'write')}")

    response = client.patch("/api/v1/workspaces/acme/", {"name": "Acme Corp"}, format="json")

    assert response.status_code == 200
    assert Workspace.objects.get(id=workspace.id).name == "Acme Corp"


# --- /api/v1/me/ -----------------------------------------------------------------------------
def test_me_with_a_token_lists_only_the_tokens_workspace(
    workspace, other_workspace, member, make_token
):
    MembershipFactory(workspace=other_workspace, user=member, role=Role.VIEWER)
    raw = make_token(member, other_workspace, "read")

    response = _bearer(raw).get("/api/v1/me/")

    assert response.status_code == 200
    assert response.json() == {
        "id": member.id,
        "email": "bob@acme.test",
        "name": member.name,
        "workspaces": [{"slug": "globex", "name": "Globex", "role": "viewer"}],
        "token": {"name": "test", "access": "read", "prefix": raw[:12]},
    }


def test_me_with_a_session_lists_every_workspace_by_name(
    workspace, other_workspace, member, api_client
):
    MembershipFactory(workspace=other_workspace, user=member, role=Role.VIEWER)
    api_client.force_login(member)

    response = api_client.get("/api/v1/me/")

    assert response.status_code == 200
    assert response.json()["workspaces"] == [
        {"slug": "acme", "name": "Acme", "role": "editor"},
        {"slug": "globex", "name": "Globex", "role": "viewer"},
    ]
    assert response.json()["token"] is None


def test_me_without_credentials_is_401(api_client):
    response = api_client.get("/api/v1/me/")

    assert response.status_code == 401
    assert response.json() == {
        "message": "Authentication credentials were not provided.",
        "extra": {},
    }


# --- members list: cursor pagination and a constant query count ------------------------------
@pytest.fixture
def five_members(workspace, admin, member, viewer) -> list[int]:
    MembershipFactory(workspace=workspace, role=Role.VIEWER)
    MembershipFactory(workspace=workspace, role=Role.EDITOR)
    return sorted(Membership.objects.for_workspace(workspace).values_list("id", flat=True))


def test_members_are_paged_by_cursor_without_gaps_or_duplicates(
    workspace, admin, five_members, token_client
):
    client = token_client(admin, workspace, "read")

    pages = [client.get("/api/v1/workspaces/acme/members/?page_size=2").json()]
    while pages[-1]["next"]:
        assert parse_qs(urlsplit(pages[-1]["next"]).query)["page_size"] == ["2"]
        pages.append(client.get(pages[-1]["next"]).json())

    assert [len(page["results"]) for page in pages] == [2, 2, 1]
    assert [row["id"] for page in pages for row in page["results"]] == five_members
    assert pages[0]["previous"] is None
    assert pages[-1]["next"] is None


def test_a_member_row_has_exactly_the_documented_fields(workspace, admin, token_client):
    response = token_client(admin, workspace, "read").get("/api/v1/workspaces/acme/members/")

    (row,) = response.json()["results"]
    membership = Membership.objects.for_workspace(workspace).get()
    assert row == {
        "id": membership.id,
        "user_id": admin.id,
        "email": "alice@acme.test",
        "name": admin.name,
        "role": "admin",
        "joined_at": row["joined_at"],
    }


def test_members_of_another_workspace_are_never_listed(workspace, admin, outsider, token_client):
    response = token_client(admin, workspace, "read").get("/api/v1/workspaces/acme/members/")

    assert [row["email"] for row in response.json()["results"]] == ["alice@acme.test"]


@pytest.mark.parametrize("page_size", [1, 2, 5])
def test_the_members_list_query_count_does_not_grow_with_the_page(
    workspace, admin, five_members, token_client, page_size, django_assert_num_queries
):
    client = token_client(admin, workspace, "read")
    client.get("/api/v1/workspaces/acme/members/")  # records last_used_at, once a minute

    # token by hash (+user, workspace, the user's membership of it); one page (+user).
    with django_assert_num_queries(2):
        response = client.get(f"/api/v1/workspaces/acme/members/?page_size={page_size}")

    assert len(response.json()["results"]) == page_size


def test_the_token_lookup_reads_user_workspace_and_membership_in_one_statement(
    workspace, member, make_token, django_assert_num_queries
):
    from pmhub.accounts.selectors import api_token_find_active

    workspace.settings = {"theme": "dark"}
    workspace.save(update_fields=["settings"])
    raw = make_token(member, workspace, "read")
    role = Membership.objects.for_workspace(workspace).get(user=member).role
    with django_assert_num_queries(1):
        token = api_token_find_active(raw=raw)
        assert token.user == member
        assert token.workspace.settings == {"theme": "dark"}
        assert token.membership.role == role
        assert token.membership.workspace.slug == workspace.slug
    assert api_token_find_active(raw=raw[:-1] + ("a" if raw[-1] != "a" else "b")) is None


def test_a_token_whose_user_is_no_longer_a_member_finds_nothing_there(
    workspace, member, make_token
):
    raw = make_token(member, workspace, "read")
    # Left without the service (which also revokes tokens): the membership alone is gone.
    Membership.objects.for_workspace(workspace).filter(user=member).delete()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get(f"/api/v1/workspaces/{workspace.slug}/members/").status_code == 404
