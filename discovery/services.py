"""Writes of discovery: the one path for UI, API, imports and tasks."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from discovery.models import (
    FEEDBACK_MAX_CHARS,
    TRANSCRIPT_MAX_CHARS,
    Company,
    Customer,
    Evidence,
    Feedback,
    Highlight,
    Insight,
    Interview,
    InterviewParticipant,
    Tag,
    Tagging,
    TagRule,
    TagSuggestion,
)
from discovery.tagging import enqueue_tagging, person_labelled, person_untagged
from pmhub.core.exceptions import ApplicationError
from pmhub.workspaces.audit import audit_record
from pmhub.workspaces.models import Workspace

if TYPE_CHECKING:
    from pmhub.accounts.models import User


class StaleEditError(ApplicationError):
    """Someone saved the object after this edit was started. The API answers 409."""

    status_code = 409


def _check_text(value: str, *, field: str, limit: int, required: bool = True) -> str:
    value = (value or "").replace("\x00", "")
    if required and not value.strip():
        raise ValidationError({field: "This field is required."})
    if len(value) > limit:
        raise ValidationError(
            {field: f"Too long: {len(value):,} characters; the limit is {limit:,}."}
        )
    return value


# --- companies and customers -----------------------------------------------------------------
@transaction.atomic
def company_upsert(
    *,
    workspace: Workspace,
    actor: User | None,
    name: str,
    domain: str = "",
    arr: Decimal | None = None,
    plan: str = "",
    segment: str = "",
    attributes: dict[str, Any] | None = None,
) -> tuple[Company, bool]:
    """Create the company, or update the one with the same domain. Returns (company, created)."""
    domain = (domain or "").strip().lower()
    company = None
    if domain:
        company = Company.objects.for_workspace(workspace).filter(domain__iexact=domain).first()
    if company is None:
        company = (
            Company.objects.for_workspace(workspace)
            .filter(name__iexact=name.strip(), domain="")
            .first()
        )
    created = company is None
    company = company or Company(workspace=workspace)
    company.name = name.strip()
    company.domain = domain
    company.arr = arr
    company.plan = plan.strip()
    company.segment = segment.strip()
    company.attributes = {**(company.attributes or {}), **(attributes or {})}
    company.full_clean(exclude=["workspace"], validate_unique=False)
    company.save()
    if created:
        audit_record(
            workspace=workspace,
            actor=actor,
            action="company.created",
            target=company,
            changes={"name": company.name},
        )
    return company, created


@transaction.atomic
def customer_upsert(
    *,
    workspace: Workspace,
    actor: User | None,
    email: str = "",
    name: str = "",
    company: Company | None = None,
    attributes: dict[str, Any] | None = None,
) -> tuple[Customer, bool]:
    """Create the customer, or update the one with the same email. Returns (customer, created)."""
    email = (email or "").strip().lower()
    if not email and not name.strip():
        raise ValidationError({"email": "A customer needs an email or a name."})
    if company is not None and company.workspace_id != workspace.id:
        raise ValidationError({"company": "Unknown company."})
    customer = None
    if email:
        customer = Customer.objects.for_workspace(workspace).filter(email__iexact=email).first()
    created = customer is None
    customer = customer or Customer(workspace=workspace)
    customer.email = email
    customer.name = name.strip() or customer.name
    customer.company = company or customer.company
    customer.attributes = {**(customer.attributes or {}), **(attributes or {})}
    customer.full_clean(exclude=["workspace"], validate_unique=False)
    customer.save()
    if customer.company_id:
        # Feedback carries its customer's company for filters without joins.
        Feedback.objects.for_workspace(workspace).filter(customer=customer).exclude(
            company_id=customer.company_id
        ).update(company_id=customer.company_id)
    return customer, created


# --- feedback --------------------------------------------------------------------------------
@dataclass(frozen=True)
class FeedbackInput:
    text: str
    source: str = Feedback.Source.MANUAL
    external_id: str = ""
    external_url: str = ""
    customer_id: int | None = None
    received_at: datetime | None = None


_SOURCES = frozenset(Feedback.Source.values)


def _clean_feedback(
    workspace: Workspace, data: FeedbackInput, customers: dict[int, Customer] | None = None
) -> dict[str, Any]:
    """The model fields of one item, validated. `customers` (by id) spares a query per item."""
    text = _check_text(data.text, field="text", limit=FEEDBACK_MAX_CHARS)
    if data.source not in _SOURCES:
        raise ValidationError({"source": f"Choose one of: {', '.join(Feedback.Source.values)}."})
    customer = None
    if data.customer_id is not None:
        if customers is None:
            customer = Customer.objects.for_workspace(workspace).filter(id=data.customer_id).first()
        else:
            customer = customers.get(data.customer_id)
        if customer is None:
            raise ValidationError({"customer": "Unknown customer."})
    return {
        "text": text,
        "source": data.source,
        "external_id": (data.external_id or "").strip()[:200],
        "external_url": (data.external_url or "").strip(),
        "customer": customer,
        "company_id": customer.company_id if customer else None,
        # None means "not given": a new item is received now, an existing one keeps its date.
        "received_at": data.received_at,
    }


@transaction.atomic
def feedback_create(*, workspace: Workspace, actor: User | None, data: FeedbackInput) -> Feedback:
    """Create one feedback item; an external id already imported is refused."""
    fields = _clean_feedback(workspace, data)
    fields["received_at"] = fields["received_at"] or timezone.now()
    feedback = Feedback(workspace=workspace, created_by=actor, **fields)
    feedback.full_clean(
        exclude=["workspace", "customer", "created_by"],
        validate_unique=False,
        validate_constraints=False,
    )
    try:
        with transaction.atomic():
            feedback.save()
    except IntegrityError as exc:
        raise ApplicationError(
            f"Feedback {fields['external_id']!r} from {data.source} is already in pmhub."
        ) from exc
    enqueue_tagging(workspace, feedback_ids=[feedback.id])
    return feedback


@dataclass(frozen=True)
class UpsertResult:
    created: int
    updated: int
    unchanged: int
    ids: list[int]


def feedback_bulk_upsert(
    *, workspace: Workspace, actor: User | None, items: Iterable[FeedbackInput]
) -> UpsertResult:
    """Insert or update many items, idempotent on (workspace, source, external id).

    Items without an external id are always created. The same batch twice changes nothing.
    Every item is validated first; a ValidationError names the item's position.
    """
    items = list(items)
    # One query for every customer of the batch, not one per item.
    customers = Customer.objects.for_workspace(workspace).in_bulk(
        {item.customer_id for item in items if item.customer_id is not None}
    )
    cleaned: list[dict[str, Any]] = []
    for position, item in enumerate(items):
        try:
            cleaned.append(_clean_feedback(workspace, item, customers))
        except ValidationError as exc:
            raise ValidationError({f"items[{position}]": exc.messages}) from exc
    keyed = {(c["source"], c["external_id"]): c for c in cleaned if c["external_id"]}
    with transaction.atomic():
        existing = {
            (f.source, f.external_id): f
            # Two IN lists use the (workspace, source, external_id) index; an OR of 1,000 pairs
            # does not. A few extra rows may come back; the dict keeps only exact keys.
            for f in Feedback.objects.for_workspace(workspace)
            .filter(
                source__in={s for s, _ in keyed},
                external_id__in=[e for _, e in keyed],
            )
            # Spelled like the unique index's condition, so the planner may use that index.
            .exclude(external_id="")
            .select_for_update(of=("self",))
        }
        created: list[Feedback] = []
        changed: list[Feedback] = []
        unchanged = 0
        ids: list[int] = []
        seen: set[tuple[str, str]] = set()
        for fields in cleaned:
            key = (fields["source"], fields["external_id"])
            if fields["external_id"] and key in seen:
                continue
            seen.add(key)
            current = existing.get(key) if fields["external_id"] else None
            if current is None:
                created.append(
                    Feedback(
                        workspace=workspace,
                        created_by=actor,
                        **{**fields, "received_at": fields["received_at"] or timezone.now()},
                    )
                )
                continue
            new_values = {
                "text": fields["text"],
                "external_url": fields["external_url"],
                "customer_id": fields["customer"].id if fields["customer"] else None,
                "company_id": fields["company_id"],
                "received_at": fields["received_at"] or current.received_at,
            }
            if all(getattr(current, k) == v for k, v in new_values.items()):
                unchanged += 1
            else:
                for k, v in new_values.items():
                    setattr(current, k, v)
                current.updated_at = timezone.now()  # bulk_update does not apply auto_now.
                changed.append(current)
            ids.append(current.id)
        Feedback.objects.bulk_create(created, batch_size=1000)
        if changed:
            Feedback.objects.bulk_update(
                changed,
                ["text", "external_url", "customer", "company", "received_at", "updated_at"],
                batch_size=1000,
            )
        # One tagging task per batch; unchanged items are skipped by their text hash.
        enqueue_tagging(workspace, feedback_ids=[f.id for f in created] + ids)
    return UpsertResult(
        created=len(created),
        updated=len(changed),
        unchanged=unchanged,
        ids=[f.id for f in created] + ids,
    )


@transaction.atomic
def feedback_update(
    *, workspace: Workspace, actor: User | None, feedback: Feedback, **changes: Any
) -> Feedback:
    """Change text, customer, source details or received date of one item."""
    feedback = Feedback.objects.for_workspace(workspace).select_for_update().get(id=feedback.id)
    customer_changed = False
    if "text" in changes:
        feedback.text = _check_text(changes.pop("text"), field="text", limit=FEEDBACK_MAX_CHARS)
        _reanchor_highlights(
            workspace,
            Highlight.objects.for_workspace(workspace).filter(feedback=feedback),
            feedback.text,
        )
    if "customer_id" in changes:
        customer_id = changes.pop("customer_id")
        customer = None
        if customer_id is not None:
            customer = Customer.objects.for_workspace(workspace).filter(id=customer_id).first()
            if customer is None:
                raise ValidationError({"customer": "Unknown customer."})
        customer_changed = feedback.customer_id != (customer.id if customer else None)
        feedback.customer = customer
        feedback.company_id = customer.company_id if customer else None
    for field in ("external_url", "received_at"):
        if field in changes:
            setattr(feedback, field, changes.pop(field))
    if changes:
        raise ValidationError(dict.fromkeys(changes, "This field cannot be changed."))
    feedback.save()
    enqueue_tagging(workspace, feedback_ids=[feedback.id])
    if customer_changed:
        insight_ids = Evidence.objects.for_workspace(workspace).filter(
            Q(feedback=feedback) | Q(highlight__feedback=feedback)
        )
        insights_reach_refresh(workspace, insight_ids.values_list("insight_id", flat=True))
        _backlog_demand_refresh(workspace, _backlog_items(workspace, feedback_ids=[feedback.id]))
    return feedback


@transaction.atomic
def feedback_set_status(
    *, workspace: Workspace, actor: User | None, feedback_ids: list[int], status: str
) -> int:
    """Move feedback items to a status (triage, archive, reopen). Returns how many changed."""
    if status not in Feedback.Status.values:
        raise ValidationError({"status": f"Choose one of: {', '.join(Feedback.Status.values)}."})
    return (
        Feedback.objects.for_workspace(workspace)
        .filter(id__in=feedback_ids)
        .exclude(status=status)
        .update(status=status, updated_at=timezone.now())
    )


@transaction.atomic
def feedback_delete(*, workspace: Workspace, actor: User | None, feedback: Feedback) -> None:
    # The item's highlights go with it, and so does any evidence citing them.
    insight_ids = list(
        Evidence.objects.for_workspace(workspace)
        .filter(Q(feedback=feedback) | Q(highlight__feedback=feedback))
        .values_list("insight_id", flat=True)
    )
    item_ids = _backlog_items(workspace, feedback_ids=[feedback.id])
    Feedback.objects.for_workspace(workspace).filter(id=feedback.id).delete()
    insights_reach_refresh(workspace, insight_ids)
    _backlog_demand_refresh(workspace, item_ids)


# --- tags ------------------------------------------------------------------------------------
def _check_color(color: str) -> str:
    color = (color or "#6366f1").strip()
    if len(color) != 7 or not color.startswith("#"):
        raise ValidationError({"color": "Use a colour like #6366f1."})
    try:
        int(color[1:], 16)
    except ValueError as exc:
        raise ValidationError({"color": "Use a colour like #6366f1."}) from exc
    return color.lower()


@transaction.atomic
def tag_create(
    *,
    workspace: Workspace,
    actor: User | None,
    name: str,
    group: str = "",
    color: str = "#6366f1",
    description: str = "",
) -> Tag:
    tag = Tag(
        workspace=workspace,
        name=name.strip(),
        group=group.strip(),
        color=_check_color(color),
        description=description.strip(),
    )
    tag.full_clean(exclude=["workspace"], validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            tag.save()
    except IntegrityError as exc:
        raise ValidationError({"name": f"A tag named {tag.name!r} already exists."}) from exc
    audit_record(
        workspace=workspace,
        actor=actor,
        action="tag.created",
        target=tag,
        changes={"name": tag.name},
    )
    return tag


@transaction.atomic
def tag_update(*, workspace: Workspace, actor: User | None, tag: Tag, **changes: Any) -> Tag:
    """Rename, regroup, recolour or describe a tag."""
    tag = Tag.objects.for_workspace(workspace).select_for_update().get(id=tag.id)
    before = {f: getattr(tag, f) for f in ("name", "group", "color", "description")}
    for field in ("name", "group", "description"):
        if field in changes:
            setattr(tag, field, (changes[field] or "").strip())
    if "color" in changes:
        tag.color = _check_color(changes["color"])
    tag.full_clean(exclude=["workspace"], validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            tag.save()
    except IntegrityError as exc:
        raise ValidationError({"name": f"A tag named {tag.name!r} already exists."}) from exc
    diff = {f: [before[f], getattr(tag, f)] for f in before if before[f] != getattr(tag, f)}
    if diff:
        audit_record(
            workspace=workspace, actor=actor, action="tag.updated", target=tag, changes=diff
        )
    return tag


@transaction.atomic
def tag_merge(*, workspace: Workspace, actor: User | None, source: Tag, target: Tag) -> Tag:
    """Move every tagging of `source` to `target`, then delete `source`."""
    if source.id == target.id:
        raise ApplicationError("Choose two different tags to merge.")
    tags = {
        t.id: t
        for t in Tag.objects.for_workspace(workspace)
        .select_for_update()
        .filter(id__in=[source.id, target.id])
        .order_by("id")
    }
    if len(tags) != 2:
        raise ValidationError({"target": "Unknown tag."})
    taggings = Tagging.objects.for_workspace(workspace)
    # Links the survivor already has (same item, same origin) would collide; drop them first.
    for origin in Tagging.Origin.values:
        for target_field in ("feedback_id", "highlight_id"):
            taggings.filter(
                tag_id=source.id,
                origin=origin,
                **{
                    f"{target_field}__in": taggings.filter(
                        tag_id=target.id, origin=origin, **{f"{target_field}__isnull": False}
                    ).values(target_field)
                },
            ).delete()
    suggestions = TagSuggestion.objects.for_workspace(workspace)
    for target_field in ("feedback_id", "highlight_id"):
        suggestions.filter(
            tag_id=source.id,
            **{
                f"{target_field}__in": suggestions.filter(
                    tag_id=target.id, **{f"{target_field}__isnull": False}
                ).values(target_field)
            },
        ).delete()
    suggestions.filter(tag_id=source.id).update(tag_id=target.id)
    TagRule.objects.for_workspace(workspace).filter(tag_id=source.id).exclude(
        pattern__in=TagRule.objects.for_workspace(workspace)
        .filter(tag_id=target.id)
        .values("pattern")
    ).update(tag_id=target.id)
    moved = taggings.filter(tag_id=source.id).update(tag_id=target.id)
    audit_record(
        workspace=workspace,
        actor=actor,
        action="tag.merged",
        target=tags[target.id],
        changes={"merged": tags[source.id].name, "moved": moved},
    )
    Tag.objects.for_workspace(workspace).filter(id=source.id).delete()
    return tags[target.id]


@transaction.atomic
def tag_delete(*, workspace: Workspace, actor: User | None, tag: Tag) -> None:
    audit_record(
        workspace=workspace,
        actor=actor,
        action="tag.deleted",
        target=tag,
        changes={"name": tag.name},
    )
    Tag.objects.for_workspace(workspace).filter(id=tag.id).delete()


def _tag_in(workspace: Workspace, tag_id: int) -> Tag:
    tag = Tag.objects.for_workspace(workspace).filter(id=tag_id).first()
    if tag is None:
        raise ValidationError({"tag": "Unknown tag."})
    return tag


@transaction.atomic
def feedback_tag(
    *,
    workspace: Workspace,
    actor: User | None,
    feedback_ids: list[int],
    tag_id: int,
    origin: str = Tagging.Origin.PERSON,
    confidence: float | None = None,
) -> int:
    """Tag feedback items; items already carrying the tag are left alone. Returns how many."""
    tag = _tag_in(workspace, tag_id)
    ids = list(
        Feedback.objects.for_workspace(workspace)
        .filter(id__in=feedback_ids)
        .values_list("id", flat=True)
    )
    rows = [
        Tagging(
            workspace=workspace,
            tag=tag,
            feedback_id=i,
            origin=origin,
            confidence=confidence,
            created_by=actor,
        )
        for i in ids
    ]
    before = (
        Tagging.objects.for_workspace(workspace)
        .filter(tag=tag, feedback_id__in=ids, origin=origin)
        .count()
    )
    Tagging.objects.bulk_create(rows, ignore_conflicts=True)
    if origin == Tagging.Origin.PERSON:
        person_labelled(workspace, tag_id=tag.id, feedback_ids=ids)
    return len(ids) - before


@transaction.atomic
def feedback_untag(
    *, workspace: Workspace, actor: User | None, feedback_ids: list[int], tag_id: int
) -> int:
    tag = _tag_in(workspace, tag_id)
    person_untagged(workspace, actor, tag_id=tag.id, feedback_ids=feedback_ids)
    deleted, _ = (
        Tagging.objects.for_workspace(workspace)
        .filter(tag=tag, feedback_id__in=feedback_ids)
        .delete()
    )
    return deleted


@transaction.atomic
def highlight_tag(
    *, workspace: Workspace, actor: User | None, highlight: Highlight, tag_id: int
) -> Tagging:
    tag = _tag_in(workspace, tag_id)
    tagging, _ = Tagging.objects.for_workspace(workspace).get_or_create(
        workspace=workspace,
        tag=tag,
        highlight=highlight,
        origin=Tagging.Origin.PERSON,
        defaults={"created_by": actor},
    )
    person_labelled(workspace, tag_id=tag.id, highlight_ids=[highlight.id])
    return tagging


@transaction.atomic
def highlight_untag(
    *, workspace: Workspace, actor: User | None, highlight: Highlight, tag_id: int
) -> None:
    person_untagged(workspace, actor, tag_id=tag_id, highlight_ids=[highlight.id])
    Tagging.objects.for_workspace(workspace).filter(highlight=highlight, tag_id=tag_id).delete()


# --- interviews and highlights ---------------------------------------------------------------
def _participants_in(workspace: Workspace, customer_ids: Iterable[int]) -> list[Customer]:
    ids = set(customer_ids)
    customers = list(Customer.objects.for_workspace(workspace).filter(id__in=ids))
    if len(customers) != len(ids):
        raise ValidationError({"participants": "Unknown customer."})
    return customers


def _set_participants(
    workspace: Workspace, interview: Interview, customers: list[Customer]
) -> None:
    participants = InterviewParticipant.objects.for_workspace(workspace)
    participants.filter(interview=interview).exclude(
        customer_id__in=[c.id for c in customers]
    ).delete()
    InterviewParticipant.objects.bulk_create(
        [
            InterviewParticipant(workspace=workspace, interview=interview, customer=c)
            for c in customers
        ],
        ignore_conflicts=True,
    )


@transaction.atomic
def interview_create(
    *,
    workspace: Workspace,
    actor: User | None,
    title: str,
    held_on: Any = None,
    transcript: str = "",
    notes: str = "",
    participant_ids: Iterable[int] = (),
) -> Interview:
    interview = Interview(
        workspace=workspace,
        title=_check_text(title, field="title", limit=200),
        held_on=held_on,
        created_by=actor,
        transcript=_check_text(
            transcript, field="transcript", limit=TRANSCRIPT_MAX_CHARS, required=False
        ),
        notes=_check_text(notes, field="notes", limit=FEEDBACK_MAX_CHARS, required=False),
    )
    interview.save()
    _set_participants(workspace, interview, _participants_in(workspace, participant_ids))
    audit_record(
        workspace=workspace,
        actor=actor,
        action="interview.created",
        target=interview,
        changes={"title": interview.title},
    )
    return interview


def reanchor(text: str, *, start: int, end: int, quote: str) -> tuple[int, int] | None:
    """Where `quote` stands in `text` now: the same place, else its nearest occurrence, or None."""
    if text[start:end] == quote:
        return start, end
    positions = []
    index = text.find(quote)
    while index != -1:
        positions.append(index)
        index = text.find(quote, index + 1)
    if not positions:
        return None
    nearest = min(positions, key=lambda p: abs(p - start))
    return nearest, nearest + len(quote)


def _reanchor_highlights(workspace: Workspace, highlights: Iterable[Highlight], text: str) -> int:
    """Move each highlight to where its quote now is; flag those whose words are gone."""
    flagged = 0
    changed = []
    for highlight in highlights:
        span = reanchor(text, start=highlight.start, end=highlight.end, quote=highlight.quote)
        if span is None:
            if not highlight.needs_review:
                highlight.needs_review = True
                changed.append(highlight)
            flagged += 1
        elif (highlight.start, highlight.end) != span or highlight.needs_review:
            highlight.start, highlight.end = span
            highlight.needs_review = False
            changed.append(highlight)
    Highlight.objects.bulk_update(changed, ["start", "end", "needs_review", "updated_at"])
    return flagged


@transaction.atomic
def interview_update(
    *,
    workspace: Workspace,
    actor: User | None,
    interview: Interview,
    version: int,
    **changes: Any,
) -> Interview:
    """Save an edit made on `version`; a later save in between is refused, not overwritten."""
    interview = Interview.objects.for_workspace(workspace).select_for_update().get(id=interview.id)
    if interview.version != version:
        raise StaleEditError(
            "Someone else saved this interview while you were editing it. Reload to see their "
            "changes, then make yours again.",
            extra={"version": interview.version},
        )
    if "title" in changes:
        interview.title = _check_text(changes.pop("title"), field="title", limit=200)
    if "held_on" in changes:
        interview.held_on = changes.pop("held_on")
    if "notes" in changes:
        interview.notes = _check_text(
            changes.pop("notes"), field="notes", limit=FEEDBACK_MAX_CHARS, required=False
        )
    if "participant_ids" in changes:
        _set_participants(
            workspace, interview, _participants_in(workspace, changes.pop("participant_ids"))
        )
    if "transcript" in changes:
        interview.transcript = _check_text(
            changes.pop("transcript"),
            field="transcript",
            limit=TRANSCRIPT_MAX_CHARS,
            required=False,
        )
        _reanchor_highlights(
            workspace,
            Highlight.objects.for_workspace(workspace).filter(interview=interview),
            interview.transcript,
        )
    if changes:
        raise ValidationError(dict.fromkeys(changes, "This field cannot be changed."))
    interview.version += 1
    interview.save()
    return interview


@transaction.atomic
def highlight_create(
    *,
    workspace: Workspace,
    actor: User | None,
    start: int,
    end: int,
    interview: Interview | None = None,
    feedback: Feedback | None = None,
    tag_ids: Iterable[int] = (),
    quote: str | None = None,
) -> Highlight:
    """Highlight the words between `start` and `end` of a transcript or feedback text.

    With `quote` (the words the person selected), offsets taken from an older version of the
    text are moved to where those words are now, or refused.
    """
    if (interview is None) == (feedback is None):
        raise ValidationError("Highlight a transcript or a feedback text, not both.")
    source = interview or feedback
    assert source is not None
    if source.workspace_id != workspace.id:
        raise ValidationError("Unknown interview or feedback.")
    # Offsets are checked against the text as it is now, held still until the highlight is saved.
    if interview is not None:
        interview = (
            Interview.objects.for_workspace(workspace).select_for_update().get(id=interview.id)
        )
        text = interview.transcript
    else:
        feedback = Feedback.objects.for_workspace(workspace).select_for_update().get(id=feedback.id)  # type: ignore[union-attr]
        text = feedback.text
    if quote and 0 <= start < end and text[start:end] != quote:
        # The text changed after the words were selected: find them again, or refuse.
        span = reanchor(text, start=start, end=end, quote=quote)
        if span is None:
            raise ValidationError(
                {
                    "start": "The text changed since you selected these words. Reload and select "
                    "them again."
                }
            )
        start, end = span
    if not (0 <= start < end <= len(text)):
        raise ValidationError(
            {"start": f"The span {start}–{end} is outside the text (0–{len(text)})."}
        )
    quote = text[start:end]
    if not quote.strip():
        raise ValidationError({"start": "Select some words, not only spaces."})
    highlight = Highlight.objects.create(
        workspace=workspace,
        interview=interview,
        feedback=feedback,
        start=start,
        end=end,
        quote=quote,
        author=actor,
    )
    for tag_id in tag_ids:
        highlight_tag(workspace=workspace, actor=actor, highlight=highlight, tag_id=tag_id)
    enqueue_tagging(workspace, highlight_ids=[highlight.id])
    return highlight


@transaction.atomic
def highlight_delete(*, workspace: Workspace, actor: User | None, highlight: Highlight) -> None:
    insight_ids = list(
        Evidence.objects.for_workspace(workspace)
        .filter(highlight=highlight)
        .values_list("insight_id", flat=True)
    )
    Highlight.objects.for_workspace(workspace).filter(id=highlight.id).delete()
    insights_reach_refresh(workspace, insight_ids)


# --- insights and evidence -------------------------------------------------------------------
@transaction.atomic
def insight_create(
    *,
    workspace: Workspace,
    actor: User | None,
    title: str,
    summary: str = "",
    status: str = Insight.Status.DRAFT,
) -> Insight:
    if status not in Insight.Status.values:
        raise ValidationError({"status": "Choose draft, validated or archived."})
    insight = Insight.objects.create(
        workspace=workspace,
        created_by=actor,
        status=status,
        validated_at=timezone.now() if status == Insight.Status.VALIDATED else None,
        title=_check_text(title, field="title", limit=200),
        summary=_check_text(summary, field="summary", limit=FEEDBACK_MAX_CHARS, required=False),
    )
    audit_record(
        workspace=workspace,
        actor=actor,
        action="insight.created",
        target=insight,
        changes={"title": insight.title},
    )
    return insight


@transaction.atomic
def insight_update(
    *, workspace: Workspace, actor: User | None, insight: Insight, version: int, **changes: Any
) -> Insight:
    """Save an edit made on `version`; a later save in between is refused, not overwritten."""
    insight = Insight.objects.for_workspace(workspace).select_for_update().get(id=insight.id)
    if insight.version != version:
        raise StaleEditError(
            "Someone else saved this insight while you were editing it. Reload to see their "
            "changes, then make yours again.",
            extra={"version": insight.version},
        )
    before = {"title": insight.title, "summary": insight.summary, "status": insight.status}
    if "title" in changes:
        insight.title = _check_text(changes.pop("title"), field="title", limit=200)
    if "summary" in changes:
        insight.summary = _check_text(
            changes.pop("summary"), field="summary", limit=FEEDBACK_MAX_CHARS, required=False
        )
    if "status" in changes:
        status = changes.pop("status")
        if status not in Insight.Status.values:
            raise ValidationError({"status": "Choose draft, validated or archived."})
        if status == Insight.Status.VALIDATED and insight.status != status:
            insight.validated_at = timezone.now()
        insight.status = status
    if changes:
        raise ValidationError(dict.fromkeys(changes, "This field cannot be changed."))
    insight.version += 1
    insight.save()
    diff = {
        k: [v, getattr(insight, k)]
        for k, v in before.items()
        if v != getattr(insight, k) and k != "summary"
    }
    if before["summary"] != insight.summary:
        diff["summary"] = "edited"
    audit_record(
        workspace=workspace, actor=actor, action="insight.updated", target=insight, changes=diff
    )
    return insight


def insight_reach_refresh(*, workspace: Workspace, insight_id: int) -> None:
    """Recount an insight's evidence, distinct customers and companies, and their ARR."""
    evidence = Evidence.objects.for_workspace(workspace).filter(insight_id=insight_id)
    customer_ids = (
        set(evidence.filter(feedback__isnull=False).values_list("feedback__customer_id", flat=True))
        | set(
            InterviewParticipant.objects.for_workspace(workspace)
            .filter(
                interview_id__in=evidence.filter(highlight__interview__isnull=False).values(
                    "highlight__interview_id"
                )
            )
            .values_list("customer_id", flat=True)
        )
        | set(
            evidence.filter(highlight__feedback__isnull=False).values_list(
                "highlight__feedback__customer_id", flat=True
            )
        )
    )
    customer_ids.discard(None)
    companies = Company.objects.for_workspace(workspace).filter(
        id__in=Customer.objects.for_workspace(workspace)
        .filter(id__in=customer_ids)
        .values("company_id")
    )
    totals = companies.aggregate(count=Count("id"), arr=Sum("arr"))
    Insight.objects.for_workspace(workspace).filter(id=insight_id).update(
        evidence_count=evidence.count(),
        customer_count=len(customer_ids),
        company_count=totals["count"] or 0,
        arr=totals["arr"] or Decimal(0),
    )


def insights_reach_refresh(workspace: Workspace, insight_ids: Iterable[int]) -> None:
    """Recount each of these insights once (in id order, so locks are taken in one order), and
    the demand of the backlog items they support."""
    insight_ids = sorted(set(insight_ids))
    for insight_id in insight_ids:
        insight_reach_refresh(workspace=workspace, insight_id=insight_id)
    _backlog_demand_refresh(workspace, _backlog_items(workspace, insight_ids=insight_ids))


# The backlog builds on discovery: its items count the customers behind their evidence. These
# two calls keep that count current when discovery changes who stands behind what (imported here,
# not at the top, because backlog imports discovery).
def _backlog_items(workspace: Workspace, **through: Iterable[int]) -> set[int]:
    from backlog.selectors import item_ids_asked_through

    return item_ids_asked_through(workspace=workspace, **through)


def _backlog_demand_refresh(workspace: Workspace, item_ids: Iterable[int]) -> None:
    from backlog.services import item_demand_refresh

    item_demand_refresh(workspace=workspace, item_ids=item_ids)


@transaction.atomic
def evidence_add(
    *,
    workspace: Workspace,
    actor: User | None,
    insight: Insight,
    feedback: Feedback | None = None,
    highlight: Highlight | None = None,
    note: str = "",
) -> Evidence:
    """Cite a feedback item or a highlight in an insight (once); reach is recounted."""
    if (feedback is None) == (highlight is None):
        raise ValidationError("Cite a feedback item or a highlight.")
    for obj in (insight, feedback, highlight):
        if obj is not None and obj.workspace_id != workspace.id:
            raise ValidationError("Unknown insight, feedback or highlight.")
    evidence, created = Evidence.objects.for_workspace(workspace).get_or_create(
        workspace=workspace,
        insight=insight,
        feedback=feedback,
        highlight=highlight,
        defaults={
            "note": _check_text(note, field="note", limit=500, required=False),
            "created_by": actor,
        },
    )
    if created:
        insights_reach_refresh(workspace, [insight.id])
        audit_record(
            workspace=workspace,
            actor=actor,
            action="insight.evidence_added",
            target=insight,
            changes={
                "feedback": feedback.id if feedback else None,
                "highlight": highlight.id if highlight else None,
            },
        )
    return evidence


@transaction.atomic
def feedback_cite(
    *, workspace: Workspace, actor: User | None, feedback_ids: list[int], insight_id: int
) -> int:
    """Cite many feedback items in one insight (each once); reach is recounted once."""
    insight = Insight.objects.for_workspace(workspace).filter(id=insight_id).first()
    if insight is None:
        raise ValidationError({"insight": "Unknown insight."})
    ids = list(
        Feedback.objects.for_workspace(workspace)
        .filter(id__in=feedback_ids)
        # NOT IN over NULLs matches nothing: leave out the insight's highlight evidence.
        .exclude(
            id__in=Evidence.objects.for_workspace(workspace)
            .filter(insight=insight, feedback__isnull=False)
            .values("feedback_id")
        )
        .values_list("id", flat=True)
    )
    Evidence.objects.bulk_create(
        [
            Evidence(workspace=workspace, insight=insight, feedback_id=i, created_by=actor)
            for i in ids
        ],
        ignore_conflicts=True,
    )
    if ids:
        insights_reach_refresh(workspace, [insight.id])
        audit_record(
            workspace=workspace,
            actor=actor,
            action="insight.evidence_added",
            target=insight,
            changes={"feedback": ids},
        )
    return len(ids)


@transaction.atomic
def evidence_remove(*, workspace: Workspace, actor: User | None, evidence: Evidence) -> None:
    Evidence.objects.for_workspace(workspace).filter(id=evidence.id).delete()
    insights_reach_refresh(workspace, [evidence.insight_id])


# --- API additions: updates and deletes of people, interviews and insights, bulk push --------
def _insight_ids_citing_customers(workspace: Workspace, customer_ids: Iterable[int]) -> set[int]:
    """Insights whose evidence quotes one of these customers (their reach depends on them)."""
    ids = list(customer_ids)
    if not ids:
        return set()
    interview_ids = (
        InterviewParticipant.objects.for_workspace(workspace)
        .filter(customer_id__in=ids)
        .values("interview_id")
    )
    return set(
        Evidence.objects.for_workspace(workspace)
        .filter(
            Q(feedback__customer_id__in=ids)
            | Q(highlight__feedback__customer_id__in=ids)
            | Q(highlight__interview_id__in=interview_ids)
        )
        .values_list("insight_id", flat=True)
    )


@transaction.atomic
def company_update(
    *, workspace: Workspace, actor: User | None, company: Company, **changes: Any
) -> Company:
    """Change name, domain, ARR, plan, segment or attributes; insights citing it are recounted."""
    company = Company.objects.for_workspace(workspace).select_for_update().get(id=company.id)
    arr_before = company.arr
    for field in ("name", "plan", "segment"):
        if field in changes:
            setattr(company, field, (changes.pop(field) or "").strip())
    if "domain" in changes:
        company.domain = (changes.pop("domain") or "").strip().lower()
    if "arr" in changes:
        company.arr = changes.pop("arr")
    if "attributes" in changes:
        company.attributes = changes.pop("attributes") or {}
    if changes:
        raise ValidationError(dict.fromkeys(changes, "This field cannot be changed."))
    company.full_clean(exclude=["workspace"], validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            company.save()
    except IntegrityError as exc:
        raise ValidationError(
            {"domain": f"A company with the domain {company.domain!r} already exists."}
        ) from exc
    if company.arr != arr_before:
        customer_ids = (
            Customer.objects.for_workspace(workspace)
            .filter(company=company)
            .values_list("id", flat=True)
        )
        insights_reach_refresh(workspace, _insight_ids_citing_customers(workspace, customer_ids))
        _backlog_demand_refresh(workspace, _backlog_items(workspace, customer_ids=customer_ids))
    return company


@transaction.atomic
def company_delete(*, workspace: Workspace, actor: User | None, company: Company) -> None:
    """Delete a company; its customers and feedback stay, without a company."""
    customer_ids = list(
        Customer.objects.for_workspace(workspace)
        .filter(company_id=company.id)
        .values_list("id", flat=True)
    )
    insight_ids = _insight_ids_citing_customers(workspace, customer_ids)
    audit_record(
        workspace=workspace,
        actor=actor,
        action="company.deleted",
        target=company,
        changes={"name": company.name},
    )
    Company.objects.for_workspace(workspace).filter(id=company.id).delete()
    insights_reach_refresh(workspace, insight_ids)
    _backlog_demand_refresh(workspace, _backlog_items(workspace, customer_ids=customer_ids))


@transaction.atomic
def customer_update(
    *, workspace: Workspace, actor: User | None, customer: Customer, **changes: Any
) -> Customer:
    """Change name, email, company or attributes; their feedback follows the company."""
    customer = Customer.objects.for_workspace(workspace).select_for_update().get(id=customer.id)
    company_before = customer.company_id
    if "name" in changes:
        customer.name = (changes.pop("name") or "").strip()
    if "email" in changes:
        customer.email = (changes.pop("email") or "").strip().lower()
    if "company_id" in changes:
        company_id = changes.pop("company_id")
        company = None
        if company_id is not None:
            company = Company.objects.for_workspace(workspace).filter(id=company_id).first()
            if company is None:
                raise ValidationError({"company": "Unknown company."})
        customer.company = company
    if "attributes" in changes:
        customer.attributes = changes.pop("attributes") or {}
    if changes:
        raise ValidationError(dict.fromkeys(changes, "This field cannot be changed."))
    if not customer.email and not customer.name:
        raise ValidationError({"email": "A customer needs an email or a name."})
    customer.full_clean(exclude=["workspace"], validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            customer.save()
    except IntegrityError as exc:
        raise ValidationError(
            {"email": f"A customer with the email {customer.email!r} already exists."}
        ) from exc
    if customer.company_id != company_before:
        Feedback.objects.for_workspace(workspace).filter(customer=customer).update(
            company_id=customer.company_id, updated_at=timezone.now()
        )
        insights_reach_refresh(workspace, _insight_ids_citing_customers(workspace, [customer.id]))
        _backlog_demand_refresh(workspace, _backlog_items(workspace, customer_ids=[customer.id]))
    return customer


@transaction.atomic
def customer_delete(*, workspace: Workspace, actor: User | None, customer: Customer) -> None:
    """Delete a customer; their feedback stays, anonymous and without a company."""
    insight_ids = _insight_ids_citing_customers(workspace, [customer.id])
    Feedback.objects.for_workspace(workspace).filter(customer_id=customer.id).update(
        company_id=None, updated_at=timezone.now()
    )
    audit_record(
        workspace=workspace,
        actor=actor,
        action="customer.deleted",
        target=customer,
        changes={"email": customer.email, "name": customer.name},
    )
    item_ids = _backlog_items(workspace, customer_ids=[customer.id])
    Customer.objects.for_workspace(workspace).filter(id=customer.id).delete()
    insights_reach_refresh(workspace, insight_ids)
    _backlog_demand_refresh(workspace, item_ids)


@transaction.atomic
def interview_delete(*, workspace: Workspace, actor: User | None, interview: Interview) -> None:
    """Delete an interview with its highlights; insights citing them are recounted."""
    insight_ids = set(
        Evidence.objects.for_workspace(workspace)
        .filter(highlight__interview_id=interview.id)
        .values_list("insight_id", flat=True)
    )
    audit_record(
        workspace=workspace,
        actor=actor,
        action="interview.deleted",
        target=interview,
        changes={"title": interview.title},
    )
    Interview.objects.for_workspace(workspace).filter(id=interview.id).delete()
    insights_reach_refresh(workspace, insight_ids)


@transaction.atomic
def insight_delete(*, workspace: Workspace, actor: User | None, insight: Insight) -> None:
    """Delete an insight and its evidence links (the cited feedback and highlights stay)."""
    audit_record(
        workspace=workspace,
        actor=actor,
        action="insight.deleted",
        target=insight,
        changes={"title": insight.title},
    )
    Insight.objects.for_workspace(workspace).filter(id=insight.id).delete()


@dataclass(frozen=True)
class FeedbackPush:
    """One pushed item: feedback, and optionally its customer named by email instead of id."""

    item: FeedbackInput
    customer_email: str = ""
    customer_name: str = ""


@transaction.atomic
def feedback_push(
    *, workspace: Workspace, actor: User | None, pushes: list[FeedbackPush]
) -> UpsertResult:
    """`feedback_bulk_upsert` where customers may be named by email, upserted once per email.

    Idempotent: customers already stored with the same name are not written again.
    """
    wanted: dict[str, str] = {}
    for push in pushes:
        email = push.customer_email.strip().lower()
        if email:
            wanted[email] = push.customer_name.strip() or wanted.get(email, "")
    known = {
        c.email.lower(): c
        for c in Customer.objects.for_workspace(workspace).filter(
            Q(*[Q(email__iexact=e) for e in wanted], _connector=Q.OR) if wanted else Q(pk__in=[])
        )
    }
    ids: dict[str, int] = {}
    for email, name in wanted.items():
        customer = known.get(email)
        if customer is None or (name and name != customer.name):
            try:
                customer, _ = customer_upsert(
                    workspace=workspace, actor=actor, email=email, name=name
                )
            except ValidationError as exc:
                raise ValidationError(
                    {"customer_email": [f"{email}: {m}" for m in exc.messages]}
                ) from exc
        ids[email] = customer.id
    items = [
        FeedbackInput(
            text=p.item.text,
            source=p.item.source,
            external_id=p.item.external_id,
            external_url=p.item.external_url,
            customer_id=(
                ids[p.customer_email.strip().lower()]
                if p.customer_email.strip()
                else p.item.customer_id
            ),
            received_at=p.item.received_at,
        )
        for p in pushes
    ]
    return feedback_bulk_upsert(workspace=workspace, actor=actor, items=items)
