"""Object-level tenancy: another workspace's id, wherever a request can carry one, is refused and
leaves that workspace as it was.

Two workspaces, A and B, each hold one object of every kind a URL argument names (the tenancy
crawler's builders). An admin of A requests A's URLs with B's ids put in, one argument at a time
and all at once, by every method the route accepts, with a plausible body (pages as a browser and
as htmx asks for them; the API with a read-write token and with a session): every answer is 404.
Ids in request bodies and query strings (found in the OpenAPI schema and in the UI's forms) get
the answer an id that exists nowhere gets: a 400 or 404, never a link to B's row.

Every request runs in a savepoint, rolled back after checking inside it that B's rows are
unchanged (a checksum of every table with a workspace_id, B's workspace row and its members'
user rows) and that no row of A points at a row of B or at a user who is not A's member.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
from django.db import connection, transaction
from django.http import HttpResponse
from django.test import Client, override_settings
from psycopg import sql
from rest_framework.test import APIClient

from backlog.services import item_create, product_area_create
from discovery.services import FeedbackInput, feedback_create, insight_create, tag_create
from docs.services import document_create
from pmhub.accounts.models import User
from pmhub.accounts.services import api_token_create
from pmhub.core.access import PUBLIC, access_of
from pmhub.workspaces.export import workspace_owned_models
from pmhub.workspaces.models import Membership, Workspace
from pmhub.workspaces.roles import Role
from roadmap.models import Roadmap, RoadmapColumn
from roadmap.services import placement_add, roadmap_create
from tests.factories import MembershipFactory, WorkspaceFactory
from tests.test_tenancy_crawler import Route, _token_values, all_routes, world_values

pytestmark = pytest.mark.django_db

# URL arguments that name no object of a workspace, and why.
NOT_OBJECT_IDS = {
    "workspace_slug": "the workspace itself: the crawler's outsider checks cover it",
    "number": "a revision's ordinal within the document the URL names, not an id",
    "other_number": "a revision's ordinal within the document the URL names, not an id",
    "period": "an ISO week, the same string in every workspace",
    "token": "an invitation's signed link, its own credential",
    "uidb64": "a password reset's user reference, checked with its token",
    "share_token": "a share link's secret, its own credential",
    "digest_token": "a stakeholder's signed link, its own credential",
    "changelog_slug": "a public changelog's address (the workspace's slug)",
}
API = "/api/v1/workspaces/<slug:workspace_slug>"
MISSING = 2_000_000_000  # an id no row has
UI = "/w/<slug:workspace_slug>"
# Arguments that name another kind of object than the crawler's value of that name.
VALUE_KEY = {
    (f"{API}/items/<int:item_id>/evidence/<int:evidence_id>/", "evidence_id"): "item_evidence_id",
    # Boards place items in columns; dates and releases are set on a timeline.
    (f"{UI}/roadmap/roadmaps/<int:roadmap_id>/items/<int:item_id>/schedule/", "roadmap_id"): (
        "timeline_id"
    ),
}
# Removals that are harmless when there is nothing to remove (a second click, a stale page): the
# argument they remove by, when it names no such row of this workspace (another workspace's
# included), gets the answer an id that exists nowhere gets, and nothing changes.
IDEMPOTENT = {
    # tests/digests/test_pages.py: "a second click is no error".
    f"{UI}/digests/stakeholders/<int:stakeholder_id>/follows/<int:follow_id>/remove/": {
        "follow_id"
    },
    # "Unlink an item from a key result (harmless when it is not linked)".
    f"{UI}/roadmap/objectives/<int:objective_id>/key-results/<int:key_result_id>/items/"
    "<int:item_id>/unlink/": {"item_id"},
    f"{API}/objectives/<int:objective_id>/key-results/<int:key_result_id>/items/<int:item_id>/": {
        "item_id"
    },
    # The release page's "no longer exists; reload" notice, for an item gone since it loaded.
    f"{UI}/roadmap/releases/<int:release_id>/items/<int:item_id>/remove/": {"item_id"},
    f"{UI}/docs/<int:document_id>/links/<int:link_id>/remove/": {"link_id"},
    f"{UI}/docs/<int:document_id>/reviewers/<int:reviewer_id>/remove/": {"reviewer_id"},
}
# A body for form posts: the fields forms commonly take, with A's own ids, so that a view which
# validates its form before it looks up the URL's object still reaches the lookup.
FORM_FIELDS = {
    "name": "Swapped",
    "title": "Swapped",
    "text": "Swapped text",
    "body": "Swapped body",
    "label": "Swapped",
    "summary": "Swapped",
    "description": "Swapped",
    "pattern": "swapped",
    "email": "swapped@example.com",
    "role": "viewer",
    "status": "planned",
    "kind": "keyword",
    "value": "1",
    "reason": "swap",
    "note": "swap",
    "start": "0",
    "end": "4",
    "confirm": "acme",
}


def _key(route: Route, name: str) -> str:
    return VALUE_KEY.get((route.template, name), name)


def _object_arguments(route: Route) -> list[str]:
    return [p for p in route.parameters if p not in NOT_OBJECT_IDS]


SWAP_ROUTES = [r for r in all_routes() if _object_arguments(r)]


# --- B's rows, and links from A into B -------------------------------------------------------
def _tables_with_workspace_id() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public'"
            " AND column_name = 'workspace_id'"
        )
        return {name for (name,) in cursor.fetchall()}


CHECKSUM = sql.SQL(
    "SELECT {label}, count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
    " FROM {table} t WHERE {where}"
)
FOREIGN_ROW = sql.SQL(
    "SELECT {label}, count(*) FROM {table} c JOIN {target} p ON p.{key} = c.{column}"
    " WHERE c.workspace_id IN ({a}, {b}) AND p.workspace_id <> c.workspace_id"
)
# A user of another workspace who is no member of the row's (a member removed from A, still
# named as the author of A's rows, is no link to B).
STRANGER = sql.SQL(
    "SELECT {label}, count(*) FROM {table} c WHERE c.workspace_id IN ({a}, {b}) AND NOT EXISTS"
    " (SELECT 1 FROM"
    " workspaces_membership m WHERE m.workspace_id = c.workspace_id AND m.user_id = c.{column})"
    " AND EXISTS (SELECT 1 FROM workspaces_membership m"
    " WHERE m.workspace_id <> c.workspace_id AND m.user_id = c.{column})"
)


def _checksum_parts(b: int) -> dict[str, sql.Composed]:
    """Per table, a statement part giving (table, rows, md5 of rows) of B's rows: every
    tenant-owned table, B's workspace row, and its members' user rows."""
    scopes = {
        model._meta.db_table: sql.SQL("t.workspace_id = {}") for model in workspace_owned_models()
    }
    scopes["workspaces_workspace"] = sql.SQL("t.id = {}")
    scopes["accounts_user"] = sql.SQL(
        "t.id IN (SELECT user_id FROM workspaces_membership WHERE workspace_id = {})"
    )
    return {
        table: CHECKSUM.format(
            label=sql.Literal(table), table=sql.Identifier(table), where=where.format(b)
        )
        for table, where in scopes.items()
    }


def _link_parts(a: int, b: int) -> dict[str, list[sql.Composed]]:
    """Per tenant-owned table, a statement part per foreign key counting its rows that point
    into another workspace or (for users) at someone who is no member of the row's workspace;
    rows of A and B only, whatever other tests left in the database."""
    owned = set(workspace_owned_models())
    parts: dict[str, list[sql.Composed]] = {}
    for model in workspace_owned_models():
        for fk in model._meta.concrete_fields:
            if not fk.is_relation or fk.name == "workspace":
                continue
            names = {
                "label": sql.Literal(f"{model._meta.db_table}.{fk.column}"),
                "table": sql.Identifier(model._meta.db_table),
                "column": sql.Identifier(fk.column),
                "a": sql.Literal(a),
                "b": sql.Literal(b),
            }
            if fk.related_model in owned:
                target = fk.related_model._meta.db_table
                key = sql.Identifier(fk.target_field.column)
                part = FOREIGN_ROW.format(target=sql.Identifier(target), key=key, **names)
            elif fk.related_model is User and model is not Membership:
                part = STRANGER.format(**names)
            else:
                continue
            parts.setdefault(model._meta.db_table, []).append(part)
    return parts


def _union(parts: list[sql.Composed]) -> list[tuple[Any, ...]]:
    if not parts:
        return []
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL(" UNION ALL ").join(parts))
        return cursor.fetchall()


def _writes() -> dict[str, int]:
    """Rows this transaction has inserted, updated or deleted so far, savepoints included, per
    table: a request changed only the tables whose count moved."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_xact_user_tables"
        )
        return dict(cursor.fetchall())


@dataclass
class Outcome:
    status: int
    text: str
    location: str = ""
    written: set[str] = field(default_factory=set)
    b_changed: list[str] = field(default_factory=list)
    links: dict[str, int] = field(default_factory=dict)
    error: str = ""

    def problems(self) -> list[str]:
        checks = [
            (self.error, f"raised {self.error}"),
            (self.b_changed, f"changed B's {self.b_changed}"),
            (self.links, f"linked A to B: {self.links}"),
        ]
        return [message for failed, message in checks if failed]


@dataclass
class Swap:
    a: Workspace
    b: Workspace
    a_values: dict[str, Any]
    b_values: dict[str, Any]
    ui: Client
    api_session: APIClient
    api_token: APIClient
    anonymous: Client
    ui_htmx: Client
    checksum_parts: dict[str, sql.Composed] = field(default_factory=dict)
    link_parts: dict[str, list[sql.Composed]] = field(default_factory=dict)
    b_rows: dict[str, tuple[int, str]] = field(default_factory=dict)
    requests: int = 0

    def checksums(self, tables: Iterable[str]) -> dict[str, tuple[int, str]]:
        parts = [self.checksum_parts[t] for t in sorted(tables) if t in self.checksum_parts]
        return {table: (count, digest) for table, count, digest in _union(parts)}

    def links(self, tables: Iterable[str]) -> dict[str, int]:
        parts = [part for t in sorted(tables) for part in self.link_parts.get(t, [])]
        return {label: count for label, count in _union(parts) if count}

    def clients(self, route: Route) -> list[tuple[str, Client]]:
        if access_of(route.callback) == PUBLIC:
            return [("anonymous", self.anonymous)]
        if route.is_api:
            return [("token", self.api_token), ("session", self.api_session)]
        return [("session", self.ui), ("htmx", self.ui_htmx)]

    def request(
        self, client: Client, method: str, url: str, body: dict[str, Any] | None = None
    ) -> Outcome:
        """`method` on `url` in a savepoint that is rolled back, with what it did to B."""
        self.requests += 1
        kwargs: dict[str, Any] = {}
        if body is not None and method != "get":
            kwargs = (
                {"data": body, "format": "json"}
                if isinstance(client, APIClient)
                else {"data": body}
            )
        outcome = Outcome(status=0, text="")
        try:
            with transaction.atomic():
                before = _writes()
                response = getattr(client, method)(url, **kwargs)
                outcome.status = response.status_code
                outcome.location = response.get("Location", "")
                if not response.streaming:
                    outcome.text = response.content.decode(errors="replace")
                written = outcome.written = {t for t, n in _writes().items() if n != before.get(t)}
                rows = self.checksums(written)
                outcome.b_changed = sorted(t for t, v in rows.items() if self.b_rows[t] != v)
                outcome.links = self.links(written)
                transaction.set_rollback(True)
        except Exception as exc:  # noqa: BLE001 - a 500 is a finding, reported with the others.
            outcome.status = 500
            outcome.error = f"{type(exc).__name__}: {exc}"[:300]
        return outcome


def _people(workspace: Workspace) -> tuple[User, User]:
    admin = MembershipFactory(
        workspace=workspace, role=Role.ADMIN, user__email=f"admin@{workspace.slug}.test"
    ).user
    editor = MembershipFactory(
        workspace=workspace, role=Role.EDITOR, user__email=f"editor@{workspace.slug}.test"
    ).user
    return admin, editor


def _values(workspace, other, admin, editor, settings, tmp_path) -> dict[str, Any]:
    """The crawler's objects of `workspace`, and the few ids bodies name that URLs do not."""
    values = world_values(workspace, other, admin, editor, settings, tmp_path)
    area = product_area_create(workspace=workspace, actor=editor, name="Exports")
    timeline = roadmap_create(workspace=workspace, actor=editor, name="Dates", kind="timeline")
    columns = RoadmapColumn.objects.for_workspace(workspace).filter(roadmap_id=values["roadmap_id"])
    column_ids = list(columns.order_by("position").values_list("id", flat=True))
    second = item_create(workspace=workspace, actor=editor, title="Single sign-on")
    placement_add(
        workspace=workspace,
        actor=editor,
        roadmap=Roadmap.objects.for_workspace(workspace).get(id=values["roadmap_id"]),
        item=second,
        column_id=values["column_id"],
    )
    unplaced = item_create(workspace=workspace, actor=editor, title="Audit log")
    epic = item_create(workspace=workspace, actor=editor, title="Enterprise", kind="epic")
    decisions = [
        document_create(workspace=workspace, actor=editor, kind="decision", title=title)
        for title in ("Use Postgres", "Use Postgres 16")
    ]
    feedback = feedback_create(
        workspace=workspace,
        actor=editor,
        data=FeedbackInput(text="Exports fail again", customer_id=values["customer_id"]),
    )
    insight = insight_create(workspace=workspace, actor=editor, title="Audit matters")
    return {
        **values,
        "unplaced_item_id": unplaced.id,
        "epic_id": epic.id,
        "decision_id": decisions[0].id,
        "second_decision_id": decisions[1].id,
        "second_feedback_id": feedback.id,
        "second_insight_id": insight.id,
        "second_item_id": second.id,
        "second_tag_id": tag_create(workspace=workspace, actor=editor, name="Billing").id,
        "second_column_id": column_ids[1],
        "column_ids": column_ids,
        "area_id": area.id,
        "user_id": editor.id,
        "admin_user_id": admin.id,
        "timeline_id": timeline.id,
    }


@pytest.fixture(scope="module")
def swap(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[Swap]:
    """Both workspaces, built once for the module in a transaction rolled back at its end; each
    test runs in a savepoint of it, and each request in a savepoint of the test's."""
    from django.conf import settings

    tmp_path = tmp_path_factory.mktemp("id-swap")
    with (
        django_db_blocker.unblock(),
        override_settings(PMHUB_DEV_MAILDIR=str(tmp_path / "mail")),
    ):
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            a = WorkspaceFactory(name="Acme", slug="acme")
            b = WorkspaceFactory(name="Globex", slug="globex")
            a_admin, a_editor = _people(a)
            b_admin, b_editor = _people(b)
            a_values = _values(a, b, a_admin, a_editor, settings, tmp_path)
            b_values = _values(b, a, b_admin, b_editor, settings, tmp_path)
            ui = Client()
            ui.force_login(a_admin)
            api_session = APIClient()
            api_session.force_login(a_admin)
            _token, raw = api_token_create(workspace=a, user=a_admin, name="swap", access="write")
            api_token = APIClient()
            api_token.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
            # Pages answer htmx with partials, which some views draw from their own lookups.
            ui_htmx = Client(headers={"HX-Request": "true"})
            ui_htmx.force_login(a_admin)
            world = Swap(a, b, a_values, b_values, ui, api_session, api_token, Client(), ui_htmx)
            world.checksum_parts = _checksum_parts(b.id)
            world.link_parts = _link_parts(a.id, b.id)
            world.b_rows = world.checksums(world.checksum_parts)
            yield world
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


# --- the checks' own ground --------------------------------------------------------------------
def test_the_checksum_covers_every_table_with_a_workspace_and_b_fills_them(swap):
    owned = {model._meta.db_table for model in workspace_owned_models()}
    assert owned == _tables_with_workspace_id()
    assert set(swap.b_rows) == owned | {"workspaces_workspace", "accounts_user"}
    filled = {table for table, (count, _digest) in swap.b_rows.items() if count}
    assert len(filled) >= 40, sorted(set(swap.b_rows) - filled)
    assert swap.links(swap.link_parts) == {}, "the two worlds are already linked"


class _Writer:
    """A client whose POST runs `write` instead of a view, to show the checks see it."""

    def __init__(self, write: Any) -> None:
        self.write = write

    def post(self, url: str, **kwargs: Any) -> HttpResponse:
        self.write()
        return HttpResponse(status=204)


def test_the_checks_see_a_change_to_b_and_a_link_into_b(swap):
    from backlog.models import Item, ItemEvidence
    from discovery.models import Tag

    b_tags = Tag.objects.for_workspace(swap.b).filter(id=swap.b_values["tag_id"])
    renamed = swap.request(_Writer(lambda: b_tags.update(name="Changed")), "post", "/")
    linked = swap.request(
        _Writer(
            lambda: ItemEvidence.objects.create(
                workspace=swap.a, item_id=swap.a_values["item_id"],
                insight_id=swap.b_values["insight_id"],
            )
        ),
        "post",
        "/",
    )  # fmt: skip
    a_items = Item.objects.for_workspace(swap.a).filter(id=swap.a_values["item_id"])
    owned = swap.request(
        _Writer(lambda: a_items.update(owner=swap.b_values["user_id"])), "post", "/"
    )

    assert renamed.b_changed == ["discovery_tag"]
    assert linked.links == {"backlog_itemevidence.insight_id": 1}
    assert owned.links == {"backlog_item.owner_id": 1}
    assert b_tags.get().name == "Exports"  # each request's savepoint was rolled back


def test_child_tables_all_carry_a_workspace():
    """Rows reached only through a tenant-owned parent would escape the checksum: none exist."""
    owned = set(workspace_owned_models())
    from django.apps import apps

    children = [
        model._meta.label
        for model in apps.get_models(include_auto_created=True)
        if model not in owned
        and model is not Workspace
        and any(f.is_relation and f.related_model in owned for f in model._meta.concrete_fields)
    ]
    assert children == []


def test_every_route_argument_has_a_value_in_both_workspaces(swap):
    missing = {
        (r.template, p)
        for r in SWAP_ROUTES
        for p in _object_arguments(r)
        if _key(r, p) not in swap.a_values or _key(r, p) not in swap.b_values
    }
    assert missing == set()
    same = {p for r in SWAP_ROUTES for p in _object_arguments(r)}
    assert {p for p in same if swap.a_values[p] == swap.b_values[p]} == set()


# --- ids in the URL --------------------------------------------------------------------------
def _swapped_sets(route: Route) -> list[tuple[str, ...]]:
    names = _object_arguments(route)
    sets = [(name,) for name in names]
    if len(names) > 1:
        sets.append(tuple(names))
    return sets


def _api_body(route: Route, method: str, values: dict[str, Any]) -> dict[str, Any] | None:
    schema = _operation(route, method)
    if schema is None or "requestBody" not in schema:
        return None
    body_schema = _resolve(next(iter(schema["requestBody"]["content"].values()))["schema"])
    required = set(body_schema.get("required", []))
    # A PATCH body's schema requires nothing; send what the view's serializer itself requires.
    serializer = getattr(route.callback.cls, "InputSerializer", None)
    if method == "patch" and serializer is not None:
        required |= {name for name, f in serializer().fields.items() if f.required}
    return {
        name: _example(name, prop, route.template, values)
        for name, prop in body_schema.get("properties", {}).items()
        if name in required and not _resolve(prop).get("readOnly")
    }


def _body(route: Route, method: str, values: dict[str, Any]) -> dict[str, Any] | None:
    if method in {"get", "delete"}:
        return None
    if route.is_api:
        return _api_body(route, method, values)
    return FORM_FIELDS | {k: v for k, v in values.items() if k.endswith("_id")}


@pytest.mark.parametrize("route", SWAP_ROUTES, ids=lambda r: r.template)
def test_another_workspaces_id_in_the_url_is_404(route, swap):
    a_values = _token_values(route, swap.a_values)
    own = {p: a_values[_key(route, p)] for p in route.parameters}
    found = []
    for principal, client in swap.clients(route):
        for method in route.methods:
            body = _body(route, method, swap.a_values)
            baseline = swap.request(client, method, route.url(own), body)
            if baseline.status == 405:
                continue  # the view takes no such method, whatever the ids
            if baseline.status == 404 or baseline.problems():
                found.append((principal, method, "A's own", baseline.status, baseline.problems()))
                continue
            for names in _swapped_sets(route):
                url = route.url(own | {p: swap.b_values[_key(route, p)] for p in names})
                outcome = swap.request(client, method, url, body)
                if outcome.status == 404 and not outcome.problems():
                    continue
                if set(names) <= IDEMPOTENT.get(route.template, set()) and not outcome.problems():
                    nowhere = swap.request(
                        client, method, route.url(own | dict.fromkeys(names, MISSING)), body
                    )
                    if (outcome.status, outcome.location) == (nowhere.status, nowhere.location):
                        continue
                found.append(
                    (
                        principal,
                        method,
                        names,
                        outcome.status,
                        outcome.problems(),
                        outcome.text[:300],
                    )
                )
    assert found == [], "\n".join(map(str, found))


# --- ids in bodies and query strings --------------------------------------------------------
def _operation(route: Route, method: str) -> dict[str, Any] | None:
    path = re.sub(r"<(?:[^>:]+:)?([^>]+)>", r"{\1}", route.template)
    return _openapi()[0].get(path, {}).get(method)


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = _openapi()[1][schema["$ref"].rsplit("/", 1)[-1]]
    for key in ("allOf", "oneOf", "anyOf"):
        if key in schema:
            options = [_resolve(s) for s in schema[key] if s.get("type") != "null"]
            return {**schema, **options[0]} if options else schema
    return schema


def _example(name: str, prop: dict[str, Any], path: str, values: dict[str, Any]) -> Any:
    prop = _resolve(prop)
    reference = _reference(path, name)
    if reference is not None:
        value = values[reference]
        return [value] if prop.get("type") == "array" else value
    if "enum" in prop:
        return next(v for v in prop["enum"] if v not in (None, ""))
    kind, shape = prop.get("type"), prop.get("format")
    if kind == "string":
        return {
            "date": "2026-12-01",
            "date-time": "2026-12-01T10:00:00Z",
            "email": "swapped@example.com",
            "uri": "https://example.com/swapped",
        }.get(shape, "Swapped")
    if kind in {"integer", "number"}:
        return prop.get("minimum", 1)
    if kind == "boolean":
        return False
    if kind == "array":
        return []
    if kind == "object":
        return {}
    return None


@functools.cache
def _openapi() -> tuple[dict[str, Any], dict[str, Any]]:
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    return schema["paths"], schema["components"]["schemas"]


def _reference(path: str, name: str) -> str | None:
    """The world key of the object a body field or query parameter names, or None."""
    for (fragment, field_name), key in REFERENCE_IN_PATH.items():
        if field_name == name and fragment in path:
            return key
    name = name.rsplit(".", 1)[-1]
    bare = name.removesuffix("_ids").removesuffix("_id")
    for (fragment, field_name), key in REFERENCE_IN_PATH.items():
        if field_name == name and fragment in path:
            return key
    return REFERENCE.get(name, REFERENCE.get(bare))


# Body fields and query parameters that name an object, by name (`tag`, `tag_id`, `tag_ids`).
REFERENCE = {
    "company": "company_id",
    "customer": "customer_id",
    "participant": "customer_id",
    "tag": "tag_id",
    "feedback": "feedback_id",
    "highlight": "highlight_id",
    "insight": "insight_id",
    "item": "item_id",
    "after_item": "item_id",
    "before_item": "item_id",
    "owner": "user_id",
    "area": "area_id",
    "release": "release_id",
    "roadmap": "roadmap_id",
    "column": "column_id",
    "move_to": "column_id",
    "template": "template_id",
    "stakeholder": "stakeholder_id",
    "score_formula": "formula_id",
}
# The same name meaning another kind in one place: (fragment of the path, name) -> key.
# The first match wins. A second object of the kind where the first is the URL's own.
REFERENCE_IN_PATH = {
    ("/comments/", "parent_id"): "comment_id",
    ("/items/{item_id}/", "parent_id"): "second_item_id",
    ("/items/", "parent_id"): "item_id",
    ("/items/", "parent"): "item_id",
    ("/items/{item_id}/merge/", "into"): "second_item_id",
    ("/tags/{tag_id}/merge/", "into"): "second_tag_id",
    ("/placements/{item_id}/", "after_item_id"): "second_item_id",
    ("/placements/{item_id}/", "before_item_id"): "second_item_id",
    ("/columns/{column_id}/", "move_to"): "second_column_id",
    ("/follows/", "target_id"): "item_id",
    ("/items/bulk/", "items.id"): "item_id",
    ("/items/bulk/", "items.parent_id"): "epic_id",
}
# Integer fields and parameters that are no reference.
NOT_REFERENCES = {"page_size", "send_hour", "version", "position", "start", "end", "min_customers"}
# Fields the objects of a list need besides the required ones, by the list's name.
MEMBER_EXTRA = {"follows": {"kind": "item"}}
# Lists whose every member the request needs (a roadmap's columns, in their new order).
LIST_VALUES = {"column_ids": "column_ids"}
# Fields a body needs besides the required ones for the reference under test to mean anything.
BODY_EXTRA = {
    ("/follows/", "post"): {"kind": "item"},
    ("/customers/", "post"): {"name": "Swapped"},
    ("/documents/", "post"): {"kind": "prd"},
}


def _openapi_path(template: str) -> str:
    return re.sub(r"<(?:[^>:]+:)?([^>]+)>", r"{\1}", template)


ROUTE_OF_PATH = {_openapi_path(r.template): r for r in all_routes() if r.is_api}


def _is_integer(schema: dict[str, Any]) -> bool:
    schema = _resolve(schema)
    if schema.get("type") == "array":
        return _is_integer(schema.get("items", {}))
    return schema.get("type") == "integer"


def _fields(operation: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(where, name, schema) of each query parameter and body property of an operation."""
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "query":
            yield "query", parameter["name"], parameter["schema"]
    if "requestBody" in operation:
        body = _resolve(next(iter(operation["requestBody"]["content"].values()))["schema"])
        for name, prop in body.get("properties", {}).items():
            yield "body", name, prop
            members = _resolve(_resolve(prop).get("items", {}))
            for inner, inner_prop in members.get("properties", {}).items():
                yield "body", f"{name}.{inner}", inner_prop  # a list of objects: one deeper


@dataclass(frozen=True)
class FieldCase:
    path: str
    method: str
    where: str
    name: str
    key: str
    is_list: bool

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path} {self.where}:{self.name}"


def _api_cases() -> list[FieldCase]:
    return [
        FieldCase(path, method, where, name, key, _resolve(schema).get("type") == "array")
        for path, operations in _openapi()[0].items()
        for method, operation in operations.items()
        for where, name, schema in _fields(operation)
        if (key := _reference(path, name)) is not None
    ]


def test_every_integer_field_of_the_api_is_a_known_reference_or_not_one():
    unknown = {
        f"{method.upper()} {path} {where}:{name}"
        for path, operations in _openapi()[0].items()
        for method, operation in operations.items()
        for where, name, schema in _fields(operation)
        if _is_integer(schema)
        and _reference(path, name) is None
        and name.rsplit(".", 1)[-1] not in NOT_REFERENCES
    }
    assert unknown == set(), "say which object these name (REFERENCE) or that none (NOT_...)"


def _normal(text: str, ids: list[int]) -> str:
    for value in ids:
        text = re.sub(rf"\b{value}\b", "<id>", text)
    return text


def _as_sent(case: FieldCase, values: dict[str, Any], value: int) -> Any:
    """`value` in the shape the field takes: a list's first member replaced, for a list."""
    if not case.is_list:
        return value
    members = list(values.get(LIST_VALUES.get(case.name, ""), [values[case.key]]))
    return [value, *members[1:]]


def _member(case: FieldCase, outer: str, values: dict[str, Any]) -> dict[str, Any]:
    """The required fields of one object of the list `outer` of the case's body."""
    operation = _openapi()[0][case.path][case.method]
    body = _resolve(next(iter(operation["requestBody"]["content"].values()))["schema"])
    members = _resolve(_resolve(body["properties"][outer])["items"])
    return {
        name: _example(f"{outer}.{name}", prop, case.path, values)
        for name, prop in members.get("properties", {}).items()
        if name in members.get("required", [])
    } | MEMBER_EXTRA.get(outer, {})


@pytest.mark.parametrize("case", _api_cases(), ids=str)
def test_another_workspaces_id_in_an_api_body_or_query_is_refused(case, swap):
    route = ROUTE_OF_PATH[case.path]
    url = route.url({p: swap.a_values[_key(route, p)] for p in route.parameters})
    body = _api_body(route, case.method, swap.a_values) or {}
    for (fragment, method), extra in BODY_EXTRA.items():
        if fragment in case.path and method == case.method:
            body |= extra

    def send(value: int) -> Outcome:
        sent = _as_sent(case, swap.a_values, value)
        if case.where == "query":
            query = urlencode({case.name: sent}, doseq=True)
            return swap.request(swap.api_token, case.method, f"{url}?{query}")
        if "." in case.name:  # a field of the objects in a list: a list of one
            outer, inner = case.name.split(".")
            return swap.request(
                swap.api_token,
                case.method,
                url,
                body | {outer: [_member(case, outer, swap.a_values) | {inner: sent}]},
            )
        return swap.request(swap.api_token, case.method, url, body | {case.name: sent})

    own = send(swap.a_values[case.key])
    assert own.status < 400, ("A's own id", own.status, own.text[:300])
    assert own.problems() == []
    assert own.written or case.method == "get", "A's own id changed nothing: a better body?"
    theirs = send(swap.b_values[case.key])
    nowhere = send(MISSING)
    assert theirs.problems() == []
    assert theirs.status in ({200, 400, 404} if case.where == "query" else {400, 404}), (
        theirs.status,
        theirs.text[:300],
    )
    assert theirs.status == nowhere.status
    # Both ids written as <id> in both answers: B's id may equal an id of A's that either shows.
    ids = [swap.b_values[case.key], MISSING]
    assert _normal(theirs.text, ids) == _normal(nowhere.text, ids)


# --- ids in the UI's forms and query strings ------------------------------------------------
@dataclass(frozen=True)
class FormCase:
    """A form field (or a query parameter, for GET) of a UI route that names an object."""

    template: str  # after /w/<workspace_slug>
    name: str
    key: str  # the world key of what it names
    form: str = ""  # "module.Form.field" when a Django form reads it
    extra: tuple[tuple[str, str], ...] = ()  # other fields, "{key}" for A's value of a key
    method: str = "post"
    shape: str = "{}"  # how the id is written in the field

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.template} {self.name}"


def _case(template: str, name: str, key: str, form: str = "", /, **extra: str) -> FormCase:
    method = extra.pop("method", "post")
    shape = extra.pop("shape", "{}")
    return FormCase(template, name, key, form, tuple(extra.items()), method, shape)


D, IV = "discovery.forms", "discovery.interview_forms"
BF, RV = "backlog.forms", "roadmap.views.roadmaps"
FORM_CASES = [
    _case("/discovery/", "tag", "tag_id", f"{D}.InboxFilterForm", method="get"),
    _case("/discovery/", "company", "company_id", f"{D}.InboxFilterForm", method="get"),
    _case("/discovery/", "customer", "customer_id", f"{D}.InboxFilterForm", method="get"),
    _case("/discovery/feedback/new/", "customer", "customer_id", f"{D}.FeedbackCreateForm",
          text="Swapped", source="manual"),
    _case("/discovery/feedback/bulk/", "feedback_ids", "feedback_id", f"{D}.FeedbackBulkForm",
          action="archive"),
    _case("/discovery/feedback/bulk/", "tag_id", "tag_id", f"{D}.FeedbackBulkForm",
          action="tag", feedback_ids="{feedback_id}"),
    _case("/discovery/feedback/bulk/", "insight_id", "second_insight_id", f"{D}.FeedbackBulkForm",
          action="link", feedback_ids="{feedback_id}"),
    _case("/discovery/feedback/<feedback_id>/edit/", "customer", "customer_id",
          f"{IV}.FeedbackEditForm", text="Swapped", received_at="2026-11-01 10:00"),
    _case("/discovery/feedback/<feedback_id>/link/", "insight_id", "second_insight_id",
          f"{IV}.LinkInsightForm"),
    _case("/discovery/feedback/<feedback_id>/merge/", "into", "second_feedback_id",
          "discovery.views.feedback.MergeForm"),
    _case("/discovery/feedback/<feedback_id>/tag/", "tag_id", "second_tag_id", f"{IV}.TagIdForm"),
    _case("/discovery/highlights/<highlight_id>/tag/", "tag_id", "second_tag_id",
          f"{IV}.TagIdForm"),
    _case("/discovery/customers/new/", "company", "company_id", f"{D}.CustomerForm",
          name="Milton"),
    _case("/discovery/customers/new/", "company", "company_id", method="get"),
    _case("/discovery/customers/<customer_id>/edit/", "company", "company_id",
          f"{D}.CustomerForm", name="Peter"),
    _case("/discovery/tags/<tag_id>/merge/", "target", "second_tag_id", f"{D}.TagMergeForm"),
    _case("/discovery/interviews/new/", "participants", "customer_id", f"{IV}.InterviewForm",
          title="Swapped", transcript="Hello"),
    _case("/discovery/interviews/<interview_id>/edit/", "participants", "customer_id",
          f"{IV}.InterviewEditForm", title="Swapped", transcript="Hello", version="1"),
    _case("/discovery/interviews/<interview_id>/highlights/", "tag_ids", "tag_id",
          f"{IV}.HighlightForm", start="0", end="5"),
    _case("/discovery/insights/<insight_id>/evidence/", "feedback_id", "second_feedback_id",
          f"{IV}.EvidenceAddForm"),
    _case("/discovery/insights/<insight_id>/evidence/", "highlight_id", "highlight_id",
          f"{IV}.EvidenceAddForm"),
    _case("/backlog/items/<item_id>/move/", "after_id", "second_item_id",
          "backlog.forms.ItemMoveForm"),
    _case("/backlog/items/<item_id>/move/", "before_id", "second_item_id",
          "backlog.forms.ItemMoveForm"),
    _case("/backlog/", "tag", "tag_id", f"{BF}.ItemFilterForm", method="get"),
    _case("/backlog/", "owner", "user_id", f"{BF}.ItemFilterForm", method="get"),
    _case("/backlog/", "area", "area_id", f"{BF}.ItemFilterForm", method="get"),
    _case("/backlog/board/", "tag", "tag_id", method="get"),
    _case("/backlog/", "view", "saved_view_id", method="get"),
    _case("/backlog/items/new/", "area", "area_id", f"{BF}.ItemCreateForm", title="Swapped",
          kind="idea"),
    _case("/backlog/items/<item_id>/edit/", "parent", "epic_id",
          "backlog.forms.ItemEditForm", title="Swapped", version="1"),
    _case("/backlog/items/<item_id>/edit/", "owner", "user_id", "backlog.forms.ItemEditForm",
          title="Swapped", version="1"),
    _case("/backlog/items/<item_id>/edit/", "area", "area_id", "backlog.forms.ItemEditForm",
          title="Swapped", version="1"),
    _case("/backlog/items/<item_id>/parents/", "parent", "second_item_id", method="get"),
    # The table's cell editor: `value` is an id when `field` is owner or area.
    _case("/backlog/items/<item_id>/cell/", "value", "user_id", field="owner", version="1"),
    _case("/backlog/items/<item_id>/cell/", "value", "area_id", field="area", version="1"),
    _case("/backlog/items/<item_id>/importance/", "customer_id", "customer_id",
          "backlog.forms.ImportanceForm", importance="important"),
    _case("/backlog/items/<item_id>/evidence/", "insight_id", "second_insight_id",
          "backlog.forms.EvidenceLinkForm"),
    _case("/backlog/items/<item_id>/evidence/", "feedback_id", "feedback_id",
          "backlog.forms.EvidenceLinkForm"),
    _case("/backlog/link/save/", "item_id", "item_id", feedback_id="{feedback_id}"),
    _case("/roadmap/roadmaps/<roadmap_id>/", "tag", "tag_id", f"{RV}.RoadmapFilterForm",
          method="get"),
    _case("/roadmap/roadmaps/<roadmap_id>/", "owner", "user_id", f"{RV}.RoadmapFilterForm",
          method="get"),
    _case("/roadmap/roadmaps/<roadmap_id>/", "area", "area_id", f"{RV}.RoadmapFilterForm",
          method="get"),
    _case("/roadmap/roadmaps/new/", "tag", "tag_id", f"{RV}.RoadmapForm", name="Swapped",
          kind="now_next_later", scale="month"),
    _case("/roadmap/roadmaps/new/", "owner", "user_id", f"{RV}.RoadmapForm", name="Swapped",
          kind="now_next_later", scale="month"),
    _case("/roadmap/roadmaps/<roadmap_id>/edit/", "area", "area_id", f"{RV}.RoadmapForm",
          name="Swapped", kind="now_next_later", scale="month"),
    _case("/roadmap/roadmaps/<roadmap_id>/items/add/", "item_id", "unplaced_item_id",
          "roadmap.views.roadmaps.AddForm", column_id="{column_id}"),
    _case("/roadmap/roadmaps/<roadmap_id>/items/add/", "column_id", "column_id",
          "roadmap.views.roadmaps.AddForm", item_id="{unplaced_item_id}"),
    _case("/roadmap/roadmaps/<roadmap_id>/items/search/", "column_id", "column_id",
          method="get"),
    _case("/roadmap/roadmaps/<roadmap_id>/items/<item_id>/move/", "column_id",
          "second_column_id", "roadmap.views.roadmaps.MoveForm", reason="Swapped"),
    _case("/roadmap/roadmaps/<roadmap_id>/items/<item_id>/move/", "after_item_id",
          "second_item_id", "roadmap.views.roadmaps.MoveForm", column_id="{column_id}"),
    _case("/roadmap/roadmaps/<roadmap_id>/items/<item_id>/move/", "before_item_id",
          "second_item_id", "roadmap.views.roadmaps.MoveForm", column_id="{column_id}"),
    _case("/roadmap/roadmaps/<timeline_id>/items/<item_id>/schedule/", "release_id",
          "release_id", "roadmap.views.roadmaps.ScheduleForm"),
    _case("/roadmap/roadmaps/<roadmap_id>/columns/<column_id>/delete/", "move_to",
          "second_column_id"),
    _case("/roadmap/releases/<release_id>/items/", "item_id", "item_id"),
    _case("/roadmap/releases/<release_id>/tasks/", "owner", "user_id",
          "roadmap.views.releases.LaunchTaskForm", title="Swapped", team="marketing"),
    _case("/roadmap/releases/<release_id>/tasks/<launch_task_id>/edit/", "owner", "user_id",
          "roadmap.views.releases.LaunchTaskForm", title="Swapped", team="marketing"),
    _case("/roadmap/objectives/new/", "owner", "user_id", "roadmap.views.objectives.ObjectiveForm",
          title="Swapped"),
    _case("/roadmap/objectives/<objective_id>/edit/", "owner", "user_id",
          "roadmap.views.objectives.ObjectiveForm", title="Swapped"),
    _case("/roadmap/objectives/<objective_id>/items/link/", "key_result_id", "key_result_id",
          item_id="{item_id}"),
    _case("/roadmap/objectives/<objective_id>/items/link/", "item_id", "item_id",
          key_result_id="{key_result_id}"),
    _case("/docs/new/", "template", "template_id", "docs.views.documents.DocumentNewForm",
          kind="prd", title="Swapped"),
    _case("/docs/new/", "template", "template_id", method="get", kind="prd"),
    _case("/docs/<document_id>/details/", "owner", "user_id"),
    _case("/docs/<decision_id>/details/", "superseded_by", "second_decision_id",
          decision_status="superseded"),
    _case("/docs/<document_id>/links/", "target_id", "second_item_id", kind="item"),
    _case("/docs/<document_id>/links/", "target_id", "insight_id", kind="insight"),
    _case("/docs/<document_id>/links/", "target_id", "release_id", kind="release"),
    _case("/docs/<document_id>/reviewers/add/", "user", "admin_user_id"),
    _case("/docs/<document_id>/comments/add/", "parent", "comment_id", body="Agreed"),
    _case("/digests/stakeholders/<stakeholder_id>/follows/", "target", "second_item_id",
          "pmhub.digests.forms.FollowForm", shape="item:{}"),
    _case("/settings/audit/", "actor", "user_id", "pmhub.workspaces.forms.AuditFilterForm",
          method="get"),
]  # fmt: skip
# Form fields that look like references and are none, or are read by no route.
FORM_FIELDS_NOT_REFERENCES = {
    "discovery.views.themes.ThemeAcceptForm.job_id": "a theme job of this workspace, read by"
    " (workspace, id) in the view; its proposals are a cache entry, not rows",
    "roadmap.views.objectives.KeyResultForm.target": "a number to reach, not an id",
    "roadmap.views.roadmaps.RoadmapForm.columns": "the new board's column names, one a line",
}


def _form_classes() -> dict[str, type]:
    from django import forms

    for route in all_routes():  # import every view module, and the forms they use
        assert route.callback is not None
    found: dict[str, type] = {}
    pending = list(forms.BaseForm.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.split(".")[0] in {"discovery", "backlog", "roadmap", "docs", "pmhub"}:
            found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return found


def _looks_like_a_reference(name: str, form_field: Any) -> bool:
    from django import forms

    if isinstance(form_field, forms.ModelChoiceField):
        return True
    bare = name.removesuffix("_ids").removesuffix("_id")
    plural = bare.removesuffix("s")
    named = {*REFERENCE, "target", "into", "parent", "actor", "user", "job"}
    return name.endswith(("_id", "_ids")) or bare in named or plural in named


def test_every_form_field_naming_an_object_has_a_case():
    covered = {case.form + "." + case.name for case in FORM_CASES if case.form}
    looking = {
        f"{label}.{name}"
        for label, cls in _form_classes().items()
        for name, form_field in cls.base_fields.items()
        if _looks_like_a_reference(name, form_field)
    }
    assert looking - covered - set(FORM_FIELDS_NOT_REFERENCES) == set()
    assert covered - looking == set()


def _page(text: str, ids: list[int]) -> str:
    """A page without what differs between two requests for it (nonces, CSRF tokens), `ids`
    written as <id>."""
    text = re.sub(r'nonce="[^"]*"', "nonce", text)
    text = re.sub(r"\b[A-Za-z0-9]{64}\b", "<csrf token>", text)
    return _normal(text, ids)


def _errors(page: str) -> list[str]:
    """The error messages of a page, for a failure's message."""
    return re.findall(r"errorlist[^>]*>\s*<li>([^<]{1,200})", page)


@pytest.mark.parametrize("case", FORM_CASES, ids=str)
def test_another_workspaces_id_in_a_form_or_query_is_refused(case, swap):
    a = swap.a_values
    url = UI.replace("<slug:workspace_slug>", a["workspace_slug"]) + re.sub(
        r"<(\w+)>", lambda m: str(a[m[1]]), case.template
    )
    extra = {name: value.format(**a) for name, value in case.extra}

    def send(value: int) -> Outcome:
        data = extra | {case.name: case.shape.format(value)}
        if case.method == "get":
            return swap.request(swap.ui, "get", f"{url}?{urlencode(data)}")
        return swap.request(swap.ui, "post", url, data)

    own = send(a[case.key])
    assert own.status < 400, ("A's own id", own.status, _errors(own.text))
    assert own.problems() == []
    assert own.written or case.method == "get", "A's own id changed nothing: a better body?"
    theirs = send(swap.b_values[case.key])
    nowhere = send(MISSING)
    assert theirs.problems() == []
    assert theirs.status < 500
    assert (theirs.status, theirs.location) == (nowhere.status, nowhere.location), theirs.text[:300]
    if case.method == "get":  # a filter by B's id shows what a filter by no row's id shows
        ids = [swap.b_values[case.key], MISSING]  # as <id> in both: see the API's test
        assert _page(theirs.text, ids) == _page(nowhere.text, ids)
