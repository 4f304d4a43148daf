"""Stored XSS in every user-text field outside the docs app (which has its own corpus test,
tests/docs/test_xss_browser.py, whose payloads and checker this file reuses): discovery,
backlog, roadmap and digests fields are written through their services (the one write path),
then the pages showing them are opened in Chromium twice, with the CSP on and with it bypassed
(defence in depth: the escaping alone must hold). On every page no dialog opens,
`window.__pwned` stays undefined, no element carries a handler, a script URL or a frame, and
the titles read back as the text they were.

One browser context per mode, the pages opened one after another in one tab: the whole file
stays well under a minute and a half.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

import pytest
from django.db.models import F
from django.urls import reverse
from playwright.sync_api import Browser, BrowserContext, Page
from playwright.sync_api import Error as PlaywrightError

from backlog import saved_views
from backlog import services as backlog
from backlog.models import Item
from discovery import services as discovery
from pmhub.digests import services as digests
from pmhub.digests.content import DigestRequest, digests_build
from pmhub.workspaces.models import Membership
from pmhub.workspaces.roles import Role
from roadmap import objectives, releases, sharing
from roadmap import services as roadmap
from roadmap.models import RoadmapColumn, RoadmapEvent
from tests.backlog.browser_support import log_in
from tests.docs.test_xss_browser import CORPUS, DOM_CHECK, PAYLOADS, _watch
from tests.factories import MembershipFactory, WorkspaceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Names and titles are one line: the services fold whitespace, and the page must show them whole.
ONE_LINE = [p for p in PAYLOADS if "\n" not in p]
# What Markdown leaves as it is (no code, links, emphasis or entities), for the fields that
# render it, so that the page's text still holds it whole.
PLAIN = [p for p in ONE_LINE if not set(p) & set("`[]*_!&\\")]


def evil(number: int, limit: int) -> str:
    """A payload of the corpus behind a short label that tells the fields apart on a page."""
    return f"x{number} {ONE_LINE[number % len(ONE_LINE)]}"[:limit].strip()


def plain(number: int) -> str:
    """A payload for a Markdown field, read back whole as text."""
    return f"x{number} {PLAIN[number % len(PLAIN)]}"


@dataclass
class World:
    slug: str
    # path -> the texts the page must show, read back as text
    pages: dict[str, list[str]] = field(default_factory=dict)
    # pages showing the digest in a sandboxed frame: path -> the texts the frame must show
    framed: dict[str, list[str]] = field(default_factory=dict)
    # pages for everyone (no login)
    public: dict[str, list[str]] = field(default_factory=dict)

    def url(self, name: str, **kwargs: int) -> str:
        return reverse(name, kwargs={"workspace_slug": self.slug, **kwargs})


def _discovery(world: World, workspace, pm) -> None:
    company, _ = discovery.company_upsert(workspace=workspace, actor=pm, name=evil(1, 200))
    customer, _ = discovery.customer_upsert(
        workspace=workspace, actor=pm, name=evil(2, 200), email="c@client.test", company=company
    )
    feedback = discovery.feedback_create(
        workspace=workspace, actor=pm,
        data=discovery.FeedbackInput(text=f"{plain(3)}\n\n{CORPUS}", customer_id=customer.id),
    )  # fmt: skip
    tag = discovery.tag_create(workspace=workspace, actor=pm, name=evil(4, 60))
    discovery.feedback_tag(workspace=workspace, actor=pm, feedback_ids=[feedback.id], tag_id=tag.id)
    transcript = f"{plain(5)}\n\n{CORPUS}"
    interview = discovery.interview_create(
        workspace=workspace, actor=pm, title=evil(6, 200), transcript=transcript,
        participant_ids=[customer.id],
    )  # fmt: skip
    start = transcript.index("<img")
    highlight = discovery.highlight_create(
        workspace=workspace, actor=pm, interview=interview, start=start, end=start + 40,
        tag_ids=[tag.id],
    )  # fmt: skip
    insight = discovery.insight_create(
        workspace=workspace, actor=pm, title=evil(7, 200), summary=f"{plain(8)}\n\n{CORPUS}"
    )
    discovery.evidence_add(
        workspace=workspace, actor=pm, insight=insight, highlight=highlight, note=evil(9, 500)
    )
    discovery.evidence_add(workspace=workspace, actor=pm, insight=insight, feedback=feedback)
    url = world.url
    world.pages.update({
        url("discovery:index"): [plain(3)],
        url("discovery:feedback-detail", feedback_id=feedback.id): [plain(3), evil(4, 60)],
        url("discovery:company-list"): [evil(1, 200)],
        url("discovery:company-detail", company_id=company.id): [evil(1, 200), evil(2, 200)],
        url("discovery:customer-list"): [evil(2, 200)],
        url("discovery:customer-detail", customer_id=customer.id): [evil(2, 200)],
        url("discovery:tag-list"): [evil(4, 60)],
        url("discovery:tag-detail", tag_id=tag.id): [evil(4, 60)],
        url("discovery:interview-list"): [evil(6, 200)],
        url("discovery:interview-detail", interview_id=interview.id): [evil(6, 200), plain(5)],
        url("discovery:insight-list"): [evil(7, 200)],
        # Its snippets are the one |safe in discovery: escaped, then marked.
        url("discovery:search") + "?q=onerror": [evil(1, 200), evil(6, 200), evil(7, 200)],
        url("discovery:feedback-edit", feedback_id=feedback.id): [plain(3)],
        url("discovery:interview-edit", interview_id=interview.id): [evil(6, 200), plain(5)],
        url("discovery:insight-edit", insight_id=insight.id): [evil(7, 200), plain(8)],
        url("discovery:tag-edit", tag_id=tag.id): [evil(4, 60)],
        url("discovery:company-edit", company_id=company.id): [evil(1, 200)],
        url("discovery:insight-detail", insight_id=insight.id): [
            evil(7, 200), plain(8), evil(9, 500)
        ],
    })  # fmt: skip


def _backlog(world: World, workspace, pm) -> tuple[Item, Item]:
    area = backlog.product_area_create(workspace=workspace, actor=pm, name=evil(10, 80))
    item = backlog.item_create(
        workspace=workspace, actor=pm, title=evil(11, 200), area_id=area.id,
        description=f"{plain(12)}\n\n{CORPUS}",
    )  # fmt: skip
    declined = backlog.item_create(workspace=workspace, actor=pm, title=evil(13, 200))
    backlog.item_set_status(
        workspace=workspace, actor=pm, item=declined, status="declined", reason=evil(14, 500)
    )
    other = backlog.item_create(workspace=workspace, actor=pm, title=evil(15, 200))
    membership = Membership.objects.get(workspace=workspace, user=pm)
    view = saved_views.saved_view_create(
        workspace=workspace, membership=membership, name=evil(16, 40), params={}, is_shared=True
    )
    url = world.url
    world.pages.update({
        url("backlog:index"): [evil(11, 200), evil(15, 200), evil(16, 40)],
        url("backlog:item-detail", item_id=item.id): [evil(11, 200), plain(12), evil(10, 80)],
        url("backlog:item-detail", item_id=declined.id): [evil(13, 200), evil(14, 500)],
        url("backlog:board"): [evil(11, 200)],
        url("backlog:saved-view-open", saved_view_id=view.id): [evil(16, 40)],
    })  # fmt: skip
    return item, other


def _roadmap(world: World, workspace, pm, item: Item, other: Item) -> None:
    board = roadmap.roadmap_create(
        workspace=workspace, actor=pm, name=evil(20, 120), description=f"{plain(21)}\n\n{CORPUS}"
    )
    column = roadmap.roadmap_column_create(
        workspace=workspace, actor=pm, roadmap=board, name=evil(22, 60)
    )
    first = (
        RoadmapColumn.objects.for_workspace(workspace).filter(roadmap=board).order_by("position")[0]
    )
    for placed in (item, other):
        roadmap.placement_add(
            workspace=workspace, actor=pm, roadmap=board, item=placed, column_id=first.id
        )
    roadmap.placement_move(
        workspace=workspace, actor=pm, roadmap=board, item=item, column_id=column.id,
        reason=evil(23, 500),
    )  # fmt: skip
    release = releases.release_create(
        workspace=workspace, actor=pm, name=evil(24, 120), description=f"{plain(25)}\n\n{CORPUS}",
        target_date=datetime.datetime.now(tz=datetime.UTC).date() + datetime.timedelta(days=30),
    )  # fmt: skip
    releases.release_item_add(workspace=workspace, actor=pm, release=release, item_id=other.id)
    objective = objectives.objective_create(workspace=workspace, actor=pm, title=evil(26, 200))
    objectives.key_result_create(
        workspace=workspace, actor=pm, objective=objective, metric=evil(27, 200), target=10
    )
    link, token = sharing.share_link_create(
        workspace=workspace, actor=pm, roadmap=board, name=evil(28, 80),
        fields=list(sharing.SHAREABLE_FIELDS),
    )  # fmt: skip
    url = world.url
    world.pages.update({
        url("roadmap:index"): [evil(20, 120)],
        url("roadmap:roadmap-detail", roadmap_id=board.id): [
            evil(20, 120), evil(22, 60), evil(11, 200)
        ],
        url("roadmap:roadmap-history", roadmap_id=board.id): [evil(23, 500)],
        url("roadmap:release-list"): [evil(24, 120)],
        url("roadmap:roadmap-edit", roadmap_id=board.id): [evil(20, 120), plain(21)],
        url("roadmap:release-edit", release_id=release.id): [evil(24, 120), plain(25)],
        url("roadmap:objective-edit", objective_id=objective.id): [evil(26, 200)],
        url("roadmap:release-detail", release_id=release.id): [
            evil(24, 120), plain(25), evil(15, 200)
        ],
        url("roadmap:objective-list"): [evil(26, 200)],
        url("roadmap:objective-detail", objective_id=objective.id): [evil(26, 200), evil(27, 200)],
        url("roadmap:share-link-list", roadmap_id=board.id): [evil(28, 80)],
    })  # fmt: skip
    world.public[reverse("share:page", kwargs={"share_token": token})] = [
        evil(20, 120),
        evil(22, 60),
        evil(11, 200),
    ]


def _digests(world: World, workspace, settings, live_server) -> None:
    digests.digest_settings_update(workspace=workspace, sender_name=evil(30, 120))
    reader = digests.stakeholder_create(
        workspace=workspace, email="dana@client.test", name=evil(31, 120), team=evil(32, 80),
        follows_workspace=True, cadence="daily",
    )  # fmt: skip
    # Digest windows are whole seconds and end "now": the changes are made a minute old.
    RoadmapEvent.objects.for_workspace(workspace).update(
        created_at=F("created_at") - datetime.timedelta(minutes=1)
    )
    settings.PMHUB_BASE_URL = live_server.url
    now = datetime.datetime.now(tz=datetime.UTC)
    (digest,) = digests_build(
        workspace,
        [
            DigestRequest(
                reader, now - datetime.timedelta(hours=1), now + datetime.timedelta(seconds=1)
            )
        ],
    )
    url = world.url
    world.pages.update({
        url("digests:stakeholder-list"): [evil(31, 120), evil(32, 80)],
        url("digests:settings"): [evil(30, 120)],
        url("digests:stakeholder-detail", stakeholder_id=reader.id): [evil(31, 120), evil(32, 80)],
    })  # fmt: skip
    world.framed[url("digests:stakeholder-preview", stakeholder_id=reader.id)] = [evil(11, 200)]
    world.public[digest.web_url.removeprefix(live_server.url)] = [evil(11, 200)]


@pytest.fixture
def world(settings, live_server) -> World:
    workspace = WorkspaceFactory(name="Acme", slug="acme")
    pm = MembershipFactory(
        workspace=workspace, role=Role.ADMIN, user__email="pm@acme.test", user__name="Pat"
    ).user
    found = World(workspace.slug)
    _discovery(found, workspace, pm)
    item, other = _backlog(found, workspace, pm)
    _roadmap(found, workspace, pm, item, other)
    _digests(found, workspace, settings, live_server)
    return found


def _open(page: Page, url: str) -> None:
    response = page.goto(url)
    assert response is not None
    assert response.status == 200, (url, response.status)


def _inert(page: Page, dialogs: list[str], *, hover: bool) -> None:
    """The docs test's check (its DOM walk and marker), leaner: no wait for the network to idle,
    which costs half a second a page. Handlers and inline scripts have run by the load event; the
    DOM walk finds a handler waiting for a pointer anyway, and hovering (where the CSP is off,
    so that it could run) makes sure."""
    if hover:
        for link in page.locator("main a").all()[:10]:
            try:
                link.hover(timeout=150)
            except PlaywrightError:  # hidden or off screen
                continue
    page.wait_for_timeout(100)
    assert dialogs == [], f"a dialog opened: {dialogs}"
    assert page.evaluate("typeof window.__pwned") == "undefined", "a payload ran"
    assert page.evaluate(DOM_CHECK) == []


def _shown(page: Page) -> str:
    """The page's text and its form fields' values (an edit form holds the text as a value)."""
    values = page.locator("input, textarea").evaluate_all("els => els.map(e => e.value)")
    return "\n".join([page.inner_text("body"), *values])


def _round_trips(text: str, expected: list[str], where: str) -> None:
    missing = [value for value in expected if value not in text]
    assert missing == [], f"{where}: not shown as text: {missing}"


@pytest.mark.parametrize("bypass_csp", [False, True], ids=["csp-on", "csp-bypassed"])
def test_every_user_text_field_is_inert_and_round_trips(
    browser: Browser, live_server, world: World, bypass_csp: bool
):
    context = browser.new_context(bypass_csp=bypass_csp, viewport={"width": 1280, "height": 900})
    try:
        # One tab: each navigation starts a new window object, so no flag carries over, and
        # the dialogs seen are those of every page so far (none).
        page = context.new_page()
        dialogs = _watch(page)
        for path, expected in world.public.items():
            _open(page, f"{live_server.url}{path}")
            _inert(page, dialogs, hover=bypass_csp)
            _round_trips(_shown(page), expected, path)

        log_in(page, live_server.url)
        page.wait_for_url(lambda url: "/accounts/login/" not in url)
        for path, expected in world.pages.items():
            _open(page, f"{live_server.url}{path}")
            _inert(page, dialogs, hover=bypass_csp)
            _round_trips(_shown(page), expected, path)

        for path, expected in world.framed.items():
            _open(page, f"{live_server.url}{path}")
            page.wait_for_load_state("networkidle")
            # The one frame allowed is the preview's own, sandboxed without scripts.
            sandbox = page.locator("iframe.preview__frame").get_attribute("sandbox")
            assert sandbox is not None
            assert "allow-scripts" not in sandbox
            assert page.evaluate(DOM_CHECK) == ["IFRAME"]
            (frame,) = [f for f in page.frames if f != page.main_frame]
            assert frame.evaluate(DOM_CHECK) == []
            assert frame.evaluate("typeof window.__pwned") == "undefined"
            assert page.evaluate("typeof window.__pwned") == "undefined"
            assert dialogs == []
            _round_trips(frame.inner_text("body"), expected, path)
            _round_trips(page.inner_text("body"), [evil(30, 120), evil(31, 120)], path)
    finally:
        context.close()


@pytest.mark.parametrize(
    "html",
    [
        '<img src=x onerror="window.__pwned=1">',
        "<p>hi</p><script>alert(1)</script>",
        '<main><a href="#" onmouseover="window.__pwned=1">x</a></main>',
    ],
)
def test_the_lean_check_still_catches_a_payload_that_got_through(browser: Browser, html: str):
    context: BrowserContext = browser.new_context(bypass_csp=True)
    try:
        page = context.new_page()
        dialogs = _watch(page)
        page.set_content(html)
        with pytest.raises(AssertionError):
            _inert(page, dialogs, hover=True)
    finally:
        context.close()
