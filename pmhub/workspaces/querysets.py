from __future__ import annotations

from typing import TYPE_CHECKING, Self

from django.db import models

if TYPE_CHECKING:
    from pmhub.workspaces.models import Workspace


class WorkspaceQuerySet(models.QuerySet):
    """The only way into workspace-owned rows: every chain starts with for_workspace()."""

    def for_workspace(self, workspace: Workspace) -> Self:
        """Rows of `workspace` only."""
        return self.filter(workspace=workspace)

    def unscoped(self) -> Self:
        """Rows of every workspace. Callers say why on a `# cross-workspace:` comment."""
        return self.all()
