"""Evaluate the tagging worker on a labelled data set, through the same code as real use.

A throw-away workspace gets the training rows as feedback, tagged as if people had tagged them
(rows labelled `oos` or nothing are marked "no tag fits"); the classifier is trained by the
worker's training service; the test rows are imported and tagged by the worker's batch service;
then the tags the worker gave are compared with the labels, and the workspace is deleted.
"""

from __future__ import annotations

import csv
import random
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from sklearn.metrics import f1_score

from discovery import services, tagging
from discovery.models import Tagging, TagSuggestion
from pmhub.workspaces.models import Workspace

OUT_OF_SCOPE = "oos"
IMPORT_CHUNK = 1_000


@dataclass(frozen=True)
class Row:
    text: str
    label: str  # OUT_OF_SCOPE when no tag fits


def read_rows(path: Path) -> list[Row]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"text", "label"} <= set(reader.fieldnames):
            raise ValueError(f"{path}: the CSV needs the columns text and label.")
        return [
            Row(text=r["text"].strip(), label=(r["label"] or "").strip() or OUT_OF_SCOPE)
            for r in reader
            if (r["text"] or "").strip()
        ]


def sample_per_tag(rows: list[Row], per_tag: int | None, seed: int) -> list[Row]:
    """At most `per_tag` rows of each tag (a seeded sample); "no tag fits" rows all stay."""
    if not per_tag:
        return rows
    by_label: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        by_label[row.label].append(row)
    rng = random.Random(seed)  # noqa: S311 - a reproducible sample, not a secret
    kept: list[Row] = list(by_label.pop(OUT_OF_SCOPE, []))
    for label in sorted(by_label):
        group = by_label[label]
        kept.extend(rng.sample(group, min(per_tag, len(group))))
    return kept


def import_rows(workspace: Workspace, rows: list[Row], prefix: str) -> list[int]:
    ids: list[int] = []
    for start in range(0, len(rows), IMPORT_CHUNK):
        chunk = rows[start : start + IMPORT_CHUNK]
        result = services.feedback_bulk_upsert(
            workspace=workspace,
            actor=None,
            items=[
                services.FeedbackInput(
                    text=row.text, source="manual", external_id=f"{prefix}:{start + i}"
                )
                for i, row in enumerate(chunk)
            ],
        )
        ids.extend(result.ids)
    return ids


def evaluate(
    *, train: list[Row], test: list[Row], per_tag: int | None = None, seed: int = 0
) -> dict[str, float | int]:
    train = sample_per_tag(train, per_tag, seed)
    workspace = Workspace.objects.create(
        name="Tagging evaluation", slug=f"tagging-eval-{uuid.uuid4().hex[:12]}"
    )
    try:
        with tagging.enqueueing_paused():
            return _run(workspace, train, test)
    finally:
        with transaction.atomic():
            workspace.delete()


def seed_training(workspace: Workspace, train: list[Row]) -> dict[str, int]:
    """Import the training rows as feedback that people tagged (or marked "no tag fits");
    returns each label's tag id."""
    labels = sorted({row.label for row in train} - {OUT_OF_SCOPE})
    tags = {
        label: services.tag_create(workspace=workspace, actor=None, name=label[:60]).id
        for label in labels
    }
    train_ids = import_rows(workspace, train, "train")
    by_tag: dict[int, list[int]] = defaultdict(list)
    for feedback_id, row in zip(train_ids, train, strict=True):
        if row.label == OUT_OF_SCOPE:
            tagging.feedback_mark_no_tag_fits(
                workspace=workspace, actor=None, feedback_id=feedback_id
            )
        else:
            by_tag[tags[row.label]].append(feedback_id)
    for tag_id, ids in by_tag.items():
        services.feedback_tag(workspace=workspace, actor=None, feedback_ids=ids, tag_id=tag_id)
    return tags


def _run(workspace: Workspace, train: list[Row], test: list[Row]) -> dict[str, float | int]:
    tags = seed_training(workspace, train)

    started = time.perf_counter()
    tagging.classifier_train(workspace=workspace, force=True)
    train_seconds = time.perf_counter() - started

    test_ids = import_rows(workspace, test, "test")
    tagging.classifier_load(workspace)  # Loaded once per worker process, before any batch.
    started = time.perf_counter()
    for start in range(0, len(test_ids), tagging.BATCH_SIZE):
        tagging.tag_items(
            workspace=workspace, kind="feedback", ids=test_ids[start : start + tagging.BATCH_SIZE]
        )
    tag_seconds = time.perf_counter() - started

    predicted = _predictions(workspace, test_ids)
    names = {tag_id: label for label, tag_id in tags.items()}
    truth = [row.label for row in test]
    guess = [names.get(predicted.get(i), OUT_OF_SCOPE) for i in test_ids]
    return _scores(truth, guess) | {
        "train_rows": len(train),
        "test_rows": len(test),
        "train_seconds": round(train_seconds, 2),
        "items_per_second": round(len(test_ids) / tag_seconds, 1),
    }


def _predictions(workspace: Workspace, ids: list[int]) -> dict[int, int]:
    """The tag the worker gave each item: applied by the model, or suggested below threshold."""
    suggested = TagSuggestion.objects.for_workspace(workspace).filter(
        feedback_id__in=ids, status=TagSuggestion.Status.PENDING
    )
    applied = Tagging.objects.for_workspace(workspace).filter(
        feedback_id__in=ids, origin=Tagging.Origin.MODEL
    )
    predicted = dict(suggested.values_list("feedback_id", "tag_id"))
    predicted.update(applied.values_list("feedback_id", "tag_id"))
    return predicted


def _scores(truth: list[str], guess: list[str]) -> dict[str, float]:
    in_scope = [(t, g) for t, g in zip(truth, guess, strict=True) if t != OUT_OF_SCOPE]
    oos = [g for t, g in zip(truth, guess, strict=True) if t == OUT_OF_SCOPE]
    abstained = sum(1 for g in guess if g == OUT_OF_SCOPE)
    abstained_right = sum(1 for g in oos if g == OUT_OF_SCOPE)
    labels = sorted({t for t, _ in in_scope})
    return {
        "in_scope_accuracy": round(sum(t == g for t, g in in_scope) / max(len(in_scope), 1), 4),
        "macro_f1": round(
            float(
                f1_score(
                    [t for t, _ in in_scope],
                    [g for _, g in in_scope],
                    labels=labels,
                    average="macro",
                    zero_division=0,
                )
            ),
            4,
        ),
        "oos_recall": round(abstained_right / max(len(oos), 1), 4),
        "oos_precision": round(abstained_right / max(abstained, 1), 4),
        "abstain_rate": round(abstained / max(len(guess), 1), 4),
    }
