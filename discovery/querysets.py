from __future__ import annotations

from typing import Self

from pmhub.workspaces.querysets import WorkspaceQuerySet


class FeedbackQuerySet(WorkspaceQuerySet):
    def for_inbox(self) -> Self:
        """Newest first with a unique tiebreak, the order the inbox cursor pages through."""
        return self.order_by("-received_at", "-id")
