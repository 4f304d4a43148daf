"""A stored-XSS corpus in every Markdown field the docs app has (document titles and bodies, a
template, a comment and its quote, release notes on the public changelog, the items and insights
a body references), opened in Chromium with the page's CSP bypassed, so that anything that got
through would really run: no dialog opens, `window.__pwned` stays undefined, and no element
carries an event handler, a script URL or a frame. The Atom feed parses as XML with its HTML
escaped; the mention email's HTML is opened as a page too.

Each page is one case.
"""

from __future__ import annotations

import datetime
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.request import urlopen

import pytest
from django.core import mail
from django.urls import reverse
from playwright.sync_api import Browser, Page
from playwright.sync_api import Error as PlaywrightError

from backlog import services as backlog
from discovery import services as discovery
from docs import review, services
from docs.models import Changelog, Document
from docs.release_notes import release_notes_draft
from tests.backlog.browser_support import log_in
from tests.factories import MembershipFactory, WorkspaceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Every payload either calls alert(1) (a dialog) or sets window.__pwned (a flag).
PAYLOADS = [
    "<script>window.__pwned=1</script>",
    '<img src=x onerror="window.__pwned=1">',
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:window.__pwned=1)",
    "[x](javascript&#58;alert(1))",
    "[x](&#x6A;avascript:alert(1))",
    "<javascript:alert(1)>",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[vb](vbscript:msgbox(1))",
    '<iframe src="javascript:alert(1)"></iframe>',
    '<iframe srcdoc="<script>parent.__pwned=1</script>"></iframe>',
    '<style>body{background:url("javascript:alert(1)")}</style>',
    '<div style="width:expression(alert(1))">css</div>',
    '<a href="#" onclick="alert(1)">raw link</a>',
    "<details open ontoggle=alert(1)>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;img src=x onerror=alert(1)&#62;",
    "[<img src=x onerror=alert(1)>](https://ok.example)",
    "**<img src=x onerror=window.__pwned=1>** and _<b onmouseover=alert(1)>b</b>_",
    '[title](https://ok.example "\\" onmouseover=\\"alert(1)")',
    '[[item:1" onmouseover="alert(1)]]',
    '![img](x" onerror="alert(1))',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "`<script>alert(1)</script>` in code",
    "```html\n<script>window.__pwned=1</script>\n```",
    '<object data="javascript:alert(1)"></object>',
    '<form action="javascript:alert(1)"><button>go</button></form>',
    "&#xE000;item:1&#xE001; forged marker",
    '"><script>alert(1)</script>',
    "</textarea><script>alert(1)</script>",
    "</title><script>alert(1)</script>",
    "<body onload=alert(1)>",
]
MARKER = "XSS corpus"
CORPUS = f"# {MARKER}\n\n" + "\n\n".join(PAYLOADS) + "\n"
EVIL_TITLE = '"><img src=x onerror=alert(1)></textarea></title><script>alert(1)</script>'

# Everything on the page that could run: handlers, script URLs, frames, inline scripts.
DOM_CHECK = """() => {
  const bad = [];
  const urlAttrs = ['href', 'src', 'action', 'formaction', 'data', 'xlink:href', 'srcdoc'];
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) {
      if (a.name.toLowerCase().startsWith('on')) bad.push(`${el.tagName} ${a.name}`);
      if (urlAttrs.includes(a.name.toLowerCase())
          && /^\\s*(javascript|vbscript|data:text\\/html)/i.test(a.value)) {
        bad.push(`${el.tagName} ${a.name}=${a.value}`);
      }
      if (a.name === 'style' && /expression|javascript:/i.test(a.value)) bad.push('style attr');
    }
  }
  for (const el of document.querySelectorAll('iframe, object, embed, base, math, svg script')) {
    bad.push(el.tagName);
  }
  for (const el of document.querySelectorAll('script')) {
    const inert = el.type === 'application/json' || el.type === 'application/ld+json';
    if (!el.src && !inert && el.textContent.trim()) bad.push('inline script');
    if (el.src && !el.src.startsWith(location.origin + '/static/')) bad.push(`script ${el.src}`);
  }
  return bad;
}"""


@dataclass
class World:
    workspace_slug: str
    document: Document
    release_notes: Document
    template_id: int
    email_html: str
    item_id: int


@pytest.fixture
def world(settings) -> World:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    workspace = WorkspaceFactory(name="Acme", slug="acme")
    pm = MembershipFactory(workspace=workspace, user__email="pm@acme.test", user__name="Pat").user
    MembershipFactory(workspace=workspace, user__email="rev@acme.test", user__name="Rae Viewer")
    item = backlog.item_create(workspace=workspace, actor=pm, title=EVIL_TITLE)
    insight = discovery.insight_create(
        workspace=workspace, actor=pm, title="<svg onload=alert(1)> insight"
    )
    template = services.template_create(
        workspace=workspace, kind="prd", name='PRD "><svg onload=alert(1)>', body=CORPUS,
        description="<img src=x onerror=alert(1)>",
    )  # fmt: skip
    # Version 2 changes a word in every payload, so the diff marks words inside each of them.
    changed = CORPUS.replace("alert(1)", "alert(2)").replace("__pwned=1", "__pwned=2")
    body = (
        f"{changed}\nCites [[item:{item.id}]] and [[insight:{insight.id}]] and [[item:999999]].\n"
    )
    document = services.document_create(
        workspace=workspace, actor=pm, kind="prd", title=EVIL_TITLE, template=template
    )
    document = services.document_save(
        workspace=workspace, actor=pm, document=document, base_version=1, title=EVIL_TITLE,
        body=body, summary="<script>alert(1)</script> summary",
    )  # fmt: skip
    decision = services.document_create(
        workspace=workspace, actor=pm, kind="decision", title=EVIL_TITLE, body=body
    )
    services.document_link_add(workspace=workspace, document=decision, item_id=item.id)
    for payload in PAYLOADS[:12]:  # titles in the documents list
        services.document_create(
            workspace=workspace, actor=pm, kind="brief", title=payload[:200], body=payload
        )

    email_html = ""
    comment = review.comment_add(
        workspace=workspace, actor=pm, document=document,
        body=f"@rev@acme.test have a look\n\n{CORPUS}"[:10_000],
        quote="<img src=x onerror=alert(1)>",
    )  # fmt: skip
    mail.outbox = []
    review.mention_emails_send(workspace=workspace, comment_id=comment.id)
    for message in mail.outbox:
        for content, mimetype in getattr(message, "alternatives", []):
            if mimetype == "text/html":
                email_html = content

    from roadmap.releases import release_create

    release = release_create(
        workspace=workspace, actor=pm, name="2026.11 <script>alert(1)</script>",
        target_date=datetime.date(2026, 11, 1), status="released",
    )  # fmt: skip
    notes = services.document_create(
        workspace=workspace, actor=pm, kind="release_notes", title=EVIL_TITLE, body=body,
        release_id=release.id,
    )  # fmt: skip
    for status in ("in_review", "approved", "published"):
        notes = services.document_set_status(
            workspace=workspace, actor=pm, document=notes, status=status
        )
    _drafted_release_notes(workspace, pm, insight.id)
    Changelog.objects.for_workspace(workspace).update_or_create(
        workspace=workspace,
        defaults={
            "is_public": True,
            "title": "<script>alert(1)</script> changelog",
            "description": "<img src=x onerror=alert(1)>",
        },
    )
    return World(workspace.slug, document, notes, template.id, email_html, item.id)


def _drafted_release_notes(workspace, pm, insight_id: int) -> None:
    """A release whose shipped item carries payloads in its title, description and area, its
    notes drafted from it (docs.release_notes) and published: payloads in item fields must not
    turn into markup on the way into Markdown."""
    from roadmap.releases import release_create
    from roadmap.services import item_schedule_set

    area = backlog.product_area_create(
        workspace=workspace, actor=pm, name="<img src=x onerror=alert(1)> area"
    )
    item = backlog.item_create(
        workspace=workspace, actor=pm, area_id=area.id,
        title='[x](javascript:alert(1)) <script>alert(1)</script> ** [[item:1" onmouseover=x]]',
        description="<img src=x onerror=window.__pwned=1> [y](javascript:alert(1)) more.",
    )  # fmt: skip
    backlog.item_link_evidence(workspace=workspace, actor=pm, item=item, insight_id=insight_id)
    backlog.item_set_status(workspace=workspace, actor=pm, item=item, status="shipped")
    release = release_create(
        workspace=workspace, actor=pm, name="2026.10 <svg onload=alert(1)>",
        target_date=datetime.date(2026, 10, 1), status="released",
        description="<iframe src=javascript:alert(1)></iframe> the October release.",
    )  # fmt: skip
    item_schedule_set(workspace=workspace, actor=pm, item=item, release_id=release.id)
    notes = release_notes_draft(workspace=workspace, actor=pm, release=release)
    for status in ("in_review", "approved", "published"):
        notes = services.document_set_status(
            workspace=workspace, actor=pm, document=notes, status=status
        )


def _changelog(name: str, entry: bool = False) -> Callable[[World], str]:
    def url(world: World) -> str:
        args = [world.workspace_slug] + ([world.release_notes.id] if entry else [])
        return reverse(f"changelog:{name}", args=args)

    return url


def _docs(name: str, **extra: Callable[[World], object]) -> Callable[[World], str]:
    def url(world: World) -> str:
        kwargs = {"workspace_slug": world.workspace_slug}
        kwargs.update({key: value(world) for key, value in extra.items()})
        return reverse(f"docs:{name}", kwargs=kwargs)

    return url


def _item_detail(world: World) -> str:
    return reverse(
        "backlog:item-detail",
        kwargs={"workspace_slug": world.workspace_slug, "item_id": world.item_id},
    )


def _document_id(world: World) -> int:
    return world.document.id


# name -> (its URL, signed in, a text the page shows when the corpus is on it)
PAGES: dict[str, tuple[Callable[[World], str], bool, str]] = {
    "document-detail": (_docs("document-detail", document_id=_document_id), True, MARKER),
    "document-edit": (_docs("document-edit", document_id=_document_id), True, "onerror"),
    "document-history": (_docs("document-history", document_id=_document_id), True, "summary"),
    "revision-detail": (
        _docs("revision-detail", document_id=_document_id, number=lambda w: 2), True, MARKER
    ),
    "revision-diff": (
        _docs("revision-diff", document_id=_document_id, number=lambda w: 1,
              other_number=lambda w: 2),
        True, "onerror",
    ),
    "index": (_docs("index"), True, "onerror"),
    "template-list": (_docs("template-list"), True, "svg onload"),
    "template-edit": (_docs("template-edit", template_id=lambda w: w.template_id), True,
                      "onerror"),
    "document-new": (_docs("document-new"), True, "svg onload"),
    "changelog-settings": (_docs("changelog-settings"), True, "changelog"),
    # Decision records are listed on the items they concern.
    "item-detail": (_item_detail, True, "onerror"),
    "changelog-index": (_changelog("index"), False, "onerror"),
    "changelog-entry": (_changelog("entry", entry=True), False, MARKER),
}  # fmt: skip


def _watch(page: Page) -> list[str]:
    """The messages of the dialogs the page opens from now on (each dismissed)."""
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    return dialogs


def _check(page: Page, dialogs: list[str]) -> None:
    page.wait_for_load_state("networkidle")
    # Handlers that wait for a pointer: hover the page's first links.
    hovered = 0
    for link in page.locator("main a").all():
        if hovered >= 20:
            break
        try:
            link.hover(timeout=300)
            hovered += 1
        except PlaywrightError:  # hidden or off screen
            continue
    page.wait_for_timeout(300)
    assert dialogs == [], f"a dialog opened: {dialogs}"
    assert page.evaluate("typeof window.__pwned") == "undefined", "a payload ran"
    assert page.evaluate(DOM_CHECK) == []


def _open_and_check(page: Page, *, url: str | None = None, html: str | None = None) -> None:
    dialogs = _watch(page)
    if url is not None:
        response = page.goto(url)
        assert response is not None
        assert response.status == 200, (url, response.status)
    else:
        page.set_content(html or "")
    _check(page, dialogs)


@pytest.fixture
def chromium(browser: Browser):
    # The CSP is bypassed so that a payload that got through would really run.
    context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    yield context
    context.close()


@pytest.mark.parametrize("name", list(PAGES))
def test_the_corpus_is_inert_in_every_page(live_server, chromium, world, name, screenshots):
    build, signed_in, expected = PAGES[name]
    path = build(world)
    page = chromium.new_page()
    if signed_in:
        log_in(page, live_server.url)
        page.wait_for_url(lambda url: "/accounts/login/" not in url)
    _open_and_check(page, url=f"{live_server.url}{path}")
    assert expected in page.content() or expected in page.inner_text("body")
    page.screenshot(path=screenshots / f"docs-xss-{name}.png", full_page=True)


def test_the_editors_live_preview_autocomplete_and_conflict_are_inert(
    live_server, chromium, world, screenshots
):
    path = _docs("document-edit", document_id=_document_id)(world)
    page = chromium.new_page()
    log_in(page, live_server.url)
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    dialogs = _watch(page)
    page.goto(f"{live_server.url}{path}")
    body = page.locator("textarea[name=body]")

    # The live preview draws what is typed (innerHTML of the server's fragment).
    body.fill(f"# Typed now\n\n{CORPUS}")
    page.locator("[data-preview] h1", has_text="Typed now").wait_for(timeout=10_000)
    _check(page, dialogs)

    # The `[[` menu lists the evil item's title as text.
    body.press("End")
    body.press_sequentially("\n\n[[img", delay=30)
    page.wait_for_timeout(1_000)
    _check(page, dialogs)
    page.keyboard.press("Escape")

    # Someone saves first: the conflict shows their text, rendered and raw, and keeps ours.
    stored = Document.objects.for_workspace(world.document.workspace).get(id=world.document.id)
    services.document_save(
        workspace=stored.workspace, actor=None, document=stored, base_version=stored.version,
        title=EVIL_TITLE, body=f"# Theirs\n\n{CORPUS}",
    )  # fmt: skip
    page.locator("#doc-edit-form button[type=submit]").last.click()
    page.wait_for_load_state("networkidle")
    assert "Theirs" in page.content()
    assert "Typed now" in body.input_value()
    _check(page, dialogs)
    page.screenshot(path=screenshots / "docs-xss-editor-conflict.png", full_page=True)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.bad: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "iframe", "object", "embed", "svg", "math", "style", "img"}:
            self.bad.append(tag)
        for name, value in attrs:
            if name.startswith("on"):
                self.bad.append(f"{tag} {name}")
            if name in {"href", "src"} and (value or "").strip().lower().startswith(
                ("javascript", "vbscript", "data")
            ):
                self.bad.append(f"{tag} {name}={value}")


def test_the_atom_feed_escapes_the_corpus_and_parses(live_server, chromium, world):
    path = _changelog("feed")(world)
    with urlopen(f"{live_server.url}{path}") as response:  # noqa: S310 - the live test server
        assert response.status == 200
        text = response.read().decode()

    assert "<script" not in text.lower()
    root = ET.fromstring(text)  # noqa: S314 - our own feed, in a test
    atom = "{http://www.w3.org/2005/Atom}"
    assert root.tag == f"{atom}feed"
    entries = root.findall(f"{atom}entry")
    assert entries
    # Escaped text, read back as the text it was.
    assert EVIL_TITLE in [entry.findtext(f"{atom}title") for entry in entries]
    contents = [e.text or "" for e in root.iter(f"{atom}content")] + [
        e.text or "" for e in root.iter(f"{atom}summary")
    ]
    assert contents
    assert any(MARKER in c for c in contents)
    for html in contents:
        parser = _Tags()
        parser.feed(html)
        assert parser.bad == []
        _open_and_check(chromium.new_page(), html=html)


def test_the_mention_email_is_inert(chromium, world):
    assert world.email_html
    assert MARKER in world.email_html
    parser = _Tags()
    parser.feed(world.email_html)
    assert parser.bad == []
    _open_and_check(chromium.new_page(), html=world.email_html)


@pytest.mark.parametrize(
    "html",
    [
        '<img src=x onerror="window.__pwned=1">',
        "<p>hi</p><script>alert(1)</script>",
        '<main><a href="javascript:alert(1)">x</a></main>',
    ],
)
def test_the_check_itself_catches_a_payload_that_got_through(chromium, html):
    with pytest.raises(AssertionError):
        _open_and_check(chromium.new_page(), html=html)
