"""Schemathesis against /api/schema/ with a read-write token: no 5xx, no response off the schema.

Every operation of the OpenAPI document is fuzzed in-process (WSGI) against the real test
database. Path parameters mostly name real objects of a populated workspace, so the cases get
past the 404 and reach the handlers; each case runs in a savepoint that is rolled back, so a
DELETE in one case does not turn the next ones into 404s and a run is reproducible. The
coverage phase's cases are fixed when the module is collected, before the workspace exists, so
the test body (not a generation hook) swaps the real ids in.

PMHUB_FUZZ_EXAMPLES sets the generated cases per operation (CI: the default below); the
coverage phase adds its boundary cases on top.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from discovery.services import feedback_tag
from pmhub.accounts.services import api_token_create
from pmhub.digests import services as digests
from pmhub.workspaces.models import Membership
from roadmap.models import KeyResult
from roadmap.objectives import key_result_item_link
from tests.factories import MembershipFactory, WorkspaceFactory
from tests.test_tenancy_crawler import (
    _backlog_objects,
    _discovery_objects,
    _docs_objects,
    _roadmap_objects,
    world_values,
)

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("PMHUB_FUZZ_EXAMPLES", "10"))
# One case in REAL_SHARE keeps the generated path parameters: unknown ids must be clean 404s.
REAL_SHARE = 8

schema = schemathesis.openapi.from_wsgi("/api/schema/", WSGIHandler())

WORLD: dict[str, Any] = {}
RUN: dict[str, Any] = {
    "cases": 0,
    "statuses": Counter(),
    "per_operation": Counter(),
    "phases": Counter(),
    "operations": set(),
    "started": 0.0,
}


def _path_value(path: str, name: str) -> Any:
    """The real object a path parameter names in the fuzzed workspace."""
    values = WORLD["values"]
    if name == "evidence_id" and "/items/" in path:
        return values["item_evidence_id"]
    if name == "item_id" and "/placements/" in path:
        return values["placed_item_id"]
    if name == "item_id" and "/key-results/" in path:
        return values["key_result_item_id"]
    return values[name]


def _aim_at_real_objects(case: Any) -> None:
    """Point all but one case in REAL_SHARE (per operation, in run order) at real objects."""
    operation = case.operation.label
    RUN["per_operation"][operation] += 1
    if not case.path_parameters or RUN["per_operation"][operation] % REAL_SHARE == 0:
        return
    path = case.operation.path
    case.path_parameters = {name: _path_value(path, name) for name in case.path_parameters}


def _world() -> dict[str, Any]:
    # Its own address and people, so the tests below (conftest's "acme") can run in the module.
    workspace = WorkspaceFactory(name="Fuzz", slug="fuzz")
    admin = MembershipFactory(workspace=workspace, role="admin", user__email="a@fuzz.test").user
    member = MembershipFactory(workspace=workspace, role="editor", user__email="b@fuzz.test").user
    discovery = _discovery_objects(workspace, member)
    backlog = _backlog_objects(workspace, member, discovery)
    roadmap = _roadmap_objects(workspace, member, backlog["item_id"])
    key_result_item_link(
        workspace=workspace,
        actor=member,
        key_result=KeyResult.objects.for_workspace(workspace).get(id=roadmap["key_result_id"]),
        item_id=backlog["item_id"],
    )
    feedback_tag(
        workspace=workspace,
        actor=member,
        feedback_ids=[discovery["feedback_id"]],
        tag_id=discovery["tag_id"],
    )
    stakeholder = digests.stakeholder_create(workspace=workspace, email="dana@client.test")
    follow = digests.follow_add(
        workspace=workspace, stakeholder=stakeholder, item_id=backlog["item_id"]
    )
    _token, raw = api_token_create(workspace=workspace, user=admin, name="fuzz", access="write")
    return {
        "token": raw,
        "values": {
            **discovery,
            **backlog,
            **roadmap,
            **_docs_objects(workspace, member, backlog["item_id"]),
            "workspace_slug": workspace.slug,
            "member_id": Membership.objects.for_workspace(workspace).get(user=member).id,
            "stakeholder_id": stakeholder.id,
            "follow_id": follow.id,
            "placed_item_id": backlog["item_id"],
            "key_result_item_id": backlog["item_id"],
        },
    }


@pytest.fixture(scope="module")
def fuzz_world(django_db_setup: None, django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    """The populated workspace, built once in a transaction rolled back after the module.

    Django's WSGI handler closes a connection that is inside a transaction at the start and end
    of each request (close_old_connections); the test client unhooks it the same way.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        with django_db_blocker.unblock(), transaction.atomic():
            WORLD.update(_world())
            RUN["started"] = time.monotonic()
            yield WORLD
            transaction.set_rollback(True)
    finally:
        WORLD.clear()
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def body_is_documented(ctx: Any, response: Any, case: Any) -> bool | None:
    """A documented status that answers a body declares it: `{201: None}` on a view that
    answers JSON hides the body from clients, and from response_schema_conformance too."""
    responses = case.operation.definition.raw["responses"]
    documented = responses.get(str(response.status_code))
    # The coverage phase also sends methods the operation lacks (OPTIONS, TRACE...).
    if (
        not response.content
        or documented is None
        or case.method.upper() != case.operation.method.upper()
    ):
        return None
    if "content" not in documented:
        raise AssertionError(f"{response.status_code} answers a body its schema leaves out")
    return True


CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
    body_is_documented,
]


@schema.parametrize()
@hypothesis.settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_operation_survives_fuzzing(case: Any, fuzz_world: dict[str, Any]) -> None:
    _aim_at_real_objects(case)
    with transaction.atomic():
        response = case.call(headers={"Authorization": f"Bearer {fuzz_world['token']}"})
        transaction.set_rollback(True)
    RUN["cases"] += 1
    RUN["statuses"][response.status_code] += 1
    RUN["operations"].add(case.operation.label)
    RUN["phases"][case.meta.phase.name.value if case.meta else "explicit"] += 1
    case.validate_response(response, checks=CHECKS)


def test_the_fuzz_run_covered_every_operation(capsys: Any) -> None:
    """The figures of the run above (it runs first, in file order): cases, statuses, time."""
    if not RUN["cases"]:
        pytest.skip("the fuzz test was not selected")
    operations = {operation.ok().label for operation in schema.get_all_operations()}
    statuses = RUN["statuses"]
    reached = sum(n for code, n in statuses.items() if code != 404) / RUN["cases"]
    with capsys.disabled():
        print(
            f"\nAPI fuzz: {RUN['cases']} cases over {len(RUN['operations'])} operations in "
            f"{time.monotonic() - RUN['started']:.0f} s ({EXAMPLES} generated per operation); "
            f"phases {dict(RUN['phases'])}; statuses {dict(sorted(statuses.items()))}; "
            f"{reached:.0%} past the 404"
        )
    assert RUN["operations"] == operations
    # Most cases must reach a handler; a fall here means the real ids stopped being swapped in.
    assert reached >= 0.75


# --- what the fuzzer found, one regression test each ----------------------------------------
NOT_FOUND = {"message": "Not found.", "extra": {}}


def test_an_api_url_no_route_matches_is_a_json_404(workspace, admin, token_client):
    response = token_client(admin, workspace).get("/api/v1/workspaces/acme/companies/null,null/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == NOT_FOUND


def test_a_page_no_route_matches_is_still_the_html_404(workspace, admin, login):
    response = login(admin).get("/w/acme/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"] == "text/html; charset=utf-8"


def _conforms(template: str, method: str, response: Any) -> None:
    """Raise unless a test client's `response` is one the schema documents for the operation."""
    sent = requests.Request(method, f"http://localhost{response.wsgi_request.path}").prepare()
    answer = schemathesis.Response(
        status_code=response.status_code,
        headers={name.lower(): [value] for name, value in response.items()},
        content=response.content,
        request=sent,
        elapsed=0.0,
        verify=False,
    )
    operation = schema[template][method]
    operation.validate_response(answer)
    if response.content:
        assert "content" in operation.definition.raw["responses"][str(response.status_code)]


@pytest.mark.parametrize(
    ("template", "url"),
    [
        pytest.param("invitations/", "invitations/", id="invitations_case"),
        pytest.param("documents/", "documents/", id="documents_case"),
        pytest.param("releases/", "releases/", id="releases_case"),
        pytest.param("stakeholders/", "stakeholders/", id="stakeholders_case"),
        pytest.param("doc-templates/", "doc-templates/", id="templates_case"),
        pytest.param("items/", "items/", id="items_case"),
        pytest.param("items/", "items/?fields=title", id="items_some_fields_case"),
    ],
)
def test_a_paginated_list_is_documented_as_a_page(workspace, admin, token_client, template, url):
    from backlog.services import item_create

    item_create(workspace=workspace, actor=admin, title="Faster exports")

    response = token_client(admin, workspace).get(f"/api/v1/workspaces/acme/{url}")

    assert response.status_code == 200
    assert "results" in response.json()
    _conforms(f"/api/v1/workspaces/{{workspace_slug}}/{template}", "GET", response)


def test_an_unpaginated_list_is_documented_as_its_results(workspace, admin, token_client):
    from docs.models import Comment
    from docs.services import document_create
    from roadmap.models import LaunchTask, Release

    release = Release.objects.create(workspace=workspace, name="2026.12")
    LaunchTask.objects.create(workspace=workspace, release=release, title="Blog post")
    document = document_create(workspace=workspace, actor=admin, kind="prd", title="Exports")
    Comment.objects.create(
        workspace=workspace, document=document, author=admin, body="Why?", on_version=1
    )
    client = token_client(admin, workspace)

    tasks = client.get(f"/api/v1/workspaces/acme/releases/{release.id}/tasks/")
    comments = client.get(f"/api/v1/workspaces/acme/documents/{document.id}/comments/")

    assert [task["title"] for task in tasks.json()["results"]] == ["Blog post"]
    assert [comment["body"] for comment in comments.json()["results"]] == ["Why?"]
    prefix = "/api/v1/workspaces/{workspace_slug}"
    _conforms(f"{prefix}/releases/{{release_id}}/tasks/", "GET", tasks)
    _conforms(f"{prefix}/documents/{{document_id}}/comments/", "GET", comments)


def test_a_position_beyond_the_column_is_a_400(workspace, admin, token_client):
    from roadmap.models import KeyResult, Objective

    objective = Objective.objects.create(workspace=workspace, title="Win enterprise")
    key_result = KeyResult.objects.create(
        workspace=workspace, objective=objective, metric="ARR", target=10
    )
    client = token_client(admin, workspace)
    too_far = {"position": 2**31}

    created = client.post(
        "/api/v1/workspaces/acme/objectives/", {"title": "Grow", **too_far}, format="json"
    )
    changed = client.patch(
        f"/api/v1/workspaces/acme/objectives/{objective.id}/key-results/{key_result.id}/",
        too_far,
        format="json",
    )

    refusal = {
        "message": "Validation error",
        "extra": {
            "fields": {"position": ["Ensure this value is less than or equal to 2147483647."]}
        },
    }
    assert (created.status_code, created.json()) == (400, refusal)
    assert (changed.status_code, changed.json()) == (400, refusal)
    assert list(Objective.objects.for_workspace(workspace).values_list("title", flat=True)) == [
        "Win enterprise"
    ]


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        pytest.param({"plan": "pro\x00"}, "Null characters are not allowed.", id="nul_value_case"),
        pytest.param({"x\x00": 1}, "Null characters are not allowed.", id="nul_key_case"),
        pytest.param(
            {"tiers": [{"name": "\ud8bb"}]},
            "Surrogate characters are not allowed: U+D8BB.",
            id="lone_surrogate_deep_case",
        ),
    ],
)
def test_text_postgresql_cannot_store_in_free_form_attributes_is_a_400(
    workspace, admin, token_client, attributes, message
):
    from discovery.models import Company

    # Raw JSON: a lone surrogate arrives escaped (\\ud8bb), as no UTF-8 encoder would send it.
    body = json.dumps({"name": "Initech", "attributes": attributes})
    response = token_client(admin, workspace).post(
        "/api/v1/workspaces/acme/companies/", body, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json() == {
        "message": "Validation error",
        "extra": {"fields": {"attributes": [message]}},
    }
    assert Company.objects.for_workspace(workspace).count() == 0


def test_every_api_view_that_paginates_its_list_declares_it_for_the_schema():
    import inspect

    from tests.test_tenancy_crawler import all_routes

    list_views = {
        route.template: view
        for route in all_routes()
        if (view := getattr(route.callback, "cls", None)) is not None and hasattr(view, "get")
    }
    undeclared = [
        template
        for template, view in list_views.items()
        if "paginated_response(" in inspect.getsource(view.get)
        and getattr(view, "pagination_class", None) is None
    ]

    assert undeclared == []


def test_a_body_over_the_size_limit_is_a_documented_413(workspace, admin, token_client, settings):
    settings.PMHUB_MAX_REQUEST_BYTES = 1000
    body = json.dumps({"title": "Call", "transcript": "x" * 2000})

    response = token_client(admin, workspace).post(
        "/api/v1/workspaces/acme/interviews/", body, content_type="application/json"
    )

    assert response.status_code == 413
    assert response.json()["extra"] == {"limit": 1000}
    _conforms("/api/v1/workspaces/{workspace_slug}/interviews/", "POST", response)


def test_a_placement_answers_the_position_its_schema_declares(workspace, admin, token_client):
    from backlog.services import item_create
    from roadmap.services import roadmap_create

    item = item_create(workspace=workspace, actor=admin, title="Faster exports")
    board = roadmap_create(workspace=workspace, actor=admin, name="Board", kind="now_next_later")
    column = board.columns.order_by("position").first()
    placements = f"/api/v1/workspaces/acme/roadmaps/{board.id}/placements/"
    client = token_client(admin, workspace)

    added = client.post(placements, {"item_id": item.id, "column_id": column.id}, format="json")
    moved = client.patch(f"{placements}{item.id}/", {"column_id": column.id}, format="json")
    refused = client.delete(f"{placements}{item.id}/?reason=a%00b")

    assert (added.status_code, moved.status_code, refused.status_code) == (201, 200, 400)
    assert set(added.json()) == {"id", "column_id", "rank"}
    prefix = "/api/v1/workspaces/{workspace_slug}/roadmaps/{roadmap_id}/placements/"
    _conforms(prefix, "POST", added)
    _conforms(prefix + "{item_id}/", "PATCH", moved)
    assert refused.json()["extra"] == {"fields": {"reason": ["Null characters are not allowed."]}}
    assert board.placements.count() == 1


def test_linking_an_item_to_a_key_result_answers_the_body_its_schema_declares(
    workspace, admin, token_client
):
    from backlog.services import item_create
    from roadmap.models import KeyResult, Objective

    item = item_create(workspace=workspace, actor=admin, title="Faster exports")
    objective = Objective.objects.create(workspace=workspace, title="Win enterprise")
    key_result = KeyResult.objects.create(
        workspace=workspace, objective=objective, metric="ARR", target=10
    )
    template = (
        "/api/v1/workspaces/{workspace_slug}/objectives/{objective_id}"
        "/key-results/{key_result_id}/items/"
    )
    url = f"/api/v1/workspaces/acme/objectives/{objective.id}/key-results/{key_result.id}/items/"
    client = token_client(admin, workspace)

    linked = client.post(url, {"item_id": item.id}, format="json")
    again = client.post(url, {"item_id": item.id}, format="json")

    assert (linked.status_code, again.status_code) == (201, 200)
    assert linked.json() == again.json() == {"item_id": item.id}
    _conforms(template, "POST", linked)
    _conforms(template, "POST", again)


def _id_swaps() -> list[tuple[str, str, str]]:
    """(path, method, parameter) for every id parameter of every operation."""
    return [
        (operation.ok().path, operation.ok().method.upper(), name)
        for operation in schema.get_all_operations()
        for name in re.findall(r"\{(\w+)\}", operation.ok().path)
        if name != "workspace_slug"
    ]


@pytest.fixture
def crawler_values(workspace, other_workspace, admin, member, settings, tmp_path):
    """The tenancy crawler's objects of `workspace`, one of each kind, by URL argument."""
    return world_values(workspace, other_workspace, admin, member, settings, tmp_path)


def test_an_id_past_bigint_in_any_path_is_refused_cleanly(
    crawler_values, workspace, admin, token_client
):
    client = token_client(admin, workspace)
    answers = {}
    for path, method, name in _id_swaps():
        values = {**crawler_values, name: 2**64}
        url = re.sub(r"\{(\w+)\}", lambda m, values=values: str(values[m[1]]), path)
        response = getattr(client, method.lower())(url, {}, format="json")
        answers[(method, path, name)] = (response.status_code, response.get("Content-Type"))

    # 204: unlinking an item that is not linked is harmless, whatever its id.
    refused = {(404, "application/json"), (400, "application/json"), (204, None)}
    assert {swap: answer for swap, answer in answers.items() if answer not in refused} == {}


def test_a_body_of_a_type_the_operation_does_not_read_is_a_documented_415(
    workspace, admin, token_client
):
    client = token_client(admin, workspace)

    response = client.post("/api/v1/workspaces/acme/companies/", "name", content_type="text/plain")

    assert response.status_code == 415
    assert response.json() == {
        "message": 'Unsupported media type "text/plain" in request.',
        "extra": {},
    }
    _conforms("/api/v1/workspaces/{workspace_slug}/companies/", "POST", response)
