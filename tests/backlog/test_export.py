"""The backlog as CSV: the page download and the API's, streamed, filtered, sorted, safe to open."""

from __future__ import annotations

import csv
import io

import pytest
from django.http import StreamingHttpResponse

from backlog import scoring, services
from backlog.models import Item, ItemScore
from backlog.ranking import key_between
from tests.discovery.api_support import BASE, api_as

pytestmark = pytest.mark.django_db

PAGE = "/w/acme/backlog/export.csv"
API = f"{BASE}/items/export.csv"


def _rows(response) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body, newline="")))


def _item(workspace, title, **extra):
    return services.item_create(workspace=workspace, actor=None, title=title, **extra)


def test_ten_thousand_items_stream_from_the_page(workspace, viewer, login):
    # Volume, not workflow: the rows are written directly (item_create is exercised elsewhere).
    rank = None
    items = []
    for i in range(10_000):
        rank = key_between(rank, None)
        items.append(Item(workspace=workspace, title=f"Item {i}", rank=rank))
    Item.objects.bulk_create(items, batch_size=2000)

    response = login(viewer).get(PAGE)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="acme-backlog.csv"'
    rows = _rows(response)
    assert len(rows) == 10_001
    assert rows[1][:4] == [str(items[0].id), "Item 0", "idea", "new"]
    assert rows[-1][1] == "Item 9999"


@pytest.mark.parametrize(
    ("title", "cell"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tTabbed", "'\tTabbed"),
        ("Plain = fine", "Plain = fine"),
    ],
    ids=["equals_case", "plus_case", "minus_case", "at_case", "tab_case", "inner_case"],
)
def test_formula_cells_are_neutralised(workspace, member, title, cell):
    item = _item(workspace, "x")
    # A title cannot start with a tab or CR through item_create (it collapses whitespace);
    # imports and old rows can, so the export must not trust it.
    Item.objects.for_workspace(workspace).filter(id=item.id).update(title=title)

    rows = _rows(api_as(member, workspace).get(API))

    assert rows[1][1] == cell


def test_carriage_return_and_area_names_are_neutralised(workspace, member):
    area = services.product_area_create(workspace=workspace, actor=None, name="=cmd|' /C calc'!A0")
    item = _item(workspace, "x", area_id=area.id)
    Item.objects.for_workspace(workspace).filter(id=item.id).update(title="\rboom")

    rows = _rows(api_as(member, workspace).get(API))

    assert rows[1][1] == "'\rboom"
    assert rows[1][4] == "'=cmd|' /C calc'!A0"


def test_export_follows_the_list_filters_and_sort_with_a_column_per_formula(
    workspace, member, login
):
    scoring.scoring_defaults_ensure(workspace=workspace)
    low, high, declined = (_item(workspace, t) for t in ("Low", "High", "Declined"))
    services.item_set_status(
        workspace=workspace, actor=None, item=declined, status="declined", reason="No"
    )
    rice = scoring.scoring_defaults_ensure(workspace=workspace)[0]
    for item, value in ((low, 1.5), (high, -2.5), (declined, 9.0)):
        ItemScore.objects.for_workspace(workspace).filter(item=item, formula=rice).update(
            value=value
        )
    params = {"status": ["new"], "sort": "score"}

    from_api = _rows(api_as(member, workspace).get(API, params))
    from_page = _rows(login(member).get(PAGE, params))

    header = from_api[0]
    assert header[:10] == [
        "id", "title", "kind", "status", "area", "owner", "customers", "companies", "ARR",
        "evidence",
    ]  # fmt: skip
    assert header[10] == "score: RICE"
    assert header[-1] == "URL"
    assert [r[1] for r in from_api[1:]] == ["Low", "High"]
    assert from_api[2][10] == "-2.5"  # A negative number is a number, not a formula.
    assert from_api[1][-1] == f"http://testserver/w/acme/backlog/items/{low.id}/"
    assert from_page == from_api


def test_bad_filters_are_a_400(workspace, member, login):
    assert login(member).get(PAGE, {"sort": "nope"}).status_code == 400
    assert api_as(member, workspace).get(API, {"sort": "nope"}).status_code == 400


def test_outsiders_get_404_and_anonymous_visitors_log_in(
    workspace, other_workspace, outsider, login, client
):
    _item(workspace, "Secret plan")

    assert login(outsider).get(PAGE).status_code == 404
    assert api_as(outsider, other_workspace).get(API).status_code == 404
    anonymous = client.get(PAGE)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("page", ["", "board/", "matrix/"])
def test_each_view_exports_what_its_filters_select(workspace, member, login, page):
    import html
    import re

    _item(workspace, "A feature", kind="feature")
    _item(workspace, "An idea", kind="idea")
    client = login(member)
    # An untouched filter arrives empty; the view's own parameters (axes, the open view) too.
    query = "q=&kind=feature&area=&status=new&view=&x=effort&sort=customers"
    response = client.get(f"/w/{workspace.slug}/backlog/{page}?{query}")
    assert response.status_code == 200
    href = html.unescape(
        re.search(r'class="view-tabs__export" href="([^"]+)"', response.content.decode())[1]
    )
    assert "kind=feature" in href
    assert "area=" not in href
    assert "x=" not in href

    exported = client.get(href)
    assert exported.status_code == 200
    titles = [row[1] for row in _rows(exported)[1:]]
    assert titles == ["A feature"]
