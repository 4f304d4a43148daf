"""Idempotency-Key on API POSTs: a retry gets the first answer and does nothing again."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backlog.models import Item
from discovery.models import Feedback
from pmhub.celery import app as celery_app
from pmhub.workspaces.idempotency import KEY_TTL, idempotent_requests_prune
from pmhub.workspaces.models import IdempotentRequest
from pmhub.workspaces.tasks import idempotency_keys_prune_task
from tests.conftest import database_url_of
from tests.discovery.api_support import BASE, api_as

ITEMS = f"{BASE}/items/"
FEEDBACK = f"{BASE}/feedback/"
KEY = "8f14e45f-ceea-467e-a7b1-3f0c2d1e9a55"


def _post(client, path, body, key=KEY):
    return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


@pytest.mark.django_db
def test_a_retry_gets_the_first_answer_and_creates_nothing(workspace, member):
    client = api_as(member, workspace)
    first = _post(client, ITEMS, {"title": "Export to CSV"})
    assert first.status_code == 201, first.content
    assert "Idempotent-Replayed" not in first

    again = _post(client, ITEMS, {"title": "Export to CSV"})

    assert again.status_code == 201
    assert again.content == first.content
    assert again["ETag"] == first["ETag"]
    assert again["Content-Type"] == first["Content-Type"]
    assert again["Idempotent-Replayed"] == "true"
    assert Item.objects.for_workspace(workspace).filter(title="Export to CSV").count() == 1
    # Without the header every POST is a new request, as before.
    assert client.post(ITEMS, {"title": "Export to CSV"}, format="json").status_code == 201
    assert Item.objects.for_workspace(workspace).filter(title="Export to CSV").count() == 2


@pytest.mark.django_db
def test_the_answer_is_replayed_even_after_the_object_changed(workspace, member):
    client = api_as(member, workspace)
    first = _post(client, FEEDBACK, {"text": "Exports time out", "external_id": "zd-1"})
    assert first.status_code == 201, first.content
    created = first.json()["id"]
    changed = client.patch(f"{FEEDBACK}{created}/", {"text": "Exports are slow"}, format="json")
    assert changed.status_code == 200, changed.content

    again = _post(client, FEEDBACK, {"text": "Exports time out", "external_id": "zd-1"})

    # The retry's answer is the create's (not a duplicate-external_id refusal, nor the edit).
    assert again.status_code == 201
    assert again.json() == first.json()
    assert Feedback.objects.for_workspace(workspace).count() == 1


@pytest.mark.django_db
def test_the_same_key_with_another_request_is_refused(workspace, member):
    client = api_as(member, workspace)
    assert _post(client, ITEMS, {"title": "Export to CSV"}).status_code == 201

    other_body = _post(client, ITEMS, {"title": "Export to PDF"})
    other_path = _post(client, FEEDBACK, {"text": "Exports time out"})

    for answer in (other_body, other_path):
        assert answer.status_code == 422
        assert answer.json() == {
            "message": "This Idempotency-Key was sent before with a different request; use a "
            "new key for a new request.",
            "extra": {"header": "Idempotency-Key"},
        }
    assert Item.objects.for_workspace(workspace).count() == 1
    assert Feedback.objects.for_workspace(workspace).count() == 0


@pytest.mark.django_db
def test_a_refused_request_is_not_kept_so_its_retry_runs_again(workspace, member):
    client = api_as(member, workspace)
    refused = _post(client, ITEMS, {"title": ""})
    assert refused.status_code == 400

    again = _post(client, ITEMS, {"title": ""})
    corrected = _post(client, ITEMS, {"title": "Export to CSV"})

    assert again.status_code == 400
    assert "Idempotent-Replayed" not in again
    # Nothing was done under the key, so it is free for the corrected request.
    assert corrected.status_code == 201
    assert "Idempotent-Replayed" not in corrected
    assert IdempotentRequest.objects.for_workspace(workspace).count() == 1


@pytest.mark.django_db
def test_keys_belong_to_one_person_in_one_workspace(
    workspace, other_workspace, member, admin, outsider
):
    mine = _post(api_as(member, workspace), ITEMS, {"title": "Export to CSV"})
    # The same person's other token shares the key: a token acts as its member.
    same_person = _post(api_as(member, workspace), ITEMS, {"title": "Export to CSV"})
    colleague = _post(api_as(admin, workspace), ITEMS, {"title": "Export to CSV"})
    stranger = _post(
        api_as(outsider, other_workspace),
        "/api/v1/workspaces/globex/items/",
        {"title": "Export to CSV"},
    )

    assert same_person["Idempotent-Replayed"] == "true"
    assert same_person.json()["id"] == mine.json()["id"]
    for answer in (colleague, stranger):
        assert answer.status_code == 201
        assert "Idempotent-Replayed" not in answer
    assert colleague.json()["id"] != mine.json()["id"]
    assert Item.objects.for_workspace(workspace).count() == 2
    assert Item.objects.for_workspace(other_workspace).count() == 1


@pytest.mark.django_db
def test_a_refused_caller_claims_no_key(workspace, member, viewer, outsider):
    assert _post(api_as(viewer, workspace), ITEMS, {"title": "A"}).status_code == 403
    assert _post(api_as(member, workspace, "read"), ITEMS, {"title": "A"}).status_code == 403
    assert _post(api_as(outsider, workspace), ITEMS, {"title": "A"}).status_code == 404
    assert IdempotentRequest.objects.unscoped().count() == 0
    # The member's own request with the key then runs.
    assert _post(api_as(member, workspace), ITEMS, {"title": "A"}).status_code == 201


@pytest.mark.django_db
@pytest.mark.parametrize(
    "key",
    ["", " padded", "x" * 256, "clé-😀", "line\tbreak"],
    ids=["empty", "padded", "too-long", "non-ascii", "tab"],
)
def test_a_malformed_key_is_refused_and_nothing_is_done(workspace, member, key):
    answer = api_as(member, workspace).post(
        ITEMS, {"title": "A"}, format="json", HTTP_IDEMPOTENCY_KEY=key.encode().decode("latin-1")
    )
    assert answer.status_code == 400
    assert answer.json() == {
        "message": "Idempotency-Key must be 1 to 255 printable ASCII characters, such as a UUID.",
        "extra": {"header": "Idempotency-Key"},
    }
    assert Item.objects.for_workspace(workspace).count() == 0


@pytest.mark.django_db
def test_the_longest_key_is_accepted(workspace, member):
    answer = _post(api_as(member, workspace), ITEMS, {"title": "A"}, key="k" * 255)
    assert answer.status_code == 201


@pytest.mark.django_db
def test_other_methods_ignore_the_header(workspace, member):
    client = api_as(member, workspace)
    created = client.post(ITEMS, {"title": "A"}, format="json").json()
    path = f"{ITEMS}{created['id']}/"
    assert client.get(path, HTTP_IDEMPOTENCY_KEY="").status_code == 200
    answer = client.patch(path, {"title": "B"}, format="json", HTTP_IDEMPOTENCY_KEY="")
    assert answer.status_code == 200
    assert IdempotentRequest.objects.unscoped().count() == 0


@pytest.mark.django_db
def test_a_key_costs_three_statements_and_a_replay_runs_none_of_the_work(workspace, member):
    client = api_as(member, workspace)
    client.post(ITEMS, {"title": "warm-up"}, format="json")
    with CaptureQueriesContext(connection) as plain:
        client.post(ITEMS, {"title": "A"}, format="json")
    with CaptureQueriesContext(connection) as keyed:
        _post(client, ITEMS, {"title": "B"})
    with CaptureQueriesContext(connection) as replayed:
        _post(client, ITEMS, {"title": "B"})
    # The transaction around it (a savepoint here, BEGIN and COMMIT in production: +2), the
    # expired-key delete, the insert in its savepoint (+3), storing the answer.
    statements = [q["sql"] for q in keyed.captured_queries]
    assert len(statements) - len(plain.captured_queries) == 7, statements
    work = [q["sql"] for q in replayed.captured_queries if "backlog_item" in q["sql"]]
    assert work == []


@pytest.mark.django_db
def test_an_expired_key_is_free_again_and_pruned(workspace, member, other_workspace, outsider):
    client = api_as(member, workspace)
    first = _post(client, ITEMS, {"title": "A"})
    _post(api_as(outsider, other_workspace), "/api/v1/workspaces/globex/items/", {"title": "A"})
    IdempotentRequest.objects.unscoped().update(created_at=timezone.now() - KEY_TTL - timedelta(1))
    fresh = _post(client, ITEMS, {"title": "B"})
    assert fresh.status_code == 201
    assert "Idempotent-Replayed" not in fresh
    assert fresh.json()["id"] != first.json()["id"]

    assert idempotent_requests_prune() == 1  # globex's, in another workspace
    assert list(IdempotentRequest.objects.unscoped().values_list("workspace", flat=True)) == [
        workspace.id
    ]
    IdempotentRequest.objects.unscoped().update(created_at=timezone.now() - KEY_TTL - timedelta(1))
    idempotency_keys_prune_task.apply()
    assert IdempotentRequest.objects.unscoped().count() == 0
    schedule = celery_app.conf.beat_schedule["idempotency-keys-prune"]
    assert schedule["task"] == idempotency_keys_prune_task.name


@pytest.mark.django_db
def test_the_schema_documents_the_header_on_every_workspace_post(client):
    schema = client.get("/api/schema/?format=json").json()
    posts = {
        path: operations["post"]
        for path, operations in schema["paths"].items()
        if "post" in operations and path.startswith("/api/v1/workspaces/")
    }
    assert len(posts) > 20
    for path, operation in posts.items():
        headers = [p for p in operation.get("parameters", []) if p["in"] == "header"]
        assert [h["name"] for h in headers] == ["Idempotency-Key"], path
        assert headers[0]["schema"]["maxLength"] == 255
        assert "422" in operation["responses"], path
    others = [
        operation
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if method != "post" and isinstance(operation, dict)
    ]
    assert not any(p["name"] == "Idempotency-Key" for o in others for p in o.get("parameters", []))


# --- concurrency, on committed rows and separate connections -----------------------------------
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_create_once(workspace, member):
    clients = [api_as(member, workspace) for _ in range(6)]
    answers = [None] * len(clients)
    start = threading.Barrier(len(clients))

    def send(index):
        start.wait()
        try:
            answers[index] = _post(clients[index], ITEMS, {"title": "Export to CSV"})
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert [a.status_code for a in answers] == [201] * len(clients)
    assert len({a.content for a in answers}) == 1
    assert sum("Idempotent-Replayed" not in a for a in answers) == 1
    assert Item.objects.for_workspace(workspace).count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("first_ends", ["commit", "rollback"])
def test_a_retry_waits_for_the_request_still_running(workspace, member, first_ends):
    """The first request is still in its transaction (here: a connection of the test holding
    the key's row); the retry waits for it, then replays its answer or, if it failed, runs."""
    client = api_as(member, workspace)
    created = client.post(ITEMS, {"title": "First"}, format="json")
    body, etag = created.content, created["ETag"]
    fingerprint_source = _post(client, ITEMS, {"title": "Export to CSV"}, key="probe")
    assert fingerprint_source.status_code == 201
    fingerprint = IdempotentRequest.objects.get(key="probe").fingerprint

    answers = []
    with psycopg.connect(database_url_of(connection.settings_dict)) as running:
        running.execute(
            "INSERT INTO workspaces_idempotentrequest (workspace_id, user_id, key, fingerprint,"
            " status_code, content_type, body, location, etag, created_at, updated_at)"
            " VALUES (%s, %s, %s, %s, 201, 'application/json', %s, '', %s, now(), now())",
            [workspace.id, member.id, KEY, fingerprint, body, etag],
        )
        retry = threading.Thread(
            target=lambda: (
                answers.append(_post(client, ITEMS, {"title": "Export to CSV"})),
                connection.close(),
            )
        )
        retry.start()
        time.sleep(1.0)
        assert answers == []  # waiting on the key's row
        if first_ends == "commit":
            running.commit()
        else:
            running.rollback()
        retry.join(timeout=30)

    assert len(answers) == 1
    if first_ends == "commit":
        assert answers[0].status_code == 201
        assert answers[0].content == body
        assert answers[0]["Idempotent-Replayed"] == "true"
        assert (
            not Item.objects.for_workspace(workspace)
            .filter(title="Export to CSV")
            .exclude(id=fingerprint_source.json()["id"])
            .exists()
        )
    else:
        assert answers[0].status_code == 201
        assert "Idempotent-Replayed" not in answers[0]
        assert Item.objects.for_workspace(workspace).filter(title="Export to CSV").count() == 2
