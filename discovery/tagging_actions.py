"""What people ask of the tagging worker from the pages: train the model now, re-tag a filter.

The work itself is discovery.tagging's; these check the request and enqueue it after commit.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import TYPE_CHECKING, Any

from discovery import selectors
from discovery.models import TaggingJob
from discovery.tagging import retag_start
from pmhub.core.exceptions import ApplicationError
from pmhub.workspaces.models import Workspace

if TYPE_CHECKING:
    from discovery.selectors import FeedbackFilters
    from pmhub.accounts.models import User


def classifier_train_request(*, workspace: Workspace, actor: User | None) -> None:
    """Train a new classifier version in the background, or say why there is too little to
    learn from (the same condition as tagging.classifier_train, checked before enqueueing)."""
    from discovery.tasks import classifier_train_task

    if not selectors.classifier_label_summary(workspace=workspace).is_enough:
        raise ApplicationError(
            "The model needs examples of at least two tags (or of one tag and of items where no "
            "tag fits). Tag a few more items first."
        )
    classifier_train_task.delay_on_commit(workspace_id=workspace.id, force=True)


def filters_as_json(filters: FeedbackFilters) -> dict[str, Any]:
    """An inbox filter as TaggingJob.filters stores it: field names, dates as ISO strings, the
    empty ones left out."""
    values: dict[str, Any] = {}
    for name, value in dataclasses.asdict(filters).items():
        if value in ("", None, [], False):
            continue
        values[name] = value.isoformat() if isinstance(value, date) else value
    return values


def retag_request(
    *, workspace: Workspace, actor: User | None, filters: FeedbackFilters | None = None
) -> TaggingJob:
    """Re-tag the workspace, or the items of an inbox filter, in the background."""
    return retag_start(
        workspace=workspace,
        actor=actor,
        filters=filters_as_json(filters) if filters is not None else None,
    )
