"""Live references in documents: `[[item:12]]`, `[[insight:3]]`, `[[highlight:9]]`, drawn with
their target's current title, status and score, read in constant queries whatever their count.

A target is looked up in the document's workspace only: another workspace's id reads as "not
found", as an unknown one does, and leaks nothing. A target deleted since the body was saved
shows as deleted, with the title the Reference row kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.urls import reverse
from django.utils.safestring import SafeString

from backlog.models import Item, ItemScore, ScoringFormula
from backlog.selectors import primary_formula_get
from discovery.models import Highlight, Insight
from pmhub.core.html import html_text
from pmhub.core.markdown import Reference, render_markdown
from pmhub.workspaces.models import Workspace

QUOTE_CHARS = 140


@dataclass(frozen=True)
class Target:
    """What a reference shows of its target."""

    kind: str
    id: int
    title: str
    status: str = ""
    status_label: str = ""
    score: float | None = None
    url: str = ""


def targets_read(
    *, workspace: Workspace, references: list[Reference], formula: ScoringFormula | None = None
) -> dict[Reference, Target]:
    """The targets of `references` found in `workspace`: at most one query per kind, plus the
    items' scores by `formula` (the primary one, read by the caller) when given."""
    ids: dict[str, list[int]] = {"item": [], "insight": [], "highlight": []}
    for kind, target_id in references:
        ids[kind].append(target_id)
    found: dict[Reference, Target] = {}
    slug = workspace.slug
    if ids["item"]:
        items = Item.objects.for_workspace(workspace).filter(id__in=ids["item"])
        rows = list(items.values("id", "title", "status"))
        scores: dict[int, float | None] = {}
        if formula is not None and rows:
            scores = dict(
                ItemScore.objects.for_workspace(workspace)
                .filter(formula=formula, item_id__in=[r["id"] for r in rows])
                .values_list("item_id", "value")
            )
        labels = dict(Item.Status.choices)
        for row in rows:
            found[("item", row["id"])] = Target(
                "item", row["id"], row["title"], row["status"], labels[row["status"]],
                scores.get(row["id"]),
                reverse(
                    "backlog:item-detail", kwargs={"workspace_slug": slug, "item_id": row["id"]}
                ),
            )  # fmt: skip
    if ids["insight"]:
        labels = dict(Insight.Status.choices)
        for row in (
            Insight.objects.for_workspace(workspace)
            .filter(id__in=ids["insight"])
            .values("id", "title", "status")
        ):
            found[("insight", row["id"])] = Target(
                "insight", row["id"], row["title"], row["status"], labels[row["status"]], None,
                reverse(
                    "discovery:insight-detail",
                    kwargs={"workspace_slug": slug, "insight_id": row["id"]},
                ),
            )  # fmt: skip
    if ids["highlight"]:
        for row in (
            Highlight.objects.for_workspace(workspace)
            .filter(id__in=ids["highlight"])
            .values("id", "quote")
        ):
            quote = " ".join(row["quote"].split())
            if len(quote) > QUOTE_CHARS:
                quote = quote[: QUOTE_CHARS - 1].rstrip() + "…"
            found[("highlight", row["id"])] = Target(
                "highlight", row["id"], f"“{quote}”", url=reverse(
                    "discovery:highlight-open",
                    kwargs={"workspace_slug": slug, "highlight_id": row["id"]},
                ),
            )  # fmt: skip
    return found


_KIND_LABELS = {"item": "Item", "insight": "Insight", "highlight": "Highlight"}


def chip_html(
    reference: Reference,
    target: Target | None,
    *,
    known_title: str = "",
    links: bool = True,
    score_name: str = "",
) -> str:
    """One reference as an inline chip. `known_title`: the title the document's Reference row
    kept (the target was found when the body was saved, so it was deleted since)."""
    kind, target_id = reference
    label = _KIND_LABELS[kind]
    if target is None:
        if known_title:
            return (
                f'<span class="ref ref--deleted" data-ref="{kind}:{target_id}">'
                f'<span class="ref__kind">{label}</span> <s>{html_text(known_title)}</s>'
                ' <span class="ref__status">deleted</span></span>'
            )
        return (
            f'<span class="ref ref--missing" data-ref="{kind}:{target_id}">'
            f'<span class="ref__kind">{label}</span> not found</span>'
        )
    parts = [f'<span class="ref__kind">{label}</span>']
    title = html_text(target.title)
    if links:
        parts.append(f'<a class="ref__title" href="{html_text(target.url)}">{title}</a>')
    else:
        parts.append(f'<span class="ref__title">{title}</span>')
    if target.status:
        parts.append(
            f'<span class="ref__status ref__status--{html_text(target.status)}">'
            f"{html_text(target.status_label)}</span>"
        )
    if kind == "item" and score_name:
        score = "—" if target.score is None else f"{target.score:.4g}"
        parts.append(f'<span class="ref__score" title="{html_text(score_name)}">{score}</span>')
    return f'<span class="ref ref--{kind}" data-ref="{kind}:{target_id}">{" ".join(parts)}</span>'


def references_read(
    *, workspace: Workspace, references: list[Reference]
) -> tuple[dict[Reference, Target], str]:
    """The targets of `references` and the name of the score their items show (the primary
    formula's; empty without one): the formula, then one query per kind and the scores."""
    formula = None
    if any(kind == "item" for kind, _ in references):
        formula = primary_formula_get(workspace=workspace)
    targets = targets_read(workspace=workspace, references=references, formula=formula)
    return targets, formula.name if formula is not None else ""


def document_html(
    *,
    workspace: Workspace,
    body: str,
    known_titles: Mapping[Reference, str] | None = None,
    links: bool = True,
    read: tuple[dict[Reference, Target], str] | None = None,
) -> SafeString:
    """A document body rendered with its live references (the one renderer and sanitizer),
    in constant queries. `read`: what references_read gave for the body's references, for a
    page that shows them elsewhere too (a reference it lacks is read then)."""
    known = known_titles or {}

    def draw(references: list[Reference]) -> dict[Reference, str]:
        targets, score_name = read if read is not None else ({}, "")
        missing = [ref for ref in references if ref not in targets]
        if read is None or missing:
            more, score_name = references_read(workspace=workspace, references=missing)
            targets = {**targets, **more}
        return {
            ref: chip_html(ref, targets.get(ref), known_title=known.get(ref, ""), links=links,
                           score_name=score_name)
            for ref in references
        }  # fmt: skip

    return render_markdown(body, draw)
