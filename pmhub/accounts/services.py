from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from pmhub.accounts.models import ApiToken, User
from pmhub.accounts.tokens import token_generate, token_hash
from pmhub.core.exceptions import ApplicationError
from pmhub.workspaces.audit import audit_record
from pmhub.workspaces.models import Workspace

# Recording every use would turn each API read into a write; once a minute is precise enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@transaction.atomic
def user_create(*, email: str, password: str, name: str = "") -> User:
    """Create an account; the password must pass the configured validators."""
    candidate = User(email=email.strip().lower(), name=name.strip())
    validate_password(password, user=candidate)
    try:
        with transaction.atomic():
            return User.objects.create_user(email=email, password=password, name=name.strip())
    except IntegrityError as exc:
        raise ValidationError({"email": "An account with this email already exists."}) from exc


@transaction.atomic
def api_token_create(
    *, workspace: Workspace, user: User, name: str, access: str
) -> tuple[ApiToken, str]:
    """Create a token for `user` in `workspace`. Returns it and its value, which is never stored."""
    if access not in ApiToken.Access.values:
        raise ValidationError({"access": "Choose read or write."})
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Give the token a name, e.g. where it will be used."})
    raw = token_generate()
    token = ApiToken(
        workspace=workspace,
        user=user,
        name=name,
        access=access,
        prefix=raw[:12],
        token_hash=token_hash(raw),
    )
    token.full_clean()
    token.save()
    audit_record(
        workspace=workspace,
        actor=user,
        action="token.created",
        target=token,
        changes={"name": name, "access": access},
    )
    return token, raw


@transaction.atomic
def api_token_revoke(*, workspace: Workspace, actor: User, token: ApiToken) -> ApiToken:
    token = ApiToken.objects.for_workspace(workspace).select_for_update().get(id=token.id)
    if token.revoked_at is not None:
        raise ApplicationError("This token is already revoked.")
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at", "updated_at"])
    audit_record(
        workspace=workspace,
        actor=actor,
        action="token.revoked",
        target=token,
        changes={"name": token.name},
    )
    return token


def api_token_mark_used(*, token: ApiToken) -> None:
    """Record the time of use, at most once per LAST_USED_RESOLUTION."""
    now = timezone.now()
    if token.last_used_at and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiToken.objects.for_workspace(token.workspace).filter(id=token.id).update(last_used_at=now)
    token.last_used_at = now
