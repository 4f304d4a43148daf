"""The workspace pages: members, tokens, audit log, invitation links and the home redirect."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

import pytest
from django.contrib.sessions.models import Session
from django.test import Client

from pmhub.accounts.models import ApiToken, User
from pmhub.accounts.services import api_token_create
from pmhub.workspaces.models import AuditEvent, Invitation, Membership, Workspace
from pmhub.workspaces.roles import Role
from pmhub.workspaces.services import (
    invitation_create,
    invitation_token,
    membership_role_change,
    workspace_update,
)
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

INVITEE = "dana@example.com"
STRONG_PASSWORD = "violet-otter-canyon-42"


# --- members page ----------------------------------------------------------------------------
def test_members_page_shows_admins_the_members_and_open_invitations(
    workspace, admin, member, viewer, login
):
    invitation_create(workspace=workspace, actor=admin, email=INVITEE, role="viewer")

    response = login(admin).get("/w/acme/settings/members/")

    assert response.status_code == 200
    assert sorted(m.user.email for m in response.context["members"]) == [
        "alice@acme.test",
        "bob@acme.test",
        "vic@acme.test",
    ]
    assert [i.email for i in response.context["invitations"]] == [INVITEE]
    assert response.context["can_manage"] is True
    assert INVITEE in response.content.decode()


@pytest.mark.parametrize("actor", ["viewer", "member"], ids=["viewer_case", "editor_case"])
def test_members_page_hides_invitations_and_controls_from_non_admins(
    request, workspace, admin, login, actor
):
    invitation_create(workspace=workspace, actor=admin, email=INVITEE, role="viewer")

    response = login(request.getfixturevalue(actor)).get("/w/acme/settings/members/")

    assert response.status_code == 200
    assert response.context["invitations"] == []
    assert response.context["can_manage"] is False
    body = response.content.decode()
    assert INVITEE not in body
    assert "/remove/" not in body


def test_members_page_lists_no_one_from_another_workspace(workspace, admin, outsider, login):
    response = login(admin).get("/w/acme/settings/members/")

    assert "charlie@globex.test" not in response.content.decode()


@pytest.mark.parametrize("extra_members", [1, 10])
def test_members_page_query_count_does_not_grow_with_members(
    workspace, admin, login, extra_members, django_assert_num_queries
):
    for _ in range(extra_members):
        MembershipFactory(workspace=workspace, role=Role.VIEWER)
    client = login(admin)
    client.get("/w/acme/settings/members/")  # the first visit also stores last_workspace

    # membership (+workspace, user); members (+user); open invitations (+inviter);
    # the switcher's memberships (+workspace).
    with django_assert_num_queries(4):
        response = client.get("/w/acme/settings/members/")

    assert len(response.context["members"]) == extra_members + 1


def test_an_admin_who_removes_themselves_is_sent_home(workspace, admin, member, login):
    membership_role_change(
        workspace=workspace,
        actor=admin,
        membership=Membership.objects.for_workspace(workspace).get(user=member),
        role="admin",
    )
    own = Membership.objects.for_workspace(workspace).get(user=admin)

    response = login(admin).post(f"/w/acme/settings/members/{own.id}/remove/")

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert not Membership.objects.filter(id=own.id).exists()


def test_the_last_admin_trying_to_leave_stays_and_is_told_why(workspace, admin, member, login):
    client = login(admin)

    response = client.post("/w/acme/settings/leave/", follow=True)

    assert response.redirect_chain == [("/w/acme/settings/members/", 302)]
    assert [str(m) for m in response.context["messages"]] == [
        "A workspace needs at least one admin. Make someone else an admin first."
    ]
    assert Membership.objects.for_workspace(workspace).get(user=admin).role == "admin"


# --- tokens page -----------------------------------------------------------------------------
def _sessions_mention(value: str) -> bool:
    return any(value in str(session.get_decoded()) for session in Session.objects.all())


def test_a_new_token_is_shown_once_and_only_its_hash_is_kept(workspace, member, login):
    client = login(member)

    created = client.post("/w/acme/settings/tokens/", {"name": "CI export", "access": "read"})
    shown = client.get("/w/acme/settings/tokens/")
    again = client.get("/w/acme/settings/tokens/")

    assert created.status_code == 302
    assert created["Location"] == "/w/acme/settings/tokens/"
    raw = shown.context["new_token"]["value"]
    assert re.fullmatch(r"pmh_[A-Za-z0-9_-]{40}", raw)
    assert raw in shown.content.decode()
    assert again.context["new_token"] is None
    assert raw not in again.content.decode()
    token = ApiToken.objects.for_workspace(workspace).get()
    assert (token.user_id, token.name, token.access) == (member.id, "CI export", "read")
    assert re.fullmatch(r"[0-9a-f]{64}", token.token_hash)
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in {str(value) for value in ApiToken.objects.values().get().values()}
    assert not AuditEvent.objects.filter(changes__icontains=raw).exists()
    assert not _sessions_mention(raw)


def test_token_creation_with_no_name_shows_the_error(workspace, member, login):
    response = login(member).post("/w/acme/settings/tokens/", {"name": "", "access": "read"})

    assert response.status_code == 400
    assert response.context["form"].errors == {"name": ["This field is required."]}
    assert ApiToken.objects.unscoped().count() == 0


def test_the_tokens_page_shows_members_their_own_tokens_and_admins_everyones(
    workspace, admin, member, viewer, login
):
    api_token_create(workspace=workspace, user=member, name="bob's", access="read")
    api_token_create(workspace=workspace, user=viewer, name="vic's", access="read")

    as_viewer = login(viewer).get("/w/acme/settings/tokens/")
    as_admin = login(admin).get("/w/acme/settings/tokens/")

    assert [t.name for t in as_viewer.context["tokens"]] == ["vic's"]
    assert [t.name for t in as_admin.context["tokens"]] == ["vic's", "bob's"]


@pytest.fixture
def editors_token(workspace, member) -> ApiToken:
    token, _raw = api_token_create(workspace=workspace, user=member, name="bob's", access="write")
    return token


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        pytest.param(None, 302, id="anonymous_case"),
        pytest.param("outsider", 404, id="outsider_case"),
        pytest.param("viewer", 403, id="viewer_case"),
    ],
)
def test_an_editors_token_cannot_be_revoked_by_others(
    request, workspace, admin, editors_token, login, actor, expected
):
    client = login(request.getfixturevalue(actor)) if actor else Client()
    events_before = AuditEvent.objects.count()

    response = client.post(f"/w/acme/settings/tokens/{editors_token.id}/revoke/")

    assert response.status_code == expected
    assert ApiToken.objects.get(id=editors_token.id).revoked_at is None
    assert AuditEvent.objects.count() == events_before


@pytest.mark.parametrize(
    "actor", [pytest.param("member", id="editor_case"), pytest.param("admin", id="admin_case")]
)
def test_an_editors_token_is_revoked_by_its_owner_or_an_admin(
    request, workspace, admin, editors_token, login, actor
):
    user = request.getfixturevalue(actor)

    response = login(user).post(f"/w/acme/settings/tokens/{editors_token.id}/revoke/")

    assert response.status_code == 302
    assert response["Location"] == "/w/acme/settings/tokens/"
    assert ApiToken.objects.get(id=editors_token.id).revoked_at is not None
    event = AuditEvent.objects.for_workspace(workspace).order_by("-id").first()
    assert (event.action, event.actor_id, event.changes) == (
        "token.revoked",
        user.id,
        {"name": "bob's"},
    )


def test_a_viewer_revokes_their_own_token(workspace, viewer, login):
    token, _raw = api_token_create(workspace=workspace, user=viewer, name="mine", access="read")

    response = login(viewer).post(f"/w/acme/settings/tokens/{token.id}/revoke/")

    assert response.status_code == 302
    assert ApiToken.objects.get(id=token.id).revoked_at is not None


def test_a_token_of_another_workspace_cannot_be_revoked_through_this_one(
    workspace, admin, outsider, other_workspace, login
):
    foreign, _raw = api_token_create(
        workspace=other_workspace, user=outsider, name="globex", access="read"
    )

    response = login(admin).post(f"/w/acme/settings/tokens/{foreign.id}/revoke/")

    assert response.status_code == 404
    assert ApiToken.objects.get(id=foreign.id).revoked_at is None


# --- audit page ------------------------------------------------------------------------------
@pytest.fixture
def history(workspace, admin, member, viewer) -> dict[str, AuditEvent]:
    """Three events on three days: a rename by the admin, a role change, a rename by Bob."""
    workspace_update(workspace=workspace, actor=admin, name="Acme One")
    membership_role_change(
        workspace=workspace,
        actor=admin,
        membership=Membership.objects.for_workspace(workspace).get(user=member),
        role="admin",
    )
    workspace_update(workspace=workspace, actor=member, name="Acme Two")
    events = list(AuditEvent.objects.for_workspace(workspace).order_by("id"))
    for day, event in zip((1, 2, 3), events, strict=True):
        AuditEvent.objects.filter(id=event.id).update(
            created_at=datetime(2025, 3, day, 12, tzinfo=UTC)
        )
    return dict(zip(("first_rename", "role_change", "second_rename"), events, strict=True))


def _listed(response) -> list[int]:
    return [event.id for event in response.context["page"].object_list]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param("", ["second_rename", "role_change", "first_rename"], id="all_case"),
        pytest.param(
            "action=workspace.renamed", ["second_rename", "first_rename"], id="action_case"
        ),
        pytest.param("since=2025-03-02", ["second_rename", "role_change"], id="since_case"),
        pytest.param("until=2025-03-01", ["first_rename"], id="until_case"),
        pytest.param(
            "since=2025-03-02&until=2025-03-02&action=member.role_changed",
            ["role_change"],
            id="combined_case",
        ),
        pytest.param("action=token.created", [], id="no_match_case"),
    ],
)
def test_the_audit_log_filters_by_action_and_date(history, admin, login, query, expected):
    response = login(admin).get(f"/w/acme/settings/audit/?{query}")

    assert response.status_code == 200
    assert _listed(response) == [history[name].id for name in expected]


def test_the_audit_log_filters_by_actor(history, admin, member, login):
    by_bob = login(admin).get(f"/w/acme/settings/audit/?actor={member.id}")
    by_alice = login(admin).get(f"/w/acme/settings/audit/?actor={admin.id}")

    assert _listed(by_bob) == [history["second_rename"].id]
    assert _listed(by_alice) == [history["role_change"].id, history["first_rename"].id]
    assert by_bob.context["filtered"] is True


def test_the_audit_log_offers_the_actions_present(history, admin, login):
    response = login(admin).get("/w/acme/settings/audit/")

    assert response.context["actions"] == ["member.role_changed", "workspace.renamed"]


def test_the_audit_log_never_shows_another_workspaces_events(
    history, admin, outsider, other_workspace, login
):
    workspace_update(workspace=other_workspace, actor=outsider, name="Globex Two")

    response = login(admin).get("/w/acme/settings/audit/")

    assert len(_listed(response)) == 3
    assert "Globex Two" not in response.content.decode()


@pytest.mark.parametrize("renames", [2, 20])
def test_the_audit_log_query_count_does_not_grow_with_events(
    workspace, admin, login, renames, django_assert_num_queries
):
    for n in range(renames):
        workspace_update(workspace=workspace, actor=admin, name=f"Acme {n}")
    client = login(admin)
    client.get("/w/acme/settings/audit/")

    # membership (+workspace, user); event count; event page (+actor); distinct
    # actions; members (+user); the switcher's memberships (+workspace).
    with django_assert_num_queries(6):
        response = client.get("/w/acme/settings/audit/")

    assert len(_listed(response)) == renames


# --- invitation links ------------------------------------------------------------------------
@pytest.fixture
def invitation(workspace, admin) -> Invitation:
    return invitation_create(workspace=workspace, actor=admin, email=INVITEE, role="viewer")


def _link(invitation: Invitation) -> str:
    return f"/invitations/{invitation_token(invitation)}/"


def test_an_anonymous_invitee_without_an_account_is_offered_signup(invitation):
    response = Client().get(_link(invitation))

    assert response.status_code == 200
    assert response.context["has_account"] is False
    assert response.context["signup_form"] is not None
    assert "Create account and join" in response.content.decode()


def test_an_anonymous_invitee_signs_up_joins_and_is_logged_in(workspace, invitation):
    client = Client()

    response = client.post(_link(invitation), {"name": "Dana", "password": STRONG_PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/w/acme/"
    dana = User.objects.get(email=INVITEE)
    assert client.session["_auth_user_id"] == str(dana.id)
    assert Membership.objects.for_workspace(workspace).get(user=dana).role == "viewer"
    assert Invitation.objects.get(id=invitation.id).accepted_by_id == dana.id


@pytest.mark.parametrize(
    ("password", "errors"),
    [
        pytest.param(
            "123",
            {"password": ["Ensure this value has at least 8 characters (it has 3)."]},
            id="short_case",
        ),
        pytest.param("password", {"__all__": ["This password is too common."]}, id="common_case"),
    ],
)
def test_signup_with_a_weak_password_shows_why_and_creates_nothing(
    workspace, invitation, password, errors
):
    client = Client()

    response = client.post(_link(invitation), {"name": "Dana", "password": password})

    assert response.status_code == 400
    assert response.context["signup_form"].errors == errors
    assert not User.objects.filter(email__iexact=INVITEE).exists()
    assert Membership.objects.for_workspace(workspace).count() == 1
    assert Invitation.objects.get(id=invitation.id).is_open
    assert "_auth_user_id" not in client.session


def test_an_anonymous_invitee_with_an_account_is_sent_to_log_in(workspace, invitation):
    UserFactory(email=INVITEE)
    client = Client()

    page = client.get(_link(invitation))
    post = client.post(_link(invitation), {"name": "Dana", "password": STRONG_PASSWORD})

    assert page.status_code == 200
    assert page.context["has_account"] is True
    assert page.context["login_url"] == f"/accounts/login/?next={_link(invitation)}"
    assert post.status_code == 400
    assert post.context["error"] == "Log in first to accept this invitation."
    assert Membership.objects.for_workspace(workspace).count() == 1
    assert User.objects.filter(email=INVITEE).count() == 1


def test_a_logged_in_invitee_joins_with_one_click(workspace, invitation, login):
    dana = UserFactory(email=INVITEE)
    client = login(dana)

    page = client.get(_link(invitation))
    response = client.post(_link(invitation))

    assert page.status_code == 200
    assert page.context["signup_form"] is None
    assert response.status_code == 302
    assert response["Location"] == "/w/acme/"
    assert Membership.objects.for_workspace(workspace).get(user=dana).role == "viewer"


def test_someone_logged_in_with_another_address_cannot_accept(
    workspace, invitation, outsider, login
):
    response = login(outsider).post(_link(invitation))

    assert response.status_code == 400
    assert response.context["error"] == (
        "This invitation was sent to dana@example.com. Log in with that address to accept it."
    )
    assert not Membership.objects.for_workspace(workspace).filter(user=outsider).exists()
    assert Invitation.objects.get(id=invitation.id).is_open


# --- home: the workspace switcher ------------------------------------------------------------
def test_home_sends_anonymous_visitors_to_log_in(db):
    response = Client().get("/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/"


def test_home_offers_to_create_a_workspace_to_someone_without_one(db, login):
    response = login(UserFactory()).get("/")

    assert response.status_code == 302
    assert response["Location"] == "/workspaces/new/"


def test_home_goes_to_the_first_workspace_by_name_then_to_the_last_used(
    workspace, other_workspace, member, login
):
    MembershipFactory(workspace=other_workspace, user=member, role=Role.VIEWER)
    client = login(member)

    first = client.get("/")
    client.get("/w/globex/")
    after_visit = client.get("/")

    assert first["Location"] == "/w/acme/"
    assert after_visit["Location"] == "/w/globex/"


def test_home_ignores_a_last_used_workspace_the_person_has_left(
    workspace, other_workspace, member, login
):
    extra = MembershipFactory(workspace=other_workspace, user=member, role=Role.VIEWER)
    client = login(member)
    client.get("/w/globex/")
    extra.delete()

    response = client.get("/")

    assert response["Location"] == "/w/acme/"


def test_a_workspace_home_opens_discovery(workspace, member, login):
    response = login(member).get("/w/acme/")

    assert response.status_code == 302
    assert response["Location"] == "/w/acme/discovery/"


# --- creating a workspace --------------------------------------------------------------------
def test_creating_a_workspace_opens_it_with_the_creator_as_admin(db, login):
    person = UserFactory()

    response = login(person).post("/workspaces/new/", {"name": "Initech", "slug": "initech"})

    assert response.status_code == 302
    assert response["Location"] == "/w/initech/"
    workspace = Workspace.objects.get(slug="initech")
    assert Membership.objects.for_workspace(workspace).get().user_id == person.id
