"""A 50-page PRD with 200 live references.

python -m bench.docs [--repeat 30] [--reload]

Loads (once; reused while it is there) a workspace with items (scored by the primary formula),
insights and interview highlights, and a PRD of ~150,000 characters (headings, paragraphs,
lists, task lists, tables, code blocks) citing 200 of them live. Then measures, in one run:

- the body drawn through `docs.references.document_html` (Markdown, sanitizer, the targets
  read in constant queries, the chips) against its floor: the same Markdown with each
  `[[kind:id]]` replaced by plain words, through `render_markdown` alone (`render_ratio`);
- the SQL statements of `document_html` for 10 and for 200 references (constant: `queries`);
- the diff (`docs.diff.diff_texts`) of two 50-page revisions, a few percent of their lines
  edited, inserted and removed (`diff_ms`, its median); of two far apart (a third of the lines
  rewritten: `diff_far`); and of a 20,000-line checklist of one repeated line with one line
  changed, timed once (`diff_repetitive`: a line matcher gone quadratic shows here).

The final line is JSON with every figure and the targets.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import time
from typing import Any

from bench._setup import capture, django_setup, progress, timed, timed_pair

WORKSPACE_SLUG = "bench-docs"
PRD_TITLE = "Bench PRD: fifty pages"
REFERENCES = 200
PAGES = 50
TARGET_CHARS = 150_000
REPETITIVE_LINES = 20_000
WORDS = [
    "export", "planning", "review", "owner", "field", "customer", "account", "workflow", "board",
    "search", "latency", "permission", "admin", "release", "roadmap", "insight", "evidence",
    "segment", "churn", "onboarding", "invite", "sync", "integration", "report", "dashboard",
    "filter", "column", "priority", "estimate", "risk", "rollout", "metric",
]  # fmt: skip


def _sentence(rng: random.Random, words: int = 14) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def _paragraph(rng: random.Random, sentences: int = 6) -> str:
    parts = [_sentence(rng, rng.randint(9, 18)) for _ in range(sentences)]
    # Some inline formatting, as real prose has.
    if sentences < 4:
        return " ".join(parts)
    parts[1] = f"**{parts[1]}**"
    parts[3] = f"It links to [the spec](https://example.com/spec/{rng.randint(1, 99)}) and `code`."
    return " ".join(parts)


def prd_text(references: list[str], *, seed: int = 7) -> str:
    """~150,000 characters in 50 pages, citing each of `references` once."""
    rng = random.Random(seed)  # noqa: S311 - filler text, not security
    per_page = -(-len(references) // PAGES)
    pages: list[str] = []
    refs = iter(references)
    for page in range(1, PAGES + 1):
        cited = [r for r in (next(refs, None) for _ in range(per_page)) if r]
        blocks = [f"## {page}. {_sentence(rng, 5)[:-1]}"]
        blocks.append(_paragraph(rng) + (f" See {cited[0]}." if cited else ""))
        blocks.append("\n".join(f"- {_sentence(rng, 8)} {ref}" for ref in cited[1:]))
        blocks.append(_paragraph(rng))
        blocks.append(
            "\n".join(f"- [{'x' if i % 2 else ' '}] {_sentence(rng, 7)}" for i in range(4))
        )
        if page % 3 == 0:
            rows = "\n".join(
                f"| {_sentence(rng, 3)} | {rng.randint(1, 900)} | {rng.randint(1, 900)} |"
                for _ in range(6)
            )
            blocks.append(f"| Metric | Baseline | Target |\n| --- | ---: | ---: |\n{rows}")
        if page % 4 == 0:
            blocks.append(
                "```python\n"
                + "\n".join(
                    f"def step_{i}(rows):\n    return [r for r in rows if r.ok]" for i in range(4)
                )
                + "\n```"
            )
        blocks.append(f"### {page}.1 {_sentence(rng, 4)[:-1]}")
        blocks.append(_paragraph(rng))
        pages.append("\n\n".join(b for b in blocks if b))
    text = "\n\n".join(pages) + "\n"
    filler = 0
    while len(text) < TARGET_CHARS:  # top up to the size of a real 50-page PRD
        filler += 1
        text += f"\n## Appendix {filler}\n\n{_paragraph(rng, 8)}\n"
    return text


def edited(text: str, *, seed: int = 11, share: float = 0.03) -> str:
    """A later revision: `share` of the lines changed, some inserted, some removed."""
    rng = random.Random(seed)  # noqa: S311 - test data
    lines = text.splitlines()
    out: list[str] = []
    for line in lines:
        roll = rng.random()
        if roll < share and line:
            words = line.split(" ")
            words[rng.randrange(len(words))] = rng.choice(WORDS).upper()
            out.append(" ".join(words))
        elif roll < share + 0.005:
            continue  # removed
        else:
            out.append(line)
        if rng.random() < 0.01:
            out.append(_paragraph(rng, 3))  # inserted
    return "\n".join(out) + "\n"


_TOKEN = re.compile(r"\[\[(item|insight|highlight):(\d+)\]\]")


def without_references(text: str) -> str:
    """The floor's text: each live reference replaced by plain words of about its size."""
    return _TOKEN.sub(lambda m: f"{m.group(1)} number {m.group(2)}", text)


def load(workspace: Any, owner: Any) -> list[str]:
    """Items, insights and highlights to cite (reused when there), as `[[kind:id]]` tokens."""
    from backlog import scoring
    from backlog import services as backlog
    from backlog.models import Item
    from discovery import services as discovery
    from discovery.models import Highlight, Insight

    scoring.scoring_defaults_ensure(workspace=workspace)
    items = list(Item.objects.for_workspace(workspace).order_by("id").values_list("id", flat=True))
    items.extend(
        backlog.item_create(
            workspace=workspace, actor=owner, title=f"Bench item {n}: exports keep fields",
            effort=1 + n % 8,
        ).id
        for n in range(len(items), 70)
    )  # fmt: skip
    insights = list(
        Insight.objects.for_workspace(workspace).order_by("id").values_list("id", flat=True)
    )
    insights.extend(
        discovery.insight_create(
            workspace=workspace, actor=owner, title=f"Bench insight {n}: teams rebuild exports"
        ).id
        for n in range(len(insights), 70)
    )
    highlights = list(
        Highlight.objects.for_workspace(workspace).order_by("id").values_list("id", flat=True)
    )
    if len(highlights) < 60:
        lines = [
            f"Speaker {n}: we rebuild the export by hand every week, line {n}." for n in range(60)
        ]
        transcript = "\n".join(lines)
        interview = discovery.interview_create(
            workspace=workspace, actor=owner, title="Bench interview", transcript=transcript
        )
        start = 0
        for line in lines:
            highlights.append(
                discovery.highlight_create(
                    workspace=workspace, actor=owner, interview=interview, start=start,
                    end=start + len(line),
                ).id
            )  # fmt: skip
            start += len(line) + 1
    tokens = (
        [f"[[item:{i}]]" for i in items[:70]]
        + [f"[[insight:{i}]]" for i in insights[:70]]
        + [f"[[highlight:{i}]]" for i in highlights[:60]]
    )
    random.Random(3).shuffle(tokens)  # noqa: S311 - an order, not a secret
    return tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--reload", action="store_true")
    args = parser.parse_args()
    django_setup()

    from docs import services
    from docs.diff import diff_texts
    from docs.models import Document
    from docs.references import document_html
    from pmhub.accounts.models import User
    from pmhub.core.markdown import references_in, render_markdown
    from pmhub.workspaces.models import Membership, Workspace
    from pmhub.workspaces.roles import Role

    workspace, _ = Workspace.objects.get_or_create(
        slug=WORKSPACE_SLUG, defaults={"name": "Bench docs"}
    )
    owner, _ = User.objects.get_or_create(email="owner@bench-docs.test")
    Membership.objects.for_workspace(workspace).get_or_create(
        workspace=workspace, user=owner, defaults={"role": Role.ADMIN}
    )
    started = time.perf_counter()
    tokens = load(workspace, owner)[:REFERENCES]
    body = prd_text(tokens)
    document = Document.objects.for_workspace(workspace).filter(title=PRD_TITLE).first()
    if document is not None and (args.reload or document.body != body):
        services.document_delete(workspace=workspace, document=document)
        document = None
    if document is None:
        document = services.document_create(
            workspace=workspace, actor=owner, kind="prd", title=PRD_TITLE, body=body
        )
    loading = {
        "seconds": round(time.perf_counter() - started, 1),
        "chars": len(body),
        "references": len(references_in(body)),
    }
    progress("load", loading)
    assert loading["references"] == REFERENCES, loading

    floor_text = without_references(body)

    def render() -> str:
        return document_html(workspace=workspace, body=document.body)

    def floor() -> str:
        return render_markdown(floor_text)

    html = str(render())
    assert html.count('class="ref ref--') == REFERENCES, "every reference drawn"
    assert "not found" not in html
    for _ in range(3):  # warm: the parser, caches, the connection
        render()
        floor()
    result, floor_figures = timed_pair(render, floor, repeat=args.repeat)
    render_ratio = round(result["median_ms"] / floor_figures["median_ms"], 2)
    progress("render", {**result, "floor": floor_figures, "ratio": render_ratio})

    ten = "\n\n".join(f"Paragraph {i} cites {token}." for i, token in enumerate(tokens[:10]))
    queries = {
        "10": len(capture(lambda: document_html(workspace=workspace, body=ten))),
        "200": len(capture(render)),
    }
    progress("queries", queries)

    later = edited(body)
    diff = diff_texts(body, later)
    diff_figures = {**timed(lambda: diff_texts(body, later), repeat=args.repeat)}
    diff_figures.update(
        {"added": diff.added, "removed": diff.removed, "rows": len(diff.rows), "chars": len(later)}
    )
    progress("diff", diff_figures)
    # Versions far apart: a third of the lines rewritten.
    rewritten = edited(body, seed=13, share=0.3)
    diff_far = timed(lambda: diff_texts(body, rewritten), repeat=max(5, args.repeat // 3))
    progress("diff_far", diff_far)
    # A pathological body: the same short line thousands of times (a long checklist), one
    # line changed in the middle. Timed once: it shows whether the line matcher goes quadratic.
    same = "\n".join(["- [ ] TBD"] * REPETITIVE_LINES)
    middle = REPETITIVE_LINES // 2
    changed = "\n".join(["- [ ] TBD"] * middle + ["- [x] done"] + ["- [ ] TBD"] * middle)
    started = time.perf_counter()
    diff_texts(same, changed)
    diff_repetitive = {
        "lines": REPETITIVE_LINES,
        "chars": len(same),
        "ms": round((time.perf_counter() - started) * 1000, 1),
    }
    progress("diff_repetitive", diff_repetitive)

    print(
        json.dumps(
            {
                "bench": "docs",
                "load": loading,
                "render": {**result, "floor": floor_figures},
                "render_ratio": render_ratio,
                "queries": queries,
                "queries_constant": queries["10"] == queries["200"],
                "diff": diff_figures,
                "diff_ms": diff_figures["median_ms"],
                "diff_far": diff_far,
                "diff_repetitive": diff_repetitive,
                "targets": {"render_ratio": 2, "diff_ms": 200},
            },
            default=str,
        )
    )


if __name__ == "__main__":
    main()
