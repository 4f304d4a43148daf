"""The digests API: stakeholders (list with filters and cursor pages, create, read with ETag,
change with `version` / If-Match and 412, delete), their follows, the digest settings (admins
change them), the deliveries (read-only, filtered); permissions and the OpenAPI schema."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from backlog import services as backlog
from discovery import services as discovery
from pmhub.digests import services
from pmhub.digests.models import Delivery, DigestSettings, Follow, Stakeholder
from tests.discovery.api_support import (
    BASE,
    DENIED_WRITER_IDS,
    DENIED_WRITERS,
    NOT_FOUND,
    api_as,
    client_of,
)

pytestmark = pytest.mark.django_db

STAKEHOLDERS = f"{BASE}/stakeholders/"
SETTINGS = f"{BASE}/digest-settings/"
DELIVERIES = f"{BASE}/digest-deliveries/"


def _stakeholder(workspace, email="dana@client.test", **kwargs):
    return services.stakeholder_create(workspace=workspace, email=email, **kwargs)


def _deliver(workspace, stakeholder, period, status="sent"):
    now = timezone.now()
    return Delivery.objects.create(
        workspace=workspace, stakeholder=stakeholder, period=period, due_at=now,
        covers_until=now, status=status, sent_at=now if status == "sent" else None,
    )  # fmt: skip


# --- stakeholders ------------------------------------------------------------------------------
def test_list_filters_and_pages_by_cursor(workspace, other_workspace, member):
    client = api_as(member, workspace)
    people = [_stakeholder(workspace, f"p{n}@client.test", team="Sales") for n in range(3)]
    support = _stakeholder(workspace, "s@client.test", team="Support")
    Stakeholder.objects.for_workspace(workspace).filter(id=people[2].id).update(status="paused")
    _stakeholder(other_workspace, "theirs@client.test")

    first = client.get(STAKEHOLDERS, {"page_size": 2}).json()
    second = client.get(first["next"]).json()
    sales = client.get(STAKEHOLDERS, {"team": "sales"}).json()
    paused = client.get(STAKEHOLDERS, {"status": "paused"}).json()

    assert [s["email"] for s in first["results"]] == ["p0@client.test", "p1@client.test"]
    assert [s["email"] for s in second["results"]] == ["p2@client.test", "s@client.test"]
    assert second["next"] is None
    assert {s["id"] for s in sales["results"]} == {p.id for p in people}
    assert [s["id"] for s in paused["results"]] == [people[2].id]
    assert support.id not in {s["id"] for s in paused["results"]}
    assert client.get(STAKEHOLDERS, {"status": "asleep"}).status_code == 400


def test_list_reads_in_constant_queries(workspace, member):
    client = api_as(member, workspace)
    area = backlog.product_area_create(workspace=workspace, actor=None, name="Payments")

    def add(n):
        for _ in range(n):
            s = _stakeholder(workspace, f"p{Stakeholder.objects.count()}@client.test")
            services.follow_add(workspace=workspace, stakeholder=s, area_id=area.id)

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(STAKEHOLDERS).status_code == 200
        return len(queries)

    add(2)
    count()  # the token's first use is recorded once
    few = count()
    add(20)
    assert count() == few


def test_create_read_change_and_delete(workspace, member, admin):
    client = api_as(member, workspace)

    created = client.post(
        STAKEHOLDERS,
        {"email": "alice@acme.test", "name": "Alice", "cadence": "daily", "send_hour": 9,
         "timezone": "Europe/Paris"},
        format="json",
    )  # fmt: skip

    body = created.json()
    assert created.status_code == 201
    assert (body["email"], body["cadence"], body["send_hour"], body["timezone"]) == (
        "alice@acme.test", "daily", 9, "Europe/Paris",
    )  # fmt: skip
    assert body["user_id"] == admin.id  # linked to the member with that email
    assert (body["status"], body["version"], body["follows"]) == ("active", 1, [])
    url = f"{STAKEHOLDERS}{body['id']}/"
    read = client.get(url)
    assert read["ETag"] == f'"stakeholder-{body["id"]}-v1"'

    changed = client.patch(url, {"team": "Leadership", "cadence": ""}, format="json",
                           HTTP_IF_MATCH=read["ETag"])  # fmt: skip
    stale = client.patch(url, {"team": "Late"}, format="json", HTTP_IF_MATCH=read["ETag"])
    stale_body = client.patch(url, {"team": "Late", "version": 1}, format="json")
    wrong_tag = client.patch(url, {"team": "Late"}, format="json", HTTP_IF_MATCH='"item-1-v1"')

    assert changed.status_code == 200
    assert (changed.json()["team"], changed.json()["cadence"], changed.json()["version"]) == (
        "Leadership", "", 2,
    )  # fmt: skip
    assert changed["ETag"] == f'"stakeholder-{body["id"]}-v2"'
    for refused in (stale, stale_body, wrong_tag):
        assert refused.status_code == 412
        assert refused.json()["extra"] == {"version": 2}
    assert Stakeholder.objects.for_workspace(workspace).get().team == "Leadership"

    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404
    assert not Stakeholder.objects.for_workspace(workspace).exists()


def test_create_refuses_bad_input(workspace, member):
    client = api_as(member, workspace)
    _stakeholder(workspace, "dana@client.test")
    cases = [
        {"email": "DANA@client.test"},
        {"email": "not an email"},
        {"email": "x@client.test", "cadence": "fortnightly"},
        {"email": "x@client.test", "send_hour": 24},
        {"email": "x@client.test", "timezone": "Mars/Base"},
        {"email": "x@client.test", "name": "n" * 121},
        {"email": "x@client.test", "team": "t" * 81},
    ]
    for data in cases:
        response = client.post(STAKEHOLDERS, data, format="json")
        assert response.status_code == 400, data
        assert set(response.json()) == {"message", "extra"}
    assert Stakeholder.objects.for_workspace(workspace).count() == 1


def test_markup_is_stored_as_text_and_returned_as_data(workspace, member):
    client = api_as(member, workspace)
    payload = "<script>alert(1)</script>"
    created = client.post(
        STAKEHOLDERS, {"email": "x@client.test", "name": payload}, format="json"
    ).json()
    assert created["name"] == payload
    assert client.get(f"{STAKEHOLDERS}{created['id']}/")["Content-Type"] == "application/json"


# --- follows -----------------------------------------------------------------------------------
def test_follows_list_add_and_remove(workspace, other_workspace, member):
    client = api_as(member, workspace)
    stakeholder = _stakeholder(workspace)
    area = backlog.product_area_create(workspace=workspace, actor=None, name="Payments")
    acme, _ = discovery.company_upsert(workspace=workspace, actor=None, name="Acme")
    theirs = backlog.product_area_create(workspace=other_workspace, actor=None, name="Theirs")
    url = f"{STAKEHOLDERS}{stakeholder.id}/follows/"

    added = client.post(url, {"kind": "area", "target_id": area.id}, format="json")
    owned = client.post(url, {"kind": "company", "target_id": acme.id, "owns": True}, format="json")
    again = client.post(url, {"kind": "area", "target_id": area.id}, format="json")
    foreign = client.post(url, {"kind": "area", "target_id": theirs.id}, format="json")
    owns_area = client.post(
        url, {"kind": "area", "target_id": area.id, "owns": True}, format="json"
    )
    listed = client.get(url).json()["results"]

    assert added.status_code == 201
    assert added.json() == {
        "id": added.json()["id"], "kind": "area", "target_id": area.id, "name": "Payments",
        "owns": False,
    }  # fmt: skip
    assert (owned.json()["kind"], owned.json()["owns"]) == ("company", True)
    assert again.status_code == 201
    assert again.json()["id"] == added.json()["id"]  # idempotent
    assert foreign.status_code == 400
    assert owns_area.status_code == 400
    assert [(f["kind"], f["name"]) for f in listed] == [("area", "Payments"), ("company", "Acme")]
    assert client.get(f"{STAKEHOLDERS}{stakeholder.id}/").json()["follows"] == listed

    remove = f"{url}{added.json()['id']}/"
    assert client.delete(remove).status_code == 204
    assert client.delete(remove).status_code == 404
    assert list(Follow.objects.for_workspace(workspace).values_list("company_id", flat=True)) == [
        acme.id
    ]


def test_follows_replaced_in_one_call(workspace, other_workspace, member):
    client = api_as(member, workspace)
    stakeholder = _stakeholder(workspace)
    payments = backlog.product_area_create(workspace=workspace, actor=None, name="Payments")
    reporting = backlog.product_area_create(workspace=workspace, actor=None, name="Reporting")
    acme, _ = discovery.company_upsert(workspace=workspace, actor=None, name="Acme")
    theirs = backlog.product_area_create(workspace=other_workspace, actor=None, name="Theirs")
    kept = services.follow_add(workspace=workspace, stakeholder=stakeholder, area_id=payments.id)
    services.follow_add(workspace=workspace, stakeholder=stakeholder, area_id=reporting.id)
    services.follow_add(workspace=workspace, stakeholder=stakeholder, company_id=acme.id)
    url = f"{STAKEHOLDERS}{stakeholder.id}/follows/"

    replaced = client.put(
        url,
        {"follows": [
            {"kind": "area", "target_id": payments.id},
            {"kind": "company", "target_id": acme.id, "owns": True},
        ]},
        format="json",
    )  # fmt: skip

    assert replaced.status_code == 200
    assert [(f["kind"], f["name"], f["owns"]) for f in replaced.json()] == [
        ("area", "Payments", False), ("company", "Acme", True),
    ]  # fmt: skip
    assert replaced.json()[0]["id"] == kept.id  # a follow kept is the same row
    refused = [
        {"follows": [{"kind": "area", "target_id": theirs.id}]},
        {"follows": [{"kind": "area", "target_id": payments.id, "owns": True}]},
        {"follows": [{"kind": "team", "target_id": 1}]},
        {"follows": "area:1"},
    ]
    for body in refused:
        assert client.put(url, body, format="json").status_code == 400, body
    assert Follow.objects.for_workspace(workspace).count() == 2
    assert client.put(url, {"follows": []}, format="json").json() == []
    assert not Follow.objects.for_workspace(workspace).exists()


# --- settings ----------------------------------------------------------------------------------
def test_settings_read_by_members_changed_by_admins(workspace, member, admin):
    read = api_as(member, workspace).get(SETTINGS)
    assert read.json() | {"updated_at": None} == {
        "cadence": "weekly", "send_hour": 8, "timezone": "UTC", "sender_name": "",
        "reply_to": "", "updated_at": None,
    }  # fmt: skip
    editor = api_as(member, workspace).patch(SETTINGS, {"cadence": "daily"}, format="json")
    assert editor.status_code == 403

    changed = api_as(admin, workspace).patch(
        SETTINGS, {"cadence": "daily", "send_hour": 7, "timezone": "Asia/Tokyo",
                   "sender_name": "Acme product", "reply_to": "pm@acme.test"},
        format="json",
    )  # fmt: skip
    bad = api_as(admin, workspace).patch(SETTINGS, {"timezone": "Mars/Base"}, format="json")

    assert changed.status_code == 200
    assert changed.json()["timezone"] == "Asia/Tokyo"
    assert bad.status_code == 400
    current = DigestSettings.objects.for_workspace(workspace).get()
    assert (current.cadence, current.send_hour, current.timezone, current.reply_to) == (
        "daily", 7, "Asia/Tokyo", "pm@acme.test",
    )  # fmt: skip


# --- deliveries --------------------------------------------------------------------------------
def test_deliveries_newest_first_filtered_and_read_only(workspace, other_workspace, member):
    client = api_as(member, workspace)
    dana = _stakeholder(workspace)
    lee = _stakeholder(workspace, "lee@client.test")
    old = _deliver(workspace, dana, "2026-W46")
    new = _deliver(workspace, dana, "2026-W47", status="failed")
    lees = _deliver(workspace, lee, "2026-W47")
    _deliver(other_workspace, _stakeholder(other_workspace), "2026-W47")

    everything = client.get(DELIVERIES).json()["results"]
    danas = client.get(DELIVERIES, {"stakeholder_id": dana.id}).json()["results"]
    week = client.get(DELIVERIES, {"period": "2026-W47"}).json()["results"]
    failed = client.get(DELIVERIES, {"status": "failed"}).json()["results"]

    assert [d["id"] for d in everything] == [lees.id, new.id, old.id]
    assert [d["id"] for d in danas] == [new.id, old.id]
    assert [d["id"] for d in week] == [lees.id, new.id]
    assert [d["id"] for d in failed] == [new.id]
    assert client.post(DELIVERIES, {}, format="json").status_code == 405
    assert client.get(DELIVERIES, {"status": "lost"}).status_code == 400


def test_deliveries_read_in_constant_queries(workspace, member):
    client = api_as(member, workspace)
    dana = _stakeholder(workspace)
    start = timezone.now() - datetime.timedelta(days=400)

    def add(n):
        for _ in range(n):
            day = start + datetime.timedelta(days=Delivery.objects.count())
            _deliver(workspace, dana, day.date().isoformat())

    def count():
        with CaptureQueriesContext(connection) as queries:
            client.get(DELIVERIES)
        return len(queries)

    add(2)
    count()  # the token's first use is recorded once
    few = count()
    add(30)
    assert count() == few


# --- who may -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("who", "access", "code", "body"), DENIED_WRITERS, ids=DENIED_WRITER_IDS)
def test_writes_are_refused(request, workspace, member, who, access, code, body):
    stakeholder = _stakeholder(workspace, name="Dana")
    area = backlog.product_area_create(workspace=workspace, actor=None, name="Payments")
    follow = services.follow_add(workspace=workspace, stakeholder=stakeholder, area_id=area.id)
    client = client_of(request, who, access)
    url = f"{STAKEHOLDERS}{stakeholder.id}/"

    responses = [
        client.post(STAKEHOLDERS, {"email": "new@client.test"}, format="json"),
        client.patch(url, {"name": "Changed"}, format="json"),
        client.delete(url),
        client.post(f"{url}follows/", {"kind": "area", "target_id": area.id}, format="json"),
        client.delete(f"{url}follows/{follow.id}/"),
        client.put(f"{url}follows/", {"follows": []}, format="json"),
        client.patch(SETTINGS, {"cadence": "daily"}, format="json"),
    ]

    assert [r.status_code for r in responses] == [code] * len(responses)
    assert all(r.json() == body for r in responses)
    stakeholder.refresh_from_db()
    assert (stakeholder.name, stakeholder.version) == ("Dana", 1)
    assert Stakeholder.objects.count() == 1
    assert Follow.objects.count() == 1
    assert not DigestSettings.objects.filter(cadence="daily").exists()


@pytest.mark.parametrize(
    ("who", "access"),
    [("outsider", "write"), ("viewer", "write"), ("member", "read")],
    ids=["outsider_case", "viewer_case", "read_only_token_case"],
)
def test_reads_reach_members_only(request, workspace, member, who, access):
    stakeholder = _stakeholder(workspace)
    client = client_of(request, who, access)
    urls = [
        STAKEHOLDERS,
        f"{STAKEHOLDERS}{stakeholder.id}/",
        f"{STAKEHOLDERS}{stakeholder.id}/follows/",
        SETTINGS,
        DELIVERIES,
    ]

    codes = [client.get(url).status_code for url in urls]

    assert codes == ([404] * len(urls) if who == "outsider" else [200] * len(urls))


def test_a_stakeholder_of_another_workspace_is_404(workspace, other_workspace, member):
    client = api_as(member, workspace)
    foreign = _stakeholder(other_workspace, name="Theirs")
    url = f"{STAKEHOLDERS}{foreign.id}/"

    for response in (
        client.get(url),
        client.patch(url, {"name": "Mine"}, format="json"),
        client.delete(url),
        client.get(f"{url}follows/"),
        client.post(f"{url}follows/", {"kind": "area", "target_id": 1}, format="json"),
    ):
        assert response.status_code == 404
        assert response.json() == NOT_FOUND
    foreign.refresh_from_db()
    assert foreign.name == "Theirs"


def test_the_schema_documents_every_digests_path():
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    base = "/api/v1/workspaces/{workspace_slug}"

    assert set(paths[f"{base}/stakeholders/"]) == {"get", "post"}
    assert set(paths[f"{base}/stakeholders/{{stakeholder_id}}/"]) == {"get", "patch", "delete"}
    follows = f"{base}/stakeholders/{{stakeholder_id}}/follows/"
    assert set(paths[follows]) == {"get", "post", "put"}
    follow = f"{base}/stakeholders/{{stakeholder_id}}/follows/{{follow_id}}/"
    assert set(paths[follow]) == {"delete"}
    assert set(paths[f"{base}/digest-settings/"]) == {"get", "patch"}
    assert set(paths[f"{base}/digest-deliveries/"]) == {"get"}
