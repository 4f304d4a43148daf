"""A line diff of two revisions with the changed words marked inside changed lines.

Lines are compared with difflib.SequenceMatcher; a replaced block's lines are paired in order
and each pair compared word by word. Unchanged runs fold to a few lines of context. Built for
50-page documents (~150,000 characters) in well under 200 ms: the line matcher works on
hashed lines, word diffs run only on paired changed lines, and a huge replaced block (a
rewrite, not an edit) skips the word pass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

CONTEXT = 3
# A replaced block larger than this is shown as whole lines removed and added.
WORD_PAIRS_MAX = 5_000
# A line longer than this is not word-diffed (one giant paragraph costs quadratic time).
WORD_LINE_MAX = 5_000
# The changed middle of a line pair is matched word by word up to this many word pairs, and a
# whole diff up to WORD_BUDGET (past it, changed middles are marked whole).
WORD_MATCH_MAX = 20_000
WORD_BUDGET = 250_000
# A word or a sign with the spaces before it, or trailing spaces: one token each.
_WORDS = re.compile(r"\s*\w+|\s*[^\w\s]|\s+")


@dataclass(frozen=True)
class Row:
    """One row of the diff. `op`: "same", "del", "add" or "fold" (`folded` lines hidden)."""

    op: str
    old: int | None
    new: int | None
    html: SafeString
    folded: int = 0


@dataclass(frozen=True)
class Diff:
    rows: list[Row]
    added: int
    removed: int

    @property
    def is_empty(self) -> bool:
        return not self.added and not self.removed


def _words(a: str, b: str, budget: list[int]) -> tuple[SafeString, SafeString]:
    """`a` and `b` escaped, the words only one of them has wrapped in <del> / <ins>.

    The common head and tail are cut first (an edit usually touches a few words); the changed
    middle is matched word by word while that stays cheap, for this pair and for the whole
    diff (`budget`: word pairs left to compare), else marked whole: the cost stays bounded
    whatever the lines' length and number."""
    if len(a) > WORD_LINE_MAX or len(b) > WORD_LINE_MAX:
        return _plain(a), _plain(b)
    wa, wb = _WORDS.findall(a), _WORDS.findall(b)
    head = 0
    limit = min(len(wa), len(wb))
    while head < limit and wa[head] == wb[head]:
        head += 1
    tail = 0
    while tail < limit - head and wa[-1 - tail] == wb[-1 - tail]:
        tail += 1
    mid_a, mid_b = wa[head : len(wa) - tail], wb[head : len(wb) - tail]
    out_a = [escape("".join(wa[:head]))]
    out_b = [escape("".join(wb[:head]))]
    cost = len(mid_a) * len(mid_b)
    if cost > WORD_MATCH_MAX or cost > budget[0]:
        opcodes = [("replace", 0, len(mid_a), 0, len(mid_b))]
    else:
        budget[0] -= cost
        opcodes = SequenceMatcher(None, mid_a, mid_b, autojunk=False).get_opcodes()
    for tag, i1, i2, j1, j2 in opcodes:
        left, right = escape("".join(mid_a[i1:i2])), escape("".join(mid_b[j1:j2]))
        if tag == "equal":
            out_a.append(left)
            out_b.append(right)
            continue
        if left:
            out_a.append(f"<del>{left}</del>")
        if right:
            out_b.append(f"<ins>{right}</ins>")
    out_a.append(escape("".join(wa[len(wa) - tail :])))
    out_b.append(escape("".join(wb[len(wb) - tail :])))
    return mark_safe("".join(out_a)), mark_safe("".join(out_b))  # noqa: S308 - escaped above


def _plain(text: str) -> SafeString:
    return mark_safe(escape(text))  # noqa: S308 - escaped here


def _replaced(
    a: list[str], b: list[str], i1: int, i2: int, j1: int, j2: int, budget: list[int]
) -> list[Row]:
    """A replaced block, its lines paired in order: each pair's words compared, a pair of the
    same line (a blank line between edited paragraphs) kept as unchanged between them."""
    rows: list[Row] = []
    dels: list[Row] = []
    adds: list[Row] = []
    pairs = min(i2 - i1, j2 - j1)
    for k in range(pairs):
        old, new = a[i1 + k], b[j1 + k]
        if old == new:
            rows += dels + adds
            dels, adds = [], []
            rows.append(Row("same", i1 + k + 1, j1 + k + 1, _plain(old)))
            continue
        left, right = _words(old, new, budget)
        dels.append(Row("del", i1 + k + 1, None, left))
        adds.append(Row("add", None, j1 + k + 1, right))
    dels += [Row("del", k + 1, None, _plain(a[k])) for k in range(i1 + pairs, i2)]
    adds += [Row("add", None, k + 1, _plain(b[k])) for k in range(j1 + pairs, j2)]
    return rows + dels + adds


def diff_texts(old: str, new: str, *, context: int = CONTEXT) -> Diff:
    """The line diff from `old` to `new`."""
    a, b = old.splitlines(), new.splitlines()
    rows: list[Row] = []
    budget = [WORD_BUDGET]
    # autojunk: lines that are very common (blank lines, "---") never anchor a match, which keeps
    # a diff of many paragraphs near-linear; matches still extend across them.
    matcher = SequenceMatcher(None, a, b)
    opcodes = matcher.get_opcodes()
    for index, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        if tag == "equal":
            length = i2 - i1
            head = 0 if index == 0 else context
            tail = 0 if index == len(opcodes) - 1 else context
            if length <= head + tail + 1:
                rows += [
                    Row("same", i1 + k + 1, j1 + k + 1, _plain(a[i1 + k])) for k in range(length)
                ]
                continue
            rows += [Row("same", i1 + k + 1, j1 + k + 1, _plain(a[i1 + k])) for k in range(head)]
            hidden = length - head - tail
            rows.append(Row("fold", i1 + head + 1, j1 + head + 1, _plain(""), folded=hidden))
            rows += [
                Row("same", i2 - tail + k + 1, j2 - tail + k + 1, _plain(a[i2 - tail + k]))
                for k in range(tail)
            ]
            continue
        if tag == "replace" and (i2 - i1) <= WORD_PAIRS_MAX and (j2 - j1) <= WORD_PAIRS_MAX:
            rows += _replaced(a, b, i1, i2, j1, j2, budget)
            continue
        rows += [Row("del", k + 1, None, _plain(a[k])) for k in range(i1, i2)]
        rows += [Row("add", None, k + 1, _plain(b[k])) for k in range(j1, j2)]
    added = sum(row.op == "add" for row in rows)
    removed = sum(row.op == "del" for row in rows)
    return Diff(rows, added, removed)
