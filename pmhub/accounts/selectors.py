from __future__ import annotations

from django.db.models import QuerySet

from pmhub.accounts.models import ApiToken, User
from pmhub.accounts.tokens import token_hash
from pmhub.workspaces.models import Workspace


def api_token_find_active(*, raw: str) -> ApiToken | None:
    """The active token with this value, with its user and workspace; None if unknown or revoked."""
    # cross-workspace: the token is what tells us the workspace; it is matched by its hash.
    return (
        ApiToken.objects.unscoped()
        .select_related("user", "workspace")
        .filter(token_hash=token_hash(raw), revoked_at__isnull=True)
        .first()
    )


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
