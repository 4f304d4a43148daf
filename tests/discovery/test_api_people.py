"""The companies and customers API: list with search, create (upsert), get, change, delete."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from discovery import services
from discovery.models import Company, Customer, Feedback, Insight
from pmhub.workspaces.models import AuditEvent
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


@pytest.fixture
def editor(workspace, member):
    return api_as(member, workspace)


def _company(workspace, actor, name="Initech", domain="initech.test", **kwargs):
    company, _ = services.company_upsert(
        workspace=workspace, actor=actor, name=name, domain=domain, **kwargs
    )
    return company


def _company_row(company: Company) -> dict:
    return {
        "id": company.id,
        "name": company.name,
        "domain": company.domain,
        "arr": None if company.arr is None else f"{company.arr:.2f}",
        "plan": company.plan,
        "segment": company.segment,
        "attributes": company.attributes,
        "created_at": iso(company.created_at),
        "updated_at": iso(company.updated_at),
    }


def _customer_row(customer: Customer) -> dict:
    return {
        "id": customer.id,
        "name": customer.name,
        "email": customer.email,
        "company_id": customer.company_id,
        "company_name": customer.company.name if customer.company else None,
        "attributes": customer.attributes,
        "created_at": iso(customer.created_at),
        "updated_at": iso(customer.updated_at),
    }


# --- companies -------------------------------------------------------------------------------
def test_create_a_company(workspace, editor):
    response = editor.post(
        f"{BASE}/companies/",
        {
            "name": "Initech",
            "domain": "Initech.test",
            "arr": "120000.50",
            "plan": "Pro",
            "segment": "SMB",
            "attributes": {"region": "EU"},
        },
        format="json",
    )

    assert response.status_code == 201
    company = Company.objects.for_workspace(workspace).get()
    assert (company.name, company.domain, company.arr, company.attributes) == (
        "Initech",
        "initech.test",
        Decimal("120000.50"),
        {"region": "EU"},
    )
    assert response.json() == _company_row(company)
    assert response.json()["arr"] == "120000.50"


def test_posting_a_known_domain_updates_that_company(workspace, member, editor):
    company = _company(workspace, member)

    response = editor.post(
        f"{BASE}/companies/", {"name": "Initech Corp", "domain": "INITECH.test"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["id"] == company.id
    assert Company.objects.for_workspace(workspace).get().name == "Initech Corp"


def test_list_companies_and_search_by_name(workspace, member, editor):
    initech = _company(workspace, member)
    hooli = _company(workspace, member, name="Hooli", domain="hooli.test")

    everything = editor.get(f"{BASE}/companies/")
    found = editor.get(f"{BASE}/companies/?q=initek")

    assert [r["id"] for r in everything.json()["results"]] == [initech.id, hooli.id]
    assert found.json()["results"] == [_company_row(initech)]


def test_get_patch_and_delete_a_company(workspace, member, editor):
    company = _company(workspace, member)
    customer, _ = services.customer_upsert(
        workspace=workspace, actor=member, email="p@initech.test", company=company
    )
    item = feedback(workspace, member, customer_id=customer.id)

    got = editor.get(f"{BASE}/companies/{company.id}/")
    patched = editor.patch(
        f"{BASE}/companies/{company.id}/",
        {"segment": "Enterprise", "arr": "5000.00"},
        format="json",
    )

    assert got.json() == _company_row(company)
    company.refresh_from_db()
    assert (company.segment, company.arr, company.name) == (
        "Enterprise",
        Decimal("5000.00"),
        "Initech",
    )
    assert patched.json() == _company_row(company)

    deleted = editor.delete(f"{BASE}/companies/{company.id}/")

    assert deleted.status_code == 204
    assert not Company.objects.for_workspace(workspace).exists()
    assert Customer.objects.for_workspace(workspace).get().company_id is None
    assert Feedback.objects.for_workspace(workspace).get(id=item.id).company_id is None
    assert AuditEvent.objects.for_workspace(workspace).filter(action="company.deleted").count() == 1


def test_patching_a_domain_to_one_in_use_is_400(workspace, member, editor):
    _company(workspace, member)
    hooli = _company(workspace, member, name="Hooli", domain="hooli.test")

    response = editor.patch(
        f"{BASE}/companies/{hooli.id}/", {"domain": "initech.test"}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == fields_error(
        domain=["A company with the domain 'initech.test' already exists."]
    )
    assert Company.objects.for_workspace(workspace).get(id=hooli.id).domain == "hooli.test"


def test_changing_arr_updates_the_reach_of_insights_citing_the_company(workspace, member, editor):
    company = _company(workspace, member, arr=Decimal(100))
    customer, _ = services.customer_upsert(
        workspace=workspace, actor=member, email="p@initech.test", company=company
    )
    insight = services.insight_create(workspace=workspace, actor=member, title="Slow exports")
    services.evidence_add(
        workspace=workspace,
        actor=member,
        insight=insight,
        feedback=feedback(workspace, member, customer_id=customer.id),
    )

    editor.patch(f"{BASE}/companies/{company.id}/", {"arr": "900.00"}, format="json")

    assert Insight.objects.for_workspace(workspace).get().arr == Decimal(900)


def test_a_company_of_another_workspace_is_404(other_workspace, editor):
    foreign = _company(other_workspace, None, name="Globex", domain="globex.test")

    responses = [
        editor.get(f"{BASE}/companies/{foreign.id}/"),
        editor.patch(f"{BASE}/companies/{foreign.id}/", {"name": "Mine"}, format="json"),
        editor.delete(f"{BASE}/companies/{foreign.id}/"),
    ]

    assert [(r.status_code, r.json()) for r in responses] == [(404, NOT_FOUND)] * 3
    assert Company.objects.for_workspace(other_workspace).get().name == "Globex"


def test_a_company_name_with_markup_comes_back_verbatim(workspace, editor):
    name = "<script>alert(1)</script> Corp"

    response = editor.post(f"{BASE}/companies/", {"name": name}, format="json")

    assert response.json()["name"] == name
    assert Company.objects.for_workspace(workspace).get().name == name


def test_an_oversized_company_name_is_400(workspace, editor):
    response = editor.post(f"{BASE}/companies/", {"name": "x" * 201}, format="json")

    assert response.status_code == 400
    assert response.json() == fields_error(
        name=["Ensure this field has no more than 200 characters."]
    )
    assert not Company.objects.for_workspace(workspace).exists()


# --- customers -------------------------------------------------------------------------------
def test_create_a_customer_in_a_company(workspace, member, editor):
    company = _company(workspace, member)

    response = editor.post(
        f"{BASE}/customers/",
        {"email": "Peter@Initech.test", "name": "Peter", "company_id": company.id},
        format="json",
    )

    assert response.status_code == 201
    customer = Customer.objects.for_workspace(workspace).get()
    assert (customer.email, customer.name, customer.company_id) == (
        "peter@initech.test",
        "Peter",
        company.id,
    )
    assert response.json() == _customer_row(customer)
    assert response.json()["company_name"] == "Initech"


def test_a_company_of_another_workspace_is_unknown(workspace, other_workspace, member, editor):
    foreign = _company(other_workspace, None, name="Globex", domain="globex.test")
    customer, _ = services.customer_upsert(workspace=workspace, actor=member, email="p@x.test")

    created = editor.post(
        f"{BASE}/customers/", {"email": "q@x.test", "company_id": foreign.id}, format="json"
    )
    patched = editor.patch(
        f"{BASE}/customers/{customer.id}/", {"company_id": foreign.id}, format="json"
    )

    assert (created.status_code, patched.status_code) == (400, 400)
    assert created.json() == fields_error(company_id=["Unknown company."])
    assert patched.json() == fields_error(company_id=["Unknown company."])
    assert list(Customer.objects.for_workspace(workspace).values_list("email", "company_id")) == [
        ("p@x.test", None)
    ]
    assert not Customer.objects.for_workspace(other_workspace).exists()


def test_a_customer_needs_an_email_or_a_name(workspace, editor):
    response = editor.post(f"{BASE}/customers/", {"email": ""}, format="json")

    assert response.status_code == 400
    assert response.json() == fields_error(email=["A customer needs an email or a name."])


def test_list_customers_and_search_by_name_or_email(workspace, member, editor):
    peter, _ = services.customer_upsert(
        workspace=workspace, actor=member, email="peter@initech.test", name="Peter Gibbons"
    )
    services.customer_upsert(
        workspace=workspace, actor=member, email="milton@initech.test", name="Milton"
    )

    by_name = editor.get(f"{BASE}/customers/?q=Gibons")
    by_email = editor.get(f"{BASE}/customers/?q=peter@")
    everyone = editor.get(f"{BASE}/customers/")

    assert by_name.json()["results"] == [_customer_row(peter)]
    assert [r["id"] for r in by_email.json()["results"]] == [peter.id]
    assert len(everyone.json()["results"]) == 2


def test_moving_a_customer_moves_their_feedback(workspace, member, editor):
    initech = _company(workspace, member)
    hooli = _company(workspace, member, name="Hooli", domain="hooli.test")
    customer, _ = services.customer_upsert(
        workspace=workspace, actor=member, email="p@x.test", company=initech
    )
    item = feedback(workspace, member, customer_id=customer.id)

    response = editor.patch(
        f"{BASE}/customers/{customer.id}/",
        {"company_id": hooli.id, "name": "Peter"},
        format="json",
    )

    assert response.status_code == 200
    customer.refresh_from_db()
    assert (customer.company_id, customer.name) == (hooli.id, "Peter")
    assert response.json() == _customer_row(customer)
    assert Feedback.objects.for_workspace(workspace).get(id=item.id).company_id == hooli.id


def test_an_email_already_used_is_400(workspace, member, editor):
    services.customer_upsert(workspace=workspace, actor=member, email="a@x.test")
    other, _ = services.customer_upsert(workspace=workspace, actor=member, email="b@x.test")

    response = editor.patch(f"{BASE}/customers/{other.id}/", {"email": "A@x.test"}, format="json")

    assert response.status_code == 400
    assert response.json() == fields_error(
        email=["A customer with the email 'a@x.test' already exists."]
    )


def test_get_and_delete_a_customer_keeps_their_feedback(workspace, member, editor):
    company = _company(workspace, member)
    customer, _ = services.customer_upsert(
        workspace=workspace, actor=member, email="p@x.test", company=company
    )
    item = feedback(workspace, member, customer_id=customer.id)

    got = editor.get(f"{BASE}/customers/{customer.id}/")
    deleted = editor.delete(f"{BASE}/customers/{customer.id}/")

    assert got.json() == _customer_row(customer)
    assert deleted.status_code == 204
    assert not Customer.objects.for_workspace(workspace).exists()
    item.refresh_from_db()
    assert (item.customer_id, item.company_id) == (None, None)


def test_a_customer_of_another_workspace_is_404(other_workspace, editor):
    foreign, _ = services.customer_upsert(
        workspace=other_workspace, actor=None, email="eve@globex.test"
    )

    responses = [
        editor.get(f"{BASE}/customers/{foreign.id}/"),
        editor.patch(f"{BASE}/customers/{foreign.id}/", {"name": "Mine"}, format="json"),
        editor.delete(f"{BASE}/customers/{foreign.id}/"),
    ]

    assert [(r.status_code, r.json()) for r in responses] == [(404, NOT_FOUND)] * 3
    assert Customer.objects.for_workspace(other_workspace).get().name == ""


# --- who may write ---------------------------------------------------------------------------
@pytest.mark.parametrize(("who", "access", "status", "body"), DENIED_WRITERS, ids=DENIED_WRITER_IDS)
def test_who_cannot_write_changes_nothing(
    request, workspace, other_workspace, member, who, access, status, body
):
    company = _company(workspace, member)
    customer, _ = services.customer_upsert(workspace=workspace, actor=member, email="p@x.test")
    client = client_of(request, who, access)
    writes = [
        ("post", f"{BASE}/companies/", {"name": "New"}),
        ("patch", f"{BASE}/companies/{company.id}/", {"name": "Changed"}),
        ("delete", f"{BASE}/companies/{company.id}/", None),
        ("post", f"{BASE}/customers/", {"email": "new@x.test"}),
        ("patch", f"{BASE}/customers/{customer.id}/", {"name": "Changed"}),
        ("delete", f"{BASE}/customers/{customer.id}/", None),
    ]
    before = (
        list(Company.objects.for_workspace(workspace).values()),
        list(Customer.objects.for_workspace(workspace).values()),
    )

    responses = [getattr(client, m)(url, data, format="json") for m, url, data in writes]

    assert [(r.status_code, r.json()) for r in responses] == [(status, body)] * len(writes)
    assert (
        list(Company.objects.for_workspace(workspace).values()),
        list(Customer.objects.for_workspace(workspace).values()),
    ) == before


def test_a_viewer_reads_companies_and_customers(workspace, member, viewer):
    company = _company(workspace, member)
    client = api_as(viewer, workspace, "read")

    responses = [
        client.get(f"{BASE}/companies/"),
        client.get(f"{BASE}/companies/{company.id}/"),
        client.get(f"{BASE}/customers/"),
    ]

    assert [r.status_code for r in responses] == [200, 200, 200]


def test_companies_list_query_count_is_constant(workspace, member, django_assert_num_queries):
    for n in range(30):
        _company(workspace, member, name=f"Company {n}", domain=f"c{n}.test")
    client = APIClient()
    client.force_authenticate(member)

    # membership (with workspace), the page of companies
    with django_assert_num_queries(2):
        response = client.get(f"{BASE}/companies/?page_size=25")

    assert len(response.json()["results"]) == 25


def test_customers_list_query_count_is_constant(workspace, member, django_assert_num_queries):
    company = _company(workspace, member)
    for n in range(30):
        services.customer_upsert(
            workspace=workspace, actor=member, email=f"p{n}@x.test", company=company
        )
    client = APIClient()
    client.force_authenticate(member)

    # membership (with workspace), the page of customers with their company joined
    with django_assert_num_queries(2):
        response = client.get(f"{BASE}/customers/?page_size=25")

    assert len(response.json()["results"]) == 25


def test_the_company_cursor_walks_every_company_once(workspace, member, editor):
    ids = [_company(workspace, member, name=f"C{n}", domain=f"c{n}.test").id for n in range(7)]

    seen: list[int] = []
    url = f"{BASE}/companies/?page_size=3"
    while url:
        body = editor.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]

    assert seen == ids
