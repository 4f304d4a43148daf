"""Base classes of every API view: tenancy and roles are resolved here and nowhere else."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from django.db.models import QuerySet
from django.http import Http404
from django.urls import reverse
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.views import APIView

from pmhub.accounts.models import ApiToken
from pmhub.core.access import USER, WORKSPACE
from pmhub.core.exceptions import ApplicationError
from pmhub.workspaces.models import Membership, Workspace
from pmhub.workspaces.roles import SAFE_METHODS, Role, role_allows, role_required_for
from pmhub.workspaces.selectors import membership_get_for_user


class TwoFactorRequired(ApplicationError):
    status_code = 403


def two_factor_required_error(*, by_token: bool) -> TwoFactorRequired:
    """The 403 for a person without two-factor in a workspace that requires it. A token is
    refused too: it acts as its owner, who has to meet the workspace's rule like everyone."""
    whose = "this token's owner has" if by_token else "you have"
    return TwoFactorRequired(
        f"This workspace requires two-factor authentication, which {whose} not turned on. "
        "Turn it on under Account › Two-factor authentication.",
        extra={"setup_url": reverse("accounts:two-factor")},
    )


class UserApiView(APIView):
    """An endpoint about the caller, outside any workspace (e.g. /api/v1/me/)."""

    pmhub_access = USER


class WorkspaceApiView(APIView):
    """An endpoint under `/api/v1/workspaces/<workspace_slug>/`.

    `initial()` resolves the workspace once (from the path, checked against the token's own
    workspace) and sets `self.workspace` and `self.membership`. Non-members and tokens of other
    workspaces get 404; members whose role (or read-only token) does not allow the method get 403,
    and so do members without two-factor authentication in a workspace that requires it.
    Subclasses read rows through `get_workspace_queryset(workspace)`, never get_queryset().
    """

    pmhub_access = WORKSPACE
    # Departures from DEFAULT_METHOD_ROLES, e.g. {"PATCH": Role.ADMIN}.
    required_roles: ClassVar[Mapping[str, Role]] = {}

    workspace: Workspace
    membership: Membership

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for forbidden in ("get_queryset", "get_object"):
            if forbidden in cls.__dict__:
                raise TypeError(
                    f"{cls.__name__} overrides {forbidden}(); implement "
                    "get_workspace_queryset(workspace) so every read stays in the workspace."
                )

    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet:
        raise NotImplementedError(f"{type(self).__name__} reads no rows")

    def dispatch(self, request: Any, *args: Any, workspace_slug: str = "", **kwargs: Any) -> Any:
        self.workspace_slug = workspace_slug
        return super().dispatch(request, *args, **kwargs)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        token = request.auth if isinstance(request.auth, ApiToken) else None
        if token is not None and token.workspace.slug != self.workspace_slug:
            raise Http404
        if token is not None:
            membership = token.membership  # read with the token (api_token_find_active)
        else:
            membership = membership_get_for_user(
                user=request.user, workspace_slug=self.workspace_slug
            )
        if membership is None:
            raise Http404
        # Both rows were read already: the workspace with the membership, the user with the
        # session or the token.
        if membership.workspace.two_factor_required and not request.user.has_two_factor:
            raise two_factor_required_error(by_token=token is not None)
        method = (request.method or "GET").upper()
        if (
            token is not None
            and token.access == ApiToken.Access.READ
            and method not in SAFE_METHODS
        ):
            raise exceptions.PermissionDenied("This API token is read-only.")
        if not role_allows(membership.role, role_required_for(method, self.required_roles)):
            raise exceptions.PermissionDenied("Your role in this workspace does not allow this.")
        self.workspace = membership.workspace
        self.membership = membership
