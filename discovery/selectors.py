"""Reads of discovery. Every one starts from `for_workspace(workspace)`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.contrib.postgres.search import (
    SearchHeadline,
    SearchQuery,
    SearchRank,
    TrigramSimilarity,
)
from django.db import connection
from django.db.models import Case, Count, F, Prefetch, Q, QuerySet, Value, When
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from discovery.models import (
    SEARCH_CONFIG,
    Classifier,
    Company,
    Customer,
    Evidence,
    Feedback,
    Highlight,
    ImportJob,
    Insight,
    Interview,
    InterviewParticipant,
    Tag,
    Tagging,
    TaggingJob,
    TagRule,
    TagSuggestion,
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
    # Only items with a pending suggestion of the model.
    has_suggestions: bool = False
    # Only items the worker flagged as repeating an earlier one, not merged yet.
    duplicates: bool = False


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
    if filters.has_suggestions:
        qs = qs.filter(
            id__in=TagSuggestion.objects.for_workspace(workspace)
            .filter(status=TagSuggestion.Status.PENDING, feedback__isnull=False)
            .values("feedback_id")
        )
    if filters.duplicates:
        qs = qs.filter(duplicate_of__isnull=False, merged_into__isnull=True)
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

    @property
    def percent(self) -> int | None:
        return None if self.confidence is None else round(self.confidence * 100)


@dataclass(frozen=True)
class SuggestionRef:
    """A pending suggestion of the model: a tag it proposes below its confidence to apply it."""

    id: int
    tag_id: int
    name: str
    color: str
    confidence: float

    @property
    def percent(self) -> int:
        return round(self.confidence * 100)


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
    # Filled only where the page asks for them (the inbox): pending suggestions, likeliest first.
    suggestions: list[SuggestionRef] = field(default_factory=list)
    no_tag_fits: bool = False
    # The earlier item this one possibly repeats (flagged, not merged yet).
    duplicate_of_id: int | None = None

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


# Which tagging a tag is shown by when several origins applied it: the same order as
# feedback_tags() above.
_ORIGIN_RANK = {Tagging.Origin.PERSON: 0, Tagging.Origin.RULE: 1, Tagging.Origin.MODEL: 2}


def tag_refs(taggings: list[Tagging]) -> list[TagRef]:
    """One item's taggings (with their tags loaded) as chips show them: one per tag, by name, a
    person's tagging winning over a rule's and a rule's over the model's (as feedback_tags())."""
    best: dict[int, Tagging] = {}
    for tagging in taggings:
        held = best.get(tagging.tag_id)
        if held is None or _ORIGIN_RANK[tagging.origin] < _ORIGIN_RANK[held.origin]:
            best[tagging.tag_id] = tagging
    refs = [
        TagRef(
            id=t.tag_id,
            name=t.tag.name,
            color=t.tag.color,
            origin=t.origin,
            confidence=t.confidence,
        )
        for t in best.values()
    ]
    return sorted(refs, key=lambda ref: (ref.name.casefold(), ref.id))


def feedback_suggestions(
    *, workspace: Workspace, feedback_ids: list[int]
) -> dict[int, list[SuggestionRef]]:
    """The pending suggestions of each feedback item, likeliest first, in one query."""
    suggestions: dict[int, list[SuggestionRef]] = {feedback_id: [] for feedback_id in feedback_ids}
    if feedback_ids:
        rows = (
            TagSuggestion.objects.for_workspace(workspace)
            .filter(status=TagSuggestion.Status.PENDING, feedback_id__in=feedback_ids)
            .order_by("feedback_id", "-confidence", "tag__name", "id")
            .values_list("feedback_id", "id", "tag_id", "tag__name", "tag__color", "confidence")
        )
        for feedback_id, suggestion_id, tag_id, name, color, confidence in rows:
            suggestions[feedback_id].append(
                SuggestionRef(
                    id=suggestion_id, tag_id=tag_id, name=name, color=color, confidence=confidence
                )
            )
    return suggestions


# The inbox page is the hottest read: building and compiling an ORM query costs more than
# PostgreSQL takes to answer it (bench/discovery.py), so the page is one SQL statement put
# together here. It keeps feedback_list()'s filters exactly (a test compares the two) and is
# scoped by workspace like every read.
_PAGE_SQL = (
    "SELECT f.id, f.text, f.source, f.status, f.received_at, f.customer_id, c.name, c.email, "
    "f.company_id, co.name, co.segment, f.no_tag_fits, "
    # The same "possible duplicate" as the duplicates filter: flagged and not merged.
    "CASE WHEN f.merged_into_id IS NULL THEN f.duplicate_of_id END "
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
    if filters.has_suggestions:
        where.append(
            "f.id IN (SELECT s.feedback_id FROM discovery_tagsuggestion s "
            "WHERE s.workspace_id = %s AND s.status = 'pending' AND s.feedback_id IS NOT NULL)"
        )
        params.append(workspace.id)
    if filters.duplicates:
        where.append("f.duplicate_of_id IS NOT NULL AND f.merged_into_id IS NULL")
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
    with_suggestions: bool = False,
) -> tuple[list[FeedbackRow], tuple[datetime, int] | None]:
    """One inbox page after the keyset `after`; returns the rows and the next keyset (or None).

    Two queries whatever the page size: the rows (customer and company joined) and their tags;
    a third for their pending suggestions `with_suggestions`.
    """
    where, params = _page_conditions(workspace, filters or FeedbackFilters(), after)
    with connection.cursor() as cursor:
        cursor.execute(_PAGE_SQL.format(where=" AND ".join(where)), [*params, size + 1])
        values = cursor.fetchall()
    more = len(values) > size
    values = values[:size]
    rows = _rows(workspace, values, with_suggestions=with_suggestions)
    return rows, ((rows[-1].received_at, rows[-1].id) if more and rows else None)


def feedback_row(*, workspace: Workspace, feedback_id: int) -> FeedbackRow:
    """One feedback item as the inbox shows it, with its suggestions (to redraw its row)."""
    with connection.cursor() as cursor:
        cursor.execute(
            _PAGE_SQL.format(where="f.workspace_id = %s AND f.id = %s"),
            [workspace.id, feedback_id, 1],
        )
        values = cursor.fetchall()
    if not values:
        raise Feedback.DoesNotExist
    return _rows(workspace, values, with_suggestions=True)[0]


def _rows(workspace: Workspace, values: list[Any], *, with_suggestions: bool) -> list[FeedbackRow]:
    ids = [v[0] for v in values]
    tags = feedback_tags(workspace=workspace, feedback_ids=ids)
    suggestions = (
        feedback_suggestions(workspace=workspace, feedback_ids=ids) if with_suggestions else {}
    )
    return [
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
            suggestions=suggestions.get(row_id, []),
            no_tag_fits=no_tag_fits,
            duplicate_of_id=duplicate_of_id,
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
            no_tag_fits,
            duplicate_of_id,
        ) in values
    ]


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
    return list(company_segment_query(workspace=workspace))


def company_segment_query(*, workspace: Workspace) -> QuerySet[Company, str]:
    """company_segments, unread: for a page that reads it with its other reads."""
    return (
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


def customer_find(*, workspace: Workspace, query: str, limit: int) -> list[Customer]:
    """Up to `limit` customers for a picker: those whose name or email contains `query` first,
    then the merely similar names, closest first; the newest without a query."""
    customers = customer_list(workspace=workspace, query=query)
    if not query:
        return list(customers.order_by("-id")[:limit])
    contains = Q(name__icontains=query) | Q(email__icontains=query)
    ranked = customers.annotate(
        contains=Case(When(contains, then=Value(1)), default=Value(0)),
        similarity=TrigramSimilarity("name", query),
    )
    return list(ranked.order_by("-contains", "-similarity", "name", "id")[:limit])


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


# --- tagging: rules, suggestions, the classifier and its quality ---------------------------
def tag_rule_list(*, workspace: Workspace, tag: Tag) -> QuerySet[TagRule]:
    """A tag's rules, oldest first."""
    return TagRule.objects.for_workspace(workspace).filter(tag=tag).order_by("id")


def tag_rule_get(*, workspace: Workspace, rule_id: int) -> TagRule:
    return TagRule.objects.for_workspace(workspace).select_related("tag").get(id=rule_id)


def suggestion_get(*, workspace: Workspace, suggestion_id: int) -> TagSuggestion:
    return (
        TagSuggestion.objects.for_workspace(workspace).select_related("tag").get(id=suggestion_id)
    )


CLASSIFIER_HISTORY = 20


def classifier_list(*, workspace: Workspace) -> list[Classifier]:
    """The newest classifier versions (without their fitted blobs), newest first."""
    return list(
        Classifier.objects.for_workspace(workspace)
        .defer("blob")
        .order_by("-version")[:CLASSIFIER_HISTORY]
    )


def tagging_job_list(*, workspace: Workspace, limit: int = 5) -> list[TaggingJob]:
    """The latest re-tag jobs, newest first."""
    return list(
        TaggingJob.objects.for_workspace(workspace)
        .filter(kind=TaggingJob.Kind.RETAG)
        .order_by("-id")[:limit]
    )


def tagging_job_get(*, workspace: Workspace, job_id: int) -> TaggingJob:
    return TaggingJob.objects.for_workspace(workspace).get(id=job_id, kind=TaggingJob.Kind.RETAG)


@dataclass(frozen=True)
class LabelSummary:
    """What people taught the classifier so far: the labels its next training run would see."""

    person_taggings: int
    tags: int
    no_tag_fits: int

    @property
    def total(self) -> int:
        return self.person_taggings + self.no_tag_fits

    @property
    def is_enough(self) -> bool:
        """Training needs examples of two tags, or of one tag and of items where none fits."""
        return self.tags >= 1 and self.tags + (1 if self.no_tag_fits else 0) >= 2


def classifier_label_summary(*, workspace: Workspace) -> LabelSummary:
    """People's labels as discovery.tagging.training_data counts them, without loading texts.
    Two queries."""
    person = Tagging.objects.for_workspace(workspace).filter(origin=Tagging.Origin.PERSON)
    counts = person.aggregate(taggings=Count("id"), tags=Count("tag_id", distinct=True))
    rejected = TagSuggestion.objects.for_workspace(workspace).filter(
        status=TagSuggestion.Status.REJECTED, feedback__isnull=False
    )
    negatives = (
        Feedback.objects.for_workspace(workspace)
        .filter(Q(no_tag_fits=True) | Q(id__in=rejected.values("feedback_id")))
        .exclude(id__in=person.filter(feedback__isnull=False).values("feedback_id"))
        .filter(merged_into__isnull=True)
        .count()
    )
    return LabelSummary(
        person_taggings=counts["taggings"], tags=counts["tags"], no_tag_fits=negatives
    )


@dataclass(frozen=True)
class ModelQuality:
    """Cross-validated figures of the classifier for one tag (or overall)."""

    precision: float | None
    recall: float | None
    support: int
    abstain_rate: float | None = None

    @classmethod
    def of(cls, figures: Any) -> ModelQuality | None:
        if not isinstance(figures, dict):
            return None

        def number(key: str) -> float | None:
            value = figures.get(key)
            return float(value) if isinstance(value, int | float) else None

        return cls(
            precision=number("precision"),
            recall=number("recall"),
            support=int(number("support") or 0),
            abstain_rate=number("abstain_rate"),
        )

    @property
    def trust(self) -> tuple[str, str]:
        """A plain-language hint: (level for the badge, words)."""
        if self.support < 5:
            return "low", "Needs more examples"
        if self.precision is None:
            return "none", "Not measured"
        if self.precision >= 0.9 and self.support >= 20:
            return "high", "Trust: high"
        if self.precision >= 0.75:
            return "medium", "Trust: medium"
        return "low", "Trust: low; check its tags"


@dataclass(frozen=True)
class TagQuality:
    tag: Tag
    person: int
    rule: int
    model: int
    pending: int
    quality: ModelQuality | None

    @property
    def total(self) -> int:
        return self.person + self.rule + self.model


def tagging_quality(
    *, workspace: Workspace, classifier: Classifier | None
) -> tuple[list[TagQuality], ModelQuality | None]:
    """Per tag: taggings by origin, pending suggestions and the classifier's cross-validated
    figures; and the overall figures when the classifier has them. Three queries."""
    tags = list(tag_list(workspace=workspace)[:1000])
    by_origin: dict[tuple[int, str], int] = {
        (tag_id, origin): count
        for tag_id, origin, count in Tagging.objects.for_workspace(workspace)
        .values("tag_id", "origin")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("tag_id", "origin", "n")
    }
    pending = dict(
        TagSuggestion.objects.for_workspace(workspace)
        .filter(status=TagSuggestion.Status.PENDING)
        .values("tag_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("tag_id", "n")
    )
    metrics = (classifier.metrics if classifier else None) or {}
    rows = [
        TagQuality(
            tag=tag,
            person=by_origin.get((tag.id, Tagging.Origin.PERSON), 0),
            rule=by_origin.get((tag.id, Tagging.Origin.RULE), 0),
            model=by_origin.get((tag.id, Tagging.Origin.MODEL), 0),
            pending=pending.get(tag.id, 0),
            quality=ModelQuality.of(metrics.get(str(tag.id))),
        )
        for tag in tags
    ]
    return rows, ModelQuality.of(metrics.get("_overall"))


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


def asking_customer_ids(
    *, workspace: Workspace, insight_ids: Iterable[int] = (), feedback_ids: Iterable[int] = ()
) -> set[int]:
    """The distinct customers behind these feedback items and insights: who wrote the feedback,
    and, for an insight, who wrote the feedback it cites or spoke in the interviews its
    highlights come from. Four queries at most."""
    insight_ids, feedback_ids = list(insight_ids), list(feedback_ids)
    customer_ids: set[int] = set()
    if feedback_ids:
        customer_ids |= set(
            Feedback.objects.for_workspace(workspace)
            .filter(id__in=feedback_ids, customer__isnull=False)
            .values_list("customer_id", flat=True)
        )
    if insight_ids:
        evidence = Evidence.objects.for_workspace(workspace).filter(insight_id__in=insight_ids)
        customer_ids |= set(
            evidence.filter(feedback__customer__isnull=False).values_list(
                "feedback__customer_id", flat=True
            )
        )
        customer_ids |= set(
            evidence.filter(highlight__feedback__customer__isnull=False).values_list(
                "highlight__feedback__customer_id", flat=True
            )
        )
        customer_ids |= set(
            InterviewParticipant.objects.for_workspace(workspace)
            .filter(
                interview_id__in=evidence.filter(highlight__interview__isnull=False).values(
                    "highlight__interview_id"
                )
            )
            .values_list("customer_id", flat=True)
        )
    return customer_ids
