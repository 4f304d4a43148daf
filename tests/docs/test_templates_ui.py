"""Template pages: the shipped ones marked, new, edit on a version (a stale save is refused
with the text kept), delete; viewers read only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from docs import services
from docs.models import DocumentTemplate

pytestmark = pytest.mark.django_db


def _url(workspace, name, **kwargs):
    return reverse(name, kwargs={"workspace_slug": workspace.slug, **kwargs})


def test_list_ensures_and_marks_the_shipped_templates(workspace, member, login):
    page = login(member).get(_url(workspace, "docs:template-list"))
    html = page.content.decode()
    assert page.status_code == 200
    shipped = DocumentTemplate.objects.for_workspace(workspace).filter(is_default=True).count()
    assert shipped == 6
    assert html.count(">Shipped</span>") == 6
    # a shipped template comes back when deleted, so it offers no delete: edit it instead
    assert "/delete/" not in html


def test_new_template_and_a_duplicate_name(workspace, member, login):
    client = login(member)
    data = {"name": "Lean PRD", "kind": "prd", "description": "Short", "body": "## Why\n"}
    response = client.post(_url(workspace, "docs:template-new"), data)
    assert response.status_code == 302
    template = DocumentTemplate.objects.for_workspace(workspace).get(name="Lean PRD")
    assert (template.kind, template.body, template.is_default) == ("prd", "## Why\n", False)
    again = client.post(_url(workspace, "docs:template-new"), {**data, "name": "lean prd"})
    assert again.status_code == 400
    assert "already a template" in again.content.decode()


def test_edit_with_version_and_the_stale_path(workspace, member, login):
    template = services.templates_ensure(workspace=workspace)[0]
    client = login(member)
    url = _url(workspace, "docs:template-edit", template_id=template.id)
    assert client.get(url).status_code == 200
    data = {"name": template.name, "kind": template.kind, "description": "", "body": "Mine"}
    response = client.post(url, {**data, "version": template.version})
    assert response.status_code == 302
    template.refresh_from_db()
    assert (template.body, template.version) == ("Mine", 2)
    stale = client.post(url, {**data, "body": "Late text", "version": 1})
    html = stale.content.decode()
    assert stale.status_code == 409
    assert "Late text" in html
    assert 'name="version" value="2"' in html
    template.refresh_from_db()
    assert template.body == "Mine"
    again = client.post(url, {**data, "body": "Late text", "version": 2})
    assert again.status_code == 302
    template.refresh_from_db()
    assert template.body == "Late text"


def test_delete(workspace, member, login):
    template = services.template_create(workspace=workspace, kind="brief", name="Mine", body="")
    response = login(member).post(_url(workspace, "docs:template-delete", template_id=template.id))
    assert response.status_code == 302
    assert not DocumentTemplate.objects.for_workspace(workspace).filter(id=template.id).exists()


def test_viewer_reads_but_cannot_write(workspace, viewer, login):
    template = services.templates_ensure(workspace=workspace)[0]
    client = login(viewer)
    assert client.get(_url(workspace, "docs:template-list")).status_code == 200
    assert (
        client.post(_url(workspace, "docs:template-new"), {"name": "x", "kind": "prd"}).status_code
        == 403
    )
    edit = _url(workspace, "docs:template-edit", template_id=template.id)
    assert client.post(edit, {"name": "x", "kind": "prd", "version": 1}).status_code == 403
    delete = _url(workspace, "docs:template-delete", template_id=template.id)
    assert client.post(delete).status_code == 403
    assert DocumentTemplate.objects.for_workspace(workspace).filter(id=template.id).exists()


def test_another_workspaces_template_is_404(workspace, other_workspace, member, login):
    foreign = services.templates_ensure(workspace=other_workspace)[0]
    client = login(member)
    assert (
        client.get(_url(workspace, "docs:template-edit", template_id=foreign.id)).status_code == 404
    )
    delete = _url(workspace, "docs:template-delete", template_id=foreign.id)
    assert client.post(delete).status_code == 404
    assert DocumentTemplate.objects.for_workspace(other_workspace).filter(id=foreign.id).exists()


def test_use_opens_a_new_document_with_that_template_chosen(workspace, member, login):
    template = services.template_create(
        workspace=workspace, kind="brief", name="Lean brief", body=""
    )
    page = login(member).get(_url(workspace, "docs:document-new") + f"?template={template.id}")
    html = page.content.decode()
    assert f'<option value="{template.id}" data-kind="brief" selected>' in html
    brief = html.split('value="brief"', 1)[1].split(">", 1)[0]
    assert "checked" in brief
