"""`{% url %}` as Django's, with each URL reversed once per process for the same view and
values: a workspace page has a dozen or more url tags, each a reverse() of ~40 µs (~0.6 ms a
roadmap page), for URLs that depend only on the URLconf and the values given.

Installed as a template builtin after Django's own, so it takes over the `url` name in every
template without a `{% load %}`."""

from __future__ import annotations

import functools
from typing import Any

from django import template
from django.template.defaulttags import URLNode
from django.template.defaulttags import url as django_url
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.html import conditional_escape

register = template.Library()

_CACHEABLE = (int, str)


@functools.lru_cache(maxsize=8192)
def _reversed(
    view_name: str,
    args: tuple[Any, ...],
    kwargs: tuple[tuple[str, Any], ...],
    current_app: str | None,
    prefix: str,
    urlconf: Any,
) -> str:
    # `prefix` and `urlconf` are part of the key only: reverse() reads them itself.
    return reverse(view_name, args=args, kwargs=dict(kwargs), current_app=current_app)


class CachedURLNode(URLNode):
    def render(self, context: template.Context) -> str:
        args = tuple(arg.resolve(context) for arg in self.args)
        kwargs = tuple((k, v.resolve(context)) for k, v in self.kwargs.items())
        if not all(type(v) in _CACHEABLE for v in (*args, *(v for _, v in kwargs))):
            return super().render(context)  # a model or a lazy value: as Django does
        view_name = self.view_name.resolve(context)
        try:
            current_app = context.request.current_app
        except AttributeError:
            try:
                current_app = context.request.resolver_match.namespace
            except AttributeError:
                current_app = None
        url = ""
        try:
            url = _reversed(
                view_name, args, kwargs, current_app, get_script_prefix(), get_urlconf()
            )
        except NoReverseMatch:
            if self.asvar is None:
                raise
        if self.asvar:
            context[self.asvar] = url
            return ""
        return conditional_escape(url) if context.autoescape else url


@register.tag
def url(parser: template.base.Parser, token: template.base.Token) -> CachedURLNode:
    """Django's `{% url %}` (the same syntax and output), cached: see the module."""
    node = django_url(parser, token)
    return CachedURLNode(node.view_name, node.args, node.kwargs, node.asvar)
