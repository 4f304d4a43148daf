from __future__ import annotations

from django.db.models import F, FilteredRelation, Q, QuerySet

from pmhub.accounts.models import ApiToken, User
from pmhub.accounts.tokens import token_hash
from pmhub.workspaces.models import Membership, Workspace


def api_token_find_active(*, raw: str) -> ApiToken | None:
    """The active token with this value, with its user and workspace, and as `membership` the
    user's membership of that workspace (None once they left it); None if unknown or revoked.

    One statement: every API request starts here, and the membership is what it asks next."""
    # cross-workspace: the token is what tells us the workspace; it is matched by its hash.
    token = (
        ApiToken.objects.unscoped()
        .select_related("user", "workspace")
        .annotate(
            member=FilteredRelation(
                "user__memberships",
                condition=Q(user__memberships__workspace_id=F("workspace_id")),
            ),
            member_id=F("member__id"),
            member_role=F("member__role"),
        )
        .filter(token_hash=token_hash(raw), revoked_at__isnull=True)
        .first()
    )
    if token is None:
        return None
    token.membership = None
    if token.member_id is not None:
        membership = Membership(
            id=token.member_id, role=token.member_role, user=token.user, workspace=token.workspace
        )
        membership._state.adding = False
        membership._state.db = token._state.db
        token.membership = membership
    return token


def api_token_list(*, workspace: Workspace, user: User | None = None) -> QuerySet[ApiToken]:
    """Tokens of the workspace, newest first; only `user`'s when given."""
    qs = ApiToken.objects.for_workspace(workspace).select_related("user").order_by("-id")
    if user is not None:
        qs = qs.filter(user=user)
    return qs


def api_token_get(*, workspace: Workspace, token_id: int) -> ApiToken:
    return ApiToken.objects.for_workspace(workspace).select_related("user").get(id=token_id)


def user_exists(*, email: str) -> bool:
    return User.objects.filter(email__iexact=email.strip()).exists()
