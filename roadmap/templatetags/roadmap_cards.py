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

import functools
import secrets
from typing import Any

from django import template
from django.template.defaultfilters import floatformat
from django.utils.safestring import SafeString, mark_safe

from backlog.templatetags.backlog_format import compact_money
from pmhub.core.html import html_text
from pmhub.core.templatetags.pmhub_icons import icon

register = template.Library()


@functools.lru_cache(maxsize=4096)
def _shared_text(value: str) -> str:
    """html_text of a text many cards show (a status, an area, an owner, a release), escaped
    once for all of them."""
    return html_text(value)


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
            f'<span class="rm-card__release" title="Target release">{_shared_text(release)}</span>'
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
        f'<span class="board-card__area">{_shared_text(card["area_name"])}</span>\n'
        if card.get("area_name")
        else ""
    )
    owner = (
        f'<span class="board-card__owner" title="Owner">{_shared_text(card["owner_label"])}'
        "</span>\n"
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
        f'<span class="badge badge--dot item-status item-status--{_shared_text(card["status"])}">'
        f"{_shared_text(str(card['status_label']))}</span>\n"
        f"{area}{owner}"
        "</div>\n"
        f"{_demand(card, hide_release)}{remove}"
        "</li>\n"
    )


def _card_options(context: template.Context, hide_release: bool) -> dict[str, Any]:
    """What every card of a page shares: the score's title, the remove form's fields and icon."""
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
    return {
        "score_title": None if primary is None else html_text(primary.name),
        "remove_fields": f"{csrf}{next_field}\n",
        "remove_icon": icon("x", size="sm"),
        "hide_release": hide_release,
    }


@register.simple_tag(takes_context=True)
def roadmap_cards(
    context: template.Context, cards: list[dict[str, Any]], hide_release: bool = False
) -> SafeString:
    """`{% roadmap_cards cards %}`: the `<li>`s of a column's cards, in one tag rather than an
    include and a loop of tags; reads `primary`, `page_url` and the csrf token from the page."""
    if not cards:
        return mark_safe("")  # noqa: S308 - empty
    options = _card_options(context, hide_release)
    return mark_safe(  # noqa: S308 - every value went through html_text
        "".join(card_html(card, **options) for card in cards)
    )


@register.simple_tag(takes_context=True)
def roadmap_lanes(context: template.Context, lanes: list[dict[str, Any]]) -> SafeString:
    """`{% roadmap_lanes lanes %}`: the board's lanes, each a cell per column holding its cards,
    as the template's loop drew them (the same markup); reads `can_edit` and, for a column's
    "show more", what roadmap/_roadmap_more_link.html reads. Given a `late_html` dict, leaves a
    marker in their place and the lanes in the dict, under the marker.

    A grouped board has a lane per area or objective: a loop of template tags per cell cost ~3
    ms a page, as much as its 300 cards."""
    html = _lanes_html(context, lanes)
    late = context.get("late_html")
    if late is None:
        return mark_safe(html)  # noqa: S308 - every value went through html_text
    # The view puts the lanes in after rendering (see roadmap.views.roadmaps._render_late).
    marker = f"<!--late {secrets.token_hex(8)}-->"
    late[marker] = html
    return mark_safe(marker)  # noqa: S308 - a comment of ours


def _lanes_html(context: template.Context, lanes: list[dict[str, Any]]) -> str:
    """The lanes' markup, as a plain str: marking ~420 KB safe copies it (~0.7 ms)."""
    options = _card_options(context, hide_release=False)
    empty = (
        '<p class="board__empty subtle" data-empty>'
        f"{'Drop a card here' if context.get('can_edit') else 'No items'}</p>"
    )
    parts = []
    for lane in lanes:
        key, label = html_text(lane["key"]), lane["label"]
        label = html_text(label) if label else ""
        labelled = f' aria-labelledby="lane-{key}"' if label else ""
        title = f'<h3 class="rm-lane__title" id="lane-{key}">{label}</h3>' if label else ""
        parts.append(
            f'\n          <section class="rm-lane" data-lane{labelled}>\n            {title}\n'
            '            <div class="rm-lane__cells">\n              '
        )
        for cell in lane["cells"]:
            column, cards = cell["column"], cell["cards"]
            name = html_text(column.name)
            parts.append(
                f'\n                <div class="board__col rm-cell" data-column'
                f' data-column-id="{column.id}" data-position="{cell["position"]}"'
                f' data-column-name="{name}" aria-label="{name}{", " + label if label else ""}">'
                f'\n                  <ol class="board__cards rm-cards" data-cards'
                f' id="cards-{key}-{column.id}">\n                    '
                f"{''.join(card_html(card, **options) for card in cards)}"
                "\n                  </ol>\n                  "
                f"{'' if cards else empty}\n                  "
                f"{_more_link(context, cell) if lane['key'] == 'all' else ''}"
                "\n                </div>\n              "
            )
        parts.append("\n            </div>\n          </section>\n        ")
    return "".join(parts)


def _more_link(context: template.Context, cell: dict[str, Any]) -> str:
    """A column's "show more" under its cells, as the board's other pages draw it."""
    board = cell["board"]
    link = context.template.engine.get_template("roadmap/_roadmap_more_link.html")
    with context.push(
        column=cell["column"], next_rank=board.next_rank, remaining=board.remaining, oob=False
    ):
        return link.render(context)
