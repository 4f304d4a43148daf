"""Releases: their services (events on redate and status, slips, stale edits, names, the launch
checklist, progress) and their pages (admin, editor, viewer; pinned query counts)."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from backlog import services as backlog
from backlog.models import Item
from roadmap import releases
from roadmap.models import ItemSchedule, LaunchTask, Release, RoadmapEvent
from roadmap.services import GoneError, ReasonRequiredError, item_schedule_set

pytestmark = pytest.mark.django_db

DEC_1 = datetime.date(2026, 12, 1)
DEC_15 = datetime.date(2026, 12, 15)
JAN_10 = datetime.date(2027, 1, 10)


def _url(workspace, name="roadmap:release-list", **kwargs):
    return reverse(name, kwargs={"workspace_slug": workspace.slug, **kwargs})


def _release(workspace, name="2026.12", target_date=DEC_15, **kwargs):
    return releases.release_create(
        workspace=workspace, actor=None, name=name, target_date=target_date, **kwargs
    )


def _item(workspace, title="Export to CSV", release=None, **kwargs):
    item = backlog.item_create(workspace=workspace, actor=None, title=title, **kwargs)
    if release is not None:
        item_schedule_set(workspace=workspace, actor=None, item=item, release_id=release.id)
    return item


def _ship(workspace, item):
    backlog.item_set_status(workspace=workspace, actor=None, item=item, status="shipped")


# --- services: releases ----------------------------------------------------------------------
def test_create_then_duplicate_name_in_any_case_is_refused(workspace, other_workspace, member):
    _release(workspace, "Winter launch")

    with pytest.raises(ValidationError) as exc:
        _release(workspace, "  winter   LAUNCH ")

    assert "exists" in exc.value.message_dict["name"][0]
    assert Release.objects.for_workspace(workspace).count() == 1
    # Another workspace may use the name.
    assert _release(other_workspace, "Winter launch").name == "Winter launch"


def test_rename_onto_another_release_is_refused(workspace, member):
    _release(workspace, "A")
    b = _release(workspace, "B")

    with pytest.raises(ValidationError):
        releases.release_update(workspace=workspace, actor=member, release=b, name="a")

    b.refresh_from_db()
    assert b.name == "B"
    assert b.version == 1


def test_later_target_date_is_a_slip_event_with_its_reason(workspace, member):
    release = _release(workspace)

    releases.release_update(
        workspace=workspace,
        actor=member,
        release=release,
        target_date=JAN_10,
        reason="Waiting on the billing API",
    )

    event = RoadmapEvent.objects.for_workspace(workspace).get(release=release)
    assert event.kind == RoadmapEvent.Kind.RELEASE_REDATED
    assert event.before["target_date"] == "2026-12-15"
    assert event.after["target_date"] == "2027-01-10"
    assert event.is_setback is True
    assert event.reason == "Waiting on the billing API"
    assert event.actor == member
    release.refresh_from_db()
    assert release.version == 2


def test_earlier_target_date_is_no_slip(workspace, member):
    release = _release(workspace)

    releases.release_update(workspace=workspace, actor=member, release=release, target_date=DEC_1)

    event = RoadmapEvent.objects.for_workspace(workspace).get(release=release)
    assert event.is_setback is False


def test_slip_without_reason_is_refused_when_the_page_asks(workspace, member):
    release = _release(workspace)

    with pytest.raises(ReasonRequiredError):
        releases.release_update(
            workspace=workspace,
            actor=member,
            release=release,
            target_date=JAN_10,
            reason="  ",
            reason_required=True,
        )

    release.refresh_from_db()
    assert release.target_date == DEC_15
    assert not RoadmapEvent.objects.for_workspace(workspace).exists()


def test_released_sets_released_on_and_leaving_clears_it(workspace, member):
    release = _release(workspace)

    releases.release_update(workspace=workspace, actor=member, release=release, status="released")
    release.refresh_from_db()
    assert release.released_on == timezone.localdate()

    releases.release_update(
        workspace=workspace, actor=member, release=release, status="in_progress"
    )
    release.refresh_from_db()
    assert release.released_on is None
    events = list(
        RoadmapEvent.objects.for_workspace(workspace)
        .filter(release=release)
        .order_by("id")
        .values_list("kind", "before", "after", "is_setback")
    )
    assert events == [
        ("release_status", {"status": "planned", "release": "2026.12"},
         {"status": "released", "release": "2026.12"}, False),
        ("release_status", {"status": "released", "release": "2026.12"},
         {"status": "in_progress", "release": "2026.12"}, True),
    ]  # fmt: skip


def test_stale_edit_is_refused_and_changes_nothing(workspace, member):
    release = _release(workspace)
    releases.release_update(workspace=workspace, actor=member, release=release, name="Renamed")

    with pytest.raises(releases.StaleReleaseError) as exc:
        releases.release_update(
            workspace=workspace, actor=member, release=release, version=1, name="Mine"
        )

    assert exc.value.status_code == 412
    assert exc.value.extra == {"version": 2}
    release.refresh_from_db()
    assert release.name == "Renamed"


def test_bad_input_is_refused_clearly(workspace, member):
    release = _release(workspace)
    for changes, field in [
        ({"status": "shipped"}, "status"),
        ({"name": ""}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"description": "x" * 20_001}, "description"),
        ({"created_by": None}, "created_by"),
        ({"target_date": JAN_10, "reason": "x" * 501}, "reason"),
    ]:
        with pytest.raises(ValidationError) as exc:
            releases.release_update(workspace=workspace, actor=member, release=release, **changes)
        assert field in exc.value.message_dict
    release.refresh_from_db()
    assert (release.version, release.target_date) == (1, DEC_15)


def test_delete_unschedules_its_items_with_an_event(workspace, member):
    release = _release(workspace)
    item = _item(workspace, release=release)

    releases.release_delete(workspace=workspace, actor=member, release=release)

    assert not Release.objects.for_workspace(workspace).exists()
    assert ItemSchedule.objects.for_workspace(workspace).get(item=item).release_id is None
    event = RoadmapEvent.objects.for_workspace(workspace).filter(item=item).latest("id")
    assert event.kind == RoadmapEvent.Kind.RELEASE_CHANGED
    assert event.reason == "Release “2026.12” was deleted."


# --- services: items and progress ------------------------------------------------------------
def test_items_join_and_leave_through_the_schedule_with_events(workspace, member):
    release = _release(workspace)
    item = _item(workspace)

    releases.release_item_add(workspace=workspace, actor=member, release=release, item_id=item.id)
    assert ItemSchedule.objects.for_workspace(workspace).get(item=item).release == release

    with pytest.raises(ReasonRequiredError):
        releases.release_item_remove(
            workspace=workspace,
            actor=member,
            release=release,
            item_id=item.id,
            reason_required=True,
        )
    releases.release_item_remove(
        workspace=workspace, actor=member, release=release, item_id=item.id, reason="Cut"
    )

    assert ItemSchedule.objects.for_workspace(workspace).get(item=item).release is None
    kinds = list(
        RoadmapEvent.objects.for_workspace(workspace)
        .filter(item=item)
        .order_by("id")
        .values_list("kind", "reason")
    )
    assert kinds == [("release_changed", ""), ("release_changed", "Cut")]
    with pytest.raises(GoneError):
        releases.release_item_remove(
            workspace=workspace, actor=member, release=release, item_id=item.id
        )


def test_an_item_of_another_workspace_cannot_join(workspace, other_workspace, member):
    release = _release(workspace)
    foreign = _item(other_workspace)

    with pytest.raises(GoneError):
        releases.release_item_add(
            workspace=workspace, actor=member, release=release, item_id=foreign.id
        )


def test_progress_counts_shipped_of_items_not_declined(workspace, member):
    release = _release(workspace)
    other = _release(workspace, "2027.01", JAN_10)
    shipped = [_item(workspace, f"Shipped {n}", release=release) for n in range(2)]
    _item(workspace, "Open", release=release)
    declined = _item(workspace, "Declined", release=release)
    _item(workspace, "Elsewhere", release=other)
    for item in shipped:
        _ship(workspace, item)
    backlog.item_set_status(
        workspace=workspace, actor=None, item=declined, status="declined", reason="No"
    )
    LaunchTask.objects.create(workspace=workspace, release=release, title="Blog", is_done=True)
    LaunchTask.objects.create(workspace=workspace, release=release, title="Deck")

    counted = releases.release_get(workspace=workspace, release_id=release.id)

    assert (counted.item_count, counted.shipped_count) == (3, 2)
    assert (counted.task_count, counted.tasks_done) == (2, 1)
    assert releases.release_progress(counted) == 67
    listed = {r.name: (r.item_count, r.shipped_count) for r in releases.release_list(
        workspace=workspace)}  # fmt: skip
    assert listed == {"2026.12": (3, 2), "2027.01": (1, 0)}
    items = releases.release_items(workspace=workspace, release=release)
    assert [i.status for i in items] == ["new", "shipped", "shipped", "declined"]
    times = releases.release_ship_times(workspace=workspace, items=items)
    assert set(times) == {i.id for i in shipped}


def test_release_list_filters_by_status_and_orders_open_first(workspace, member):
    _release(workspace, "Later", JAN_10)
    _release(workspace, "Sooner", DEC_1)
    _release(workspace, "Done", DEC_1, status="released")
    _release(workspace, "Undated", None)

    names = [r.name for r in releases.release_list(workspace=workspace)]
    planned = [r.name for r in releases.release_list(workspace=workspace, status="released")]

    assert names == ["Sooner", "Later", "Undated", "Done"]
    assert planned == ["Done"]


# --- services: launch checklist --------------------------------------------------------------
def test_checklist_create_toggle_reorder_delete(workspace, member, admin, outsider):
    release = _release(workspace)
    blog = releases.launch_task_create(
        workspace=workspace,
        actor=member,
        release=release,
        title=" Blog   post ",
        team="marketing",
        owner_id=admin.id,
        due_date=DEC_1,
    )
    deck = releases.launch_task_create(
        workspace=workspace, actor=member, release=release, title="Sales deck", team="sales"
    )
    assert (blog.title, blog.position, deck.position) == ("Blog post", 0, 1)

    releases.launch_task_toggle(workspace=workspace, actor=member, task=blog, is_done=True)
    releases.launch_task_toggle(workspace=workspace, actor=member, task=blog, is_done=True)
    blog.refresh_from_db()
    assert blog.is_done is True
    assert blog.done_at is not None
    releases.launch_task_toggle(workspace=workspace, actor=member, task=blog)
    blog.refresh_from_db()
    assert (blog.is_done, blog.done_at) == (False, None)

    with pytest.raises(ValidationError):
        releases.launch_task_update(
            workspace=workspace, actor=member, task=deck, owner_id=outsider.id
        )
    with pytest.raises(ValidationError):
        releases.launch_task_update(workspace=workspace, actor=member, task=deck, team="legal")
    with pytest.raises(ValidationError):
        releases.launch_task_create(workspace=workspace, actor=member, release=release, title=" ")
    with pytest.raises(ValidationError):
        releases.launch_task_reorder(
            workspace=workspace, actor=member, release=release, task_ids=[deck.id]
        )

    releases.launch_task_reorder(
        workspace=workspace, actor=member, release=release, task_ids=[deck.id, blog.id]
    )
    tasks = releases.launch_task_list(workspace=workspace, release=release)
    assert [t.title for t in tasks] == ["Sales deck", "Blog post"]
    assert [t.is_overdue for t in tasks] == [False, timezone.localdate() > DEC_1]

    releases.launch_task_delete(workspace=workspace, actor=member, task=deck)
    assert [t.title for t in releases.launch_task_list(workspace=workspace, release=release)] == [
        "Blog post"
    ]


def test_overdue_tasks_are_flagged(workspace):
    release = _release(workspace)
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    LaunchTask.objects.create(
        workspace=workspace, release=release, title="Late", due_date=yesterday
    )
    LaunchTask.objects.create(
        workspace=workspace, release=release, title="Done late", due_date=yesterday, is_done=True
    )
    LaunchTask.objects.create(workspace=workspace, release=release, title="No date")

    tasks = releases.launch_task_list(workspace=workspace, release=release)

    assert [t.is_overdue for t in tasks] == [True, False, False]
    assert releases.launch_task_overdue(tasks) == 1


# --- charts ----------------------------------------------------------------------------------
def test_slippage_chart_steps_through_each_change(workspace, member):
    release = _release(workspace)
    releases.release_update(
        workspace=workspace, actor=member, release=release, target_date=JAN_10, reason="Billing"
    )
    releases.release_update(workspace=workspace, actor=member, release=release, target_date=DEC_1)
    release.refresh_from_db()

    chart = releases.release_slippage_chart(
        release, releases.release_slippage(workspace=workspace, release=release)
    )

    assert chart.first_target == DEC_15
    assert chart.total_slip_days == -14
    assert [(c.before, c.after, c.days, c.is_setback, c.why) for c in chart.changes] == [
        (DEC_15, JAN_10, 26, True, "Billing"),
        (JAN_10, DEC_1, -40, False, ""),
    ]
    assert chart.path.startswith("M")


# --- pages -----------------------------------------------------------------------------------
@pytest.fixture
def full_release(workspace, member, admin):
    release = _release(workspace, description="**Big** <script>alert(1)</script>")
    items = [_item(workspace, f"Item {n}", release=release) for n in range(3)]
    _ship(workspace, items[0])
    releases.launch_task_create(
        workspace=workspace,
        actor=member,
        release=release,
        title="Write the <b>blog</b>",
        team="marketing",
        owner_id=admin.id,
        due_date=timezone.localdate() - datetime.timedelta(days=2),
    )
    releases.release_update(
        workspace=workspace, actor=member, release=release, target_date=JAN_10, reason="Billing"
    )
    return release


@pytest.mark.parametrize("role_case", ["admin", "member", "viewer"])
def test_release_page_for_each_role(
    workspace, admin, member, viewer, login, full_release, role_case
):
    user = {"admin": admin, "member": member, "viewer": viewer}[role_case]

    response = login(user).get(
        _url(workspace, "roadmap:release-detail", release_id=full_release.id)
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "<strong>Big</strong>" in html
    assert "<script>alert(1)" not in html
    assert "Write the &lt;b&gt;blog&lt;/b&gt;" in html
    assert "Slipped 26 days" in html
    assert "Billing" in html
    assert "launch-overdue" in html
    assert "1 of 3 shipped" in html
    can_edit = role_case != "viewer"
    assert ("data-release-edit" in html) is can_edit
    assert ("release-task-toggle" in html or "/toggle/" in html) is can_edit
    assert ('name="item_id"' in html or "Add items" in html) is can_edit


def test_viewer_posts_are_refused(workspace, viewer, login, full_release):
    client = login(viewer)
    task = LaunchTask.objects.for_workspace(workspace).get()
    posts = [
        _url(workspace, "roadmap:release-new"),
        _url(workspace, "roadmap:release-edit", release_id=full_release.id),
        _url(workspace, "roadmap:release-status", release_id=full_release.id),
        _url(workspace, "roadmap:release-delete", release_id=full_release.id),
        _url(workspace, "roadmap:release-item-add", release_id=full_release.id),
        _url(workspace, "roadmap:release-task-new", release_id=full_release.id),
        _url(
            workspace,
            "roadmap:release-task-toggle",
            release_id=full_release.id,
            launch_task_id=task.id,
        ),
    ]
    for url in posts:
        assert (
            client.post(url, {"name": "X", "status": "released", "title": "T"}).status_code == 403
        )
    task.refresh_from_db()
    full_release.refresh_from_db()
    assert (task.is_done, full_release.status) == (False, "planned")
    assert Release.objects.for_workspace(workspace).count() == 1


def test_create_edit_and_conflict_through_the_pages(workspace, member, login):
    client = login(member)
    response = client.post(
        _url(workspace, "roadmap:release-new"),
        {"name": "Spring", "target_date": "2027-03-01", "status": "planned", "description": ""},
    )
    release = Release.objects.for_workspace(workspace).get()
    assert response.status_code == 302
    assert response["Location"] == _url(workspace, "roadmap:release-detail", release_id=release.id)

    duplicate = client.post(
        _url(workspace, "roadmap:release-new"), {"name": "SPRING", "status": "planned"}
    )
    assert duplicate.status_code == 400
    assert "exists" in duplicate.content.decode()

    edit_url = _url(workspace, "roadmap:release-edit", release_id=release.id)
    page = client.get(edit_url).content.decode()
    assert 'data-saved-date="2027-03-01"' in page
    assert "Delete “Spring”" in page
    form = {"name": "Spring", "target_date": "2027-04-01", "status": "planned", "version": 1}
    slip = client.post(edit_url, form)
    assert slip.status_code == 400
    assert "slips" in slip.content.decode()

    saved = client.post(edit_url, {**form, "reason": "Design review"})
    assert saved.status_code == 302
    stale = client.post(edit_url, {**form, "name": "Mine", "target_date": "2027-03-01"})
    assert stale.status_code == 409
    html = stale.content.decode()
    assert "Someone changed this release" in html
    assert 'value="Mine"' in html
    release.refresh_from_db()
    assert (release.name, release.target_date) == ("Spring", datetime.date(2027, 4, 1))


def test_toggle_with_htmx_returns_the_checklist_and_without_js_redirects(
    workspace, member, login, full_release
):
    client = login(member)
    task = LaunchTask.objects.for_workspace(workspace).get()
    url = _url(
        workspace, "roadmap:release-task-toggle", release_id=full_release.id, launch_task_id=task.id
    )

    partial = client.post(url, {"is_done": "1"}, HTTP_HX_REQUEST="true")
    plain = client.post(url, {"is_done": "1"})

    assert partial.status_code == 200
    assert 'id="launch-checklist"' in partial.content.decode()
    assert "<html" not in partial.content.decode()
    assert "1/1 launch tasks done" in partial.content.decode()
    assert 'aria-checked="true"' in partial.content.decode()
    assert plain.status_code == 302
    assert plain["Location"].endswith("#launch")
    task.refresh_from_db()
    assert task.is_done is True


def test_add_and_remove_items_through_the_page(workspace, member, login, full_release):
    client = login(member)
    item = _item(workspace, "Dark mode")
    detail = _url(workspace, "roadmap:release-detail", release_id=full_release.id)

    options = client.get(detail, {"find": "Dark"}, HTTP_HX_REQUEST="true")
    assert "Dark mode" in options.content.decode()
    assert "<html" not in options.content.decode()
    no_js = client.get(detail, {"find": "Dark"})
    assert f'value="{item.id}"' in no_js.content.decode()

    added = client.post(
        _url(workspace, "roadmap:release-item-add", release_id=full_release.id),
        {"item_id": item.id},
    )
    assert added.status_code == 302
    assert ItemSchedule.objects.for_workspace(workspace).get(item=item).release == full_release
    missing = client.post(
        _url(workspace, "roadmap:release-item-add", release_id=full_release.id), {"item_id": "x"}
    )
    assert missing.status_code == 400

    remove = _url(
        workspace, "roadmap:release-item-remove", release_id=full_release.id, item_id=item.id
    )
    client.post(remove, {"reason": ""})
    assert ItemSchedule.objects.for_workspace(workspace).get(item=item).release == full_release
    client.post(remove, {"reason": "Not ready"})
    assert ItemSchedule.objects.for_workspace(workspace).get(item=item).release is None


def test_task_form_errors_and_edit(workspace, member, login, full_release, outsider):
    client = login(member)
    bad = client.post(
        _url(workspace, "roadmap:release-task-new", release_id=full_release.id),
        {"title": "", "team": "marketing"},
    )
    assert bad.status_code == 400
    foreign_owner = client.post(
        _url(workspace, "roadmap:release-task-new", release_id=full_release.id),
        {"title": "Docs", "team": "docs", "owner": outsider.id},
    )
    assert foreign_owner.status_code == 400
    task = LaunchTask.objects.for_workspace(workspace).get()
    edit = _url(
        workspace, "roadmap:release-task-edit", release_id=full_release.id, launch_task_id=task.id
    )
    assert client.get(edit).status_code == 200
    saved = client.post(edit, {"title": "Launch blog", "team": "marketing", "due_date": ""})
    assert saved.status_code == 302
    task.refresh_from_db()
    assert (task.title, task.due_date, task.owner_id) == ("Launch blog", None, None)


def test_empty_states(workspace, member, viewer, login):
    assert "Group what ships together" in login(member).get(_url(workspace)).content.decode()
    viewer_html = login(viewer).get(_url(workspace)).content.decode()
    assert "Group what ships together" in viewer_html
    assert "New release" not in viewer_html
    release = _release(workspace, target_date=None)
    html = login(member).get(_url(workspace, "roadmap:release-detail", release_id=release.id))
    html = html.content.decode()
    assert "No items in this release yet" in html
    assert "No launch tasks yet" in html
    assert "No target date yet" in html


def test_a_release_of_another_workspace_is_404(workspace, other_workspace, member, login):
    foreign = _release(other_workspace)

    response = login(member).get(_url(workspace, "roadmap:release-detail", release_id=foreign.id))

    assert response.status_code == 404


# --- query counts ----------------------------------------------------------------------------
def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _grow(workspace, release, n):
    for k in range(n):
        item = _item(workspace, f"More {release.id}-{k}", release=release)
        if k % 2:
            _ship(workspace, item)
        LaunchTask.objects.create(
            workspace=workspace, release=release, title=f"Task {k}", due_date=DEC_1
        )


def test_release_page_queries_do_not_grow(workspace, member, login, full_release):
    client = login(member)
    url = _url(workspace, "roadmap:release-detail", release_id=full_release.id)
    client.get(url)  # the session's first-visit writes

    before = _queries(client, url)
    _grow(workspace, full_release, 8)
    after = _queries(client, url)

    # session + user + membership, the release with its counts, items, date changes, ship times,
    # the checklist, the members for the task owner picker (plus messages/savepoints, fixed).
    assert after == before
    assert after <= 12


def test_release_list_queries_do_not_grow(workspace, member, login):
    client = login(member)
    _release(workspace, "One")
    client.get(_url(workspace))
    before = _queries(client, _url(workspace))
    for n in range(6):
        _grow(workspace, _release(workspace, f"R{n}"), 2)
    after = _queries(client, _url(workspace))

    # session + user + membership, then the releases with their four counts in one statement.
    assert after == before
    assert after <= 5


def test_item_statuses_in_table_order():
    assert releases.ITEM_STATUS_ORDER[0] == Item.Status.IN_PROGRESS
