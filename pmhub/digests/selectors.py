"""Reads for the digests' pages and API: stakeholders with what they follow, their send log, and
the runs (all deliveries of one period key) of a workspace. Each read is a fixed number of
statements however many rows it returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import (
    Case,
    Count,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Lower

from pmhub.digests.models import Delivery, DigestSettings, Follow, Stakeholder
from pmhub.workspaces.models import Workspace

LIST_PAGE_SIZE = 100
LOG_SIZE = 50
RUN_PAGE_SIZE = 60
RUN_DETAIL_SIZE = 500
TEST_PREFIX = "test-"
SHARE_ORDER = ("sent", "empty", "pending", "skipped", "failed")


def follow_queryset(workspace: Workspace) -> QuerySet[Follow]:
    """Follows with the name of what each follows, read in the same statement."""
    return (
        Follow.objects.for_workspace(workspace)
        .select_related("area", "roadmap", "item", "company")
        .only(
            "id", "stakeholder_id", "owns", "area_id", "roadmap_id", "item_id", "company_id",
            "area__name", "roadmap__name", "item__title", "company__name",
        )
        .order_by("id")
    )  # fmt: skip


def _with_follows(queryset: QuerySet[Stakeholder], workspace: Workspace) -> QuerySet[Stakeholder]:
    return queryset.prefetch_related(
        Prefetch("follows", queryset=follow_queryset(workspace), to_attr="follow_list")
    )


def _last_sent(workspace: Workspace) -> Subquery:
    return Subquery(
        Delivery.objects.for_workspace(workspace)
        .filter(stakeholder_id=OuterRef("id"), status=Delivery.Status.SENT)
        .exclude(period__startswith=TEST_PREFIX)  # a test went to the member who asked
        .order_by("-sent_at")
        .values("sent_at")[:1]
    )


def stakeholder_list(
    *, workspace: Workspace, status: str = "", team: str = "", query: str = ""
) -> QuerySet[Stakeholder]:
    """The workspace's stakeholders by name then email, each with `follow_list` (prefetched)
    and `last_sent_at`; filtered by status, team (exact) and a name or email fragment."""
    queryset = Stakeholder.objects.for_workspace(workspace)
    if status:
        queryset = queryset.filter(status=status)
    if team:
        queryset = queryset.filter(team__iexact=team)
    if query:
        queryset = queryset.filter(Q(name__icontains=query) | Q(email__icontains=query))
    queryset = queryset.annotate(last_sent_at=_last_sent(workspace))
    return _with_follows(queryset, workspace).order_by(Lower("name"), Lower("email"), "id")


def stakeholder_teams(*, workspace: Workspace) -> list[str]:
    """The teams stakeholders of the workspace are in, for the filter."""
    return list(
        Stakeholder.objects.for_workspace(workspace)
        .exclude(team="")
        .order_by(Lower("team"))
        .values_list("team", flat=True)
        .distinct()
    )


def stakeholder_get(*, workspace: Workspace, stakeholder_id: int) -> Stakeholder:
    """One stakeholder with `follow_list`; DoesNotExist outside the workspace."""
    return _with_follows(Stakeholder.objects.for_workspace(workspace), workspace).get(
        id=stakeholder_id
    )


def stakeholder_deliveries(
    *, workspace: Workspace, stakeholder: Stakeholder, limit: int = LOG_SIZE
) -> list[Delivery]:
    """The stakeholder's send log, newest first (test sends included)."""
    return list(
        Delivery.objects.for_workspace(workspace)
        .filter(stakeholder_id=stakeholder.id)
        .order_by("-due_at", "-id")[:limit]
    )


def delivery_queryset(workspace: Workspace) -> QuerySet[Delivery]:
    return Delivery.objects.for_workspace(workspace)


@dataclass(frozen=True)
class Run:
    """All deliveries of one period key in a workspace."""

    period: str
    due_at: Any
    last_sent_at: Any
    counts: dict[str, int]
    total: int

    @property
    def shares(self) -> list[tuple[str, str, int, float, float]]:
        """(status, label, count, percent, offset) of each status present, in the order of
        SHARE_ORDER, for the run's stacked bar (offset: the percent before it)."""
        labels = dict(Delivery.Status.choices)
        shares, offset = [], 0.0
        for status in SHARE_ORDER:
            count = self.counts.get(status, 0)
            if count:
                percent = round(100 * count / self.total, 2)
                shares.append((status, labels[status], count, percent, round(offset, 2)))
                offset += percent
        return shares


def _count_by_status() -> dict[str, Count]:
    return {status: Count("id", filter=Q(status=status)) for status in Delivery.Status.values}


_FAILURES_FIRST = Case(
    *(When(status=status, then=Value(rank)) for rank, status in enumerate(SHARE_ORDER[::-1])),
    default=Value(len(SHARE_ORDER)),
)


def run_list(*, workspace: Workspace, before: str = "") -> list[Run]:
    """The workspace's runs, newest due first (test sends are not runs: they are in each
    stakeholder's log); one page, continuing after the period `before`."""
    rows = (
        Delivery.objects.for_workspace(workspace)
        .exclude(period__startswith=TEST_PREFIX)
        .values("period")
        .annotate(due=Min("due_at"), last_sent=Max("sent_at"), total=Count("id"))
        .annotate(**_count_by_status())
        .order_by("-due", "-period")
    )
    if before:
        first_due = (
            Delivery.objects.for_workspace(workspace)
            .filter(period=before)
            .aggregate(due=Min("due_at"))["due"]
        )
        if first_due is not None:
            rows = rows.filter(due__lte=first_due).exclude(period=before)
    return [
        Run(
            period=row["period"],
            due_at=row["due"],
            last_sent_at=row["last_sent"],
            counts={status: row[status] for status in Delivery.Status.values},
            total=row["total"],
        )
        for row in rows[:RUN_PAGE_SIZE]
    ]


def run_get(*, workspace: Workspace, period: str) -> tuple[Run, list[Delivery]]:
    """One run's totals and its deliveries (with their stakeholders), failures first;
    Delivery.DoesNotExist for a period with none in this workspace."""
    deliveries = (
        Delivery.objects.for_workspace(workspace)
        .filter(period=period)
        .select_related("stakeholder")
        .annotate(rank=_FAILURES_FIRST)
        .order_by("rank", "stakeholder__email", "id")
    )
    totals = deliveries.order_by().aggregate(
        due=Min("due_at"), last_sent=Max("sent_at"), total=Count("id"), **_count_by_status()
    )
    if not totals["total"]:
        raise Delivery.DoesNotExist
    run = Run(
        period=period,
        due_at=totals["due"],
        last_sent_at=totals["last_sent"],
        counts={status: totals[status] for status in Delivery.Status.values},
        total=totals["total"],
    )
    return run, list(deliveries[:RUN_DETAIL_SIZE])


def digest_settings_read(*, workspace: Workspace) -> DigestSettings | None:
    """The workspace's settings if saved once, without creating them (pages that only read)."""
    return DigestSettings.objects.for_workspace(workspace).first()


@dataclass(frozen=True)
class FollowOption:
    kind: str  # area, roadmap, item or company
    id: int
    label: str
    detail: str

    @property
    def value(self) -> str:
        return f"{self.kind}:{self.id}"


PICKER_EACH = 8
PICKER_BROWSE = 40


def follow_options(*, workspace: Workspace, find: str = "") -> list[FollowOption]:
    """What a stakeholder could follow: with no search, the areas and roadmaps (few, so they
    are one click away); with one, the areas, roadmaps, companies and items matching it."""
    from backlog.selectors import item_search, product_area_list
    from discovery.selectors import company_list
    from roadmap.models import Roadmap

    find = find.strip()[:200]
    areas = product_area_list(workspace=workspace).only("id", "name")
    roadmaps = (
        Roadmap.objects.for_workspace(workspace).only("id", "name").order_by(Lower("name"), "id")
    )
    limit = PICKER_BROWSE
    if find:
        areas, roadmaps = areas.filter(name__icontains=find), roadmaps.filter(name__icontains=find)
        limit = PICKER_EACH
    options = [FollowOption("area", a.id, a.name, "Product area") for a in areas[:limit]]
    options += [FollowOption("roadmap", r.id, r.name, "Roadmap") for r in roadmaps[:limit]]
    if find:
        options += [
            FollowOption("company", c.id, c.name, f"Company{' · ' + c.domain if c.domain else ''}")
            for c in company_list(workspace=workspace, query=find).only("id", "name", "domain")[
                :PICKER_EACH
            ]
        ]
        options += [
            FollowOption("item", i.id, i.title, f"Item #{i.id} · {i.get_status_display()}")
            for i in item_search(workspace=workspace, query=find, limit=PICKER_EACH)
        ]
    return options
