"""Discovery services: the one write path for UI, API, imports and tasks."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from discovery import services
from discovery.models import Company, Customer, Feedback, Tag, Tagging
from discovery.services import FeedbackInput
from pmhub.core.exceptions import ApplicationError
from pmhub.workspaces.models import AuditEvent

pytestmark = pytest.mark.django_db


def _feedback(workspace, actor, text="Exports time out", **kwargs):
    return services.feedback_create(
        workspace=workspace, actor=actor, data=FeedbackInput(text=text, **kwargs)
    )


def test_company_upsert_matches_on_domain_case_insensitively(workspace, member):
    first, created = services.company_upsert(
        workspace=workspace, actor=member, name="Initech", domain="Initech.test", arr=Decimal(100)
    )
    again, created_again = services.company_upsert(
        workspace=workspace,
        actor=member,
        name="Initech Corp",
        domain="initech.TEST",
        segment="Enterprise",
    )

    assert (created, created_again) == (True, False)
    assert again.id == first.id
    company = Company.objects.for_workspace(workspace).get()
    assert (company.name, company.domain, company.segment) == (
        "Initech Corp",
        "initech.test",
        "Enterprise",
    )


def test_the_same_domain_in_two_workspaces_is_two_companies(workspace, other_workspace, member):
    services.company_upsert(workspace=workspace, actor=member, name="A", domain="a.test")
    services.company_upsert(workspace=other_workspace, actor=None, name="A", domain="a.test")

    assert Company.objects.for_workspace(workspace).count() == 1
    assert Company.objects.for_workspace(other_workspace).count() == 1


def test_customer_upsert_matches_on_email_and_moves_their_feedback_to_the_new_company(
    workspace, member
):
    customer, _ = services.customer_upsert(
        workspace=workspace, actor=member, email="Peter@Initech.test", name="Peter"
    )
    feedback = _feedback(workspace, member, customer_id=customer.id)
    company, _ = services.company_upsert(workspace=workspace, actor=member, name="Initech")

    again, created = services.customer_upsert(
        workspace=workspace, actor=member, email="peter@initech.test", company=company
    )

    assert created is False
    assert again.id == customer.id
    assert again.name == "Peter"
    feedback.refresh_from_db()
    assert feedback.company_id == company.id


def test_customer_needs_an_email_or_a_name(workspace, member):
    with pytest.raises(ValidationError):
        services.customer_upsert(workspace=workspace, actor=member)


def test_customer_of_another_workspaces_company_is_refused(workspace, other_workspace, member):
    foreign, _ = services.company_upsert(workspace=other_workspace, actor=None, name="Globex")

    with pytest.raises(ValidationError):
        services.customer_upsert(
            workspace=workspace, actor=member, email="a@b.test", company=foreign
        )
    assert Customer.objects.for_workspace(workspace).count() == 0


def test_feedback_create_copies_the_customers_company(workspace, member):
    company, _ = services.company_upsert(workspace=workspace, actor=member, name="Initech")
    customer, _ = services.customer_upsert(
        workspace=workspace, actor=member, email="p@i.test", company=company
    )

    feedback = _feedback(workspace, member, customer_id=customer.id, source="support")

    assert (feedback.customer_id, feedback.company_id, feedback.status) == (
        customer.id,
        company.id,
        Feedback.Status.NEW,
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("   ", "This field is required.", id="blank_case"),
        pytest.param(
            "x" * 20_001, "Too long: 20,001 characters; the limit is 20,000.", id="oversized_case"
        ),
    ],
)
def test_feedback_text_must_be_present_and_within_the_limit(workspace, member, text, message):
    with pytest.raises(ValidationError) as error:
        _feedback(workspace, member, text=text)

    assert error.value.message_dict == {"text": [message]}
    assert Feedback.objects.for_workspace(workspace).count() == 0


def test_feedback_for_a_customer_of_another_workspace_is_refused(
    workspace, other_workspace, member
):
    foreign, _ = services.customer_upsert(workspace=other_workspace, actor=None, email="x@y.test")

    with pytest.raises(ValidationError) as error:
        _feedback(workspace, member, customer_id=foreign.id)

    assert error.value.message_dict == {"customer": ["Unknown customer."]}


def test_a_duplicate_external_id_is_a_clear_error(workspace, member):
    _feedback(workspace, member, source="support", external_id="T-1")

    with pytest.raises(ApplicationError, match="'T-1' from support is already in pmhub"):
        _feedback(workspace, member, source="support", external_id="T-1")
    assert Feedback.objects.for_workspace(workspace).count() == 1


def test_html_in_feedback_is_stored_as_the_text_it_is(workspace, member):
    feedback = _feedback(workspace, member, text="<script>alert(1)</script> broken")

    assert Feedback.objects.for_workspace(workspace).get(id=feedback.id).text == (
        "<script>alert(1)</script> broken"
    )


def test_bulk_upsert_is_idempotent_on_source_and_external_id(workspace, member):
    when = datetime(2026, 11, 1, tzinfo=UTC)
    items = [
        FeedbackInput(text=f"Item {i}", source="support", external_id=f"Z-{i}", received_at=when)
        for i in range(5)
    ] + [FeedbackInput(text="No id", source="manual", received_at=when)]

    first = services.feedback_bulk_upsert(workspace=workspace, actor=member, items=items)
    second = services.feedback_bulk_upsert(workspace=workspace, actor=member, items=items[:5])
    changed = services.feedback_bulk_upsert(
        workspace=workspace,
        actor=member,
        items=[
            FeedbackInput(
                text="Item 0, edited", source="support", external_id="Z-0", received_at=when
            )
        ],
    )

    assert (first.created, first.updated, first.unchanged) == (6, 0, 0)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 5)
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 0)
    assert Feedback.objects.for_workspace(workspace).count() == 6
    assert Feedback.objects.for_workspace(workspace).get(external_id="Z-0").text == (
        "Item 0, edited"
    )


def test_bulk_upsert_names_the_bad_item_and_writes_nothing(workspace, member):
    items = [FeedbackInput(text="ok", external_id="A"), FeedbackInput(text="", external_id="B")]

    with pytest.raises(ValidationError) as error:
        services.feedback_bulk_upsert(workspace=workspace, actor=member, items=items)

    assert error.value.message_dict == {"items[1]": ["This field is required."]}
    assert Feedback.objects.for_workspace(workspace).count() == 0


def test_set_status_changes_only_this_workspaces_items(workspace, other_workspace, member):
    mine = _feedback(workspace, member)
    theirs = services.feedback_create(
        workspace=other_workspace, actor=None, data=FeedbackInput(text="theirs")
    )

    changed = services.feedback_set_status(
        workspace=workspace, actor=member, feedback_ids=[mine.id, theirs.id], status="archived"
    )

    assert changed == 1
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.status, theirs.status) == ("archived", "new")


def test_tagging_twice_adds_one_link_and_untag_removes_it(workspace, member):
    feedback = _feedback(workspace, member)
    tag = services.tag_create(workspace=workspace, actor=member, name="Exports")

    added = services.feedback_tag(
        workspace=workspace, actor=member, feedback_ids=[feedback.id], tag_id=tag.id
    )
    again = services.feedback_tag(
        workspace=workspace, actor=member, feedback_ids=[feedback.id], tag_id=tag.id
    )
    removed = services.feedback_untag(
        workspace=workspace, actor=member, feedback_ids=[feedback.id], tag_id=tag.id
    )

    assert (added, again, removed) == (1, 0, 1)
    assert Tagging.objects.for_workspace(workspace).count() == 0


def test_tag_names_are_unique_case_insensitively(workspace, member):
    services.tag_create(workspace=workspace, actor=member, name="Exports")

    with pytest.raises(ValidationError) as error:
        services.tag_create(workspace=workspace, actor=member, name="exports")

    assert error.value.message_dict == {"name": ["A tag named 'exports' already exists."]}


def test_a_tag_colour_must_be_hex(workspace, member):
    with pytest.raises(ValidationError):
        services.tag_create(workspace=workspace, actor=member, name="X", color="red")


def test_merge_moves_every_link_to_the_survivor_without_duplicates(workspace, member):
    one, two = _feedback(workspace, member, "one"), _feedback(workspace, member, "two")
    source = services.tag_create(workspace=workspace, actor=member, name="Export")
    target = services.tag_create(workspace=workspace, actor=member, name="Exports")
    services.feedback_tag(
        workspace=workspace, actor=member, feedback_ids=[one.id, two.id], tag_id=source.id
    )
    services.feedback_tag(
        workspace=workspace, actor=member, feedback_ids=[one.id], tag_id=target.id
    )

    services.tag_merge(workspace=workspace, actor=member, source=source, target=target)

    assert list(Tag.objects.for_workspace(workspace).values_list("name", flat=True)) == ["Exports"]
    assert sorted(
        Tagging.objects.for_workspace(workspace).values_list("feedback_id", "tag_id")
    ) == [(one.id, target.id), (two.id, target.id)]
    event = AuditEvent.objects.for_workspace(workspace).get(action="tag.merged")
    assert event.changes == {"merged": "Export", "moved": 1}


def test_merge_into_a_tag_of_another_workspace_is_refused(workspace, other_workspace, member):
    source = services.tag_create(workspace=workspace, actor=member, name="Export")
    foreign = services.tag_create(workspace=other_workspace, actor=None, name="Exports")

    with pytest.raises(ValidationError):
        services.tag_merge(workspace=workspace, actor=member, source=source, target=foreign)
    assert Tag.objects.for_workspace(other_workspace).count() == 1
    assert Tag.objects.for_workspace(workspace).count() == 1


def test_rename_is_audited_with_before_and_after(workspace, member):
    tag = services.tag_create(workspace=workspace, actor=member, name="Export")

    services.tag_update(workspace=workspace, actor=member, tag=tag, name="Exports", group="Theme")

    event = AuditEvent.objects.for_workspace(workspace).get(action="tag.updated")
    assert event.changes == {"name": ["Export", "Exports"], "group": ["", "Theme"]}


def test_a_highlight_taken_on_an_older_text_lands_on_the_same_words(workspace, member):
    interview = services.interview_create(
        workspace=workspace, actor=member, title="Call", transcript="Ann: exports are slow."
    )
    services.interview_update(
        workspace=workspace,
        actor=member,
        interview=interview,
        version=1,
        transcript="Bob: hello.\nAnn: exports are slow.",
    )

    # Offsets from the page as it was before the edit, with the words selected.
    highlight = services.highlight_create(
        workspace=workspace,
        actor=member,
        start=5,
        end=21,
        interview=interview,
        quote="exports are slow",
    )

    assert (highlight.start, highlight.end, highlight.quote) == (17, 33, "exports are slow")


def test_a_highlight_whose_words_are_gone_is_refused(workspace, member):
    interview = services.interview_create(
        workspace=workspace, actor=member, title="Call", transcript="Ann: exports are fast."
    )

    with pytest.raises(ValidationError, match="The text changed since you selected"):
        services.highlight_create(
            workspace=workspace,
            actor=member,
            start=5,
            end=21,
            interview=interview,
            quote="exports are slow",
        )


def test_editing_feedback_text_reanchors_or_flags_its_highlights(workspace, member):
    feedback = _feedback(workspace, member, text="Exports are slow. Search is great.")
    slow = services.highlight_create(
        workspace=workspace, actor=member, start=0, end=16, feedback=feedback
    )
    great = services.highlight_create(
        workspace=workspace, actor=member, start=18, end=33, feedback=feedback
    )

    services.feedback_update(
        workspace=workspace,
        actor=member,
        feedback=feedback,
        text="Honestly: Exports are slow. Search is fine.",
    )

    slow.refresh_from_db()
    great.refresh_from_db()
    assert (slow.start, slow.end, slow.needs_review) == (10, 26, False)
    assert great.needs_review is True


def test_bulk_upsert_queries_do_not_grow_with_the_batch(
    workspace, member, django_assert_num_queries
):
    customers = [
        services.customer_upsert(workspace=workspace, actor=member, email=f"c{i}@x.test")[0]
        for i in range(20)
    ]

    def batch(n, prefix):
        return [
            FeedbackInput(
                text=f"{prefix} {i}",
                source="support",
                external_id=f"{prefix}-{i}",
                customer_id=customers[i % 20].id,
            )
            for i in range(n)
        ]

    # customers of the batch, savepoint, existing rows (locked), insert, release
    with django_assert_num_queries(5):
        services.feedback_bulk_upsert(workspace=workspace, actor=member, items=batch(5, "a"))
    with django_assert_num_queries(5):
        services.feedback_bulk_upsert(workspace=workspace, actor=member, items=batch(200, "b"))


def test_deleting_feedback_recounts_insights_citing_its_highlights(workspace, member):
    feedback = _feedback(workspace, member, text="Exports are slow every Monday")
    highlight = services.highlight_create(
        workspace=workspace, actor=member, start=0, end=17, feedback=feedback
    )
    insight = services.insight_create(workspace=workspace, actor=member, title="Slow exports")
    services.evidence_add(workspace=workspace, actor=member, insight=insight, highlight=highlight)

    services.feedback_delete(workspace=workspace, actor=member, feedback=feedback)

    insight.refresh_from_db()
    assert insight.evidence_count == 0
