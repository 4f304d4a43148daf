"""A PM scores an item with RICE and reads why, then tries a formula out before saving, in
Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from backlog import scoring, services
from pmhub.workspaces.roles import Role
from tests.backlog.browser_support import log_in, shoot
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def desk():
    """Three items; two have RICE inputs, "SSO with Okta" has none yet."""
    workspace = WorkspaceFactory(name="Acme", slug="acme")
    user = UserFactory(email="pm@acme.test", name="Pat Manager")
    MembershipFactory(user=user, workspace=workspace, role=Role.EDITOR)
    scoring.scoring_defaults_ensure(workspace=workspace)
    items = {
        title: services.item_create(workspace=workspace, actor=None, title=title)
        for title in ("Scheduled CSV exports", "Audit log export", "SSO with Okta")
    }
    for title, reach, effort in (("Scheduled CSV exports", 200, 4), ("Audit log export", 50, 0.5)):
        scoring.item_inputs_set(
            workspace=workspace,
            actor=None,
            item=items[title],
            values={
                "rice.reach": reach,
                "rice.impact": 1,
                "rice.confidence": 0.8,
                "rice.effort": effort,
            },
        )
    return workspace, items


def test_pm_sets_rice_inputs_and_reads_the_explanation(
    live_server, page: Page, desk, screenshots, console_errors
):
    _workspace, items = desk
    base = live_server.url
    page.set_viewport_size({"width": 1280, "height": 1400})
    log_in(page, base)
    page.goto(f"{base}/w/acme/backlog/items/{items['SSO with Okta'].id}/")
    rice = page.locator("[data-score-formula='RICE']")
    expect(rice.locator("[data-score-value]")).to_contain_text("unknown")

    page.get_by_text("Set scoring inputs").click()
    group = page.locator("fieldset", has_text="RICE")
    group.get_by_label("Reach").fill("900")
    group.get_by_label("Impact").select_option(label="High")
    group.get_by_label("Confidence").select_option(label="100% (high)")
    group.get_by_label("Effort").fill("3")
    page.get_by_role("button", name="Save inputs").click()

    expect(rice.locator("[data-score-value]")).to_have_text("600")
    expect(rice.locator("[data-score-position]")).to_have_text("1st")
    rice.locator("summary").click()
    explain = rice.locator("[data-explain]")
    expect(explain).to_contain_text("reach * impact * confidence / effort")
    expect(explain.locator("tbody tr")).to_have_count(4)
    expect(explain).to_contain_text("moved from unranked to 1st")
    shoot(page, screenshots, "scoring-item")
    assert console_errors == []


def test_pm_edits_a_formula_and_sees_the_what_if(
    live_server, page: Page, desk, screenshots, console_errors
):
    workspace, _items = desk
    base = live_server.url
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, base)
    page.goto(f"{base}/w/acme/backlog/scoring/")
    expect(page.locator("[data-formula]")).to_have_count(4)
    shoot(page, screenshots, "scoring-settings")

    page.locator("[data-formula='RICE']").get_by_role("link", name="Edit").click()
    rows = page.locator("[data-what-if-row]")
    expect(rows.first).to_contain_text("Audit log export")
    page.wait_for_function(
        "() => Boolean(document.querySelector('#formula-source')['htmx-internal-data'])"
    )
    page.get_by_label("Formula").fill("reach")
    expect(rows.first).to_contain_text("Scheduled CSV exports")
    expect(rows.first).to_contain_text("▲ 1")
    expect(rows.nth(1)).to_contain_text("▼ 1")
    shoot(page, screenshots, "scoring-what-if")

    page.get_by_label("Formula").fill("reach *")
    expect(page.locator("[data-what-if-error]")).to_contain_text("column")
    assert console_errors == []
    page.get_by_role("button", name="Save").click()
    expect(page.locator("[data-source-error]")).to_contain_text("column")
    assert (
        scoring.formula_get(
            workspace=workspace,
            formula_id=scoring.ScoringFormula.objects.for_workspace(workspace)
            .get(framework="rice")
            .id,
        ).source
        == "reach * impact * confidence / effort"
    )
    # The refused save answers 400, which the browser logs; nothing else went wrong.
    assert [e for e in console_errors if "400 (Bad Request)" not in e] == []
