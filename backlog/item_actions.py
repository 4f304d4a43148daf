"""Backlog writes that combine the services' steps into one path (pages, API, imports alike)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction

from backlog.models import Item
from backlog.services import item_create, item_link_evidence
from pmhub.workspaces.models import Workspace

if TYPE_CHECKING:
    from pmhub.accounts.models import User


@transaction.atomic
def item_create_from_evidence(
    *,
    workspace: Workspace,
    actor: User | None,
    title: str,
    insight_id: int | None = None,
    feedback_id: int | None = None,
) -> Item:
    """A new item at the bottom of the backlog, citing this insight or feedback item; both or
    neither (an unknown source) leave nothing behind."""
    item = item_create(workspace=workspace, actor=actor, title=title)
    item_link_evidence(
        workspace=workspace,
        actor=actor,
        item=item,
        insight_id=insight_id,
        feedback_id=feedback_id,
    )
    return item
