"""The inbox page's own SQL keeps feedback_list()'s filters exactly."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from discovery import selectors, services
from discovery.models import Feedback
from discovery.selectors import FeedbackFilters
from discovery.services import FeedbackInput

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 1, 23, 30, tzinfo=UTC)


@pytest.fixture
def inbox(workspace, other_workspace, member):
    enterprise, _ = services.company_upsert(
        workspace=workspace,
        actor=member,
        name="Initech",
        domain="initech.test",
        segment="Enterprise",
    )
    smb, _ = services.company_upsert(
        workspace=workspace, actor=member, name="Tiny", domain="tiny.test", segment="SMB"
    )
    peter, _ = services.customer_upsert(
        workspace=workspace, actor=member, email="p@i.test", company=enterprise
    )
    sam, _ = services.customer_upsert(
        workspace=workspace, actor=member, email="s@t.test", company=smb
    )
    exports = services.tag_create(workspace=workspace, actor=member, name="Exports")
    speed = services.tag_create(workspace=workspace, actor=member, name="Speed")
    texts = [
        "Exports time out",
        "Export to CSV is slow",
        "Login fails",
        "Exports miss columns",
        "Dashboard is slow",
        "Please add SSO",
    ]
    items = [
        services.feedback_create(
            workspace=workspace,
            actor=member,
            data=FeedbackInput(
                text=text,
                source=["support", "sales"][i % 2],
                customer_id=[peter.id, sam.id, None][i % 3],
                received_at=T0 + timedelta(hours=i * 13),
            ),
        )
        for i, text in enumerate(texts)
    ]
    services.feedback_tag(
        workspace=workspace,
        actor=member,
        tag_id=exports.id,
        feedback_ids=[items[0].id, items[1].id, items[3].id],
    )
    services.feedback_tag(
        workspace=workspace, actor=member, tag_id=speed.id, feedback_ids=[items[1].id, items[4].id]
    )
    services.feedback_set_status(
        workspace=workspace, actor=member, status="archived", feedback_ids=[items[2].id]
    )
    # A possible duplicate, and one flagged but merged already (no longer a possible duplicate).
    feedback = Feedback.objects.for_workspace(workspace)
    feedback.filter(id=items[3].id).update(duplicate_of=items[0])
    feedback.filter(id=items[4].id).update(duplicate_of=items[1], merged_into=items[1])
    foreign = services.feedback_create(
        workspace=other_workspace, actor=None, data=FeedbackInput(text="Exports time out elsewhere")
    )
    Feedback.objects.for_workspace(other_workspace).filter(id=foreign.id).update(
        duplicate_of=foreign
    )
    return {
        "exports": exports.id,
        "speed": speed.id,
        "peter": peter.id,
        "enterprise": enterprise.id,
    }


CASES = {
    "everything_case": {},
    "status_case": {"status": "new"},
    "source_case": {"source": "sales"},
    "tag_case": {"tag_id": "exports"},
    "two_tags_case": {"tag_ids": ["exports", "speed"]},
    "segment_case": {"segment": "Enterprise"},
    "company_case": {"company_id": "enterprise"},
    "customer_case": {"customer_id": "peter"},
    "since_case": {"since": date(2026, 11, 2)},
    "until_case": {"until": date(2026, 11, 2)},
    "query_case": {"query": 'export -"csv"'},
    "query_or_case": {"query": "login OR sso"},
    "combined_case": {"status": "new", "tag_id": "exports", "query": "exports"},
    "duplicates_case": {"duplicates": True},
    "duplicates_combined_case": {"duplicates": True, "status": "new", "source": "sales"},
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_the_inbox_page_finds_what_feedback_list_finds(workspace, inbox, case):
    resolved = dict(case)
    for key, value in case.items():
        if key == "tag_ids":
            resolved[key] = [inbox[name] for name in value]
        elif key.endswith("_id"):
            resolved[key] = inbox[value]
    filters = FeedbackFilters(**resolved)

    rows, _ = selectors.feedback_page(workspace=workspace, filters=filters, size=100)

    expected = list(
        selectors.feedback_list(workspace=workspace, filters=filters).values_list("id", flat=True)
    )
    assert [row.id for row in rows] == expected


def test_the_keyset_walks_every_row_once(workspace, inbox):
    seen, after = [], None
    while True:
        rows, after = selectors.feedback_page(workspace=workspace, after=after, size=2)
        seen += [row.id for row in rows]
        if after is None:
            break

    assert seen == list(selectors.feedback_list(workspace=workspace).values_list("id", flat=True))


def test_possible_duplicates_are_the_flagged_items_not_merged_yet(workspace, inbox):
    filters = FeedbackFilters(duplicates=True)

    rows, _ = selectors.feedback_page(workspace=workspace, filters=filters, size=100)

    assert [(row.text, row.duplicate_of_id is not None) for row in rows] == [
        ("Exports miss columns", True)
    ]
    everything, _ = selectors.feedback_page(workspace=workspace, size=100)
    assert [row.text for row in everything if row.duplicate_of_id] == ["Exports miss columns"]
