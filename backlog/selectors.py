"""Reads of the backlog."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q

from backlog.models import ItemCustomer, ItemEvidence
from pmhub.workspaces.models import Workspace


def item_ids_asked_through(
    *,
    workspace: Workspace,
    customer_ids: Iterable[int] = (),
    feedback_ids: Iterable[int] = (),
    insight_ids: Iterable[int] = (),
) -> set[int]:
    """Items whose demand these customers, feedback items or insights are part of."""
    customer_ids, feedback_ids, insight_ids = (
        list(customer_ids),
        list(feedback_ids),
        list(insight_ids),
    )
    item_ids: set[int] = set()
    if customer_ids:
        item_ids |= set(
            ItemCustomer.objects.for_workspace(workspace)
            .filter(customer_id__in=customer_ids)
            .values_list("item_id", flat=True)
        )
    if feedback_ids or insight_ids:
        item_ids |= set(
            ItemEvidence.objects.for_workspace(workspace)
            .filter(Q(feedback_id__in=feedback_ids) | Q(insight_id__in=insight_ids))
            .values_list("item_id", flat=True)
        )
    return item_ids
