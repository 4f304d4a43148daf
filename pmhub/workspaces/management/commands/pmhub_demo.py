"""Create (or keep) the demo login and its workspaces. Safe to run on every start."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from pmhub.accounts.models import User
from pmhub.accounts.services import user_create
from pmhub.workspaces.models import Workspace
from pmhub.workspaces.roles import Role
from pmhub.workspaces.selectors import membership_list_for_user
from pmhub.workspaces.services import workspace_create

DEMO_EMAIL = "demo@pmhub.local"
DEMO_PASSWORD = "pmhub-demo"  # noqa: S105 - the published demo login of a local install.
DEMO_WORKSPACES = [("Acme Product", "acme"), ("Globex Research", "globex")]


class Command(BaseCommand):
    help = "Create the demo user and its workspaces if they do not exist."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            user = User.objects.filter(email=DEMO_EMAIL).first()
            if user is None:
                user = user_create(email=DEMO_EMAIL, password=DEMO_PASSWORD, name="Demo PM")
            joined = {m.workspace.slug for m in membership_list_for_user(user=user)}
            for name, slug in DEMO_WORKSPACES:
                if slug not in joined and not Workspace.objects.filter(slug=slug).exists():
                    workspace_create(actor=user, name=name, slug=slug)
        self.stdout.write(f"demo login: {DEMO_EMAIL} / {DEMO_PASSWORD} ({Role.ADMIN.label})")
