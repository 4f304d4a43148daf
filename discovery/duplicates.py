"""Near-duplicate feedback: the same customer saying nearly the same thing twice.

The tagging worker flags each batch of new feedback (`flag_duplicates`): an item whose customer
sent a near-identical text earlier gets `duplicate_of` set to that earlier item. A PM then merges
it (`feedback_merge`), which moves its links to the earlier item and archives it, or dismisses
the flag (`feedback_duplicate_dismiss`).

What merging moves, and what it leaves:
- taggings (every origin), tag suggestions and insight evidence move to the kept item; a link
  the kept item already has is dropped rather than doubled. Insights whose evidence moved are
  recounted.
- highlights move when their quote is found in the kept item's text (re-anchored there, so the
  tags and evidence on them follow); the others stay on the archived duplicate, whose text they
  quote. The duplicate stays readable, points to the kept item (`merged_into`), and keeps its
  external id, so a re-import updates it instead of creating it again.

Only items of the same customer are merged, or an item without a customer into any other:
merging two customers' words would drop one of them from every insight's reach.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.postgres.search import TrigramSimilarity
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils import timezone

from discovery.models import Evidence, Feedback, Highlight, Tagging, TagSuggestion
from discovery.services import insights_reach_refresh, reanchor
from pmhub.core.exceptions import ApplicationError
from pmhub.workspaces.audit import audit_record
from pmhub.workspaces.models import Workspace

if TYPE_CHECKING:
    from pmhub.accounts.models import User

# pg_trgm similarity (shared trigrams over all trigrams) from which two texts are "the same
# thing twice": a resent ticket, a survey answered twice, an edit of a typo. Rewordings of one
# request score 0.3-0.6 and are a theme, not a duplicate.
SIMILARITY = 0.8


def flag_duplicates(*, workspace: Workspace, feedback_ids: list[int]) -> int:
    """Flag those of these items that repeat an earlier item of the same customer. Returns how
    many were flagged.

    Two queries per batch, whatever its size: one finds each item's best earlier match, one
    writes the flags. An item already flagged, merged, or without a customer is left alone;
    the earlier item must be neither merged nor itself flagged, so flags point at the first of
    a series. "Earlier" is (received_at, id) order, a total order: two items never flag each other.
    """
    if not feedback_ids:
        return 0
    feedback = Feedback.objects.for_workspace(workspace)
    earlier = (
        feedback.filter(
            customer_id=OuterRef("customer_id"),
            merged_into__isnull=True,
            duplicate_of__isnull=True,
        )
        .filter(
            Q(received_at__lt=OuterRef("received_at"))
            | Q(received_at=OuterRef("received_at"), id__lt=OuterRef("id"))
        )
        .annotate(similarity=TrigramSimilarity("text", OuterRef("text")))
        .filter(similarity__gte=SIMILARITY)
        .order_by("-similarity", "received_at", "id")
        .values("id")[:1]
    )
    matches = dict(
        feedback.filter(
            id__in=feedback_ids,
            customer__isnull=False,
            duplicate_of__isnull=True,
            duplicate_dismissed=False,
            merged_into__isnull=True,
        )
        .annotate(match=Subquery(earlier))
        .filter(match__isnull=False)
        .values_list("id", "match")
    )
    if not matches:
        return 0
    flagged = [Feedback(id=item_id, duplicate_of_id=match) for item_id, match in matches.items()]
    now = timezone.now()
    for item in flagged:
        item.updated_at = now  # bulk_update does not apply auto_now.
    Feedback.objects.bulk_update(flagged, ["duplicate_of", "updated_at"], batch_size=1000)
    return len(flagged)


def duplicate_of_get(*, workspace: Workspace, feedback: Feedback) -> Feedback | None:
    """The earlier item this one was flagged as repeating, with its customer, if any."""
    if feedback.duplicate_of_id is None:
        return None
    return (
        Feedback.objects.for_workspace(workspace)
        .select_related("customer")
        .filter(id=feedback.duplicate_of_id)
        .first()
    )


def _move_links(
    model: type[Tagging | TagSuggestion | Evidence],
    workspace: Workspace,
    *,
    unique_on: str,
    source: int,
    target: int,
) -> int:
    """Point `source`'s rows of `model` at `target`, dropping those `target` already has (same
    `unique_on` values). Returns how many moved."""
    rows = model.objects.for_workspace(workspace)
    same = {field: OuterRef(field) for field in unique_on.split(",")}
    rows.filter(feedback_id=source).filter(Exists(rows.filter(feedback_id=target, **same))).delete()
    return rows.filter(feedback_id=source).update(feedback_id=target)


def _backlog_repoint(workspace: Workspace, *, source: int, target: int) -> int:
    # The backlog builds on discovery (imported here, not at the top, because it imports us).
    from backlog.services import item_evidence_repoint_feedback

    return item_evidence_repoint_feedback(workspace=workspace, source=source, target=target)


@transaction.atomic
def feedback_merge(
    *, workspace: Workspace, actor: User | None, duplicate: Feedback, into: Feedback
) -> Feedback:
    """Merge `duplicate` into `into`: every link moves to `into`, `duplicate` is archived.

    Idempotent: merging an item again into the item it was merged into returns that item and
    changes nothing. Both rows are locked (in id order) for the whole merge.
    """
    if duplicate.id == into.id:
        raise ApplicationError("An item cannot be merged into itself.")
    rows = {
        f.id: f
        for f in Feedback.objects.for_workspace(workspace)
        .select_for_update()
        .filter(id__in=[duplicate.id, into.id])
        .order_by("id")
    }
    if len(rows) != 2:
        raise ValidationError({"into": "Unknown feedback."})
    duplicate, into = rows[duplicate.id], rows[into.id]
    if duplicate.merged_into_id == into.id:
        return into
    if duplicate.merged_into_id is not None:
        raise ApplicationError(
            f"Feedback #{duplicate.id} was already merged into #{duplicate.merged_into_id}."
        )
    if into.merged_into_id is not None:
        raise ApplicationError(
            f"Feedback #{into.id} was itself merged into #{into.merged_into_id}; "
            "merge into that one."
        )
    if duplicate.customer_id is not None and duplicate.customer_id != into.customer_id:
        raise ApplicationError(
            "These items come from different customers; merging would drop one of them from "
            "the insights that cite it."
        )

    insight_ids = set(
        Evidence.objects.for_workspace(workspace)
        .filter(Q(feedback_id=duplicate.id) | Q(highlight__feedback_id=duplicate.id))
        .values_list("insight_id", flat=True)
    )
    moved = {
        "taggings": _move_links(
            Tagging, workspace, unique_on="tag_id,origin", source=duplicate.id, target=into.id
        ),
        "suggestions": _move_links(
            TagSuggestion, workspace, unique_on="tag_id", source=duplicate.id, target=into.id
        ),
        "evidence": _move_links(
            Evidence, workspace, unique_on="insight_id", source=duplicate.id, target=into.id
        ),
        "highlights": 0,
        "backlog_evidence": _backlog_repoint(workspace, source=duplicate.id, target=into.id),
    }
    highlights = []
    for highlight in Highlight.objects.for_workspace(workspace).filter(feedback_id=duplicate.id):
        span = reanchor(into.text, start=highlight.start, end=highlight.end, quote=highlight.quote)
        if span is not None:
            highlight.feedback_id = into.id
            highlight.start, highlight.end = span
            highlight.needs_review = False
            highlights.append(highlight)
    Highlight.objects.bulk_update(highlights, ["feedback", "start", "end", "needs_review"])
    moved["highlights"] = len(highlights)
    # Items flagged as repeating the duplicate now repeat the item that carries its links.
    Feedback.objects.for_workspace(workspace).filter(duplicate_of_id=duplicate.id).exclude(
        id=into.id
    ).update(duplicate_of_id=into.id, updated_at=timezone.now())
    if into.duplicate_of_id == duplicate.id:
        into.duplicate_of = None
        into.save(update_fields=["duplicate_of", "updated_at"])
    duplicate.status = Feedback.Status.ARCHIVED
    duplicate.merged_into = into
    duplicate.duplicate_of = None
    duplicate.save(update_fields=["status", "merged_into", "duplicate_of", "updated_at"])
    insights_reach_refresh(workspace, insight_ids)
    audit_record(
        workspace=workspace,
        actor=actor,
        action="feedback.merged",
        target=into,
        changes={"merged": duplicate.id, **moved},
    )
    return into


@transaction.atomic
def feedback_duplicate_dismiss(
    *, workspace: Workspace, actor: User | None, feedback: Feedback
) -> Feedback:
    """Say this item is not a duplicate after all: the flag goes (a second call does nothing)."""
    feedback = Feedback.objects.for_workspace(workspace).select_for_update().get(id=feedback.id)
    if feedback.duplicate_of_id is None:
        return feedback
    audit_record(
        workspace=workspace,
        actor=actor,
        action="feedback.duplicate_dismissed",
        target=feedback,
        changes={"duplicate_of": feedback.duplicate_of_id},
    )
    feedback.duplicate_of = None
    feedback.duplicate_dismissed = True
    feedback.save(update_fields=["duplicate_of", "duplicate_dismissed", "updated_at"])
    return feedback
