"""The cards of a board or release plan column, built in Python as the backlog table's rows are.

A board page holds 300 cards; through the template engine (an include per cell, a lookup, an
escape and a filter per variable, a csrf_token and an icon tag per card) they cost ~35 ms, five
times the board's database work. So a card is one string (~3 ms for 300) built from values each
passed through `html_text` and marked safe once, with what is the same for every card (the csrf
field, the remove icon, the score's title) built once per column.

A card carries what roadmap_board.js needs: its id, its links, its move URL when the person may
move it (editors; viewers get no handles).
"""

from __future__ import annotations

from typing import Any

from django import template
from django.template.defaultfilters import floatformat
from django.utils.safestring import SafeString, mark_safe

from backlog.templatetags.backlog_format import compact_money
from backlog.templatetags.backlog_table import html_text
from pmhub.core.templatetags.pmhub_icons import icon

register = template.Library()


def _plural(count: int, one: str = "", many: str = "s") -> str:
    return one if count == 1 else many


def _score(card: dict[str, Any], title: str) -> str:
    score = card.get("score")
    if score is None:
        return f'<span class="board-card__score" title="{title}: unknown">—</span>'
    return f'<span class="board-card__score" title="{title}">{floatformat(score, "-1")}</span>'


def _demand(card: dict[str, Any], hide_release: bool) -> str:
    customers, arr = card["customer_count"], card["arr"]
    release = "" if hide_release else card.get("release_name")
    if not (customers or arr or release):
        return ""
    parts = []
    if customers:
        companies = card["company_count"]
        parts.append(
            f'<span title="{customers} customer{_plural(customers)} at {companies}'
            f' compan{_plural(companies, "y", "ies")}">{customers} customer{_plural(customers)}'
            "</span>"
        )
    if arr:
        parts.append(f'<span title="ARR of the companies asking">{compact_money(arr)} ARR</span>')
    if release:
        parts.append(
            f'<span class="rm-card__release" title="Target release">{html_text(release)}</span>'
        )
    return '<div class="board-card__demand">\n' + "\n".join(parts) + "\n</div>\n"


def card_html(
    card: dict[str, Any],
    *,
    score_title: str | None,
    remove_fields: str,
    remove_icon: str,
    hide_release: bool,
) -> str:
    """One card's `<li>` (see roadmap.views.roadmaps._decorate for what `card` holds).
    `score_title` is the primary formula's name, escaped (None: no score shown);
    `remove_fields` the remove form's hidden fields, escaped."""
    title = html_text(card["title"])
    detail = html_text(card["detail_url"])
    move = (
        f' draggable="true" data-move-url="{html_text(card["move_url"])}"'
        if card.get("move_url")
        else ""
    )
    area = (
        f'<span class="board-card__area">{html_text(card["area_name"])}</span>\n'
        if card.get("area_name")
        else ""
    )
    owner = (
        f'<span class="board-card__owner" title="Owner">{html_text(card["owner_label"])}</span>\n'
        if card.get("owner_label")
        else ""
    )
    score = "" if score_title is None else f"{_score(card, score_title)}\n"
    remove = ""
    if card.get("remove_url"):
        remove = (
            f'<form class="rm-card__remove" method="post" action="{html_text(card["remove_url"])}"'
            f' data-confirm="Take “{title}” off this roadmap? The backlog item stays.">\n'
            f"{remove_fields}"
            f'<button type="submit" class="icon-btn icon-btn--sm" aria-label="Remove “{title}”'
            f' from the roadmap" title="Remove from the roadmap">{remove_icon}</button>\n</form>\n'
        )
    return (
        f'<li class="board-card rm-card" data-card data-id="{card["id"]}" data-href="{detail}"'
        f' data-title="{title}" tabindex="0"{move}>\n'
        '<div class="board-card__top">\n'
        f'<a class="board-card__title" href="{detail}" draggable="false" tabindex="-1">'
        f"{title}</a>\n{score}"
        "</div>\n"
        '<div class="board-card__meta">\n'
        f'<span class="badge badge--dot item-status item-status--{html_text(card["status"])}">'
        f"{html_text(card['status_label'])}</span>\n"
        f"{area}{owner}"
        "</div>\n"
        f"{_demand(card, hide_release)}{remove}"
        "</li>\n"
    )


@register.simple_tag(takes_context=True)
def roadmap_cards(
    context: template.Context, cards: list[dict[str, Any]], hide_release: bool = False
) -> SafeString:
    """`{% roadmap_cards cards %}`: the `<li>`s of a column's cards, in one tag rather than an
    include and a loop of tags; reads `primary`, `page_url` and the csrf token from the page."""
    if not cards:
        return mark_safe("")  # noqa: S308 - empty
    primary = context.get("primary")
    # As {% csrf_token %} draws it: one token per page, so one field for every card.
    csrf_token = context.get("csrf_token")
    csrf = (
        f'<input type="hidden" name="csrfmiddlewaretoken" value="{html_text(csrf_token)}">'
        if csrf_token and str(csrf_token) != "NOTPROVIDED"
        else ""
    )
    next_field = (
        f'<input type="hidden" name="next" value="{html_text(context.get("page_url", ""))}">'
    )
    options = {
        "score_title": None if primary is None else html_text(primary.name),
        "remove_fields": f"{csrf}{next_field}\n",
        "remove_icon": icon("x", size="sm"),
        "hide_release": hide_release,
    }
    return mark_safe(  # noqa: S308 - every value went through html_text
        "".join(card_html(card, **options) for card in cards)
    )
