"""Reads of the docs app: documents and their pages' parts, revisions, templates, and the `[[`
autocomplete's matches. Every read starts from `for_workspace(workspace)`."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from backlog.models import Item
from backlog.selectors import item_search
from discovery.models import Highlight, Insight
from docs.models import Document, DocumentLink, DocumentTemplate, Kind, Reference, Revision
from docs.references import QUOTE_CHARS
from pmhub.core.markdown import Reference as RefKey
from pmhub.workspaces.models import Workspace
from roadmap.models import Release

PAGE_SIZE = 50
SEARCH_MATCHES = 8


@dataclass(frozen=True)
class DocumentFilters:
    kind: str = ""
    status: str = ""
    owner_id: int | None = None
    query: str = ""


def document_list(
    *, workspace: Workspace, filters: DocumentFilters | None = None
) -> QuerySet[Document]:
    """Documents, newest edit first, with their owner (one query however many)."""
    filters = filters or DocumentFilters()
    qs = Document.objects.for_workspace(workspace).select_related("owner")
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.owner_id is not None:
        qs = qs.filter(owner_id=filters.owner_id)
    if filters.query.strip():
        qs = qs.filter(title__icontains=filters.query.strip())
    return qs.defer("body").order_by("-updated_at", "-id")


def document_page(
    *, workspace: Workspace, filters: DocumentFilters | None = None, page: int = 1
) -> tuple[list[Document], bool]:
    """One page of `document_list` and whether another follows (one query)."""
    page = max(page, 1)
    start = (page - 1) * PAGE_SIZE
    rows = list(document_list(workspace=workspace, filters=filters)[start : start + PAGE_SIZE + 1])
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


def document_get(*, workspace: Workspace, document_id: int) -> Document:
    return (
        Document.objects.for_workspace(workspace)
        .select_related("owner", "superseded_by", "release")
        .get(id=document_id)
    )


def decision_list(*, workspace: Workspace, exclude_id: int | None = None) -> list[Document]:
    """Decision records, for the "superseded by" choice."""
    qs = Document.objects.for_workspace(workspace).filter(kind=Kind.DECISION)
    if exclude_id is not None:
        qs = qs.exclude(id=exclude_id)
    return list(qs.only("id", "title").order_by("title", "id")[:500])


def document_link_list(*, workspace: Workspace, document: Document) -> list[DocumentLink]:
    return list(
        DocumentLink.objects.for_workspace(workspace)
        .filter(document=document)
        .select_related("item", "insight", "release")
        .order_by("id")
    )


def document_reference_list(*, workspace: Workspace, document: Document) -> list[Reference]:
    return list(
        Reference.objects.for_workspace(workspace)
        .filter(document=document)
        .order_by("target", "target_id")
    )


def known_titles(references: list[Reference]) -> dict[RefKey, str]:
    """The titles the document's Reference rows kept, for targets deleted since."""
    return {(r.target, r.target_id): r.title for r in references if r.title}


def revision_list(*, workspace: Workspace, document: Document) -> list[Revision]:
    return list(
        Revision.objects.for_workspace(workspace)
        .filter(document=document)
        .select_related("author")
        .defer("body")
        .order_by("-number")
    )


def revision_get(*, workspace: Workspace, document: Document, number: int) -> Revision:
    return (
        Revision.objects.for_workspace(workspace)
        .select_related("author")
        .get(document=document, number=number)
    )


def template_list(*, workspace: Workspace, kind: str = "") -> list[DocumentTemplate]:
    qs = DocumentTemplate.objects.for_workspace(workspace)
    if kind:
        qs = qs.filter(kind=kind)
    return list(qs.order_by("kind", "-is_default", "name"))


def template_get(*, workspace: Workspace, template_id: int) -> DocumentTemplate:
    return DocumentTemplate.objects.for_workspace(workspace).get(id=template_id)


@dataclass(frozen=True)
class Match:
    """One `[[` autocomplete (or link picker) match."""

    kind: str
    id: int
    title: str
    status: str = ""

    @property
    def ref(self) -> str:
        return f"[[{self.kind}:{self.id}]]"


def reference_search(
    *, workspace: Workspace, query: str, limit: int = SEARCH_MATCHES, releases: bool = False
) -> list[Match]:
    """Items, insights and highlights (and releases, for links) matching `query` by title, or
    by id after `#` / as a bare number. One query per kind."""
    query = " ".join((query or "").split())[:200]
    if not query:
        return []
    number = int(query.lstrip("#")) if query.lstrip("#").isdigit() else None
    matches: list[Match] = []
    if number is not None:
        items = list(
            Item.objects.for_workspace(workspace).filter(id=number).only("id", "title", "status")
        )
    else:
        items = item_search(workspace=workspace, query=query, limit=limit)
    matches += [Match("item", i.id, i.title, i.get_status_display()) for i in items]
    insights = Insight.objects.for_workspace(workspace)
    insights = (
        insights.filter(id=number)
        if number is not None
        else insights.filter(title__icontains=query)
    )
    matches += [
        Match("insight", i.id, i.title, i.get_status_display())
        for i in insights.only("id", "title", "status").order_by("-id")[:limit]
    ]
    if releases:
        rel = Release.objects.for_workspace(workspace)
        rel = rel.filter(id=number) if number is not None else rel.filter(name__icontains=query)
        matches += [
            Match("release", r.id, r.name, r.get_status_display())
            for r in rel.only("id", "name", "status").order_by("-id")[:limit]
        ]
    else:
        highlights = Highlight.objects.for_workspace(workspace)
        highlights = (
            highlights.filter(id=number)
            if number is not None
            else highlights.filter(quote__icontains=query)
        )
        for h in highlights.only("id", "quote").order_by("-id")[:limit]:
            quote = " ".join(h.quote.split())
            if len(quote) > QUOTE_CHARS:
                quote = quote[: QUOTE_CHARS - 1].rstrip() + "…"
            matches.append(Match("highlight", h.id, f"“{quote}”"))
    return matches
