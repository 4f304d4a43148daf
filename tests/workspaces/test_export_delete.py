"""A workspace's export holds every row it owns and no secret; its deletion leaves none behind.

Tables are found in the database's own catalogue (information_schema), not in a list kept here,
so a table added later is checked the day it appears.
"""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.urls import include, path

from backlog.demo import demo_backlog_create
from discovery.demo import demo_discovery_create
from discovery.models import Company, Customer
from docs.demo import demo_docs_create
from pmhub import urls as project_urls
from pmhub.accounts.models import ApiToken
from pmhub.core.exceptions import ApplicationError
from pmhub.digests.demo import demo_digests_create
from pmhub.workspaces import export
from pmhub.workspaces.export import workspace_export, workspace_owned_models
from pmhub.workspaces.models import Workspace, WorkspaceOwnedModel
from pmhub.workspaces.services import invitation_create, workspace_delete
from roadmap.demo import demo_roadmap_create
from roadmap.models import Roadmap
from roadmap.services import roadmap_create
from roadmap.sharing import share_link_create

pytestmark = pytest.mark.django_db


def _demo(workspace, actor, *, full: bool = True) -> None:
    demo_discovery_create(workspace=workspace, actor=actor)
    if not full:
        return
    demo_backlog_create(workspace=workspace, actor=actor)
    demo_roadmap_create(workspace=workspace, actor=actor)
    demo_docs_create(workspace=workspace, actor=actor)
    assert demo_digests_create(workspace=workspace) is True


def _secrets(workspace, actor, make_token) -> list[str]:
    """Create a token, a share link and an invitation; return every secret they involve."""
    raw_token = make_token(actor, workspace)
    roadmap = Roadmap.objects.for_workspace(workspace).order_by("id").first()
    if roadmap is None:
        roadmap = roadmap_create(workspace=workspace, actor=actor, name="Board")
    link, raw_link = share_link_create(
        workspace=workspace, actor=actor, roadmap=roadmap, name="board", fields=None
    )
    invitation = invitation_create(
        workspace=workspace, actor=actor, email=f"new@{workspace.slug}.test", role="viewer"
    )
    token_hashes = list(
        ApiToken.objects.for_workspace(workspace).values_list("token_hash", flat=True)
    )
    return [raw_token, raw_link, link.token_hash, str(invitation.key), *token_hashes]


@pytest.fixture
def b_full() -> bool:
    return False


@pytest.fixture
def seeded(b_full, workspace, admin, member, other_workspace, outsider, make_token, login):
    """The demo in `workspace` (A); the demo's feedback, or with `b_full` all of it, in
    `other_workspace` (B); secrets of every kind in both."""
    _demo(workspace, admin)
    _demo(other_workspace, outsider, full=b_full)
    secrets = _secrets(workspace, admin, make_token) + _secrets(
        other_workspace, outsider, make_token
    )
    # Logged-in sessions, whose keys and data must not travel either.
    login(admin).get(f"/w/{workspace.slug}/")
    secrets += [key for (key,) in _query("SELECT session_key FROM django_session")]
    assert len(secrets) > 10
    secrets += [admin.password, member.password, outsider.password]
    return secrets


def _export(workspace: Workspace) -> tuple[str, dict]:
    text = "".join(workspace_export(workspace))
    return text, json.loads(text)


# --- the catalogue ----------------------------------------------------------------------------
def _query(sql: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall()


def _tables_with_workspace_id() -> list[str]:
    return [
        name
        for (name,) in _query(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public'"
            " AND column_name = 'workspace_id' ORDER BY table_name"
        )
    ]


def _all_tables() -> list[str]:
    return [
        name
        for (name,) in _query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            " AND table_type = 'BASE TABLE' ORDER BY table_name"
        )
    ]


def _foreign_keys() -> list[tuple[str, str, str, str]]:
    """(table, column, referenced table, referenced column) of every foreign key."""
    return _query(
        "SELECT kcu.table_name, kcu.column_name, ccu.table_name, ccu.column_name"
        " FROM information_schema.table_constraints tc"
        " JOIN information_schema.key_column_usage kcu"
        "   ON kcu.constraint_name = tc.constraint_name AND kcu.table_schema = tc.table_schema"
        " JOIN information_schema.constraint_column_usage ccu"
        "   ON ccu.constraint_name = tc.constraint_name AND ccu.table_schema = tc.table_schema"
        " WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = 'public'"
    )


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _checksum(table: str, where: str = "TRUE", params: list | None = None) -> tuple[int, str]:
    ((count, digest),) = _query(
        f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"  # noqa: S608 - names from the catalogue.
        f" FROM {_q(table)} t WHERE {where}",
        params,
    )
    return count, digest


# --- export -----------------------------------------------------------------------------------
def test_the_export_holds_every_owned_row_of_the_workspace_and_no_secret(
    seeded, workspace, other_workspace
):
    text, document = _export(workspace)

    assert document["format"] == "pmhub.workspace-export"
    assert document["workspace"]["slug"] == workspace.slug
    # The workspace row whole, its security settings too.
    columns = {f.attname for f in Workspace._meta.concrete_fields}
    assert set(document["workspace"]) == columns
    assert document["workspace"]["two_factor_required"] is False
    # Every tenant-owned model, found independently of the exporter, and every table of the
    # database that carries a workspace_id, is in the document.
    owned = {m._meta.label for m in _subclasses(WorkspaceOwnedModel) if not m._meta.abstract}
    assert set(document["models"]) == owned
    tables = {m._meta.db_table for m in workspace_owned_models()}
    assert set(_tables_with_workspace_id()) == tables
    for model in workspace_owned_models():
        rows = document["models"][model._meta.label]
        assert len(rows) == model.objects.for_workspace(workspace).count(), model._meta.label
        assert {row["workspace_id"] for row in rows} <= {workspace.id}, model._meta.label
        foreign = set(model.objects.for_workspace(other_workspace).values_list("pk", flat=True))
        assert not foreign & {row[model._meta.pk.attname] for row in rows}, model._meta.label
    # The demo fills most models; an empty export would pass the checks above.
    filled = [label for label, rows in document["models"].items() if rows]
    assert len(filled) >= 40, sorted(set(document["models"]) - set(filled))

    emails = {member["email"] for member in document["members"]}
    assert emails == {"alice@acme.test", "bob@acme.test"}
    assert set(document["members"][0]) == {"id", "email", "name", "role"}
    assert other_workspace.slug not in text
    assert "charlie@globex.test" not in text
    for secret in seeded:
        assert secret not in text
    assert "password" not in text
    assert "token_hash" not in text
    assert "search_vector" not in text  # generated by the database from the text


def _subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub} | _subclasses(sub)
    return found


def test_the_command_writes_the_export_to_a_file(workspace, admin, tmp_path, monkeypatch):
    demo_discovery_create(workspace=workspace, actor=admin)
    target = tmp_path / "acme.json"
    call_command("export_workspace", workspace.slug, str(target), stderr=StringIO())
    from_file = json.loads(target.read_text())
    # Pages far smaller than the tables: the keyset walk must give the same document.
    monkeypatch.setattr(export, "PAGE_SIZE", 7)
    _text, paged = _export(workspace)
    from_file.pop("exported_at"), paged.pop("exported_at")
    assert from_file == paged
    assert len(paged["models"]["discovery.Feedback"]) > 7
    assert not (tmp_path / "acme.json.partial").exists()

    out = StringIO()
    call_command("export_workspace", workspace.slug, "-", stdout=out)
    assert json.loads(out.getvalue())["workspace"]["id"] == workspace.id

    with pytest.raises(CommandError):
        call_command("export_workspace", "nowhere", str(target))


# --- delete -----------------------------------------------------------------------------------
def test_only_an_admin_typing_the_slug_deletes_a_workspace(workspace, admin, member):
    with pytest.raises(ApplicationError):
        workspace_delete(workspace=workspace, actor=member, confirm_slug=workspace.slug)
    with pytest.raises(ValidationError):
        workspace_delete(workspace=workspace, actor=admin, confirm_slug="acme-typo")
    assert Workspace.objects.filter(id=workspace.id).exists()


@pytest.mark.parametrize("b_full", [True])
def test_deleting_a_workspace_leaves_no_row_of_it_and_changes_nothing_else(
    seeded, workspace, admin, other_workspace
):
    a, b = workspace.id, other_workspace.id
    owned_tables = _tables_with_workspace_id()
    other_tables = [t for t in _all_tables() if t not in owned_tables]
    assert len(owned_tables) == len(workspace_owned_models())

    # The ids of A's rows, for every foreign key in the database that points at a table of A's.
    targets = {"workspaces_workspace": "id = %s"} | dict.fromkeys(owned_tables, "workspace_id = %s")
    references = [fk for fk in _foreign_keys() if fk[2] in targets]
    assert references, "the catalogue lists no foreign key into a workspace's tables"
    pointed_at = {
        (table, column): [
            value
            for (value,) in _query(
                f"SELECT {_q(column)} FROM {_q(table)} WHERE {targets[table]}",  # noqa: S608
                [a],
            )
        ]
        for _referrer, _col, table, column in references
    }
    before_b = {t: _checksum(t, "workspace_id = %s", [b]) for t in owned_tables}
    before_rest = {t: _checksum(t) for t in other_tables if t != "workspaces_workspace"}
    before_rest["workspaces_workspace"] = _checksum("workspaces_workspace", "id <> %s", [a])
    a_rows = sum(_checksum(t, "workspace_id = %s", [a])[0] for t in owned_tables)
    assert a_rows > 1000

    deleted = workspace_delete(workspace=workspace, actor=admin, confirm_slug="  ACME ")
    # Django's foreign keys are deferred to commit, which a test never reaches: check them now.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")

    assert sum(deleted.values()) == a_rows + 1
    leftovers = {t: n for t in owned_tables if (n := _checksum(t, "workspace_id = %s", [a])[0])}
    assert leftovers == {}
    assert not Workspace.objects.filter(id=a).exists()
    dangling = {}
    for referrer, col, table, column in references:
        ids = pointed_at[(table, column)]
        if ids:
            (count,) = _query(
                f"SELECT count(*) FROM {_q(referrer)} WHERE {_q(col)} = ANY(%s)",  # noqa: S608
                [ids],
            )[0]
            if count:
                dangling[f"{referrer}.{col} -> {table}.{column}"] = count
    assert dangling == {}

    assert {t: _checksum(t, "workspace_id = %s", [b]) for t in owned_tables} == before_b
    after_rest = {t: _checksum(t) for t in other_tables if t != "workspaces_workspace"}
    after_rest["workspaces_workspace"] = _checksum("workspaces_workspace", "id <> %s", [a])
    assert after_rest == before_rest
    assert before_b["backlog_item"][0] > 0


def test_a_row_elsewhere_pointing_into_the_workspace_stops_the_deletion_whole(
    workspace, admin, other_workspace
):
    # A tenancy bug's leftover: another workspace's customer at this workspace's company. The
    # deletion must refuse rather than leave it pointing at nothing (or quietly edit it).
    company = Company.objects.create(workspace=workspace, name="Initech")
    stray = Customer.objects.create(workspace=other_workspace, name="Peter", company=company)
    with pytest.raises(IntegrityError), transaction.atomic():
        workspace_delete(workspace=workspace, actor=admin, confirm_slug=workspace.slug)
    assert Workspace.objects.filter(id=workspace.id).exists()
    assert Company.objects.for_workspace(workspace).filter(id=company.id).exists()
    stray.refresh_from_db()
    assert stray.company_id == company.id


# --- the data page ----------------------------------------------------------------------------
# The data routes at the address the project gives them, whether or not the project's URL
# configuration includes them yet.
urlpatterns = [
    path("w/<slug:workspace_slug>/settings/data/", include("pmhub.workspaces.urls_data")),
    *project_urls.urlpatterns,
]
DATA_PAGES = ["", "export/", "delete/"]


@pytest.mark.urls(__name__)
def test_only_admins_reach_the_data_pages(workspace, admin, member, outsider, login):
    base = f"/w/{workspace.slug}/settings/data/"
    page = login(admin).get(base)
    assert page.status_code == 200
    assert b"Download export" in page.content
    assert b'name="confirm_slug"' in page.content
    for suffix in DATA_PAGES:
        method = "post" if suffix == "delete/" else "get"
        response = getattr(login(member), method)(base + suffix, {"confirm_slug": workspace.slug})
        assert response.status_code == 403, suffix
        response = getattr(login(outsider), method)(base + suffix, {"confirm_slug": workspace.slug})
        assert response.status_code == 404, suffix
    assert Workspace.objects.filter(id=workspace.id).exists()


@pytest.mark.urls(__name__)
def test_an_admin_downloads_the_export_and_it_is_audited(workspace, admin, login):
    response = login(admin).get(f"/w/{workspace.slug}/settings/data/export/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="pmhub-acme-')
    assert response["Cache-Control"] == "no-store"
    document = json.loads(b"".join(response.streaming_content))
    assert document["workspace"]["id"] == workspace.id
    assert document["models"]["workspaces.AuditEvent"][-1]["action"] == "workspace.exported"


@pytest.mark.urls(__name__)
def test_an_admin_deletes_the_workspace_by_typing_its_slug(workspace, admin, login):
    client = login(admin)
    url = f"/w/{workspace.slug}/settings/data/delete/"
    wrong = client.post(url, {"confirm_slug": "acm"})
    assert wrong.status_code == 400
    assert b"Type acme to confirm." in wrong.content
    assert Workspace.objects.filter(id=workspace.id).exists()

    response = client.post(url, {"confirm_slug": workspace.slug})
    assert response.status_code == 302
    assert not Workspace.objects.filter(id=workspace.id).exists()
    assert client.get(f"/w/{workspace.slug}/settings/data/").status_code == 404
