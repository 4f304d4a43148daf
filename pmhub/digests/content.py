"""What a stakeholder's digest says: the changes in their scope between two moments.

Built for a batch of stakeholders of one workspace at a time, in a fixed number of statements
whatever the batch's size: the workspace's changes in the batch's widest window are read once,
then each stakeholder's share is picked in Python.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field

from pmhub.digests.models import Stakeholder
from pmhub.workspaces.models import Workspace


@dataclass(frozen=True)
class Entry:
    """One line of a digest. Every text is plain (escape it); `reason` is user Markdown,
    rendered through pmhub.core.markdown's sanitizer."""

    kind: str  # one of ENTRY_KINDS
    title: str  # the item's, insight's, document's or key result's title
    url: str  # absolute: the app for members, otherwise the public page or the web version
    detail: str  # "Next → Later", "14 customers · $320k ARR", "62 → 71 of 80 %", ...
    when: datetime.datetime
    reason: str = ""  # why it moved, slipped or was declined (Markdown)
    companies: tuple[str, ...] = ()  # the stakeholder's own companies that asked for it
    anchor: str = ""  # "entry-<n>": its id in the web version


ENTRY_KINDS = (
    "shipped", "moved", "slipped", "declined", "scheduled", "insight", "document",
    "release_notes", "key_result",
)  # fmt: skip


@dataclass(frozen=True)
class Section:
    key: str  # "accounts", "shipped", "roadmap", "insights", "documents", "key_results"
    title: str  # "For your accounts", "Shipped", "Roadmap changes", ...
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class Digest:
    workspace_id: int
    workspace_name: str
    stakeholder_id: int
    email: str
    name: str
    is_member: bool  # links go to the app
    covers_from: datetime.datetime
    covers_until: datetime.datetime
    headline: str  # "For your accounts: 3 requests shipped, 1 moved from Next to Later"
    sections: tuple[Section, ...] = field(default=())
    web_url: str = ""  # the signed web version (for people without an account)
    app_url: str = ""  # the workspace in the app (members) or "" (others)

    @property
    def is_empty(self) -> bool:
        return not any(section.entries for section in self.sections)

    @property
    def entry_count(self) -> int:
        return sum(len(section.entries) for section in self.sections)


@dataclass(frozen=True)
class DigestRequest:
    stakeholder: Stakeholder  # with .follows prefetched or not: digests_build reads them itself
    covers_from: datetime.datetime
    covers_until: datetime.datetime


def digests_build(workspace: Workspace, requests: Sequence[DigestRequest]) -> list[Digest]:
    """One Digest per request, in the same order, in a fixed number of statements."""
    raise NotImplementedError  # being written (lead)


def digest_next(
    *, workspace: Workspace, stakeholder: Stakeholder, now: datetime.datetime | None = None
) -> Digest:
    """The stakeholder's next digest as it stands now: from the end of the last one delivered
    (or one cadence back) until now."""
    raise NotImplementedError  # being written (lead)
