"""The public changelog: its settings (admins only), its pages and Atom feed (404 unless turned
on; published release notes only; no internal links, fields or other kinds; stored XSS inert;
constant queries)."""

from __future__ import annotations

import xml.etree.ElementTree as ET  # noqa: S405 (our own feed, parsed in a test)

import pytest
from django.urls import reverse

from discovery.services import insight_create, insight_delete
from docs import services as docs
from docs.changelog import changelog_get, changelog_update
from docs.models import Changelog
from tests.docs.test_release_notes import (
    answers,
    make_release,
    published_notes,
    shipped_item,
)

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"
XSS = [
    "<script>alert('xss-script')</script>",
    '<img src=x onerror="alert(1)">',
    "[click](javascript:alert('xss-link'))",
    '<a href="javascript:alert(2)">js</a>',
    '<iframe src="https://evil.test"></iframe>',
    "<svg onload=alert(3)>",
]


def _index(slug="acme"):
    return reverse("changelog:index", kwargs={"changelog_slug": slug})


def _entry(entry_id, slug="acme"):
    return reverse("changelog:entry", kwargs={"changelog_slug": slug, "entry_id": entry_id})


def _feed(slug="acme"):
    return reverse("changelog:feed", kwargs={"changelog_slug": slug})


def _settings(workspace):
    return reverse("docs:changelog-settings", kwargs={"workspace_slug": workspace.slug})


@pytest.fixture
def public(workspace):
    return changelog_update(
        workspace=workspace, is_public=True, title="Acme updates", description="What shipped."
    )


def _notes(workspace, actor, name="2026.12", body=None):
    release = make_release(workspace, name)
    item = shipped_item(workspace, release, f"CSV export {name}", description="Export views.")
    answers(workspace, item, f"Exports time out {name}")
    notes = published_notes(workspace, actor, release)
    if body is not None:
        notes = docs.document_save(
            workspace=workspace, actor=actor, document=notes, base_version=notes.version,
            title=notes.title, body=body,
        )  # fmt: skip
    return notes


# --- settings --------------------------------------------------------------------------------
def test_admin_turns_the_changelog_on_and_off(workspace, admin, login):
    client = login(admin)

    page = client.get(_settings(workspace))
    on = client.post(
        _settings(workspace), {"is_public": "on", "title": "Acme news", "description": "Hi"}
    )
    on_state = changelog_get(workspace=workspace)
    off = client.post(_settings(workspace), {"title": "Acme news"})

    assert page.status_code == 200
    assert b'data-changelog-state="off"' in page.content
    assert on.status_code == off.status_code == 302
    assert (on_state.is_public, on_state.title, on_state.description) == (True, "Acme news", "Hi")
    assert Changelog.objects.get(workspace=workspace).is_public is False
    assert b'data-changelog-state="off"' in client.get(_settings(workspace)).content


def test_settings_refuse_a_too_long_title(workspace, admin, login):
    response = login(admin).post(_settings(workspace), {"is_public": "on", "title": "x" * 121})

    assert response.status_code == 400
    assert "at most 120 characters" in response.content.decode()
    assert not Changelog.objects.exists()


@pytest.mark.parametrize(
    ("who", "get_status", "post_status"),
    [("member", 200, 403), ("viewer", 200, 403), ("outsider", 404, 404)],
    ids=["editor_case", "viewer_case", "outsider_case"],
)
def test_only_admins_change_the_settings(request, workspace, login, who, get_status, post_status):
    client = login(request.getfixturevalue(who))

    assert client.get(_settings(workspace)).status_code == get_status
    assert client.post(_settings(workspace), {"is_public": "on"}).status_code == post_status
    assert not Changelog.objects.exists()


# --- the public pages --------------------------------------------------------------------------
def test_every_public_page_is_404_while_the_changelog_is_off(client, workspace, member):
    notes = _notes(workspace, member)
    changelog_update(workspace=workspace, is_public=False, title="Hidden")

    for url in (_index(), _entry(notes.id), _feed(), _index("nope"), _feed("nope")):
        assert client.get(url).status_code == 404, url


def test_index_shows_published_release_notes_newest_first_and_nothing_else(
    client, workspace, member, public
):
    older = _notes(workspace, member, "2026.11")
    newer = _notes(workspace, member, "2026.12")
    draft_release = make_release(workspace, "2027.01")
    shipped_item(workspace, draft_release, "Secret roadmap item")
    from docs.release_notes import release_notes_draft

    release_notes_draft(workspace=workspace, actor=member, release=draft_release)
    prd = docs.document_create(
        workspace=workspace, actor=member, kind="prd", title="Internal PRD", body="Secret plan"
    )
    for status in ("in_review", "approved", "published"):
        docs.document_set_status(workspace=workspace, actor=member, document=prd, status=status)

    html = client.get(_index()).content.decode()

    assert "Acme updates" in html
    assert "What shipped." in html
    assert html.index(newer.title) < html.index(older.title)
    assert "CSV export 2026.12" in html
    assert "Exports time out 2026.12" in html  # the insight, drawn as text
    for hidden in ("Secret roadmap item", "Internal PRD", "Secret plan", "2027.01"):
        assert hidden not in html
    # No link into the app, no member's name or address.
    assert "/w/acme" not in html
    assert "bob@acme.test" not in html
    assert 'class="ref ref--insight"' in html
    assert "ref__status" not in html  # the insight's status ("Draft") is internal


def test_references_deleted_or_of_another_workspace_show_as_text(
    client, workspace, other_workspace, member, public
):
    gone = insight_create(workspace=workspace, actor=None, title="Gone insight")
    foreign = insight_create(workspace=other_workspace, actor=None, title="Globex secret")
    notes = _notes(
        workspace, member, body=f"Fixed [[insight:{gone.id}]] and [[insight:{foreign.id}]]."
    )
    insight_delete(workspace=workspace, actor=None, insight=gone)

    html = client.get(_entry(notes.id)).content.decode()

    assert "<s>Gone insight</s>" in html
    assert "deleted" in html
    assert "not found" in html
    assert "Globex secret" not in html


def test_entry_page_shows_one_published_note_and_404s_for_the_rest(
    client, workspace, other_workspace, member, public
):
    notes = _notes(workspace, member)
    draft = docs.document_create(
        workspace=workspace, actor=member, kind="release_notes", title="Draft notes"
    )
    changelog_update(workspace=other_workspace, is_public=True)
    foreign = _notes(other_workspace, None, "Globex 1")

    page = client.get(_entry(notes.id))

    assert page.status_code == 200
    assert notes.title in page.content.decode()
    assert client.get(_entry(draft.id)).status_code == 404
    assert client.get(_entry(foreign.id)).status_code == 404
    assert client.get(_entry(foreign.id, "globex")).status_code == 200
    assert client.get(_entry(999_999)).status_code == 404


def test_stored_xss_renders_inert_in_the_pages_and_the_feed(client, workspace, member, public):
    body = "\n\n".join(XSS)
    notes = _notes(workspace, member, body=body)
    docs.document_save(
        workspace=workspace, actor=member, document=notes, base_version=notes.version,
        title="<script>alert('title')</script>", body=body,
    )  # fmt: skip

    for url in (_index(), _entry(notes.id)):
        html = client.get(url).content.decode()
        # Shown as text, never as markup that runs.
        for tag in ("<script>alert", "<img", "<svg onload", "<iframe", '<a href="javascript:'):
            assert tag not in html, tag
        assert "&lt;img src=x onerror=" in html
        assert "&lt;script&gt;alert(&#x27;title&#x27;)&lt;/script&gt;" in html

    feed = ET.fromstring(client.get(_feed()).content)  # noqa: S314
    content = feed.find(f"{ATOM}entry/{ATOM}content").text
    for tag in ("<script", "<img", "<svg", "<iframe", '<a href="javascript:'):
        assert tag not in content, tag
    assert feed.find(f"{ATOM}entry/{ATOM}title").text == "<script>alert('title')</script>"


def test_feed_is_valid_atom(client, workspace, member, public):
    older = _notes(workspace, member, "2026.11")
    newer = _notes(workspace, member, "2026.12")

    response = client.get(_feed())
    feed = ET.fromstring(response.content)  # noqa: S314

    assert response["Content-Type"] == "application/atom+xml; charset=utf-8"
    assert response.content.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    assert feed.tag == f"{ATOM}feed"
    assert feed.find(f"{ATOM}id").text == "http://testserver/changelog/acme/"
    assert feed.find(f"{ATOM}title").text == "Acme updates"
    assert feed.find(f"{ATOM}subtitle").text == "What shipped."
    newer.refresh_from_db()
    assert feed.find(f"{ATOM}updated").text == newer.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    links = {link.get("rel"): link.get("href") for link in feed.findall(f"{ATOM}link")}
    assert links == {
        "alternate": "http://testserver/changelog/acme/",
        "self": "http://testserver/changelog/acme/feed.atom",
    }
    assert feed.find(f"{ATOM}author/{ATOM}name").text == "Acme"
    entries = feed.findall(f"{ATOM}entry")
    assert [e.find(f"{ATOM}title").text for e in entries] == [newer.title, older.title]
    first = entries[0]
    assert first.find(f"{ATOM}id").text == f"http://testserver/changelog/acme/{newer.id}/"
    assert first.find(f"{ATOM}updated").text.endswith("Z")
    assert first.find(f"{ATOM}published").text.endswith("Z")
    assert first.find(f"{ATOM}link").get("href") == f"http://testserver/changelog/acme/{newer.id}/"
    assert first.find(f"{ATOM}category").get("term") == "2026.12"
    content = first.find(f"{ATOM}content")
    assert content.get("type") == "html"
    assert "<strong>CSV export 2026.12</strong>" in content.text
    assert "Exports time out 2026.12" in content.text
    assert "/w/acme" not in content.text


def test_an_empty_changelog_says_so_and_its_feed_is_still_atom(client, workspace, public):
    html = client.get(_index()).content.decode()
    feed = ET.fromstring(client.get(_feed()).content)  # noqa: S314

    assert "Nothing published yet" in html
    assert feed.findall(f"{ATOM}entry") == []
    assert feed.find(f"{ATOM}updated").text.endswith("Z")


def test_public_pages_read_in_constant_queries(
    client, workspace, member, public, django_assert_num_queries
):
    _notes(workspace, member, "R1")
    # The changelog with its workspace; the published notes with their releases; the
    # references' targets (insights: one query) and the titles their rows kept.
    with django_assert_num_queries(4):
        assert client.get(_index()).status_code == 200
    for n in range(2, 6):
        _notes(workspace, member, f"R{n}")
    with django_assert_num_queries(4):
        assert client.get(_index()).status_code == 200
    with django_assert_num_queries(4):
        assert client.get(_feed()).status_code == 200


def test_entry_page_reads_in_constant_queries(
    client, workspace, member, public, django_assert_num_queries
):
    notes = _notes(workspace, member)

    # The changelog with its workspace, the note with its release, its references' targets
    # and the titles their rows kept.
    with django_assert_num_queries(4):
        assert client.get(_entry(notes.id)).status_code == 200


def test_index_pages_older_entries(client, workspace, member, public, monkeypatch):
    from docs import changelog

    # Two entries a page instead of 50.
    monkeypatch.setattr(changelog.public_changelog_get, "__kwdefaults__", {"page": 1, "limit": 2})
    titles = [_notes(workspace, member, f"R{n}").title for n in range(3)]

    first = client.get(_index()).content.decode()
    second = client.get(_index(), {"page": 2}).content.decode()

    assert titles[2] in first
    assert titles[1] in first
    assert titles[0] not in first
    assert 'href="?page=2" rel="next"' in first
    assert titles[0] in second
    assert 'href="?page=1" rel="prev"' in second
    assert 'rel="next"' not in second
    for page in ("3", "0", "x", "99999"):
        assert client.get(_index(), {"page": page}).status_code == 404, page


def test_an_entry_taken_back_leaves_the_changelog_and_its_feed(client, workspace, member, public):
    notes = _notes(workspace, member)
    docs.document_set_status(workspace=workspace, actor=member, document=notes, status="archived")

    feed = ET.fromstring(client.get(_feed()).content)  # noqa: S314

    assert client.get(_entry(notes.id)).status_code == 404
    assert notes.title not in client.get(_index()).content.decode()
    assert feed.findall(f"{ATOM}entry") == []
