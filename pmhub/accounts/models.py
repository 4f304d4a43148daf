from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from pmhub.workspaces.models import WorkspaceOwnedModel


class UserManager(BaseUserManager["User"]):
    def get_by_natural_key(self, username: str | None) -> User:
        # Emails are matched case-insensitively, the way people type them.
        return self.get(email__iexact=username or "")

    def create_user(self, email: str, password: str | None = None, **fields: Any) -> User:
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save()
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> User:
        """What `manage.py createsuperuser` calls: pmhub has no site-wide staff, only people.

        The account then creates its first workspace (and becomes its admin) after logging in.
        """
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser):
    """A person who logs in with an email address."""

    email = models.EmailField(max_length=254, unique=True)
    name = models.CharField(max_length=120, blank=True)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    # Set while an authenticator app is required at login (see TwoFactor). Kept on the user row,
    # which every request reads anyway, so that workspaces requiring it check it for free.
    two_factor_enabled_at = models.DateTimeField(null=True, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = ["name"]

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_unique_ci")]

    def __str__(self) -> str:
        return self.email

    @property
    def display_name(self) -> str:
        return self.name or self.email.split("@")[0]

    @property
    def initials(self) -> str:
        parts = self.display_name.split()
        return "".join(part[0] for part in parts[:2]).upper() or "?"

    @property
    def has_two_factor(self) -> bool:
        return self.two_factor_enabled_at is not None


class TwoFactor(models.Model):
    """A person's authenticator app (TOTP, RFC 6238): the shared key, sealed (pmhub.accounts.
    sealing), and the last time step accepted, so that no code is accepted twice.

    The row exists from the start of the setup; the user's `two_factor_enabled_at` says whether
    it is in force."""

    user = models.OneToOneField(
        User, on_delete=models.CASCADE, primary_key=True, related_name="two_factor"
    )
    sealed_secret = models.TextField()
    last_used_step = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Two-factor of {self.user_id}"


class RecoveryCode(models.Model):
    """One single-use code for when the phone is lost. Only its SHA-256 is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "code_hash"], name="recovery_code_unique")
        ]

    def __str__(self) -> str:
        return f"Recovery code {self.id} of {self.user_id}"


class LoginFailure(models.Model):
    """One wrong password or two-factor code, under the hash of what it is counted by
    (pmhub.accounts.throttle). Kept in PostgreSQL, not in the cache: a Redis that is down or
    restarted must not open the door to unlimited guesses."""

    key = models.CharField(max_length=64)
    failed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["key", "failed_at"], name="login_failure_key"),
            models.Index(fields=["failed_at"], name="login_failure_time"),
        ]

    def __str__(self) -> str:
        return f"Login failure at {self.failed_at:%Y-%m-%d %H:%M:%S}"


class ApiToken(WorkspaceOwnedModel):
    """A personal API token, bound to one workspace. Only its SHA-256 is stored."""

    class Access(models.TextChoices):
        READ = "read", "Read only"
        WRITE = "write", "Read and write"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80)
    access = models.CharField(max_length=5, choices=Access.choices, default=Access.READ)
    # The first characters of the token, shown in lists so people can tell tokens apart.
    prefix = models.CharField(max_length=16)
    token_hash = models.CharField(max_length=64, unique=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(access__in=["read", "write"]), name="api_token_access_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
