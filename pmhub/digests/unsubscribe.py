"""Unsubscribing from digests: the write behind the signed link in every digest."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F

from pmhub.digests.models import Stakeholder
from pmhub.workspaces.models import Workspace


@transaction.atomic
def stakeholder_unsubscribe(*, workspace: Workspace, stakeholder: Stakeholder) -> Stakeholder:
    """The stakeholder gets no more digests. Idempotent: a second call (the one-click POST of
    the mail client, then the confirmation form) changes nothing and keeps the version."""
    locked = Stakeholder.objects.for_workspace(workspace).select_for_update().get(id=stakeholder.id)
    if locked.status != Stakeholder.Status.UNSUBSCRIBED:
        locked.status = Stakeholder.Status.UNSUBSCRIBED
        locked.version = F("version") + 1
        locked.save(update_fields=["status", "version", "updated_at"])
        locked.refresh_from_db(fields=["version"])
    return locked
