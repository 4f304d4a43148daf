"""Release notes that write their own first draft: a release's shipped items grouped by product
area, each with its title, a one-line description and the insights it answers (cited live).

Generating again for the same release opens the draft already there (an archived one aside),
so a second click never leaves two competing drafts.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import TYPE_CHECKING

from django.db import transaction

from backlog.models import Item, ItemEvidence
from docs import services
from docs.models import Document, Kind
from pmhub.workspaces.models import Workspace
from roadmap.models import Release

if TYPE_CHECKING:
    from pmhub.accounts.models import User

LINE_MAX_CHARS = 160
OTHER_AREA = "Other"

# Markdown a description's first line may open with: headings, quotes, list marks, emphasis.
_LEADING_MARKS = re.compile(r"^\s*(?:#{1,6}\s+|>\s*|[-*+]\s+|\d+[.)]\s+|\[[ xX]\]\s+)+")
_INLINE_MARKS = re.compile(r"(\*\*|__|`|~~)")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_REFERENCE = re.compile(r"\[\[")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")


def one_line(description: str, limit: int = LINE_MAX_CHARS) -> str:
    """The first sentence of the description's first non-empty line, as plain text, trimmed to
    `limit` characters (an ellipsis says it was cut)."""
    for raw in (description or "").splitlines():
        line = _LEADING_MARKS.sub("", raw).strip()
        if line and not line.startswith(("```", "|", "---")):
            break
    else:
        return ""
    line = _LINK.sub(r"\1", line)
    line = _INLINE_MARKS.sub("", line)
    line = _REFERENCE.sub("[ [", line)  # a description's text never becomes a live reference
    line = _SENTENCE_END.split(line, maxsplit=1)[0]
    line = " ".join(line.split())
    if len(line) > limit:
        line = line[: limit - 1].rstrip(" ,;:-") + "…"
    return line


def _markdown_title(title: str) -> str:
    """An item title safe inside **bold** (Markdown marks in it shown as typed)."""
    title = " ".join(title.split()).replace("[[", "[ [")
    return re.sub(r"([\\`*_\[\]<>])", r"\\\1", title)


def release_notes_markdown(*, workspace: Workspace, release: Release) -> str:
    """The draft's Markdown for `release`, in two queries: its shipped items with their areas,
    and the insights those items answer."""
    items = list(
        Item.objects.for_workspace(workspace)
        .filter(
            schedule__release_id=release.id,
            status=Item.Status.SHIPPED,
            merged_into__isnull=True,
        )
        .select_related("area")
        .only("id", "title", "description", "area__name", "rank")
        .order_by("rank", "id")
    )
    # The document's title names the release: the body starts with what shipped.
    lines: list[str] = []
    if release.description.strip():
        lines += [one_line(release.description, 400), ""]
    if not items:
        lines.append(
            "_No shipped items in this release yet._ Mark its items shipped on the backlog, "
            "then generate these notes again, or write them by hand."
        )
        return "\n".join(lines) + "\n"
    answers: dict[int, list[int]] = defaultdict(list)
    for item_id, insight_id in (
        ItemEvidence.objects.for_workspace(workspace)
        .filter(item_id__in=[i.id for i in items], insight__isnull=False)
        .order_by("item_id", "insight_id")
        .values_list("item_id", "insight_id")
    ):
        answers[item_id].append(insight_id)
    groups: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        groups[item.area.name if item.area is not None else OTHER_AREA].append(item)
    ordered = sorted((name for name in groups if name != OTHER_AREA), key=str.casefold)
    if OTHER_AREA in groups:
        ordered.append(OTHER_AREA)
    for area in ordered:
        lines += [f"## {_markdown_title(area)}", ""]
        for item in groups[area]:
            bullet = f"- **{_markdown_title(item.title)}**"
            line = one_line(item.description)
            if line:
                bullet += f": {line}"
            if answers[item.id]:
                cited = ", ".join(f"[[insight:{i}]]" for i in answers[item.id])
                # A hard break (the trailing backslash): the insights on a line of their own.
                lines += [f"{bullet}\\", f"  Answers: {cited}"]
            else:
                lines.append(bullet)
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def release_notes_for(*, workspace: Workspace, release: Release) -> Document | None:
    """The release's newest release notes that are not archived, if any."""
    return (
        Document.objects.for_workspace(workspace)
        .filter(kind=Kind.RELEASE_NOTES, release_id=release.id)
        .exclude(status=Document.Status.ARCHIVED)
        .order_by("-id")
        .first()
    )


@transaction.atomic
def release_notes_draft(*, workspace: Workspace, actor: User | None, release: Release) -> Document:
    """The release notes of `release`: the existing ones (not archived) when there are, else a
    new draft written from its shipped items and linked to the release."""
    if release.workspace_id != workspace.id:
        raise services.DocumentGoneError("That release is not in this workspace.")
    # Two clicks at once: the release row's lock makes the second wait and then find the first.
    Release.objects.for_workspace(workspace).select_for_update().filter(id=release.id).first()
    existing = release_notes_for(workspace=workspace, release=release)
    if existing is not None:
        return existing
    document = services.document_create(
        workspace=workspace,
        actor=actor,
        kind=Kind.RELEASE_NOTES,
        title=f"Release notes: {release.name}",
        body=release_notes_markdown(workspace=workspace, release=release),
        release_id=release.id,
    )
    services.document_link_add(workspace=workspace, document=document, release_id=release.id)
    return document
