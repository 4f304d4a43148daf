"""pmhub.core.db: several querysets read in one round trip, and statements compiled once per
shape with each request's values bound in their places."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models.functions import Lower
from django.test.utils import CaptureQueriesContext

from backlog.models import ProductArea
from pmhub.core import db
from pmhub.core.db import (
    Bound,
    CompiledStatements,
    compile_statement,
    queryset_statement,
    querysets_read_together,
    querysets_read_together_compiled,
    statement_rows,
)
from pmhub.workspaces.models import Membership, Workspace

pytestmark = pytest.mark.django_db


def _areas(workspace, *names):
    for name in names:
        ProductArea.objects.create(workspace=workspace, name=name)


def test_querysets_read_together_answer_as_each_queryset_would_in_one_round_trip(
    workspace, other_workspace, member
):
    _areas(workspace, "Mobile", "Billing")
    _areas(other_workspace, "Elsewhere")
    querysets = lambda: (  # noqa: E731
        ProductArea.objects.for_workspace(workspace).order_by(Lower("name")),
        Membership.objects.for_workspace(workspace).select_related("user").order_by("id"),
        ProductArea.objects.for_workspace(workspace).filter(name="none").values_list("id"),
    )
    with CaptureQueriesContext(connection) as queries:
        together = querysets_read_together(*querysets())
    assert len(queries) == 1
    assert together == [list(queryset) for queryset in querysets()]
    assert [area.name for area in together[0]] == ["Billing", "Mobile"]
    # select_related rows come back as objects with their relation filled.
    with CaptureQueriesContext(connection) as queries:
        assert together[1][0].user == member
    assert len(queries) == 0


def test_a_queryset_that_matches_nothing_reads_each_on_its_own(workspace):
    _areas(workspace, "Mobile")
    areas, nothing = querysets_read_together(
        ProductArea.objects.for_workspace(workspace),
        ProductArea.objects.for_workspace(workspace).filter(id__in=[]),
    )
    assert [area.name for area in areas] == ["Mobile"]
    assert nothing == []


def _names(values):
    qs = ProductArea.objects.for_workspace(Workspace(id=values["workspace_id"]))
    return queryset_statement(qs.filter(name__gt=values["after"]).order_by("name").values("name"))


def test_a_compiled_statement_binds_each_requests_values(workspace, other_workspace):
    _areas(workspace, "Alpha", "Beta", "Gamma")
    _areas(other_workspace, "Delta")
    statements = CompiledStatements(kept=2)
    values = {"workspace_id": workspace.id, "after": "Alpha"}
    statement = statements.get("names", lambda: compile_statement(_names, values))
    assert statement is not None
    assert statement.names == ("name",)
    assert {p.name for p in statement.params if isinstance(p, Bound)} == {"workspace_id", "after"}
    assert statement_rows(statement, values) == [("Beta",), ("Gamma",)]
    # The same shape, another workspace: compiled once, bound again.
    again = statements.get("names", lambda: pytest.fail("compiled twice"))
    assert statement_rows(again, {"workspace_id": other_workspace.id, "after": ""}) == [("Delta",)]


def test_what_cannot_be_compiled_is_none_and_remembered(workspace):
    statements = CompiledStatements(kept=2)
    # A value of a type without stand-ins, and a part the ORM knows matches nothing.
    assert compile_statement(_names, {"workspace_id": workspace.id, "after": None}) is None
    nothing = lambda values: queryset_statement(  # noqa: E731
        ProductArea.objects.for_workspace(Workspace(id=values["workspace_id"]))
        .filter(id__in=[])
        .values("id")
    )
    assert (
        statements.get("nothing", lambda: compile_statement(nothing, {"workspace_id": 1})) is None
    )
    assert statements.get("nothing", lambda: pytest.fail("compiled twice")) is None
    # Only the newest `kept` shapes stay.
    for shape in ("a", "b"):
        statements.get(shape, lambda: None)
    assert [shape for shape, _ in statements.items()] == ["a", "b"]


def _page_reads(values):
    workspace = Workspace(id=values["workspace_id"])
    return (
        ProductArea.objects.for_workspace(workspace).order_by(Lower("name")),
        Membership.objects.for_workspace(workspace).select_related("user").order_by("id"),
        # cross-workspace: the user's own memberships, as the layout's switcher reads them.
        Membership.objects.unscoped()
        .select_related("workspace")
        .filter(user_id=values["user_id"])
        .order_by("workspace__name"),
    )


def test_reads_compiled_once_answer_as_the_orm_for_each_workspace_and_user(
    workspace, other_workspace, member, outsider
):
    _areas(workspace, "Mobile", "Billing")
    _areas(other_workspace, "Elsewhere")
    db._READS.clear()
    calls = [
        {"workspace_id": ws.id, "user_id": user.id}
        for ws, user in ((workspace, member), (other_workspace, outsider), (workspace, outsider))
    ]
    for values in calls:
        with CaptureQueriesContext(connection) as queries:
            compiled = querysets_read_together_compiled("page", _page_reads, values)
        assert len(queries) == 1
        assert compiled == [list(queryset) for queryset in _page_reads(values)]
        # The related rows came with them, as select_related reads them.
        with CaptureQueriesContext(connection) as queries:
            names = [m.workspace.name for m in compiled[2]]
            emails = [m.user.email for m in compiled[1]]
        assert len(queries) == 0
        orm = _page_reads(values)
        assert names == [m.workspace.name for m in orm[2]]
        assert emails == [m.user.email for m in orm[1]]
        assert names
    assert [area.name for area in compiled[0]] == ["Billing", "Mobile"]
    assert [shape for shape, reads in db._READS.items() if reads is not None] == ["page"]
