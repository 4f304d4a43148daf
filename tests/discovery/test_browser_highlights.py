"""A PM highlights words in a transcript with the mouse, tags them, cites them, finds them."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from discovery import services
from discovery.models import Evidence, Highlight
from pmhub.workspaces.roles import Role
from tests.factories import PASSWORD, MembershipFactory, UserFactory, WorkspaceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# An emoji before the words: one character in Python, two UTF-16 units in the browser.
TRANSCRIPT = (
    "Interviewer: How do you share the roadmap today?\n\n"
    "Peter: 😅 Honestly? We export it to CSV every Monday,\r\n"
    "and the export times out on our biggest boards.\n\n"
    "Interviewer: What happens then?\n\n"
    "Peter: I copy it by hand. It takes an hour."
)
WORDS = "the export times out on our biggest boards"


@pytest.fixture
def desk():
    workspace = WorkspaceFactory(name="Acme", slug="acme")
    user = UserFactory(email="pm@acme.test", name="Pat Manager")
    MembershipFactory(user=user, workspace=workspace, role=Role.EDITOR)
    company, _ = services.company_upsert(
        workspace=workspace,
        actor=None,
        name="Initech",
        domain="initech.test",
        segment="Enterprise",
        arr=Decimal("120000"),
    )
    peter, _ = services.customer_upsert(
        workspace=workspace, actor=None, email="peter@initech.test", name="Peter", company=company
    )
    services.tag_create(workspace=workspace, actor=None, name="Exports", color="#d9480f")
    services.tag_create(workspace=workspace, actor=None, name="Speed", color="#2b8a3e")
    interview = services.interview_create(
        workspace=workspace,
        actor=user,
        title="Call with Peter",
        transcript=TRANSCRIPT,
        participant_ids=[peter.id],
        notes="Peter runs the PMO at Initech.",
    )
    insight = services.insight_create(
        workspace=workspace,
        actor=user,
        title="Exports fail on big boards",
        summary="Big customers **cannot share** their roadmap.\n\n- CSV export times out",
    )
    feedback = services.feedback_create(
        workspace=workspace,
        actor=user,
        data=services.FeedbackInput(
            text="Exporting our roadmap to CSV times out every time <script>x</script>",
            source="support",
            customer_id=peter.id,
            external_url="https://support.example.com/tickets/42",
        ),
    )
    return {"workspace": workspace, "interview": interview, "insight": insight, "fb": feedback}


def _log_in(page: Page, base: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill("pm@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/w/acme/"))


def _drag_across(page: Page, words: str) -> None:
    """Press the mouse before the first letter of `words` and release after the last."""
    box = page.evaluate(
        """(words) => {
          // Find the words in the container's whole text, across <mark> boundaries.
          const root = document.querySelector("[data-highlight-text]");
          const nodes = [];
          const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
          for (let node = walker.nextNode(); node; node = walker.nextNode()) nodes.push(node);
          const whole = nodes.map((node) => node.data).join("");
          const at = whole.indexOf(words);
          if (at < 0) return null;
          const locate = (offset) => {
            for (const node of nodes) {
              if (offset < node.data.length) return [node, offset];
              offset -= node.data.length;
            }
            return null;
          };
          const box = (offset) => {
            const [node, index] = locate(offset);
            const range = document.createRange();
            range.setStart(node, index);
            range.setEnd(node, index + 1);
            return range.getBoundingClientRect();
          };
          const first = box(at);
          const last = box(at + words.length - 1);
          return {x1: first.left + 1, y1: first.top + first.height / 2,
                  x2: last.right - 1, y2: last.top + last.height / 2};
        }""",
        words,
    )
    assert box is not None, f"{words!r} is not in the text"
    page.mouse.move(box["x1"], box["y1"])
    page.mouse.down()
    page.mouse.move((box["x1"] + box["x2"]) / 2, (box["y1"] + box["y2"]) / 2, steps=4)
    page.mouse.move(box["x2"], box["y2"], steps=4)
    page.mouse.up()


def test_highlight_with_the_mouse_tag_cite_and_find_it(
    live_server, page: Page, desk, screenshots, console_errors
):
    base = live_server.url
    workspace = desk["workspace"]
    interview = desk["interview"]
    page.set_viewport_size({"width": 1280, "height": 900})
    _log_in(page, base)

    # Select words after the emoji and a CRLF with the mouse: the popover offers to highlight.
    page.goto(f"{base}/w/acme/discovery/interviews/{interview.id}/")
    _drag_across(page, WORDS)
    popover = page.locator("[data-highlight-popover]")
    expect(popover).to_be_visible()
    start = TRANSCRIPT.index(WORDS)
    expect(popover.locator("[data-highlight-start]")).to_have_value(str(start))
    expect(popover.locator("[data-highlight-end]")).to_have_value(str(start + len(WORDS)))
    expect(popover.locator("[data-highlight-preview]")).to_have_text(f"“{WORDS}”")
    page.screenshot(path=screenshots / "highlight-popover-light.png")

    # Tag it in the popover and save.
    popover.get_by_label("Exports").check()
    popover.get_by_role("button", name="Highlight").click()
    highlight = Highlight.objects.for_workspace(workspace).get()
    expect(page).to_have_url(re.compile(rf"#highlight-{highlight.id}$"))
    mark = page.locator(f"mark#highlight-{highlight.id}")
    expect(mark).to_have_text(WORDS)
    assert highlight.quote == WORDS
    assert [t.tag.name for t in highlight.taggings.select_related("tag")] == ["Exports"]
    # The tag's colour reaches the mark through CSSOM (no style attributes under the CSP).
    assert mark.evaluate("m => m.style.getPropertyValue('--tag-color')") == "#d9480f"
    item = page.locator(f"#highlight-item-{highlight.id}")
    expect(item).to_contain_text("Exports")

    # A second selection that starts inside the first highlight and ends after it: offsets
    # count the text across the <mark>.
    across = "biggest boards.\n\nInterviewer: What"
    _drag_across(page, across)
    start = TRANSCRIPT.index(across)
    expect(popover.locator("[data-highlight-start]")).to_have_value(str(start))
    expect(popover.locator("[data-highlight-end]")).to_have_value(str(start + len(across)))
    page.keyboard.press("Escape")
    expect(popover).to_be_hidden()

    # Tag it again from the list beside the transcript.
    item.get_by_label("Add a tag to this highlight").select_option(label="Speed")
    expect(page.locator(f"#highlight-item-{highlight.id}")).to_contain_text("Speed")
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.wait_for_timeout(300)  # let colour transitions finish before the picture
        page.screenshot(path=screenshots / f"interview-detail-{scheme}.png", full_page=True)
    page.emulate_media(color_scheme="light")

    # Cite it in the insight: search for it on the insight page, then cite it with a note.
    page.goto(f"{base}/w/acme/discovery/insights/{desk['insight'].id}/")
    page.get_by_label("Search feedback and highlights").fill("biggest boards")
    page.get_by_label("Search feedback and highlights").press("Enter")
    hit = page.locator(".search-hit").filter(has_text="biggest")
    hit.get_by_placeholder("Note (optional)").fill("Monday pain")
    hit.get_by_role("button", name="Cite").click()
    evidence = page.locator(".evidence").first
    expect(evidence.locator("mark")).to_have_text(WORDS)
    expect(evidence).to_contain_text("Monday pain")
    expect(page.locator(".reach")).to_contain_text("$120,000")
    assert Evidence.objects.for_workspace(workspace).get().highlight_id == highlight.id
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.wait_for_timeout(300)  # let colour transitions finish before the picture
        page.screenshot(path=screenshots / f"insight-detail-{scheme}.png", full_page=True)
    page.emulate_media(color_scheme="light")

    # Find it with search, and open it where it stands in the transcript.
    page.goto(f"{base}/w/acme/discovery/search/")
    page.get_by_label("Search feedback, highlights, interviews and insights").fill(
        '"biggest boards" -mobile'
    )
    page.get_by_label("Search feedback, highlights, interviews and insights").press("Enter")
    results = page.locator("#group-highlight + .search-hits")
    expect(results.locator("mark").first).to_have_text("biggest")
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.wait_for_timeout(300)  # let colour transitions finish before the picture
        page.screenshot(path=screenshots / f"search-{scheme}.png", full_page=True)
    page.emulate_media(color_scheme="light")
    results.get_by_role("link", name="Highlight").click()
    expect(page).to_have_url(re.compile(rf"/interviews/{interview.id}/#highlight-{highlight.id}$"))

    assert console_errors == []


def test_the_other_pages_in_both_themes(live_server, page: Page, desk, screenshots, console_errors):
    base = live_server.url
    page.set_viewport_size({"width": 1280, "height": 900})
    _log_in(page, base)
    services.highlight_create(
        workspace=desk["workspace"],
        actor=None,
        start=10,
        end=30,
        feedback=desk["fb"],
    )
    pages = {
        "feedback-detail": f"/w/acme/discovery/feedback/{desk['fb'].id}/",
        "interview-list": "/w/acme/discovery/interviews/",
        "interview-new": "/w/acme/discovery/interviews/new/",
        "insight-list": "/w/acme/discovery/insights/",
    }
    for name, path in pages.items():
        page.goto(base + path)
        expect(page.locator("main")).to_be_visible()
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme)
            page.wait_for_timeout(300)
            page.screenshot(path=screenshots / f"{name}-{scheme}.png", full_page=True)
        page.emulate_media(color_scheme="light")

    # A highlight on the feedback text with the mouse, the same way as on a transcript.
    page.goto(base + pages["feedback-detail"])
    _drag_across(page, "every time")
    page.locator("[data-highlight-popover]").get_by_role("button", name="Highlight").click()
    expect(page.locator("mark", has_text="every time")).to_be_visible()
    assert page.locator("script", has_text="x").count() == 0

    assert console_errors == []
