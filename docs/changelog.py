"""The public changelog: a workspace's published release notes, for anyone, when it turned it on.

Only what a customer may read leaves here: each entry's title, its release's name and date,
its publication time and its body rendered without links into the app (a reference shows its
target's title and status as text; a deleted or unknown one as such). Drafts, other kinds,
owners, reviewers and comments never do.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, replace

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils.safestring import SafeString

from docs.models import Changelog, Document, Kind, Reference
from docs.references import chip_html, targets_read
from pmhub.core.markdown import references_in, render_markdown
from pmhub.workspaces.models import Workspace

ENTRIES_PER_PAGE = 50
TITLE_MAX_CHARS = 120
DESCRIPTION_MAX_CHARS = 500


@dataclass(frozen=True)
class Entry:
    """One published release note as the public sees it."""

    id: int
    title: str
    published_at: datetime.datetime
    updated_at: datetime.datetime
    release_name: str
    release_date: datetime.date | None
    html: SafeString


@dataclass(frozen=True)
class PublicChangelog:
    workspace_name: str
    slug: str
    title: str
    description: str
    entries: list[Entry]
    page: int = 1
    has_more: bool = False

    @property
    def updated_at(self) -> datetime.datetime | None:
        return max((e.updated_at for e in self.entries), default=None)


# --- settings ----------------------------------------------------------------------------------
def changelog_get(*, workspace: Workspace) -> Changelog:
    """The workspace's changelog settings (unsaved and off when it never set them)."""
    found = Changelog.objects.for_workspace(workspace).first()
    return found if found is not None else Changelog(workspace=workspace)


@transaction.atomic
def changelog_update(
    *, workspace: Workspace, is_public: bool, title: str = "", description: str = ""
) -> Changelog:
    """Turn the public changelog on or off and name it (one row per workspace, upserted)."""
    title = " ".join((title or "").split())
    description = (description or "").strip()
    if len(title) > TITLE_MAX_CHARS:
        raise ValidationError({"title": f"Keep it under {TITLE_MAX_CHARS} characters."})
    if len(description) > DESCRIPTION_MAX_CHARS:
        raise ValidationError({"description": f"Keep it under {DESCRIPTION_MAX_CHARS} characters."})
    values = {"is_public": bool(is_public), "title": title, "description": description}
    try:
        with transaction.atomic():
            changelog, _ = Changelog.objects.for_workspace(workspace).update_or_create(
                workspace=workspace, defaults=values
            )
    except IntegrityError:  # created concurrently: update the row that won
        changelog = Changelog.objects.for_workspace(workspace).select_for_update().get()
        for field, value in values.items():
            setattr(changelog, field, value)
        changelog.save(update_fields=[*values, "updated_at"])
    return changelog


# --- public reads ------------------------------------------------------------------------------
def _public_changelog(slug: str) -> Changelog:
    # cross-workspace: a public page names its workspace by slug; only a changelog the
    # workspace turned on is found, with the workspace read in the same query.
    changelog = (
        Changelog.objects.unscoped()
        .filter(workspace__slug=slug, is_public=True)
        .select_related("workspace")
        .first()
    )
    if changelog is None:
        raise Http404("No public changelog here.")
    return changelog


def _published(workspace: Workspace) -> QuerySet[Document]:
    return (
        Document.objects.for_workspace(workspace)
        .filter(kind=Kind.RELEASE_NOTES, status=Document.Status.PUBLISHED)
        .select_related("release")
        .only(
            "id", "title", "body", "published_at", "updated_at", "workspace_id",
            "release__name", "release__released_on", "release__target_date",
        )
        .order_by("-published_at", "-id")
    )  # fmt: skip


def _entries(workspace: Workspace, documents: list[Document]) -> list[Entry]:
    """`documents` rendered for the public in constant queries: one read of every reference's
    target across them all, one of the titles their Reference rows kept."""
    cited = {doc.id: references_in(doc.body) for doc in documents}
    every = sorted({ref for refs in cited.values() for ref in refs})
    # The public sees a target's title only: its status (an insight's "Draft") is internal.
    targets = {
        ref: replace(target, status="", status_label="")
        for ref, target in (
            targets_read(workspace=workspace, references=every) if every else {}
        ).items()
    }
    known: dict[tuple[int, tuple[str, int]], str] = {}
    if every:
        for document_id, target, target_id, title in (
            Reference.objects.for_workspace(workspace)
            .filter(document_id__in=[d.id for d in documents])
            .exclude(title="")
            .values_list("document_id", "target", "target_id", "title")
        ):
            known[(document_id, (target, target_id))] = title
    entries = []
    for doc in documents:

        def draw(references: list, doc_id: int = doc.id) -> dict:
            return {
                ref: chip_html(
                    ref, targets.get(ref), known_title=known.get((doc_id, ref), ""), links=False
                )
                for ref in references
            }

        release = doc.release
        entries.append(
            Entry(
                id=doc.id,
                title=doc.title,
                published_at=doc.published_at or doc.updated_at,
                updated_at=doc.updated_at,
                release_name=release.name if release is not None else "",
                release_date=(
                    (release.released_on or release.target_date) if release is not None else None
                ),
                html=render_markdown(doc.body, draw),
            )
        )
    return entries


def public_changelog_get(
    *, slug: str, page: int = 1, limit: int = ENTRIES_PER_PAGE
) -> PublicChangelog:
    """A workspace's public changelog with its `page`th `limit` entries, newest first; 404 when
    the workspace does not exist or has not turned its changelog on, or for a page past the
    end (the first page always exists)."""
    changelog = _public_changelog(slug)
    workspace = changelog.workspace
    start = (page - 1) * limit
    documents = list(_published(workspace)[start : start + limit + 1])
    if page > 1 and not documents:
        raise Http404("No such page.")
    return PublicChangelog(
        workspace_name=workspace.name,
        slug=workspace.slug,
        title=changelog.title or f"{workspace.name} changelog",
        description=changelog.description,
        entries=_entries(workspace, documents[:limit]),
        page=page,
        has_more=len(documents) > limit,
    )


def public_entry_get(*, slug: str, entry_id: int) -> tuple[PublicChangelog, Entry]:
    """One published release note of a public changelog; 404 for anything else."""
    changelog = _public_changelog(slug)
    workspace = changelog.workspace
    document = _published(workspace).filter(id=entry_id).first()
    if document is None:
        raise Http404("No such entry.")
    public = PublicChangelog(
        workspace_name=workspace.name,
        slug=workspace.slug,
        title=changelog.title or f"{workspace.name} changelog",
        description=changelog.description,
        entries=[],
    )
    return public, _entries(workspace, [document])[0]
