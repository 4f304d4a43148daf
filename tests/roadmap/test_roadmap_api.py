"""The roadmaps API: roadmaps with ETags, columns, placements in keyset pages of constant
statements, moves with their events, item schedules, and events filtered by time."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backlog import services as backlog
from roadmap.models import Release, Roadmap, RoadmapEvent
from tests.discovery.api_support import BASE, api_as

pytestmark = pytest.mark.django_db

ROADMAPS = f"{BASE}/roadmaps/"


def _create(client, name="Product", **extra):
    response = client.post(
        ROADMAPS, {"name": name, "kind": "now_next_later", **extra}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def _items(workspace, n):
    return [
        backlog.item_create(workspace=workspace, actor=None, title=f"Item {i}") for i in range(n)
    ]


def test_create_list_read_and_change_with_if_match(workspace, member):
    client = api_as(member, workspace)
    created = _create(client, columns=["Now", "Soon", "Someday"])
    assert [c["name"] for c in created["columns"]] == ["Now", "Soon", "Someday"]
    listed = client.get(ROADMAPS).json()["results"]
    assert [(r["name"], r["placement_count"]) for r in listed] == [("Product", 0)]
    url = f"{ROADMAPS}{created['id']}/"
    read = client.get(url)
    etag = read["ETag"]
    assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    changed = client.patch(url, {"name": "Product 2027"}, format="json", HTTP_IF_MATCH=etag)
    assert changed.status_code == 200
    assert changed.json()["name"] == "Product 2027"
    stale = client.patch(url, {"name": "Lost"}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    assert Roadmap.objects.for_workspace(workspace).get().name == "Product 2027"


def test_bad_input_is_a_clear_error_and_writes_nothing(workspace, member):
    client = api_as(member, workspace)
    response = client.post(ROADMAPS, {"name": "", "kind": "galaxy"}, format="json")
    assert response.status_code == 400
    assert set(response.json()["extra"]["fields"]) == {"name", "kind"}
    response = client.post(
        ROADMAPS,
        {"name": "X", "kind": "timeline", "filters": {"area": ["999999"]}},
        format="json",
    )
    assert response.status_code == 400
    assert Roadmap.objects.for_workspace(workspace).count() == 0


def test_viewers_and_read_only_tokens_cannot_write(workspace, viewer, member):
    assert (
        api_as(viewer, workspace).post(ROADMAPS, {"name": "X", "kind": "timeline"}).status_code
        == 403
    )
    assert (
        api_as(member, workspace, access="read")
        .post(ROADMAPS, {"name": "X", "kind": "timeline"})
        .status_code
        == 403
    )
    assert api_as(viewer, workspace).get(ROADMAPS).status_code == 200


def test_placements_pages_walk_the_board_in_order_in_constant_statements(workspace, member):
    client = api_as(member, workspace)
    roadmap = _create(client)
    now, next_ = roadmap["columns"][0]["id"], roadmap["columns"][1]["id"]
    items = _items(workspace, 9)
    for index, item in enumerate(items):
        column = now if index % 3 == 0 else next_
        response = client.post(
            f"{ROADMAPS}{roadmap['id']}/placements/",
            {"item_id": item.id, "column_id": column},
            format="json",
        )
        assert response.status_code == 201
    url = f"{ROADMAPS}{roadmap['id']}/placements/"
    counts = set()
    for size in (2, 5, 100):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url, {"page_size": size}).status_code == 200
        counts.add(len(queries))
    assert len(counts) == 1
    seen, next_url = [], f"{url}?page_size=4"
    while next_url:
        page = client.get(next_url).json()
        seen += [(r["column"]["name"], r["id"]) for r in page["results"]]
        next_url = page["next"]
    expected = [("Now", i.id) for i in items[::3]] + [
        ("Next", i.id) for n, i in enumerate(items) if n % 3
    ]
    assert seen == expected
    assert client.get(url, {"cursor": "bm9wZQ"}).status_code == 400


def test_moves_record_events_and_a_deleted_column_is_a_clear_404(workspace, member):
    client = api_as(member, workspace)
    roadmap = _create(client)
    now, next_, later = (c["id"] for c in roadmap["columns"])
    (item,) = _items(workspace, 1)
    base = f"{ROADMAPS}{roadmap['id']}/placements/"
    client.post(base, {"item_id": item.id, "column_id": next_}, format="json")
    moved = client.patch(
        f"{base}{item.id}/", {"column_id": later, "reason": "Waiting on legal"}, format="json"
    )
    assert moved.status_code == 200
    event = RoadmapEvent.objects.for_workspace(workspace).get(kind="moved")
    assert event.reason == "Waiting on legal"
    assert event.is_setback
    client.delete(f"{ROADMAPS}{roadmap['id']}/columns/{now}/")
    gone = client.patch(f"{base}{item.id}/", {"column_id": now}, format="json")
    assert gone.status_code == 404
    assert "column" in gone.json()["message"]


def test_schedule_and_events_since(workspace, member):
    client = api_as(member, workspace)
    (item,) = _items(workspace, 1)
    release = Release.objects.create(
        workspace=workspace, name="Dec", target_date=datetime.date(2026, 12, 1)
    )
    url = f"{BASE}/items/{item.id}/schedule/"
    bad = client.patch(url, {"start_date": "2026-12-10", "end_date": "2026-12-01"}, format="json")
    assert bad.status_code == 400
    assert client.get(url).json()["start_date"] is None
    ok = client.patch(
        url,
        {"start_date": "2026-12-01", "end_date": "2026-12-10", "release_id": release.id},
        format="json",
    )
    assert ok.json() == {
        "item_id": item.id,
        "release_id": release.id,
        "start_date": "2026-12-01",
        "end_date": "2026-12-10",
    }
    cutoff = timezone.now()
    backlog.item_set_status(workspace=workspace, actor=member, item=item, status="shipped")
    everything = client.get(f"{BASE}/roadmap-events/").json()["results"]
    assert [e["kind"] for e in everything] == ["redated", "release_changed", "shipped"]
    since = client.get(f"{BASE}/roadmap-events/", {"since": cutoff.isoformat()}).json()
    assert [e["kind"] for e in since["results"]] == ["shipped"]
    assert since["results"][0]["actor"]["email"] == member.email
    shipped = client.get(f"{BASE}/roadmap-events/", {"kind": "shipped"}).json()["results"]
    assert len(shipped) == 1
