"""A PM opens a release page (progress, slippage, items, launch checklist) and ticks a launch
task off with the keyboard, in Chromium."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from backlog import services as backlog
from pmhub.workspaces.roles import Role
from roadmap import releases
from roadmap.models import LaunchTask, Release, RoadmapEvent
from roadmap.services import item_schedule_set
from tests.backlog.browser_support import log_in, shoot
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ITEMS = [
    ("SSO with Okta", "in_progress"),
    ("Audit log export", "planned"),
    ("Scheduled CSV exports", "planned"),
    ("Public changelog", "shipped"),
    ("Faster dashboard loading", "shipped"),
]


def _backdate(release, today):
    """As if the release was planned a month ago, slipped twice since, and shipped along."""
    ago = lambda days: timezone.now() - datetime.timedelta(days=days)  # noqa: E731
    workspace = release.workspace
    Release.objects.for_workspace(workspace).filter(id=release.id).update(created_at=ago(30))
    redated = RoadmapEvent.objects.for_workspace(workspace).filter(
        release=release, kind=RoadmapEvent.Kind.RELEASE_REDATED
    )
    for days, event in zip((18, 6), redated.order_by("id"), strict=True):
        RoadmapEvent.objects.for_workspace(workspace).filter(id=event.id).update(
            created_at=ago(days)
        )
    shipped = RoadmapEvent.objects.for_workspace(workspace).filter(kind=RoadmapEvent.Kind.SHIPPED)
    for days, event in zip((21, 9), shipped.order_by("id"), strict=True):
        RoadmapEvent.objects.for_workspace(workspace).filter(id=event.id).update(
            created_at=ago(days)
        )


@pytest.fixture
def release():
    """An editor's release: items in several statuses, a date that slipped twice, and a launch
    checklist for three teams, one task overdue."""
    workspace = WorkspaceFactory(name="Acme", slug="acme")
    user = UserFactory(email="pm@acme.test", name="Pat Manager")
    MembershipFactory(user=user, workspace=workspace, role=Role.EDITOR)
    writer = UserFactory(email="wen@acme.test", name="Wen Writer")
    MembershipFactory(user=writer, workspace=workspace, role=Role.EDITOR)
    today = timezone.localdate()
    release = releases.release_create(
        workspace=workspace,
        actor=user,
        name="Enterprise launch",
        target_date=today + datetime.timedelta(days=20),
        status="in_progress",
        description="SSO, audit logs and exports: **what enterprise buyers ask for first**.",
    )
    for title, status in ITEMS:
        item = backlog.item_create(workspace=workspace, actor=user, title=title)
        item_schedule_set(workspace=workspace, actor=user, item=item, release_id=release.id)
        if status != "new":
            backlog.item_set_status(workspace=workspace, actor=user, item=item, status=status)
    for days, reason in ((34, "Okta certification takes two more weeks"), (41, "Security review")):
        releases.release_update(
            workspace=workspace,
            actor=user,
            release=release,
            target_date=today + datetime.timedelta(days=days),
            reason=reason,
        )
    _backdate(release, today)
    for title, team, owner, due in (
        ("Announcement blog post", "marketing", writer, 30),
        ("Launch email to admins", "marketing", user, 38),
        ("Enterprise pitch deck", "sales", user, -2),
        ("Help centre: SSO setup", "docs", writer, 35),
    ):
        releases.launch_task_create(
            workspace=workspace,
            actor=user,
            release=release,
            title=title,
            team=team,
            owner_id=owner.id,
            due_date=today + datetime.timedelta(days=due),
        )
    return release


def test_pm_reads_a_release_and_ticks_a_launch_task_off(
    live_server, page: Page, release, screenshots, console_errors
):
    base = live_server.url
    log_in(page, base)
    page.goto(f"{base}/w/acme/roadmap/releases/{release.id}/")

    expect(page.get_by_role("heading", name="Enterprise launch")).to_be_visible()
    expect(page.get_by_text("Slipped 21 days")).to_be_visible()
    expect(page.get_by_text("2 of 5 items shipped", exact=True)).to_be_visible()
    expect(page.locator(".release-changes__why").first).to_contain_text("Okta certification")
    expect(page.locator(".launch-task.is-overdue")).to_have_count(1)
    shoot(page, screenshots, "release-page")

    toggle = page.get_by_role("checkbox", name="Announcement blog post: done")
    expect(toggle).to_have_attribute("aria-checked", "false")
    toggle.focus()
    page.keyboard.press("Enter")
    toggled = page.get_by_role("checkbox", name="Announcement blog post: done")
    expect(toggled).to_have_attribute("aria-checked", "true")
    expect(toggled).to_be_focused()
    expect(page.get_by_text("1 of 4 done")).to_be_visible()
    expect(page.locator("#release-tasks-done")).to_have_text("1/4 launch tasks done")
    task = LaunchTask.objects.for_workspace(release.workspace).get(title="Announcement blog post")
    assert task.is_done is True
    assert task.done_at is not None
    page.locator("#launch").scroll_into_view_if_needed()
    shoot(page, screenshots, "release-checklist-toggled")

    page.goto(f"{base}/w/acme/roadmap/releases/")
    expect(page.get_by_role("link", name="Enterprise launch")).to_be_visible()
    shoot(page, screenshots, "release-list")
    assert console_errors == []
