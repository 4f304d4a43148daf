"""Themes: untagged feedback grouped into candidate tags, which a PM accepts in one step.

A themes run (a `TaggingJob` of kind "themes") embeds the most recent untagged feedback with the
sentence encoder (discovery.embeddings), clusters it, and stores each candidate in `job.result`:
a proposed name, its size, three representative quotes and its members' ids. Accepting a
candidate creates the tag (or reuses one of that name) and tags the members as a person would.

Clustering is agglomerative with average linkage over cosine distances, cut at a fixed distance
rather than at a number of clusters: the number of themes is not known in advance, and items
that resemble nothing else stay out instead of being forced into a theme. It is deterministic
and works from a handful of items, where density-based methods (HDBSCAN) label almost
everything noise. Names come from class-based TF-IDF: the words and word pairs that are frequent
in the cluster's texts and rare in the others.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from discovery.models import Feedback, Tag, Tagging, TaggingJob
from pmhub.core.exceptions import ApplicationError
from pmhub.workspaces.audit import audit_record
from pmhub.workspaces.models import Workspace

if TYPE_CHECKING:
    from pmhub.accounts.models import User

Status = TaggingJob.Status

# The most recent untagged items a run considers: enough for the themes of the last months,
# and the O(n²) distance matrix stays small (2,000² float32 = 16 MB, under a second to cluster).
MAX_ITEMS = 2_000
# Texts embedded per progress update: the page's bar moves every second or so on a plain CPU.
EMBED_BATCH = 128
# Cosine distance at which clusters stop merging (average linkage). On MiniLM vectors, requests
# on one topic sit 0.3-0.5 apart on average and unrelated ones 0.9-1.0; on 2,000 CLINC150
# utterances of 40 intents, 0.7 groups 90% of them with 75% purity (neighbouring intents such as
# "credit score" and "improve credit score" share a theme), and 0.75 starts to mix topics.
DISTANCE_THRESHOLD = 0.7
MAX_CANDIDATES = 30
QUOTES = 3
QUOTE_CHARS = 280
NAME_CHARS = 60

_TOKEN = re.compile(r"[^\W_][\w'+#.-]*[^\W_]|[^\W_]", re.UNICODE)
# Words of feedback that say nothing about its theme, beyond English function words.
_FILLER_WORDS = frozenset(
    {
        "able", "add", "also", "always", "anyone", "anything", "app", "day", "days", "does",
        "doing", "everything", "feature", "get", "getting", "good", "great", "hello", "hi",
        "issue", "just", "know", "like", "love", "lot", "make", "maybe", "need", "needs", "new",
        "pmhub", "possible", "problem", "product", "really", "right", "sometimes", "team",
        "thank", "thanks", "thing", "things", "time", "times", "tool", "try", "trying", "use",
        "used", "using", "want", "wants", "way", "work", "works", "would",
    }
)  # fmt: skip


# --- clustering and naming (pure: no database) ------------------------------------------------
@functools.cache
def _stop_words() -> frozenset[str]:
    # Imported on first use: scikit-learn is heavy and only the worker names themes.
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return ENGLISH_STOP_WORDS | _FILLER_WORDS


@dataclass(frozen=True)
class Theme:
    """One candidate: its proposed name, descriptive terms, and members closest-to-centre first."""

    name: str
    keywords: list[str]
    members: list[int]  # positions in the texts given to `themes_find`


def _stem(word: str) -> str:
    """A crude folding, enough that "exports", "exporting" and "export" count as one term.

    Only counting uses it; names show the words as people wrote them.
    """
    if len(word) > 5 and word.endswith("ing"):
        return word[:-3]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _terms(text: str, surface: Counter[tuple[str, str]] | None = None) -> set[str]:
    """The distinct words and adjacent word pairs of a text, stop words left out."""
    words: list[str | None] = []
    for match in _TOKEN.finditer(text):
        raw = match.group().strip(".'-")
        word = raw.lower()
        if len(word) < 2 or "'" in word or word.isdigit() or word in _stop_words():
            words.append(None)  # A stop word breaks a pair: "export to csv" is not "export csv".
            continue
        stem = _stem(word)
        if surface is not None:
            surface[(stem, raw)] += 1
        words.append(stem)
    terms = {w for w in words if w}
    terms.update(f"{a} {b}" for a, b in zip(words, words[1:], strict=False) if a and b and a != b)
    return terms


def _display(term: str, surface: Counter[tuple[str, str]]) -> str:
    """The term as people wrote it most often (so "CSV" keeps its capitals)."""
    shown = []
    for stem in term.split(" "):
        forms = [(count, raw) for (s, raw), count in surface.items() if s == stem]
        raw = max(forms)[1] if forms else stem
        # A capitalised sentence start is not a proper noun; keep capitals only inside words.
        if raw[:1].isupper() and raw[1:].islower():
            raw = raw.lower()
        shown.append(raw)
    name = " ".join(shown)
    return name[:1].upper() + name[1:]


def _name(
    member_terms: list[set[str]],
    document_frequency: Counter[str],
    total: int,
    surface: Counter[tuple[str, str]],
) -> tuple[str, list[str]]:
    """Class-based TF-IDF over the cluster: share of members using a term × its rarity overall.

    A word pair wins over its single words when most of the members that use the words use the
    pair too: "CSV export" says more than "CSV".
    """
    size = len(member_terms)
    in_cluster: Counter[str] = Counter()
    for terms in member_terms:
        in_cluster.update(terms)
    scores: dict[str, float] = {}
    for term, count in in_cluster.items():
        share = count / size
        scores[term] = share * math.log(1 + total / document_frequency[term])
    # One member's wording is not the theme's, unless no term is shared at all.
    shared = [t for t in scores if in_cluster[t] >= 2] or list(scores)
    ranked = sorted(shared, key=lambda t: (-scores[t], " " in t, t))
    if not ranked:
        return "Untitled theme", []
    best = ranked[0]
    if " " not in best:
        pair = next((t for t in ranked if " " in t and best in t.split(" ")), None)
        if pair is not None and scores[pair] >= 0.6 * scores[best]:
            best = pair
    name_words = set(best.split(" "))
    keywords = [_display(t, surface) for t in ranked if not set(t.split(" ")) <= name_words][:4]
    return _display(best, surface)[:NAME_CHARS], keywords


def _min_size(count: int) -> int:
    """Members a candidate needs: two among a few dozen items, more as the pile grows."""
    return max(2, min(5, count // 100 + 2))


def themes_find(
    texts: Sequence[str], vectors: np.ndarray, *, threshold: float = DISTANCE_THRESHOLD
) -> list[Theme]:
    """Group texts by their unit-length vectors; the largest candidates first."""
    from sklearn.cluster import AgglomerativeClustering

    count = len(texts)
    if count < 2:
        return []
    distances = np.clip(1.0 - vectors @ vectors.T, 0.0, 2.0)
    np.fill_diagonal(distances, 0.0)
    labels = AgglomerativeClustering(
        n_clusters=None,
        metric="precomputed",
        linkage="average",
        distance_threshold=threshold,
    ).fit_predict(distances)
    surface: Counter[tuple[str, str]] = Counter()
    terms = [_terms(text, surface) for text in texts]
    document_frequency: Counter[str] = Counter()
    for item_terms in terms:
        document_frequency.update(item_terms)
    clusters: dict[int, list[int]] = {}
    for position, label in enumerate(labels):
        clusters.setdefault(int(label), []).append(position)
    minimum = _min_size(count)
    themes = []
    for members in clusters.values():
        if len(members) < minimum:
            continue
        centre = vectors[members].mean(axis=0)
        closeness = vectors[members] @ centre
        ordered = [members[i] for i in np.argsort(-closeness, kind="stable")]
        name, keywords = _name([terms[i] for i in members], document_frequency, count, surface)
        themes.append(Theme(name=name, keywords=keywords, members=ordered))
    themes.sort(key=lambda t: (-len(t.members), t.members[0]))
    return themes[:MAX_CANDIDATES]


# --- reads -----------------------------------------------------------------------------------
def untagged_feedback(*, workspace: Workspace) -> QuerySet[Feedback]:
    """Feedback a theme could be found in: no tag of any origin, not archived, not merged, not
    flagged as a duplicate (it would count the same voice twice), not marked "no tag fits"."""
    tagged = Tagging.objects.for_workspace(workspace).filter(feedback_id=OuterRef("id"))
    return (
        Feedback.objects.for_workspace(workspace)
        .exclude(status=Feedback.Status.ARCHIVED)
        .filter(merged_into__isnull=True, duplicate_of__isnull=True, no_tag_fits=False)
        .filter(~Exists(tagged))
    )


def themes_job_latest(*, workspace: Workspace) -> TaggingJob | None:
    """The workspace's most recent themes run, whatever its status."""
    return (
        TaggingJob.objects.for_workspace(workspace)
        .filter(kind=TaggingJob.Kind.THEMES)
        .select_related("created_by")
        .order_by("-id")
        .first()
    )


def themes_job_get(*, workspace: Workspace, job_id: int) -> TaggingJob:
    return TaggingJob.objects.for_workspace(workspace).get(id=job_id, kind=TaggingJob.Kind.THEMES)


def theme_candidates(job: TaggingJob) -> list[dict[str, Any]]:
    return list((job.result or {}).get("candidates", []))


def theme_cards(*, workspace: Workspace, job: TaggingJob) -> list[dict[str, Any]]:
    """A run's candidates with their position, and whether an accepted one's tag still exists."""
    candidates = theme_candidates(job)
    accepted = [c["tag_id"] for c in candidates if c.get("tag_id")]
    existing: set[int] = set()
    if accepted:
        existing = set(
            Tag.objects.for_workspace(workspace)
            .filter(id__in=accepted)
            .values_list("id", flat=True)
        )
    return [
        {**c, "index": i, "tag_exists": c.get("tag_id") in existing}
        for i, c in enumerate(candidates)
    ]


# --- writes ----------------------------------------------------------------------------------
def _workspace_lock(workspace: Workspace) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
            [f"pmhub:themes-start:{workspace.id}"],
        )


@transaction.atomic
def themes_start(*, workspace: Workspace, actor: User | None) -> TaggingJob:
    """Queue a themes run, or return the one already waiting or running (a double click)."""
    _workspace_lock(workspace)
    active = (
        TaggingJob.objects.for_workspace(workspace)
        .filter(kind=TaggingJob.Kind.THEMES, status__in=[Status.PENDING, Status.RUNNING])
        .order_by("-id")
        .first()
    )
    if active is not None:
        return active
    if not untagged_feedback(workspace=workspace).exists():
        raise ApplicationError("Every feedback item is tagged: there is nothing to group.")
    job = TaggingJob.objects.create(
        workspace=workspace, kind=TaggingJob.Kind.THEMES, created_by=actor
    )
    audit_record(workspace=workspace, actor=actor, action="themes.started", target=job)
    from discovery.tasks import tagging_job_run_task  # Here: tasks.py imports this module.

    tagging_job_run_task.delay_on_commit(workspace_id=workspace.id, job_id=job.id)
    return job


def _claim(workspace: Workspace, job_id: int) -> TaggingJob | None:
    """PENDING -> RUNNING under the row lock; a RUNNING job (its worker died) is run again."""
    with transaction.atomic():
        job = TaggingJob.objects.for_workspace(workspace).select_for_update().get(id=job_id)
        if job.kind != TaggingJob.Kind.THEMES or job.status in (Status.DONE, Status.FAILED):
            return None
        job.status = Status.RUNNING
        job.processed = 0
        job.save(update_fields=["status", "processed", "updated_at"])
    return job


def _progress(workspace: Workspace, job_id: int, **changes: Any) -> None:
    TaggingJob.objects.for_workspace(workspace).filter(id=job_id).update(
        updated_at=timezone.now(), **changes
    )


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1].rstrip() + "…"


def themes_run(
    *,
    workspace: Workspace,
    job_id: int,
    encode: Callable[[list[str]], np.ndarray] | None = None,
) -> TaggingJob | None:
    """Find candidate themes in the most recent untagged feedback and store them in the job.

    Idempotent: a status guard under the row lock (PENDING -> RUNNING; DONE and FAILED are left
    alone). A RUNNING job whose worker died is computed again from the start; the result is
    replaced whole, so a second run changes nothing that a person sees.
    """
    from discovery.tagging import job_finish

    if encode is None:
        from discovery import embeddings

        encode = embeddings.encode
    job = _claim(workspace, job_id)
    if job is None:
        return None
    items = list(
        untagged_feedback(workspace=workspace)
        .order_by("-received_at", "-id")
        .values_list("id", "text")[:MAX_ITEMS]
    )
    _progress(workspace, job_id, total=len(items))
    texts = [text for _, text in items]
    batches = []
    for start in range(0, len(texts), EMBED_BATCH):
        batches.append(encode(texts[start : start + EMBED_BATCH]))
        _progress(workspace, job_id, processed=min(len(texts), start + EMBED_BATCH))
    vectors = np.vstack(batches) if batches else np.zeros((0, 1), dtype=np.float32)
    themes = themes_find(texts, vectors)
    candidates = [
        {
            "name": theme.name,
            "keywords": theme.keywords,
            "size": len(theme.members),
            "feedback_ids": [items[i][0] for i in theme.members],
            "quotes": [
                {"feedback_id": items[i][0], "text": _quote(items[i][1])}
                for i in theme.members[:QUOTES]
            ],
            "tag_id": None,
        }
        for theme in themes
    ]
    grouped = sum(c["size"] for c in candidates)
    if not items:
        message = "Every feedback item is tagged: there was nothing to group."
    elif not candidates:
        message = (
            f"No theme in {len(items):,} untagged items: no two of them say the same thing yet."
        )
    else:
        message = (
            f"{len(candidates)} candidate themes cover {grouped:,} of {len(items):,} untagged "
            "items; the rest resemble nothing else."
        )
    job_finish(
        workspace=workspace,
        job_id=job_id,
        status=Status.DONE,
        message=message,
        result={"candidates": candidates, "considered": len(items), "grouped": grouped},
    )
    return TaggingJob.objects.for_workspace(workspace).get(id=job_id)


@transaction.atomic
def theme_accept(
    *, workspace: Workspace, actor: User | None, job: TaggingJob, index: int, name: str
) -> Tag:
    """Turn candidate `index` of a themes run into a tag on its members (those still here).

    Reuses a tag of that name if one exists. Idempotent: the job row is locked, and a candidate
    accepted before returns its tag without tagging again.
    """
    from discovery.services import feedback_tag, tag_create

    job = (
        TaggingJob.objects.for_workspace(workspace)
        .select_for_update()
        .filter(id=job.id, kind=TaggingJob.Kind.THEMES)
        .first()
    )
    if job is None:
        raise ValidationError({"job": "Unknown themes run."})
    if job.status != Status.DONE:
        raise ApplicationError("This themes run is not finished.")
    candidates = theme_candidates(job)
    if not 0 <= index < len(candidates):
        raise ApplicationError("This theme is no longer in the results; find themes again.")
    candidate = candidates[index]
    if candidate.get("tag_id"):
        accepted = Tag.objects.for_workspace(workspace).filter(id=candidate["tag_id"]).first()
        if accepted is not None:
            return accepted
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": "Give the tag a name."})
    tag = Tag.objects.for_workspace(workspace).filter(name__iexact=name).first()
    created = tag is None
    if tag is None:
        tag = tag_create(workspace=workspace, actor=actor, name=name)
    members = list(
        Feedback.objects.for_workspace(workspace)
        .filter(id__in=candidate["feedback_ids"], merged_into__isnull=True)
        .values_list("id", flat=True)
    )
    tagged = feedback_tag(
        workspace=workspace,
        actor=actor,
        feedback_ids=members,
        tag_id=tag.id,
        origin=Tagging.Origin.PERSON,
    )
    candidates[index] = {**candidate, "tag_id": tag.id, "tag_name": tag.name, "tagged": tagged}
    job.result = {**job.result, "candidates": candidates}
    job.save(update_fields=["result", "updated_at"])
    audit_record(
        workspace=workspace,
        actor=actor,
        action="theme.accepted",
        target=tag,
        changes={
            "job": job.id,
            "proposed": candidate["name"],
            "new_tag": created,
            "tagged": tagged,
        },
    )
    return tag
