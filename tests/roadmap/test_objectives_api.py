"""The objectives API: objectives with nested key results, key results, values and item links."""

from __future__ import annotations

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from backlog import services as backlog
from roadmap import objectives as okr
from roadmap.models import KeyResult, KeyResultItem, KeyResultValue, Objective


def _url(name, workspace, **kwargs):
    return reverse(f"api:{name}", kwargs={"workspace_slug": workspace.slug, **kwargs})


@pytest.fixture
def objective(workspace, member):
    return okr.objective_create(
        workspace=workspace, actor=member, title="Win enterprise", period="2026 Q4"
    )


@pytest.fixture
def key_result(workspace, member, objective):
    return okr.key_result_create(
        workspace=workspace,
        actor=member,
        objective=objective,
        metric="Enterprise ARR",
        unit="$",
        target=1_000_000,
    )


def _kr_url(name, workspace, key_result, **kwargs):
    return _url(
        name,
        workspace,
        objective_id=key_result.objective_id,
        key_result_id=key_result.id,
        **kwargs,
    )


def test_create_objective_then_key_result_and_read_nested(workspace, member, token_client):
    client = token_client(member, workspace)
    created = client.post(
        _url("roadmap-objective-list", workspace),
        {
            "title": "Win enterprise",
            "description": "**Why**: <script>x</script>",
            "owner_id": member.id,
            "period": "2026 Q4",
            "start_date": "2026-10-01",
            "end_date": "2026-12-31",
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["owner"] == {"id": member.id, "email": member.email, "name": member.name}
    assert body["progress"] is None
    assert body["key_results"] == []
    kr = client.post(
        _url("roadmap-key-result-list", workspace, objective_id=body["id"]),
        {"metric": "Churn", "unit": "%", "baseline": 8, "target": 4},
        format="json",
    )
    assert kr.status_code == 201
    detail = client.get(_url("roadmap-objective-detail", workspace, objective_id=body["id"]))
    assert [k["metric"] for k in detail.json()["key_results"]] == ["Churn"]
    assert detail.json()["progress"] == 0.0
    assert detail.json()["description"] == "**Why**: <script>x</script>"


def test_end_before_start_and_target_equal_baseline_are_400(workspace, member, token_client):
    client = token_client(member, workspace)
    response = client.post(
        _url("roadmap-objective-list", workspace),
        {"title": "X", "start_date": "2026-12-01", "end_date": "2026-11-01"},
        format="json",
    )
    assert response.status_code == 400
    assert "end_date" in response.json()["extra"]["fields"]
    objective = okr.objective_create(workspace=workspace, actor=member, title="Y")
    response = client.post(
        _url("roadmap-key-result-list", workspace, objective_id=objective.id),
        {"metric": "NPS", "baseline": 30, "target": 30},
        format="json",
    )
    assert response.status_code == 400
    assert "target" in response.json()["extra"]["fields"]
    assert not KeyResult.objects.for_workspace(workspace).exists()


def test_list_pages_in_constant_queries(workspace, member, token_client):
    client = token_client(member, workspace)
    url = _url("roadmap-objective-list", workspace)

    def count():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200
        return len(queries)

    okr.objective_create(workspace=workspace, actor=member, title="First")
    client.get(url)  # the token's last_used_at is written on its first use only
    few = count()
    for n in range(6):
        objective = okr.objective_create(workspace=workspace, actor=member, title=f"O{n}")
        for m in range(3):
            okr.key_result_create(
                workspace=workspace, actor=member, objective=objective, metric=f"M{m}", target=10
            )
    # token and membership, objectives with owners, their key results with link counts
    assert count() == few == 3
    assert len(client.get(url).json()["results"]) == 7


def test_archived_hidden_unless_asked(workspace, member, token_client, objective):
    client = token_client(member, workspace)
    response = client.patch(
        _url("roadmap-objective-detail", workspace, objective_id=objective.id),
        {"is_archived": True},
        format="json",
    )
    assert response.json()["is_archived"] is True
    assert client.get(_url("roadmap-objective-list", workspace)).json()["results"] == []
    listed = client.get(_url("roadmap-objective-list", workspace) + "?archived=true").json()
    assert [o["id"] for o in listed["results"]] == [objective.id]


def test_record_values_through_the_api(workspace, member, token_client, key_result):
    client = token_client(member, workspace)
    url = _kr_url("roadmap-key-result-values", workspace, key_result)
    newer = client.post(
        url, {"value": 400000, "measured_at": "2026-11-05T00:00:00Z"}, format="json"
    )
    assert newer.status_code == 201
    assert newer.json()["source"] == "api"
    older = client.post(
        url, {"value": 100000, "measured_at": "2026-10-05T00:00:00Z", "note": "Q3"}, format="json"
    )
    assert older.status_code == 201
    kr = client.get(_kr_url("roadmap-key-result-detail", workspace, key_result)).json()
    assert (kr["current"], kr["progress"]) == (400000, 0.4)
    history = client.get(url + "?page_size=1").json()
    assert [v["value"] for v in history["results"]] == [400000]
    assert history["next"]
    second = client.get(history["next"]).json()
    assert [v["value"] for v in second["results"]] == [100000]
    bad = client.post(url, {"value": "lots"}, format="json")
    assert bad.status_code == 400
    assert KeyResultValue.objects.for_workspace(workspace).count() == 2


def test_delete_value_falls_back(workspace, member, token_client, key_result):
    client = token_client(member, workspace)
    okr.key_result_value_record(
        workspace=workspace,
        actor=member,
        key_result=key_result,
        value=1,
        measured_at=datetime.datetime(2026, 10, 1, tzinfo=datetime.UTC),
    )
    newest = okr.key_result_value_record(
        workspace=workspace,
        actor=member,
        key_result=key_result,
        value=2,
        measured_at=datetime.datetime(2026, 10, 2, tzinfo=datetime.UTC),
    )
    response = client.delete(
        _kr_url(
            "roadmap-key-result-value-detail", workspace, key_result, key_result_value_id=newest.id
        )
    )
    assert response.status_code == 204
    key_result.refresh_from_db()
    assert key_result.current == 1


def test_csv_import_through_the_api(workspace, member, token_client, key_result):
    client = token_client(member, workspace)
    url = _kr_url("roadmap-key-result-values-import", workspace, key_result)

    def upload(data):
        return client.post(url, {"file": SimpleUploadedFile("kr.csv", data)}, format="multipart")

    first = upload(b"date,value\n2026-10-01,1\n2026-10-02,2\n")
    assert first.json() == {"added": 2, "updated": 0, "unchanged": 0}
    again = upload(b"date,value\n2026-10-01,1\n2026-10-02,2\n")
    assert again.json() == {"added": 0, "updated": 0, "unchanged": 2}
    bad = upload(b"2026-10-03,x\n")
    assert bad.status_code == 400
    assert bad.json()["extra"]["errors"] == [{"row": 1, "message": "“x” is not a number."}]


def test_key_result_update_and_delete(workspace, member, token_client, key_result):
    client = token_client(member, workspace)
    url = _kr_url("roadmap-key-result-detail", workspace, key_result)
    changed = client.patch(url, {"target": 2_000_000, "unit": "€"}, format="json")
    assert (changed.json()["target"], changed.json()["unit"]) == (2_000_000, "€")
    assert client.patch(url, {"target": 0}, format="json").status_code == 400
    assert client.delete(url).status_code == 204
    assert not KeyResult.objects.for_workspace(workspace).exists()


def test_link_items_only_of_the_workspace(
    workspace, other_workspace, member, outsider, token_client, key_result
):
    client = token_client(member, workspace)
    item = backlog.item_create(workspace=workspace, actor=member, title="SSO")
    foreign = backlog.item_create(workspace=other_workspace, actor=outsider, title="Theirs")
    url = _kr_url("roadmap-key-result-items", workspace, key_result)
    assert client.post(url, {"item_id": item.id}, format="json").status_code == 201
    assert client.post(url, {"item_id": item.id}, format="json").status_code == 200
    assert client.post(url, {"item_id": foreign.id}, format="json").status_code == 400
    unlink = _kr_url("roadmap-key-result-item", workspace, key_result, item_id=item.id)
    assert client.delete(unlink).status_code == 204
    assert not KeyResultItem.objects.for_workspace(workspace).exists()


def test_key_result_of_another_objective_is_404(workspace, member, token_client, key_result):
    client = token_client(member, workspace)
    other = okr.objective_create(workspace=workspace, actor=member, title="Other")
    url = _url(
        "roadmap-key-result-detail", workspace, objective_id=other.id, key_result_id=key_result.id
    )
    assert client.get(url).status_code == 404


@pytest.mark.parametrize(
    ("who", "status"),
    [("anonymous_case", 401), ("outsider_case", 404), ("viewer_case", 403), ("member_case", 201)],
)
def test_create_permissions(workspace, outsider, viewer, member, api_client, who, status):
    user = {"outsider_case": outsider, "viewer_case": viewer, "member_case": member}.get(who)
    if user is not None:
        api_client.force_login(user)
    response = api_client.post(
        _url("roadmap-objective-list", workspace), {"title": "New"}, format="json"
    )
    assert response.status_code == status
    assert Objective.objects.for_workspace(workspace).count() == (1 if status == 201 else 0)


def test_read_only_token_cannot_record(workspace, member, token_client, key_result):
    client = token_client(member, workspace, access="read")
    url = _kr_url("roadmap-key-result-values", workspace, key_result)
    assert client.get(url).status_code == 200
    assert client.post(url, {"value": 1}, format="json").status_code == 403
    assert not KeyResultValue.objects.for_workspace(workspace).exists()


def test_stale_patch_is_412(workspace, member, token_client, objective):
    client = token_client(member, workspace)
    url = _url("roadmap-objective-detail", workspace, objective_id=objective.id)
    read = client.get(url).json()
    okr.objective_update(workspace=workspace, actor=member, objective=objective, title="Moved")
    stale = client.patch(
        url, {"title": "Mine", "unchanged_since": read["updated_at"]}, format="json"
    )
    assert stale.status_code == 412
    objective.refresh_from_db()
    assert objective.title == "Moved"
    fresh = client.get(url).json()["updated_at"]
    ok = client.patch(url, {"title": "Mine", "unchanged_since": fresh}, format="json")
    assert ok.json()["title"] == "Mine"
