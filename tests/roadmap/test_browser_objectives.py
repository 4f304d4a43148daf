"""A PM records a key result's value on the objective page and watches the chart redraw, uploads
a CSV of past values, and links an item by search, in Chromium."""

from __future__ import annotations

import datetime

import pytest
from playwright.sync_api import Page, expect

from backlog import services as backlog
from discovery import services as discovery
from pmhub.workspaces.roles import Role
from roadmap import objectives as okr
from roadmap.models import KeyResult, KeyResultItem
from tests.backlog.browser_support import log_in, shoot
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def okrs():
    """An editor's objective for the quarter: a rising and a falling key result with history,
    and backlog items with evidence."""
    workspace = WorkspaceFactory(name="Acme", slug="acme")
    user = UserFactory(email="pm@acme.test", name="Pat Manager")
    MembershipFactory(user=user, workspace=workspace, role=Role.EDITOR)
    today = datetime.datetime.now(tz=datetime.UTC).date()
    objective = okr.objective_create(
        workspace=workspace,
        actor=user,
        title="Win the enterprise",
        description="Large accounts churn over **SSO and audit**. Fix what they ask for most.",
        owner_id=user.id,
        period="This quarter",
        start_date=today - datetime.timedelta(days=60),
        end_date=today + datetime.timedelta(days=30),
    )
    arr = okr.key_result_create(
        workspace=workspace,
        actor=user,
        objective=objective,
        metric="Enterprise ARR",
        unit="$",
        baseline=1_000_000,
        target=2_000_000,
    )
    churn = okr.key_result_create(
        workspace=workspace,
        actor=user,
        objective=objective,
        metric="Monthly logo churn",
        unit="%",
        baseline=6,
        target=3,
    )
    for weeks, (arr_value, churn_value) in enumerate(
        [(1_000_000, 6), (1_080_000, 5.8), (1_150_000, 5.1), (1_230_000, 4.9), (1_310_000, 4.6)]
    ):
        when = datetime.datetime.combine(
            today - datetime.timedelta(days=56 - weeks * 10), datetime.time(9), tzinfo=datetime.UTC
        )
        for kr, value in ((arr, arr_value), (churn, churn_value)):
            okr.key_result_value_record(
                workspace=workspace, actor=user, key_result=kr, value=value, measured_at=when
            )
    sso = backlog.item_create(workspace=workspace, actor=user, title="SSO with Okta")
    insight = discovery.insight_create(
        workspace=workspace, actor=user, title="Enterprise buyers require SSO"
    )
    backlog.item_link_evidence(workspace=workspace, actor=user, item=sso, insight_id=insight.id)
    okr.key_result_item_link(workspace=workspace, actor=user, key_result=arr, item_id=sso.id)
    backlog.item_create(workspace=workspace, actor=user, title="Audit log export")
    return {"workspace": workspace, "objective": objective, "arr": arr, "churn": churn}


def test_pm_records_a_value_and_the_chart_updates(
    live_server, page: Page, okrs, screenshots, tmp_path
):
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    base = live_server.url
    arr = okrs["arr"]
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, base)
    page.goto(f"{base}/w/acme/roadmap/objectives/")
    expect(page.get_by_role("link", name="Win the enterprise")).to_be_visible()
    shoot(page, screenshots, "roadmap-objectives")

    page.get_by_role("link", name="Win the enterprise").click()
    card = page.locator(f"#kr-{arr.id}")
    expect(card.locator("[data-current]")).to_have_text("$1.31M")
    expect(card.locator("circle")).to_have_count(5)
    expect(card.locator("[data-latest-value]")).to_have_text("$1.31M")
    shoot(page, screenshots, "roadmap-objective")

    # By hand, through htmx: the chart gains a dot and the latest label without a reload.
    page.evaluate("window.__stayed = true")
    card.get_by_label("Value", exact=True).fill("1450000")
    card.locator("input[name$='-note']").fill("Globex signed")
    card.get_by_role("button", name="Record").click()
    card = page.locator(f"#kr-{arr.id}")
    expect(card.locator("circle")).to_have_count(6)
    expect(card.locator("[data-latest-value]")).to_have_text("$1.45M")
    expect(card.locator("[data-current]")).to_have_text("$1.45M")
    expect(
        page.locator(".toast").filter(has_text="Enterprise ARR: $1,450,000 recorded.")
    ).to_be_visible()
    assert page.evaluate("window.__stayed === true")
    expect(card.get_by_label("Value", exact=True)).to_be_focused()
    arr.refresh_from_db()
    assert arr.current == 1_450_000
    shoot(page, screenshots, "roadmap-objective-recorded")

    # A bad number is refused in place and nothing is recorded.
    card.get_by_label("Value", exact=True).fill("")
    card.get_by_role("button", name="Record").click()
    expect(page.locator(f"#kr-{arr.id} .errorlist")).to_contain_text("This field is required.")
    assert KeyResult.objects.for_workspace(okrs["workspace"]).get(id=arr.id).current == 1_450_000

    # A CSV of older values joins the history; the current value stays the newest.
    csv_file = tmp_path / "arr.csv"
    start = okrs["objective"].start_date
    day_two = start + datetime.timedelta(days=1)
    csv_file.write_text(f"date,value,note\n{start},990000,quarter start\n{day_two},995000\n")
    card = page.locator(f"#kr-{arr.id}")
    card.get_by_text("Upload a CSV of past values").click()
    card.get_by_label("CSV file").set_input_files(str(csv_file))
    card.get_by_role("button", name="Import").click()
    card = page.locator(f"#kr-{arr.id}")
    expect(card.locator("circle")).to_have_count(8)
    expect(card.locator("[data-current]")).to_have_text("$1.45M")
    expect(page.locator(".toast").first).to_contain_text("2 added, 0 updated, 0 unchanged")

    # Link an item by search, with the keyboard.
    find = page.get_by_label("Search backlog items")
    find.fill("audit")
    expect(page.locator("#objective-item-options input[type=radio]")).to_have_count(1)
    find.press("Enter")
    page.get_by_label("Key result it should move").select_option(label="Monthly logo churn")
    page.get_by_role("button", name="Link item").click()
    serving = page.locator("#serving")
    expect(serving.get_by_role("link", name="Audit log export")).to_be_visible()
    expect(serving.get_by_role("link", name="Enterprise buyers require SSO")).to_be_visible()
    assert KeyResultItem.objects.for_workspace(okrs["workspace"]).count() == 2
    shoot(page, screenshots, "roadmap-objective-linked")
    assert errors == []
