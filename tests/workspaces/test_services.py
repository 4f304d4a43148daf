"""Workspace, membership and invitation services: the one write path of UI, API and tasks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import signing
from django.core.exceptions import ValidationError
from django.utils import timezone

from pmhub.accounts.models import ApiToken, User
from pmhub.accounts.services import api_token_create
from pmhub.core.exceptions import ApplicationError
from pmhub.workspaces.models import AuditEvent, Invitation, Membership, Workspace
from pmhub.workspaces.roles import Role
from pmhub.workspaces.services import (
    INVITATION_SALT,
    invitation_accept,
    invitation_accept_with_signup,
    invitation_create,
    invitation_email_send,
    invitation_resend,
    invitation_revoke,
    invitation_token,
    invitation_url,
    membership_leave,
    membership_remove,
    membership_role_change,
    workspace_create,
    workspace_update,
)
from pmhub.workspaces.tasks import invitation_send_task
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

INVITEE = "dana@example.com"
STRONG_PASSWORD = "violet-otter-canyon-42"
SLUG_RULE = (
    "Use 1 to 50 lowercase letters, digits or hyphens, starting and ending with a letter or digit."
)
LAST_ADMIN = "A workspace needs at least one admin. Make someone else an admin first."


def _audit(workspace: Workspace) -> list[tuple[str, int | None, dict]]:
    """(action, actor id, changes) of the workspace's audit events, oldest first."""
    return list(
        AuditEvent.objects.for_workspace(workspace)
        .order_by("id")
        .values_list("action", "actor_id", "changes")
    )


def _invite(workspace: Workspace, admin: User, email: str = INVITEE, role: str = "viewer"):
    return invitation_create(workspace=workspace, actor=admin, email=email, role=role)


def _membership(workspace: Workspace, user: User) -> Membership:
    return Membership.objects.for_workspace(workspace).get(user=user)


# --- workspace_create ------------------------------------------------------------------------
def test_workspace_create_makes_the_creator_its_admin_and_audits_both_steps(outsider):
    workspace = workspace_create(actor=outsider, name="  Initech ", slug=" initech ")

    assert (workspace.name, workspace.slug) == ("Initech", "initech")
    membership = Membership.objects.for_workspace(workspace).get()
    assert (membership.user_id, membership.role) == (outsider.id, Role.ADMIN)
    assert _audit(workspace) == [
        ("workspace.created", outsider.id, {"name": "Initech", "slug": "initech"}),
        ("member.added", outsider.id, {"role": "admin"}),
    ]


def test_workspace_create_with_a_taken_slug_is_refused_and_leaves_nothing_behind(
    workspace, outsider
):
    with pytest.raises(ValidationError) as excinfo:
        workspace_create(actor=outsider, name="Copycat", slug="acme")

    assert excinfo.value.message_dict == {"slug": ["This address is already taken."]}
    assert list(Workspace.objects.values_list("slug", flat=True)) == ["acme", "globex"]
    assert list(Membership.objects.unscoped().filter(user=outsider).values_list("role")) == [
        ("admin",)
    ]
    assert _audit(workspace) == []


def test_workspace_create_lowercases_the_slug_so_case_cannot_dodge_uniqueness(workspace, outsider):
    with pytest.raises(ValidationError):
        workspace_create(actor=outsider, name="Copycat", slug="ACME")

    assert Workspace.objects.count() == 2


@pytest.mark.parametrize(
    ("slug", "errors"),
    [
        pytest.param("my team", [SLUG_RULE], id="space_case"),
        pytest.param("-acme", [SLUG_RULE], id="leading_hyphen_case"),
        pytest.param("acme-", [SLUG_RULE], id="trailing_hyphen_case"),
        pytest.param("acme_inc", [SLUG_RULE], id="underscore_case"),
        pytest.param(
            "a" * 51,
            [SLUG_RULE, "Ensure this value has at most 50 characters (it has 51)."],
            id="fifty_one_chars_case",
        ),
        pytest.param("", ["This field cannot be blank."], id="empty_case"),
    ],
)
def test_workspace_create_rejects_an_invalid_slug(outsider, slug, errors):
    with pytest.raises(ValidationError) as excinfo:
        workspace_create(actor=outsider, name="Initech", slug=slug)

    assert excinfo.value.message_dict == {"slug": errors}
    assert Workspace.objects.count() == 1
    assert Membership.objects.unscoped().filter(user=outsider).count() == 1


def test_workspace_create_accepts_a_fifty_char_slug(outsider):
    workspace = workspace_create(actor=outsider, name="Long", slug="a" * 50)

    assert Workspace.objects.get(id=workspace.id).slug == "a" * 50


# --- workspace_update ------------------------------------------------------------------------
def test_workspace_update_renames_and_audits_old_and_new_name(workspace, admin):
    workspace_update(workspace=workspace, actor=admin, name=" Acme Corp ")

    assert Workspace.objects.get(id=workspace.id).name == "Acme Corp"
    assert _audit(workspace) == [
        ("workspace.renamed", admin.id, {"name": ["Acme", "Acme Corp"]}),
    ]


def test_workspace_update_to_the_same_name_writes_no_audit_event(workspace, admin):
    workspace_update(workspace=workspace, actor=admin, name="Acme")

    assert _audit(workspace) == []


def test_workspace_update_refuses_a_name_over_80_chars(workspace, admin):
    with pytest.raises(ValidationError) as excinfo:
        workspace_update(workspace=workspace, actor=admin, name="x" * 81)

    assert excinfo.value.message_dict == {
        "name": ["Ensure this value has at most 80 characters (it has 81)."]
    }
    assert Workspace.objects.get(id=workspace.id).name == "Acme"
    assert _audit(workspace) == []


# --- invitation_create -----------------------------------------------------------------------
def test_invitation_create_normalizes_the_email_and_enqueues_one_send_on_commit(
    workspace, admin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        invitation = _invite(workspace, admin, email="  Dana@Example.COM ", role="editor")

    stored = Invitation.objects.for_workspace(workspace).get()
    assert (stored.id, stored.email, stored.role) == (invitation.id, INVITEE, "editor")
    assert (stored.invited_by_id, stored.email_status) == (admin.id, "pending")
    assert stored.accepted_at is None
    assert stored.revoked_at is None
    assert len(callbacks) == 1
    assert callbacks[0].func == invitation_send_task.delay
    assert callbacks[0].keywords == {"workspace_id": workspace.id, "invitation_id": invitation.id}
    assert _audit(workspace) == [
        ("invitation.created", admin.id, {"email": INVITEE, "role": "editor"}),
    ]


def test_invitation_expires_after_the_configured_days(workspace, admin, settings):
    settings.PMHUB_INVITATION_DAYS = 3
    before = timezone.now()

    invitation = _invite(workspace, admin)

    assert before + timedelta(days=3) <= invitation.expires_at <= timezone.now() + timedelta(days=3)


@pytest.mark.parametrize(
    "email",
    [
        pytest.param("not-an-email", id="no_at_case"),
        pytest.param("dana@", id="no_domain_case"),
        pytest.param("", id="empty_case"),
        pytest.param("dana smith@example.com", id="space_case"),
    ],
)
def test_invitation_create_refuses_an_invalid_email(
    workspace, admin, email, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(ValidationError) as exc:
        _invite(workspace, admin, email=email)

    assert exc.value.message_dict == {"email": ["Enter a valid email address."]}
    assert Invitation.objects.unscoped().count() == 0
    assert callbacks == []
    assert _audit(workspace) == []


def test_invitation_create_refuses_an_unknown_role(
    workspace, admin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(ValidationError) as exc:
        _invite(workspace, admin, role="owner")

    assert exc.value.message_dict == {"role": ["Choose one of: admin, editor, viewer."]}
    assert Invitation.objects.unscoped().count() == 0
    assert callbacks == []


def test_invitation_create_refuses_someone_who_is_already_a_member(
    workspace, admin, member, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(ApplicationError) as exc:
        _invite(workspace, admin, email="BOB@acme.test")

    assert exc.value.message == "bob@acme.test is already a member of this workspace."
    assert Invitation.objects.unscoped().count() == 0
    assert callbacks == []
    assert _audit(workspace) == []


def test_invitation_create_refuses_a_second_open_invitation_whatever_the_case(
    workspace, admin, django_capture_on_commit_callbacks
):
    first = _invite(workspace, admin)

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(ApplicationError) as exc:
        _invite(workspace, admin, email="DANA@example.com", role="admin")

    assert exc.value.message == (
        "dana@example.com already has an open invitation. Resend it or revoke it first."
    )
    assert list(Invitation.objects.unscoped().values_list("id", "role")) == [(first.id, "viewer")]
    assert callbacks == []
    assert [action for action, _, _ in _audit(workspace)] == ["invitation.created"]


def test_invitation_create_allows_a_new_invitation_once_the_old_one_is_revoked(workspace, admin):
    first = _invite(workspace, admin)
    invitation_revoke(workspace=workspace, actor=admin, invitation=first)

    second = _invite(workspace, admin)

    assert Invitation.objects.for_workspace(workspace).filter(revoked_at__isnull=True).get() == (
        second
    )


def test_the_same_email_may_be_invited_to_two_workspaces(workspace, admin, other_workspace):
    _invite(workspace, admin)
    other_admin = MembershipFactory(workspace=other_workspace, role=Role.ADMIN).user

    _invite(other_workspace, other_admin)

    assert Invitation.objects.unscoped().filter(email=INVITEE).count() == 2


# --- invitation_email_send -------------------------------------------------------------------
def _parts(message) -> dict[str, str]:
    return {
        part.get_content_type(): part.get_payload(decode=True).decode()
        for part in message.walk()
        if not part.is_multipart()
    }


def test_invitation_email_send_mails_text_and_html_with_the_link_once(workspace, admin, smtp_mail):
    invitation = _invite(workspace, admin)

    sent = invitation_email_send(workspace=workspace, invitation_id=invitation.id)

    assert sent is True
    assert len(smtp_mail.messages) == 1
    mail = smtp_mail.messages[0]
    assert mail["To"] == INVITEE
    assert mail["Subject"] == f"{admin.display_name} invited you to Acme on pmhub"
    parts = _parts(mail)
    assert set(parts) == {"text/plain", "text/html"}
    link = invitation_url(invitation)
    assert link in parts["text/plain"]
    assert link in parts["text/html"]
    invitation.refresh_from_db()
    assert invitation.email_status == Invitation.EmailStatus.SENT
    assert invitation.email_sent_at is not None


def test_invitation_email_send_twice_sends_one_mail(workspace, admin, smtp_mail):
    invitation = _invite(workspace, admin)
    invitation_email_send(workspace=workspace, invitation_id=invitation.id)
    invitation.refresh_from_db()
    first_sent_at = invitation.email_sent_at

    sent_again = invitation_email_send(workspace=workspace, invitation_id=invitation.id)

    assert sent_again is False
    assert len(smtp_mail.messages) == 1
    invitation.refresh_from_db()
    assert invitation.email_sent_at == first_sent_at


def test_invitation_email_send_skips_a_revoked_invitation(workspace, admin, smtp_mail):
    invitation = _invite(workspace, admin)
    invitation_revoke(workspace=workspace, actor=admin, invitation=invitation)

    sent = invitation_email_send(workspace=workspace, invitation_id=invitation.id)

    assert sent is False
    assert smtp_mail.messages == []


def test_invitation_email_send_ignores_an_invitation_of_another_workspace(
    workspace, admin, other_workspace, smtp_mail
):
    invitation = _invite(workspace, admin)

    sent = invitation_email_send(workspace=other_workspace, invitation_id=invitation.id)

    assert sent is False
    assert smtp_mail.messages == []
    assert Invitation.objects.get(id=invitation.id).email_status == "pending"


# --- invitation_resend / invitation_revoke ---------------------------------------------------
def test_invitation_resend_renews_the_expiry_and_enqueues_another_send(
    workspace, admin, django_capture_on_commit_callbacks
):
    invitation = _invite(workspace, admin)
    Invitation.objects.filter(id=invitation.id).update(
        expires_at=timezone.now() - timedelta(days=1), email_status="sent"
    )

    with django_capture_on_commit_callbacks() as callbacks:
        invitation_resend(workspace=workspace, actor=admin, invitation=invitation)

    invitation.refresh_from_db()
    assert invitation.expires_at > timezone.now() + timedelta(days=6)
    assert invitation.email_status == "pending"
    assert len(callbacks) == 1
    assert callbacks[0].keywords == {"workspace_id": workspace.id, "invitation_id": invitation.id}
    assert _audit(workspace)[1:] == [("invitation.resent", admin.id, {"email": INVITEE})]


def test_invitation_revoke_closes_it_once(workspace, admin, django_capture_on_commit_callbacks):
    invitation = _invite(workspace, admin)
    invitation_revoke(workspace=workspace, actor=admin, invitation=invitation)

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(ApplicationError) as exc:
        invitation_revoke(workspace=workspace, actor=admin, invitation=invitation)

    assert exc.value.message == "This invitation is no longer open."
    assert Invitation.objects.get(id=invitation.id).revoked_at is not None
    assert callbacks == []
    assert _audit(workspace)[1:] == [("invitation.revoked", admin.id, {"email": INVITEE})]


def test_invitation_resend_of_a_revoked_invitation_is_refused(
    workspace, admin, django_capture_on_commit_callbacks
):
    invitation = _invite(workspace, admin)
    invitation_revoke(workspace=workspace, actor=admin, invitation=invitation)

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(ApplicationError) as exc:
        invitation_resend(workspace=workspace, actor=admin, invitation=invitation)

    assert exc.value.message == "This invitation is no longer open."
    assert callbacks == []


# --- invitation_accept -----------------------------------------------------------------------
def test_invitation_accept_adds_the_invited_user_with_the_invited_role(workspace, admin):
    invitation = _invite(workspace, admin, role="viewer")
    dana = UserFactory(email=INVITEE)

    membership = invitation_accept(token=invitation_token(invitation), user=dana)

    stored = _membership(workspace, dana)
    assert (stored.id, stored.role) == (membership.id, "viewer")
    invitation.refresh_from_db()
    assert invitation.accepted_by_id == dana.id
    assert invitation.accepted_at is not None
    assert _audit(workspace)[1:] == [
        ("member.joined", dana.id, {"role": "viewer", "invitation": invitation.id}),
    ]


def test_invitation_accept_matches_the_email_case_insensitively(workspace, admin):
    invitation = _invite(workspace, admin, email="Dana@Example.com")
    dana = UserFactory(email="DANA@example.COM")

    membership = invitation_accept(token=invitation_token(invitation), user=dana)

    assert membership.user_id == dana.id


def test_invitation_accept_by_someone_else_is_refused(workspace, admin, outsider):
    invitation = _invite(workspace, admin)

    with pytest.raises(ApplicationError) as excinfo:
        invitation_accept(token=invitation_token(invitation), user=outsider)

    assert excinfo.value.message == (
        "This invitation was sent to dana@example.com. Log in with that address to accept it."
    )
    assert not Membership.objects.for_workspace(workspace).filter(user=outsider).exists()
    invitation.refresh_from_db()
    assert invitation.is_open
    assert [action for action, _, _ in _audit(workspace)] == ["invitation.created"]


def test_a_used_invitation_link_cannot_be_used_again(workspace, admin):
    invitation = _invite(workspace, admin)
    dana = UserFactory(email=INVITEE)
    token = invitation_token(invitation)
    invitation_accept(token=token, user=dana)

    with pytest.raises(ApplicationError) as excinfo:
        invitation_accept(token=token, user=dana)

    assert excinfo.value.message == "This invitation has already been used."
    assert Membership.objects.for_workspace(workspace).filter(user=dana).count() == 1


def test_an_expired_invitation_cannot_be_accepted(workspace, admin):
    invitation = _invite(workspace, admin)
    Invitation.objects.filter(id=invitation.id).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    dana = UserFactory(email=INVITEE)

    with pytest.raises(ApplicationError) as excinfo:
        invitation_accept(token=invitation_token(invitation), user=dana)

    assert excinfo.value.message == "This invitation has expired. Ask for a new one."
    assert not Membership.objects.for_workspace(workspace).filter(user=dana).exists()
    assert Invitation.objects.get(id=invitation.id).accepted_at is None


def test_a_revoked_invitation_cannot_be_accepted(workspace, admin):
    invitation = _invite(workspace, admin)
    invitation_revoke(workspace=workspace, actor=admin, invitation=invitation)
    dana = UserFactory(email=INVITEE)

    with pytest.raises(ApplicationError) as excinfo:
        invitation_accept(token=invitation_token(invitation), user=dana)

    assert excinfo.value.message == "This invitation was withdrawn. Ask for a new one."
    assert not Membership.objects.for_workspace(workspace).filter(user=dana).exists()


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"), id="sig_case"),
        pytest.param(lambda token: "x" + token, id="payload_case"),
        pytest.param(lambda token: "abc", id="garbage_case"),
        pytest.param(
            lambda token: signing.dumps(signing.loads(token, salt=INVITATION_SALT)),
            id="wrong_salt_case",
        ),
    ],
)
def test_a_tampered_invitation_link_is_not_valid(workspace, admin, tamper):
    invitation = _invite(workspace, admin)
    dana = UserFactory(email=INVITEE)

    with pytest.raises(ApplicationError) as excinfo:
        invitation_accept(token=tamper(invitation_token(invitation)), user=dana)

    assert excinfo.value.message == "This invitation link is not valid. Ask for a new one."
    assert not Membership.objects.for_workspace(workspace).filter(user=dana).exists()
    assert Invitation.objects.get(id=invitation.id).is_open


def test_invitation_accept_with_signup_creates_the_account_and_membership(workspace, admin):
    invitation = _invite(workspace, admin, email="Dana@Example.com", role="editor")

    membership = invitation_accept_with_signup(
        token=invitation_token(invitation), name=" Dana Scully ", password=STRONG_PASSWORD
    )

    dana = User.objects.get(email=INVITEE)
    assert dana.name == "Dana Scully"
    assert dana.check_password(STRONG_PASSWORD)
    assert (membership.user_id, membership.role) == (dana.id, "editor")
    assert _membership(workspace, dana).id == membership.id
    assert Invitation.objects.get(id=invitation.id).accepted_by_id == dana.id


@pytest.mark.parametrize(
    "password",
    [
        pytest.param("123", id="short_numeric_case"),
        pytest.param("password", id="common_case"),
        pytest.param("dana@example.com", id="like_the_email_case"),
    ],
)
def test_invitation_accept_with_signup_and_a_weak_password_keeps_nothing(
    workspace, admin, password
):
    invitation = _invite(workspace, admin)
    users_before = User.objects.count()

    with pytest.raises(ValidationError):
        invitation_accept_with_signup(
            token=invitation_token(invitation), name="Dana", password=password
        )

    assert User.objects.count() == users_before
    assert not User.objects.filter(email__iexact=INVITEE).exists()
    assert Membership.objects.for_workspace(workspace).count() == 1
    assert Invitation.objects.get(id=invitation.id).is_open


def test_invitation_accept_with_signup_of_a_revoked_invitation_creates_no_account(workspace, admin):
    invitation = _invite(workspace, admin)
    invitation_revoke(workspace=workspace, actor=admin, invitation=invitation)

    with pytest.raises(ApplicationError):
        invitation_accept_with_signup(
            token=invitation_token(invitation), name="Dana", password=STRONG_PASSWORD
        )

    assert not User.objects.filter(email__iexact=INVITEE).exists()


# --- memberships: roles, removal, leaving ----------------------------------------------------
def test_membership_role_change_audits_old_and_new_role(workspace, admin, member):
    membership = _membership(workspace, member)

    membership_role_change(workspace=workspace, actor=admin, membership=membership, role="viewer")

    assert _membership(workspace, member).role == "viewer"
    assert _audit(workspace) == [
        ("member.role_changed", admin.id, {"role": ["editor", "viewer"]}),
    ]


def test_membership_role_change_to_the_same_role_writes_nothing(workspace, admin, member):
    membership = _membership(workspace, member)

    membership_role_change(workspace=workspace, actor=admin, membership=membership, role="editor")

    assert _membership(workspace, member).role == "editor"
    assert _audit(workspace) == []


def test_membership_role_change_refuses_an_unknown_role(workspace, admin, member):
    membership = _membership(workspace, member)

    with pytest.raises(ValidationError) as excinfo:
        membership_role_change(
            workspace=workspace, actor=admin, membership=membership, role="owner"
        )

    assert excinfo.value.message_dict == {"role": ["Choose one of: admin, editor, viewer."]}
    assert _membership(workspace, member).role == "editor"


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_the_last_admin_cannot_be_demoted(workspace, admin, member, role):
    with pytest.raises(ApplicationError) as excinfo:
        membership_role_change(
            workspace=workspace, actor=admin, membership=_membership(workspace, admin), role=role
        )

    assert excinfo.value.message == LAST_ADMIN
    assert _membership(workspace, admin).role == "admin"
    assert _audit(workspace) == []


def test_an_admin_can_step_down_when_another_admin_remains(workspace, admin, member):
    membership_role_change(
        workspace=workspace, actor=admin, membership=_membership(workspace, member), role="admin"
    )

    membership_role_change(
        workspace=workspace, actor=admin, membership=_membership(workspace, admin), role="editor"
    )

    assert dict(Membership.objects.for_workspace(workspace).values_list("user__email", "role")) == {
        "alice@acme.test": "editor",
        "bob@acme.test": "admin",
    }


def test_the_last_admin_cannot_be_removed(workspace, admin, member):
    with pytest.raises(ApplicationError) as excinfo:
        membership_remove(
            workspace=workspace, actor=admin, membership=_membership(workspace, admin)
        )

    assert excinfo.value.message == LAST_ADMIN
    assert _membership(workspace, admin).role == "admin"
    assert _audit(workspace) == []


def test_the_last_admin_cannot_leave(workspace, admin, member):
    with pytest.raises(ApplicationError) as excinfo:
        membership_leave(workspace=workspace, membership=_membership(workspace, admin))

    assert excinfo.value.message == LAST_ADMIN
    assert _membership(workspace, admin).role == "admin"
    assert _audit(workspace) == []


def test_membership_remove_revokes_the_members_tokens_in_that_workspace_only(
    workspace, other_workspace, admin, member
):
    here, _ = api_token_create(workspace=workspace, user=member, name="ci", access="write")
    MembershipFactory(workspace=other_workspace, user=member, role=Role.EDITOR)
    elsewhere, _ = api_token_create(
        workspace=other_workspace, user=member, name="ci", access="write"
    )
    admins_token, _ = api_token_create(workspace=workspace, user=admin, name="ci", access="read")
    membership = _membership(workspace, member)
    events_before = AuditEvent.objects.count()

    membership_remove(workspace=workspace, actor=admin, membership=membership)

    assert not Membership.objects.for_workspace(workspace).filter(user=member).exists()
    assert Membership.objects.for_workspace(other_workspace).filter(user=member).exists()
    assert ApiToken.objects.get(id=here.id).revoked_at is not None
    assert ApiToken.objects.get(id=elsewhere.id).revoked_at is None
    assert ApiToken.objects.get(id=admins_token.id).revoked_at is None
    assert AuditEvent.objects.count() == events_before + 1
    event = AuditEvent.objects.for_workspace(workspace).order_by("-id").first()
    assert (event.action, event.actor_id, event.object_id, event.changes) == (
        "member.removed",
        admin.id,
        str(membership.id),
        {"email": "bob@acme.test", "role": "editor"},
    )


def test_membership_leave_removes_the_member_and_audits_them_as_actor(workspace, admin, viewer):
    membership_leave(workspace=workspace, membership=_membership(workspace, viewer))

    assert not Membership.objects.for_workspace(workspace).filter(user=viewer).exists()
    assert _audit(workspace) == [
        ("member.left", viewer.id, {"email": "vic@acme.test", "role": "viewer"}),
    ]


def test_a_membership_of_another_workspace_cannot_be_changed_through_this_one(
    workspace, admin, outsider, other_workspace
):
    foreign = _membership(other_workspace, outsider)

    with pytest.raises(Membership.DoesNotExist):
        membership_role_change(workspace=workspace, actor=admin, membership=foreign, role="viewer")

    assert _membership(other_workspace, outsider).role == "admin"
