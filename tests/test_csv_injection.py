"""CSV injection: every CSV download neutralises text a spreadsheet would run as a formula.

The downloads are the backlog's (the page's and the API's); both write through
pmhub.core.csv_safe, and a last check keeps any new csv.writer in the apps from going around it.
"""

from __future__ import annotations

import ast
import csv
import datetime
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.http import StreamingHttpResponse

from backlog import scoring, services
from backlog.models import Item, ItemScore
from pmhub.core import csv_safe
from pmhub.core.csv_safe import neutralise, safe_cells
from tests.discovery.api_support import BASE, api_as
from tests.factories import MembershipFactory

ROOT = Path(__file__).resolve().parent.parent
PAYLOADS = [
    '=HYPERLINK("http://evil","x")',
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
]
PAYLOAD_IDS = ["equals_case", "plus_case", "minus_case", "at_case", "tab_case", "return_case"]


def _from_page(workspace, user, login):
    return login(user).get(f"/w/{workspace.slug}/backlog/export.csv")


def _from_api(workspace, user, login):
    return api_as(user, workspace).get(f"{BASE}/items/export.csv")


EXPORTS = pytest.mark.parametrize("export", [_from_page, _from_api], ids=["page_case", "api_case"])


def _body(response) -> str:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content).decode()


def _rows(body: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body, newline="")))


def _item_titled(workspace, title: str, **extra) -> Item:
    item = services.item_create(workspace=workspace, actor=None, title="placeholder", **extra)
    # item_create collapses leading whitespace; an import or an older row need not have, so the
    # export is tested against the stored text as it may be.
    Item.objects.for_workspace(workspace).filter(id=item.id).update(title=title)
    return item


@pytest.mark.django_db
@EXPORTS
@pytest.mark.parametrize("payload", PAYLOADS, ids=PAYLOAD_IDS)
def test_a_formula_title_is_exported_as_text(workspace, member, login, export, payload):
    _item_titled(workspace, payload)

    rows = _rows(_body(export(workspace, member, login)))

    assert rows[1][1] == f"'{payload}"
    # Read back, the cell is the title exactly, behind the one apostrophe.
    assert rows[1][1][1:] == payload


@pytest.mark.django_db
@EXPORTS
def test_every_text_column_and_the_header_are_neutralised(workspace, login, export):
    owner = MembershipFactory(workspace=workspace, user__email="@SUM(A1)@evil.test").user
    area = services.product_area_create(workspace=workspace, actor=None, name="=cmd|' /C calc'!A0")
    _item_titled(workspace, "-2+3", area_id=area.id, owner_id=owner.id)
    rice = scoring.scoring_defaults_ensure(workspace=workspace)[0]
    rice.name = "+RICE"
    rice.save(update_fields=["name"])

    header, row = _rows(_body(export(workspace, owner, login)))

    assert "score: +RICE" in header  # starts with "s": inert as written
    assert row[1:2] + row[4:6] == ["'-2+3", "'=cmd|' /C calc'!A0", "'@SUM(A1)@evil.test"]


@pytest.mark.django_db
@EXPORTS
def test_negative_numbers_stay_numbers(workspace, member, login, export):
    item = _item_titled(workspace, "-2.5")
    Item.objects.for_workspace(workspace).filter(id=item.id).update(arr=Decimal("-1250.50"))
    rice = scoring.scoring_defaults_ensure(workspace=workspace)[0]
    ItemScore.objects.for_workspace(workspace).filter(item=item, formula=rice).update(value=-2.5)

    body = _body(export(workspace, member, login))
    header, row = _rows(body)

    assert row[header.index("ARR")] == "-1250.50"
    assert row[header.index("score: RICE")] == "-2.5"
    # The title "-2.5" is text, and stays text; the score -2.5 is a number, and stays one.
    assert row[header.index("title")] == "'-2.5"
    assert ",-1250.50," in body.splitlines()[1]


@pytest.mark.django_db
@EXPORTS
def test_harmless_text_is_left_as_written(workspace, member, login, export):
    _item_titled(workspace, "Export = import, a-b +c @d")

    rows = _rows(_body(export(workspace, member, login)))

    assert rows[1][1] == "Export = import, a-b +c @d"


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ('=HYPERLINK("http://evil","x")', '\'=HYPERLINK("http://evil","x")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("", ""),
        ("a=1", "a=1"),
        (" =1", " =1"),
    ],
    ids=[
        "equals_case",
        "plus_case",
        "minus_case",
        "at_case",
        "tab_case",
        "return_case",
        "empty_case",
        "inner_case",
        "space_case",
    ],
)
def test_neutralise_follows_owasp(cell, written):
    assert neutralise(cell) == written


def test_only_text_cells_change():
    day = datetime.date(2026, 1, 2)

    cells = safe_cells([-3, -2.5, Decimal("-1.50"), None, day, "-3", True])

    assert cells == [-3, -2.5, Decimal("-1.50"), None, day, "'-3", True]


def test_the_writer_neutralises_every_row_it_writes():
    buffer = io.StringIO()
    writer = csv_safe.writer(buffer, lineterminator="\n")

    writer.writerow(["=1", -1])
    writer.writerows([["@a", 2.5], ["ok", Decimal("-0.5")]])

    assert buffer.getvalue() == "'=1,-1\n'@a,2.5\nok,-0.5\n"


def _csv_writers(path: Path) -> list[int]:
    tree = ast.parse(path.read_text())
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in {"writer", "DictWriter"}
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "csv"
    ]


def test_no_csv_is_written_around_csv_safe():
    # bench/ writes data sets for the tagging evaluation, read by our own importer, not by people.
    apps = ["pmhub", "discovery", "backlog", "roadmap", "docs"]
    found = {
        f"{path.relative_to(ROOT)}:{line}"
        for app in apps
        for path in sorted((ROOT / app).rglob("*.py"))
        if path != ROOT / "pmhub/core/csv_safe.py"
        for line in _csv_writers(path)
    }

    assert not found, f"write CSV through pmhub.core.csv_safe.writer: {sorted(found)}"
