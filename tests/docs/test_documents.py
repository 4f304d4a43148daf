"""Document pages: the list (filters, search, empty state, pinned queries), new from a template,
the read view and its side panel, the editor (save, the conflict path, refused input), the
preview, the `[[` search, links, status, details, export and delete; each role."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from backlog import services as backlog
from backlog.models import Item
from discovery.models import Insight
from docs import services
from docs.models import BODY_MAX_CHARS, Document, DocumentLink, Revision
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def _url(workspace, name="docs:index", **kwargs):
    return reverse(name, kwargs={"workspace_slug": workspace.slug, **kwargs})


def _doc(workspace, actor=None, title="Exports PRD", kind="prd", body="Hello", **kwargs):
    return services.document_create(
        workspace=workspace, actor=actor, kind=kind, title=title, body=body, **kwargs
    )


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


# --- list --------------------------------------------------------------------------------------
def test_empty_list_offers_a_new_document_to_editors_only(workspace, member, viewer, login):
    page = login(member).get(_url(workspace)).content.decode()
    assert "Write it down next to the evidence" in page
    assert page.count(_url(workspace, "docs:document-new")) >= 2  # top bar and empty state
    page = login(viewer).get(_url(workspace)).content.decode()
    assert "Write it down next to the evidence" in page
    assert _url(workspace, "docs:document-new") not in page


def test_list_filters_by_kind_status_owner_and_title(workspace, member, admin, login):
    prd = _doc(workspace, member, "Exports PRD")
    decision = _doc(workspace, admin, "Use S3 for exports", kind="decision")
    services.document_set_status(
        workspace=workspace, actor=member, document=prd, status="in_review"
    )
    client = login(member)

    def titles(query):
        page = client.get(_url(workspace) + query).content.decode()
        return [t for t in ("Exports PRD", "Use S3 for exports") if t in page]

    assert titles("") == ["Exports PRD", "Use S3 for exports"]
    assert titles("?kind=decision") == ["Use S3 for exports"]
    assert titles("?status=in_review") == ["Exports PRD"]
    assert titles(f"?owner={admin.id}") == ["Use S3 for exports"]
    assert titles("?q=s3") == ["Use S3 for exports"]
    assert titles("?q=nothing-like-it") == []
    assert "No document matches" in client.get(_url(workspace) + "?q=zzz").content.decode()
    assert decision.id  # used


def test_list_paginates(workspace, member, login, monkeypatch):
    from docs import selectors

    monkeypatch.setattr(selectors, "PAGE_SIZE", 2)
    for n in range(5):
        _doc(workspace, member, f"Doc number {n}")
    client = login(member)
    first = client.get(_url(workspace)).content.decode()
    assert "Doc number 4" in first
    assert "Doc number 2" not in first
    assert 'rel="next"' in first
    last = client.get(_url(workspace) + "?page=3").content.decode()
    assert "Doc number 0" in last
    assert 'rel="next"' not in last
    assert 'rel="prev"' in last


def test_list_queries_do_not_grow(workspace, member, login):
    client = login(member)
    _doc(workspace, member, "First")
    client.get(_url(workspace))
    before = _queries(client, _url(workspace))
    for n in range(8):
        other = MembershipFactory(workspace=workspace, user__email=f"o{n}@acme.test").user
        _doc(workspace, other, f"Doc {n}")
    after = _queries(client, _url(workspace))
    # session + user + membership, the page of documents with owners, the members for the filter.
    assert after == before
    assert after <= 5


# --- new ---------------------------------------------------------------------------------------
def test_new_document_from_the_shipped_template_opens_the_editor(workspace, member, login):
    client = login(member)
    page = client.get(_url(workspace, "docs:document-new"))
    assert page.status_code == 200
    templates = services.templates_ensure(workspace=workspace)
    prd_template = next(t for t in templates if t.kind == "prd" and t.is_default)
    response = client.post(
        _url(workspace, "docs:document-new"),
        {"kind": "prd", "template": prd_template.id, "title": "  Exports   PRD "},
    )
    document = Document.objects.for_workspace(workspace).get()
    assert response.status_code == 302
    assert response["Location"] == _url(workspace, "docs:document-edit", document_id=document.id)
    assert document.title == "Exports PRD"
    assert document.body == prd_template.body
    assert document.owner == member


def test_new_document_without_title_is_refused_on_the_form(workspace, member, login):
    response = login(member).post(
        _url(workspace, "docs:document-new"), {"kind": "prd", "title": ""}
    )
    assert response.status_code == 400
    assert Document.objects.for_workspace(workspace).count() == 0


def test_new_document_with_another_workspaces_template_is_refused(
    workspace, other_workspace, member, login
):
    foreign = services.templates_ensure(workspace=other_workspace)[0]
    response = login(member).post(
        _url(workspace, "docs:document-new"),
        {"kind": "prd", "template": foreign.id, "title": "Sneaky"},
    )
    assert response.status_code == 400
    assert Document.objects.for_workspace(workspace).count() == 0


# --- detail ------------------------------------------------------------------------------------
def test_detail_renders_live_references_and_a_deleted_one_as_deleted(workspace, member, login):
    keep = backlog.item_create(workspace=workspace, actor=member, title="SSO with Okta")
    gone = backlog.item_create(workspace=workspace, actor=member, title="Old idea")
    document = _doc(
        workspace, member, body=f"See [[item:{keep.id}]] and [[item:{gone.id}]] and [[item:999999]]"
    )
    Item.objects.for_workspace(workspace).filter(id=gone.id).delete()
    page = login(member).get(_url(workspace, "docs:document-detail", document_id=document.id))
    html = page.content.decode()
    assert page.status_code == 200
    assert "SSO with Okta" in html
    assert "ref--deleted" in html
    assert "Old idea" in html
    assert "ref--missing" in html
    referenced = html.split('class="doc-refs"', 1)[1].split("</ul>", 1)[0]
    assert '<span class="ref ref--item"' in referenced
    assert "ref--deleted" in referenced
    assert "&lt;span" not in referenced


def test_detail_escapes_user_markdown(workspace, member, login):
    document = _doc(
        workspace,
        member,
        title="<b>t</b>",
        body="<script>alert(1)</script>\n\n[x](javascript:alert(1))",
    )
    html = (
        login(member)
        .get(_url(workspace, "docs:document-detail", document_id=document.id))
        .content.decode()
    )
    assert "<script>alert(1)</script>" not in html
    assert 'href="javascript' not in html
    assert "&lt;b&gt;t&lt;/b&gt;" in html


def test_detail_shows_the_allowed_status_moves_and_moves(workspace, member, login):
    document = _doc(workspace, member)
    client = login(member)
    html = client.get(
        _url(workspace, "docs:document-detail", document_id=document.id)
    ).content.decode()
    assert 'value="in_review"' in html
    assert 'value="published"' not in html
    response = client.post(
        _url(workspace, "docs:document-status", document_id=document.id), {"status": "in_review"}
    )
    assert response.status_code == 302
    document.refresh_from_db()
    assert document.status == "in_review"
    # a move the workflow has no arrow for is refused with a message, nothing changes
    client.post(
        _url(workspace, "docs:document-status", document_id=document.id), {"status": "published"}
    )
    document.refresh_from_db()
    assert document.status == "in_review"


def test_details_set_owner_and_supersede_a_decision(workspace, member, admin, login):
    old = _doc(workspace, member, "Use FTP", kind="decision")
    new = _doc(workspace, member, "Use S3", kind="decision")
    client = login(member)
    url = _url(workspace, "docs:document-details", document_id=old.id)
    client.post(url, {"owner": admin.id})
    client.post(url, {"decision_status": "superseded", "superseded_by": new.id})
    old.refresh_from_db()
    assert old.owner == admin
    assert old.decision_status == "superseded"
    assert old.superseded_by == new
    html = client.get(_url(workspace, "docs:document-detail", document_id=old.id)).content.decode()
    assert "Superseded" in html
    assert "Use S3" in html


def test_details_refuse_an_owner_from_outside(workspace, member, outsider, login):
    document = _doc(workspace, member)
    login(member).post(
        _url(workspace, "docs:document-details", document_id=document.id), {"owner": outsider.id}
    )
    document.refresh_from_db()
    assert document.owner == member


def test_link_search_add_and_remove(workspace, member, login):
    item = backlog.item_create(workspace=workspace, actor=member, title="Audit log export")
    insight = Insight.objects.create(workspace=workspace, title="Admins need audit trails")
    document = _doc(workspace, member)
    client = login(member)
    detail = _url(workspace, "docs:document-detail", document_id=document.id)
    html = client.get(detail + "?find=audit").content.decode()
    assert "Audit log export" in html
    assert "Admins need audit trails" in html
    add = _url(workspace, "docs:document-link-add", document_id=document.id)
    assert client.post(add, {"kind": "item", "target_id": item.id}).status_code == 302
    assert client.post(add, {"kind": "insight", "target_id": insight.id}).status_code == 302
    links = list(DocumentLink.objects.for_workspace(workspace).filter(document=document))
    assert len(links) == 2
    assert client.post(add, {"kind": "item", "target_id": 999999}).status_code == 400
    assert client.post(add, {"kind": "nonsense", "target_id": item.id}).status_code == 400
    remove = _url(
        workspace, "docs:document-link-remove", document_id=document.id, link_id=links[0].id
    )
    assert "Link removed." in client.post(remove, follow=True).content.decode()
    assert DocumentLink.objects.for_workspace(workspace).filter(document=document).count() == 1
    # A second click (or a stale page) removes nothing and says so, rather than "removed".
    again = client.post(remove, follow=True).content.decode()
    assert "That link was removed already." in again
    assert "Link removed." not in again
    assert DocumentLink.objects.for_workspace(workspace).filter(document=document).count() == 1


def test_detail_queries_do_not_grow(workspace, member, login):
    document = _doc(workspace, member, kind="decision")
    client = login(member)
    url = _url(workspace, "docs:document-detail", document_id=document.id)
    client.get(url)

    def cite(count):
        items = [
            backlog.item_create(workspace=workspace, actor=member, title=f"I{count}-{n}")
            for n in range(count)
        ]
        document.refresh_from_db()
        body = document.body + " " + " ".join(f"[[item:{i.id}]]" for i in items)
        services.document_save(
            workspace=workspace, actor=member, document=document,
            base_version=document.version, title="T", body=body,
        )  # fmt: skip
        for i in items:
            services.document_link_add(workspace=workspace, document=document, item_id=i.id)

    cite(2)
    two = _queries(client, url)
    cite(6)
    eight = _queries(client, url)
    # membership (+user), the document, its references, the targets (formula, items, scores)
    # for the Referenced list and the body, the links, the members, the decision records: the
    # same however many references and links.
    assert eight == two
    assert two <= 16


# --- editor ------------------------------------------------------------------------------------
def _edit(client, workspace, document, **data):
    payload = {"title": document.title, "body": document.body, "summary": "", "base_version": 1}
    payload.update(data)
    return client.post(_url(workspace, "docs:document-edit", document_id=document.id), payload)


def test_editor_saves_a_revision(workspace, member, login):
    document = _doc(workspace, member)
    client = login(member)
    page = client.get(_url(workspace, "docs:document-edit", document_id=document.id))
    assert page.status_code == 200
    assert 'name="base_version" value="1"' in page.content.decode()
    response = _edit(client, workspace, document, body="New text", summary="Scope")
    assert response.status_code == 302
    document.refresh_from_db()
    assert (document.version, document.body) == (2, "New text")
    revision = Revision.objects.for_workspace(workspace).get(document=document, number=2)
    assert (revision.summary, revision.author) == ("Scope", member)


def test_conflict_keeps_my_text_shows_theirs_and_a_second_save_succeeds(
    workspace, member, admin, login
):
    document = _doc(workspace, member, body="Base")
    services.document_save(
        workspace=workspace, actor=admin, document=document, base_version=1,
        title=document.title, body="Their **newer** text",
    )  # fmt: skip
    client = login(member)
    response = _edit(client, workspace, document, body="My own words", base_version=1)
    html = response.content.decode()
    assert response.status_code == 409
    assert "My own words" in html  # still in the textarea
    assert "Their <strong>newer</strong> text" in html  # rendered
    assert "Their **newer** text" in html  # raw
    assert 'name="base_version" value="2"' in html
    document.refresh_from_db()
    assert document.body == "Their **newer** text"

    merged = _edit(client, workspace, document, body="Merged words", base_version=2)
    assert merged.status_code == 302
    document.refresh_from_db()
    assert (document.version, document.body) == (3, "Merged words")


def test_oversized_body_and_empty_title_are_refused_with_the_text_kept(workspace, member, login):
    document = _doc(workspace, member)
    client = login(member)
    big = "x" * (BODY_MAX_CHARS + 1)
    response = _edit(client, workspace, document, body=big)
    html = response.content.decode()
    assert response.status_code == 400
    assert "at most 400,000 characters" in html
    assert big in html
    response = _edit(client, workspace, document, title="", body="Kept text")
    assert response.status_code == 400
    assert "Kept text" in response.content.decode()
    document.refresh_from_db()
    assert document.version == 1


def test_preview_renders_the_posted_body_with_references(workspace, member, login):
    item = backlog.item_create(workspace=workspace, actor=member, title="SSO with Okta")
    document = _doc(workspace, member)
    url = _url(workspace, "docs:document-preview", document_id=document.id)
    response = login(member).post(
        url, {"body": f"# Plan\n\n- [ ] cite [[item:{item.id}]]\n\n<script>x</script>"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1" in html
    assert "SSO with Okta" in html
    assert 'class="md-task"' in html
    assert "<script>" not in html
    too_big = login(member).post(url, {"body": "x" * (BODY_MAX_CHARS + 1)})
    assert too_big.status_code == 400


def test_reference_search_finds_items_insights_and_highlights_of_this_workspace_only(
    workspace, other_workspace, member, login
):
    item = backlog.item_create(workspace=workspace, actor=member, title="Audit log export")
    backlog.item_create(workspace=other_workspace, actor=None, title="Audit secret")
    insight = Insight.objects.create(workspace=workspace, title="Audit trails matter")
    data = login(member).get(_url(workspace, "docs:reference-search") + "?q=audit").json()
    refs = [r["ref"] for r in data["results"]]
    assert f"[[item:{item.id}]]" in refs
    assert f"[[insight:{insight.id}]]" in refs
    assert all("secret" not in r["title"] for r in data["results"])
    by_id = login(member).get(_url(workspace, "docs:reference-search") + f"?q={item.id}").json()
    assert f"[[item:{item.id}]]" in [r["ref"] for r in by_id["results"]]
    assert login(member).get(_url(workspace, "docs:reference-search")).json() == {"results": []}


# --- export, delete ----------------------------------------------------------------------------
def test_export_is_a_markdown_attachment_with_a_title_heading(workspace, member, viewer, login):
    document = _doc(workspace, member, title="Exports: PRD v2", body="Body **text**")
    response = login(viewer).get(_url(workspace, "docs:document-export", document_id=document.id))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="exports-prd-v2.md"'
    assert response.content.decode() == "# Exports: PRD v2\n\nBody **text**\n"


def test_delete(workspace, member, login):
    document = _doc(workspace, member)
    response = login(member).post(_url(workspace, "docs:document-delete", document_id=document.id))
    assert response.status_code == 302
    assert not Document.objects.for_workspace(workspace).exists()


# --- roles -------------------------------------------------------------------------------------
POSTS = [
    ("docs:document-new", False, {"kind": "prd", "title": "x"}),
    ("docs:document-edit", True, {"title": "x", "body": "y", "base_version": 1}),
    ("docs:document-preview", True, {"body": "y"}),
    ("docs:document-status", True, {"status": "in_review"}),
    ("docs:document-details", True, {"owner": ""}),
    ("docs:document-link-add", True, {"kind": "item", "target_id": 1}),
    ("docs:document-delete", True, {}),
]


@pytest.mark.parametrize(("name", "needs_document", "data"), POSTS, ids=[p[0] for p in POSTS])
def test_viewer_cannot_write(workspace, member, viewer, login, name, needs_document, data):
    document = _doc(workspace, member)
    kwargs = {"document_id": document.id} if needs_document else {}
    response = login(viewer).post(_url(workspace, name, **kwargs), data)
    assert response.status_code == 403
    document.refresh_from_db()
    assert (document.version, document.status) == (1, "draft")
    assert Document.objects.for_workspace(workspace).count() == 1


@pytest.mark.parametrize("role_case", ["admin", "member", "viewer"])
def test_read_pages_for_each_role(workspace, member, admin, viewer, login, role_case):
    user = {"admin": admin, "member": member, "viewer": viewer}[role_case]
    document = _doc(workspace, member)
    client = login(user)
    for name, kwargs in (
        ("docs:index", {}),
        ("docs:document-detail", {"document_id": document.id}),
        ("docs:reference-search", {}),
        ("docs:document-export", {"document_id": document.id}),
    ):
        assert client.get(_url(workspace, name, **kwargs)).status_code == 200
    edit = client.get(_url(workspace, "docs:document-edit", document_id=document.id))
    assert edit.status_code == (403 if role_case == "viewer" else 200)
    new = client.get(_url(workspace, "docs:document-new"))
    assert new.status_code == (403 if role_case == "viewer" else 200)
    detail = client.get(_url(workspace, "docs:document-detail", document_id=document.id))
    can_edit = role_case != "viewer"
    assert (
        _url(workspace, "docs:document-status", document_id=document.id) in detail.content.decode()
    ) is can_edit


def test_outsider_and_anonymous(workspace, member, outsider, login, client):
    document = _doc(workspace, member)
    url = _url(workspace, "docs:document-detail", document_id=document.id)
    assert login(outsider).get(url).status_code == 404
    assert client.get(url).status_code == 302


def test_another_workspaces_document_is_404(workspace, other_workspace, member, login):
    foreign = _doc(other_workspace, None, "Secret")
    client = login(member)
    for name in ("docs:document-detail", "docs:document-edit", "docs:document-export"):
        assert client.get(_url(workspace, name, document_id=foreign.id)).status_code == 404
    assert (
        client.post(_url(workspace, "docs:document-delete", document_id=foreign.id)).status_code
        == 404
    )
    assert Document.objects.for_workspace(other_workspace).count() == 1
    assert UserFactory  # the factory module loads


def test_release_notes_show_their_release(workspace, member, login):
    from roadmap import releases

    release = releases.release_create(workspace=workspace, actor=member, name="2026.12")
    document = _doc(
        workspace, member, "What's new in 2026.12", kind="release_notes", release_id=release.id
    )
    html = login(member).get(_url(workspace, "docs:document-detail", document_id=document.id))
    assert _url(workspace, "roadmap:release-detail", release_id=release.id) in html.content.decode()
