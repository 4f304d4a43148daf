"""Numbers as the backlog shows them: compact money in dense tables."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.http import QueryDict

register = template.Library()


@register.filter
def compact_money(value: Decimal | float | int | None) -> str:
    """$950, $12K, $1.2M, $3.4B; an empty cell for nothing."""
    if not value:
        return "—"
    amount = float(value)
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        # Compare after rounding, so that 999,960 reads $1M and not $1000K.
        if round(amount / size, 1) >= 1:
            short = f"{amount / size:.1f}".removesuffix(".0")
            return f"${short}{suffix}"
    return f"${amount:,.0f}"


@register.filter
def export_query(params: QueryDict) -> str:
    """The filters and sort of a page's query string as the CSV export reads them: its own
    parameters only, empty values (an untouched filter) dropped."""
    from backlog.api.views import ItemFilterSerializer

    names = ItemFilterSerializer._declared_fields  # the class's fields, without an instance
    query = QueryDict(mutable=True)
    for key in params:
        values = [value for value in params.getlist(key) if value.strip()]
        if key in names and values:
            query.setlist(key, values)
    return query.urlencode()
