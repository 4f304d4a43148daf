"""The backlog board: a column per status, capped, filtered like the table; moves between
columns change the status through the one write path, refused when stale or not allowed."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from backlog import board, scoring, services
from backlog.models import Item
from pmhub.workspaces.models import AuditEvent

pytestmark = pytest.mark.django_db

COLUMNS = ["new", "considering", "planned", "in_progress", "shipped", "declined"]


def _url(workspace, name="backlog:board", **kwargs):
    return reverse(name, kwargs={"workspace_slug": workspace.slug, **kwargs})


def _item(workspace, title="Export to CSV", status="new", reason="", **kwargs):
    item = services.item_create(workspace=workspace, actor=None, title=title, **kwargs)
    if status != "new":
        item = services.item_set_status(
            workspace=workspace, actor=None, item=item, status=status, reason=reason
        )
    return item


def _columns(response):
    return {
        entry["column"].status: [card["title"] for card in entry["column"].cards]
        for entry in response.context["columns"]
    }


def _counts(response):
    return {entry["column"].status: entry["column"].count for entry in response.context["columns"]}


def _move(client, workspace, item, status, version=None, reason="", json=True):
    headers = {"Accept": "application/json"} if json else {}
    return client.post(
        _url(workspace, "backlog:board-status", item_id=item.id),
        {"status": status, "reason": reason, "version": version or item.version},
        headers=headers,
    )


# --- the columns -----------------------------------------------------------------------------
@pytest.mark.parametrize("role_case", ["member", "viewer"])
def test_columns_hold_items_by_status_in_manual_order(workspace, member, viewer, login, role_case):
    second = _item(workspace, "Second idea")
    _item(workspace, "Planned one", status="planned")
    _item(workspace, "Planned two", status="planned")
    _item(workspace, "Nope", status="declined", reason="Out of scope")
    first = _item(workspace, "First idea")
    services.item_move(
        workspace=workspace, actor=None, item=first, after_id=None, before_id=second.id
    )
    user = member if role_case == "member" else viewer

    response = login(user).get(_url(workspace))

    assert response.status_code == 200
    assert [entry["column"].status for entry in response.context["columns"]] == COLUMNS
    columns = _columns(response)
    assert columns["planned"] == ["Planned one", "Planned two"]
    assert columns["declined"] == ["Nope"]
    assert columns["new"] == ["First idea", "Second idea"]
    assert _counts(response) == {
        "new": 2,
        "considering": 0,
        "planned": 2,
        "in_progress": 0,
        "shipped": 0,
        "declined": 1,
    }
    html = response.content.decode()
    # Declined is collapsed (a closed <details>); only editors may drag.
    assert '<details class="board__col board__col--declined"' in html
    assert ('draggable="true"' in html) is (role_case == "member")
    assert ("data-status-url" in html) is (role_case == "member")
    assert ("decline-dialog" in html) is (role_case == "member")


def test_columns_follow_the_rank(workspace, member, login):
    a = _item(workspace, "A", status="considering")
    b = _item(workspace, "B", status="considering")
    services.item_move(workspace=workspace, actor=None, item=b, after_id=None, before_id=a.id)

    response = login(member).get(_url(workspace))

    assert _columns(response)["considering"] == ["B", "A"]


def test_card_shows_kind_area_owner_demand_and_score(workspace, member, login):
    area = services.product_area_create(workspace=workspace, actor=None, name="Reporting")
    item = _item(workspace, "Scheduled exports", kind="feature", area_id=area.id)
    services.item_update(
        workspace=workspace, actor=None, item=item, version=item.version, owner_id=member.id
    )
    Item.objects.for_workspace(workspace).filter(id=item.id).update(
        customer_count=3, company_count=2, arr=1_200_000, critical_count=1
    )
    scoring.scoring_defaults_ensure(workspace=workspace)
    scoring.item_inputs_set(
        workspace=workspace,
        actor=None,
        item=item,
        values={"rice.reach": 200, "rice.impact": 1, "rice.confidence": 0.8, "rice.effort": 4},
    )

    html = login(member).get(_url(workspace)).content.decode()

    assert "Scheduled exports" in html
    assert '<span class="kind kind--feature">Feature</span>' in html
    assert "Reporting" in html
    assert member.display_name in html
    assert "1 critical" in html
    assert "$1.2M ARR" in html
    assert 'title="RICE">40</span>' in html


def test_empty_backlog_says_what_the_board_is_for(workspace, member, login):
    html = login(member).get(_url(workspace)).content.decode()

    assert "Your backlog by status" in html
    assert _url(workspace, "backlog:item-new") in html


def test_filters_are_the_tables(workspace, member, login):
    _item(workspace, "Export to CSV", kind="feature")
    _item(workspace, "Export to PDF", kind="idea", status="planned")
    _item(workspace, "Dark mode", kind="feature", status="planned")
    client = login(member)

    features = client.get(_url(workspace), {"kind": "feature"})
    exports = client.get(_url(workspace), {"q": "export"})
    bad = client.get(_url(workspace), {"kind": "nonsense", "area": "x"})

    assert _columns(features)["new"] == ["Export to CSV"]
    assert _columns(features)["planned"] == ["Dark mode"]
    assert _counts(exports)["planned"] == 1
    assert _columns(exports)["new"] == ["Export to CSV"]
    # A stale link's bad filter is dropped, as in the table.
    assert sum(_counts(bad).values()) == 3
    # The tabs and the "show all" links carry the filters, not the table's sort.
    html = client.get(_url(workspace), {"kind": "feature", "sort": "arr"}).content.decode()
    assert f'href="{reverse("backlog:index", args=[workspace.slug])}?kind=feature"' in html
    assert f'href="{_url(workspace, "backlog:matrix")}?kind=feature"' in html
    # The board's tab is the current one.
    assert re.search(r'data-view-key="2"[^>]*aria-current="page"', html)
    assert not re.search(r'data-view-key="1"[^>]*aria-current', html)


def test_columns_are_capped_with_a_link_to_the_table(workspace, member, login, monkeypatch):
    monkeypatch.setattr(board, "BOARD_COLUMN_LIMIT", 3)
    for i in range(5):
        _item(workspace, f"Idea {i}", kind="feature")
    _item(workspace, "Planned", status="planned")

    response = login(member).get(_url(workspace), {"kind": "feature"})

    new = next(e for e in response.context["columns"] if e["column"].status == "new")
    assert [card["title"] for card in new["column"].cards] == ["Idea 0", "Idea 1", "Idea 2"]
    assert new["column"].count == 5
    assert new["column"].is_capped
    html = response.content.decode()
    assert "3 of 5 shown" in html
    table = reverse("backlog:index", args=[workspace.slug])
    assert f'href="{table}?kind=feature&amp;status=new">Show all in the table' in html


@pytest.mark.parametrize("per_column", [5, 60])
def test_query_count_does_not_grow_with_the_columns(
    workspace, member, login, django_assert_num_queries, per_column
):
    for status in ("new", "planned", "shipped"):
        for i in range(per_column):
            _item(workspace, f"{status} {i}", status=status)
    client = login(member)
    client.get(_url(workspace))  # warm the session
    # membership (+user), the primary formula, areas, members, tags, segments (the
    # filters' choices), the cards of every column with their counts (one statement), the saved
    # views, the sidebar's workspace switcher
    with django_assert_num_queries(9):
        response = client.get(_url(workspace))

    counts = _counts(response)
    assert counts["planned"] == per_column
    assert len(_columns(response)["planned"]) == min(per_column, board.BOARD_COLUMN_LIMIT)


@pytest.mark.parametrize(
    ("query", "query_case"), [({}, "unfiltered"), ({"kind": "idea"}, "filtered")]
)
def test_merged_items_are_neither_shown_nor_counted(workspace, member, login, query, query_case):
    duplicate = _item(workspace, "Dup", status="planned")
    into = _item(workspace, "Original", status="planned")
    services.item_merge(workspace=workspace, actor=None, duplicate=duplicate, into=into)

    # Unfiltered counts are every item less the merged ones; filtered ones count live items.
    response = login(member).get(_url(workspace), query)

    assert _columns(response)["planned"] == ["Original"], query_case
    assert _counts(response) == {
        "new": 0,
        "considering": 0,
        "planned": 1,
        "in_progress": 0,
        "shipped": 0,
        "declined": 0,
    }


def test_a_status_filter_leaves_the_other_columns_empty(workspace, member, login):
    _item(workspace, "New one")
    _item(workspace, "Planned one", status="planned")
    _item(workspace, "Shipped one", status="shipped")

    response = login(member).get(_url(workspace), {"status": ["planned", "shipped"]})

    columns = _columns(response)
    assert columns["planned"] == ["Planned one"]
    assert columns["shipped"] == ["Shipped one"]
    assert columns["new"] == []
    assert sum(_counts(response).values()) == 2


def test_outsider_gets_404(workspace, other_workspace, outsider, login):
    item = _item(workspace)
    client = login(outsider)

    assert client.get(_url(workspace)).status_code == 404
    assert client.get(_url(workspace, "backlog:matrix")).status_code == 404
    assert _move(client, workspace, item, "planned").status_code == 404
    item.refresh_from_db()
    assert item.status == "new"


# --- moves -----------------------------------------------------------------------------------
def test_editor_moves_a_card_to_another_column(workspace, member, login):
    item = _item(workspace, "Export", status="considering")

    response = _move(login(member), workspace, item, "planned")

    item.refresh_from_db()
    assert response.status_code == 200
    assert response.json() == {
        "message": "“Export” is now planned.",
        "version": item.version,
        "status": "planned",
    }
    assert item.status == "planned"
    event = AuditEvent.objects.for_workspace(workspace).filter(action="item.status").last()
    assert event.changes == {"status": ["considering", "planned"]}


def test_a_plain_form_post_goes_back_to_the_board(workspace, member, login):
    item = _item(workspace)

    response = _move(login(member), workspace, item, "shipped", json=False)

    item.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == _url(workspace)
    assert item.status == "shipped"


def test_declining_needs_a_reason(workspace, member, login):
    item = _item(workspace)
    client = login(member)

    refused = _move(client, workspace, item, "declined", reason="  ")
    item.refresh_from_db()
    assert refused.status_code == 400
    assert refused.json()["message"].startswith("Say why it is declined")
    assert item.status == "new"

    accepted = _move(client, workspace, item, "declined", reason="Out of scope")
    item.refresh_from_db()
    assert accepted.status_code == 200
    assert (item.status, item.declined_reason) == ("declined", "Out of scope")


def test_a_stale_version_is_refused(workspace, member, login):
    item = _item(workspace, "Export")
    seen = item.version
    services.item_update(workspace=workspace, actor=None, item=item, version=seen, title="Exports")

    response = _move(login(member), workspace, item, "planned", version=seen)

    item.refresh_from_db()
    assert response.status_code == 409
    body = response.json()
    assert "changed since this board was loaded" in body["message"]
    assert body["version"] == item.version == seen + 1
    assert item.status == "new"


@pytest.mark.parametrize(
    ("data", "data_case"),
    [
        ({"status": "shipped"}, "no_version"),
        ({"status": "done", "version": "1"}, "unknown_status"),
        ({"status": "planned", "version": "x"}, "bad_version"),
    ],
)
def test_bad_input_is_refused(workspace, member, login, data, data_case):
    item = _item(workspace)

    response = login(member).post(
        _url(workspace, "backlog:board-status", item_id=item.id),
        data,
        headers={"Accept": "application/json"},
    )

    item.refresh_from_db()
    assert response.status_code == 400, data_case
    assert response.json() == {"message": "Choose a status column."}
    assert item.status == "new"


@pytest.mark.parametrize("role_case", ["viewer", "anonymous"])
def test_viewers_and_strangers_cannot_move(workspace, viewer, login, client, role_case):
    item = _item(workspace)
    actor = login(viewer) if role_case == "viewer" else client

    response = _move(actor, workspace, item, "planned")

    item.refresh_from_db()
    assert response.status_code == (403 if role_case == "viewer" else 302)
    assert (item.status, item.version) == ("new", 1)


def test_another_workspaces_item_is_404(workspace, other_workspace, member, login):
    theirs = _item(other_workspace, "Theirs")

    response = _move(login(member), workspace, theirs, "planned")

    theirs.refresh_from_db()
    assert response.status_code == 404
    assert theirs.status == "new"


def test_a_merged_item_is_404(workspace, member, login):
    duplicate = _item(workspace, "Dup")
    into = _item(workspace, "Original")
    services.item_merge(workspace=workspace, actor=None, duplicate=duplicate, into=into)

    response = _move(login(member), workspace, duplicate, "planned")

    assert response.status_code == 404
