"""The docs API: documents (list with filters and cursor pages, create from a template or a body,
read with ETag, save with `version` / If-Match and 412 carrying the newer text, delete),
revisions, publish, comments, document templates; permissions; OpenAPI."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from drf_spectacular.generators import SchemaGenerator

from docs import services as docs
from docs.models import Comment, Document, DocumentEvent, DocumentTemplate, Revision
from tests.discovery.api_support import (
    BASE,
    DENIED_WRITER_IDS,
    DENIED_WRITERS,
    NOT_FOUND,
    api_as,
    client_of,
)

pytestmark = pytest.mark.django_db

DOCUMENTS = f"{BASE}/documents/"
TEMPLATES = f"{BASE}/doc-templates/"


def _document(workspace, actor=None, title="Exports PRD", kind="prd", body="First"):
    return docs.document_create(workspace=workspace, actor=actor, kind=kind, title=title, body=body)


def _approved(workspace, actor, document):
    for status in ("in_review", "approved"):
        document = docs.document_set_status(
            workspace=workspace, actor=actor, document=document, status=status
        )
    return document


# --- documents -----------------------------------------------------------------------------------
def test_list_filters_by_kind_and_status_and_pages_by_cursor(workspace, other_workspace, member):
    client = api_as(member, workspace)
    prds = [_document(workspace, title=f"PRD {n}") for n in range(3)]
    notes = _document(workspace, title="Notes", kind="release_notes")
    _approved(workspace, member, prds[0])
    _document(other_workspace, title="Globex PRD")

    first = client.get(DOCUMENTS, {"page_size": 2}).json()
    second = client.get(first["next"]).json()
    by_kind = client.get(DOCUMENTS, {"kind": "release_notes"}).json()
    by_status = client.get(DOCUMENTS, {"status": "approved"}).json()

    assert [d["title"] for d in first["results"]] == ["PRD 0", "PRD 1"]
    assert [d["title"] for d in second["results"]] == ["PRD 2", "Notes"]
    assert second["next"] is None
    assert [d["id"] for d in by_kind["results"]] == [notes.id]
    assert [d["id"] for d in by_status["results"]] == [prds[0].id]
    assert "body" not in first["results"][0]
    assert client.get(DOCUMENTS, {"kind": "poem"}).status_code == 400
    assert client.get(DOCUMENTS, {"status": "lost"}).status_code == 400


def test_list_reads_in_constant_queries(workspace, member):
    client = api_as(member, workspace)
    _document(workspace)
    client.get(DOCUMENTS)  # the token's first use is recorded once

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(DOCUMENTS).status_code == 200
        return len(ctx.captured_queries)

    before = count()
    for n in range(5):
        _document(workspace, title=f"More {n}")
    # The token with its membership, then one page of documents.
    assert count() == before
    assert before <= 3


def test_create_from_a_template_or_a_body(workspace, other_workspace, member):
    client = api_as(member, workspace)
    template = docs.template_create(
        workspace=workspace, kind="prd", name="Lean PRD", body="## Problem\n"
    )
    foreign = docs.template_create(workspace=other_workspace, kind="prd", name="X", body="Secret")

    from_template = client.post(
        DOCUMENTS, {"kind": "prd", "title": "Exports", "template_id": template.id}, format="json"
    )
    from_body = client.post(
        DOCUMENTS, {"kind": "brief", "title": "Brief", "body": "Hello [[item:1]]"}, format="json"
    )
    foreign_template = client.post(
        DOCUMENTS, {"kind": "prd", "title": "Exports", "template_id": foreign.id}, format="json"
    )
    bad_kind = client.post(DOCUMENTS, {"kind": "poem", "title": "X"}, format="json")
    no_title = client.post(DOCUMENTS, {"kind": "prd", "title": "  "}, format="json")

    assert from_template.status_code == 201
    body = from_template.json()
    assert (body["kind"], body["title"], body["body"], body["version"], body["status"]) == (
        "prd", "Exports", "## Problem\n", 1, "draft",
    )  # fmt: skip
    assert (body["template_id"], body["created_by_id"], body["owner_id"]) == (
        template.id, member.id, member.id,
    )  # fmt: skip
    assert from_template["ETag"] == f'"document-{body["id"]}-v1"'
    assert from_body.json()["body"] == "Hello [[item:1]]"
    assert foreign_template.status_code == 400
    assert foreign_template.json()["extra"]["fields"] == {"template_id": ["No such template here."]}
    assert bad_kind.status_code == 400
    assert no_title.status_code == 400
    assert Document.objects.filter(workspace=workspace).count() == 2


def test_read_with_etag_and_not_modified(workspace, member):
    client = api_as(member, workspace)
    document = _document(workspace, body="**Hi**")
    url = f"{DOCUMENTS}{document.id}/"

    read = client.get(url)
    cached = client.get(url, HTTP_IF_NONE_MATCH=read["ETag"])

    assert read.status_code == 200
    assert read.json()["body"] == "**Hi**"
    assert read["ETag"] == f'"document-{document.id}-v1"'
    assert cached.status_code == 304
    assert client.get(f"{DOCUMENTS}999999/").json() == NOT_FOUND


def test_save_is_a_revision_and_a_stale_save_is_refused_with_the_newer_text(workspace, member):
    client = api_as(member, workspace)
    document = _document(workspace)
    url = f"{DOCUMENTS}{document.id}/"
    etag = client.get(url)["ETag"]

    saved = client.patch(
        url, {"body": "Second", "summary": "Scope"}, HTTP_IF_MATCH=etag, format="json"
    )
    stale_header = client.patch(url, {"body": "Mine"}, HTTP_IF_MATCH=etag, format="json")
    stale_body = client.patch(url, {"body": "Mine", "version": 1}, format="json")
    foreign_tag = client.patch(url, {"body": "Mine"}, HTTP_IF_MATCH='"item-1-v1"', format="json")
    no_version = client.patch(url, {"body": "Mine"}, format="json")
    by_version = client.patch(url, {"title": "Renamed", "version": 2}, format="json")

    assert saved.status_code == 200
    assert (saved.json()["version"], saved.json()["body"]) == (2, "Second")
    assert saved["ETag"] == f'"document-{document.id}-v2"'
    assert stale_header.status_code == 412
    assert stale_header.json()["extra"] == {
        "version": 2, "title": "Exports PRD", "body": "Second",
    }  # fmt: skip
    assert "saved this document after you opened it" in stale_header.json()["message"]
    assert stale_body.status_code == 412
    assert foreign_tag.status_code == 412
    assert no_version.status_code == 400
    assert by_version.status_code == 200
    assert (by_version.json()["title"], by_version.json()["body"]) == ("Renamed", "Second")
    revisions = list(
        Revision.objects.filter(document=document)
        .order_by("number")
        .values_list("number", "body", "summary", "author_id")
    )
    assert revisions == [
        (1, "First", "Created", None),
        (2, "Second", "Scope", member.id),
        (3, "Second", "", member.id),
    ]


def test_save_refuses_a_body_over_the_limit(workspace, member, settings):
    client = api_as(member, workspace)
    document = _document(workspace)

    response = client.patch(
        f"{DOCUMENTS}{document.id}/", {"body": "x" * 400_001, "version": 1}, format="json"
    )

    assert response.status_code == 400
    document.refresh_from_db()
    assert document.version == 1


def test_delete(workspace, member):
    client = api_as(member, workspace)
    document = _document(workspace)

    assert client.delete(f"{DOCUMENTS}{document.id}/").status_code == 204
    assert not Document.objects.filter(id=document.id).exists()
    assert client.delete(f"{DOCUMENTS}{document.id}/").status_code == 404


# --- revisions -----------------------------------------------------------------------------------
def test_revisions_list_and_read(workspace, member):
    client = api_as(member, workspace)
    document = _document(workspace)
    docs.document_save(
        workspace=workspace, actor=member, document=document, base_version=1,
        title="Exports PRD", body="Second", summary="Scope",
    )  # fmt: skip
    url = f"{DOCUMENTS}{document.id}/revisions/"

    listed = client.get(url).json()
    one = client.get(f"{url}1/")

    assert [(r["number"], r["summary"]) for r in listed["results"]] == [
        (1, "Created"),
        (2, "Scope"),
    ]
    assert "body" not in listed["results"][0]
    assert one.json()["body"] == "First"
    assert one.json()["author_id"] is None
    assert client.get(f"{url}9/").status_code == 404


# --- publish -------------------------------------------------------------------------------------
def test_publish_needs_approval_and_records_the_event(workspace, member):
    client = api_as(member, workspace)
    notes = _document(workspace, kind="release_notes", title="Notes")
    url = f"{DOCUMENTS}{notes.id}/publish/"

    refused = client.post(url)
    _approved(workspace, member, notes)
    published = client.post(url)
    again = client.post(url)

    assert refused.status_code == 400
    assert refused.json() == {
        "message": "A document draft cannot become published.",
        "extra": {},
    }
    assert published.status_code == 200
    assert published.json()["status"] == "published"
    assert published.json()["published_at"] is not None
    assert again.status_code == 200
    event = DocumentEvent.objects.get(document=notes, kind="published")
    assert event.actor_id == member.id


# --- comments ------------------------------------------------------------------------------------
def test_comments_list_and_create(workspace, member, admin):
    client = api_as(member, workspace)
    document = _document(workspace, body="Exports must stream.")
    url = f"{DOCUMENTS}{document.id}/comments/"

    created = client.post(url, {"body": "Why stream?", "quote": "must stream"}, format="json")
    reply = client.post(
        url, {"body": "Big files", "parent_id": created.json()["id"]}, format="json"
    )
    empty = client.post(url, {"body": ""}, format="json")
    listed = client.get(url).json()

    assert created.status_code == 201
    assert (created.json()["quote"], created.json()["author_id"]) == ("must stream", member.id)
    assert reply.status_code == 201
    assert empty.status_code == 400
    assert len(listed["results"]) == 1
    thread = listed["results"][0]
    assert thread["body"] == "Why stream?"
    assert [r["body"] for r in thread["replies"]] == ["Big files"]
    assert Comment.objects.filter(document=document).count() == 2


# --- templates -----------------------------------------------------------------------------------
def test_templates_list_includes_the_shipped_ones_and_filters_by_kind(workspace, member):
    client = api_as(member, workspace)
    docs.template_create(workspace=workspace, kind="prd", name="Lean PRD", body="x")

    every = client.get(TEMPLATES, {"page_size": 200}).json()["results"]
    prds = client.get(TEMPLATES, {"kind": "prd"}).json()["results"]

    assert {t["kind"] for t in every if t["is_default"]} == {
        "prd", "brief", "user_stories", "decision", "update", "release_notes",
    }  # fmt: skip
    assert sorted(t["name"] for t in prds if not t["is_default"]) == ["Lean PRD"]
    assert {t["kind"] for t in prds} == {"prd"}


def test_template_create_read_change_and_delete(workspace, member):
    client = api_as(member, workspace)

    created = client.post(
        TEMPLATES, {"kind": "brief", "name": "Short brief", "body": "## Goal\n"}, format="json"
    )
    duplicate = client.post(TEMPLATES, {"kind": "brief", "name": "SHORT BRIEF"}, format="json")
    url = f"{TEMPLATES}{created.json()['id']}/"
    read = client.get(url)
    changed = client.patch(
        url, {"name": "Shorter brief"}, HTTP_IF_MATCH=read["ETag"], format="json"
    )
    stale = client.patch(url, {"body": "Mine"}, HTTP_IF_MATCH=read["ETag"], format="json")
    deleted = client.delete(url)

    assert created.status_code == 201
    assert duplicate.status_code == 400
    assert read.json()["body"] == "## Goal\n"
    assert changed.status_code == 200
    assert (changed.json()["name"], changed.json()["version"]) == ("Shorter brief", 2)
    assert stale.status_code == 412
    assert stale.json()["extra"] == {"version": 2}
    assert deleted.status_code == 204
    assert not DocumentTemplate.objects.filter(name="Shorter brief").exists()


# --- who may -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("who", "access", "code", "body"), DENIED_WRITERS, ids=DENIED_WRITER_IDS)
def test_writes_are_refused(request, workspace, member, who, access, code, body):
    document = _approved(workspace, member, _document(workspace))
    template = docs.template_create(workspace=workspace, kind="prd", name="Mine", body="x")
    client = client_of(request, who, access)
    url = f"{DOCUMENTS}{document.id}/"

    responses = [
        client.post(DOCUMENTS, {"kind": "prd", "title": "New"}, format="json"),
        client.patch(url, {"body": "Changed", "version": 1}, format="json"),
        client.delete(url),
        client.post(f"{url}publish/"),
        client.post(TEMPLATES, {"kind": "prd", "name": "New"}, format="json"),
        client.patch(f"{TEMPLATES}{template.id}/", {"name": "Changed"}, format="json"),
        client.delete(f"{TEMPLATES}{template.id}/"),
    ]

    # Viewers comment (their role's description says so, and the document's page lets them).
    comment = client.post(f"{url}comments/", {"body": "Hi"}, format="json")

    assert [r.status_code for r in responses] == [code] * len(responses)
    assert all(r.json() == body for r in responses)
    document.refresh_from_db()
    assert (document.version, document.status, document.body) == (1, "approved", "First")
    assert Document.objects.count() == 1
    assert DocumentTemplate.objects.get(id=template.id).name == "Mine"
    if who == "viewer" and access == "write":
        assert comment.status_code == 201
        assert Comment.objects.get().body == "Hi"
    else:
        assert (comment.status_code, comment.json()) == (code, body)
        assert not Comment.objects.exists()


@pytest.mark.parametrize("who", ["outsider", "viewer"], ids=["outsider_case", "viewer_case"])
def test_reads_reach_members_only(request, workspace, member, who):
    document = _document(workspace)
    client = client_of(request, who, "write")
    urls = [
        DOCUMENTS,
        f"{DOCUMENTS}{document.id}/",
        f"{DOCUMENTS}{document.id}/revisions/",
        f"{DOCUMENTS}{document.id}/revisions/1/",
        f"{DOCUMENTS}{document.id}/comments/",
        TEMPLATES,
    ]

    codes = [client.get(url).status_code for url in urls]

    assert codes == ([404] * len(urls) if who == "outsider" else [200] * len(urls))


def test_a_document_of_another_workspace_is_404(workspace, other_workspace, member):
    client = api_as(member, workspace)
    foreign = _document(other_workspace, title="Globex")
    url = f"{DOCUMENTS}{foreign.id}/"

    for response in (
        client.get(url),
        client.patch(url, {"body": "x", "version": 1}, format="json"),
        client.delete(url),
        client.get(f"{url}revisions/"),
        client.post(f"{url}publish/"),
        client.get(f"{url}comments/"),
    ):
        assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.body == "First"


def test_the_schema_documents_every_docs_path():
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    base = "/api/v1/workspaces/{workspace_slug}"

    assert set(paths[f"{base}/documents/"]) == {"get", "post"}
    assert set(paths[f"{base}/documents/{{document_id}}/"]) == {"get", "patch", "delete"}
    assert set(paths[f"{base}/documents/{{document_id}}/revisions/"]) == {"get"}
    assert set(paths[f"{base}/documents/{{document_id}}/revisions/{{number}}/"]) == {"get"}
    assert set(paths[f"{base}/documents/{{document_id}}/publish/"]) == {"post"}
    assert set(paths[f"{base}/documents/{{document_id}}/comments/"]) == {"get", "post"}
    assert set(paths[f"{base}/doc-templates/"]) == {"get", "post"}
    assert set(paths[f"{base}/doc-templates/{{template_id}}/"]) == {"get", "patch", "delete"}
