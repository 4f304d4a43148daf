"""Pure role predicates beyond the per-method table."""

from __future__ import annotations

from pmhub.accounts.models import ApiToken
from pmhub.workspaces.models import Membership
from pmhub.workspaces.roles import Role


def can_manage_members(membership: Membership) -> bool:
    return membership.role == Role.ADMIN


def can_revoke_token(membership: Membership, token: ApiToken) -> bool:
    """People revoke their own tokens; admins revoke anyone's."""
    return token.user_id == membership.user_id or membership.role == Role.ADMIN
