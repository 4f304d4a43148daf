"""Create (or keep) the demo login and its workspaces. Safe to run on every start."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from backlog.demo import demo_backlog_create
from discovery.demo import demo_discovery_create
from docs.demo import demo_docs_create
from pmhub.accounts.models import User
from pmhub.accounts.services import user_create
from pmhub.digests.demo import demo_digests_create
from pmhub.workspaces.models import Workspace
from pmhub.workspaces.roles import Role
from pmhub.workspaces.selectors import membership_get_for_user, membership_list_for_user
from pmhub.workspaces.services import workspace_create
from roadmap.demo import demo_roadmap_create

DEMO_EMAIL = "demo@pmhub.local"
DEMO_PASSWORD = "pmhub-demo"  # noqa: S105 - the published demo login of a local install.
DEMO_WORKSPACES = [("Acme Product", "acme"), ("Globex Research", "globex")]
# Only this workspace gets the discovery demo set; the other one shows the empty states.
DISCOVERY_DEMO_SLUG = "acme"


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
        # Fill only a workspace the demo login belongs to, never someone else's "acme".
        membership = membership_get_for_user(user=user, workspace_slug=DISCOVERY_DEMO_SLUG)
        if membership is not None:
            started = time.monotonic()
            result = demo_discovery_create(workspace=membership.workspace, actor=user)
            if result.created:
                self.stdout.write(
                    f"demo discovery data: {result.feedback} feedback, {result.companies} "
                    f"companies, {result.customers} customers, {result.interviews} interviews, "
                    f"{result.insights} insights ({time.monotonic() - started:.1f} s)"
                )
            items = demo_backlog_create(workspace=membership.workspace, actor=user)
            if items:
                self.stdout.write(f"demo backlog: {items} items with their evidence")
            if demo_roadmap_create(workspace=membership.workspace, actor=user):
                self.stdout.write("demo roadmaps: a board, a timeline, releases and objectives")
            if demo_docs_create(workspace=membership.workspace, actor=user):
                self.stdout.write("demo docs: a PRD, a decision record, an update, release notes")
            if demo_digests_create(workspace=membership.workspace):
                self.stdout.write("demo digests: five stakeholders, their digests due now")
        self.stdout.write(f"demo login: {DEMO_EMAIL} / {DEMO_PASSWORD} ({Role.ADMIN.label})")
