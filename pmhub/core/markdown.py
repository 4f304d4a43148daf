"""The one Markdown renderer and HTML sanitizer for every rich-text field, in pages and email."""

from __future__ import annotations

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

_md = (
    MarkdownIt("commonmark", {"html": False, "linkify": False})
    .enable("table")
    .enable("strikethrough")
)

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "li", "ol", "p", "pre", "s", "strong", "sub", "sup", "table", "tbody", "td",
    "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "td": {"align"}, "th": {"align"}}


def sanitize_html(html: str) -> SafeString:
    """Keep only allow-listed tags and attributes; links get rel=noopener noreferrer."""
    return mark_safe(  # noqa: S308 - nh3 has just removed everything not on the allow-list.
        nh3.clean(
            html,
            tags=ALLOWED_TAGS,
            attributes=ALLOWED_ATTRIBUTES,
            url_schemes={"http", "https", "mailto"},
            link_rel="noopener noreferrer",
        )
    )


def render_markdown(text: str) -> SafeString:
    """Markdown to safe HTML. Raw HTML in the source is escaped, then the output is sanitized."""
    return sanitize_html(_md.render(text or ""))
