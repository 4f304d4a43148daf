"""The tagging worker: rules, the learned classifier and suggestions, applied to batches of items.

Every new or edited feedback item and highlight is tagged after its transaction commits, one
Celery task per batch (`enqueue_tagging`). A run over a batch:

1. skips items whose text has the hash it had last time (unless forced by a re-tag);
2. matches the workspace's rules, all compiled into one RE2 set (discovery.rules);
3. asks the workspace's current classifier version (discovery.classifier) for each text: above
   the tag's own threshold the tag is applied (origin "model", with its confidence), below it the
   tag becomes a pending suggestion; when no tag fits, the classifier abstains and nothing is
   written;
4. replaces the items' machine-made taggings and pending suggestions with the new ones in one
   transaction. People's taggings and decided suggestions are never touched.

The classifier learns from people: their taggings are the labels, items they marked "no tag
fits" and suggestions they rejected are the "nothing fits" examples. It is retrained when
enough new labels arrived since the last version (`classifier_train_if_due`), versioned and
stored in the database so that every worker loads the same one.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Literal

from django.db import connection, transaction
from django.db.models import Max, Q
from django.utils import timezone

from discovery.models import (
    Classifier,
    Feedback,
    Highlight,
    Tag,
    Tagging,
    TaggingJob,
    TagRule,
    TagSuggestion,
)
from discovery.rules import CompiledRules, RuleSpec
from discovery.selectors import classifier_label_summary
from pmhub.core.exceptions import ApplicationError
from pmhub.workspaces.models import Workspace

if TYPE_CHECKING:
    from discovery.classifier import TagClassifier
    from discovery.selectors import FeedbackFilters
    from pmhub.accounts.models import User

logger = logging.getLogger(__name__)

Kind = Literal["feedback", "highlight"]
# Items per worker task: large enough that the classifier batches well, small enough that one
# task holds its row locks briefly.
BATCH_SIZE = 500
# The first model needs this many labels over at least two tags (or one tag and "no tag fits").
MIN_LABELS = 6
# Later versions: retrain once this many labels, or this share of the last version's, are new.
RETRAIN_MIN_NEW = 10
RETRAIN_SHARE = 0.1
# A training run that has not finished after this long is taken for dead.
TRAINING_STALE_SECONDS = 30 * 60
# One "no tag" label: the classifier's name for an out-of-scope example.
NO_TAG = None


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# --- enqueueing ------------------------------------------------------------------------------
_paused = threading.local()


@contextmanager
def enqueueing_paused() -> Iterator[None]:
    """Writes inside send no tagging or training tasks: for the evaluation command and the
    benchmarks, which call the worker code themselves and time it."""
    _paused.on = True
    try:
        yield
    finally:
        _paused.on = False


def enqueue_tagging(
    workspace: Workspace, *, feedback_ids: Iterable[int] = (), highlight_ids: Iterable[int] = ()
) -> None:
    """Tag these items after the current transaction commits, one task per batch."""
    from discovery.tasks import tag_items_task  # Tasks import this module.

    if getattr(_paused, "on", False):
        return
    for kind, ids in (("feedback", list(feedback_ids)), ("highlight", list(highlight_ids))):
        for start in range(0, len(ids), BATCH_SIZE):
            tag_items_task.delay_on_commit(
                workspace_id=workspace.id, kind=kind, ids=ids[start : start + BATCH_SIZE]
            )


def enqueue_training_check(workspace: Workspace) -> None:
    """After people labelled something: retrain in the background if enough labels are new."""
    from discovery.tasks import classifier_train_task

    if getattr(_paused, "on", False):
        return
    classifier_train_task.delay_on_commit(workspace_id=workspace.id, force=False)


# --- the classifier, shared by every worker through the database ----------------------------
_loaded: dict[int, tuple[int, TagClassifier]] = {}
_loaded_lock = threading.Lock()


def classifier_current(workspace: Workspace) -> Classifier | None:
    """The newest READY version (without its blob)."""
    return (
        Classifier.objects.for_workspace(workspace)
        .filter(status=Classifier.Status.READY)
        .defer("blob")
        .order_by("-version")
        .first()
    )


def classifier_load(workspace: Workspace) -> tuple[int, TagClassifier] | None:
    """The current version, fitted; loaded once per process and version."""
    from discovery.classifier import TagClassifier

    version = (
        Classifier.objects.for_workspace(workspace)
        .filter(status=Classifier.Status.READY)
        .aggregate(v=Max("version"))["v"]
    )
    if version is None:
        return None
    with _loaded_lock:
        cached = _loaded.get(workspace.id)
        if cached and cached[0] == version:
            return cached
    blob = (
        Classifier.objects.for_workspace(workspace)
        .filter(version=version)
        .values_list("blob", flat=True)
        .get()
    )
    loaded = (version, TagClassifier.loads(bytes(blob)))
    with _loaded_lock:
        _loaded[workspace.id] = loaded
    return loaded


def training_data(workspace: Workspace) -> tuple[list[str], list[str | None]]:
    """The labels people gave: (text, tag id) for each person tagging; (text, None) for items a
    person marked "no tag fits" or whose every suggestion they rejected, with no tag of theirs."""
    texts: list[str] = []
    labels: list[str | None] = []
    person = Tagging.objects.for_workspace(workspace).filter(origin=Tagging.Origin.PERSON)
    for tag_id, feedback_text, quote in person.values_list(
        "tag_id", "feedback__text", "highlight__quote"
    ).order_by("id"):
        texts.append(feedback_text if feedback_text is not None else quote)
        labels.append(str(tag_id))
    person_tagged = person.filter(feedback__isnull=False).values("feedback_id")
    rejected = TagSuggestion.objects.for_workspace(workspace).filter(
        status=TagSuggestion.Status.REJECTED, feedback__isnull=False
    )
    negatives = (
        Feedback.objects.for_workspace(workspace)
        .filter(Q(no_tag_fits=True) | Q(id__in=rejected.values("feedback_id")))
        .exclude(id__in=person_tagged)
        .filter(merged_into__isnull=True)
        .order_by("id")
        .values_list("text", flat=True)
    )
    for text in negatives:
        texts.append(text)
        labels.append(NO_TAG)
    return texts, labels


def classifier_is_due(workspace: Workspace) -> bool:
    labels = classifier_label_summary(workspace=workspace)
    current = classifier_current(workspace)
    if current is None:
        return labels.total >= MIN_LABELS and labels.is_enough
    return labels.total - current.label_count >= max(
        RETRAIN_MIN_NEW, int(current.label_count * RETRAIN_SHARE)
    )


def _training_claim(workspace: Workspace, actor: User | None) -> Classifier | None:
    """A new TRAINING version, or None if another training run is under way."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            # One claim at a time per workspace; the lock ends with the transaction.
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                [f"pmhub:classifier:{workspace.id}"],
            )
        versions = Classifier.objects.for_workspace(workspace)
        stale = timezone.now() - timedelta(seconds=TRAINING_STALE_SECONDS)
        versions.filter(status=Classifier.Status.TRAINING, created_at__lt=stale).update(
            status=Classifier.Status.FAILED, message="The training run stopped without finishing."
        )
        if versions.filter(status=Classifier.Status.TRAINING).exists():
            return None
        latest = versions.aggregate(v=Max("version"))["v"] or 0
        return Classifier.objects.create(workspace=workspace, version=latest + 1, created_by=actor)


def classifier_train(
    *, workspace: Workspace, actor: User | None = None, force: bool = False
) -> Classifier | None:
    """Train a new version from people's labels when due (or `force`); None when not due.

    Runs outside any transaction: training takes seconds to minutes and must not hold locks.
    """
    from discovery.classifier import TagClassifier

    if not force and not classifier_is_due(workspace):
        return None
    texts, labels = training_data(workspace)
    if len({label for label in labels if label is not NO_TAG}) < 1 or len(set(labels)) < 2:
        if force:
            raise ApplicationError(
                "The model needs examples of at least two tags (or of one tag and of items "
                "where no tag fits). Tag a few more items first."
            )
        return None
    version = _training_claim(workspace, actor)
    if version is None:
        return None
    started = time.perf_counter()
    try:
        model = TagClassifier.train(texts, labels, seed=0)
        blob = model.dumps()
        metrics = model.quality()
    except Exception as exc:
        logger.exception("classifier training failed for workspace %s", workspace.id)
        Classifier.objects.for_workspace(workspace).filter(id=version.id).update(
            status=Classifier.Status.FAILED, message=f"Training failed: {exc}"[:500]
        )
        raise
    Classifier.objects.for_workspace(workspace).filter(id=version.id).update(
        status=Classifier.Status.READY,
        blob=blob,
        metrics=metrics,
        label_count=len(labels),
        tag_count=len({label for label in labels if label is not NO_TAG}),
        train_seconds=time.perf_counter() - started,
        trained_at=timezone.now(),
        updated_at=timezone.now(),
    )
    version.refresh_from_db()
    if version.version == 1 and not getattr(_paused, "on", False):
        # The first model: the items already in the inbox get its tags and suggestions too.
        # Later versions tag new items; people re-tag older ones when they choose.
        with transaction.atomic():
            retag_start(workspace=workspace, actor=actor)
    return version


# --- tagging a batch -------------------------------------------------------------------------
@dataclass(frozen=True)
class _Item:
    id: int
    text: str
    source: str
    segment: str
    tagged_hash: str | None


@dataclass
class TaggingResult:
    items: int = 0
    skipped: int = 0
    rule_taggings: int = 0
    model_taggings: int = 0
    suggestions: int = 0
    abstained: int = 0
    duplicates: int = 0
    seconds: float = 0.0
    classify_seconds: float = 0.0
    counts_by_tag: dict[int, int] = field(default_factory=dict)

    def add(self, other: TaggingResult) -> None:
        for name in (
            "items",
            "skipped",
            "rule_taggings",
            "model_taggings",
            "suggestions",
            "abstained",
            "duplicates",
            "seconds",
            "classify_seconds",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _load_items(workspace: Workspace, kind: Kind, ids: Sequence[int]) -> list[_Item]:
    if kind == "feedback":
        rows = (
            Feedback.objects.for_workspace(workspace)
            .filter(id__in=ids, merged_into__isnull=True)
            .values_list("id", "text", "source", "company__segment", "tagged_text__text_hash")
        )
    else:
        rows = (
            Highlight.objects.for_workspace(workspace)
            .filter(id__in=ids)
            .values_list(
                "id",
                "quote",
                "feedback__source",
                "feedback__company__segment",
                "tagged_text__text_hash",
            )
        )
    return [
        _Item(id=i, text=text, source=source or "interview", segment=segment or "", tagged_hash=h)
        for i, text, source, segment, h in rows.order_by("id")
    ]


def compiled_rules(workspace: Workspace) -> CompiledRules:
    return CompiledRules(
        RuleSpec(
            tag_id=tag_id,
            kind=kind,
            pattern=pattern,
            sources=frozenset(sources),
            segments=frozenset(segments),
        )
        for tag_id, kind, pattern, sources, segments in TagRule.objects.for_workspace(workspace)
        .filter(enabled=True)
        .order_by("id")
        .values_list("tag_id", "kind", "pattern", "sources", "segments")
    )


def tag_items(
    *, workspace: Workspace, kind: Kind, ids: Sequence[int], force: bool = False
) -> TaggingResult:
    """Tag one batch. Idempotent: a second run finds every hash unchanged and writes nothing;
    a forced run writes the same rows again."""
    started = time.perf_counter()
    result = TaggingResult()
    items = _load_items(workspace, kind, ids)
    todo = [item for item in items if force or item.tagged_hash != text_hash(item.text)]
    result.skipped = len(items) - len(todo)
    if not todo:
        return result
    result.items = len(todo)
    target = "feedback_id" if kind == "feedback" else "highlight_id"
    todo_ids = [item.id for item in todo]

    rules = compiled_rules(workspace)
    rule_hits = {
        item.id: rules.match(item.text, source=item.source, segment=item.segment) for item in todo
    }
    loaded = classifier_load(workspace)
    classify_started = time.perf_counter()
    predictions = loaded[1].predict([item.text for item in todo]) if loaded else []
    result.classify_seconds = time.perf_counter() - classify_started

    tag_ids = set(Tag.objects.for_workspace(workspace).values_list("id", flat=True))
    person = set(
        Tagging.objects.for_workspace(workspace)
        .filter(origin=Tagging.Origin.PERSON, **{f"{target}__in": todo_ids})
        .values_list(target, "tag_id")
    )
    decided = set(
        TagSuggestion.objects.for_workspace(workspace)
        .filter(**{f"{target}__in": todo_ids})
        .exclude(status=TagSuggestion.Status.PENDING)
        .values_list(target, "tag_id")
    )
    # (item id, tag id, origin, confidence, model version) and (item id, tag id, confidence,
    # model version): plain tuples, written by _write_batch.
    taggings: list[tuple[int, int, str, float | None, int | None]] = []
    suggestions: list[tuple[int, int, float, int]] = []
    for position, item in enumerate(todo):
        taggings.extend(
            (item.id, tag_id, Tagging.Origin.RULE, None, None)
            for tag_id in sorted(rule_hits[item.id])
        )
        result.rule_taggings += len(rule_hits[item.id])
        if not loaded:
            continue
        version, model = loaded
        prediction = predictions[position]
        if prediction.label is None:
            result.abstained += 1
            continue
        tag_id = int(prediction.label)
        # A tag deleted since training, or one a person already gave or turned down, is left.
        if tag_id not in tag_ids or (item.id, tag_id) in person or (item.id, tag_id) in decided:
            continue
        confidence = round(float(prediction.confidence), 4)
        if confidence >= model.auto_threshold(prediction.label):
            taggings.append((item.id, tag_id, Tagging.Origin.MODEL, confidence, version))
            result.model_taggings += 1
        else:
            suggestions.append((item.id, tag_id, confidence, version))
            result.suggestions += 1

    with transaction.atomic():
        _write_batch(workspace, kind, todo, taggings, suggestions)
        if kind == "feedback":
            from discovery.duplicates import flag_duplicates

            result.duplicates = flag_duplicates(workspace=workspace, feedback_ids=todo_ids)
    result.seconds = time.perf_counter() - started
    return result


# The batch's writes in five statements of plain SQL over arrays: on this path (every imported
# row goes through it) the ORM's model instances and query building cost as much as the
# database's work (bench/tagging.py). Table and column names come from the models.
# Upserting the items' hashes in id order locks them in that order: two runs over overlapping
# batches take turns and never deadlock.
_LOCK_AND_HASH_SQL = """
INSERT INTO discovery_taggedtext (workspace_id, created_at, updated_at, {column}, text_hash)
SELECT %(workspace)s, now(), now(), v.id, v.h
FROM unnest(%(ids)s::bigint[], %(hashes)s::text[]) AS v(id, h)
ORDER BY v.id
ON CONFLICT ({column}) DO UPDATE SET text_hash = EXCLUDED.text_hash, updated_at = now()
WHERE discovery_taggedtext.workspace_id = EXCLUDED.workspace_id
"""
_DELETE_MACHINE_SQL = """
DELETE FROM discovery_tagging
WHERE workspace_id = %(workspace)s AND {column} = ANY(%(ids)s) AND origin IN ('rule', 'model')
"""
_DELETE_PENDING_SQL = """
DELETE FROM discovery_tagsuggestion
WHERE workspace_id = %(workspace)s AND {column} = ANY(%(ids)s) AND status = 'pending'
"""
_INSERT_TAGGINGS_SQL = """
INSERT INTO discovery_tagging
    (workspace_id, created_at, updated_at, {column}, tag_id, origin, confidence, model_version)
SELECT %(workspace)s, now(), now(), v.item, v.tag, v.origin, v.confidence, v.version
FROM unnest(%(items)s::bigint[], %(tags)s::bigint[], %(origins)s::varchar[],
            %(confidences)s::float8[], %(versions)s::integer[])
    AS v(item, tag, origin, confidence, version)
ON CONFLICT DO NOTHING
"""
_INSERT_SUGGESTIONS_SQL = """
INSERT INTO discovery_tagsuggestion
    (workspace_id, created_at, updated_at, {column}, tag_id, confidence, model_version, status)
SELECT %(workspace)s, now(), now(), v.item, v.tag, v.confidence, v.version, 'pending'
FROM unnest(%(items)s::bigint[], %(tags)s::bigint[], %(confidences)s::float8[],
            %(versions)s::integer[]) AS v(item, tag, confidence, version)
ON CONFLICT DO NOTHING
"""


def _write_batch(
    workspace: Workspace,
    kind: Kind,
    items: list[_Item],
    taggings: list[tuple[int, int, str, float | None, int | None]],
    suggestions: list[tuple[int, int, float, int]],
) -> None:
    """Record the text the items were tagged at, and replace their machine-made taggings and
    pending suggestions."""
    column = "feedback_id" if kind == "feedback" else "highlight_id"
    ids = [item.id for item in items]
    with connection.cursor() as cursor:
        cursor.execute(
            _LOCK_AND_HASH_SQL.format(column=column),
            {"ids": ids, "hashes": [text_hash(i.text) for i in items], "workspace": workspace.id},
        )
        for statement in (_DELETE_MACHINE_SQL, _DELETE_PENDING_SQL):
            cursor.execute(statement.format(column=column), {"ids": ids, "workspace": workspace.id})
        if taggings:
            items_, tags, origins, confidences, versions = map(list, zip(*taggings, strict=True))
            cursor.execute(
                _INSERT_TAGGINGS_SQL.format(column=column),
                {
                    "workspace": workspace.id,
                    "items": items_,
                    "tags": tags,
                    "origins": origins,
                    "confidences": confidences,
                    "versions": versions,
                },
            )
        if suggestions:
            items_, tags, confidences, versions = map(list, zip(*suggestions, strict=True))
            cursor.execute(
                _INSERT_SUGGESTIONS_SQL.format(column=column),
                {
                    "workspace": workspace.id,
                    "items": items_,
                    "tags": tags,
                    "confidences": confidences,
                    "versions": versions,
                },
            )


# --- people deciding on suggestions ----------------------------------------------------------
def _suggestion_in(workspace: Workspace, suggestion_id: int) -> TagSuggestion:
    suggestion = (
        TagSuggestion.objects.for_workspace(workspace)
        .select_for_update()
        .filter(id=suggestion_id)
        .first()
    )
    if suggestion is None:
        raise ApplicationError("This suggestion no longer exists; the item was re-tagged.")
    return suggestion


@transaction.atomic
def suggestion_accept(
    *, workspace: Workspace, actor: User | None, suggestion_id: int
) -> TagSuggestion:
    """The person agrees: the tag becomes theirs (origin "person"). Accepting twice is a no-op."""
    suggestion = _suggestion_in(workspace, suggestion_id)
    if suggestion.status == TagSuggestion.Status.REJECTED:
        raise ApplicationError("This suggestion was rejected already.")
    if suggestion.status == TagSuggestion.Status.PENDING:
        Tagging.objects.bulk_create(
            [
                Tagging(
                    workspace=workspace,
                    tag_id=suggestion.tag_id,
                    feedback_id=suggestion.feedback_id,
                    highlight_id=suggestion.highlight_id,
                    origin=Tagging.Origin.PERSON,
                    confidence=suggestion.confidence,
                    created_by=actor,
                )
            ],
            ignore_conflicts=True,
        )
        _decide(suggestion, TagSuggestion.Status.ACCEPTED, actor)
        enqueue_training_check(workspace)
    return suggestion


@transaction.atomic
def suggestion_reject(
    *, workspace: Workspace, actor: User | None, suggestion_id: int
) -> TagSuggestion:
    """The person disagrees: the tag is not suggested for this item again, and the next training
    run learns from it. Rejecting twice is a no-op."""
    suggestion = _suggestion_in(workspace, suggestion_id)
    if suggestion.status == TagSuggestion.Status.ACCEPTED:
        raise ApplicationError("This suggestion was accepted already; remove the tag instead.")
    if suggestion.status == TagSuggestion.Status.PENDING:
        _decide(suggestion, TagSuggestion.Status.REJECTED, actor)
        enqueue_training_check(workspace)
    return suggestion


def _decide(suggestion: TagSuggestion, status: str, actor: User | None) -> None:
    suggestion.status = status
    suggestion.decided_by = actor
    suggestion.decided_at = timezone.now()
    suggestion.save(update_fields=["status", "decided_by", "decided_at", "updated_at"])


def person_labelled(
    workspace: Workspace, *, tag_id: int, feedback_ids: Sequence[int] = (), highlight_ids=()
) -> None:
    """A person tagged items: open suggestions of that tag on them are settled as accepted."""
    TagSuggestion.objects.for_workspace(workspace).filter(
        Q(feedback_id__in=list(feedback_ids)) | Q(highlight_id__in=list(highlight_ids)),
        tag_id=tag_id,
        status=TagSuggestion.Status.PENDING,
    ).update(status=TagSuggestion.Status.ACCEPTED, decided_at=timezone.now())
    enqueue_training_check(workspace)


def person_untagged(
    workspace: Workspace,
    actor: User | None,
    *,
    tag_id: int,
    feedback_ids: Sequence[int] = (),
    highlight_ids: Sequence[int] = (),
) -> None:
    """A person removed a tag: a model's tagging they removed is recorded as a rejection, so
    re-tags do not bring it back and training learns from it."""
    target, ids = (
        ("feedback_id", list(feedback_ids)) if feedback_ids else ("highlight_id", highlight_ids)
    )
    model_made = list(
        Tagging.objects.for_workspace(workspace)
        .filter(tag_id=tag_id, origin=Tagging.Origin.MODEL, **{f"{target}__in": ids})
        .values_list(target, "confidence", "model_version")
    )
    if not model_made:
        return
    suggestions = TagSuggestion.objects.for_workspace(workspace)
    suggestions.filter(tag_id=tag_id, **{f"{target}__in": [m[0] for m in model_made]}).delete()
    suggestions.bulk_create(
        [
            TagSuggestion(
                workspace=workspace,
                tag_id=tag_id,
                confidence=confidence or 0,
                model_version=model_version or 0,
                status=TagSuggestion.Status.REJECTED,
                decided_by=actor,
                decided_at=timezone.now(),
                **{target: item_id},
            )
            for item_id, confidence, model_version in model_made
        ]
    )
    enqueue_training_check(workspace)


@transaction.atomic
def feedback_mark_no_tag_fits(
    *, workspace: Workspace, actor: User | None, feedback_id: int, value: bool = True
) -> Feedback:
    """A person says no tag fits the item: its open suggestions are rejected, and it becomes an
    out-of-scope example for the classifier."""
    feedback = (
        Feedback.objects.for_workspace(workspace).select_for_update().filter(id=feedback_id).first()
    )
    if feedback is None:
        raise ApplicationError("This feedback no longer exists.")
    if feedback.no_tag_fits != value:
        feedback.no_tag_fits = value
        feedback.save(update_fields=["no_tag_fits", "updated_at"])
        if value:
            TagSuggestion.objects.for_workspace(workspace).filter(
                feedback_id=feedback.id, status=TagSuggestion.Status.PENDING
            ).update(
                status=TagSuggestion.Status.REJECTED, decided_by=actor, decided_at=timezone.now()
            )
        enqueue_training_check(workspace)
    return feedback


# --- re-tagging ------------------------------------------------------------------------------
def retag_start(
    *, workspace: Workspace, actor: User | None, filters: dict[str, Any] | None = None
) -> TaggingJob:
    """Re-tag the workspace (or the inbox filter given) in the background; only machine-made
    taggings and pending suggestions change."""
    from discovery.tasks import tagging_job_run_task

    job = TaggingJob.objects.create(
        workspace=workspace,
        kind=TaggingJob.Kind.RETAG,
        filters=filters or {},
        created_by=actor,
    )
    tagging_job_run_task.delay_on_commit(workspace_id=workspace.id, job_id=job.id)
    return job


def _job_claim(workspace: Workspace, job_id: int) -> TaggingJob | None:
    with transaction.atomic():
        job = TaggingJob.objects.for_workspace(workspace).select_for_update().get(id=job_id)
        if job.status in (TaggingJob.Status.DONE, TaggingJob.Status.FAILED):
            return None
        job.status = TaggingJob.Status.RUNNING
        job.save(update_fields=["status", "updated_at"])
        return job


def job_finish(
    *, workspace: Workspace, job_id: int, status: str, message: str = "", result=None
) -> None:
    changes: dict[str, Any] = {
        "status": status,
        "message": message[:500],
        "finished_at": timezone.now(),
        "updated_at": timezone.now(),
    }
    if result is not None:
        changes["result"] = result
    TaggingJob.objects.for_workspace(workspace).filter(id=job_id).exclude(
        status=TaggingJob.Status.DONE
    ).update(**changes)


def retag_run(*, workspace: Workspace, job_id: int) -> TaggingJob | None:
    """Run a re-tag job. Idempotent: a done job is left alone; a crashed one starts over (a
    forced run over an item writes the same taggings again)."""
    from discovery.selectors import feedback_list

    job = _job_claim(workspace, job_id)
    if job is None:
        return None
    filters = _filters_from(job.filters)
    feedback_ids = list(
        feedback_list(workspace=workspace, filters=filters)
        .filter(merged_into__isnull=True)
        .order_by("id")
        .values_list("id", flat=True)
    )
    highlight_ids: list[int] = []
    if not job.filters:
        highlight_ids = list(
            Highlight.objects.for_workspace(workspace).order_by("id").values_list("id", flat=True)
        )
    total = len(feedback_ids) + len(highlight_ids)
    TaggingJob.objects.for_workspace(workspace).filter(id=job_id).update(total=total, processed=0)
    tally = TaggingResult()
    processed = 0
    for kind, ids in (("feedback", feedback_ids), ("highlight", highlight_ids)):
        for start in range(0, len(ids), BATCH_SIZE):
            batch = ids[start : start + BATCH_SIZE]
            tally.add(tag_items(workspace=workspace, kind=kind, ids=batch, force=True))
            processed += len(batch)
            TaggingJob.objects.for_workspace(workspace).filter(id=job_id).update(
                processed=processed, updated_at=timezone.now()
            )
    summary = {
        "items": tally.items,
        "rule_taggings": tally.rule_taggings,
        "model_taggings": tally.model_taggings,
        "suggestions": tally.suggestions,
        "abstained": tally.abstained,
    }
    job_finish(
        workspace=workspace,
        job_id=job_id,
        status=TaggingJob.Status.DONE,
        message=(
            f"Re-tagged {total:,} items: {tally.rule_taggings:,} by rules, "
            f"{tally.model_taggings:,} by the model, {tally.suggestions:,} suggestions."
        ),
        result=summary,
    )
    return TaggingJob.objects.for_workspace(workspace).get(id=job_id)


def _filters_from(data: dict[str, Any]) -> FeedbackFilters:
    from discovery.selectors import FeedbackFilters

    known = set(FeedbackFilters.__dataclass_fields__)
    values = {k: v for k, v in data.items() if k in known and v not in ("", None, [])}
    for name in ("since", "until"):
        if name in values:
            values[name] = date.fromisoformat(values[name])
    if "tag_ids" in values:
        values["tag_ids"] = [int(v) for v in values["tag_ids"]]
    return FeedbackFilters(**values)
