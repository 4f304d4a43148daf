from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from django.db.models import QuerySet

from pmhub.core.db import querysets_read_together_compiled
from pmhub.workspaces.models import AuditEvent, Invitation, Membership, Workspace
from pmhub.workspaces.roles import Role

if TYPE_CHECKING:
    from pmhub.accounts.models import User


def membership_get_for_user(*, user: User, workspace_slug: str) -> Membership | None:
    """The user's membership in the workspace with this slug, with the workspace joined."""
    # cross-workspace: this is the lookup that establishes which workspace is in play.
    return (
        Membership.objects.unscoped()
        .select_related("workspace")
        .filter(user=user, workspace__slug=workspace_slug)
        .first()
    )


def membership_get_for_user_id(*, user_id: int, workspace_slug: str) -> Membership | None:
    """membership_get_for_user with the user joined too, for a request that has read only its
    session: the membership, its workspace and its user in one statement compiled once."""
    # cross-workspace: as membership_get_for_user.
    found = querysets_read_together_compiled(
        "membership_get_for_user_id",
        lambda values: [
            Membership.objects.unscoped()
            .select_related("workspace", "user")
            .filter(user_id=values["user_id"], workspace__slug=values["workspace_slug"])[:1]
        ],
        {"user_id": user_id, "workspace_slug": workspace_slug},
    )[0]
    return found[0] if found else None


def membership_list_for_user(*, user: User) -> list[Membership]:
    """The user's memberships with their workspaces, by workspace name (the switcher)."""
    return list(membership_query_for_user(user=user))


def membership_query_for_user(*, user: User) -> QuerySet[Membership]:
    """membership_list_for_user, unread: for a page that reads it with its other reads."""
    # cross-workspace: a person's own memberships span workspaces by definition.
    return (
        Membership.objects.unscoped()
        .select_related("workspace")
        .filter(user=user)
        .order_by("workspace__name", "workspace_id")
    )


def membership_list(*, workspace: Workspace) -> QuerySet[Membership]:
    """Members with their user, admins first."""
    return (
        Membership.objects.for_workspace(workspace)
        .select_related("user")
        .order_by("user__name", "user__email")
    )


def membership_get(*, workspace: Workspace, membership_id: int) -> Membership:
    """One membership of the workspace; DoesNotExist for any other id."""
    return (
        Membership.objects.for_workspace(workspace)
        .select_related("user", "workspace")
        .get(id=membership_id)
    )


def admin_count(*, workspace: Workspace) -> int:
    return Membership.objects.for_workspace(workspace).filter(role=Role.ADMIN).count()


def invitation_list_open(*, workspace: Workspace) -> QuerySet[Invitation]:
    """Invitations not yet accepted nor revoked, newest first (expired ones included, marked)."""
    return (
        Invitation.objects.for_workspace(workspace)
        .filter(accepted_at__isnull=True, revoked_at__isnull=True)
        .select_related("invited_by")
        .order_by("-id")
    )


def invitation_get(*, workspace: Workspace, invitation_id: int) -> Invitation:
    return Invitation.objects.for_workspace(workspace).get(id=invitation_id)


def audit_event_list(
    *,
    workspace: Workspace,
    action: str = "",
    actor_id: int | None = None,
    object_type: str = "",
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[AuditEvent]:
    """The workspace's audit log, newest first, narrowed by the given filters."""
    qs = AuditEvent.objects.for_workspace(workspace).order_by("-id")
    if action:
        qs = qs.filter(action=action)
    if actor_id:
        qs = qs.filter(actor_id=actor_id)
    if object_type:
        qs = qs.filter(object_type=object_type)
    if since:
        qs = qs.filter(created_at__date__gte=since)
    if until:
        qs = qs.filter(created_at__date__lte=until)
    return qs


def audit_actions(*, workspace: Workspace) -> list[str]:
    """Distinct actions present in the log, for the filter menu."""
    return list(
        AuditEvent.objects.for_workspace(workspace)
        .order_by("action")
        .values_list("action", flat=True)
        .distinct()
    )
