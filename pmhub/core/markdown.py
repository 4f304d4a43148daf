"""The one Markdown renderer and HTML sanitizer for every rich-text field, in pages and email.

Beyond CommonMark: tables, strikethrough, task lists (`- [ ]`, `- [x]`) and live references
(`[[item:12]]`, `[[insight:3]]`, `[[highlight:9]]`). A reference is parsed like any inline
element (so inside code it stays literal text), left in the sanitized HTML as a marker made of
private-use characters, and replaced last by what the caller's `references` function draws for
it: the sanitizer never sees, and so never has to allow, the markup of a reference chip.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping

import nh3
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline

REFERENCE_KINDS = ("item", "insight", "highlight")
_REFERENCE = re.compile(r"\[\[(item|insight|highlight):(\d{1,18})\]\]")
# Private-use characters: stripped from every source text, so only the parser makes markers.
# An entity (`&#xE000;`) still decodes to one, so a marker also carries a nonce drawn for each
# render: text that decodes to something marker-shaped never has it and stays inert.
_OPEN, _CLOSE = "\ue000", "\ue001"
_MARKER = re.compile(f"{_OPEN}([0-9a-f]{{16}})(item|insight|highlight):(\\d{{1,18}}){_CLOSE}")
_PRIVATE = re.compile(f"[{_OPEN}{_CLOSE}]")

Reference = tuple[str, int]
# Draws the references found, each (kind, id) -> its HTML (already safe).
Resolver = Callable[[list[Reference]], Mapping[Reference, str]]


def _reference_rule(state: StateInline, silent: bool) -> bool:
    if not state.src.startswith("[[", state.pos):
        return False
    match = _REFERENCE.match(state.src, state.pos)
    if match is None:
        return False
    if not silent:
        token = state.push("pmhub_reference", "", 0)
        token.meta = {"kind": match.group(1), "id": int(match.group(2))}
    state.pos = match.end()
    return True


_md = (
    MarkdownIt("commonmark", {"html": False, "linkify": False})
    .enable("table")
    .enable("strikethrough")
)
_md.inline.ruler.before("link", "pmhub_reference", _reference_rule)
_md.add_render_rule(
    "pmhub_reference",
    lambda self, tokens, idx, options, env: (
        f"{_OPEN}{env['nonce']}{tokens[idx].meta['kind']}:{tokens[idx].meta['id']}{_CLOSE}"
    ),
)

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "li", "ol", "p", "pre", "s", "strong", "sub", "sup", "table", "tbody", "td",
    "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "td": {"align"}, "th": {"align"}}

# A list item starting with a box: `<li>[ ] ` or, in a loose list, `<li>\n<p>[x] `.
_TASK = re.compile(r"<li>(\s*<p>)?\[( |x|X)\] ")


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


def _task(match: re.Match[str]) -> str:
    done = match.group(2) != " "
    box = (
        '<span class="md-task__box md-task__box--done" role="img" aria-label="Done">✓</span> '
        if done
        else '<span class="md-task__box" role="img" aria-label="To do"></span> '
    )
    return f'<li class="md-task{" md-task--done" if done else ""}">{match.group(1) or ""}{box}'


def references_in(text: str) -> list[Reference]:
    """The live references of a Markdown text, in order, each once (code excluded)."""
    nonce = secrets.token_hex(8)
    html = _md.render(_PRIVATE.sub("", text or ""), {"nonce": nonce})
    seen: dict[Reference, None] = {}
    for match in _MARKER.finditer(html):
        if match.group(1) == nonce:
            seen[(match.group(2), int(match.group(3)))] = None
    return list(seen)


def render_markdown(text: str, references: Resolver | None = None) -> SafeString:
    """Markdown to safe HTML. Raw HTML in the source is escaped, then the output is sanitized.
    Live references are drawn by `references` (one call with all of them, so a caller reads
    their targets in constant queries); without it they stay as their literal text."""
    nonce = secrets.token_hex(8)
    html = str(sanitize_html(_md.render(_PRIVATE.sub("", text or ""), {"nonce": nonce})))
    html = _TASK.sub(_task, html)
    if _OPEN not in html:
        # A lone private-use character decoded from an entity: dropped, as in the source.
        return mark_safe(_PRIVATE.sub("", html))  # noqa: S308 - sanitized; task boxes are ours
    found = list(
        dict.fromkeys(
            (m.group(2), int(m.group(3))) for m in _MARKER.finditer(html) if m.group(1) == nonce
        )
    )
    drawn = references(found) if references is not None and found else {}

    def draw(match: re.Match[str]) -> str:
        if match.group(1) != nonce:  # decoded from entities in the text: plain text
            return match.group(0)
        key = (match.group(2), int(match.group(3)))
        return drawn.get(key) or escape(f"[[{key[0]}:{key[1]}]]")

    html = _PRIVATE.sub("", _MARKER.sub(draw, html))
    return mark_safe(html)  # noqa: S308 - sanitized; chips escape their own values
