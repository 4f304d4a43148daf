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
from django.urls import reverse
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
        return f'<span class="board-card__score" title="{title}: unknown">—</span>\n'
    return f'<span class="board-card__score" title="{title}">{floatformat(score, "-1")}</span>\n'


@functools.lru_cache(maxsize=64)
def _status_badge(status: str, label: str) -> str:
    return (
        f'<span class="badge badge--dot item-status item-status--{html_text(status)}">'
        f"{html_text(label)}</span>\n"
    )


@functools.lru_cache(maxsize=4096)
def _shared_span(css: str, title: str, value: str) -> str:
    """A span many cards show alike (an area, an owner), built once for all of them."""
    titled = f' title="{title}"' if title else ""
    return f'<span class="{css}"{titled}>{html_text(value)}</span>\n'


def _money(value: Any) -> str:
    return compact_money(value) if value < 1000 else _compact_money(int(value))


@functools.lru_cache(maxsize=8192)
def _compact_money(value: int) -> str:
    return compact_money(value)


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
        parts.append(f'<span title="ARR of the companies asking">{_money(arr)} ARR</span>')
    if release:
        parts.append(
            f'<span class="rm-card__release" title="Target release">{_shared_text(release)}</span>'
        )
    return '<div class="board-card__demand">\n' + "\n".join(parts) + "\n</div>\n"


def card_html(
    card: dict[str, Any],
    *,
    score_title: str | None,
    remove_icon: str,
    hide_release: bool,
) -> str:
    """One card's `<li>` (see roadmap.views.roadmaps._decorate for what `card` holds: its links
    need no escaping, _item_urls checks). `score_title` is the primary formula's name, escaped
    (None: no score shown)."""
    title = html_text(card["title"])
    detail = card["detail_url"]
    move_url = card.get("move_url")
    move = f' draggable="true" data-move-url="{move_url}"' if move_url else ""
    area_name = card.get("area_name")
    area = _shared_span("board-card__area", "", area_name) if area_name else ""
    owner_label = card.get("owner_label")
    owner = _shared_span("board-card__owner", "Owner", owner_label) if owner_label else ""
    score = "" if score_title is None else _score(card, score_title)
    remove = ""
    if remove_url := card.get("remove_url"):
        # Submits the page's one remove form (roadmap_remove_form) to this card's URL.
        remove = (
            f'<button type="submit" form="{REMOVE_FORM_ID}" formaction="{remove_url}"'
            ' class="icon-btn icon-btn--sm rm-card__remove"'
            f' data-confirm="Take “{title}” off this roadmap? The backlog item stays."'
            f' aria-label="Remove “{title}” from the roadmap" title="Remove from the roadmap">'
            f"{remove_icon}</button>\n"
        )
    return (
        f'<li class="board-card rm-card" data-card data-id="{card["id"]}" data-href="{detail}"'
        f' data-title="{title}" tabindex="0"{move}>\n'
        '<div class="board-card__top">\n'
        f'<a class="board-card__title" href="{detail}" draggable="false" tabindex="-1">'
        f"{title}</a>\n{score}"
        "</div>\n"
        '<div class="board-card__meta">\n'
        f"{_status_badge(card['status'], card['status_label'])}"
        f"{area}{owner}"
        "</div>\n"
        f"{_demand(card, hide_release)}{remove}"
        "</li>\n"
    )


def _csrf_field(context: template.Context) -> str:
    """As {% csrf_token %} draws it: one token per page, so one field for every form."""
    csrf_token = context.get("csrf_token")
    if csrf_token and str(csrf_token) != "NOTPROVIDED":
        return f'<input type="hidden" name="csrfmiddlewaretoken" value="{html_text(csrf_token)}">'
    return ""


def _card_options(context: template.Context, hide_release: bool) -> dict[str, Any]:
    """What every card of a page shares: the score's title, the remove button's icon."""
    primary = context.get("primary")
    return {
        "score_title": None if primary is None else html_text(primary.name),
        "remove_icon": icon("x", size="sm"),
        "hide_release": hide_release,
    }


# A card's remove button submits this one form of the page (its `formaction` the card's URL):
# a form per card repeated the csrf token and the page's address 300 times a board.
REMOVE_FORM_ID = "rm-remove-form"


@register.simple_tag(takes_context=True)
def roadmap_remove_form(context: template.Context) -> SafeString:
    """`{% roadmap_remove_form %}`: the form the cards' remove buttons submit; reads `page_url`
    (where to come back to) and the csrf token."""
    next_field = (
        f'<input type="hidden" name="next" value="{html_text(context.get("page_url", ""))}">'
    )
    fields = f"{_csrf_field(context)}{next_field}"
    return mark_safe(  # noqa: S308 - every value went through html_text
        f'<form id="{REMOVE_FORM_ID}" method="post" hidden>{fields}</form>'
    )


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


@register.simple_tag(takes_context=True)
def roadmap_column_heads(context: template.Context, columns: list[Any]) -> SafeString:
    """`{% roadmap_column_heads columns %}`: the board's column heads, each with its name, its
    count and, for editors, its "Add an item" picker; reads `can_edit`, `roadmap`, `page_url`
    and the csrf token. (As a loop of template tags: ~1.2 ms a page, four url tags per column.)"""
    can_edit = context.get("can_edit")
    picker = ""
    if can_edit:
        roadmap, workspace = context["roadmap"], context["workspace"]
        kwargs = {"workspace_slug": workspace.slug, "roadmap_id": roadmap.id}
        # What every column's picker shares: its form's target, its search URL, its fields.
        picker = {
            "add": html_text(reverse("roadmap:placement-add", kwargs=kwargs)),
            "find": html_text(reverse("roadmap:item-picker", kwargs=kwargs)),
            "csrf": _csrf_field(context),
            "next": html_text(context.get("page_url", "")),
            "options": context.template.engine.get_template(
                "roadmap/_roadmap_picker_options.html"
            ).render(template.Context({"items": None, "query": ""})),
            "icon": icon("plus", size="sm"),
        }
    parts = []
    for entry in columns:
        column, count = entry.column, entry.count
        name = html_text(column.name)
        parts.append(
            f'<div class="rm-col-head" data-column-head data-column-id="{column.id}">\n'
            f'<h3 class="board__head" id="column-{column.id}">\n'
            f'<span class="rm-col-head__name">{name}</span>\n'
            f'<span class="board__count" data-count data-count-for="{column.id}"'
            f' title="{count} item{_plural(count)}">{count}</span>\n'
            "</h3>\n"
        )
        if picker:
            parts.append(
                '<details class="rm-picker" data-picker>\n'
                f'<summary class="btn btn--ghost btn--sm">{picker["icon"]}Add an item</summary>\n'
                f'<form class="rm-picker__form" method="post" action="{picker["add"]}">\n'
                f"{picker['csrf']}\n"
                f'<input type="hidden" name="column_id" value="{column.id}">\n'
                f'<input type="hidden" name="next" value="{picker["next"]}">\n'
                f'<label class="sr-only" for="find-{column.id}">Search the backlog for an item'
                f" to add to {name}</label>\n"
                f'<input id="find-{column.id}" type="search" name="q"'
                ' placeholder="Search the backlog…" autocomplete="off" data-picker-find\n'
                f' hx-get="{picker["find"]}?column_id={column.id}"\n'
                ' hx-trigger="input changed delay:200ms, search"'
                ' hx-target="next [data-picker-results]" hx-swap="innerHTML">\n'
                f"<div data-picker-results>{picker['options']}</div>\n"
                f'<button type="submit" class="btn btn--secondary btn--sm">Add to {name}</button>\n'
                "</form>\n"
                "</details>\n"
            )
        parts.append("</div>\n")
    return mark_safe("".join(parts))  # noqa: S308 - every value went through html_text


def _more_link(context: template.Context, cell: dict[str, Any]) -> str:
    """A column's "show more" under its cells, as the board's other pages draw it."""
    board = cell["board"]
    link = context.template.engine.get_template("roadmap/_roadmap_more_link.html")
    with context.push(
        column=cell["column"], next_rank=board.next_rank, remaining=board.remaining, oob=False
    ):
        return link.render(context)
