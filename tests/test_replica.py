"""The read replica: API GETs read from "replica", everything else from "default".

The test settings have one database, and adding a second alias there would make every other
module's tests set up and flush it. Here a "replica" alias is added for this module only: a
second connection to the same test database (Django's TEST MIRROR), so the tests commit
(transaction=True) and the replica connection sees the rows the default one wrote.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import DEFAULT_DB_ALIAS, connections, router, transaction
from django.test.utils import CaptureQueriesContext

from pmhub.accounts.models import ApiToken
from pmhub.core.routers import REPLICA_DB_ALIAS, ReplicaRouter, replica_reads
from pmhub.workspaces.models import Membership

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.django_db(transaction=True, databases=[DEFAULT_DB_ALIAS, REPLICA_DB_ALIAS])


@pytest.fixture(scope="module", autouse=True)
def _replica_alias(django_db_setup: None) -> Iterator[None]:
    replica = copy.deepcopy(connections[DEFAULT_DB_ALIAS].settings_dict)
    replica["TEST"] = {**replica.get("TEST", {}), "MIRROR": DEFAULT_DB_ALIAS}
    connections.settings[REPLICA_DB_ALIAS] = replica
    yield
    connections[REPLICA_DB_ALIAS].close()
    del connections[REPLICA_DB_ALIAS]
    del connections.settings[REPLICA_DB_ALIAS]


@pytest.fixture(autouse=True)
def _routed(settings: Any) -> None:
    settings.DATABASE_ROUTERS = ["pmhub.core.routers.ReplicaRouter"]
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "pmhub.core.routers.ReplicaReadsMiddleware"]


class Queries:
    """The statements each alias ran within the block."""

    def __enter__(self) -> Queries:
        self._contexts = {
            alias: CaptureQueriesContext(connections[alias])
            for alias in (DEFAULT_DB_ALIAS, REPLICA_DB_ALIAS)
        }
        for context in self._contexts.values():
            context.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        for context in self._contexts.values():
            context.__exit__(*exc)

    def on(self, alias: str) -> list[str]:
        return [query["sql"] for query in self._contexts[alias].captured_queries]


def test_the_router_reads_from_the_replica_only_when_marked_outside_transactions_before_writes():
    assert router.db_for_read(Membership) == DEFAULT_DB_ALIAS
    with replica_reads():
        assert router.db_for_read(Membership) == REPLICA_DB_ALIAS
        with transaction.atomic():
            assert router.db_for_read(Membership) == DEFAULT_DB_ALIAS
        assert router.db_for_read(Membership) == REPLICA_DB_ALIAS
        assert router.db_for_write(Membership) == DEFAULT_DB_ALIAS
        assert router.db_for_read(Membership) == DEFAULT_DB_ALIAS
    with replica_reads():
        assert router.db_for_read(Membership) == REPLICA_DB_ALIAS
    assert router.db_for_read(Membership) == DEFAULT_DB_ALIAS


def test_migrations_run_on_default_only_and_relations_span_both():
    routed = ReplicaRouter()
    assert routed.allow_migrate(DEFAULT_DB_ALIAS, "backlog") is True
    assert routed.allow_migrate(REPLICA_DB_ALIAS, "backlog") is False
    assert routed.allow_relation(object(), object()) is True


def test_an_api_get_reads_from_the_replica(member, workspace, token_client):
    client = token_client(member, workspace)
    client.get("/api/v1/me/")  # marks the token used: a write, covered by the next test

    with Queries() as queries:
        response = client.get(f"/api/v1/workspaces/{workspace.slug}/members/")

    assert response.status_code == 200
    assert {row["email"] for row in response.json()["results"]} == {member.email}
    # The token's lookup is raw SQL on `connection`, which no router sees; the ORM's reads all
    # go to the replica.
    assert len(queries.on(DEFAULT_DB_ALIAS)) == 1
    assert "accounts_apitoken" in queries.on(DEFAULT_DB_ALIAS)[0]
    assert any("workspaces_membership" in sql for sql in queries.on(REPLICA_DB_ALIAS))


def test_a_write_in_an_api_get_sends_the_rest_of_its_reads_to_default(
    member, workspace, token_client
):
    client = token_client(member, workspace)

    with Queries() as queries:
        response = client.get("/api/v1/me/")

    assert response.status_code == 200
    assert ApiToken.objects.get(user=member).last_used_at is not None
    replica, default = queries.on(REPLICA_DB_ALIAS), queries.on(DEFAULT_DB_ALIAS)
    # The token is marked used on default, and everything read after that, the caller's
    # memberships included, is read from default too.
    updates = [i for i, sql in enumerate(default) if sql.startswith('UPDATE "accounts_apitoken"')]
    assert updates
    assert any("workspaces_membership" in sql for sql in default[updates[0] + 1 :])
    assert replica == []


def test_a_page_get_reads_from_default(member, workspace, login):
    client = login(member)

    with Queries() as queries:
        response = client.get(f"/w/{workspace.slug}/settings/members/")

    assert response.status_code == 200
    assert queries.on(REPLICA_DB_ALIAS) == []
    assert queries.on(DEFAULT_DB_ALIAS)


def test_an_api_post_reads_from_default(admin, workspace, token_client):
    client = token_client(admin, workspace)
    client.get("/api/v1/me/")

    with Queries() as queries:
        response = client.post(
            f"/api/v1/workspaces/{workspace.slug}/invitations/",
            {"email": "new@example.com", "role": "viewer"},
            format="json",
        )

    assert response.status_code == 201, response.content
    assert queries.on(REPLICA_DB_ALIAS) == []
    assert any("accounts_apitoken" in sql for sql in queries.on(DEFAULT_DB_ALIAS))


def _settings_of(**variables: str) -> dict[str, Any]:
    script = (
        "import django, json; django.setup(); from django.conf import settings; "
        "print(json.dumps({'databases': {a: d.get('TEST', {}) for a, d in "
        "settings.DATABASES.items()}, 'routers': settings.DATABASE_ROUTERS, "
        "'middleware': settings.MIDDLEWARE}))"
    )
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "pmhub.settings.test"}
    environment.pop("DATABASE_REPLICA_URL", None)
    environment.update(variables)
    out = subprocess.run(
        [sys.executable, "-c", script],
        env=environment,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_database_replica_url_adds_the_alias_the_router_and_the_middleware():
    wired = _settings_of(DATABASE_REPLICA_URL="postgres://reader@replica.internal:5432/pmhub")
    assert wired["databases"]["replica"]["MIRROR"] == "default"
    assert wired["routers"] == ["pmhub.core.routers.ReplicaRouter"]
    assert "pmhub.core.routers.ReplicaReadsMiddleware" in wired["middleware"]

    plain = _settings_of()
    assert set(plain["databases"]) == {"default"}
    assert plain["routers"] == []
    assert "pmhub.core.routers.ReplicaReadsMiddleware" not in plain["middleware"]


def test_health_checks_the_replica_too(client):
    checks = client.get("/health/").json()["checks"]

    assert checks["replica"]["ok"] is True
    # Here the "replica" is a second connection to the primary: not in recovery, no replay.
    assert checks["replica"]["in_recovery"] is False
    assert checks["replica"]["replay_lag_seconds"] is None
    assert checks["database"]["ok"] is True


def test_health_reports_a_replica_that_cannot_be_reached(client):
    connections[REPLICA_DB_ALIAS].close()
    original = connections.settings[REPLICA_DB_ALIAS]["PORT"]
    connections.settings[REPLICA_DB_ALIAS]["PORT"] = "1"
    try:
        response = client.get("/health/")
    finally:
        connections[REPLICA_DB_ALIAS].close()
        connections.settings[REPLICA_DB_ALIAS]["PORT"] = original

    assert response.status_code == 503
    assert response.json()["checks"]["replica"] == {"ok": False, "error": "OperationalError"}
