"""Base classes of every API view: tenancy and roles are resolved here and nowhere else."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from django.db import DatabaseError, transaction
from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.urls import reverse
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.views import APIView

from pmhub.accounts.models import ApiToken
from pmhub.core.access import USER, WORKSPACE
from pmhub.core.exceptions import ApplicationError
from pmhub.workspaces import idempotency
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


class _Replay(Exception):  # noqa: N818 - not an error: the answer of an earlier request
    def __init__(self, response: HttpResponse) -> None:
        self.response = response


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
    # Every POST takes this header (pmhub.workspaces.idempotency); the schema documents it.
    idempotency_key_header = idempotency.HEADER
    # Set for a POST with an Idempotency-Key.
    idempotency_fingerprint: str = ""
    idempotency_claim: idempotency.Claim | None = None

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
        if request.method != "POST" or idempotency.HEADER not in request.headers:
            return super().dispatch(request, *args, **kwargs)
        self.idempotency_fingerprint = idempotency.request_fingerprint(
            method=request.method, full_path=request.get_full_path(), body=request.body
        )
        # The key's row commits with the work and its answer, or nothing does.
        response = None
        try:
            with transaction.atomic():
                response = super().dispatch(request, *args, **kwargs)
                if not 200 <= response.status_code < 300:
                    # Refused or failed: nothing may stay.
                    transaction.set_rollback(True)
                elif self.idempotency_claim is not None:
                    idempotency.idempotent_request_record(
                        workspace=self.workspace, claim=self.idempotency_claim, response=response
                    )
        except DatabaseError:
            # Ending the transaction failed: the connection was lost (Django reconnects after a
            # rollback, and PostgreSQL may still be down). Nothing was committed, so a refusal
            # already made (the 503 of that lost connection, say) stands as the answer.
            if response is None or 200 <= response.status_code < 300:
                raise
        return response

    def handle_exception(self, exc: Exception) -> Any:
        if isinstance(exc, _Replay):
            return exc.response
        return super().handle_exception(exc)

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
        if self.idempotency_fingerprint:
            self._claim_idempotency_key(request)

    def _claim_idempotency_key(self, request: Request) -> None:
        key = idempotency.idempotency_key_read(request.headers)
        claimed = idempotency.idempotent_request_claim(
            workspace=self.workspace,
            user=request.user,
            key=key,
            fingerprint=self.idempotency_fingerprint,
        )
        if isinstance(claimed, HttpResponse):
            raise _Replay(claimed)
        self.idempotency_claim = claimed
