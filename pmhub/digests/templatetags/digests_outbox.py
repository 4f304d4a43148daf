"""`{% outbox_enabled as name %}`: whether the quick start's Outbox exists here, for the
digests' tab bar, which every digests page includes without passing it."""

from __future__ import annotations

from django import template

from pmhub.digests.outbox import outbox_enabled as _outbox_enabled

register = template.Library()


@register.simple_tag
def outbox_enabled() -> bool:
    return _outbox_enabled()
