"""`{% icon "name" size="sm" class="..." %}`: an icon of static/img/icons.svg.

A built-in tag (settings TEMPLATES builtins), not an include: pages draw dozens of icons, and an
include per icon cost about a millisecond and a half a page.
"""

from __future__ import annotations

import functools
from typing import Any

from django import template
from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()


@functools.cache
def _sprite() -> str:
    return static("img/icons.svg")


@register.simple_tag
def icon(name: str, size: str = "", **kwargs: Any) -> SafeString:
    return _icon(name, size, kwargs.get("class") or "")


# A page draws the same few dozen icons every time: each is built once per process.
@functools.lru_cache(maxsize=1024)
def _icon(name: str, size: str, extra_class: str) -> SafeString:
    classes = "icon" + (f" icon--{size}" if size else "")
    if extra_class:
        classes += f" {extra_class}"
    return format_html(
        '<svg class="{}" aria-hidden="true" focusable="false"><use href="{}#{}"></use></svg>',
        classes,
        _sprite(),
        name,
    )
