"""The roadmap pages: the list, a now/next/later board (moves by drag or keyboard posting to one
endpoint, backwards moves that need a reason, columns managed by editors), a timeline (dates
from a form; slips need a reason), a release plan (moves between releases), the history and the
settings, for admins, editors and viewers, in a fixed number of statements."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from backlog import services as backlog
from roadmap import selectors, services
from roadmap.models import ItemSchedule, Placement, Release, Roadmap, RoadmapEvent
from roadmap.views.roadmaps import timeline_layout

pytestmark = pytest.mark.django_db

JSON = {"Accept": "application/json"}
XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def _url(workspace, name, **kwargs):
    return reverse(f"roadmap:{name}", kwargs={"workspace_slug": workspace.slug, **kwargs})


def _items(workspace, n, prefix="Item"):
    return [
        backlog.item_create(workspace=workspace, actor=None, title=f"{prefix} {i}")
        for i in range(n)
    ]


def _board(workspace, name="Product", **kwargs):
    return services.roadmap_create(workspace=workspace, actor=None, name=name, **kwargs)


def _columns(roadmap):
    return {c.name: c for c in roadmap.columns.all()}


def _place(workspace, roadmap, item, column):
    return services.placement_add(
        workspace=workspace, actor=None, roadmap=roadmap, item=item, column_id=column.id
    )


def _move(client, workspace, roadmap, item, column, json_answer=True, **data):
    return client.post(
        _url(workspace, "placement-move", roadmap_id=roadmap.id, item_id=item.id),
        {"column_id": column.id, **data},
        headers=JSON if json_answer else {},
    )


def _column_of(workspace, roadmap, item):
    return Placement.objects.for_workspace(workspace).get(roadmap=roadmap, item=item).column.name


# --- the list and creating -----------------------------------------------------------------------
def test_the_list_is_empty_then_lists_roadmaps_with_their_kind_and_count(
    workspace, admin, member, viewer, login
):
    page = login(viewer).get(_url(workspace, "index"))
    assert page.status_code == 200
    assert b"No roadmaps yet" in page.content
    assert b"New roadmap" not in page.content
    page = login(member).get(_url(workspace, "index"))
    assert b"Plan what" in page.content
    assert b"New roadmap" in page.content
    board = _board(workspace, name=XSS)
    _place(workspace, board, _items(workspace, 1)[0], _columns(board)["Now"])
    _board(workspace, name="Dates", kind=Roadmap.Kind.TIMELINE)
    for user in (admin, member, viewer):
        page = login(user).get(_url(workspace, "index"))
        assert page.status_code == 200
        text = page.content.decode()
        assert "<script>alert(1)" not in text
        assert "&lt;script&gt;alert(1)" in text
        assert "Timeline" in text
        assert "Now / next / later" in text
    assert [r.placement_count for r in page.context["roadmaps"]] == [1, 0]


def test_create_a_board_with_custom_columns_and_saved_filters(workspace, member, login):
    client = login(member)
    area = backlog.product_area_create(workspace=workspace, actor=None, name="Reporting")
    assert client.get(_url(workspace, "roadmap-new")).status_code == 200
    response = client.post(
        _url(workspace, "roadmap-new"),
        {
            "name": "Team plan",
            "kind": "now_next_later",
            "columns": "This sprint, Soon, Someday",
            "area": [str(area.id)],
            "status": ["planned"],
            "group_by": "area",
            "scale": "month",
        },
    )
    roadmap = Roadmap.objects.for_workspace(workspace).get(name="Team plan")
    assert response.status_code == 302
    assert response["Location"] == _url(workspace, "roadmap-detail", roadmap_id=roadmap.id)
    assert [c.name for c in roadmap.columns.order_by("position")] == [
        "This sprint",
        "Soon",
        "Someday",
    ]
    assert roadmap.filters == {"area": [area.id], "status": ["planned"]}
    assert roadmap.group_by == "area"


def test_create_refuses_bad_input_and_a_duplicate_keeps_what_was_typed(workspace, member, login):
    client = login(member)
    _board(workspace, name="Product")
    base = {"kind": "now_next_later", "scale": "month", "columns": "Now, Next"}
    cases = [
        ({"name": ""}, "This field is required"),
        ({"name": "x" * 121}, "at most 120"),
        ({"name": "product"}, "A roadmap with this name exists."),
        ({"name": "New", "columns": "A, a"}, "Column names must differ."),
        ({"name": "New", "area": ["999999"]}, "Select a valid choice"),
        ({"name": "New", "kind": "gantt"}, "Select a valid choice"),
    ]
    for data, message in cases:
        response = client.post(_url(workspace, "roadmap-new"), {**base, **data})
        assert response.status_code == 200, data
        assert message in response.content.decode(), data
    assert Roadmap.objects.for_workspace(workspace).count() == 1
    response = client.post(_url(workspace, "roadmap-new"), {**base, "name": "product"})
    assert 'value="product"' in response.content.decode()


def test_viewers_cannot_create_edit_move_or_manage_columns(workspace, viewer, login):
    roadmap = _board(workspace)
    item = _items(workspace, 1)[0]
    columns = _columns(roadmap)
    _place(workspace, roadmap, item, columns["Next"])
    client = login(viewer)
    assert client.get(_url(workspace, "roadmap-new")).status_code == 403
    assert client.get(_url(workspace, "roadmap-edit", roadmap_id=roadmap.id)).status_code == 403
    assert _move(client, workspace, roadmap, item, columns["Now"]).status_code == 403
    posts = [
        ("roadmap-new", {}),
        ("roadmap-delete", {"roadmap_id": roadmap.id}),
        ("placement-add", {"roadmap_id": roadmap.id}),
        ("placement-remove", {"roadmap_id": roadmap.id, "item_id": item.id}),
        ("column-create", {"roadmap_id": roadmap.id}),
        ("column-rename", {"roadmap_id": roadmap.id, "column_id": columns["Now"].id}),
        ("column-delete", {"roadmap_id": roadmap.id, "column_id": columns["Now"].id}),
    ]
    for name, kwargs in posts:
        assert client.post(_url(workspace, name, **kwargs), {"name": "X"}).status_code == 403
    assert _column_of(workspace, roadmap, item) == "Next"
    page = client.get(_url(workspace, "roadmap-detail", roadmap_id=roadmap.id))
    text = page.content.decode()
    assert page.status_code == 200
    assert "Item 0" in text
    assert 'draggable="true"' not in text
    assert "data-movable" not in text
    assert "Add an item" not in text
    assert "data-move-url" not in text
    assert _url(workspace, "roadmap-edit", roadmap_id=roadmap.id) not in text


# --- the board -------------------------------------------------------------------------------
def test_the_board_shows_columns_counts_and_cards_for_every_role(
    workspace, admin, member, viewer, login
):
    roadmap = _board(workspace)
    columns = _columns(roadmap)
    area = backlog.product_area_create(workspace=workspace, actor=None, name="Billing")
    first = backlog.item_create(
        workspace=workspace, actor=None, title="Usage-based pricing", area_id=area.id
    )
    second, third = _items(workspace, 2)
    release = Release.objects.create(
        workspace=workspace, name="Winter launch", target_date=datetime.date(2027, 1, 15)
    )
    services.item_schedule_set(workspace=workspace, actor=None, item=first, release_id=release.id)
    _place(workspace, roadmap, first, columns["Now"])
    _place(workspace, roadmap, second, columns["Next"])
    _place(workspace, roadmap, third, columns["Next"])
    for user in (admin, member, viewer):
        page = login(user).get(_url(workspace, "roadmap-detail", roadmap_id=roadmap.id))
        assert page.status_code == 200
        board = page.context["columns"]
        assert [(c.column.name, c.count) for c in board] == [("Now", 1), ("Next", 2), ("Later", 0)]
        text = page.content.decode()
        assert "Usage-based pricing" in text
        assert "Billing" in text
        assert "Winter launch" in text
        detail = reverse(
            "backlog:item-detail", kwargs={"workspace_slug": workspace.slug, "item_id": first.id}
        )
        assert f'href="{detail}"' in text
        assert ("data-movable" in text) is (user != viewer)


def test_an_empty_board_explains_itself(workspace, member, viewer, login):
    roadmap = _board(workspace)
    text = login(member).get(_url(workspace, "roadmap-detail", roadmap_id=roadmap.id)).content
    assert b"Place the first items" in text
    assert b"Add an item" in text
    text = login(viewer).get(_url(workspace, "roadmap-detail", roadmap_id=roadmap.id)).content
    assert b"Nothing on this roadmap yet" in text


def test_html_in_titles_and_names_is_inert_on_every_page(workspace, member, login):
    roadmap = _board(workspace, name=XSS, description=XSS, columns=[XSS[:60], "Later"])
    item = backlog.item_create(workspace=workspace, actor=None, title=XSS)
    column = roadmap.columns.order_by("position").first()
    _place(workspace, roadmap, item, column)
    services.placement_move(
        workspace=workspace,
        actor=member,
        roadmap=roadmap,
        item=item,
        column_id=_columns(roadmap)["Later"].id,
        reason=XSS,
    )
    client = login(member)
    for name in ("roadmap-detail", "roadmap-history", "roadmap-edit"):
        text = client.get(_url(workspace, name, roadmap_id=roadmap.id)).content.decode()
        assert "<script>alert(1)" not in text, name
        assert "<img src=x" not in text, name
        assert "&lt;script&gt;" in text, name


def test_swimlanes_by_area_and_the_group_control(workspace, member, login):
    roadmap = _board(workspace, group_by="area")
    columns = _columns(roadmap)
    billing = backlog.product_area_create(workspace=workspace, actor=None, name="Billing")
    a = backlog.item_create(workspace=workspace, actor=None, title="Invoices", area_id=billing.id)
    b = backlog.item_create(workspace=workspace, actor=None, title="Loose idea")
    _place(workspace, roadmap, a, columns["Now"])
    _place(workspace, roadmap, b, columns["Next"])
    client = login(member)
    page = client.get(_url(workspace, "roadmap-detail", roadmap_id=roadmap.id))
    assert [lane["label"] for lane in page.context["lanes"]] == ["Billing", "No area"]
    page = client.get(_url(workspace, "roadmap-detail", roadmap_id=roadmap.id) + "?group=none")
    assert [lane["label"] for lane in page.context["lanes"]] == [""]
    roadmap.refresh_from_db()
    assert roadmap.group_by == "area"  # the page's grouping is never saved


def test_filters_narrow_the_board(workspace, member, login):
    roadmap = _board(workspace)
    columns = _columns(roadmap)
    area = backlog.product_area_create(workspace=workspace, actor=None, name="Billing")
    a = backlog.item_create(workspace=workspace, actor=None, title="Invoices", area_id=area.id)
    b = backlog.item_create(workspace=workspace, actor=None, title="Loose idea")
    _place(workspace, roadmap, a, columns["Now"])
    _place(workspace, roadmap, b, columns["Now"])
    page = login(member).get(
        _url(workspace, "roadmap-detail", roadmap_id=roadmap.id) + f"?area={area.id}"
    )
    assert [c["title"] for c in page.context["columns"][0].cards] == ["Invoices"]
    page = login(member).get(_url(workspace, "roadmap-detail", roadmap_id=roadmap.id) + "?area=x")
    assert page.status_code == 200  # a malformed filter is ignored, not an error


def test_move_forward_and_within_a_column(workspace, member, login):
    roadmap = _board(workspace)
    columns = _columns(roadmap)
    a, b, c = _items(workspace, 3)
    for item in (a, b):
        _place(workspace, roadmap, item, columns["Now"])
    _place(workspace, roadmap, c, columns["Next"])
    client = login(member)
    response = _move(client, workspace, roadmap, c, columns["Now"], before_item_id=a.id)
    assert response.status_code == 200, response.content
    assert response.json()["message"] == "“Item 2” is in Now."
    board = selectors.roadmap_board(workspace=workspace, roadmap=roadmap)
    assert [card["title"] for card in board[0].cards] == ["Item 2", "Item 0", "Item 1"]
    event = RoadmapEvent.objects.for_workspace(workspace).filter(kind="moved").get()
    assert (event.actor, event.before["column"], event.after["column"]) == (member, "Next", "Now")
    # Within the column: no event, a new order.
    response = _move(client, workspace, roadmap, c, columns["Now"], after_item_id=b.id)
    assert response.status_code == 200
    board = selectors.roadmap_board(workspace=workspace, roadmap=roadmap)
    assert [card["title"] for card in board[0].cards] == ["Item 0", "Item 1", "Item 2"]
    assert RoadmapEvent.objects.for_workspace(workspace).filter(kind="moved").count() == 1


def test_a_backward_move_needs_a_reason(workspace, member, login):
    roadmap = _board(workspace)
    columns = _columns(roadmap)
    item = _items(workspace, 1)[0]
    _place(workspace, roadmap, item, columns["Now"])
    client = login(member)
    response = _move(client, workspace, roadmap, item, columns["Later"])
    assert response.status_code == 400
    assert response.json()["reason_required"] is True
    assert "say why" in response.json()["message"]
    assert _column_of(workspace, roadmap, item) == "Now"
    response = _move(client, workspace, roadmap, item, columns["Later"], reason="   ")
    assert response.status_code == 400
    assert response.json()["reason_required"]
    response = _move(client, workspace, roadmap, item, columns["Later"], reason="x" * 501)
    assert response.status_code == 400
    assert "500" in response.json()["message"]
    response = _move(
        client, workspace, roadmap, item, columns["Later"], reason="Waiting on the API"
    )
    assert response.status_code == 200
    event = RoadmapEvent.objects.for_workspace(workspace).get(kind="moved")
    assert event.is_setback
    assert event.reason == "Waiting on the API"
    # Without JavaScript: the same refusal as a toast on the board.
    response = _move(client, workspace, roadmap, item, columns["Now"], json_answer=False)
    assert response.status_code == 302
    back = _move(client, workspace, roadmap, item, columns["Later"], json_answer=False)
    assert back.status_code == 302
    page = client.get(back["Location"])
    assert "say why" in page.content.decode()


def test_moves_onto_gone_columns_items_and_bad_input_are_clear_errors(workspace, member, login):
    roadmap = _board(workspace)
    columns = _columns(roadmap)
    a, b = _items(workspace, 2)
    _place(workspace, roadmap, a, columns["Now"])
    _place(workspace, roadmap, b, columns["Now"])
    client = login(member)
    later = columns["Later"]
    services.roadmap_column_delete(workspace=workspace, actor=None, column=later)
    response = _move(client, workspace, roadmap, a, later, reason="why")
    assert response.status_code == 404
    assert response.json()["message"] == "That column no longer exists; reload the roadmap."
    response = _move(
        client, workspace, roadmap, a, columns["Next"], after_item_id=999_999, reason="Later"
    )
    assert response.status_code == 404
    assert "has moved" in response.json()["message"]
    response = client.post(
        _url(workspace, "placement-move", roadmap_id=roadmap.id, item_id=a.id),
        {"column_id": "abc"},
        headers=JSON,
    )
    assert response.status_code == 400
    other = _items(workspace, 1, prefix="Off board")[0]
    response = _move(client, workspace, roadmap, other, columns["Now"])
    assert response.status_code == 404
    assert "no longer on this roadmap" in response.json()["message"]
    url = _url(workspace, "placement-move", roadmap_id=roadmap.id, item_id=999_999)
    assert client.post(url, {"column_id": columns["Now"].id}).status_code == 404
    assert _column_of(workspace, roadmap, a) == "Now"


def test_a_duplicate_move_is_recorded_once_and_concurrent_final_state_wins(
    workspace, member, admin, login
):
    roadmap = _board(workspace)
    columns = _columns(roadmap)
    item = _items(workspace, 1)[0]
    _place(workspace, roadmap, item, columns["Next"])
    first, second = login(member), login(admin)
    assert _move(first, workspace, roadmap, item, columns["Now"]).status_code == 200
    assert _move(first, workspace, roadmap, item, columns["Now"]).status_code == 200
    assert RoadmapEvent.objects.for_workspace(workspace).filter(kind="moved").count() == 1
    assert (
        _move(second, workspace, roadmap, item, columns["Later"], reason="Later").status_code == 200
    )
    assert _column_of(workspace, roadmap, item) == "Later"
    moves = RoadmapEvent.objects.for_workspace(workspace).filter(kind="moved").order_by("id")
    assert [(e.actor, e.after["column"]) for e in moves] == [(member, "Now"), (admin, "Later")]


def test_add_from_the_picker_and_remove(workspace, member, login):
    roadmap = _board(workspace)
    columns = _columns(roadmap)
    item = backlog.item_create(workspace=workspace, actor=None, title="Scheduled exports")
    client = login(member)
    picker = client.get(
        _url(workspace, "item-picker", roadmap_id=roadmap.id),
        {"q": "exports", "column_id": columns["Next"].id},
    )
    assert picker.status_code == 200
    assert b"Scheduled exports" in picker.content
    assert (
        b"No item matches"
        in client.get(_url(workspace, "item-picker", roadmap_id=roadmap.id), {"q": "zzz"}).content
    )
    add = _url(workspace, "placement-add", roadmap_id=roadmap.id)
    response = client.post(add, {"item_id": item.id, "column_id": columns["Next"].id})
    assert response.status_code == 302
    # A second submission of the same form is no second placement.
    client.post(add, {"item_id": item.id, "column_id": columns["Next"].id})
    assert Placement.objects.for_workspace(workspace).filter(roadmap=roadmap).count() == 1
    response = client.post(add, {"column_id": columns["Next"].id}, headers=JSON)
    assert response.status_code == 400
    assert "Choose an item" in response.json()["message"]
    response = client.post(add, {"item_id": 999_999, "column_id": columns["Next"].id})
    assert response.status_code == 404
    remove = _url(workspace, "placement-remove", roadmap_id=roadmap.id, item_id=item.id)
    assert client.post(remove, headers=JSON).status_code == 200
    assert client.post(remove, headers=JSON).status_code == 200  # twice: still off
    assert not Placement.objects.for_workspace(workspace).filter(roadmap=roadmap).exists()
    assert RoadmapEvent.objects.for_workspace(workspace).filter(kind="removed").count() == 1


def test_show_more_pages_a_column_by_rank(workspace, member, login, monkeypatch):
    monkeypatch.setattr(selectors, "COLUMN_PAGE", 3)
    roadmap = _board(workspace)
    now = _columns(roadmap)["Now"]
    for item in _items(workspace, 5):
        _place(workspace, roadmap, item, now)
    client = login(member)
    page = client.get(_url(workspace, "roadmap-detail", roadmap_id=roadmap.id))
    board = selectors.roadmap_board(workspace=workspace, roadmap=roadmap, page_size=3)
    assert len(board[0].cards) == 3
    assert board[0].count == 5
    more = _url(workspace, "column-more", roadmap_id=roadmap.id, column_id=now.id)
    assert f"{more}?after=" in page.content.decode()
    response = client.get(more, {"after": board[0].next_rank}, headers={"HX-Request": "true"})
    text = response.content.decode()
    assert "Item 3" in text
    assert "Item 4" in text
    assert "Item 0" not in text
    assert 'hx-swap-oob="true"' in text
    assert "Show" not in text.split("hx-swap-oob")[1]
    response = client.get(more, {"after": board[0].next_rank})
    assert response.status_code == 200
    assert b"Item 4" in response.content


# --- columns -----------------------------------------------------------------------------------
def test_editors_add_rename_reorder_and_delete_columns(workspace, member, login):
    roadmap = _board(workspace)
    columns = _columns(roadmap)
    item = _items(workspace, 1)[0]
    _place(workspace, roadmap, item, columns["Later"])
    client = login(member)
    settings_url = _url(workspace, "roadmap-edit", roadmap_id=roadmap.id)
    assert client.get(settings_url).status_code == 200
    client.post(_url(workspace, "column-create", roadmap_id=roadmap.id), {"name": "Exploring"})
    response = client.post(
        _url(workspace, "column-create", roadmap_id=roadmap.id), {"name": "now"}, follow=True
    )
    assert "has a column with this name" in response.content.decode()
    client.post(
        _url(workspace, "column-rename", roadmap_id=roadmap.id, column_id=columns["Next"].id),
        {"name": "Soon"},
    )
    client.post(
        _url(workspace, "column-shift", roadmap_id=roadmap.id, column_id=columns["Now"].id),
        {"direction": "right"},
    )
    order = [c.name for c in roadmap.columns.order_by("position")]
    assert order == ["Soon", "Now", "Later", "Exploring"]
    delete = _url(workspace, "column-delete", roadmap_id=roadmap.id, column_id=columns["Later"].id)
    response = client.post(delete, follow=True)
    assert "choose where they go" in response.content.decode()
    client.post(delete, {"move_to": columns["Now"].id})
    assert _column_of(workspace, roadmap, item) == "Now"
    assert client.post(delete, {"move_to": columns["Now"].id}).status_code == 404


# --- settings ----------------------------------------------------------------------------------
def test_settings_save_refuse_a_stale_form_and_delete(workspace, member, login):
    roadmap = _board(workspace)
    client = login(member)
    url = _url(workspace, "roadmap-edit", roadmap_id=roadmap.id)
    data = {"name": "Product 2027", "scale": "quarter", "group_by": "", "version": roadmap.version}
    assert client.post(url, data).status_code == 302
    roadmap.refresh_from_db()
    assert (roadmap.name, roadmap.scale) == ("Product 2027", "quarter")
    response = client.post(url, {**data, "name": "Older tab"})
    assert response.status_code == 200
    assert "Someone changed this roadmap" in response.content.decode()
    roadmap.refresh_from_db()
    assert roadmap.name == "Product 2027"
    response = client.post(_url(workspace, "roadmap-delete", roadmap_id=roadmap.id))
    assert response["Location"] == _url(workspace, "index")
    assert not Roadmap.objects.for_workspace(workspace).exists()
    assert client.post(_url(workspace, "roadmap-delete", roadmap_id=roadmap.id)).status_code == 404


def test_another_workspaces_roadmap_is_404(workspace, other_workspace, member, login):
    foreign = _board(other_workspace)
    client = login(member)
    for name in ("roadmap-detail", "roadmap-history", "roadmap-edit"):
        assert client.get(_url(workspace, name, roadmap_id=foreign.id)).status_code == 404


# --- the timeline --------------------------------------------------------------------------------
def _timeline(workspace, **kwargs):
    return _board(workspace, name="Dates", kind=Roadmap.Kind.TIMELINE, **kwargs)


def test_the_timeline_lays_out_bars_milestones_and_today(workspace, admin, member, viewer, login):
    roadmap = _timeline(workspace)
    today = timezone.localdate()
    start, end = selectors.timeline_window("month", today)
    a, b = _items(workspace, 2)
    services.item_schedule_set(
        workspace=workspace,
        actor=None,
        item=a,
        start_date=start,
        end_date=start + datetime.timedelta(days=30),
    )
    release = Release.objects.create(
        workspace=workspace, name="Spring", target_date=today + datetime.timedelta(days=20)
    )
    services.item_schedule_set(workspace=workspace, actor=None, item=b, release_id=release.id)
    for user in (admin, member, viewer):
        page = login(user).get(_url(workspace, "roadmap-detail", roadmap_id=roadmap.id))
        assert page.status_code == 200
        text = page.content.decode()
        assert 'class="rm-tl__today"' in text
        assert 'x="0.000%"' in text  # the first bar starts at the window's start
        assert "rm-tl__milestone" in text
        assert ("data-schedule-form" in text) is (user != viewer)
        assert " style=" not in text.split("<main")[1]
    page = login(member).get(
        _url(workspace, "roadmap-detail", roadmap_id=roadmap.id) + "?scale=quarter&window=1"
    )
    assert page.context["scale"] == "quarter"
    assert [p["label"] for p in page.context["layout"]["periods"]][0].startswith("Q")
    assert page.context["layout"]["today_left"] is None
    assert (
        login(member)
        .get(_url(workspace, "roadmap-detail", roadmap_id=roadmap.id) + "?window=abc&scale=x")
        .status_code
        == 200
    )


def test_timeline_layout_clips_bars_to_the_window():
    start, end = datetime.date(2026, 10, 1), datetime.date(2027, 3, 31)
    timeline = selectors.Timeline(
        start=start,
        end=end,
        bars=[
            {"start_date": datetime.date(2026, 9, 1), "end_date": datetime.date(2026, 10, 31)},
            {"start_date": datetime.date(2027, 3, 1), "end_date": datetime.date(2027, 6, 30)},
        ],
        count=2,
    )
    layout = timeline_layout(timeline, "month", datetime.date(2026, 11, 26))
    first, second = timeline.bars
    assert first["left"] == "0.000"
    assert first["clipped_start"]
    assert float(second["left"]) + float(second["width"]) == pytest.approx(100, abs=0.01)
    assert second["clipped_end"]
    assert [p["label"] for p in layout["periods"]] == [
        "Oct 2026", "Nov", "Dec", "Jan 2027", "Feb", "Mar",
    ]  # fmt: skip
    assert layout["today_left"] is not None


def test_dates_from_the_timeline_form_slips_need_a_reason_and_ends_before_starts(
    workspace, member, login
):
    roadmap = _timeline(workspace)
    item = _items(workspace, 1)[0]
    client = login(member)
    url = _url(workspace, "item-schedule", roadmap_id=roadmap.id, item_id=item.id)
    response = client.post(
        url, {"start_date": "2026-12-01", "end_date": "2027-01-15"}, headers=JSON
    )
    assert response.status_code == 200
    schedule = ItemSchedule.objects.for_workspace(workspace).get(item=item)
    assert (schedule.start_date, schedule.end_date) == (
        datetime.date(2026, 12, 1), datetime.date(2027, 1, 15),
    )  # fmt: skip
    response = client.post(
        url, {"start_date": "2026-12-01", "end_date": "2027-02-15"}, headers=JSON
    )
    assert response.status_code == 400
    assert response.json()["reason_required"]
    response = client.post(
        url, {"start_date": "2027-03-01", "end_date": "2027-02-15"}, headers=JSON
    )
    assert response.status_code == 400
    assert "ends before it starts" in response.json()["message"]
    response = client.post(url, {"start_date": "2027-13-45"}, headers=JSON)
    assert response.status_code == 400
    assert "valid date" in response.json()["message"]
    response = client.post(
        url,
        {"start_date": "2026-12-01", "end_date": "2027-02-15", "reason": "Security review"},
        headers=JSON,
    )
    assert response.status_code == 200
    event = RoadmapEvent.objects.for_workspace(workspace).filter(kind="redated").latest("id")
    assert event.is_setback
    assert event.reason == "Security review"
    assert event.roadmap == roadmap
    # Without JavaScript the form redirects back with a toast.
    response = client.post(url, {"start_date": "2027-03-01", "end_date": "2027-02-15"}, follow=True)
    assert "ends before it starts" in response.content.decode()


# --- the release plan --------------------------------------------------------------------------
def test_the_release_plan_moves_items_between_releases(workspace, member, viewer, login):
    roadmap = _board(workspace, name="Releases", kind=Roadmap.Kind.RELEASE_PLAN)
    client = login(viewer)
    page = client.get(_url(workspace, "roadmap-detail", roadmap_id=roadmap.id))
    assert b"No releases to plan" in page.content
    first = Release.objects.create(
        workspace=workspace, name="R1", target_date=datetime.date(2027, 1, 1)
    )
    second = Release.objects.create(
        workspace=workspace, name="R2", target_date=datetime.date(2027, 3, 1)
    )
    item = _items(workspace, 1)[0]
    services.item_schedule_set(workspace=workspace, actor=None, item=item, release_id=first.id)
    page = client.get(_url(workspace, "roadmap-detail", roadmap_id=roadmap.id))
    text = page.content.decode()
    assert "R1" in text
    assert "R2" in text
    assert "0/1 shipped" in text
    assert "data-movable" not in text
    client = login(member)
    assert (
        b"data-movable"
        in client.get(_url(workspace, "roadmap-detail", roadmap_id=roadmap.id)).content
    )
    url = _url(workspace, "item-schedule", roadmap_id=roadmap.id, item_id=item.id)
    response = client.post(url, {"release_id": second.id}, headers=JSON)
    assert response.status_code == 400
    assert response.json()["reason_required"]
    response = client.post(url, {"release_id": second.id, "reason": "QA capacity"}, headers=JSON)
    assert response.status_code == 200
    assert response.json()["message"] == "“Item 0” is in R2."
    response = client.post(url, {"release_id": first.id}, headers=JSON)
    assert response.status_code == 200  # earlier: no reason needed
    response = client.post(url, {"release_id": 999_999}, headers=JSON)
    assert response.status_code == 404
    assert "no longer exists" in response.json()["message"]
    board = _board(workspace, name="Board")
    url = _url(workspace, "item-schedule", roadmap_id=board.id, item_id=item.id)
    assert client.post(url, {"release_id": second.id}).status_code == 404


# --- history -----------------------------------------------------------------------------------
def test_history_newest_first_with_kinds_setbacks_and_older_pages(workspace, member, viewer, login):
    roadmap = _board(workspace)
    columns = _columns(roadmap)
    client = login(viewer)
    page = client.get(_url(workspace, "roadmap-history", roadmap_id=roadmap.id))
    assert b"No history yet" in page.content
    items = _items(workspace, 3)
    for item in items:
        _place(workspace, roadmap, item, columns["Now"])
    services.placement_move(
        workspace=workspace, actor=member, roadmap=roadmap, item=items[0],
        column_id=columns["Later"].id, reason="Blocked by the billing rewrite",
    )  # fmt: skip
    page = client.get(_url(workspace, "roadmap-history", roadmap_id=roadmap.id))
    text = page.content.decode()
    events = text.split('class="rm-events"')[1]
    assert events.index("Blocked by the billing rewrite") < events.index("Added to a roadmap")
    assert "rm-event--setback" in text
    assert "Setback" in text
    page = client.get(_url(workspace, "roadmap-history", roadmap_id=roadmap.id), {"kind": "moved"})
    assert [e.kind for e in page.context["events"]] == ["moved"]
    bad = client.get(_url(workspace, "roadmap-history", roadmap_id=roadmap.id), {"before": "x_y"})
    assert bad.status_code == 200
    assert len(bad.context["events"]) == 4


def test_history_pages_by_time_and_id_without_gaps(workspace, viewer, login, monkeypatch):
    monkeypatch.setattr(selectors, "HISTORY_PAGE", 2)
    roadmap = _board(workspace)
    now = _columns(roadmap)["Now"]
    for item in _items(workspace, 5):
        _place(workspace, roadmap, item, now)
    RoadmapEvent.objects.for_workspace(workspace).update(created_at=timezone.now())
    client = login(viewer)
    url = _url(workspace, "roadmap-history", roadmap_id=roadmap.id)
    seen, query = [], ""
    for _ in range(5):
        page = client.get(url + query)
        seen += [e.id for e in page.context["events"]]
        if not page.context["older_url"]:
            break
        query = page.context["older_url"]
    assert len(seen) == 5
    assert len(set(seen)) == 5
    assert seen == sorted(seen, reverse=True)


def test_roadmap_event_page_is_one_statement(workspace):
    roadmap = _board(workspace)
    for item in _items(workspace, 4):
        _place(workspace, roadmap, item, _columns(roadmap)["Now"])
    with CaptureQueriesContext(connection) as queries:
        events, more = selectors.roadmap_event_page(workspace=workspace, roadmap=roadmap, limit=2)
        [e.item.title for e in events]
    assert len(queries) == 1
    assert more


# --- query counts ------------------------------------------------------------------------------
def _statements(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def _fill(workspace, roadmap, n):
    columns = list(roadmap.columns.order_by("position"))
    area = backlog.product_area_create(workspace=workspace, actor=None, name=f"Area {n}")
    release = Release.objects.create(
        workspace=workspace, name=f"Release {n}", target_date=timezone.localdate()
    )
    for i, item in enumerate(_items(workspace, n, prefix=f"Set {n}")):
        backlog.item_update(
            workspace=workspace, actor=None, item=item, version=item.version, area_id=area.id
        )
        if columns:
            _place(workspace, roadmap, item, columns[i % len(columns)])
        services.item_schedule_set(
            workspace=workspace,
            actor=None,
            item=item,
            release_id=release.id,
            start_date=timezone.localdate(),
            end_date=timezone.localdate() + datetime.timedelta(days=10 + i),
        )


@pytest.mark.parametrize("kind", ["now_next_later", "timeline", "release_plan"])
@pytest.mark.parametrize("group_by", ["", "area", "objective"])
def test_pages_take_the_same_statements_for_5_and_50_cards(
    workspace, other_workspace, member, login, kind, group_by
):
    from pmhub.workspaces.models import Membership
    from pmhub.workspaces.roles import Role

    Membership.objects.create(workspace=other_workspace, user=member, role=Role.EDITOR)
    counts = []
    for ws, n in ((workspace, 5), (other_workspace, 50)):
        roadmap = _board(ws, kind=kind, group_by=group_by)
        _fill(ws, roadmap, n)
        client = login(member)
        counts.append(
            (
                _statements(client, _url(ws, "roadmap-detail", roadmap_id=roadmap.id)),
                _statements(client, _url(ws, "roadmap-history", roadmap_id=roadmap.id)),
                _statements(client, _url(ws, "index")),
            )
        )
    assert counts[0] == counts[1]
    # The first page of the session also saves the session (savepoint, update, release); then
    # membership with its user (the session comes from the cache); in one round trip the
    # roadmap, its columns, the filters' areas, tags and members, the primary formula and the
    # sidebar's memberships; then the board's cards (the timeline's bars; the release plan's
    # releases and cards).
    fixed = 3 + 1 + 1
    assert counts[0][0] == fixed + (2 if kind == "release_plan" else 1)
    # History: membership (with its user), the roadmap, the sidebar, one page of events.
    assert counts[0][1] == 4
    # The list: membership (with its user), the sidebar, the roadmaps with their counts.
    assert counts[0][2] == 3
