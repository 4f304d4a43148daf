"""Reads of discovery. Every one starts from `for_workspace(workspace)`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank
from django.db import connection
from django.db.models import F, Prefetch, Q, QuerySet
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from discovery.models import (
    SEARCH_CONFIG,
    Company,
    Customer,
    Evidence,
    Feedback,
    Highlight,
    ImportJob,
    Insight,
    Interview,
    Tag,
    Tagging,
)
from pmhub.workspaces.models import Workspace


@dataclass(frozen=True)
class FeedbackFilters:
    status: str = ""
    source: str = ""
    tag_id: int | None = None
    segment: str = ""
    company_id: int | None = None
    customer_id: int | None = None
    since: date | None = None
    until: date | None = None
    query: str = ""
    tag_ids: list[int] = field(default_factory=list)


def feedback_list(*, workspace: Workspace, filters: FeedbackFilters | None = None) -> QuerySet:
    """Feedback of the workspace narrowed by `filters`, newest first (the inbox order)."""
    filters = filters or FeedbackFilters()
    qs = Feedback.objects.for_workspace(workspace).for_inbox()
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.source:
        qs = qs.filter(source=filters.source)
    for tag_id in [*filters.tag_ids, *([filters.tag_id] if filters.tag_id else [])]:
        qs = qs.filter(
            id__in=Tagging.objects.for_workspace(workspace)
            .filter(tag_id=tag_id, feedback__isnull=False)
            .values("feedback_id")
        )
    if filters.segment:
        qs = qs.filter(company__segment=filters.segment)
    if filters.company_id:
        qs = qs.filter(company_id=filters.company_id)
    if filters.customer_id:
        qs = qs.filter(customer_id=filters.customer_id)
    if filters.since:
        qs = qs.filter(received_at__date__gte=filters.since)
    if filters.until:
        qs = qs.filter(received_at__date__lte=filters.until)
    if filters.query:
        qs = qs.filter(
            search_vector=SearchQuery(filters.query, search_type="websearch", config=SEARCH_CONFIG)
        )
    return qs


@dataclass(frozen=True)
class CustomerRef:
    id: int
    name: str
    email: str

    def __str__(self) -> str:
        return self.name or self.email or f"Customer {self.id}"


@dataclass(frozen=True)
class CompanyRef:
    id: int
    name: str
    segment: str


@dataclass(frozen=True)
class TagRef:
    id: int
    name: str
    color: str
    # Who applied it: a person's tagging wins over a rule's, a rule's over the model's.
    origin: str = "person"
    confidence: float | None = None


@dataclass(frozen=True)
class FeedbackRow:
    """A feedback item as lists show it, built from plain values (no model instances)."""

    id: int
    text: str
    source: str
    status: str
    received_at: datetime
    customer: CustomerRef | None
    company: CompanyRef | None
    tags: list[TagRef]

    def get_source_display(self) -> str:
        return Feedback.Source(self.source).label

    def get_status_display(self) -> str:
        return Feedback.Status(self.status).label


def feedback_tags(*, workspace: Workspace, feedback_ids: list[int]) -> dict[int, list[TagRef]]:
    """The tags of each feedback item, by name, one per tag whatever applied it, in one query
    (plain SQL: see _PAGE_SQL)."""
    tags: dict[int, list[TagRef]] = {feedback_id: [] for feedback_id in feedback_ids}
    if feedback_ids:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT * FROM (SELECT DISTINCT ON (t.feedback_id, t.tag_id) t.feedback_id, "
                "t.tag_id, g.name, g.color, t.origin, t.confidence FROM discovery_tagging t "
                "JOIN discovery_tag g ON g.id = t.tag_id "
                "WHERE t.workspace_id = %s AND t.feedback_id = ANY(%s) "
                "ORDER BY t.feedback_id, t.tag_id, "
                "array_position(ARRAY['person', 'rule', 'model']::varchar[], t.origin)) AS one "
                "ORDER BY name, tag_id",
                [workspace.id, feedback_ids],
            )
            for feedback_id, tag_id, name, color, origin, confidence in cursor.fetchall():
                tags[feedback_id].append(
                    TagRef(id=tag_id, name=name, color=color, origin=origin, confidence=confidence)
                )
    return tags


# The inbox page is the hottest read: building and compiling an ORM query costs more than
# PostgreSQL takes to answer it (bench/discovery.py), so the page is one SQL statement put
# together here. It keeps feedback_list()'s filters exactly (a test compares the two) and is
# scoped by workspace like every read.
_PAGE_SQL = (
    "SELECT f.id, f.text, f.source, f.status, f.received_at, f.customer_id, c.name, c.email, "
    "f.company_id, co.name, co.segment "
    "FROM discovery_feedback f "
    "LEFT OUTER JOIN discovery_customer c ON c.id = f.customer_id "
    "LEFT OUTER JOIN discovery_company co ON co.id = f.company_id "
    "WHERE {where} ORDER BY f.received_at DESC, f.id DESC LIMIT %s"
)


def _page_conditions(
    workspace: Workspace, filters: FeedbackFilters, after: tuple[datetime, int] | None
) -> tuple[list[str], list[Any]]:
    where, params = ["f.workspace_id = %s"], [workspace.id]
    for column, value in (
        ("f.status", filters.status),
        ("f.source", filters.source),
        ("co.segment", filters.segment),
        ("f.company_id", filters.company_id),
        ("f.customer_id", filters.customer_id),
    ):
        if value:
            where.append(f"{column} = %s")
            params.append(value)
    for tag_id in [*filters.tag_ids, *([filters.tag_id] if filters.tag_id else [])]:
        where.append(
            "f.id IN (SELECT t.feedback_id FROM discovery_tagging t WHERE t.workspace_id = %s "
            "AND t.tag_id = %s AND t.feedback_id IS NOT NULL)"
        )
        params += [workspace.id, tag_id]
    if filters.since:
        where.append("(f.received_at AT TIME ZONE 'UTC')::date >= %s")
        params.append(filters.since)
    if filters.until:
        where.append("(f.received_at AT TIME ZONE 'UTC')::date <= %s")
        params.append(filters.until)
    if filters.query:
        where.append(f"f.search_vector @@ websearch_to_tsquery('{SEARCH_CONFIG}'::regconfig, %s)")
        params.append(filters.query)
    if after is not None:
        received_at, row_id = after
        # The plain bound lets the index start at the cursor; the OR alone is only a filter.
        where.append(
            "f.received_at <= %s AND (f.received_at < %s OR (f.received_at = %s AND f.id < %s))"
        )
        params += [received_at, received_at, received_at, row_id]
    return where, params


def feedback_page(
    *,
    workspace: Workspace,
    filters: FeedbackFilters | None = None,
    after: tuple[datetime, int] | None = None,
    size: int = 50,
) -> tuple[list[FeedbackRow], tuple[datetime, int] | None]:
    """One inbox page after the keyset `after`; returns the rows and the next keyset (or None).

    Two queries whatever the page size: the rows (customer and company joined) and their tags.
    """
    where, params = _page_conditions(workspace, filters or FeedbackFilters(), after)
    with connection.cursor() as cursor:
        cursor.execute(_PAGE_SQL.format(where=" AND ".join(where)), [*params, size + 1])
        values = cursor.fetchall()
    more = len(values) > size
    values = values[:size]
    tags = feedback_tags(workspace=workspace, feedback_ids=[v[0] for v in values])
    rows = [
        FeedbackRow(
            id=row_id,
            text=text,
            source=source,
            status=status,
            received_at=received_at,
            customer=CustomerRef(customer_id, customer_name, customer_email)
            if customer_id is not None
            else None,
            company=CompanyRef(company_id, company_name, segment)
            if company_id is not None
            else None,
            tags=tags[row_id],
        )
        for (
            row_id,
            text,
            source,
            status,
            received_at,
            customer_id,
            customer_name,
            customer_email,
            company_id,
            company_name,
            segment,
        ) in values
    ]
    return rows, ((rows[-1].received_at, rows[-1].id) if more and rows else None)


def feedback_get(*, workspace: Workspace, feedback_id: int) -> Feedback:
    return (
        Feedback.objects.for_workspace(workspace)
        .select_related("customer", "company")
        .prefetch_related(
            Prefetch(
                "taggings", queryset=Tagging.objects.for_workspace(workspace).select_related("tag")
            )
        )
        .get(id=feedback_id)
    )


def tag_list(*, workspace: Workspace) -> QuerySet[Tag]:
    """Tags by group then name."""
    return Tag.objects.for_workspace(workspace).order_by(F("group").asc(), "name")


def tag_get(*, workspace: Workspace, tag_id: int) -> Tag:
    return Tag.objects.for_workspace(workspace).get(id=tag_id)


def company_list(*, workspace: Workspace, query: str = "") -> QuerySet[Company]:
    qs = Company.objects.for_workspace(workspace)
    if query:
        qs = qs.filter(Q(name__trigram_similar=query) | Q(name__icontains=query))
    return qs.order_by("name", "id")


def company_segments(*, workspace: Workspace) -> list[str]:
    """The segments in use, for filter menus."""
    return list(
        Company.objects.for_workspace(workspace)
        .exclude(segment="")
        .order_by("segment")
        .values_list("segment", flat=True)
        .distinct()
    )


def company_get(*, workspace: Workspace, company_id: int) -> Company:
    return Company.objects.for_workspace(workspace).get(id=company_id)


def customer_list(*, workspace: Workspace, query: str = "") -> QuerySet[Customer]:
    qs = Customer.objects.for_workspace(workspace).select_related("company")
    if query:
        qs = qs.filter(
            Q(name__trigram_similar=query) | Q(name__icontains=query) | Q(email__icontains=query)
        )
    return qs.order_by("name", "email", "id")


def customer_get(*, workspace: Workspace, customer_id: int) -> Customer:
    return Customer.objects.for_workspace(workspace).select_related("company").get(id=customer_id)


def interview_list(*, workspace: Workspace) -> QuerySet[Interview]:
    return Interview.objects.for_workspace(workspace).order_by(
        F("held_on").desc(nulls_last=True), "-id"
    )


def interview_get(*, workspace: Workspace, interview_id: int) -> Interview:
    return Interview.objects.for_workspace(workspace).get(id=interview_id)


def highlight_list(
    *,
    workspace: Workspace,
    interview: Interview | None = None,
    feedback: Feedback | None = None,
    tag: Tag | None = None,
) -> QuerySet[Highlight]:
    qs = Highlight.objects.for_workspace(workspace).select_related("interview", "feedback")
    if interview is not None:
        qs = qs.filter(interview=interview)
    if feedback is not None:
        qs = qs.filter(feedback=feedback)
    if tag is not None:
        qs = qs.filter(
            id__in=Tagging.objects.for_workspace(workspace)
            .filter(tag=tag, highlight__isnull=False)
            .values("highlight_id")
        )
    return qs.prefetch_related(
        Prefetch(
            "taggings", queryset=Tagging.objects.for_workspace(workspace).select_related("tag")
        )
    ).order_by("start", "id")


def highlight_get(*, workspace: Workspace, highlight_id: int) -> Highlight:
    return Highlight.objects.for_workspace(workspace).get(id=highlight_id)


def insight_list(*, workspace: Workspace, status: str = "") -> QuerySet[Insight]:
    qs = Insight.objects.for_workspace(workspace)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-evidence_count", "-id")


def insight_get(*, workspace: Workspace, insight_id: int) -> Insight:
    return Insight.objects.for_workspace(workspace).get(id=insight_id)


def evidence_list(*, workspace: Workspace, insight: Insight) -> QuerySet[Evidence]:
    """An insight's evidence with the quoted words and who said them."""
    return (
        Evidence.objects.for_workspace(workspace)
        .filter(insight=insight)
        .select_related(
            "feedback__customer__company",
            "highlight__interview",
            "highlight__feedback__customer__company",
            "created_by",
        )
        .order_by("-id")
    )


def evidence_get(*, workspace: Workspace, evidence_id: int) -> Evidence:
    return Evidence.objects.for_workspace(workspace).get(id=evidence_id)


def import_job_get(*, workspace: Workspace, job_id: int) -> ImportJob:
    return ImportJob.objects.for_workspace(workspace).get(id=job_id)


@dataclass(frozen=True)
class SearchHit:
    kind: str  # feedback | highlight | interview | insight
    id: int
    title: str
    snippet: SafeString
    rank: float


_MARK_START = "\u2997"
_MARK_STOP = "\u2998"


def marked_snippet(headline: str) -> SafeString:
    """A ts_headline result as safe HTML: everything escaped except the match marks."""
    escaped = escape(headline)
    return mark_safe(  # noqa: S308 - escaped above; only our own <mark> tags are added.
        escaped.replace(_MARK_START, "<mark>").replace(_MARK_STOP, "</mark>")
    )


SEARCH_CANDIDATES = 2_000


def search(
    *,
    workspace: Workspace,
    query: str,
    limit: int = 20,
    feedback_filters: FeedbackFilters | None = None,
) -> list[SearchHit]:
    """Full-text search over feedback, highlights, interviews and insights, best first.

    Each kind is ranked within a bounded candidate set, then the lists are merged by rank.
    With `feedback_filters` (the inbox's filters), only feedback is searched, narrowed by them.
    """
    if not query.strip():
        return []
    tsquery = SearchQuery(query, search_type="websearch", config=SEARCH_CONFIG)
    # Sentinels instead of <mark>: the text is escaped first, then the marks are put back, so
    # markup inside people's words is shown as text.
    headline = {
        "config": SEARCH_CONFIG,
        "start_sel": _MARK_START,
        "stop_sel": _MARK_STOP,
        "max_fragments": 2,
        "max_words": 20,
        "min_words": 8,
    }
    sources = [
        ("feedback", Feedback, "text", None),
        ("highlight", Highlight, "quote", None),
        ("interview", Interview, "transcript", "title"),
        ("insight", Insight, "summary", "title"),
    ]
    hits: list[SearchHit] = []
    if feedback_filters is not None:
        sources = sources[:1]
    for kind, model, body, title in sources:
        matches = model.objects.for_workspace(workspace).filter(search_vector=tsquery)
        if kind == "feedback" and feedback_filters is not None:
            matches = feedback_list(workspace=workspace, filters=feedback_filters).filter(
                search_vector=tsquery
            )
        # Ranking reads every match's vector; a common word matches a third of a large inbox,
        # so only the newest SEARCH_CANDIDATES matches of each kind are ranked.
        candidates = matches.order_by("-id").values("id")[:SEARCH_CANDIDATES]
        rows = (
            model.objects.for_workspace(workspace)
            .filter(id__in=candidates)
            .annotate(
                rank=SearchRank(F("search_vector"), tsquery),
                snippet=SearchHeadline(body, tsquery, **headline),
            )
            .order_by("-rank", "-id")
            .values("id", "rank", "snippet", *([title] if title else []))[:limit]
        )
        hits.extend(
            SearchHit(
                kind=kind,
                id=row["id"],
                title=row.get(title, "") if title else "",
                snippet=marked_snippet(row["snippet"]),
                rank=row["rank"],
            )
            for row in rows
        )
    hits.sort(key=lambda hit: -hit.rank)
    return hits[:limit]
