"""Stakeholder digests in Chromium: a PM adds a stakeholder, has them follow an area, opens the
preview (the frame shows the digest as it will be sent), reads its plain text and sends a test
to themself, which a real worker delivers over SMTP. Screenshots of each page in both themes."""

from __future__ import annotations

import datetime

import pytest
from django.db.models import F
from playwright.sync_api import Page, expect

from backlog import services as backlog
from pmhub.digests import services
from pmhub.digests.models import Delivery, Follow, Stakeholder
from pmhub.workspaces.roles import Role
from roadmap.models import RoadmapEvent
from tests.digests.test_sender import subject_of
from tests.docs.test_browser_review import _log_in, _shoot
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def acme():
    """Acme, its PM, and an item of the Payments area shipped just now."""
    workspace = WorkspaceFactory(name="Acme", slug="acme")
    pm = UserFactory(email="pm@acme.test", name="Pat Manager")
    MembershipFactory(user=pm, workspace=workspace, role=Role.ADMIN)
    payments = backlog.product_area_create(workspace=workspace, actor=None, name="Payments")
    backlog.product_area_create(workspace=workspace, actor=None, name="Reporting")
    item = backlog.item_create(
        workspace=workspace, actor=None, title="Saved cards at checkout", area_id=payments.id
    )
    backlog.item_set_status(workspace=workspace, actor=None, item=item, status="shipped")
    # Digest windows are whole seconds and end "now": the ship is made a minute old.
    RoadmapEvent.objects.for_workspace(workspace).update(
        created_at=F("created_at") - datetime.timedelta(minutes=1)
    )
    return workspace


def test_add_a_stakeholder_follow_an_area_preview_and_send_a_test(
    live_server, page: Page, acme, screenshots, console_errors, celery_worker, worker_smtp
):
    worker_smtp.messages.clear()
    base = live_server.url
    page.set_viewport_size({"width": 1360, "height": 900})
    _log_in(page, base, "pm@acme.test")

    # The sidebar leads to the stakeholders; the empty page says what they are.
    page.goto(f"{base}/w/acme/docs/")
    page.get_by_role("link", name="Stakeholders", exact=True).click()
    expect(page.get_by_role("heading", name="Keep stakeholders in the loop")).to_be_visible()
    _shoot(page, screenshots, "digests-empty")

    page.locator(".empty").get_by_role("link", name="Add a stakeholder").click()
    page.get_by_label("Email").fill("dana@client.test")
    page.get_by_label("Name").fill("Dana Ruiz")
    page.get_by_label("Team").fill("Sales")
    page.get_by_label("Cadence").select_option("daily")
    _shoot(page, screenshots, "digests-new")
    page.get_by_role("button", name="Add stakeholder").click()

    # On their page: follow the Payments area from the picker.
    expect(page.get_by_role("heading", name="Dana Ruiz")).to_be_visible()
    expect(page.locator(".toast")).to_contain_text("Dana Ruiz added")
    page.locator(".choice-card", has_text="Payments").click()
    page.get_by_role("button", name="Follow", exact=True).click()
    expect(page.locator(".follow-list")).to_contain_text("Payments")
    stakeholder = Stakeholder.objects.get(email="dana@client.test")
    assert list(
        Follow.objects.filter(stakeholder=stakeholder).values_list("area__name", flat=True)
    ) == ["Payments"]
    # The picker's search finds by name without a reload (htmx).
    page.get_by_label("Search areas, roadmaps, items and companies").fill("Repo")
    expect(page.locator("#follow-options .choice-card")).to_have_count(1)
    expect(page.locator("#follow-options")).to_contain_text("Reporting")
    page.locator("#main").evaluate("main => main.scrollTo(0, 0)")
    _shoot(page, screenshots, "digests-stakeholder")

    # The preview: the digest in its frame, as it will be sent.
    page.get_by_role("link", name="Preview next digest").click()
    frame = page.frame_locator("iframe.preview__frame")
    expect(frame.get_by_text("Saved cards at checkout").first).to_be_visible()
    expect(page.locator(".preview__envelope")).to_contain_text("dana@client.test")
    _shoot(page, screenshots, "digests-preview")
    page.get_by_role("link", name="Plain text").click()
    expect(page.locator(".preview__text")).to_contain_text("Saved cards at checkout")
    _shoot(page, screenshots, "digests-preview-text")

    page.get_by_role("button", name="Send a test to me").click()
    expect(page.locator(".toast")).to_contain_text("on its way to pm@acme.test")
    (message,) = worker_smtp.wait_for(1)
    assert message["To"] == "pm@acme.test", celery_worker.log.read_text()
    assert subject_of(message)
    test_send = Delivery.objects.get(stakeholder=stakeholder)
    assert test_send.period.startswith("test-")
    assert test_send.status == "sent"

    # The list and the send log show it.
    page.goto(f"{base}/w/acme/digests/")
    row = page.locator(".stakeholder-table tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Area: Payments")
    expect(row).to_contain_text("Daily")
    _shoot(page, screenshots, "digests-list")
    page.keyboard.press("j")
    expect(page.locator(".stakeholder-cell__name")).to_be_focused()
    page.goto(f"{base}/w/acme/digests/stakeholders/{stakeholder.id}/#log")
    expect(page.locator(".log-table")).to_contain_text("Test")
    page.locator("#log").scroll_into_view_if_needed()
    _shoot(page, screenshots, "digests-stakeholder-log")
    # A tablet: the side panel goes under the follows and the log.
    page.set_viewport_size({"width": 820, "height": 1100})
    page.goto(f"{base}/w/acme/digests/stakeholders/{stakeholder.id}/")
    expect(page.locator(".stakeholder__side")).to_be_visible()
    _shoot(page, screenshots, "digests-stakeholder-tablet")
    page.goto(f"{base}/w/acme/digests/")
    _shoot(page, screenshots, "digests-list-tablet")
    assert console_errors == []


def test_send_log_settings_and_import_pages(
    live_server, page: Page, acme, screenshots, console_errors
):
    from django.utils import timezone

    now = timezone.now()
    people = [
        services.stakeholder_create(workspace=acme, email=f"p{i}@client.test", name=f"P {i}")
        for i in range(5)
    ]
    statuses = ["sent", "sent", "sent", "failed", "empty"]
    for person, status in zip(people, statuses, strict=True):
        Delivery.objects.create(
            workspace=acme, stakeholder=person, period="2026-W47", due_at=now, covers_until=now,
            status=status, sent_at=now if status == "sent" else None, attempts=1,
            error="550 5.1.1 mailbox unavailable" if status == "failed" else "",
        )  # fmt: skip
    base = live_server.url
    page.set_viewport_size({"width": 1360, "height": 900})
    _log_in(page, base, "pm@acme.test")

    page.goto(f"{base}/w/acme/digests/runs/")
    expect(page.locator(".run-table")).to_contain_text("2026-W47")
    expect(page.locator(".run-bar rect")).to_have_count(3)
    _shoot(page, screenshots, "digests-runs")
    page.get_by_role("link", name="2026-W47").click()
    expect(page.locator(".run-deliveries tbody tr")).to_have_count(5)
    _shoot(page, screenshots, "digests-run")

    page.goto(f"{base}/w/acme/digests/settings/")
    page.get_by_label("Sender name").fill("Acme product team")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".toast")).to_contain_text("Digest settings saved")
    _shoot(page, screenshots, "digests-settings")

    page.goto(f"{base}/w/acme/digests/stakeholders/import/")
    page.locator("#id_file").set_input_files(
        files=[{
            "name": "people.csv", "mimeType": "text/csv",
            "buffer": b"email,name,follows\nnew@client.test,New,area:Payments\n"
                      b"bad-address,Bad,area:Nowhere\n",
        }]
    )  # fmt: skip
    page.get_by_role("button", name="Check the file").click()
    expect(page.locator(".import-errors")).to_contain_text("No area “Nowhere”")
    _shoot(page, screenshots, "digests-import-errors")
    # The page answered 400 on purpose (a refused file); Chromium logs that as an error.
    assert console_errors == [
        "Failed to load resource: the server responded with a status of 400 (Bad Request)"
    ]
    console_errors.clear()
    page.locator("#id_file").set_input_files(
        files=[{
            "name": "people.csv", "mimeType": "text/csv",
            "buffer": b"email,name,team,follows\nnew@client.test,New,Sales,area:Payments\n",
        }]
    )  # fmt: skip
    page.get_by_role("button", name="Check the file").click()
    expect(page.locator(".import-ready")).to_contain_text("every row checks out")
    _shoot(page, screenshots, "digests-import-ready")
    page.get_by_role("button", name="Import 1 row").click()
    expect(page.locator(".toast")).to_contain_text("1 added")
    assert Stakeholder.objects.filter(email="new@client.test", team="Sales").exists()
    assert console_errors == []
