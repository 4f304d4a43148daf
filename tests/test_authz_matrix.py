"""The authorization matrix: every route × principal × method against pmhub.core.policy.

The world (tests.test_tenancy_crawler's objects, made by an editor) is built once for the module
in a transaction rolled back at the end; each request runs in a savepoint rolled back after it,
so a write that is allowed leaves nothing for the next case. Principals:

- anonymous: no session, no token; stakeholder: the same, holding the signed token the LINK
  pages read (everyone else sends those pages a forged token);
- outsider: signed in, an admin of another workspace; foreign token: that admin's read-write
  API token;
- viewer, editor, admin: signed-in members of the workspace (the editor created the objects
  and reviews the document, so the OWNER and REVIEWER rules let them through);
- read token: the admin's read-only API token, so only its access refuses a write;
- write token: the editor's read-write API token, so its member's role still counts.

An allowed request passed authorization: any 2xx or 3xx but a redirect to the login page, or
a 400/409/412/415/422 about the (empty) body. A refused one answers exactly: 302 to the login page
(anonymous on a page), 401 (anonymous on the API), 404 (outsider, foreign token, forged link;
a forged digest link whose signature fails is a 400), 403 (a member below the role, a
read-only token writing). A method the policy does not list answers 405. A refused request
writes nothing (but the session and a token's last use), and a GET writes only what GET_WRITES
lists.
"""

from __future__ import annotations

import re
import time
import types
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import connection, reset_queries, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from docs.models import Comment, Reviewer
from pmhub.accounts.services import api_token_create
from pmhub.core import policy
from pmhub.workspaces.roles import Role
from roadmap.models import KeyResult
from roadmap.objectives import key_result_item_link
from roadmap.services import roadmap_create
from tests.factories import MembershipFactory, WorkspaceFactory
from tests.test_tenancy_crawler import (
    Route,
    _docs_objects,
    _token_values,
    _without_converters,
    all_routes,
    world_values,
)

# The marker has pytest-django set the test database up; the world lives in `matrix`.
pytestmark = pytest.mark.django_db

PRINCIPALS = (
    "anonymous",
    "stakeholder",
    "outsider",
    "foreign token",
    "viewer",
    "editor",
    "admin",
    "read token",
    "write token",
)
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
MEMBER_RANK = {policy.VIEWER: 1, policy.EDITOR: 2, policy.ADMIN: 3}
# The editor made the world's objects (and reviews its document); the write token is theirs.
CREATOR = {"editor", "write token"}
PRINCIPAL_RANK = {"viewer": 1, "editor": 2, "admin": 3, "read token": 3, "write token": 2}
ALLOWED = "allowed"
LOGIN = "302 to login"
# Answers that still prove the request passed authorization.
PASSED = {200, 201, 202, 204, 301, 302, 303, 304, 400, 409, 412, 415, 422}
# /health/ reports a stopped worker (none runs here) as 503: an answer, not a refusal.
ALSO_PASSED = {"/health/": {503}}
# Logging out, or the second login step with no first step, sends everyone to the login page.
SENDS_TO_LOGIN = {"/accounts/logout/", "/accounts/login/two-factor/"}
# The digest pages answer a link whose signature fails with 400, the share pages with 404.
FORGED_LINK = {"share_token": "forged", "digest_token": "forged.link"}

# Routes that need another object than the crawler's to get past their own checks: dates go on
# a timeline (a board answers 404), an item's evidence is its link to an insight (not the
# insight's evidence). A verdict needs a body to reach the reviewer check.
OTHER_VALUES = {
    "/w/<workspace_slug>/roadmap/roadmaps/<roadmap_id>/items/<item_id>/schedule/": {
        "roadmap_id": "timeline_id"
    },
    "/api/v1/workspaces/<workspace_slug>/items/<item_id>/evidence/<evidence_id>/": {
        "evidence_id": "item_evidence_id"
    },
}
BODIES = {"/w/<workspace_slug>/docs/<document_id>/review/verdict/": {"verdict": "approved"}}

# A refused request writes nothing but this bookkeeping: the session, a token's last use.
BOOKKEEPING = {"django_session", "accounts_apitoken"}
# What a GET may write besides (a link in another site can make a browser send one).
GET_WRITES = {
    "workspaces_auditevent": "downloading the workspace's export is recorded",
    "roadmap_sharelink": "a share link counts its views",
    "digests_digestsettings": "a workspace's digest settings are made when first read",
    "accounts_twofactor": "opening two-factor setup makes the secret to confirm",
}
WRITE = re.compile(r'\s*(?:INSERT INTO|UPDATE|DELETE FROM)\s+"?(\w+)"?', re.IGNORECASE)

RUN: dict[str, Any] = {}


def _rule(route: Route) -> policy.Rule | None:
    return policy.declared().get(_without_converters(route.template))


def _expected(route: Route, rule: policy.Rule, principal: str, method: str) -> str | int:
    """ALLOWED, or the status (or LOGIN) the policy's refusal takes for this principal."""
    need = rule[method]
    is_token = principal.endswith("token")
    signed_in = principal in {"outsider", "viewer", "editor", "admin"}
    if need == policy.ANYONE:
        return ALLOWED
    if need == policy.LINK:
        return ALLOWED if principal == "stakeholder" else "forged link"
    if not route.is_api and is_token:
        signed_in = False  # tokens open API routes only
    if not (signed_in or (route.is_api and is_token)):
        return 401 if route.is_api else LOGIN
    if need == policy.USER:
        return ALLOWED
    if principal in {"outsider", "foreign token"}:
        return 404
    if principal == "read token" and policy.TOKEN_ACCESS[method] == policy.WRITE:
        return 403
    creator = principal in CREATOR
    if need == policy.REVIEWER:
        return ALLOWED if creator else 403
    if need == policy.OWNER:
        return ALLOWED if creator or PRINCIPAL_RANK[principal] == MEMBER_RANK[policy.ADMIN] else 403
    least = policy.EDITOR if need == policy.OWNER_OR_EDITOR else need
    return ALLOWED if PRINCIPAL_RANK[principal] >= MEMBER_RANK[least] else 403


def _verdict(route: Route, expected: str | int, response: Any) -> bool:
    status = response.status_code
    location = response.get("Location", "") if 300 <= status < 400 else ""
    if expected == ALLOWED:
        return status in PASSED | ALSO_PASSED.get(route.template, set()) and not (
            location.startswith("/accounts/login/") and route.template not in SENDS_TO_LOGIN
        )
    if expected == LOGIN:
        return status == 302 and location.startswith("/accounts/login/")
    if expected == "forged link":
        return status == (400 if "<str:digest_token>" in route.template else 404)
    return status == expected


@pytest.fixture(scope="module")
def matrix(django_db_setup: None, django_db_blocker: Any, tmp_path_factory) -> Iterator[dict]:
    """The world and each principal's credentials, in a transaction rolled back at the end."""
    mail = types.SimpleNamespace()
    with django_db_blocker.unblock(), transaction.atomic():
        # Names of their own: the regression tests below make conftest's Acme and Globex.
        workspace = WorkspaceFactory(name="Matrix", slug="matrix")
        other = WorkspaceFactory(name="Elsewhere", slug="elsewhere")
        people = {
            role: MembershipFactory(
                workspace=workspace, role=role, user__email=f"{role}@matrix.test"
            ).user
            for role in (Role.VIEWER, Role.EDITOR, Role.ADMIN)
        }
        outsider = MembershipFactory(
            workspace=other, role=Role.ADMIN, user__email="outsider@elsewhere.test"
        ).user
        locked = WorkspaceFactory(name="Locked", slug="locked", two_factor_required=True)
        unverified = MembershipFactory(
            workspace=locked, role=Role.ADMIN, user__email="admin@locked.test"
        ).user
        values = world_values(
            workspace,
            other,
            people[Role.ADMIN],
            people[Role.EDITOR],
            mail,
            tmp_path_factory.mktemp("matrix"),
        )
        # The item under its key result, so that unlinking it is a removal of something there.
        key_result_item_link(
            workspace=workspace,
            actor=people[Role.EDITOR],
            key_result=KeyResult.objects.for_workspace(workspace).get(id=values["key_result_id"]),
            item_id=values["item_id"],
        )
        values["timeline_id"] = roadmap_create(
            workspace=workspace, actor=people[Role.EDITOR], name="Timeline", kind="timeline"
        ).id
        credentials: dict[str, dict[str, Any]] = {"anonymous": {}, "stakeholder": {}}
        for principal, user in (
            ("outsider", outsider),
            ("no two-factor", unverified),
            *people.items(),
        ):
            client = APIClient()
            client.force_login(user)
            credentials[str(principal)] = {"cookie": client.cookies[settings.SESSION_COOKIE_NAME]}
        for principal, token_workspace, user, access in (
            ("foreign token", other, outsider, "write"),
            ("read token", workspace, people[Role.ADMIN], "read"),
            ("write token", workspace, people[Role.EDITOR], "write"),
            ("no two-factor token", locked, unverified, "write"),
        ):
            _token, raw = api_token_create(
                workspace=token_workspace, user=user, name=principal, access=access
            )
            credentials[principal] = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
        with override_settings(PMHUB_DEV_MAILDIR=mail.PMHUB_DEV_MAILDIR):
            yield {"values": values, "credentials": credentials, "locked": locked.slug}
        transaction.set_rollback(True)


def _send(route: Route, url: str, method: str, credentials: dict[str, Any]) -> tuple[Any, set]:
    """One request in a savepoint rolled back after it, a streamed body read inside; with the
    tables it wrote to."""
    client = APIClient()
    headers = dict(credentials)
    cookie = headers.pop("cookie", None)
    if cookie is not None:
        client.cookies[settings.SESSION_COOKIE_NAME] = cookie.value
    send = getattr(client, method.lower())
    reset_queries()
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        if route.is_api:
            response = send(url, {}, format="json", **headers)
        else:
            response = send(url, BODIES.get(_without_converters(route.template)), **headers)
        if response.streaming:
            # Read to the end, the client's wrapper then closes it (closing it again would fire
            # request_finished, and close_old_connections would close the open transaction).
            b"".join(response.streaming_content)
        transaction.set_rollback(True)
    written = {m[1] for q in queries.captured_queries if (m := WRITE.match(q["sql"]))}
    return response, written


def _url(route: Route, values: dict[str, Any], principal: str) -> str:
    values = _token_values(route, values)
    for name, other in OTHER_VALUES.get(_without_converters(route.template), {}).items():
        values = {**values, name: values[other]}
    if principal != "stakeholder":
        values = {**values, **FORGED_LINK}
    return route.url(values)


def _cases(route: Route, rule: policy.Rule) -> Iterator[tuple[str, str, str | int]]:
    """(principal, method, expected) for every declared method and principal, and 405 for each
    method the policy does not list, sent by a principal the route lets in."""
    for method in METHODS:
        if method in rule:
            for principal in PRINCIPALS:
                yield principal, method, _expected(route, rule, principal, method)
        else:
            yield _probe(rule), method, 405


def _probe(rule: policy.Rule) -> str:
    """Who sends a method the route does not take: on a public page someone anonymous (Django's
    login page sends the signed-in away before it looks at the method), on a workspace's an
    admin (roles are checked before methods)."""
    least = next(iter(rule.values()))
    return {policy.ANYONE: "anonymous", policy.LINK: "stakeholder", policy.USER: "outsider"}.get(
        least, "admin"
    )


def test_every_route_is_declared_and_every_declaration_is_a_route():
    templates = {_without_converters(r.template) for r in all_routes()}
    undeclared = sorted(templates - set(policy.declared()))
    stale = sorted(set(policy.declared()) - templates)
    assert (undeclared, stale) == ([], []), (
        f"declare these routes in pmhub/core/policy.py: {undeclared}; "
        f"these declarations name no route: {stale}"
    )


def test_every_method_is_one_the_policy_knows():
    known = {
        policy.ANYONE,
        policy.LINK,
        policy.USER,
        policy.OWNER,
        policy.OWNER_OR_EDITOR,
        policy.REVIEWER,
        *MEMBER_RANK,
    }
    wrong = {
        (path, method, need)
        for path, rule in policy.declared().items()
        for method, need in rule.items()
        if method not in METHODS or need not in known
    }
    assert wrong == set()


def test_every_route_principal_and_method_answers_as_the_policy_says(matrix):
    started = time.monotonic()
    mismatches: list[str] = []
    requests = 0
    for route in all_routes():
        rule = _rule(route)
        if rule is None:
            continue  # test_every_route_is_declared... names it
        for principal, method, expected in _cases(route, rule):
            url = _url(route, matrix["values"], principal)
            requests += 1
            try:
                response, written = _send(route, url, method, matrix["credentials"][principal])
            except Exception as exc:  # noqa: BLE001 - a crash is a mismatch, reported with the rest
                mismatches.append(f"{method} {url} as {principal}: raised {exc!r}")
                continue
            if not _verdict(route, expected, response):
                where = response.get("Location", "")
                mismatches.append(
                    f"{method} {url} as {principal}: expected {expected}, "
                    f"got {response.status_code} {where}".rstrip()
                )
            elif expected != ALLOWED and written - BOOKKEEPING:
                mismatches.append(
                    f"{method} {url} as {principal}: refused ({response.status_code}) but wrote "
                    f"to {sorted(written - BOOKKEEPING)}"
                )
            elif method == "GET" and written - BOOKKEEPING - set(GET_WRITES):
                mismatches.append(
                    f"GET {url} as {principal}: a read that wrote to "
                    f"{sorted(written - BOOKKEEPING - set(GET_WRITES))}"
                )
    RUN.update(requests=requests, seconds=round(time.monotonic() - started, 1))
    print(f"authz matrix: {len(all_routes())} routes, {len(PRINCIPALS)} principals, {RUN}")
    assert mismatches == [], f"{len(mismatches)} mismatches:\n" + "\n".join(mismatches)


def test_a_workspace_that_requires_two_factor_keeps_members_without_it_out(matrix):
    """Its admin without two-factor, by session or by token, on every workspace route and
    method: pages send them to set it up, the API answers 403; nothing is written."""
    mismatches: list[str] = []
    values = {**matrix["values"], "workspace_slug": matrix["locked"]}
    for route in all_routes():
        if "workspace_slug" not in route.parameters:
            continue
        for method in _rule(route) or {}:
            for principal in ("no two-factor", "no two-factor token"):
                if principal.endswith("token") and not route.is_api:
                    continue  # tokens open no page (the matrix checks it)
                response, written = _send(
                    route, route.url(values), method, matrix["credentials"][principal]
                )
                location = response.get("Location", "")
                sent_to_setup = response.status_code == 302 and location.startswith(
                    "/accounts/two-factor/?workspace=locked"
                )
                if not (response.status_code == 403 if route.is_api else sent_to_setup):
                    mismatches.append(
                        f"{method} {route.url(values)} as {principal}: "
                        f"{response.status_code} {location}".rstrip()
                    )
                elif written - BOOKKEEPING:
                    mismatches.append(f"{method} {route.url(values)} wrote {sorted(written)}")
                RUN["two-factor requests"] = RUN.get("two-factor requests", 0) + 1
    print(f"two-factor lock: {RUN['two-factor requests']} requests")
    assert mismatches == [], f"{len(mismatches)} mismatches:\n" + "\n".join(mismatches)


# --- regressions: what the matrix found ----------------------------------------------------------
def _document_with_comment(workspace, member) -> dict[str, int]:
    """A document of `workspace` reviewed by `member`, with a comment of theirs."""
    from backlog.services import item_create

    item = item_create(workspace=workspace, actor=member, title="Faster exports")
    return _docs_objects(workspace, member, item.id)


def test_viewers_comment_through_the_api_as_on_the_page(workspace, member, viewer, token_client):
    document_id = _document_with_comment(workspace, member)["document_id"]
    url = f"/api/v1/workspaces/{workspace.slug}/documents/{document_id}/comments/"

    written = token_client(viewer, workspace, "write").post(
        url, {"body": "Who asked?"}, format="json"
    )
    read_only = token_client(viewer, workspace, "read").post(url, {"body": "Hm"}, format="json")

    assert written.status_code == 201
    assert read_only.status_code == 403
    bodies = Comment.objects.for_workspace(workspace).values_list("body", flat=True)
    assert sorted(bodies) == ["Who asked?", "Why?"]


def test_a_refused_comment_action_or_verdict_is_a_403_not_a_redirect(
    workspace, member, viewer, admin, login
):
    objects = _document_with_comment(workspace, member)
    base = f"/w/{workspace.slug}/docs/{objects['document_id']}"
    comment = f"{base}/comments/{objects['comment_id']}"

    resolved = login(viewer).post(f"{comment}/resolve/")
    deleted = login(viewer).post(f"{comment}/delete/")
    verdict = login(admin).post(f"{base}/review/verdict/", {"verdict": "approved"})

    assert (resolved.status_code, deleted.status_code, verdict.status_code) == (403, 403, 403)
    kept = Comment.objects.for_workspace(workspace).get(id=objects["comment_id"])
    assert kept.resolved_at is None
    assert Reviewer.objects.for_workspace(workspace).get().verdict == Reviewer.Verdict.PENDING
