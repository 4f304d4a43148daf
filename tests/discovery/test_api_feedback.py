"""The feedback API: list with filters and cursor, create, change, delete, bulk push, tags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from discovery import services
from discovery.models import FEEDBACK_MAX_CHARS, Customer, Feedback, Tagging
from tests.discovery.api_support import (
    BASE,
    DENIED_WRITER_IDS,
    DENIED_WRITERS,
    NOT_FOUND,
    api_as,
    client_of,
    feedback,
    fields_error,
    iso,
)

pytestmark = pytest.mark.django_db

RECEIVED = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


@pytest.fixture
def people(workspace, member):
    company, _ = services.company_upsert(
        workspace=workspace, actor=member, name="Initech", domain="initech.test", segment="SMB"
    )
    peter, _ = services.customer_upsert(
        workspace=workspace, actor=member, email="peter@initech.test", name="Peter", company=company
    )
    return company, peter


@pytest.fixture
def editor(workspace, member):
    return api_as(member, workspace)


def _row(item: Feedback, *, customer=None, company=None, tags=()) -> dict:
    return {
        "id": item.id,
        "text": item.text,
        "source": item.source,
        "status": item.status,
        "external_id": item.external_id,
        "external_url": item.external_url,
        "received_at": iso(item.received_at),
        "customer": (
            {"id": customer.id, "name": customer.name, "email": customer.email}
            if customer
            else None
        ),
        "company": (
            {"id": company.id, "name": company.name, "segment": company.segment}
            if company
            else None
        ),
        "tags": [{"id": t.id, "name": t.name, "color": t.color} for t in tags],
        "created_at": iso(item.created_at),
        "updated_at": iso(item.updated_at),
    }


# --- create, read, change, delete ------------------------------------------------------------
def test_create_returns_the_item_with_its_customer_and_company(workspace, editor, people):
    company, peter = people

    response = editor.post(
        f"{BASE}/feedback/",
        {
            "text": "Exports time out on big boards",
            "source": "support",
            "external_id": "T-1",
            "external_url": "https://support.test/T-1",
            "customer_id": peter.id,
            "received_at": "2026-11-20T09:30:00Z",
        },
        format="json",
    )

    assert response.status_code == 201
    item = Feedback.objects.for_workspace(workspace).get()
    assert (item.text, item.source, item.external_id, item.customer_id, item.company_id) == (
        "Exports time out on big boards",
        "support",
        "T-1",
        peter.id,
        company.id,
    )
    assert item.received_at == RECEIVED
    assert response.json() == _row(item, customer=peter, company=company)
    assert response.json()["received_at"] == "2026-11-20T09:30:00Z"


def test_create_with_an_external_id_already_pushed_is_refused(workspace, editor):
    feedback(workspace, None, source="support", external_id="T-1")

    response = editor.post(
        f"{BASE}/feedback/",
        {"text": "Again", "source": "support", "external_id": "T-1"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {
        "message": "Feedback 'T-1' from support is already in pmhub.",
        "extra": {},
    }
    assert Feedback.objects.for_workspace(workspace).count() == 1


def test_get_one_item_with_its_tags(workspace, member, editor, people):
    company, peter = people
    item = feedback(workspace, member, customer_id=peter.id)
    tag = services.tag_create(workspace=workspace, actor=member, name="Exports", color="#112233")
    services.feedback_tag(workspace=workspace, actor=member, feedback_ids=[item.id], tag_id=tag.id)

    response = editor.get(f"{BASE}/feedback/{item.id}/")

    assert response.status_code == 200
    assert response.json() == _row(item, customer=peter, company=company, tags=[tag])


def test_patch_changes_text_customer_and_status(workspace, member, editor, people):
    company, peter = people
    item = feedback(workspace, member)

    response = editor.patch(
        f"{BASE}/feedback/{item.id}/",
        {"text": "Exports fail", "customer_id": peter.id, "status": "triaged"},
        format="json",
    )

    assert response.status_code == 200
    item.refresh_from_db()
    assert (item.text, item.customer_id, item.company_id, item.status) == (
        "Exports fail",
        peter.id,
        company.id,
        "triaged",
    )
    assert response.json() == _row(item, customer=peter, company=company)


def test_patch_status_alone_archives(workspace, member, editor):
    item = feedback(workspace, member)

    response = editor.patch(f"{BASE}/feedback/{item.id}/", {"status": "archived"}, format="json")

    assert response.status_code == 200
    assert response.json()["status"] == "archived"
    assert Feedback.objects.for_workspace(workspace).get().status == "archived"


def test_patch_with_an_unknown_status_is_400(workspace, member, editor):
    item = feedback(workspace, member)

    response = editor.patch(f"{BASE}/feedback/{item.id}/", {"status": "done"}, format="json")

    assert response.status_code == 400
    assert response.json() == fields_error(status=['"done" is not a valid choice.'])
    assert Feedback.objects.for_workspace(workspace).get().status == "new"


def test_delete_removes_the_item(workspace, member, editor):
    item = feedback(workspace, member)

    response = editor.delete(f"{BASE}/feedback/{item.id}/")

    assert response.status_code == 204
    assert not Feedback.objects.for_workspace(workspace).exists()


def test_an_item_of_another_workspace_is_404_and_untouched(workspace, other_workspace, editor):
    foreign = feedback(other_workspace, None, text="Globex secret")

    responses = [
        editor.get(f"{BASE}/feedback/{foreign.id}/"),
        editor.patch(f"{BASE}/feedback/{foreign.id}/", {"text": "Mine"}, format="json"),
        editor.delete(f"{BASE}/feedback/{foreign.id}/"),
    ]

    assert [r.status_code for r in responses] == [404, 404, 404]
    assert all(r.json() == NOT_FOUND for r in responses)
    assert Feedback.objects.for_workspace(other_workspace).get().text == "Globex secret"


# --- bad input -------------------------------------------------------------------------------
def test_html_and_script_come_back_verbatim_as_json_data(workspace, editor):
    text = '<script>alert("x")</script><img src=x onerror=alert(1)> & <b>bold</b>'

    created = editor.post(f"{BASE}/feedback/", {"text": text}, format="json")
    listed = editor.get(f"{BASE}/feedback/")

    assert created.status_code == 201
    assert Feedback.objects.for_workspace(workspace).get().text == text
    assert created.json()["text"] == text
    assert listed.json()["results"][0]["text"] == text
    # Served as JSON data, never as a document a browser would render.
    assert listed["Content-Type"] == "application/json"
    assert listed["X-Content-Type-Options"] == "nosniff"


def test_oversized_text_is_400_and_nothing_is_stored(workspace, editor):
    response = editor.post(
        f"{BASE}/feedback/", {"text": "x" * (FEEDBACK_MAX_CHARS + 1)}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == fields_error(
        text=[f"Ensure this field has no more than {FEEDBACK_MAX_CHARS} characters."]
    )
    assert not Feedback.objects.for_workspace(workspace).exists()


def test_text_at_the_limit_is_accepted(workspace, editor):
    response = editor.post(f"{BASE}/feedback/", {"text": "x" * FEEDBACK_MAX_CHARS}, format="json")

    assert response.status_code == 201
    assert len(Feedback.objects.for_workspace(workspace).get().text) == FEEDBACK_MAX_CHARS


def test_a_customer_of_another_workspace_is_unknown(workspace, other_workspace, editor):
    foreign, _ = services.customer_upsert(
        workspace=other_workspace, actor=None, email="eve@globex.test", name="Eve"
    )

    response = editor.post(
        f"{BASE}/feedback/", {"text": "Hi", "customer_id": foreign.id}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == fields_error(customer=["Unknown customer."])
    assert not Feedback.objects.for_workspace(workspace).exists()
    assert not Feedback.objects.for_workspace(other_workspace).exists()


def test_patch_to_a_customer_of_another_workspace_is_refused(
    workspace, other_workspace, member, editor
):
    item = feedback(workspace, member)
    foreign, _ = services.customer_upsert(
        workspace=other_workspace, actor=None, email="eve@globex.test", name="Eve"
    )

    response = editor.patch(
        f"{BASE}/feedback/{item.id}/", {"customer_id": foreign.id}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == fields_error(customer=["Unknown customer."])
    assert Feedback.objects.for_workspace(workspace).get().customer_id is None


# --- list: filters and cursor ----------------------------------------------------------------
@pytest.fixture
def inbox(workspace, member, people):
    """Five items over five days, with every attribute a filter looks at."""
    company, peter = people
    other_company, _ = services.company_upsert(
        workspace=workspace, actor=member, name="Hooli", domain="hooli.test", segment="Enterprise"
    )
    gavin, _ = services.customer_upsert(
        workspace=workspace,
        actor=member,
        email="gavin@hooli.test",
        name="Gavin",
        company=other_company,
    )
    tag = services.tag_create(workspace=workspace, actor=member, name="Exports")
    day = timedelta(days=1)
    items = {
        "old_support": feedback(
            workspace,
            member,
            text="Exports time out",
            source="support",
            customer_id=peter.id,
            received_at=RECEIVED - 4 * day,
        ),
        "sales": feedback(
            workspace,
            member,
            text="Pricing is confusing",
            source="sales",
            customer_id=gavin.id,
            received_at=RECEIVED - 3 * day,
        ),
        "survey": feedback(
            workspace,
            member,
            text="Love the roadmap view",
            source="survey",
            received_at=RECEIVED - 2 * day,
        ),
        "triaged": feedback(
            workspace,
            member,
            text="Export to CSV please",
            source="support",
            customer_id=gavin.id,
            received_at=RECEIVED - day,
        ),
        "new_manual": feedback(
            workspace, member, text="Dark mode", source="manual", received_at=RECEIVED
        ),
    }
    services.feedback_set_status(
        workspace=workspace, actor=member, feedback_ids=[items["triaged"].id], status="triaged"
    )
    services.feedback_tag(
        workspace=workspace,
        actor=member,
        feedback_ids=[items["old_support"].id, items["triaged"].id],
        tag_id=tag.id,
    )
    return {"items": items, "tag": tag, "company": company, "peter": peter, "gavin": gavin}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param(
            "", ["new_manual", "triaged", "survey", "sales", "old_support"], id="all_case"
        ),
        pytest.param("status=triaged", ["triaged"], id="status_case"),
        pytest.param("source=support", ["triaged", "old_support"], id="source_case"),
        pytest.param("tag={tag}", ["triaged", "old_support"], id="tag_case"),
        pytest.param("segment=Enterprise", ["triaged", "sales"], id="segment_case"),
        pytest.param("company={company}", ["old_support"], id="company_case"),
        pytest.param("customer={gavin}", ["triaged", "sales"], id="customer_case"),
        pytest.param("since=2026-11-18", ["new_manual", "triaged", "survey"], id="since_case"),
        pytest.param("until=2026-11-17", ["sales", "old_support"], id="until_case"),
        pytest.param("q=export", ["triaged", "old_support"], id="search_case"),
        pytest.param("q=export -csv", ["old_support"], id="search_exclusion_case"),
        pytest.param("source=support&status=new&tag={tag}", ["old_support"], id="combined_case"),
    ],
)
def test_list_filters(editor, inbox, query, expected):
    query = query.format(tag=inbox["tag"].id, company=inbox["company"].id, gavin=inbox["gavin"].id)

    response = editor.get(f"{BASE}/feedback/?{query}")

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [
        inbox["items"][name].id for name in expected
    ]


def test_list_rows_carry_customer_company_and_tags(editor, inbox):
    response = editor.get(f"{BASE}/feedback/?status=triaged")

    item = Feedback.objects.get(id=inbox["items"]["triaged"].id)
    assert response.json() == {
        "next": None,
        "previous": None,
        "results": [
            _row(
                item,
                customer=inbox["gavin"],
                company=inbox["gavin"].company,
                tags=[inbox["tag"]],
            )
        ],
    }


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        pytest.param(
            "status=done", {"status": ['"done" is not a valid choice.']}, id="status_case"
        ),
        pytest.param("tag=abc", {"tag": ["A valid integer is required."]}, id="tag_case"),
        pytest.param(
            "since=yesterday",
            {"since": ["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."]},
            id="date_case",
        ),
    ],
)
def test_invalid_filters_are_400(editor, query, fields):
    response = editor.get(f"{BASE}/feedback/?{query}")

    assert response.status_code == 400
    assert response.json() == fields_error(**fields)


def test_a_tag_of_another_workspace_filters_to_nothing(other_workspace, editor, inbox):
    foreign = services.tag_create(workspace=other_workspace, actor=None, name="Exports")

    response = editor.get(f"{BASE}/feedback/?tag={foreign.id}")

    assert response.status_code == 200
    assert response.json()["results"] == []


def test_the_cursor_walks_every_item_once_newest_first(workspace, member, editor):
    # Ties on received_at (three items per instant) are ordered by id, newest first.
    items = [
        feedback(
            workspace, member, text=f"Item {n}", received_at=RECEIVED - timedelta(hours=n // 3)
        )
        for n in range(25)
    ]
    expected = [i.id for i in sorted(items, key=lambda i: (i.received_at, i.id), reverse=True)]

    seen: list[int] = []
    pages = 0
    url = f"{BASE}/feedback/?page_size=10"
    while url:
        body = editor.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
        pages += 1

    assert pages == 3
    assert seen == expected


def test_the_previous_link_returns_the_page_before(workspace, member, editor):
    for n in range(6):
        feedback(workspace, member, text=f"Item {n}", received_at=RECEIVED - timedelta(hours=n))
    first = editor.get(f"{BASE}/feedback/?page_size=3").json()

    second = editor.get(first["next"]).json()
    back = editor.get(second["previous"]).json()

    assert [r["id"] for r in back["results"]] == [r["id"] for r in first["results"]]
    assert second["next"] is None


@pytest.mark.parametrize("page_size", [10, 100, 1000])
def test_list_query_count_is_the_same_for_any_page_size(
    workspace, member, django_assert_num_queries, page_size
):
    tag = services.tag_create(workspace=workspace, actor=member, name="Exports")
    customer, _ = services.customer_upsert(workspace=workspace, actor=member, email="p@x.test")
    result = services.feedback_bulk_upsert(
        workspace=workspace,
        actor=member,
        items=[
            services.FeedbackInput(text=f"Item {n}", customer_id=customer.id) for n in range(1001)
        ],
    )
    services.feedback_tag(workspace=workspace, actor=member, feedback_ids=result.ids, tag_id=tag.id)
    client = APIClient()
    client.force_authenticate(member)

    # membership (with workspace), the page of rows (customer and company joined), their tags
    with django_assert_num_queries(3):
        response = client.get(f"{BASE}/feedback/?page_size={page_size}&tag={tag.id}")

    body = response.json()
    assert len(body["results"]) == page_size
    assert all(
        row["tags"] == [{"id": tag.id, "name": "Exports", "color": "#6366f1"}]
        for row in body["results"]
    )
    assert body["next"] is not None


def test_page_size_is_capped_at_1000(workspace, member, editor):
    services.feedback_bulk_upsert(
        workspace=workspace,
        actor=member,
        items=[services.FeedbackInput(text=f"Item {n}") for n in range(1001)],
    )

    response = editor.get(f"{BASE}/feedback/?page_size=5000")

    assert len(response.json()["results"]) == 1000


# --- bulk ------------------------------------------------------------------------------------
def _batch(size: int, *, text: str = "Item") -> list[dict]:
    return [
        {
            "text": f"{text} {n}",
            "source": "support",
            "external_id": f"T-{n}",
            "received_at": "2026-11-20T09:30:00Z",
        }
        for n in range(size)
    ]


def test_bulk_creates_1000_items(workspace, editor):
    response = editor.post(f"{BASE}/feedback/bulk/", {"items": _batch(1000)}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert (body["created"], body["updated"], body["unchanged"]) == (1000, 0, 0)
    stored = Feedback.objects.for_workspace(workspace)
    assert sorted(body["ids"]) == sorted(stored.values_list("id", flat=True))
    assert stored.count() == 1000


def test_bulk_refuses_1001_items_and_stores_nothing(workspace, editor):
    response = editor.post(f"{BASE}/feedback/bulk/", {"items": _batch(1001)}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "message": "Send at most 1,000 items per call; this one has 1,001. Split the batch.",
        "extra": {"limit": 1000, "received": 1001},
    }
    assert not Feedback.objects.for_workspace(workspace).exists()


def test_bulk_twice_changes_nothing(workspace, editor):
    first = editor.post(f"{BASE}/feedback/bulk/", {"items": _batch(50)}, format="json").json()
    before = list(Feedback.objects.for_workspace(workspace).order_by("id").values())

    again = editor.post(f"{BASE}/feedback/bulk/", {"items": _batch(50)}, format="json")

    assert again.status_code == 200
    assert again.json() == {"created": 0, "updated": 0, "unchanged": 50, "ids": first["ids"]}
    assert list(Feedback.objects.for_workspace(workspace).order_by("id").values()) == before


def test_bulk_twice_without_dates_keeps_the_first_date(workspace, editor):
    batch = [{"text": "Slow", "source": "email", "external_id": "E-1"}]
    editor.post(f"{BASE}/feedback/bulk/", {"items": batch}, format="json")
    received = Feedback.objects.for_workspace(workspace).get().received_at

    again = editor.post(f"{BASE}/feedback/bulk/", {"items": batch}, format="json")

    assert (again.json()["created"], again.json()["unchanged"]) == (0, 1)
    assert Feedback.objects.for_workspace(workspace).get().received_at == received


def test_bulk_updates_changed_items_only(workspace, editor):
    editor.post(f"{BASE}/feedback/bulk/", {"items": _batch(3)}, format="json")
    batch = _batch(3)
    batch[1]["text"] = "Changed"

    response = editor.post(f"{BASE}/feedback/bulk/", {"items": batch}, format="json")

    assert (response.json()["created"], response.json()["updated"]) == (0, 1)
    assert response.json()["unchanged"] == 2
    assert Feedback.objects.for_workspace(workspace).get(external_id="T-1").text == "Changed"


def test_bulk_names_customers_by_email_and_creates_each_once(workspace, editor):
    items = [
        {
            "text": "A",
            "external_id": "1",
            "customer_email": "Ann@Example.test",
            "customer_name": "Ann",
        },
        {"text": "B", "external_id": "2", "customer_email": "ann@example.test"},
        {"text": "C", "external_id": "3"},
    ]

    response = editor.post(f"{BASE}/feedback/bulk/", {"items": items}, format="json")

    assert response.status_code == 200
    ann = Customer.objects.for_workspace(workspace).get()
    assert (ann.email, ann.name) == ("ann@example.test", "Ann")
    stored = Feedback.objects.for_workspace(workspace)
    assert sorted(stored.filter(customer=ann).values_list("text", flat=True)) == ["A", "B"]
    assert stored.get(text="C").customer_id is None


def test_bulk_with_a_customer_of_another_workspace_stores_nothing(
    workspace, other_workspace, editor
):
    foreign, _ = services.customer_upsert(
        workspace=other_workspace, actor=None, email="eve@globex.test"
    )
    items = [{"text": "A", "external_id": "1"}, {"text": "B", "customer_id": foreign.id}]

    response = editor.post(f"{BASE}/feedback/bulk/", {"items": items}, format="json")

    assert response.status_code == 400
    assert response.json() == fields_error(**{"items[1]": ["Unknown customer."]})
    assert not Feedback.objects.for_workspace(workspace).exists()


def test_bulk_reports_the_bad_item_by_position(workspace, editor):
    items = [{"text": "Fine"}, {"text": "x" * (FEEDBACK_MAX_CHARS + 1)}, {"source": "fax"}]

    response = editor.post(f"{BASE}/feedback/bulk/", {"items": items}, format="json")

    assert response.status_code == 400
    assert response.json() == fields_error(
        items={
            "1": {"text": [f"Ensure this field has no more than {FEEDBACK_MAX_CHARS} characters."]},
            "2": {"text": ["This field is required."], "source": ['"fax" is not a valid choice.']},
        }
    )
    assert not Feedback.objects.for_workspace(workspace).exists()


def test_bulk_refuses_an_empty_batch(editor):
    response = editor.post(f"{BASE}/feedback/bulk/", {"items": []}, format="json")

    assert response.status_code == 400
    assert response.json() == fields_error(
        items={"non_field_errors": ["Ensure this field has at least 1 elements."]}
    )


# --- tags on feedback ------------------------------------------------------------------------
def test_tag_and_untag_an_item(workspace, member, editor):
    item = feedback(workspace, member)
    tag = services.tag_create(workspace=workspace, actor=member, name="Exports")

    tagged = editor.post(f"{BASE}/feedback/{item.id}/tags/", {"tag_id": tag.id}, format="json")
    again = editor.post(f"{BASE}/feedback/{item.id}/tags/", {"tag_id": tag.id}, format="json")

    assert (tagged.status_code, again.status_code) == (200, 200)
    assert tagged.json()["tags"] == [{"id": tag.id, "name": "Exports", "color": "#6366f1"}]
    tagging = Tagging.objects.for_workspace(workspace).get()
    assert (tagging.feedback_id, tagging.tag_id, tagging.origin) == (item.id, tag.id, "person")

    removed = editor.delete(f"{BASE}/feedback/{item.id}/tags/{tag.id}/")

    assert removed.status_code == 204
    assert not Tagging.objects.for_workspace(workspace).exists()


def test_a_tag_of_another_workspace_is_unknown(workspace, other_workspace, member, editor):
    item = feedback(workspace, member)
    foreign = services.tag_create(workspace=other_workspace, actor=None, name="Exports")

    added = editor.post(f"{BASE}/feedback/{item.id}/tags/", {"tag_id": foreign.id}, format="json")
    removed = editor.delete(f"{BASE}/feedback/{item.id}/tags/{foreign.id}/")

    assert added.status_code == 400
    assert added.json() == fields_error(tag_id=["Unknown tag."])
    assert removed.status_code == 404
    assert not Tagging.objects.for_workspace(workspace).exists()
    assert not Tagging.objects.for_workspace(other_workspace).exists()


# --- who may write ---------------------------------------------------------------------------
def _writes(item_id: int, tag_id: int) -> list[tuple[str, str, dict | None]]:
    return [
        ("post", f"{BASE}/feedback/", {"text": "New"}),
        ("patch", f"{BASE}/feedback/{item_id}/", {"status": "archived"}),
        ("delete", f"{BASE}/feedback/{item_id}/", None),
        ("post", f"{BASE}/feedback/bulk/", {"items": [{"text": "New"}]}),
        ("post", f"{BASE}/feedback/{item_id}/tags/", {"tag_id": tag_id}),
        ("delete", f"{BASE}/feedback/{item_id}/tags/{tag_id}/", None),
    ]


@pytest.mark.parametrize(("who", "access", "status", "body"), DENIED_WRITERS, ids=DENIED_WRITER_IDS)
def test_who_cannot_write_changes_nothing(
    request, workspace, other_workspace, member, who, access, status, body
):
    item = feedback(workspace, member)
    tag = services.tag_create(workspace=workspace, actor=member, name="Exports")
    services.feedback_tag(workspace=workspace, actor=member, feedback_ids=[item.id], tag_id=tag.id)
    client = client_of(request, who, access)
    before = (
        list(Feedback.objects.for_workspace(workspace).values()),
        list(Tagging.objects.for_workspace(workspace).values()),
    )

    responses = [
        getattr(client, method)(url, data, format="json")
        for method, url, data in _writes(item.id, tag.id)
    ]

    assert [(r.status_code, r.json()) for r in responses] == [(status, body)] * 6
    assert (
        list(Feedback.objects.for_workspace(workspace).values()),
        list(Tagging.objects.for_workspace(workspace).values()),
    ) == before


@pytest.mark.parametrize("who", ["viewer", "member", "admin"])
def test_every_member_reads(request, workspace, member, who):
    item = feedback(workspace, member)
    client = api_as(request.getfixturevalue(who), workspace, "read")

    listed = client.get(f"{BASE}/feedback/")
    one = client.get(f"{BASE}/feedback/{item.id}/")

    assert (listed.status_code, one.status_code) == (200, 200)
    assert [r["id"] for r in listed.json()["results"]] == [item.id]


def test_anonymous_is_401(workspace):
    response = APIClient().get(f"{BASE}/feedback/")

    assert response.status_code == 401
