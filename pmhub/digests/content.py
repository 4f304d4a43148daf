"""What a stakeholder's digest says: the changes in their scope between two moments.

Built for a batch of stakeholders of one workspace at a time, in a fixed number of statements
whatever the batch's size: the workspace's changes in the batch's widest window are read once,
then each stakeholder's share is picked in Python.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from backlog.templatetags.backlog_format import compact_money
from pmhub.core.db import querysets_read_together
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
    # The stakeholder's own (theirs or the workspace's): the window and the entries' moments are
    # in `timezone`.
    cadence: str = ""
    timezone: str = "UTC"
    workspace_slug: str = ""

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


# --- reading --------------------------------------------------------------------------------------
# What the digests tell from the roadmap's events; the rest (removals, release swaps, a release's
# own status) is bookkeeping that ships and slips already say better.
_ITEM_EVENTS = ("placed", "moved", "redated", "shipped", "declined")
_DOCUMENT_EVENTS = ("approved", "published")


@dataclass
class _Changes:
    """The workspace's changes in the batch's widest window and how they connect to scopes."""

    events: list[dict[str, Any]]
    release_slips: list[dict[str, Any]]
    insights: list[dict[str, Any]]
    documents: list[dict[str, Any]]
    kr_values: dict[int, list[tuple[datetime.datetime, datetime.datetime, float]]]
    key_results: dict[int, dict[str, Any]]
    item_companies: dict[int, dict[int, str]]  # item -> {company id: name} that asked for it
    item_roadmaps: dict[int, set[int]]
    item_areas: dict[int, int | None]
    insight_items: dict[int, set[int]]
    insight_companies: dict[int, set[int]]
    document_items: dict[int, set[int]]
    release_items: dict[int, set[int]]
    kr_items: dict[int, set[int]]
    # The items with events, indexed by what a scope follows: a stakeholder's events are found
    # by lookups, not by testing every event of the workspace against every scope.
    events_by_item: dict[int, list[int]] = field(default_factory=dict)  # item -> positions
    changed_by: dict[str, dict[int, set[int]]] = field(default_factory=dict)
    # The same for the releases that slipped, the insights, documents and key results.
    linked_by: dict[str, dict[str, dict[int | None, set[int]]]] = field(default_factory=dict)
    # Each object's line as every stakeholder reads it (computed once per build).
    lines: dict[tuple[str, int], tuple[str, str, datetime.datetime]] = field(default_factory=dict)

    def index_events(self) -> None:
        self.events_by_item = defaultdict(list)
        by_area, by_roadmap, by_company = defaultdict(set), defaultdict(set), defaultdict(set)
        for position, event in enumerate(self.events):
            item_id = event["item_id"]
            self.events_by_item[item_id].append(position)
            if event["roadmap_id"] is not None:
                by_roadmap[event["roadmap_id"]].add(item_id)
        for item_id in self.events_by_item:
            by_area[self.item_areas.get(item_id)].add(item_id)
            for roadmap_id in self.item_roadmaps.get(item_id, ()):
                by_roadmap[roadmap_id].add(item_id)
            for company_id in self.item_companies.get(item_id, ()):
                by_company[company_id].add(item_id)
        self.changed_by = {"area": by_area, "roadmap": by_roadmap, "company": by_company}
        self.linked_by = {
            "release": self._index(self.release_items),
            "insight": self._index(self.insight_items, self.insight_companies),
            "document": self._index(self.document_items),
            "key_result": self._index(self.kr_items),
        }

    def _index(
        self, object_items: dict[int, set[int]], companies: dict[int, set[int]] | None = None
    ) -> dict[str, dict[int | None, set[int]]]:
        """Objects (releases, insights, ...) by the items, areas, roadmaps and companies their
        items bring in: what a scope follows finds them by lookups."""
        by: dict[str, dict[int | None, set[int]]] = {
            "item": defaultdict(set), "area": defaultdict(set), "roadmap": defaultdict(set),
            "company": defaultdict(set),
        }  # fmt: skip
        for object_id, item_ids in object_items.items():
            for item_id in item_ids:
                by["item"][item_id].add(object_id)
                by["area"][self.item_areas.get(item_id)].add(object_id)
                for roadmap_id in self.item_roadmaps.get(item_id, ()):
                    by["roadmap"][roadmap_id].add(object_id)
                for company_id in self.item_companies.get(item_id, ()):
                    by["company"][company_id].add(object_id)
        for object_id, company_ids in (companies or {}).items():
            for company_id in company_ids:
                by["company"][company_id].add(object_id)
        return by


def _first_reads(
    workspace: Workspace, stakeholder_ids: list[int], user_ids: list[int], lo, hi
) -> list[list[Any]]:
    from discovery.models import Insight
    from docs.models import DocumentEvent
    from pmhub.digests.models import DigestSettings, Follow
    from pmhub.workspaces.models import Membership
    from roadmap.models import KeyResultValue, RoadmapEvent

    window = {"created_at__gt": lo, "created_at__lte": hi}
    user_ids = _ids(user_ids)
    return querysets_read_together(
        Follow.objects.for_workspace(workspace)
        .filter(stakeholder_id__in=stakeholder_ids)
        .values_list("stakeholder_id", "area_id", "roadmap_id", "item_id", "company_id"),
        Membership.objects.for_workspace(workspace)
        .filter(user_id__in=user_ids)
        .values_list("user_id", flat=True),
        RoadmapEvent.objects.for_workspace(workspace)
        .filter(**window, kind__in=_ITEM_EVENTS, item__isnull=False)
        .order_by("created_at", "id")
        .values(
            "id",
            "kind",
            "item_id",
            "roadmap_id",
            "before",
            "after",
            "reason",
            "is_setback",
            "created_at",
            "item__title",
            "item__area_id",
            "roadmap__name",
        ),  # fmt: skip
        RoadmapEvent.objects.for_workspace(workspace)
        .filter(**window, kind="release_redated", is_setback=True, release__isnull=False)
        .order_by("created_at", "id")
        .values("id", "release_id", "before", "after", "reason", "created_at", "release__name"),
        Insight.objects.for_workspace(workspace)
        .filter(status=Insight.Status.VALIDATED, validated_at__gt=lo, validated_at__lte=hi)
        .order_by("validated_at", "id")
        .values(
            "id",
            "title",
            "validated_at",
            "evidence_count",
            "customer_count",
            "company_count",
            "arr",
        ),  # fmt: skip
        DocumentEvent.objects.for_workspace(workspace)
        .filter(**window, kind__in=_DOCUMENT_EVENTS)
        .order_by("created_at", "id")
        .values(
            "id",
            "kind",
            "created_at",
            "document_id",
            "document__title",
            "document__kind",
            "document__status",
            "document__release_id",
        ),
        KeyResultValue.objects.for_workspace(workspace)
        .filter(**window)
        .values_list("key_result_id", flat=True)
        .distinct(),
        DigestSettings.objects.for_workspace(workspace).values_list("cadence", "timezone"),
    )


def _second_reads(
    workspace: Workspace,
    item_ids: set[int],
    insight_ids: set[int],
    document_ids: set[int],
    release_ids: set[int],
    kr_ids: set[int],
    hi: datetime.datetime,
) -> list[list[Any]]:
    from backlog.models import Item, ItemCustomer
    from discovery.models import Evidence
    from docs.models import DocumentLink
    from roadmap.models import ItemSchedule, KeyResult, KeyResultItem, KeyResultValue, Placement

    ws = workspace
    item_ids, insight_ids, document_ids = _ids(item_ids), _ids(insight_ids), _ids(document_ids)
    release_ids, kr_ids = _ids(release_ids), _ids(kr_ids)
    # The items the documents, releases, insights and key results bring in are read by id
    # sets that only this step knows, so these reads wait for the first ones.
    linked_items = (
        ItemSchedule.objects.for_workspace(ws).filter(release_id__in=release_ids)
        .values_list("release_id", "item_id"),
        DocumentLink.objects.for_workspace(ws)
        .filter(document_id__in=document_ids, item__isnull=False)
        .values_list("document_id", "item_id"),
        DocumentLink.objects.for_workspace(ws)
        .filter(document_id__in=document_ids, release__isnull=False)
        .values_list("document_id", "release_id"),
        Evidence.objects.for_workspace(ws).filter(insight_id__in=insight_ids)
        .values_list("insight_id", "feedback__company_id", "highlight__feedback__company_id"),
        KeyResultItem.objects.for_workspace(ws).filter(key_result_id__in=kr_ids)
        .values_list("key_result_id", "item_id"),
        KeyResult.objects.for_workspace(ws).filter(id__in=kr_ids)
        .values("id", "metric", "unit", "baseline", "target", "objective_id", "objective__title"),
        KeyResultValue.objects.for_workspace(ws)
        .filter(key_result_id__in=kr_ids, created_at__lte=hi)
        .order_by("key_result_id", "created_at", "id")
        .values_list("key_result_id", "created_at", "measured_at", "value"),
    )  # fmt: skip
    from backlog.models import ItemEvidence

    # Items that insights answer are linked through backlog evidence.
    insight_links = (
        ItemEvidence.objects.for_workspace(ws)
        .filter(insight_id__in=insight_ids)
        .values_list("insight_id", "item_id"),
    )
    # Every item any of the above may name: its area, its roadmaps, the companies that asked.
    # Sub-selects rather than ids: the linked items are not known yet in this round trip.
    item_filter = (
        Q(id__in=item_ids)
        | Q(schedule__release_id__in=release_ids)
        | Q(id__in=DocumentLink.objects.for_workspace(ws)
            .filter(document_id__in=document_ids).values("item_id"))
        | Q(id__in=KeyResultItem.objects.for_workspace(ws)
            .filter(key_result_id__in=kr_ids).values("item_id"))
        | Q(id__in=ItemEvidence.objects.for_workspace(ws)
            .filter(insight_id__in=insight_ids).values("item_id"))
    )  # fmt: skip
    items = Item.objects.for_workspace(ws).filter(item_filter)
    return querysets_read_together(
        *linked_items,
        *insight_links,
        items.values_list("id", "area_id"),
        Placement.objects.for_workspace(ws)
        .filter(item__in=items.values("id"))
        .values_list("item_id", "roadmap_id"),
        ItemCustomer.objects.for_workspace(ws)
        .filter(item__in=items.values("id"), customer__company__isnull=False)
        .values_list("item_id", "customer__company_id", "customer__company__name")
        .distinct(),
    )


def _ids(ids: Iterable[int]) -> list[int]:
    """`ids` for an `__in` filter, never empty: Django answers an empty `__in` without asking
    PostgreSQL, and querysets_read_together then reads every set on its own."""
    return sorted(ids) or [0]


def _changes_read(
    workspace: Workspace,
    stakeholder_ids: list[int],
    user_ids: list[int],
    lo: datetime.datetime,
    hi: datetime.datetime,
) -> tuple[list[tuple[int, ...]], set[int], _Changes, tuple[str, str]]:
    follows, members, events, slips, insights, documents, kr_ids, defaults = _first_reads(
        workspace, stakeholder_ids, user_ids, lo, hi
    )
    item_ids = {e["item_id"] for e in events}
    release_ids = {e["release_id"] for e in slips}
    release_ids |= {d["document__release_id"] for d in documents if d["document__release_id"]}
    insight_ids = {i["id"] for i in insights}
    document_ids = {d["document_id"] for d in documents}
    kr_ids = set(kr_ids)
    if not (item_ids or release_ids or insight_ids or document_ids or kr_ids):
        second: list[list[Any]] = [[] for _ in range(11)]
    else:
        second = _second_reads(
            workspace, item_ids, insight_ids, document_ids, release_ids, kr_ids, hi
        )
    (release_items, doc_items, doc_releases, evidence, kr_items, key_results, kr_values,
     insight_items, item_areas, placements, askers) = second  # fmt: skip
    changes = _Changes(
        events=events,
        release_slips=slips,
        insights=insights,
        documents=documents,
        kr_values=defaultdict(list),
        key_results={kr["id"]: kr for kr in key_results},
        item_companies=defaultdict(dict),
        item_roadmaps=defaultdict(set),
        item_areas=dict(item_areas),
        insight_items=_grouped(insight_items),
        insight_companies=defaultdict(set),
        document_items=_grouped(doc_items),
        release_items=_grouped(release_items),
        kr_items=_grouped(kr_items),
    )
    for kr_id, created_at, measured_at, value in kr_values:
        changes.kr_values[kr_id].append((created_at, measured_at, value))
    for item_id, company_id, name in askers:
        changes.item_companies[item_id][company_id] = name
    for item_id, roadmap_id in placements:
        changes.item_roadmaps[item_id].add(roadmap_id)
    for insight_id, *companies in evidence:
        changes.insight_companies[insight_id].update(c for c in companies if c is not None)
    # Release notes cover their release's items.
    for document_id, release_id in [
        *doc_releases,
        *((d["document_id"], d["document__release_id"]) for d in documents),
    ]:
        if release_id is not None:
            changes.document_items.setdefault(document_id, set()).update(
                changes.release_items.get(release_id, ())
            )
    changes.index_events()
    return follows, set(members), changes, (defaults[0] if defaults else ("weekly", "UTC"))


def _grouped(pairs: Iterable[tuple[int, int]]) -> dict[int, set[int]]:
    grouped: dict[int, set[int]] = defaultdict(set)
    for key, value in pairs:
        grouped[key].add(value)
    return grouped


# --- scope ----------------------------------------------------------------------------------------
@dataclass
class _Scope:
    everything: bool
    areas: set[int] = field(default_factory=set)
    roadmaps: set[int] = field(default_factory=set)
    items: set[int] = field(default_factory=set)
    companies: set[int] = field(default_factory=set)

    def event_positions(self, changes: _Changes) -> Iterable[int]:
        """The positions in changes.events of the events of items in this scope, in order."""
        if self.everything:
            return range(len(changes.events))
        items = self.items & changes.events_by_item.keys()
        for kind, followed in (
            ("area", self.areas), ("roadmap", self.roadmaps), ("company", self.companies),
        ):  # fmt: skip
            index = changes.changed_by[kind]
            for key in followed:
                items |= index.get(key, set())
        return sorted(p for item_id in items for p in changes.events_by_item[item_id])

    def linked(self, changes: _Changes, kind: str) -> set[int] | None:
        """The ids of the `kind` objects in this scope (None: all of them)."""
        if self.everything:
            return None
        index = changes.linked_by[kind]
        found: set[int] = set()
        for key, followed in (
            ("item", self.items), ("area", self.areas), ("roadmap", self.roadmaps),
            ("company", self.companies),
        ):  # fmt: skip
            by = index[key]
            for value in followed:
                found |= by.get(value, set())
        return found

    def own_askers(self, item_id: int, changes: _Changes) -> tuple[str, ...]:
        asked = changes.item_companies.get(item_id, {})
        return tuple(sorted(asked[c] for c in self.companies if c in asked))


# --- building -------------------------------------------------------------------------------------
@dataclass
class _Links:
    """Where an entry's link goes: the app for members; for others the public changelog when it
    has the entry, else the digest's own web version."""

    app: str  # "{base}/w/{slug}"
    changelog: str  # "{base}/changelog/{slug}" when public, else ""

    def item(self, member: bool, item_id: int) -> str | None:
        return f"{self.app}/backlog/items/{item_id}/" if member else None

    def insight(self, member: bool, insight_id: int) -> str | None:
        return f"{self.app}/discovery/insights/{insight_id}/" if member else None

    def document(self, member: bool, document_id: int, kind: str, status: str) -> str | None:
        if member:
            return f"{self.app}/docs/{document_id}/"
        if self.changelog and kind == "release_notes" and status == "published":
            return f"{self.changelog}/{document_id}/"
        return None

    def objective(self, member: bool, objective_id: int) -> str | None:
        return f"{self.app}/roadmap/objectives/{objective_id}/" if member else None


def _dates(value: dict[str, Any]) -> str:
    start, end = value.get("start"), value.get("end")
    if start and end:
        return f"{_day(start)} – {_day(end)}"
    return _day(end or start) if (end or start) else "no dates"


def _day(iso: str | None) -> str:
    if not iso:
        return "no date"
    day = datetime.date.fromisoformat(iso)
    return f"{day:%b} {day.day}, {day.year}"


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _item_entries(
    scope: _Scope, changes: _Changes, lo: datetime.datetime, hi: datetime.datetime
) -> list[tuple[tuple[str, ...], _Draft]]:
    """The item events in (lo, hi] in the scope, one line per item and kind of change: several
    moves of one item on one roadmap read as one, from where it was to where it is."""
    shipped: set[int] = set()
    lines: dict[tuple[int, str, int | None], _Draft] = {}
    for position in scope.event_positions(changes):
        event = changes.events[position]
        if not lo < event["created_at"] <= hi:
            continue
        item_id = event["item_id"]
        kind = event["kind"]
        roadmap = event["roadmap__name"] or ""
        on = f" on {roadmap}" if roadmap else ""
        if kind == "shipped":
            shipped.add(item_id)
            draft = _Draft("shipped", event["item__title"], "Shipped", event["created_at"])
            draft.reason = event["reason"]
            draft.item_id = item_id
            lines[(item_id, "shipped", None)] = draft
            continue
        if kind == "declined":
            draft = _Draft("declined", event["item__title"], "Won't be built", event["created_at"])
            draft.reason, draft.item_id = event["reason"], item_id
            lines[(item_id, "declined", None)] = draft
            continue
        if kind in ("moved", "placed"):
            key = (item_id, "moved", event["roadmap_id"])
            before = None if kind == "placed" else event["before"].get("column")
            after = event["after"].get("column")
            draft = lines.get(key)
            if draft is None:
                draft = lines[key] = _Draft("moved", event["item__title"], "", event["created_at"])
                draft.item_id, draft.start = item_id, before
            draft.end, draft.when = after, event["created_at"]
            draft.setback = event["is_setback"]
            if event["reason"]:
                draft.reason = event["reason"]
            if draft.start is None:
                draft.kind, draft.detail = "scheduled", f"Added to {after}{on}"
            else:
                draft.kind = "slipped" if draft.setback else "moved"
                draft.detail = f"{draft.start} → {after}{on}"
            if draft.start == draft.end:  # moved and moved back: nothing to tell
                draft.kind = ""
            continue
        if kind == "redated" and event["is_setback"]:
            key = (item_id, "redated", None)
            draft = lines.get(key)
            if draft is None:
                draft = lines[key] = _Draft(
                    "slipped", event["item__title"], "", event["created_at"]
                )
                draft.item_id, draft.start = item_id, _dates(event["before"])
            draft.detail = f"Dates moved: {draft.start} → {_dates(event['after'])}"
            draft.when = event["created_at"]
            if event["reason"]:
                draft.reason = event["reason"]
    found = []
    for (item_id, category, _), draft in lines.items():
        if not draft.kind or (item_id in shipped and category != "shipped"):
            continue  # a shipped item's earlier moves are history: the ship is the news
        found.append((scope.own_askers(item_id, changes), draft))
    return found


@dataclass
class _Draft:
    kind: str
    title: str
    detail: str
    when: datetime.datetime
    reason: str = ""
    item_id: int | None = None
    url: str | None = None
    start: str | None = None
    end: str | None = None
    setback: bool = False


def _other_entries(
    scope: _Scope,
    changes: _Changes,
    links: _Links,
    member: bool,
    lo: datetime.datetime,
    hi: datetime.datetime,
) -> dict[str, list[_Draft]]:
    found: dict[str, list[_Draft]] = {"roadmap": [], "insights": [], "documents": [],
                                     "key_results": []}  # fmt: skip
    releases = scope.linked(changes, "release")
    for slip in changes.release_slips:
        if not lo < slip["created_at"] <= hi:
            continue
        if releases is not None and slip["release_id"] not in releases:
            continue
        before = _day(slip["before"].get("target_date"))
        after = _day(slip["after"].get("target_date"))
        draft = _Draft(
            "slipped", f"Release {slip['release__name']}", f"Target date {before} → {after}",
            slip["created_at"], reason=slip["reason"],
        )  # fmt: skip
        found["roadmap"].append(draft)
    insights = scope.linked(changes, "insight")
    for insight in changes.insights:
        if not lo < insight["validated_at"] <= hi:
            continue
        if insights is not None and insight["id"] not in insights:
            continue
        title, detail, when = _insight_line(changes, insight)
        draft = _Draft("insight", title, detail, when)
        draft.url = links.insight(member, insight["id"])
        found["insights"].append(draft)
    documents = scope.linked(changes, "document")
    for event in changes.documents:
        if not lo < event["created_at"] <= hi:
            continue
        document_id = event["document_id"]
        if documents is not None and document_id not in documents:
            continue
        notes = event["document__kind"] == "release_notes"
        if notes and event["kind"] != "published":
            continue  # release notes are news when published, not when approved
        kind = "release_notes" if notes else "document"
        label = _DOCUMENT_KINDS.get(event["document__kind"], "Document")
        detail = "Release notes published" if notes else f"{label} {event['kind']}"
        draft = _Draft(kind, event["document__title"], detail, event["created_at"])
        draft.url = links.document(
            member, document_id, event["document__kind"], event["document__status"]
        )
        found["documents"].append(draft)
    key_results = scope.linked(changes, "key_result")
    for kr_id, values in changes.kr_values.items():
        kr = changes.key_results.get(kr_id)
        if kr is None or (key_results is not None and kr_id not in key_results):
            continue
        inside = [v for v in values if lo < v[0] <= hi]
        if not inside:
            continue
        earlier = [v for v in values if v[0] <= lo]
        unit = f" {kr['unit']}" if kr["unit"] else ""
        now = inside[-1][2]
        was = earlier[-1][2] if earlier else kr["baseline"]
        span = kr["target"] - kr["baseline"]
        progress = (now - kr["baseline"]) / span if span else 1.0
        detail = (
            f"{_number(was)} → {_number(now)}{unit} (target {_number(kr['target'])}{unit}, "
            f"{max(0, min(100, round(progress * 100)))}% of the way)"
        )
        draft = _Draft("key_result", f"{kr['objective__title']}: {kr['metric']}", detail,
                       inside[-1][0])  # fmt: skip
        draft.url = links.objective(member, kr["objective_id"])
        found["key_results"].append(draft)
    return found


def _insight_line(changes: _Changes, insight: dict[str, Any]) -> tuple[str, str, datetime.datetime]:
    key = ("insight", insight["id"])
    line = changes.lines.get(key)
    if line is None:
        reach = [_plural(insight["customer_count"], "customer")]
        if insight["company_count"]:
            reach.append(_plural(insight["company_count"], "company", "companies"))
        if insight["arr"]:
            reach.append(f"{compact_money(insight['arr'])} ARR")
        detail = "Validated · " + " · ".join(reach)
        line = changes.lines[key] = (insight["title"], detail, insight["validated_at"])
    return line


_DOCUMENT_KINDS = {
    "prd": "PRD", "brief": "Brief", "decision": "Decision record",
    "update": "Stakeholder update", "release_notes": "Release notes",
}  # fmt: skip

_SECTIONS = (
    ("accounts", "For your accounts"),
    ("shipped", "Shipped"),
    ("roadmap", "Roadmap changes"),
    ("insights", "New insights"),
    ("documents", "Documents"),
    ("key_results", "Key results"),
)


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def _headline(sections: dict[str, list[Entry]]) -> str:
    accounts = sections["accounts"]
    if accounts:
        shipped = sum(1 for e in accounts if e.kind == "shipped")
        moved = [e for e in accounts if e.kind in ("moved", "slipped")]
        parts = []
        if shipped:
            parts.append(f"{_plural(shipped, 'request')} shipped")
        if len(moved) == 1:
            parts.append(f"1 moved ({moved[0].detail.split(' on ')[0]})")
        elif moved:
            parts.append(f"{len(moved)} moved")
        others = len(accounts) - shipped - len(moved)
        if others:
            parts.append(f"{others} other {'change' if others == 1 else 'changes'}")
        return "For your accounts: " + ", ".join(parts)
    counts = [
        (len(sections["shipped"]), "shipped", "shipped"),
        (len(sections["roadmap"]), "roadmap change", "roadmap changes"),
        (len(sections["insights"]), "new insight", "new insights"),
        (len(sections["documents"]), "document", "documents"),
        (len(sections["key_results"]), "key result moved", "key results moved"),
    ]
    parts = [f"{n} {one if n == 1 else many}" for n, one, many in counts if n]
    return ", ".join(parts).capitalize() if parts else "Nothing new"


def _digest(
    workspace: Workspace,
    request: DigestRequest,
    scope: _Scope,
    member: bool,
    changes: _Changes,
    links: _Links,
    defaults: tuple[str, str],
) -> Digest:
    from pmhub.digests.schedule import zone
    from pmhub.digests.signing import web_token

    cadence = request.stakeholder.cadence or defaults[0]
    try:
        tz_name = request.stakeholder.timezone or defaults[1]
        tz = zone(tz_name)
    except ValueError:  # removed from the system's zone database since it was chosen
        tz_name, tz = "UTC", datetime.UTC

    stakeholder = request.stakeholder
    lo, hi = request.covers_from, request.covers_until
    web_url = (
        f"{links.app.rsplit('/w/', 1)[0]}/digest/view/"
        + web_token(
            workspace_id=workspace.id,
            stakeholder_id=stakeholder.id,
            covers_from=lo,
            covers_until=hi,
        )  # fmt: skip
        + "/"
    )
    grouped: dict[str, list[_Draft]] = {key: [] for key, _ in _SECTIONS}
    askers: dict[int, tuple[str, ...]] = {}
    for own, draft in _item_entries(scope, changes, lo, hi):
        draft.url = links.item(member, draft.item_id)
        if own:
            askers[id(draft)] = own
            grouped["accounts"].append(draft)
        else:
            grouped["shipped" if draft.kind == "shipped" else "roadmap"].append(draft)
    for key, drafts in _other_entries(scope, changes, links, member, lo, hi).items():
        grouped[key].extend(drafts)
    sections: dict[str, list[Entry]] = {}
    number = 0
    for key, _ in _SECTIONS:
        entries = []
        for draft in sorted(grouped[key], key=lambda d: d.when, reverse=True):
            number += 1
            anchor = f"entry-{number}"
            entries.append(
                Entry(
                    kind=draft.kind,
                    title=draft.title,
                    detail=draft.detail,
                    when=draft.when.astimezone(tz),
                    url=draft.url or f"{web_url}#{anchor}",
                    reason=draft.reason,
                    companies=askers.get(id(draft), ()),
                    anchor=anchor,
                )  # fmt: skip
            )
        sections[key] = entries
    return Digest(
        workspace_id=workspace.id,
        workspace_name=workspace.name,
        workspace_slug=workspace.slug,
        stakeholder_id=stakeholder.id,
        email=stakeholder.email,
        name=stakeholder.name,
        is_member=member,
        covers_from=lo.astimezone(tz),
        covers_until=hi.astimezone(tz),
        headline=_headline(sections),
        sections=tuple(
            Section(key=key, title=title, entries=tuple(sections[key]))
            for key, title in _SECTIONS
            if sections[key]
        ),
        web_url=web_url,
        app_url=f"{links.app}/" if member else "",
        cadence=cadence,
        timezone=tz_name,
    )


def digests_build(workspace: Workspace, requests: Sequence[DigestRequest]) -> list[Digest]:
    """One Digest per request, in the same order, in at most three statements whatever the
    number of requests: the workspace's changes in the widest window are read once (two
    round trips), then each stakeholder's are picked from them in Python."""
    if not requests:
        return []
    from docs.models import Changelog

    requests = [
        DigestRequest(r.stakeholder, _second(r.covers_from), _second(r.covers_until))
        for r in requests
    ]
    lo = min(r.covers_from for r in requests)
    hi = max(r.covers_until for r in requests)
    stakeholder_ids = [r.stakeholder.id for r in requests]
    user_ids = [r.stakeholder.user_id for r in requests if r.stakeholder.user_id]
    follows, members, changes, defaults = _changes_read(
        workspace, stakeholder_ids, user_ids, lo, hi
    )
    scopes = {
        r.stakeholder.id: _Scope(everything=r.stakeholder.follows_workspace) for r in requests
    }
    for stakeholder_id, area_id, roadmap_id, item_id, company_id in follows:
        scope = scopes[stakeholder_id]
        for bucket, value in (
            (scope.areas, area_id), (scope.roadmaps, roadmap_id), (scope.items, item_id),
            (scope.companies, company_id),
        ):  # fmt: skip
            if value is not None:
                bucket.add(value)
    base = settings.PMHUB_BASE_URL
    public = (
        bool(changes.documents)
        and Changelog.objects.for_workspace(workspace).filter(is_public=True).exists()
    )
    links = _Links(
        app=f"{base}/w/{workspace.slug}",
        changelog=f"{base}/changelog/{workspace.slug}" if public else "",
    )
    return [
        _digest(
            workspace,
            r,
            scopes[r.stakeholder.id],
            r.stakeholder.user_id in members,
            changes,
            links,
            defaults,
        )  # fmt: skip
        for r in requests
    ]


def _second(moment: datetime.datetime) -> datetime.datetime:
    """Windows are whole seconds: the web version's signed link carries them as such."""
    return moment.replace(microsecond=0)


def first_window_start(cadence: str, covers_until: datetime.datetime) -> datetime.datetime:
    """Where a stakeholder's first digest starts: one cadence back from its end."""
    from pmhub.digests.models import Cadence

    if cadence == Cadence.DAILY:
        return covers_until - datetime.timedelta(days=1)
    if cadence == Cadence.MONTHLY:
        return covers_until - datetime.timedelta(days=31)
    return covers_until - datetime.timedelta(days=7)


def covers_from_for(
    stakeholder: Stakeholder, default_cadence: str, covers_until: datetime.datetime
) -> datetime.datetime:
    """Where a digest ending at `covers_until` starts: the end of the last one delivered, or one
    cadence back for a first digest."""
    if stakeholder.covered_until is not None:
        return min(stakeholder.covered_until, covers_until)
    return first_window_start(stakeholder.cadence or default_cadence, covers_until)


def digest_next(
    *, workspace: Workspace, stakeholder: Stakeholder, now: datetime.datetime | None = None
) -> Digest:
    """The stakeholder's next digest as it stands now: from the end of the last one delivered
    (or one cadence back) until now."""
    from pmhub.digests.services import digest_settings_get

    now = now or timezone.now()
    default_cadence = (
        "" if stakeholder.cadence else digest_settings_get(workspace=workspace).cadence
    )
    start = covers_from_for(stakeholder, default_cadence, now)
    return digests_build(workspace, [DigestRequest(stakeholder, start, now)])[0]
