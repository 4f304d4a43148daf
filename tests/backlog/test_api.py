"""The backlog items API: keyset pages, sorts, fields=, ETags and If-Match, bulk changes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backlog import scoring, services
from backlog.models import Item, ScoringFormula
from discovery import services as discovery
from tests.discovery.api_support import (
    BASE,
    DENIED_WRITER_IDS,
    DENIED_WRITERS,
    api_as,
    client_of,
)

pytestmark = pytest.mark.django_db

ITEMS = f"{BASE}/items/"


def _item(workspace, title, **extra):
    return services.item_create(workspace=workspace, actor=None, title=title, **extra)


@pytest.fixture
def asked(workspace):
    """Three items; "CSV" asked for by two customers (one Enterprise), "SSO" by one."""
    big, _ = discovery.company_upsert(
        workspace=workspace,
        actor=None,
        name="Big",
        domain="big.test",
        arr=Decimal("500000"),
        segment="Enterprise",
    )
    ann, _ = discovery.customer_upsert(
        workspace=workspace, actor=None, email="ann@big.test", company=big
    )
    bob, _ = discovery.customer_upsert(workspace=workspace, actor=None, email="bob@x.test")
    items = {t: _item(workspace, t) for t in ("CSV", "SSO", "Dark mode")}
    for customer, item in ((ann, "CSV"), (bob, "CSV"), (bob, "SSO")):
        feedback = discovery.feedback_create(
            workspace=workspace,
            actor=None,
            data=discovery.FeedbackInput(text=f"{item} please", customer_id=customer.id),
        )
        services.item_link_evidence(
            workspace=workspace, actor=None, item=items[item], feedback_id=feedback.id
        )
    return items


def test_the_list_is_in_manual_order_with_demand_figures(workspace, member, asked):
    response = api_as(member, workspace).get(ITEMS)

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [r["title"] for r in rows] == ["CSV", "SSO", "Dark mode"]
    csv = rows[0]
    assert (csv["customer_count"], csv["company_count"], csv["arr"]) == (2, 1, "500000.00")
    assert csv["demand_by_segment"]["Enterprise"]["customers"] == 1
    assert csv["version"] == 1
    assert "description" not in csv
    assert response["ETag"].startswith('W/"')


def test_sorts_filters_and_fields(workspace, member, asked):
    client = api_as(member, workspace)

    by_customers = client.get(ITEMS, {"sort": "customers", "fields": "title,customer_count"})
    enterprise = client.get(ITEMS, {"segment": "Enterprise", "fields": "title"})
    searched = client.get(ITEMS, {"q": "dark", "fields": "title"})
    wrong = client.get(ITEMS, {"fields": "title,password"})

    assert by_customers.json()["results"] == [
        {"id": asked["CSV"].id, "title": "CSV", "customer_count": 2},
        {"id": asked["SSO"].id, "title": "SSO", "customer_count": 1},
        {"id": asked["Dark mode"].id, "title": "Dark mode", "customer_count": 0},
    ]
    assert [r["title"] for r in enterprise.json()["results"]] == ["CSV"]
    assert [r["title"] for r in searched.json()["results"]] == ["Dark mode"]
    assert wrong.status_code == 400
    assert "password" in str(wrong.json())


@pytest.mark.parametrize("sort", ["rank", "customers", "arr", "created"])
def test_keyset_pages_walk_the_whole_list_once_in_constant_queries(workspace, member, sort):
    for i in range(23):
        _item(workspace, f"Item {i:02d}")
    client = api_as(member, workspace)
    client.get(ITEMS)  # The token's first use is recorded once; not part of a page's cost.
    seen: list[int] = []
    url, params = ITEMS, {"sort": sort, "page_size": 5}
    counts = []
    while url:
        with CaptureQueriesContext(connection) as queries:
            page = client.get(url, params).json()
        counts.append(len(queries))
        seen += [r["id"] for r in page["results"]]
        url, params = page["next"], None
    assert len(seen) == len(set(seen)) == 23
    assert len(set(counts)) == 1


@pytest.mark.parametrize("sort", ["rank", "customers", "score"])
def test_query_count_does_not_grow_with_page_size(workspace, member, sort):
    from backlog.models import ItemTag
    from backlog.ranking import keys_between

    items = Item.objects.bulk_create(
        Item(workspace=workspace, title=f"Item {i}", rank=rank)
        for i, rank in enumerate(keys_between(None, None, 1_050))
    )
    tag = discovery.tag_create(workspace=workspace, actor=None, name="Exports")
    ItemTag.objects.bulk_create(ItemTag(workspace=workspace, item=i, tag=tag) for i in items[::3])
    scoring.scoring_defaults_ensure(workspace=workspace)  # scores every item at once
    client = api_as(member, workspace)
    client.get(ITEMS)
    counts = {}
    for size in (10, 100, 1_000):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(ITEMS, {"page_size": size, "sort": sort})
        assert response.status_code == 200
        assert len(response.json()["results"]) == size
        counts[size] = len(queries)
    # The token (with its membership), the page (its tags, scores and, for a score sort, the
    # primary formula inside the one statement).
    assert counts == {10: 2, 100: 2, 1_000: 2}


def test_a_tampered_cursor_is_refused(workspace, member, asked):
    response = api_as(member, workspace).get(ITEMS, {"cursor": "bm90LWEtY3Vyc29y"})
    assert response.status_code == 400
    assert "cursor" in response.json()["message"]


def test_etag_and_if_none_match(workspace, member, asked):
    client = api_as(member, workspace)
    url = f"{ITEMS}{asked['CSV'].id}/"
    first = client.get(url)
    assert first["ETag"] == f'"item-{asked["CSV"].id}-v1"'
    assert first.json()["description"] == ""
    assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    listing = client.get(ITEMS)
    assert client.get(ITEMS, HTTP_IF_NONE_MATCH=listing["ETag"]).status_code == 304


def test_a_change_on_a_stale_version_is_refused_with_412(workspace, member, asked):
    client = api_as(member, workspace)
    url = f"{ITEMS}{asked['CSV'].id}/"
    etag = client.get(url)["ETag"]

    first = client.patch(url, {"title": "CSV export"}, format="json", HTTP_IF_MATCH=etag)
    stale = client.patch(url, {"effort": 3}, format="json", HTTP_IF_MATCH=etag)
    by_body = client.patch(url, {"effort": 3, "version": 1}, format="json")

    assert first.status_code == 200
    assert first["ETag"] == f'"item-{asked["CSV"].id}-v2"'
    assert stale.status_code == 412
    assert stale.json()["extra"] == {"version": 2}
    assert by_body.status_code == 412
    item = Item.objects.for_workspace(workspace).get(id=asked["CSV"].id)
    assert (item.title, item.effort) == ("CSV export", None)


def test_status_tags_and_decline_reason_through_patch(workspace, member, asked):
    tag = discovery.tag_create(workspace=workspace, actor=None, name="Exports")
    client = api_as(member, workspace)
    url = f"{ITEMS}{asked['CSV'].id}/"

    no_reason = client.patch(url, {"status": "declined"}, format="json")
    declined = client.patch(
        url,
        {"status": "declined", "declined_reason": "Not now", "tag_ids": [tag.id]},
        format="json",
    )

    assert no_reason.status_code == 400
    assert declined.status_code == 200
    body = declined.json()
    assert (body["status"], body["declined_reason"]) == ("declined", "Not now")
    assert [t["name"] for t in body["tags"]] == ["Exports"]


def test_create_and_bulk_change_all_or_nothing(workspace, member, asked):
    client = api_as(member, workspace)
    created = client.post(ITEMS, {"title": "Audit log", "kind": "feature"}, format="json")
    assert created.status_code == 201
    assert created.json()["kind"] == "feature"

    ok = client.post(
        f"{ITEMS}bulk/",
        {
            "items": [
                {"id": asked["CSV"].id, "status": "planned"},
                {"id": asked["SSO"].id, "status": "planned", "effort": 5},
            ]
        },
        format="json",
    )
    refused = client.post(
        f"{ITEMS}bulk/",
        {
            "items": [
                {"id": asked["Dark mode"].id, "status": "planned"},
                {"id": asked["SSO"].id, "version": 1, "status": "new"},
            ]
        },
        format="json",
    )

    assert ok.status_code == 200
    assert ok.json()["updated"] == 2
    assert refused.status_code == 412
    assert "items[1]" in refused.json()["message"]
    statuses = dict(Item.objects.for_workspace(workspace).values_list("title", "status"))
    assert statuses["Dark mode"] == "new"  # The whole request rolled back.
    assert statuses["SSO"] == "planned"


def test_evidence_list_link_and_unlink(workspace, member, asked):
    client = api_as(member, workspace)
    url = f"{ITEMS}{asked['Dark mode'].id}/evidence/"
    insight = discovery.insight_create(workspace=workspace, actor=None, title="Night owls")

    linked = client.post(url, {"insight_id": insight.id}, format="json")
    twice = client.post(url, {"insight_id": insight.id}, format="json")
    evidence = client.get(f"{ITEMS}{asked['CSV'].id}/evidence/").json()
    gone = client.delete(f"{url}{linked.json()[0]['id']}/")

    assert linked.status_code == 201
    assert len(twice.json()) == 1
    assert [e["feedback"]["text"] for e in evidence] == ["CSV please", "CSV please"]
    assert gone.status_code == 204
    assert client.get(url).json() == []


def test_another_workspaces_ids_are_unknown(workspace, other_workspace, member, asked):
    theirs = _item(other_workspace, "Theirs")
    insight = discovery.insight_create(workspace=other_workspace, actor=None, title="Theirs")
    client = api_as(member, workspace)

    assert client.get(f"{ITEMS}{theirs.id}/").status_code == 404
    assert client.patch(f"{ITEMS}{theirs.id}/", {"title": "x"}, format="json").status_code == 404
    linked = client.post(
        f"{ITEMS}{asked['CSV'].id}/evidence/", {"insight_id": insight.id}, format="json"
    )
    assert linked.status_code == 400
    assert (
        client.post(f"{ITEMS}bulk/", {"items": [{"id": theirs.id, "title": "x"}]}, format="json")
    ).status_code == 400
    assert Item.objects.for_workspace(other_workspace).get().title == "Theirs"


def test_viewers_read_but_do_not_change_priorities(workspace, viewer, asked):
    client = api_as(viewer, workspace)
    assert client.get(ITEMS).status_code == 200
    assert (
        client.patch(f"{ITEMS}{asked['CSV'].id}/", {"status": "planned"}, format="json")
    ).status_code == 403


@pytest.mark.parametrize(("who", "access", "code", "body"), DENIED_WRITERS, ids=DENIED_WRITER_IDS)
def test_callers_who_may_not_write_cannot_create_items(
    request, workspace, asked, who, access, code, body
):
    response = client_of(request, who, access).post(ITEMS, {"title": "x"}, format="json")
    assert (response.status_code, response.json()) == (code, body)
    assert Item.objects.for_workspace(workspace).count() == 3


# --- merge -----------------------------------------------------------------------------------
def test_merge_through_the_api_and_the_merged_item_redirects(workspace, member, asked):
    client = api_as(member, workspace)
    sso, csv = asked["SSO"], asked["CSV"]

    merged = client.post(f"{ITEMS}{sso.id}/merge/", {"into": csv.id}, format="json")
    again = client.post(f"{ITEMS}{sso.id}/merge/", {"into": csv.id}, format="json")
    old = client.get(f"{ITEMS}{sso.id}/")
    listed = client.get(ITEMS, {"fields": "title"}).json()["results"]

    assert merged.status_code == 200
    assert (merged.json()["id"], merged.json()["evidence_count"]) == (csv.id, 3)
    assert again.status_code == 200
    assert old.status_code == 301
    assert old["Location"] == f"http://testserver{ITEMS}{csv.id}/"
    assert [r["title"] for r in listed] == ["CSV", "Dark mode"]


def test_merge_refusals_through_the_api(workspace, other_workspace, member, asked):
    client = api_as(member, workspace)
    theirs = _item(other_workspace, "Theirs")
    csv, sso, dark = asked["CSV"], asked["SSO"], asked["Dark mode"]
    client.post(f"{ITEMS}{sso.id}/merge/", {"into": csv.id}, format="json")

    into_merged = client.post(f"{ITEMS}{dark.id}/merge/", {"into": sso.id}, format="json")
    into_theirs = client.post(f"{ITEMS}{dark.id}/merge/", {"into": theirs.id}, format="json")
    theirs_into = client.post(f"{ITEMS}{theirs.id}/merge/", {"into": dark.id}, format="json")
    itself = client.post(f"{ITEMS}{dark.id}/merge/", {"into": dark.id}, format="json")

    assert into_merged.status_code == 400
    assert f"itself merged into #{csv.id}" in into_merged.json()["message"]
    assert into_theirs.status_code == 400
    assert theirs_into.status_code == 404
    assert itself.status_code == 400
    assert Item.objects.for_workspace(workspace).get(id=dark.id).merged_into_id is None


def test_viewers_cannot_merge(workspace, viewer, asked):
    response = api_as(viewer, workspace).post(
        f"{ITEMS}{asked['SSO'].id}/merge/", {"into": asked["CSV"].id}, format="json"
    )
    assert response.status_code == 403
    assert Item.objects.for_workspace(workspace).get(id=asked["SSO"].id).merged_into_id is None


# --- sort by score ---------------------------------------------------------------------------
@pytest.fixture
def scored(workspace):
    """23 items: two never scored, the rest by RICE with ties (3 of each value) and nulls."""
    from backlog.models import ItemScore, ScoringFormula

    unscored = [_item(workspace, f"Old {i}") for i in range(2)]
    scoring.scoring_defaults_ensure(workspace=workspace)
    rice = ScoringFormula.objects.for_workspace(workspace).get(framework="rice")
    items = [_item(workspace, f"Item {i:02d}") for i in range(21)]
    values = {}
    for i, item in enumerate(items):
        value = None if i % 5 == 0 else float(i % 4)
        ItemScore.objects.for_workspace(workspace).filter(item=item, formula=rice).update(
            value=value
        )
        values[item.id] = value
    values.update(dict.fromkeys((u.id for u in unscored), None))
    return {"rice": rice, "values": values}


def _walk(client, params):
    seen, counts = [], []
    url = ITEMS
    while url:
        with CaptureQueriesContext(connection) as queries:
            page = client.get(url, params)
        assert page.status_code == 200, page.json()
        counts.append(len(queries))
        seen += page.json()["results"]
        url, params = page.json()["next"], None
    return seen, counts


@pytest.mark.parametrize("sort", ["score", "score:rice"])
def test_score_sort_walks_every_page_highest_first_nulls_last(workspace, member, scored, sort):
    rice = scored["rice"]
    sort = sort.replace("rice", str(rice.id))
    client = api_as(member, workspace)
    client.get(ITEMS)

    rows, counts = _walk(client, {"sort": sort, "page_size": 4})

    expected = sorted(
        scored["values"].items(),
        key=lambda pair: (pair[1] is None, -(pair[1] or 0), pair[0]),
    )
    assert [r["id"] for r in rows] == [item_id for item_id, _ in expected]
    assert len(counts) == 6
    # The token (with its membership), the page (the formula found inside it, or on a later
    # page checked inside it to be still the one the sort means).
    assert counts == [2, 2, 2, 2, 2, 2]
    first = next(r for r in rows if scored["values"][r["id"]] is not None)
    assert first["scores"][str(rice.id)] == scored["values"][first["id"]]


def test_score_sort_refuses_unknown_formulas_and_foreign_cursors(
    workspace, other_workspace, member, scored
):
    theirs = scoring.scoring_defaults_ensure(workspace=other_workspace)[0]
    client = api_as(member, workspace)
    page = client.get(ITEMS, {"sort": "score", "page_size": 2}).json()
    cursor = page["next"].split("cursor=")[1].split("&")[0]

    assert client.get(ITEMS, {"sort": f"score:{theirs.id}"}).status_code == 400
    assert client.get(ITEMS, {"sort": "score:x"}).status_code == 400
    assert client.get(ITEMS, {"sort": "arr", "cursor": cursor}).status_code == 400
    ice = ScoringFormula.objects.for_workspace(workspace).get(framework="ice")
    assert client.get(ITEMS, {"sort": f"score:{ice.id}", "cursor": cursor}).status_code == 400

    # A walk begun on `score` stops when the primary formula changes under it.
    assert client.get(ITEMS, {"sort": "score", "cursor": cursor}).status_code == 200
    scoring.formula_update(
        workspace=workspace, actor=None, formula=ice, version=ice.version, is_primary=True
    )
    assert client.get(ITEMS, {"sort": "score", "cursor": cursor}).status_code == 400


def test_score_range_filters_by_the_primary_or_a_named_formula(
    workspace, other_workspace, member, scored
):
    rice = scored["rice"]
    client = api_as(member, workspace)
    known = {item_id: v for item_id, v in scored["values"].items() if v is not None}

    def ids(params):
        response = client.get(ITEMS, {"page_size": 100, **params})
        assert response.status_code == 200, response.json()
        return {r["id"] for r in response.json()["results"]}

    assert ids({"score_min": 2}) == {i for i, v in known.items() if v >= 2}
    assert ids({"score_min": 1, "score_max": 2, "score_formula": rice.id}) == {
        i for i, v in known.items() if 1 <= v <= 2
    }
    theirs = scoring.scoring_defaults_ensure(workspace=other_workspace)[0]
    assert ids({"score_min": 0, "score_formula": theirs.id}) == set()
    assert client.get(ITEMS, {"score_min": "high"}).status_code == 400
