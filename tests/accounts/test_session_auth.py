"""A workspace page reads the signed-in user with the membership (one statement): Django's own
checks of the session must hold on that path as on its own."""

from __future__ import annotations

from django.contrib.sessions.models import Session
from django.urls import reverse

from pmhub.workspaces.models import Membership
from pmhub.workspaces.roles import Role
from pmhub.workspaces.services import membership_role_change


def _home(workspace):
    return reverse("roadmap:index", kwargs={"workspace_slug": workspace.slug})


def test_a_member_is_served_with_the_user_read_with_the_membership(workspace, member, login):
    client = login(member)
    client.get(_home(workspace))  # the session's first touches (saving last_workspace)
    response = client.get(_home(workspace))
    assert response.status_code == 200
    assert response.wsgi_request.user == member
    # The lazy request.user wraps the very object read with the membership.
    assert response.wsgi_request.membership.user is response.wsgi_request.user._wrapped


def test_a_changed_password_ends_the_session_on_workspace_pages(workspace, member, login):
    client = login(member)
    assert client.get(_home(workspace)).status_code == 200
    member.set_password("a new password, changed elsewhere")
    member.save()
    response = client.get(_home(workspace))
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]
    # Django flushed the session: a later page finds no one signed in either.
    assert client.get(_home(workspace)).status_code == 302


def test_a_deactivated_user_is_sent_to_log_in(workspace, member, login):
    client = login(member)
    assert client.get(_home(workspace)).status_code == 200
    member.is_active = False
    member.save()
    response = client.get(_home(workspace))
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_a_signed_in_outsider_gets_404_and_stays_signed_in(
    workspace, other_workspace, outsider, login
):
    client = login(outsider)
    assert client.get(_home(workspace)).status_code == 404
    assert client.get(_home(other_workspace)).status_code == 200


def test_a_session_naming_a_removed_user_is_anonymous(workspace, member, login):
    client = login(member)
    assert client.get(_home(workspace)).status_code == 200
    member.delete()
    assert client.get(_home(workspace)).status_code == 302


def test_a_tampered_session_id_is_anonymous(workspace, member, login):
    client = login(member)
    assert client.get(_home(workspace)).status_code == 200
    client.cookies["sessionid"] = "x" * 32
    assert client.get(_home(workspace)).status_code == 302


def test_sessions_are_kept_in_postgresql_as_well_as_the_cache(workspace, member, login):
    client = login(member)
    client.get(_home(workspace))
    key = client.cookies["sessionid"].value
    assert Session.objects.filter(session_key=key).exists()


def test_a_role_change_applies_on_the_next_request(workspace, admin, member, login):
    client = login(member)
    assert client.get(_home(workspace)).status_code == 200
    target = Membership.objects.for_workspace(workspace).get(user=member)
    membership_role_change(workspace=workspace, actor=admin, membership=target, role=Role.VIEWER)
    response = client.get(_home(workspace))
    assert response.wsgi_request.membership.role == Role.VIEWER
