"""Company and customer pages: lists, detail pages with everything they said, create, edit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from discovery import services
from discovery.models import Company, Customer, InterviewParticipant
from discovery.services import FeedbackInput

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _url(workspace, name, **kwargs):
    return reverse(f"discovery:{name}", kwargs={"workspace_slug": workspace.slug, **kwargs})


def _company(workspace, name="Initech", domain="initech.test", **kwargs):
    company, _ = services.company_upsert(
        workspace=workspace, actor=None, name=name, domain=domain, **kwargs
    )
    return company


def _customer(workspace, email="peter@initech.test", name="Peter", company=None):
    customer, _ = services.customer_upsert(
        workspace=workspace, actor=None, email=email, name=name, company=company
    )
    return customer


def _said(workspace, customer, text, days=0):
    return services.feedback_create(
        workspace=workspace,
        actor=None,
        data=FeedbackInput(
            text=text, customer_id=customer.id, received_at=T0 + timedelta(days=days)
        ),
    )


# --- companies -------------------------------------------------------------------------------
def test_company_list_shows_attributes_and_customer_counts(workspace, member, login):
    initech = _company(workspace, arr=Decimal("120000"), plan="Pro", segment="Enterprise")
    _company(workspace, name="Globex", domain="globex.test")
    _customer(workspace, company=initech)
    _customer(workspace, email="m@initech.test", name="Milton", company=initech)

    response = login(member).get(_url(workspace, "company-list"))

    assert response.status_code == 200
    rows = {c.name: c.customer_count for c in response.context["page"].object_list}
    assert rows == {"Globex": 0, "Initech": 2}
    html = response.content.decode()
    assert "initech.test" in html
    assert "Enterprise" in html
    assert "Pro" in html
    assert "120,000" in html


def test_company_list_search(workspace, member, login):
    _company(workspace)
    _company(workspace, name="Globex", domain="globex.test")

    response = login(member).get(_url(workspace, "company-list") + "?q=glob")

    assert [c.name for c in response.context["page"].object_list] == ["Globex"]


def test_company_list_query_count_is_constant(workspace, member, login, django_assert_num_queries):
    client = login(member)
    client.get(_url(workspace, "company-list"))
    for i in range(3):
        _customer(workspace, email=f"c{i}@x.test", company=_company(workspace, f"C{i}", f"c{i}.x"))
    # membership (+user), paginator count, rows with customer counts, switcher
    with django_assert_num_queries(4):
        client.get(_url(workspace, "company-list"))
    for i in range(3, 20):
        _customer(workspace, email=f"c{i}@x.test", company=_company(workspace, f"C{i}", f"c{i}.x"))
    with django_assert_num_queries(4):
        response = client.get(_url(workspace, "company-list"))
    assert len(response.context["page"].object_list) == 20


def test_company_page_lists_its_customers_everything_they_said_and_the_trend(
    workspace, member, login
):
    initech = _company(workspace)
    peter = _customer(workspace, company=initech)
    other = _customer(workspace, email="x@else.test", name="Else")
    _said(workspace, peter, "Reports are slow")
    _said(workspace, other, "Not from Initech")

    response = login(member).get(_url(workspace, "company-detail", company_id=initech.id))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Reports are slow" in html
    assert "Not from Initech" not in html
    assert "Peter" in html
    assert response.context["trend"] is not None
    assert response.context["more_url"].endswith(f"?status=all&company={initech.id}")


def test_company_create_and_edit(workspace, member, login):
    client = login(member)

    created = client.post(
        _url(workspace, "company-new"),
        {"name": "Initech", "domain": "Initech.test", "segment": "SMB", "arr": "1000"},
    )
    company = Company.objects.for_workspace(workspace).get()
    edited = client.post(
        _url(workspace, "company-edit", company_id=company.id),
        {"name": "Initech Corp", "domain": "initech.test", "segment": "Enterprise", "plan": "Pro"},
    )

    assert created.status_code == 302
    assert edited.status_code == 302
    company.refresh_from_db()
    assert (company.name, company.domain, company.segment, company.plan, company.arr) == (
        "Initech Corp",
        "initech.test",
        "Enterprise",
        "Pro",
        None,
    )


def test_company_edit_to_a_domain_already_taken_changes_nothing(workspace, member, login):
    initech = _company(workspace)
    _company(workspace, name="Globex", domain="globex.test")

    response = login(member).post(
        _url(workspace, "company-edit", company_id=initech.id),
        {"name": "Initech", "domain": "globex.test"},
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "domain": ["A company with the domain 'globex.test' already exists."]
    }
    names = dict(Company.objects.for_workspace(workspace).values_list("domain", "name"))
    assert names == {"initech.test": "Initech", "globex.test": "Globex"}


# --- customers -------------------------------------------------------------------------------
def test_customer_list_shows_company_and_feedback_count(workspace, member, login):
    peter = _customer(workspace, company=_company(workspace))
    _said(workspace, peter, "One")
    _said(workspace, peter, "Two")

    response = login(member).get(_url(workspace, "customer-list"))

    (row,) = response.context["page"].object_list
    assert (row.name, row.feedback_count, row.company.name) == ("Peter", 2, "Initech")


def test_customer_list_query_count_is_constant(workspace, member, login, django_assert_num_queries):
    client = login(member)
    client.get(_url(workspace, "customer-list"))
    company = _company(workspace)
    for i in range(2):
        _customer(workspace, email=f"c{i}@x.test", company=company)
    # membership (+user), paginator count, rows (+company joined, counts), switcher
    with django_assert_num_queries(4):
        client.get(_url(workspace, "customer-list"))
    for i in range(2, 15):
        _customer(workspace, email=f"c{i}@x.test", company=company)
    with django_assert_num_queries(4):
        client.get(_url(workspace, "customer-list"))


def test_customer_page_lists_feedback_and_interviews(workspace, member, login):
    peter = _customer(workspace)
    _said(workspace, peter, "<img src=x onerror=alert(1)> loud")
    interview = services.interview_create(
        workspace=workspace, actor=None, title="Discovery call", participant_ids=[peter.id]
    )

    response = login(member).get(_url(workspace, "customer-detail", customer_id=peter.id))

    html = response.content.decode()
    assert "&lt;img src=x onerror=alert(1)&gt; loud" in html
    assert "<img src=x" not in html
    assert "Discovery call" in html
    assert InterviewParticipant.objects.for_workspace(workspace).get().interview_id == interview.id


def test_customer_create_with_company_of_this_workspace_only(
    workspace, other_workspace, member, login
):
    theirs = _company(other_workspace, name="Theirs", domain="theirs.test")
    mine = _company(workspace)
    client = login(member)

    refused = client.post(
        _url(workspace, "customer-new"), {"name": "Eve", "email": "e@x.test", "company": theirs.id}
    )
    created = client.post(
        _url(workspace, "customer-new"), {"name": "Ann", "email": "a@x.test", "company": mine.id}
    )

    assert refused.status_code == 200
    assert "company" in refused.context["form"].errors
    assert created.status_code == 302
    customer = Customer.objects.for_workspace(workspace).get()
    assert (customer.name, customer.company_id) == ("Ann", mine.id)


def test_customer_edit_renames_and_moves_company(workspace, member, login):
    peter = _customer(workspace)
    initech = _company(workspace)

    response = login(member).post(
        _url(workspace, "customer-edit", customer_id=peter.id),
        {"name": "Peter Gibbons", "email": "peter@initech.test", "company": initech.id},
    )

    assert response.status_code == 302
    peter.refresh_from_db()
    assert (peter.name, peter.company_id) == ("Peter Gibbons", initech.id)


def test_customer_edit_changes_the_email_of_the_same_customer(workspace, member, login):
    peter = _customer(workspace)

    response = login(member).post(
        _url(workspace, "customer-edit", customer_id=peter.id),
        {"name": "Peter", "email": "new@initech.test"},
    )

    assert response.status_code == 302
    assert list(Customer.objects.for_workspace(workspace).values_list("id", "email")) == [
        (peter.id, "new@initech.test")
    ]


@pytest.mark.parametrize(
    "name",
    ["company-detail", "company-edit", "customer-detail", "customer-edit"],
)
def test_objects_of_another_workspace_are_404(workspace, other_workspace, member, login, name):
    company = _company(other_workspace)
    customer = _customer(other_workspace)
    key = "company_id" if name.startswith("company") else "customer_id"
    value = company.id if key == "company_id" else customer.id

    response = login(member).get(_url(workspace, name, **{key: value}))

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        pytest.param("anonymous", 302, id="anonymous_case"),
        pytest.param("outsider", 404, id="outsider_case"),
        pytest.param("viewer", 403, id="viewer_case"),
        pytest.param("member", 302, id="editor_case"),
    ],
)
def test_company_create_permission_matrix(workspace, login, client, request, who, expected):
    actor = client if who == "anonymous" else login(request.getfixturevalue(who))

    response = actor.post(_url(workspace, "company-new"), {"name": "New Co"})

    assert response.status_code == expected
    assert Company.objects.for_workspace(workspace).exists() == (who == "member")


def test_company_page_query_count_does_not_grow_with_its_customers(
    workspace, member, login, django_assert_num_queries
):
    company = _company(workspace)
    client = login(member)
    client.get(_url(workspace, "company-detail", company_id=company.id))
    _said(workspace, _customer(workspace, company=company), "first")
    # membership (+user), company, feedback rows, their taggings, customers with counts,
    # the trend's weekly counts, switcher
    with django_assert_num_queries(7):
        client.get(_url(workspace, "company-detail", company_id=company.id))
    for i in range(5):
        _said(workspace, _customer(workspace, email=f"p{i}@x.test", company=company), f"n{i}")
    with django_assert_num_queries(7):
        response = client.get(_url(workspace, "company-detail", company_id=company.id))
    assert len(response.context["customers"]) == 6
