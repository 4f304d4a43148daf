"""Writes of the backlog: the one path for pages, the API, imports and the demo."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Max, Min, Q
from django.utils import timezone

from backlog import scoring
from backlog.models import (
    DESCRIPTION_MAX_CHARS,
    Item,
    ItemCustomer,
    ItemEvidence,
    ItemInputs,
    ItemScore,
    ItemTag,
    ProductArea,
    ScoreChange,
)
from backlog.ranking import key_between
from discovery.models import (
    Company,
    Customer,
    Evidence,
    Feedback,
    Highlight,
    Insight,
    InterviewParticipant,
    Tag,
)
from pmhub.core.exceptions import ApplicationError
from pmhub.workspaces.audit import audit_record
from pmhub.workspaces.models import Membership, Workspace

if TYPE_CHECKING:
    from pmhub.accounts.models import User

# Fields item_update may change; everything else has its own service.
EDITABLE = ("title", "description", "kind", "owner_id", "area_id", "parent_id", "effort")


class StaleItemError(ApplicationError):
    """The item changed since this edit began (another tab, another person). The API: 412."""

    status_code = 412


class ItemGoneError(ApplicationError):
    """The item (or the one it was to be placed next to) was deleted or merged meanwhile."""

    status_code = 404


# --- product areas ---------------------------------------------------------------------------
def product_area_create(
    *, workspace: Workspace, actor: User | None, name: str, description: str = ""
) -> ProductArea:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the product area a name."})
    area = ProductArea(workspace=workspace, name=name[:80], description=description.strip())
    try:
        with transaction.atomic():
            area.save()
            audit_record(
                workspace=workspace,
                actor=actor,
                action="area.created",
                target=area,
                changes={"name": area.name},
            )
    except IntegrityError as exc:
        raise ValidationError({"name": f"There is already a product area {name!r}."}) from exc
    return area


# --- items -----------------------------------------------------------------------------------
def _clean_title(title: str) -> str:
    title = " ".join((title or "").split())
    if not title:
        raise ValidationError({"title": "Give the item a title."})
    if len(title) > 200:
        raise ValidationError({"title": f"At most 200 characters ({len(title)} given)."})
    return title


def _clean_description(description: str) -> str:
    description = description or ""
    if len(description) > DESCRIPTION_MAX_CHARS:
        raise ValidationError(
            {
                "description": f"At most {DESCRIPTION_MAX_CHARS:,} characters "
                f"({len(description):,} given); nothing was cut."
            }
        )
    return description


def _clean_effort(effort: Any) -> float | None:
    if effort in (None, ""):
        return None
    try:
        value = float(effort)
    except (TypeError, ValueError) as exc:
        raise ValidationError({"effort": "Effort is a number, e.g. 3 or 0.5."}) from exc
    if not 0 <= value <= 1_000_000:
        raise ValidationError({"effort": "Effort is between 0 and 1,000,000."})
    return value


def _check_refs(workspace: Workspace, changes: dict[str, Any]) -> None:
    """Owner, area and parent must belong to this workspace (another's ids are 'unknown')."""
    owner_id = changes.get("owner_id")
    if owner_id is not None and not (
        Membership.objects.for_workspace(workspace).filter(user_id=owner_id).exists()
    ):
        raise ValidationError({"owner": "Choose a member of this workspace."})
    area_id = changes.get("area_id")
    if area_id is not None and not (
        ProductArea.objects.for_workspace(workspace).filter(id=area_id).exists()
    ):
        raise ValidationError({"area": "Unknown product area."})
    parent_id = changes.get("parent_id")
    if parent_id is not None and not (
        Item.objects.for_workspace(workspace)
        .filter(id=parent_id, merged_into__isnull=True)
        .exists()
    ):
        raise ValidationError({"parent": "Unknown parent item."})


def _check_no_cycle(workspace: Workspace, item_id: int, parent_id: int | None) -> None:
    """Walk up from the new parent: meeting the item itself would make a circle."""
    seen: set[int] = set()
    current = parent_id
    while current is not None:
        if current == item_id:
            raise ValidationError({"parent": "An item cannot sit under itself or its children."})
        if current in seen:
            break  # An existing loop (never written by this code); stop walking.
        seen.add(current)
        current = (
            Item.objects.for_workspace(workspace)
            .filter(id=current)
            .values_list("parent_id", flat=True)
            .first()
        )


def _last_rank(workspace: Workspace) -> str | None:
    return Item.objects.for_workspace(workspace).aggregate(last=Max("rank"))["last"]


@transaction.atomic
def item_create(
    *,
    workspace: Workspace,
    actor: User | None,
    title: str,
    description: str = "",
    kind: str = Item.Kind.IDEA,
    owner_id: int | None = None,
    area_id: int | None = None,
    parent_id: int | None = None,
    effort: Any = None,
    tag_ids: Iterable[int] = (),
) -> Item:
    """A new item at the bottom of the manual order."""
    if kind not in Item.Kind.values:
        raise ValidationError({"kind": "Choose idea, feature or epic."})
    refs = {"owner_id": owner_id, "area_id": area_id, "parent_id": parent_id}
    _check_refs(workspace, refs)
    item = Item.objects.create(
        workspace=workspace,
        title=_clean_title(title),
        description=_clean_description(description),
        kind=kind,
        effort=_clean_effort(effort),
        rank=key_between(_last_rank(workspace), None),
        created_by=actor,
        **refs,
    )
    item_set_tags(workspace=workspace, actor=actor, item=item, tag_ids=tag_ids, audit=False)
    audit_record(
        workspace=workspace,
        actor=actor,
        action="item.created",
        target=item,
        changes={"title": item.title},
    )
    # Scored at once, so a score-sorted list shows it (custom formulas may know its score).
    scoring.item_scores_recompute(
        workspace=workspace, item_ids=[item.id], cause="created", record_history=False
    )
    return item


def _locked(workspace: Workspace, item_id: int) -> Item:
    item = Item.objects.for_workspace(workspace).select_for_update().filter(id=item_id).first()
    if item is None:
        raise ItemGoneError("This item no longer exists.")
    return item


def _bump(item: Item, fields: list[str]) -> None:
    item.version += 1
    item.save(update_fields=[*fields, "version", "updated_at"])


@transaction.atomic
def item_update(
    *, workspace: Workspace, actor: User | None, item: Item, version: int, **changes: Any
) -> Item:
    """Save an edit begun on `version`; a save in between is refused, not overwritten."""
    item = _locked(workspace, item.id)
    if item.version != version:
        raise StaleItemError(
            "Someone changed this item after you opened it. Reload to see their change, then "
            "apply yours again.",
            extra={"version": item.version},
        )
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "This field cannot be changed here."))
    if "title" in changes:
        changes["title"] = _clean_title(changes["title"])
    if "description" in changes:
        changes["description"] = _clean_description(changes["description"])
    if "effort" in changes:
        changes["effort"] = _clean_effort(changes["effort"])
    if "kind" in changes and changes["kind"] not in Item.Kind.values:
        raise ValidationError({"kind": "Choose idea, feature or epic."})
    _check_refs(workspace, changes)
    if "parent_id" in changes:
        _check_no_cycle(workspace, item.id, changes["parent_id"])
    diff = {
        name: [getattr(item, name), value]
        for name, value in changes.items()
        if getattr(item, name) != value
    }
    if not diff:
        return item
    for name, (_, value) in diff.items():
        setattr(item, name, value)
    _bump(item, list(diff))
    audit_record(workspace=workspace, actor=actor, action="item.updated", target=item, changes=diff)
    if "effort" in diff:  # An input of RICE and of workspace formulas.
        scoring.item_scores_recompute(
            workspace=workspace,
            item_ids=[item.id],
            cause="effort {} → {}".format(*diff["effort"]),
            actor=actor,
        )
    return item


@transaction.atomic
def item_set_status(
    *, workspace: Workspace, actor: User | None, item: Item, status: str, reason: str = ""
) -> Item:
    """Move an item along new → under consideration → planned → in progress → shipped, or
    decline it with a reason (which leaving "declined" clears)."""
    if status not in Item.Status.values:
        raise ValidationError({"status": "Unknown status."})
    reason = " ".join((reason or "").split())
    if status == Item.Status.DECLINED and not reason:
        raise ValidationError({"reason": "Say why it is declined: the people who asked will ask."})
    if len(reason) > 500:
        raise ValidationError({"reason": "At most 500 characters."})
    item = _locked(workspace, item.id)
    if item.status == status and item.declined_reason == reason:
        return item
    before = item.status
    item.status = status
    item.declined_reason = reason if status == Item.Status.DECLINED else ""
    _bump(item, ["status", "declined_reason"])
    audit_record(
        workspace=workspace,
        actor=actor,
        action="item.status",
        target=item,
        changes={"status": [before, status], **({"reason": reason} if reason else {})},
    )
    # Ships and declines are roadmap events (the digests read them); roadmap builds on the
    # backlog, so its services are imported here, at call time.
    from roadmap.services import item_status_event

    item_status_event(workspace=workspace, actor=actor, item=item, before=before, reason=reason)
    return item


@transaction.atomic
def item_set_tags(
    *,
    workspace: Workspace,
    actor: User | None,
    item: Item,
    tag_ids: Iterable[int],
    audit: bool = True,
) -> None:
    wanted = set(tag_ids)
    known = set(
        Tag.objects.for_workspace(workspace).filter(id__in=wanted).values_list("id", flat=True)
    )
    if wanted - known:
        raise ValidationError({"tags": "Unknown tag."})
    links = ItemTag.objects.for_workspace(workspace).filter(item=item)
    current = set(links.values_list("tag_id", flat=True))
    links.filter(tag_id__in=current - wanted).delete()
    ItemTag.objects.bulk_create(
        [ItemTag(workspace=workspace, item=item, tag_id=t) for t in sorted(wanted - current)],
        ignore_conflicts=True,
    )
    if audit and current != wanted:
        audit_record(
            workspace=workspace,
            actor=actor,
            action="item.tags",
            target=item,
            changes={"tags": [sorted(current), sorted(wanted)]},
        )


@transaction.atomic
def item_move(
    *,
    workspace: Workspace,
    actor: User | None,
    item: Item,
    after_id: int | None = None,
    before_id: int | None = None,
) -> Item:
    """Put `item` right after `after_id` (or right before `before_id`; neither: to the top).

    One row is written: the item gets a key between its new neighbours' (backlog.ranking). The
    neighbours are read under locks, in id order, with the item itself; two people moving items
    at once take turns, and each move lands between the keys current at its turn.
    """
    anchor_id = after_id if after_id is not None else before_id
    ids = sorted({item.id, *([anchor_id] if anchor_id is not None else [])})
    rows = {
        row.id: row
        for row in Item.objects.for_workspace(workspace).select_for_update().filter(id__in=ids)
    }
    if item.id not in rows or (anchor_id is not None and anchor_id not in rows):
        raise ItemGoneError("That item no longer exists; reload the list.")
    if anchor_id == item.id:
        return rows[item.id]
    others = Item.objects.for_workspace(workspace).exclude(id=item.id)
    if after_id is not None:
        low = rows[after_id].rank
        high = others.filter(rank__gt=low).aggregate(r=Min("rank"))["r"]
    elif before_id is not None:
        high = rows[before_id].rank
        low = others.filter(rank__lt=high).aggregate(r=Max("rank"))["r"]
    else:
        low, high = None, others.aggregate(r=Min("rank"))["r"]
    moved = rows[item.id]
    before = moved.rank
    moved.rank = key_between(low, high)
    _bump(moved, ["rank"])
    audit_record(
        workspace=workspace,
        actor=actor,
        action="item.moved",
        target=moved,
        changes={"rank": [before, moved.rank]},
    )
    return moved


# --- evidence and demand -----------------------------------------------------------------------
@transaction.atomic
def item_link_evidence(
    *,
    workspace: Workspace,
    actor: User | None,
    item: Item,
    insight_id: int | None = None,
    feedback_id: int | None = None,
    note: str = "",
) -> ItemEvidence:
    """Link an insight or a feedback item as evidence; linking twice returns the first link."""
    if (insight_id is None) == (feedback_id is None):
        raise ValidationError("Link either an insight or a feedback item.")
    item = _locked(workspace, item.id)
    if insight_id is not None and not (
        Insight.objects.for_workspace(workspace).filter(id=insight_id).exists()
    ):
        raise ValidationError({"insight": "Unknown insight."})
    if feedback_id is not None and not (
        Feedback.objects.for_workspace(workspace).filter(id=feedback_id).exists()
    ):
        raise ValidationError({"feedback": "Unknown feedback."})
    link, created = ItemEvidence.objects.for_workspace(workspace).get_or_create(
        workspace=workspace,
        item=item,
        insight_id=insight_id,
        feedback_id=feedback_id,
        defaults={"note": note.strip()[:500], "created_by": actor},
    )
    if created:
        audit_record(
            workspace=workspace,
            actor=actor,
            action="item.evidence_linked",
            target=item,
            changes={"insight": insight_id} if insight_id else {"feedback": feedback_id},
        )
        item_demand_refresh(workspace=workspace, item_ids=[item.id])
    return link


@transaction.atomic
def item_unlink_evidence(
    *, workspace: Workspace, actor: User | None, evidence: ItemEvidence
) -> None:
    deleted, _ = ItemEvidence.objects.for_workspace(workspace).filter(id=evidence.id).delete()
    if deleted:
        audit_record(
            workspace=workspace,
            actor=actor,
            action="item.evidence_unlinked",
            target=evidence.item,
            changes={"insight": evidence.insight_id}
            if evidence.insight_id
            else {"feedback": evidence.feedback_id},
        )
        item_demand_refresh(workspace=workspace, item_ids=[evidence.item_id])


@transaction.atomic
def item_customer_importance_set(
    *, workspace: Workspace, actor: User | None, item: Item, customer_id: int, importance: str
) -> ItemCustomer:
    if importance not in ItemCustomer.Importance.values:
        raise ValidationError({"importance": "Choose nice to have, important or critical."})
    row = (
        ItemCustomer.objects.for_workspace(workspace)
        .select_for_update()
        .filter(item_id=item.id, customer_id=customer_id)
        .first()
    )
    if row is None:
        raise ValidationError({"customer": "This customer has not asked for this item."})
    if row.importance != importance:
        audit_record(
            workspace=workspace,
            actor=actor,
            action="item.importance",
            target=item,
            changes={"customer": customer_id, "importance": [row.importance, importance]},
        )
        row.importance = importance
        row.save(update_fields=["importance", "updated_at"])
        item_demand_refresh(workspace=workspace, item_ids=[item.id])
    return row


@transaction.atomic
def item_demand_refresh(*, workspace: Workspace, item_ids: Iterable[int]) -> None:
    """Recount the demand of these items from their evidence: who asked (each customer once,
    their importance kept), their companies, ARR and segments.

    Set-based: three statements whatever the number of items, links and customers (lock the
    items in id order, so concurrent recounts take locks in one order; bring ItemCustomer in
    step with who asks; write every figure from aggregates), then the scores that read demand.
    An item with 12,000 links recounts in tens of milliseconds; no row reaches Python.
    """
    ids = sorted(set(item_ids))
    if not ids:
        return
    params = {
        "workspace": workspace.id,
        "items": ids,
        "nice": ItemCustomer.Importance.NICE_TO_HAVE,
        "important": ItemCustomer.Importance.IMPORTANT,
        "critical": ItemCustomer.Importance.CRITICAL,
    }
    with connection.cursor() as cursor:
        for statement in _demand_statements():
            cursor.execute(statement, params)
    for item_id in ids:
        scoring.item_demand_scores_refresh(workspace=workspace, item_id=item_id)


@functools.cache
def _demand_statements() -> tuple[str, str, str]:
    """The recount's statements with the models' table names filled in (built once)."""
    tables = {
        "item": Item._meta.db_table,
        "item_evidence": ItemEvidence._meta.db_table,
        "item_customer": ItemCustomer._meta.db_table,
        "feedback": Feedback._meta.db_table,
        "evidence": Evidence._meta.db_table,
        "highlight": Highlight._meta.db_table,
        "participant": InterviewParticipant._meta.db_table,
        "customer": Customer._meta.db_table,
        "company": Company._meta.db_table,
    }
    asking = _ASKING_SQL.format(**tables)
    return (
        _DEMAND_LOCK_SQL.format(**tables),
        _DEMAND_CUSTOMERS_SQL.format(asking=asking, **tables),
        _DEMAND_FIGURES_SQL.format(**tables),
    )


# Every table is read within the workspace (STYLE T4), joins included.
_DEMAND_LOCK_SQL = """
    SELECT id FROM {item}
    WHERE workspace_id = %(workspace)s AND id = ANY(%(items)s::bigint[])
    ORDER BY id FOR UPDATE
"""

# Who asks for each item: the same four paths as discovery.selectors.asking_customer_ids (the
# feedback's writer; for an insight, the writers of the feedback it cites, of the feedback its
# highlights come from, and the participants of the interviews they come from), as one set.
_ASKING_SQL = """
    links AS (
        SELECT item_id, insight_id, feedback_id FROM {item_evidence}
        WHERE workspace_id = %(workspace)s AND item_id = ANY(%(items)s::bigint[])
    ),
    cited AS (
        SELECT links.item_id, e.feedback_id, e.highlight_id
        FROM links JOIN {evidence} e
            ON e.insight_id = links.insight_id AND e.workspace_id = %(workspace)s
        WHERE links.insight_id IS NOT NULL
    ),
    cited_highlights AS (
        SELECT cited.item_id, h.feedback_id, h.interview_id
        FROM cited JOIN {highlight} h
            ON h.id = cited.highlight_id AND h.workspace_id = %(workspace)s
    ),
    asking AS (
        SELECT links.item_id, f.customer_id
        FROM links JOIN {feedback} f ON f.id = links.feedback_id AND f.workspace_id = %(workspace)s
        WHERE f.customer_id IS NOT NULL
        UNION
        SELECT cited.item_id, f.customer_id
        FROM cited JOIN {feedback} f ON f.id = cited.feedback_id AND f.workspace_id = %(workspace)s
        WHERE f.customer_id IS NOT NULL
        UNION
        SELECT ch.item_id, f.customer_id
        FROM cited_highlights ch
        JOIN {feedback} f ON f.id = ch.feedback_id AND f.workspace_id = %(workspace)s
        WHERE f.customer_id IS NOT NULL
        UNION
        SELECT ch.item_id, p.customer_id
        FROM cited_highlights ch
        JOIN {participant} p ON p.interview_id = ch.interview_id AND p.workspace_id = %(workspace)s
    )
"""

# One statement: rows of customers who no longer ask go, new askers come in as nice to have;
# the rows that stay keep the importance a PM set. The DELETE and the INSERT touch disjoint
# rows, so running them in one snapshot is safe. NOT IN (no NULLs on either side here) rather
# than NOT EXISTS: it becomes a hashed subplan whatever the row estimates, where NOT EXISTS
# against a CTE became a nested loop (1,500 x 1,500 rows, 220 ms) on freshly filled tables.
_DEMAND_CUSTOMERS_SQL = """
    WITH {asking},
    gone AS (
        DELETE FROM {item_customer} ic
        WHERE ic.workspace_id = %(workspace)s AND ic.item_id = ANY(%(items)s::bigint[])
            AND (ic.item_id, ic.customer_id) NOT IN (SELECT item_id, customer_id FROM asking)
        RETURNING 1
    ),
    added AS (
        INSERT INTO {item_customer}
            (workspace_id, created_at, updated_at, item_id, customer_id, importance)
        SELECT %(workspace)s, now(), now(), item_id, customer_id, %(nice)s FROM asking
        ON CONFLICT (item_id, customer_id) DO NOTHING
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM added)
"""

# Every figure from the (now current) ItemCustomer rows and the links. A company counts once
# per item, and so does its ARR; its segment is the company's, so per-segment company and ARR
# figures come from the distinct companies too. Customers without a company count under "".
# Sums of numeric(…, 2) print as "1200000.00", and no company as "0", as Decimal's str did.
_DEMAND_FIGURES_SQL = """
    WITH asked AS (
        SELECT ic.item_id, ic.importance, c.company_id, co.arr,
            COALESCE(co.segment, '') AS segment
        FROM {item_customer} ic
        JOIN {customer} c ON c.id = ic.customer_id AND c.workspace_id = %(workspace)s
        LEFT JOIN {company} co ON co.id = c.company_id AND co.workspace_id = %(workspace)s
        WHERE ic.workspace_id = %(workspace)s AND ic.item_id = ANY(%(items)s::bigint[])
    ),
    companies AS (
        SELECT DISTINCT item_id, company_id, arr, segment FROM asked WHERE company_id IS NOT NULL
    ),
    people AS (
        SELECT item_id, count(*) AS customers,
            count(*) FILTER (WHERE importance = %(critical)s) AS critical,
            count(*) FILTER (WHERE importance = %(important)s) AS important
        FROM asked GROUP BY item_id
    ),
    firms AS (
        SELECT item_id, count(*) AS companies, COALESCE(sum(arr), 0) AS arr
        FROM companies GROUP BY item_id
    ),
    segment_people AS (
        SELECT item_id, segment, count(*) AS customers FROM asked GROUP BY item_id, segment
    ),
    segment_firms AS (
        SELECT item_id, segment, count(*) AS companies, sum(arr) AS arr
        FROM companies GROUP BY item_id, segment
    ),
    segments AS (
        SELECT sp.item_id, jsonb_object_agg(sp.segment, jsonb_build_object(
            'customers', sp.customers,
            'companies', COALESCE(sf.companies, 0),
            'arr', COALESCE(sf.arr, 0)::text
        )) AS demand
        FROM segment_people sp LEFT JOIN segment_firms sf USING (item_id, segment)
        GROUP BY sp.item_id
    ),
    links AS (
        SELECT item_id, count(*) AS evidence FROM {item_evidence}
        WHERE workspace_id = %(workspace)s AND item_id = ANY(%(items)s::bigint[])
        GROUP BY item_id
    ),
    figures AS (
        SELECT ids.id,
            COALESCE(links.evidence, 0) AS evidence,
            COALESCE(people.customers, 0) AS customers,
            COALESCE(firms.companies, 0) AS companies,
            COALESCE(firms.arr, 0) AS arr,
            COALESCE(people.critical, 0) AS critical,
            COALESCE(people.important, 0) AS important,
            COALESCE(segments.demand, '{{}}'::jsonb) AS demand
        FROM unnest(%(items)s::bigint[]) AS ids(id)
        LEFT JOIN links ON links.item_id = ids.id
        LEFT JOIN people ON people.item_id = ids.id
        LEFT JOIN firms ON firms.item_id = ids.id
        LEFT JOIN segments ON segments.item_id = ids.id
    )
    UPDATE {item} i SET
        evidence_count = figures.evidence,
        customer_count = figures.customers,
        company_count = figures.companies,
        arr = figures.arr,
        critical_count = figures.critical,
        important_count = figures.important,
        demand_by_segment = figures.demand
    FROM figures
    WHERE i.id = figures.id AND i.workspace_id = %(workspace)s
"""


def item_evidence_repoint_feedback(*, workspace: Workspace, source: int, target: int) -> int:
    """Feedback `source` was merged into `target`: items citing it cite `target` instead (an
    item citing both keeps one link). Returns how many links moved."""
    links = ItemEvidence.objects.for_workspace(workspace)
    item_ids = set(links.filter(feedback_id=source).values_list("item_id", flat=True))
    links.filter(
        feedback_id=source,
        item_id__in=links.filter(feedback_id=target).values("item_id"),
    ).delete()
    moved = links.filter(feedback_id=source).update(feedback_id=target)
    item_demand_refresh(workspace=workspace, item_ids=item_ids)
    return moved


# --- merging -----------------------------------------------------------------------------------
# Importance order, so a merge keeps whichever of the two a customer gave more weight.
_IMPORTANCE_ORDER = {
    ItemCustomer.Importance.NICE_TO_HAVE: 0,
    ItemCustomer.Importance.IMPORTANT: 1,
    ItemCustomer.Importance.CRITICAL: 2,
}


def _merge_importance(workspace: Workspace, *, source: int, target: int) -> None:
    """Give `target` each of `source`'s customers at the higher of the two importances; the
    demand refresh that follows keeps these rows because the evidence now asks through
    `target`."""
    theirs = dict(
        ItemCustomer.objects.for_workspace(workspace)
        .filter(item_id=source)
        .values_list("customer_id", "importance")
    )
    rows = ItemCustomer.objects.for_workspace(workspace).filter(item_id=target)
    ours = dict(rows.values_list("customer_id", "importance"))
    ItemCustomer.objects.bulk_create(
        [
            ItemCustomer(workspace=workspace, item_id=target, customer_id=c, importance=level)
            for c, level in sorted(theirs.items())
            if c not in ours
        ],
        ignore_conflicts=True,
    )
    for customer_id, level in theirs.items():
        if customer_id in ours and _IMPORTANCE_ORDER[level] > _IMPORTANCE_ORDER[ours[customer_id]]:
            rows.filter(customer_id=customer_id).update(importance=level, updated_at=timezone.now())


@transaction.atomic
def item_merge(*, workspace: Workspace, actor: User | None, duplicate: Item, into: Item) -> Item:
    """Merge `duplicate` into `into` and return `into`: evidence, demand, tags, children and
    score history move over, `into`'s blank scoring inputs are filled from the duplicate's, and
    the duplicate stays (declined, pointing at `into`) so links to it still resolve.

    Idempotent: merging again into the same item changes nothing. Both rows are locked in id
    order for the whole merge.
    """
    if duplicate.id == into.id:
        raise ApplicationError("An item cannot be merged into itself.")
    rows = {
        row.id: row
        for row in Item.objects.for_workspace(workspace)
        .select_for_update()
        .filter(id__in=[duplicate.id, into.id])
        .order_by("id")
    }
    if len(rows) != 2:
        raise ValidationError({"into": "Unknown item."})
    duplicate, into = rows[duplicate.id], rows[into.id]
    if duplicate.merged_into_id == into.id:
        return into
    if duplicate.merged_into_id is not None:
        raise ApplicationError(
            f"Item #{duplicate.id} was already merged into #{duplicate.merged_into_id}."
        )
    if into.merged_into_id is not None:
        raise ApplicationError(
            f"Item #{into.id} was itself merged into #{into.merged_into_id}; merge into that one."
        )
    try:
        # The duplicate's children move under `into`: a circle if `into` sits under it.
        _check_no_cycle(workspace, duplicate.id, into.id)
    except ValidationError as exc:
        raise ApplicationError(
            f"Item #{into.id} sits under #{duplicate.id}; merging would put it under itself."
        ) from exc

    links = ItemEvidence.objects.for_workspace(workspace)
    kept = links.filter(item_id=into.id)
    dropped, _ = (
        links.filter(item_id=duplicate.id)
        .filter(
            Q(insight_id__in=kept.exclude(insight_id=None).values("insight_id"))
            | Q(feedback_id__in=kept.exclude(feedback_id=None).values("feedback_id"))
        )
        .delete()
    )
    _merge_importance(workspace, source=duplicate.id, target=into.id)
    evidence = links.filter(item_id=duplicate.id).update(item_id=into.id, updated_at=timezone.now())

    tag_ids = list(
        ItemTag.objects.for_workspace(workspace)
        .filter(item_id=duplicate.id)
        .values_list("tag_id", flat=True)
    )
    ItemTag.objects.bulk_create(
        [ItemTag(workspace=workspace, item_id=into.id, tag_id=t) for t in sorted(tag_ids)],
        ignore_conflicts=True,
    )
    children = (
        Item.objects.for_workspace(workspace)
        .filter(parent_id=duplicate.id)
        .update(parent_id=into.id, version=F("version") + 1, updated_at=timezone.now())
    )
    history = (
        ScoreChange.objects.for_workspace(workspace)
        .filter(item_id=duplicate.id)
        .update(item_id=into.id, updated_at=timezone.now())
    )
    # Items merged earlier into the duplicate now point at `into`, so redirects take one hop.
    Item.objects.for_workspace(workspace).filter(merged_into_id=duplicate.id).update(
        merged_into_id=into.id, updated_at=timezone.now()
    )
    filled = _merge_inputs(workspace, source=duplicate.id, target=into.id)

    duplicate.merged_into = into
    duplicate.status = Item.Status.DECLINED
    duplicate.declined_reason = f"Merged into #{into.id}"
    _bump(duplicate, ["merged_into", "status", "declined_reason"])
    # A merged item no longer competes: its scores go, so it takes no position in rankings.
    ItemScore.objects.for_workspace(workspace).filter(item_id=duplicate.id).delete()
    into.version += 1
    into.save(update_fields=["version", "updated_at"])
    item_demand_refresh(workspace=workspace, item_ids=[duplicate.id, into.id])
    if filled:
        scoring.item_scores_recompute(
            workspace=workspace,
            item_ids=[into.id],
            cause=f"merged #{duplicate.id}: inputs {', '.join(filled)}",
            actor=actor,
        )
    audit_record(
        workspace=workspace,
        actor=actor,
        action="item.merged",
        target=into,
        changes={
            "merged": duplicate.id,
            "evidence": evidence,
            "evidence_dropped": dropped,
            "tags": sorted(tag_ids),
            "children": children,
            "score_changes": history,
            "inputs": filled,
        },
    )
    return into


def _merge_inputs(workspace: Workspace, *, source: int, target: int) -> list[str]:
    """Fill `target`'s blank scoring inputs from `source`'s; returns the keys filled."""
    inputs = ItemInputs.objects.for_workspace(workspace)
    theirs = inputs.filter(item_id=source).values_list("values", flat=True).first() or {}
    ours, _ = inputs.get_or_create(workspace=workspace, item_id=target)
    filled = sorted(k for k, v in theirs.items() if v is not None and ours.values.get(k) is None)
    if filled:
        ours.values = {**ours.values, **{k: theirs[k] for k in filled}}
        ours.save(update_fields=["values", "updated_at"])
    return filled
