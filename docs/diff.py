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
WORD_PAIRS_MAX = 400
# A line longer than this is not word-diffed (one giant paragraph costs quadratic time).
WORD_LINE_MAX = 5_000
_WORDS = re.compile(r"\s+|\w+|[^\w\s]")


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


def _words(a: str, b: str) -> tuple[SafeString, SafeString]:
    """`a` and `b` escaped, the words only one of them has wrapped in <del> / <ins>."""
    if len(a) > WORD_LINE_MAX or len(b) > WORD_LINE_MAX:
        return mark_safe(escape(a)), mark_safe(escape(b))  # noqa: S308 - escaped here
    wa, wb = _WORDS.findall(a), _WORDS.findall(b)
    out_a: list[str] = []
    out_b: list[str] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, wa, wb, autojunk=False).get_opcodes():
        left, right = escape("".join(wa[i1:i2])), escape("".join(wb[j1:j2]))
        if tag == "equal":
            out_a.append(left)
            out_b.append(right)
            continue
        if left:
            out_a.append(f"<del>{left}</del>")
        if right:
            out_b.append(f"<ins>{right}</ins>")
    return mark_safe("".join(out_a)), mark_safe("".join(out_b))  # noqa: S308 - escaped above


def _plain(text: str) -> SafeString:
    return mark_safe(escape(text))  # noqa: S308 - escaped here


def diff_texts(old: str, new: str, *, context: int = CONTEXT) -> Diff:
    """The line diff from `old` to `new`."""
    a, b = old.splitlines(), new.splitlines()
    rows: list[Row] = []
    added = removed = 0
    matcher = SequenceMatcher(None, a, b, autojunk=False)
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
        removed += i2 - i1
        added += j2 - j1
        if tag == "replace" and (i2 - i1) <= WORD_PAIRS_MAX and (j2 - j1) <= WORD_PAIRS_MAX:
            pairs = min(i2 - i1, j2 - j1)
            dels: list[Row] = []
            adds: list[Row] = []
            for k in range(pairs):
                left, right = _words(a[i1 + k], b[j1 + k])
                dels.append(Row("del", i1 + k + 1, None, left))
                adds.append(Row("add", None, j1 + k + 1, right))
            dels += [Row("del", k + 1, None, _plain(a[k])) for k in range(i1 + pairs, i2)]
            adds += [Row("add", None, k + 1, _plain(b[k])) for k in range(j1 + pairs, j2)]
            rows += dels + adds
            continue
        rows += [Row("del", k + 1, None, _plain(a[k])) for k in range(i1, i2)]
        rows += [Row("add", None, k + 1, _plain(b[k])) for k in range(j1, j2)]
    return Diff(rows, added, removed)
