"""The demand recount at scale: set-based SQL, exact figures, a constant number of statements."""

from __future__ import annotations

import time
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backlog import services
from backlog.models import Item, ItemCustomer, ItemEvidence
from discovery import services as discovery
from discovery.models import Company, Customer, Feedback
from discovery.selectors import asking_customer_ids
from discovery.services import FeedbackInput

pytestmark = pytest.mark.django_db

BIG = 12_000
CUSTOMERS = 1_500
SEGMENTS = ["Enterprise", "Mid-market", "SMB", ""]


def _item(workspace, title):
    return services.item_create(workspace=workspace, actor=None, title=title)


def _population(workspace):
    """40 companies over four segments (every fifth without an ARR) and 1,500 customers, every
    tenth without a company."""
    companies = Company.objects.bulk_create(
        [
            Company(
                workspace=workspace,
                name=f"Company {n}",
                segment=SEGMENTS[n % len(SEGMENTS)],
                arr=None if n % 5 == 0 else Decimal(1000 * (n + 1)) + Decimal("0.50"),
            )
            for n in range(40)
        ]
    )
    customers = Customer.objects.bulk_create(
        [
            Customer(
                workspace=workspace,
                name=f"Customer {n}",
                email=f"c{n}@example.test",
                company=None if n % 10 == 0 else companies[n % len(companies)],
            )
            for n in range(CUSTOMERS)
        ]
    )
    return customers


def _link_feedback(workspace, item, customers, count):
    """`count` feedback items linked to `item`, the k-th by customers[k % len] (every 97th by
    nobody), inserted in bulk."""
    now = timezone.now()
    feedback = Feedback.objects.bulk_create(
        [
            Feedback(
                workspace=workspace,
                text=f"Please add bulk export ({n})",
                customer=None if n % 97 == 0 else customers[n % len(customers)],
                received_at=now,
            )
            for n in range(count)
        ],
        batch_size=2_000,
    )
    ItemEvidence.objects.bulk_create(
        [ItemEvidence(workspace=workspace, item=item, feedback=f) for f in feedback],
        batch_size=2_000,
    )
    return feedback


def _expected(feedback):
    """The figures, counted in Python from what was inserted."""
    asking = {f.customer for f in feedback if f.customer is not None}
    companies = {c.company for c in asking if c.company is not None}
    segments: dict[str, dict[str, object]] = {}
    people = Counter((c.company.segment if c.company else "") for c in asking)
    for segment, customers in people.items():
        firms = [co for co in companies if co.segment == segment]
        arr = sum((co.arr for co in firms if co.arr is not None), Decimal(0))
        segments[segment] = {
            "customers": customers,
            "companies": len(firms),
            "arr": str(arr) if any(co.arr is not None for co in firms) else "0",
        }
    arr = sum((co.arr for co in companies if co.arr is not None), Decimal(0))
    return {
        "evidence_count": len(feedback),
        "customer_count": len(asking),
        "company_count": len(companies),
        "arr": arr,
        "demand_by_segment": segments,
    }


def _figures(item):
    row = Item.objects.for_workspace(item.workspace).filter(id=item.id).values().get()
    return {
        "evidence_count": row["evidence_count"],
        "customer_count": row["customer_count"],
        "company_count": row["company_count"],
        "arr": row["arr"],
        "demand_by_segment": row["demand_by_segment"],
    }


def _statements(workspace, item):
    with CaptureQueriesContext(connection) as captured:
        services.item_demand_refresh(workspace=workspace, item_ids=[item.id])
    return [q["sql"] for q in captured.captured_queries]


def test_twelve_thousand_links_recount_exactly_fast_and_in_constant_statements(workspace):
    customers = _population(workspace)
    small, big = _item(workspace, "Small"), _item(workspace, "Big")
    small_feedback = _link_feedback(workspace, small, customers, 10)
    big_feedback = _link_feedback(workspace, big, customers, BIG)

    # The first recount writes the items' ItemCustomer rows (1,500 for the big one).
    small_first = _statements(workspace, small)
    started = time.perf_counter()
    big_first = _statements(workspace, big)
    first = time.perf_counter() - started
    assert _figures(big) == _expected(big_feedback)
    assert _figures(small) == _expected(small_feedback)
    assert ItemCustomer.objects.for_workspace(workspace).filter(item=big).count() == CUSTOMERS

    # A PM marks some customers critical or important; a recount keeps those marks.
    marked = ItemCustomer.objects.for_workspace(workspace).filter(item=big).order_by("id")
    ItemCustomer.objects.for_workspace(workspace).filter(id__in=marked.values("id")[:7]).update(
        importance=ItemCustomer.Importance.CRITICAL
    )
    ItemCustomer.objects.for_workspace(workspace).filter(id__in=marked.values("id")[7:12]).update(
        importance=ItemCustomer.Importance.IMPORTANT
    )
    services.item_demand_refresh(workspace=workspace, item_ids=[big.id])
    big.refresh_from_db()
    assert (big.critical_count, big.important_count) == (7, 5)
    assert _figures(big) == _expected(big_feedback)
    assert (
        ItemCustomer.objects.for_workspace(workspace)
        .filter(item=big, importance=ItemCustomer.Importance.CRITICAL)
        .count()
        == 7
    )

    # Nothing changed since: the recount that only confirms the figures.
    small_again = _statements(workspace, small)
    started = time.perf_counter()
    big_again = _statements(workspace, big)
    again = time.perf_counter() - started

    # The same statements for 10 links as for 12,000: nothing is counted row by row in Python.
    assert len(small_first) == len(big_first), "\n\n".join(big_first)
    assert len(small_again) == len(big_again), "\n\n".join(big_again)
    print(f"recount of {BIG:,} links: first {first * 1000:.1f} ms, again {again * 1000:.1f} ms")
    # Measured at about 50-60 ms the first time (1,500 rows written) and 35-40 ms after, the
    # scores' check included, on a development machine; the bound leaves room for a loaded CI
    # runner while still failing a row-by-row recount (seconds) or a quadratic plan.
    assert first < 0.25
    assert again < 0.25


def test_recount_follows_each_path_discovery_counts(workspace):
    """Feedback, an insight's feedback, its highlights of feedback and of interviews (every
    participant): the item's askers are exactly discovery's asking_customer_ids."""
    people = [
        discovery.customer_upsert(
            workspace=workspace, actor=None, email=f"{name}@example.test", name=name
        )[0]
        for name in ("ann", "bob", "cat", "dan", "eve", "fay")
    ]

    def said(person, text):
        return discovery.feedback_create(
            workspace=workspace,
            actor=None,
            data=FeedbackInput(text=text, customer_id=person.id),
        )

    direct = said(people[0], "Bulk export please")
    insight = discovery.insight_create(workspace=workspace, actor=None, title="Bulk export")
    discovery.evidence_add(
        workspace=workspace, actor=None, insight=insight, feedback=said(people[1], "Export!")
    )
    text = said(people[2], "Exporting by hand takes hours")
    highlight = discovery.highlight_create(
        workspace=workspace, actor=None, feedback=text, start=0, end=9
    )
    discovery.evidence_add(workspace=workspace, actor=None, insight=insight, highlight=highlight)
    interview = discovery.interview_create(
        workspace=workspace,
        actor=None,
        title="Call",
        transcript="We export every Friday.",
        participant_ids=[people[3].id, people[4].id],
    )
    spoken = discovery.highlight_create(
        workspace=workspace, actor=None, interview=interview, start=3, end=9
    )
    discovery.evidence_add(workspace=workspace, actor=None, insight=insight, highlight=spoken)
    item = _item(workspace, "Bulk export")

    services.item_link_evidence(workspace=workspace, actor=None, item=item, feedback_id=direct.id)
    services.item_link_evidence(workspace=workspace, actor=None, item=item, insight_id=insight.id)

    expected = asking_customer_ids(
        workspace=workspace, feedback_ids=[direct.id], insight_ids=[insight.id]
    )
    assert expected == {p.id for p in people[:5]}
    assert (
        set(
            ItemCustomer.objects.for_workspace(workspace)
            .filter(item=item)
            .values_list("customer_id", flat=True)
        )
        == expected
    )
    item.refresh_from_db()
    assert (item.evidence_count, item.customer_count, item.company_count) == (2, 5, 0)
    assert item.demand_by_segment == {"": {"customers": 5, "companies": 0, "arr": "0"}}


def test_recount_stays_in_its_workspace(workspace, other_workspace):
    """Another workspace's rows with the same item ids in play are never counted or touched."""
    ours, theirs = _item(workspace, "Ours"), _item(other_workspace, "Theirs")
    customer, _ = discovery.customer_upsert(
        workspace=other_workspace, actor=None, email="x@example.test", name="X"
    )
    feedback = discovery.feedback_create(
        workspace=other_workspace,
        actor=None,
        data=FeedbackInput(text="Hi", customer_id=customer.id),
    )
    services.item_link_evidence(
        workspace=other_workspace, actor=None, item=theirs, feedback_id=feedback.id
    )

    services.item_demand_refresh(workspace=workspace, item_ids=[ours.id, theirs.id])

    theirs.refresh_from_db()
    ours.refresh_from_db()
    assert (theirs.evidence_count, theirs.customer_count) == (1, 1)
    assert (ours.evidence_count, ours.customer_count) == (0, 0)
