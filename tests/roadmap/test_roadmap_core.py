"""Roadmaps' core: boards and their columns, moves (one placement row and one event each,
setbacks that need a reason, concurrent moves recorded in order), item schedules, ships and
declines as events, and the board, timeline and release plan reads in fixed statements."""

from __future__ import annotations

import datetime
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from backlog import services as backlog
from roadmap import selectors, services
from roadmap.models import (
    ItemSchedule,
    KeyResult,
    KeyResultItem,
    Objective,
    Placement,
    Release,
    Roadmap,
    RoadmapEvent,
)

pytestmark = pytest.mark.django_db


def _items(workspace, n, **kwargs):
    return [
        backlog.item_create(workspace=workspace, actor=None, title=f"Item {i}", **kwargs)
        for i in range(n)
    ]


def _board(workspace, actor=None, **kwargs):
    return services.roadmap_create(workspace=workspace, actor=actor, name="Product", **kwargs)


def _column(roadmap, name):
    return roadmap.columns.get(name=name)


def test_a_new_board_has_now_next_later_and_names_are_unique(workspace):
    roadmap = _board(workspace)
    assert [c.name for c in roadmap.columns.order_by("position")] == ["Now", "Next", "Later"]
    with pytest.raises(ValidationError, match="exists"):
        _board(workspace)
    timeline = services.roadmap_create(
        workspace=workspace, actor=None, name="Dates", kind=Roadmap.Kind.TIMELINE
    )
    assert timeline.columns.count() == 0


def test_custom_columns_and_their_errors(workspace):
    roadmap = services.roadmap_create(
        workspace=workspace, actor=None, name="Team", columns=["This sprint", "Soon"]
    )
    assert [c.name for c in roadmap.columns.order_by("position")] == ["This sprint", "Soon"]
    with pytest.raises(ValidationError):
        services.roadmap_create(workspace=workspace, actor=None, name="X", columns=["A", "a"])
    with pytest.raises(ValidationError):
        services.roadmap_create(workspace=workspace, actor=None, name="")
    with pytest.raises(ValidationError):
        services.roadmap_create(
            workspace=workspace, actor=None, name="Y", filters={"area": [999_999]}
        )


def test_place_and_move_record_events_and_backwards_needs_a_reason(workspace, member):
    roadmap = _board(workspace)
    item, other = _items(workspace, 2)
    now, next_, later = (_column(roadmap, n) for n in ("Now", "Next", "Later"))
    services.placement_add(
        workspace=workspace, actor=member, roadmap=roadmap, item=item, column_id=next_.id
    )
    services.placement_add(
        workspace=workspace, actor=member, roadmap=roadmap, item=other, column_id=now.id
    )
    services.placement_move(
        workspace=workspace, actor=member, roadmap=roadmap, item=item, column_id=now.id,
        before_item_id=other.id, reason_required=True,
    )  # fmt: skip
    board = selectors.roadmap_board(workspace=workspace, roadmap=roadmap)
    assert [c["id"] for c in board[0].cards] == [item.id, other.id]
    with pytest.raises(services.ReasonRequiredError):
        services.placement_move(
            workspace=workspace, actor=member, roadmap=roadmap, item=item,
            column_id=later.id, reason_required=True,
        )  # fmt: skip
    services.placement_move(
        workspace=workspace, actor=member, roadmap=roadmap, item=item, column_id=later.id,
        reason="Blocked on the billing rewrite", reason_required=True,
    )  # fmt: skip
    events = list(
        RoadmapEvent.objects.for_workspace(workspace).filter(item=item).order_by("created_at", "id")
    )
    assert [e.kind for e in events] == ["placed", "moved", "moved"]
    assert events[1].before["column"] == "Next"
    assert events[1].after["column"] == "Now"
    assert not events[1].is_setback
    assert events[2].is_setback
    assert events[2].reason == "Blocked on the billing rewrite"
    assert events[2].actor == member


def test_a_move_to_a_deleted_column_is_refused_and_nothing_changes(workspace):
    roadmap = _board(workspace)
    (item,) = _items(workspace, 1)
    now, later = _column(roadmap, "Now"), _column(roadmap, "Later")
    services.placement_add(
        workspace=workspace, actor=None, roadmap=roadmap, item=item, column_id=now.id
    )
    later.delete()
    with pytest.raises(services.GoneError, match="column"):
        services.placement_move(
            workspace=workspace, actor=None, roadmap=roadmap, item=item, column_id=later.id
        )
    assert Placement.objects.for_workspace(workspace).get(item=item).column_id == now.id


def test_deleting_a_column_moves_its_items_or_is_refused(workspace):
    roadmap = _board(workspace)
    items = _items(workspace, 2)
    next_, later = _column(roadmap, "Next"), _column(roadmap, "Later")
    for item in items:
        services.placement_add(
            workspace=workspace, actor=None, roadmap=roadmap, item=item, column_id=later.id
        )
    with pytest.raises(ValidationError, match="holds 2"):
        services.roadmap_column_delete(workspace=workspace, actor=None, column=later)
    services.roadmap_column_delete(workspace=workspace, actor=None, column=later, move_to=next_)
    board = selectors.roadmap_board(workspace=workspace, roadmap=roadmap)
    assert [c.column.name for c in board] == ["Now", "Next"]
    assert [c["id"] for c in board[1].cards] == [i.id for i in items]


@pytest.mark.django_db(transaction=True)
def test_two_people_moving_the_same_item_at_once_are_both_recorded_in_order(workspace):
    roadmap = _board(workspace)
    (item,) = _items(workspace, 1)
    later = _column(roadmap, "Later")
    services.placement_add(
        workspace=workspace, actor=None, roadmap=roadmap, item=item, column_id=later.id
    )
    targets = [_column(roadmap, "Now").id, _column(roadmap, "Next").id]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def move(column_id: int) -> None:
        try:
            barrier.wait()
            services.placement_move(
                workspace=workspace, actor=None, roadmap=roadmap, item=item, column_id=column_id
            )
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=move, args=(c,)) for c in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    moves = list(
        RoadmapEvent.objects.for_workspace(workspace)
        .filter(item=item, kind="moved")
        .order_by("created_at", "id")
    )
    assert len(moves) == 2
    # Each move starts where the one before it left the item: the history chains.
    assert moves[0].before["column"] == "Later"
    assert moves[1].before["column_id"] == moves[0].after["column_id"]
    final = Placement.objects.for_workspace(workspace).get(item=item)
    assert final.column_id == moves[1].after["column_id"]


def test_schedule_dates_and_release_changes_are_events_and_slips_need_reasons(workspace):
    (item,) = _items(workspace, 1)
    early = Release.objects.create(
        workspace=workspace, name="Dec", target_date=datetime.date(2026, 12, 1)
    )
    late = Release.objects.create(
        workspace=workspace, name="Jan", target_date=datetime.date(2027, 1, 15)
    )
    day = datetime.date(2026, 12, 1)
    services.item_schedule_set(
        workspace=workspace, actor=None, item=item, start_date=day,
        end_date=day + datetime.timedelta(days=10), release_id=early.id,
    )  # fmt: skip
    with pytest.raises(ValidationError, match="ends before"):
        services.item_schedule_set(
            workspace=workspace, actor=None, item=item, end_date=day - datetime.timedelta(days=1)
        )
    with pytest.raises(services.ReasonRequiredError):
        services.item_schedule_set(
            workspace=workspace, actor=None, item=item, release_id=late.id, reason_required=True
        )
    services.item_schedule_set(
        workspace=workspace, actor=None, item=item, release_id=late.id,
        end_date=day + datetime.timedelta(days=30), reason="Scope grew", reason_required=True,
    )  # fmt: skip
    schedule = ItemSchedule.objects.for_workspace(workspace).get(item=item)
    assert schedule.release_id == late.id
    assert schedule.start_date == day
    kinds = list(
        RoadmapEvent.objects.for_workspace(workspace)
        .filter(item=item)
        .order_by("id")
        .values_list("kind", "is_setback", "reason")
    )
    assert kinds == [
        ("redated", False, ""),
        ("release_changed", False, ""),
        ("redated", True, "Scope grew"),
        ("release_changed", True, "Scope grew"),
    ]


def test_ship_and_decline_are_roadmap_events(workspace, member):
    (item,) = _items(workspace, 1)
    backlog.item_set_status(workspace=workspace, actor=member, item=item, status="planned")
    backlog.item_set_status(workspace=workspace, actor=member, item=item, status="shipped")
    (other,) = _items(workspace, 1)
    backlog.item_set_status(
        workspace=workspace, actor=member, item=other, status="declined", reason="Not our market"
    )
    events = RoadmapEvent.objects.for_workspace(workspace).order_by("id")
    assert [(e.item_id, e.kind, e.reason) for e in events] == [
        (item.id, "shipped", ""),
        (other.id, "declined", "Not our market"),
    ]


def test_board_read_is_two_statements_whatever_the_size_and_columns_page(workspace):
    roadmap = _board(workspace, group_by="objective")
    now = _column(roadmap, "Now")
    objective = Objective.objects.create(workspace=workspace, title="Win enterprise")
    key_result = KeyResult.objects.create(
        workspace=workspace, objective=objective, metric="ARR", target=10
    )
    items = _items(workspace, 7)
    for item in items:
        services.placement_add(
            workspace=workspace, actor=None, roadmap=roadmap, item=item, column_id=now.id
        )
    KeyResultItem.objects.create(workspace=workspace, key_result=key_result, item=items[0])
    for page_size in (2, 5, 100):
        with CaptureQueriesContext(connection) as queries:
            board = selectors.roadmap_board(
                workspace=workspace, roadmap=roadmap, page_size=page_size
            )
        assert len(queries) == 2
    board = selectors.roadmap_board(workspace=workspace, roadmap=roadmap, page_size=3)
    assert board[0].count == 7
    assert len(board[0].cards) == 3
    assert board[0].cards[0]["objective_title"] == "Win enterprise"
    assert board[0].cards[1]["objective_title"] is None
    rest = selectors.roadmap_column_page(
        workspace=workspace, roadmap=roadmap, column=now, after_rank=board[0].next_rank,
        page_size=3,
    )  # fmt: skip
    assert [c["id"] for c in rest] == [i.id for i in items[3:7]]


def test_filters_narrow_the_board_and_merged_items_leave_it(workspace):
    area = backlog.product_area_create(workspace=workspace, actor=None, name="Mobile")
    roadmap = _board(workspace, filters={"area": [area.id]})
    now = _column(roadmap, "Now")
    mobile, desktop, dupe = _items(workspace, 3)
    backlog.item_update(
        workspace=workspace, actor=None, item=mobile, version=mobile.version, area_id=area.id
    )
    for item in (mobile, desktop, dupe):
        services.placement_add(
            workspace=workspace, actor=None, roadmap=roadmap, item=item, column_id=now.id
        )
    board = selectors.roadmap_board(workspace=workspace, roadmap=roadmap)
    assert [c["id"] for c in board[0].cards] == [mobile.id]
    assert board[0].cards[0]["area_name"] == "Mobile"
    narrowed = selectors.roadmap_filters(roadmap, {"status": ["shipped"]})
    assert (
        selectors.roadmap_board(workspace=workspace, roadmap=roadmap, filters=narrowed)[0].cards
        == []
    )


def test_a_merged_item_leaves_the_board_and_its_column_count(workspace):
    roadmap = _board(workspace)
    now, later = _column(roadmap, "Now"), _column(roadmap, "Later")
    kept, dupe, other = _items(workspace, 3)
    for item, column in ((kept, now), (dupe, now), (other, later)):
        services.placement_add(
            workspace=workspace, actor=None, roadmap=roadmap, item=item, column_id=column.id
        )
    backlog.item_merge(workspace=workspace, actor=None, duplicate=dupe, into=kept)
    # Unfiltered and filtered boards count their columns by different statements.
    for filters in (None, selectors.roadmap_filters(roadmap, {"status": ["new"]})):
        board = selectors.roadmap_board(workspace=workspace, roadmap=roadmap, filters=filters)
        assert [(c.column.name, c.count) for c in board] == [("Now", 1), ("Next", 0), ("Later", 1)]
        assert [[card["id"] for card in c.cards] for c in board] == [[kept.id], [], [other.id]]


def _compiled_board_fixture(workspace, group_by):
    roadmap = services.roadmap_create(
        workspace=workspace, actor=None, name=f"Board {group_by or 'plain'}", group_by=group_by
    )
    area = backlog.product_area_create(workspace=workspace, actor=None, name=f"Area {group_by}")
    objective = Objective.objects.create(workspace=workspace, title=f"Goal {group_by}")
    key_result = KeyResult.objects.create(
        workspace=workspace, objective=objective, metric="ARR", target=10
    )
    columns = list(roadmap.columns.order_by("position"))
    items = _items(workspace, 7)
    for i, item in enumerate(items):
        if i % 2:
            backlog.item_update(
                workspace=workspace, actor=None, item=item, version=item.version, area_id=area.id
            )
        services.placement_add(
            workspace=workspace, actor=None, roadmap=roadmap, item=item,
            column_id=columns[i % 3].id,
        )  # fmt: skip
    KeyResultItem.objects.create(workspace=workspace, key_result=key_result, item=items[1])
    backlog.item_merge(workspace=workspace, actor=None, duplicate=items[6], into=items[0])
    return roadmap, area


# A filter no item can pass (the roadmap's saved area and the page's differ): the ORM knows it
# matches nothing, so there is no statement to compile.
_NOTHING = selectors.RoadmapFilters(area_ids=("__none__",))


def _boards(workspace, roadmap, area):
    filters = [
        selectors.roadmap_filters(roadmap, page)
        for page in ({}, {"area": [str(area.id)]}, {"status": ["new"]}, {"owner": ["999999"]})
    ]
    boards = []
    for board_filters in (*filters, _NOTHING):
        for page_size in (1, 100):
            board = selectors.roadmap_board(
                workspace=workspace, roadmap=roadmap, filters=board_filters, page_size=page_size
            )
            boards.append([(c.column.id, c.count, c.cards) for c in board])
    return boards


@pytest.mark.parametrize("group_by", ["", "area", "objective"])
def test_the_compiled_board_is_the_orms(workspace, other_workspace, group_by, monkeypatch):
    fixtures = [(ws, *_compiled_board_fixture(ws, group_by)) for ws in (workspace, other_workspace)]
    selectors._BOARD_STATEMENTS.clear()
    compiled = [_boards(*fixture) for fixture in fixtures]
    # Each shape compiled once (its stand-ins' places found) and the other workspace's pages
    # reused it: the unfiltered, status and owner shapes, each workspace's own area, at two
    # page sizes; the filter that matches nothing has no statement.
    statements = dict(selectors._BOARD_STATEMENTS.items())
    assert len(statements) == 2 * (3 + 2 + 1)
    assert sorted(size for (f, _, size), st in statements.items() if st is None) == [1, 100]
    assert all(f == _NOTHING for (f, _, _), st in statements.items() if st is None)
    monkeypatch.setattr(selectors, "compile_statement", lambda build, values: None)
    selectors._BOARD_STATEMENTS.clear()
    assert compiled == [_boards(*fixture) for fixture in fixtures]
    # The unfiltered board at 100 a column: the six live items (the merged one left it).
    cards = [card for _, _, column_cards in compiled[0][1] for card in column_cards]
    assert len(cards) == 6
    assert [count for _, count, _ in compiled[0][1]] == [2, 2, 2]
    # One a column, still counting all; the area's items, one in each column.
    assert [(count, len(shown)) for _, count, shown in compiled[0][0]] == [(2, 1)] * 3
    assert [(count, len(shown)) for _, count, shown in compiled[0][3]] == [(1, 1)] * 3
    assert {card.get("objective_title") for card in cards} == (
        {None, f"Goal {group_by}"} if group_by == "objective" else {None}
    )
    assert compiled[0][9] == [(column_id, 0, []) for column_id, _, _ in compiled[0][1]]


def test_timeline_and_release_plan_reads(workspace):
    roadmap = services.roadmap_create(
        workspace=workspace, actor=None, name="Dates", kind=Roadmap.Kind.TIMELINE
    )
    release = Release.objects.create(
        workspace=workspace, name="Dec", target_date=datetime.date(2026, 12, 10)
    )
    dated, by_release, outside, undated = _items(workspace, 4)
    services.item_schedule_set(
        workspace=workspace, actor=None, item=dated,
        start_date=datetime.date(2026, 11, 20), end_date=datetime.date(2027, 1, 5),
    )  # fmt: skip
    services.item_schedule_set(
        workspace=workspace, actor=None, item=by_release, release_id=release.id
    )
    services.item_schedule_set(
        workspace=workspace, actor=None, item=outside, start_date=datetime.date(2028, 1, 1)
    )
    start, end = selectors.timeline_window("month", datetime.date(2026, 11, 26))
    assert (start, end) == (datetime.date(2026, 10, 1), datetime.date(2027, 3, 31))
    with CaptureQueriesContext(connection) as queries:
        timeline = selectors.roadmap_timeline(
            workspace=workspace, roadmap=roadmap, start=start, end=end
        )
    assert len(queries) == 1
    assert [b["id"] for b in timeline.bars] == [dated.id, by_release.id]
    assert timeline.bars[1]["release_target"] == datetime.date(2026, 12, 10)
    assert timeline.count == 2
    assert undated.id not in [b["id"] for b in timeline.bars]
    plan = selectors.roadmap_release_plan(
        workspace=workspace, roadmap=roadmap, today=datetime.date(2026, 11, 26)
    )
    assert [(c.release.name, c.count, [x["id"] for x in c.cards]) for c in plan] == [
        ("Dec", 1, [by_release.id])
    ]


def test_roadmap_history_holds_its_moves_and_its_items_ships(workspace):
    roadmap = _board(workspace)
    other_board = services.roadmap_create(workspace=workspace, actor=None, name="Other")
    item, elsewhere = _items(workspace, 2)
    services.placement_add(
        workspace=workspace, actor=None, roadmap=roadmap, item=item,
        column_id=_column(roadmap, "Now").id,
    )  # fmt: skip
    services.placement_add(
        workspace=workspace, actor=None, roadmap=other_board, item=elsewhere,
        column_id=_column(other_board, "Now").id,
    )  # fmt: skip
    backlog.item_set_status(workspace=workspace, actor=None, item=item, status="shipped")
    backlog.item_set_status(workspace=workspace, actor=None, item=elsewhere, status="shipped")
    kinds = [
        (e.item_id, e.kind)
        for e in selectors.roadmap_event_list(workspace=workspace, roadmap=roadmap)
    ]
    assert kinds == [(item.id, "shipped"), (item.id, "placed")]
