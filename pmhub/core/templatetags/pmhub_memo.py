"""`{% memo key ... %}…{% endmemo %}`: a part of a page drawn once per process for each key.

For layout parts that every page draws and whose markup is a function of a few values, like the
sidebar's navigation (workspace slug, section, page): ~20 links, each with its URL reversed, an
icon and the tests for the current page, cost about a millisecond a page. Everything the block
reads must be among its keys (URLs and static paths are fixed for a process; the URL prefix
is added to the key), and nothing per request (a CSRF token, the user) may be inside.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.template.base import FilterExpression, NodeList, Parser, Token
from django.urls import get_script_prefix
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

# Bounded: keys are per workspace. Emptied when full, which is simple and safe across threads.
MEMO_SIZE = 512


class MemoNode(template.Node):
    def __init__(self, nodelist: NodeList, keys: list[FilterExpression]) -> None:
        self.nodelist = nodelist
        self.keys = keys
        self.memo: dict[tuple[Any, ...], SafeString] = {}

    def render(self, context: template.Context) -> SafeString:
        key = (get_script_prefix(), *(key.resolve(context) for key in self.keys))
        html = self.memo.get(key)
        if html is None:
            html = mark_safe(self.nodelist.render(context))  # noqa: S308 - rendered by the engine
            if len(self.memo) >= MEMO_SIZE:
                self.memo.clear()
            self.memo[key] = html
        return html


@register.tag
def memo(parser: Parser, token: Token) -> MemoNode:
    keys = [parser.compile_filter(bit) for bit in token.split_contents()[1:]]
    if not keys:
        raise template.TemplateSyntaxError("{% memo %} needs at least one key.")
    nodelist = parser.parse(("endmemo",))
    parser.delete_first_token()
    return MemoNode(nodelist, keys)
