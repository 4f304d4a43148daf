from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pmhub.accounts.forms import ApiTokenForm, SignupForm
from pmhub.accounts.selectors import api_token_get, api_token_list, user_exists
from pmhub.accounts.services import api_token_create, api_token_revoke
from pmhub.core.exceptions import ApplicationError
from pmhub.core.forms import form_add_service_error
from pmhub.core.views import object_or_404, public_view, user_view
from pmhub.workspaces.decorators import workspace_view
from pmhub.workspaces.forms import (
    AuditFilterForm,
    InvitationForm,
    RoleForm,
    TwoFactorRequirementForm,
    WorkspaceCreateForm,
    WorkspaceRenameForm,
)
from pmhub.workspaces.permissions import can_manage_members, can_revoke_token
from pmhub.workspaces.roles import ROLE_DESCRIPTIONS, Role
from pmhub.workspaces.selectors import (
    audit_actions,
    audit_event_list,
    invitation_get,
    invitation_list_open,
    membership_get,
    membership_list,
    membership_list_for_user,
)
from pmhub.workspaces.services import (
    invitation_accept,
    invitation_accept_with_signup,
    invitation_create,
    invitation_from_token,
    invitation_resend,
    invitation_revoke,
    membership_leave,
    membership_remove,
    membership_role_change,
    workspace_create,
    workspace_two_factor_require,
    workspace_update,
)

AUDIT_PAGE_SIZE = 50


@user_view
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Go to the workspace used last, else the first, else offer to create one."""
    memberships = membership_list_for_user(user=request.user)
    if not memberships:
        return redirect("workspace-create")
    last = request.session.get("last_workspace")
    slugs = [m.workspace.slug for m in memberships]
    return redirect("workspaces:home", workspace_slug=last if last in slugs else slugs[0])


@user_view
@require_http_methods(["GET", "POST"])
def workspace_create_view(request: HttpRequest) -> HttpResponse:
    form = WorkspaceCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            workspace = workspace_create(actor=request.user, **form.cleaned_data)
        except (ValidationError, ApplicationError) as exc:
            form_add_service_error(form, exc)
        else:
            messages.success(request, f"Workspace {workspace.name} created.")
            return redirect("workspaces:home", workspace_slug=workspace.slug)
    return render(request, "workspaces/workspace_create.html", {"form": form})


@workspace_view()
@require_GET
def workspace_home(request: HttpRequest) -> HttpResponse:
    return redirect("discovery:index", workspace_slug=request.workspace.slug)


@workspace_view(roles={"POST": Role.ADMIN})
@require_http_methods(["GET", "POST"])
def settings_general(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace
    form = WorkspaceRenameForm(request.POST or None, initial={"name": workspace.name})
    if request.method == "POST" and form.is_valid():
        try:
            workspace_update(workspace=workspace, actor=request.user, **form.cleaned_data)
        except (ValidationError, ApplicationError) as exc:
            form_add_service_error(form, exc)
        else:
            messages.success(request, "Workspace renamed.")
            return redirect("workspaces:settings", workspace_slug=workspace.slug)
    return render(request, "workspaces/settings_general.html", {"form": form, "tab": "general"})


@workspace_view(roles={"POST": Role.ADMIN})
@require_http_methods(["GET", "POST"])
def settings_security(request: HttpRequest) -> HttpResponse:
    """Whether the workspace requires two-factor authentication; admins switch it, and see who
    has not turned it on yet."""
    workspace = request.workspace
    form = TwoFactorRequirementForm(
        request.POST or None, initial={"two_factor_required": workspace.two_factor_required}
    )
    if request.method == "POST" and form.is_valid():
        required = form.cleaned_data["two_factor_required"]
        try:
            workspace_two_factor_require(workspace=workspace, actor=request.user, required=required)
        except ApplicationError as exc:
            form_add_service_error(form, exc)
        else:
            messages.success(
                request,
                "Two-factor authentication is now required."
                if required
                else "Two-factor authentication is now optional.",
            )
            return redirect("workspaces:security", workspace_slug=workspace.slug)
    is_admin = request.membership.role == Role.ADMIN
    members = list(membership_list(workspace=workspace)) if is_admin else []
    context = {
        "tab": "security",
        "form": form,
        "without_two_factor": [m for m in members if not m.user.has_two_factor],
        "member_count": len(members),
    }
    return render(
        request,
        "workspaces/settings_security.html",
        context,
        status=400 if form.errors else 200,
    )


def _members_page(
    request: HttpRequest, *, invite_form: InvitationForm | None = None, status: int = 200
) -> HttpResponse:
    workspace = request.workspace
    is_admin = can_manage_members(request.membership)
    context = {
        "tab": "members",
        "members": list(membership_list(workspace=workspace)),
        "invitations": list(invitation_list_open(workspace=workspace)) if is_admin else [],
        "invite_form": invite_form or InvitationForm(),
        "role_choices": Role.choices,
        "role_descriptions": ROLE_DESCRIPTIONS,
        "can_manage": is_admin,
    }
    return render(request, "workspaces/settings_members.html", context, status=status)


@workspace_view()
@require_GET
def settings_members(request: HttpRequest) -> HttpResponse:
    return _members_page(request)


@workspace_view(roles={"POST": Role.ADMIN})
@require_POST
def invitation_create_view(request: HttpRequest) -> HttpResponse:
    form = InvitationForm(request.POST)
    if form.is_valid():
        try:
            invitation = invitation_create(
                workspace=request.workspace, actor=request.user, **form.cleaned_data
            )
        except (ValidationError, ApplicationError) as exc:
            form_add_service_error(form, exc)
        else:
            messages.success(request, f"Invitation sent to {invitation.email}.")
            return redirect("workspaces:members", workspace_slug=request.workspace.slug)
    return _members_page(request, invite_form=form, status=400)


def _flash_outcome(request: HttpRequest, action: Callable[[], object], success: str) -> None:
    """Run a service call and tell the person how it went."""
    try:
        action()
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success)


@workspace_view(roles={"POST": Role.ADMIN})
@require_POST
def invitation_resend_view(request: HttpRequest, invitation_id: int) -> HttpResponse:
    invitation = object_or_404(
        invitation_get, workspace=request.workspace, invitation_id=invitation_id
    )
    _flash_outcome(
        request,
        lambda: invitation_resend(
            workspace=request.workspace, actor=request.user, invitation=invitation
        ),
        f"Invitation sent again to {invitation.email}.",
    )
    return redirect("workspaces:members", workspace_slug=request.workspace.slug)


@workspace_view(roles={"POST": Role.ADMIN})
@require_POST
def invitation_revoke_view(request: HttpRequest, invitation_id: int) -> HttpResponse:
    invitation = object_or_404(
        invitation_get, workspace=request.workspace, invitation_id=invitation_id
    )
    _flash_outcome(
        request,
        lambda: invitation_revoke(
            workspace=request.workspace, actor=request.user, invitation=invitation
        ),
        f"Invitation for {invitation.email} withdrawn.",
    )
    return redirect("workspaces:members", workspace_slug=request.workspace.slug)


@workspace_view(roles={"POST": Role.ADMIN})
@require_POST
def member_role_view(request: HttpRequest, member_id: int) -> HttpResponse:
    membership = object_or_404(membership_get, workspace=request.workspace, membership_id=member_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose admin, editor or viewer.")
    else:
        try:
            membership_role_change(
                workspace=request.workspace,
                actor=request.user,
                membership=membership,
                role=form.cleaned_data["role"],
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                f"{membership.user.display_name} is now "
                f"{Role(form.cleaned_data['role']).label.lower()}.",
            )
    return redirect("workspaces:members", workspace_slug=request.workspace.slug)


@workspace_view(roles={"POST": Role.ADMIN})
@require_POST
def member_remove_view(request: HttpRequest, member_id: int) -> HttpResponse:
    membership = object_or_404(membership_get, workspace=request.workspace, membership_id=member_id)
    try:
        membership_remove(workspace=request.workspace, actor=request.user, membership=membership)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("workspaces:members", workspace_slug=request.workspace.slug)
    messages.success(request, f"{membership.user.display_name} was removed from the workspace.")
    if membership.user_id == request.user.id:
        return redirect("home")
    return redirect("workspaces:members", workspace_slug=request.workspace.slug)


@workspace_view(roles={"POST": Role.VIEWER})
@require_POST
def workspace_leave_view(request: HttpRequest) -> HttpResponse:
    try:
        membership_leave(workspace=request.workspace, membership=request.membership)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("workspaces:members", workspace_slug=request.workspace.slug)
    request.session.pop("last_workspace", None)
    messages.success(request, f"You left {request.workspace.name}.")
    return redirect("home")


@workspace_view(roles={"POST": Role.VIEWER})
@require_http_methods(["GET", "POST"])
def settings_tokens(request: HttpRequest) -> HttpResponse:
    """Personal tokens. Every member may hold them: engineers read the backlog through the API."""
    workspace = request.workspace
    form = ApiTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            token, raw = api_token_create(
                workspace=workspace, user=request.user, **form.cleaned_data
            )
        except (ValidationError, ApplicationError) as exc:
            form_add_service_error(form, exc)
        else:
            # Shown once: the value waits in the session only until the next page load pops it,
            # so that reloading that page neither shows it again nor creates a second token.
            request.session["new_api_token"] = {"id": token.id, "value": raw}
            return redirect("workspaces:tokens", workspace_slug=workspace.slug)
    is_admin = request.membership.role == Role.ADMIN
    tokens = api_token_list(workspace=workspace, user=None if is_admin else request.user)
    context = {
        "tab": "tokens",
        "form": form,
        "tokens": list(tokens),
        "new_token": request.session.pop("new_api_token", None),
        "shows_everyone": is_admin,
    }
    return render(
        request, "workspaces/settings_tokens.html", context, status=400 if form.errors else 200
    )


@workspace_view(roles={"POST": Role.VIEWER})
@require_POST
def token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    token = object_or_404(api_token_get, workspace=request.workspace, token_id=token_id)
    if not can_revoke_token(request.membership, token):
        raise PermissionDenied("Only the token's owner or an admin can revoke it.")
    _flash_outcome(
        request,
        lambda: api_token_revoke(workspace=request.workspace, actor=request.user, token=token),
        f"Token “{token.name}” revoked. It no longer works.",
    )
    return redirect("workspaces:tokens", workspace_slug=request.workspace.slug)


@workspace_view(roles={"GET": Role.ADMIN})
@require_GET
def settings_audit(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace
    form = AuditFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    events = audit_event_list(
        workspace=workspace,
        action=filters.get("action") or "",
        actor_id=filters.get("actor"),
        object_type=filters.get("object_type") or "",
        since=filters.get("since"),
        until=filters.get("until"),
    ).select_related("actor")
    page = Paginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "tab": "audit",
        "form": form,
        "page": page,
        "actions": audit_actions(workspace=workspace),
        "members": list(membership_list(workspace=workspace)),
        "query": query.urlencode(),
        "filtered": any(filters.values()),
    }
    return render(request, "workspaces/settings_audit.html", context)


@public_view
@require_http_methods(["GET", "POST"])
def invitation_accept_view(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = invitation_from_token(token)
    except ApplicationError as exc:
        return render(
            request, "workspaces/invitation_invalid.html", {"message": exc.message}, status=410
        )
    has_account = user_exists(email=invitation.email)
    signup_form = SignupForm(request.POST or None) if not request.user.is_authenticated else None
    error = ""
    if request.method == "POST":
        try:
            if request.user.is_authenticated:
                membership = invitation_accept(token=token, user=request.user)
            elif has_account:
                raise ApplicationError("Log in first to accept this invitation.")
            elif signup_form is not None and signup_form.is_valid():
                membership = invitation_accept_with_signup(token=token, **signup_form.cleaned_data)
                login(request, membership.user, backend="pmhub.accounts.backends.UserBackend")
            else:
                membership = None
        except (ValidationError, ApplicationError) as exc:
            if signup_form is not None and isinstance(exc, ValidationError):
                form_add_service_error(signup_form, exc)
            else:
                error = exc.message if isinstance(exc, ApplicationError) else " ".join(exc.messages)
            membership = None
        if membership is not None:
            messages.success(request, f"Welcome to {membership.workspace.name}.")
            return redirect("workspaces:home", workspace_slug=membership.workspace.slug)
    context = {
        "invitation": invitation,
        "has_account": has_account,
        "signup_form": signup_form,
        "error": error,
        "login_url": f"{reverse('accounts:login')}?next={request.path}",
    }
    return render(
        request,
        "workspaces/invitation_accept.html",
        context,
        status=400 if request.method == "POST" else 200,
    )
