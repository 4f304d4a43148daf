"""A stakeholder opens their digest's web version and its unsubscribe link in Chromium, on a
phone and a desktop, in light and dark; the email's HTML itself, with every kind of entry and
stored XSS in every field, stays inert there."""

from __future__ import annotations

import datetime

import pytest
from playwright.sync_api import Page, expect

from pmhub.digests.content import DigestRequest, Section, digests_build
from pmhub.digests.models import Stakeholder
from pmhub.digests.render import digest_html
from tests.backlog.browser_support import shoot
from tests.digests.test_content import _changes, _stakeholder, world  # noqa: F401 - fixture
from tests.digests.test_render import XSS, XSS_REASON, entry, make_digest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
KINDS = (
    ("shipped", "CSV export for every view", "Shipped in 4.12", ""),
    ("moved", "Single sign-on with Okta", "Next → Later", "Blocked on the **vendor** API; "
     "we pick it up once [their v2](https://okta.test/v2) is out."),
    ("slipped", "Usage-based billing", "Due Dec 1 → Jan 15", "QA found a rounding issue."),
    ("declined", "On-premise install", "Declined", "Not in our strategy for 2027."),
    ("scheduled", "Audit log export", "In Winter 2026", ""),
    ("insight", "Exports time out on large workspaces", "14 customers · $320k ARR", ""),
    ("document", "PRD: Billing v2", "Approved", ""),
    ("release_notes", "Winter 2026 release notes", "Published", ""),
    ("key_result", "Weekly active teams", "62 → 71 of 80 %", ""),
)  # fmt: skip


@pytest.fixture
def errors(page: Page) -> list[str]:
    found: list[str] = []
    page.on("console", lambda msg: found.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: found.append(str(exc)))
    page.on("dialog", lambda dialog: (found.append(f"dialog {dialog.message}"), dialog.dismiss()))
    return found


def now_and_a_second() -> datetime.datetime:
    """Windows are whole seconds: this one holds what changed in the current second."""
    return datetime.datetime.now(tz=datetime.UTC) + datetime.timedelta(seconds=1)


def full_digest(workspace, stakeholder):
    entries = tuple(
        entry(
            number, kind=kind, title=title, detail=detail, reason=reason,
            companies=("Acme Corp", "Globex Industries") if kind in ("shipped", "moved") else (),
        )
        for number, (kind, title, detail, reason) in enumerate(KINDS, start=1)
    )  # fmt: skip
    return make_digest(
        workspace, stakeholder,
        sections=(
            Section("accounts", "For your accounts", entries[:2]),
            Section("roadmap", "Roadmap changes", entries[2:5]),
            Section("insights", "New insights", entries[5:6]),
            Section("documents", "Documents and release notes", entries[6:8]),
            Section("key_results", "Key results", entries[8:]),
        ),
        headline="For your accounts: 1 request shipped, 1 moved from Next to Later",
    )  # fmt: skip


def test_web_version_and_unsubscribe_in_the_browser(
    live_server,
    page: Page,
    settings,
    workspace,
    world,  # noqa: F811
    screenshots,
    errors,
):
    settings.PMHUB_BASE_URL = live_server.url
    _changes(workspace, world)
    reader = _stakeholder(workspace, "ann@acme.test", company=world["acme"], owns=True)
    (digest,) = digests_build(
        workspace,
        [DigestRequest(reader, world["start"], now_and_a_second())],
    )
    page.set_viewport_size(PHONE)
    page.goto(digest.web_url)
    expect(page.get_by_role("heading", level=1)).to_have_text(digest.headline)
    expect(page.locator("#entry-1")).to_contain_text("SSO")
    expect(page.locator("#entry-1")).to_contain_text("Asked for by: Acme")
    # Nothing wider than the phone: no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shoot(page, screenshots, "digest-web-phone")
    page.set_viewport_size({"width": 1280, "height": 900})
    shoot(page, screenshots, "digest-web-desktop")

    # The footer's unsubscribe link: the page asks; the button does it.
    page.set_viewport_size(PHONE)
    page.get_by_role("link", name="Unsubscribe").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Stop the Acme digest?")
    reader.refresh_from_db()
    assert reader.status == Stakeholder.Status.ACTIVE
    shoot(page, screenshots, "digest-unsubscribe-confirm-phone")
    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("You are unsubscribed")
    reader.refresh_from_db()
    assert reader.status == Stakeholder.Status.UNSUBSCRIBED
    shoot(page, screenshots, "digest-unsubscribe-done-phone")

    assert errors == []

    page.goto(f"{live_server.url}/digest/unsubscribe/nonsense/")
    expect(page.get_by_role("heading", level=1)).to_have_text("This link does not work")
    shoot(page, screenshots, "digest-bad-link-phone")


def test_every_kind_of_entry_in_light_and_dark(page: Page, workspace, screenshots, errors):
    stakeholder = _stakeholder(workspace, "dana@client.test")
    page.set_viewport_size(PHONE)
    page.set_content(digest_html(full_digest(workspace, stakeholder)))

    for number in range(1, len(KINDS) + 1):
        expect(page.locator(f"#entry-{number}")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    light_card = page.locator(".d-card").evaluate("el => getComputedStyle(el).backgroundColor")
    page.emulate_media(color_scheme="dark")
    dark_card = page.locator(".d-card").evaluate("el => getComputedStyle(el).backgroundColor")
    assert (light_card, dark_card) == ("rgb(255, 255, 255)", "rgb(28, 28, 33)")
    page.emulate_media(color_scheme="light")
    shoot(page, screenshots, "digest-email-phone")
    page.set_viewport_size({"width": 1280, "height": 900})
    shoot(page, screenshots, "digest-email-desktop")
    assert errors == []


@pytest.mark.parametrize("payload", XSS)
def test_stored_xss_stays_inert(page: Page, workspace, errors, payload):
    stakeholder = _stakeholder(workspace, "dana@client.test")
    digest = make_digest(
        workspace, stakeholder,
        sections=(Section(f"s {payload}", f"Section {payload}", (
            entry(1, title=payload, detail=payload, companies=(payload,),
                  reason=f"{payload}\n\n{XSS_REASON}", anchor=payload),
            entry(2, url=payload),
        )),),
        workspace_name=payload, headline=payload, name=payload,
    )  # fmt: skip

    page.set_content(digest_html(digest))
    page.wait_for_timeout(200)

    assert page.locator("script, img, iframe, svg, object, embed").count() == 0
    assert page.locator("h1").inner_text() == payload
    page.locator("a").evaluate_all(
        "links => links.forEach(a => a.dispatchEvent(new MouseEvent('mouseover')))"
    )
    assert errors == []
