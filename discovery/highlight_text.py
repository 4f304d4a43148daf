"""Text with its highlights marked in place, and quotes with the words around them.

The marked text is rendered for a container with `white-space: pre-wrap` whose only content is
text and `<mark>` elements, so that a character offset in the browser's DOM text is the same
offset in the stored string (highlights.js counts across the marks).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from discovery.models import Highlight

DEFAULT_COLOR = ""


def _text(value: str) -> str:
    # The HTML parser turns a raw CR into LF; a character reference keeps it, so offsets hold.
    return escape(value).replace("\r", "&#13;")


def highlight_color(highlight: Highlight) -> str:
    """The colour of the highlight's first tag (by name), or "" for the accent colour."""
    tags = sorted((t.tag for t in highlight.taggings.all()), key=lambda tag: tag.name.lower())
    return tags[0].color if tags else DEFAULT_COLOR


def is_placed(highlight: Highlight, text: str) -> bool:
    """Whether the highlight's offsets still cover exactly its quote in `text`."""
    return (
        not highlight.needs_review
        and 0 <= highlight.start < highlight.end <= len(text)
        and text[highlight.start : highlight.end] == highlight.quote
    )


def marked_text(text: str, highlights: Sequence[Highlight]) -> SafeString:
    """`text` escaped, with each placed highlight wrapped in `<mark data-highlight-id>`.

    Highlights flagged `needs_review`, or whose offsets no longer cover their quote, are left
    out: they must never mark other words. Overlaps are split into flat segments; each names
    every highlight it belongs to.
    """
    placed = [h for h in highlights if is_placed(h, text)]
    if not placed:
        return mark_safe(_text(text))  # noqa: S308 - escaped by _text.
    bounds = sorted({0, len(text)} | {h.start for h in placed} | {h.end for h in placed})
    first_segment: set[int] = set()
    parts: list[str] = []
    for start, end in zip(bounds, bounds[1:], strict=False):
        covering = [h for h in placed if h.start <= start and h.end >= end]
        if not covering:
            parts.append(_text(text[start:end]))
            continue
        innermost = min(covering, key=lambda h: (h.end - h.start, h.id))
        anchor = ""
        if innermost.id not in first_segment:
            first_segment.add(innermost.id)
            anchor = f"highlight-{innermost.id}"
        color = highlight_color(innermost)
        parts.append(
            format_html(
                '<mark class="hl{}" data-highlight-id="{}" data-highlight-ids="{}"{}{}>{}</mark>',
                " hl--overlap" if len(covering) > 1 else "",
                innermost.id,
                " ".join(str(h.id) for h in covering),
                format_html(' data-color="{}"', color) if color else "",
                format_html(' id="{}"', anchor) if anchor else "",
                mark_safe(_text(text[start:end])),  # noqa: S308 - escaped by _text.
            )
        )
    return mark_safe("".join(parts))  # noqa: S308 - every part is escaped above.


@dataclass(frozen=True)
class QuoteInContext:
    before: str
    quote: str
    after: str
    cut_before: bool
    cut_after: bool


def quote_in_context(
    text: str, *, start: int, end: int, quote: str, words: int = 12
) -> QuoteInContext:
    """The quote with up to `words` words on each side, from the text it was taken from."""
    if not (0 <= start < end <= len(text)) or text[start:end] != quote:
        return QuoteInContext("", quote, "", cut_before=False, cut_after=False)
    before_match = re.search(rf"(?:\S+\s+){{0,{words}}}\S*$", text[:start])
    after_match = re.match(rf"\S*(?:\s+\S+){{0,{words}}}", text[end:])
    before = before_match.group(0) if before_match else ""
    after = after_match.group(0) if after_match else ""
    return QuoteInContext(
        before=before,
        quote=quote,
        after=after,
        cut_before=len(before) < start,
        cut_after=len(after) < len(text) - end,
    )
