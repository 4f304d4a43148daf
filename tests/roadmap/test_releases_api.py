"""The releases API: list (cursor pages, status filter, constant queries), create, one release
with its ETag, changes with If-Match, delete; a release's items; the launch checklist."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backlog import services as backlog
from roadmap import releases
from roadmap.models import LaunchTask, Release, RoadmapEvent
from roadmap.services import item_schedule_set
from tests.discovery.api_support import (
    BASE,
    DENIED_WRITER_IDS,
    DENIED_WRITERS,
    NOT_FOUND,
    api_as,
    client_of,
)

pytestmark = pytest.mark.django_db

RELEASES = f"{BASE}/releases/"
DEC_15 = datetime.date(2026, 12, 15)


def _release(workspace, name="2026.12", **kwargs):
    kwargs.setdefault("target_date", DEC_15)
    return releases.release_create(workspace=workspace, actor=None, name=name, **kwargs)


def _scheduled(workspace, release, n):
    items = []
    for k in range(n):
        item = backlog.item_create(workspace=workspace, actor=None, title=f"{release.name} {k}")
        item_schedule_set(workspace=workspace, actor=None, item=item, release_id=release.id)
        items.append(item)
    return items


def test_list_filters_by_status_and_pages_by_cursor(workspace, member):
    client = api_as(member, workspace)
    for n in range(3):
        _release(workspace, f"R{n}")
    _release(workspace, "Shipped", status="released")

    first = client.get(RELEASES, {"page_size": 2}).json()
    second = client.get(first["next"]).json()
    released = client.get(RELEASES, {"status": "released"}).json()
    bad = client.get(RELEASES, {"status": "gone"})

    assert [r["name"] for r in first["results"]] == ["R0", "R1"]
    assert [r["name"] for r in second["results"]] == ["R2", "Shipped"]
    assert [r["name"] for r in released["results"]] == ["Shipped"]
    assert released["results"][0]["released_on"] is not None
    assert bad.status_code == 400


def test_list_queries_do_not_grow_with_releases_items_or_tasks(workspace, member):
    client = api_as(member, workspace)
    _release(workspace, "First")
    client.get(RELEASES)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(RELEASES).status_code == 200
        return len(ctx.captured_queries)

    before = count()
    for n in range(5):
        release = _release(workspace, f"More {n}")
        _scheduled(workspace, release, 3)
        LaunchTask.objects.create(workspace=workspace, release=release, title="Blog")
    after = count()

    # token + membership, then one page of releases with their four counts in one statement.
    assert after == before
    assert after <= 5


def test_create_detail_and_duplicate(workspace, member):
    client = api_as(member, workspace)

    created = client.post(
        RELEASES,
        {"name": "Spring", "target_date": "2027-03-01", "description": "**Big**"},
        format="json",
    )
    duplicate = client.post(RELEASES, {"name": "SPRING"}, format="json")

    assert created.status_code == 201
    body = created.json()
    assert body["name"] == "Spring"
    assert (body["status"], body["version"], body["item_count"], body["progress"]) == (
        "planned",
        1,
        0,
        0,
    )
    assert created["ETag"] == f'"release-{body["id"]}-v1"'
    assert duplicate.status_code == 400
    assert "exists" in duplicate.json()["extra"]["fields"]["name"][0]

    detail = client.get(f"{RELEASES}{body['id']}/")
    assert detail.json()["description"] == "**Big**"
    cached = client.get(f"{RELEASES}{body['id']}/", HTTP_IF_NONE_MATCH=detail["ETag"])
    assert cached.status_code == 304


def test_patch_with_if_match_records_events_and_refuses_stale(workspace, member):
    client = api_as(member, workspace)
    release = _release(workspace)
    url = f"{RELEASES}{release.id}/"
    etag = client.get(url)["ETag"]

    changed = client.patch(
        url,
        {"target_date": "2027-01-10", "status": "in_progress", "reason": "Billing API"},
        HTTP_IF_MATCH=etag,
        format="json",
    )
    stale = client.patch(url, {"name": "Mine"}, HTTP_IF_MATCH=etag, format="json")
    stale_body = client.patch(url, {"name": "Mine", "version": 1}, format="json")
    foreign_tag = client.patch(url, {"name": "Mine"}, HTTP_IF_MATCH='"item-1-v1"', format="json")

    assert changed.status_code == 200
    assert changed.json()["version"] == 2
    assert changed["ETag"] == f'"release-{release.id}-v2"'
    assert stale.status_code == 412
    assert stale.json()["extra"] == {"version": 2}
    assert stale_body.status_code == 412
    assert foreign_tag.status_code == 412
    events = list(
        RoadmapEvent.objects.for_workspace(workspace)
        .filter(release=release)
        .order_by("id")
        .values_list("kind", "is_setback", "reason")
    )
    assert events == [
        ("release_redated", True, "Billing API"),
        ("release_status", False, "Billing API"),
    ]
    release.refresh_from_db()
    assert release.name == "2026.12"


def test_patch_refuses_bad_input(workspace, member):
    client = api_as(member, workspace)
    release = _release(workspace)
    url = f"{RELEASES}{release.id}/"

    for body in (
        {"status": "shipped"},
        {"target_date": "not a date"},
        {"name": "x" * 121},
        {"description": "x" * 20_001},
        {"reason": "x" * 501},
    ):
        assert client.patch(url, body, format="json").status_code == 400, body
    release.refresh_from_db()
    assert release.version == 1


def test_delete(workspace, member):
    client = api_as(member, workspace)
    release = _release(workspace)
    _scheduled(workspace, release, 2)

    response = client.delete(f"{RELEASES}{release.id}/")

    assert response.status_code == 204
    assert not Release.objects.for_workspace(workspace).exists()
    assert client.delete(f"{RELEASES}{release.id}/").status_code == 404


def test_items_of_a_release(workspace, member):
    client = api_as(member, workspace)
    release = _release(workspace)
    items = _scheduled(workspace, release, 3)
    _scheduled(workspace, _release(workspace, "Other"), 1)

    body = client.get(f"{RELEASES}{release.id}/items/").json()

    assert [r["id"] for r in body["results"]] == [i.id for i in items]
    assert set(body["results"][0]) == {
        "id", "title", "kind", "status", "area_id", "area", "owner_id", "primary_score",
    }  # fmt: skip


def test_launch_checklist_list_create_update_delete(workspace, member, admin, outsider):
    client = api_as(member, workspace)
    release = _release(workspace)
    tasks = f"{RELEASES}{release.id}/tasks/"

    created = client.post(
        tasks,
        {"title": "Blog post", "team": "marketing", "owner_id": admin.id, "due_date": "2020-01-01"},
        format="json",
    )
    foreign_owner = client.post(tasks, {"title": "Docs", "owner_id": outsider.id}, format="json")
    assert created.status_code == 201
    task = created.json()
    assert (task["team"], task["is_overdue"], task["position"]) == ("marketing", True, 0)
    assert foreign_owner.status_code == 400

    done = client.patch(f"{tasks}{task['id']}/", {"is_done": True}, format="json").json()
    assert (done["is_done"], done["is_overdue"]) == (True, False)
    assert done["done_at"] is not None
    listed = client.get(tasks).json()["results"]
    assert [t["title"] for t in listed] == ["Blog post"]

    assert client.delete(f"{tasks}{task['id']}/").status_code == 204
    assert client.delete(f"{tasks}{task['id']}/").status_code == 404


def test_a_task_of_another_release_is_404(workspace, member):
    client = api_as(member, workspace)
    one, two = _release(workspace, "One"), _release(workspace, "Two")
    task = releases.launch_task_create(workspace=workspace, actor=None, release=one, title="X")

    response = client.patch(f"{RELEASES}{two.id}/tasks/{task.id}/", {"is_done": True})

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


@pytest.mark.parametrize(("who", "access", "code", "body"), DENIED_WRITERS, ids=DENIED_WRITER_IDS)
def test_writes_are_refused(request, workspace, who, access, code, body):
    release = _release(workspace)
    task = releases.launch_task_create(workspace=workspace, actor=None, release=release, title="X")
    client = client_of(request, who, access)
    url = f"{RELEASES}{release.id}/"

    responses = [
        client.post(RELEASES, {"name": "New"}),
        client.patch(url, {"name": "Changed"}),
        client.delete(url),
        client.post(f"{url}tasks/", {"title": "Y"}),
        client.patch(f"{url}tasks/{task.id}/", {"is_done": True}),
        client.delete(f"{url}tasks/{task.id}/"),
    ]

    assert [(r.status_code, r.json()) for r in responses] == [(code, body)] * 6
    release.refresh_from_db()
    task.refresh_from_db()
    assert (release.name, release.version, task.is_done) == ("2026.12", 1, False)
    assert Release.objects.for_workspace(workspace).count() == 1
    assert LaunchTask.objects.for_workspace(workspace).count() == 1


def test_viewer_reads(workspace, viewer):
    release = _release(workspace)
    client = api_as(viewer, workspace, "read")

    assert client.get(RELEASES).status_code == 200
    assert client.get(f"{RELEASES}{release.id}/").status_code == 200
    assert client.get(f"{RELEASES}{release.id}/items/").status_code == 200
    assert client.get(f"{RELEASES}{release.id}/tasks/").status_code == 200


def test_schema_documents_the_release_endpoints(workspace, member, client):
    client.force_login(member)
    schema = client.get("/api/schema/").content.decode()
    for operation in (
        "roadmap_releases_list",
        "roadmap_releases_partial_update",
        "roadmap_release_items_list",
        "roadmap_release_tasks_create",
    ):
        assert operation in schema
