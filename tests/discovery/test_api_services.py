"""The services the API added: updates and deletes of people, interviews and insights, and
the bulk push that names customers by email. Reach stays current through each of them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from discovery import services
from discovery.models import Customer, Feedback, Insight, InterviewParticipant
from discovery.services import FeedbackInput, FeedbackPush
from pmhub.workspaces.models import AuditEvent
from tests.discovery.api_support import feedback

pytestmark = pytest.mark.django_db


@pytest.fixture
def cited(workspace, member):
    """An insight citing Peter (Initech, ARR 100) by feedback and Gavin (Hooli, 50) by interview."""
    initech, _ = services.company_upsert(
        workspace=workspace, actor=member, name="Initech", domain="initech.test", arr=Decimal(100)
    )
    hooli, _ = services.company_upsert(
        workspace=workspace, actor=member, name="Hooli", domain="hooli.test", arr=Decimal(50)
    )
    peter, _ = services.customer_upsert(
        workspace=workspace, actor=member, email="peter@initech.test", company=initech
    )
    gavin, _ = services.customer_upsert(
        workspace=workspace, actor=member, email="gavin@hooli.test", company=hooli
    )
    interview = services.interview_create(
        workspace=workspace,
        actor=member,
        title="Call",
        transcript="Gavin: too slow.",
        participant_ids=[gavin.id],
    )
    insight = services.insight_create(workspace=workspace, actor=member, title="Slow")
    services.evidence_add(
        workspace=workspace,
        actor=member,
        insight=insight,
        feedback=feedback(workspace, member, customer_id=peter.id),
    )
    services.evidence_add(
        workspace=workspace,
        actor=member,
        insight=insight,
        highlight=services.highlight_create(
            workspace=workspace, actor=member, interview=interview, start=7, end=15
        ),
    )
    return {
        "initech": initech,
        "hooli": hooli,
        "peter": peter,
        "gavin": gavin,
        "interview": interview,
        "insight": insight,
    }


def _reach(insight: Insight) -> tuple[int, int, int, Decimal]:
    insight.refresh_from_db()
    return (insight.evidence_count, insight.customer_count, insight.company_count, insight.arr)


def test_the_fixture_reach(cited):
    assert _reach(cited["insight"]) == (2, 2, 2, Decimal(150))


def test_company_delete_recounts_the_reach(workspace, member, cited):
    services.company_delete(workspace=workspace, actor=member, company=cited["initech"])

    assert _reach(cited["insight"]) == (2, 2, 1, Decimal(50))
    assert Customer.objects.for_workspace(workspace).get(id=cited["peter"].id).company_id is None


def test_customer_delete_recounts_the_reach_and_keeps_the_feedback(workspace, member, cited):
    services.customer_delete(workspace=workspace, actor=member, customer=cited["gavin"])

    assert _reach(cited["insight"]) == (2, 1, 1, Decimal(100))
    assert not InterviewParticipant.objects.for_workspace(workspace).exists()
    event = AuditEvent.objects.for_workspace(workspace).get(action="customer.deleted")
    assert event.changes == {"email": "gavin@hooli.test", "name": ""}


def test_customer_update_to_another_company_recounts_the_reach(workspace, member, cited):
    services.customer_update(
        workspace=workspace, actor=member, customer=cited["peter"], company_id=cited["hooli"].id
    )

    assert _reach(cited["insight"]) == (2, 2, 1, Decimal(50))
    assert set(Feedback.objects.for_workspace(workspace).values_list("company_id", flat=True)) == {
        cited["hooli"].id
    }


def test_customer_update_refuses_unknown_fields(workspace, member, cited):
    with pytest.raises(ValidationError) as error:
        services.customer_update(
            workspace=workspace, actor=member, customer=cited["peter"], workspace_id=1
        )

    assert error.value.message_dict == {"workspace_id": ["This field cannot be changed."]}


def test_interview_delete_recounts_the_reach(workspace, member, cited):
    services.interview_delete(workspace=workspace, actor=member, interview=cited["interview"])

    assert _reach(cited["insight"]) == (1, 1, 1, Decimal(100))


def test_insight_delete_is_audited(workspace, member, cited):
    services.insight_delete(workspace=workspace, actor=member, insight=cited["insight"])

    assert not Insight.objects.for_workspace(workspace).exists()
    event = AuditEvent.objects.for_workspace(workspace).get(action="insight.deleted")
    assert event.changes == {"title": "Slow"}


def test_feedback_push_upserts_each_email_once_and_renames(workspace, member):
    services.customer_upsert(workspace=workspace, actor=member, email="ann@x.test", name="A.")
    received = datetime(2026, 11, 20, tzinfo=UTC)
    pushes = [
        FeedbackPush(
            item=FeedbackInput(text="One", external_id="1", received_at=received),
            customer_email="ANN@x.test",
            customer_name="Ann",
        ),
        FeedbackPush(
            item=FeedbackInput(text="Two", external_id="2", received_at=received),
            customer_email="bob@x.test",
        ),
    ]

    first = services.feedback_push(workspace=workspace, actor=member, pushes=pushes)
    again = services.feedback_push(workspace=workspace, actor=member, pushes=pushes)

    assert (first.created, again.created, again.unchanged) == (2, 0, 2)
    assert sorted(Customer.objects.for_workspace(workspace).values_list("email", "name")) == [
        ("ann@x.test", "Ann"),
        ("bob@x.test", ""),
    ]


def test_feedback_push_in_two_workspaces_keeps_them_apart(workspace, other_workspace, member):
    push = FeedbackPush(item=FeedbackInput(text="Hi", external_id="1"), customer_email="a@x.test")

    services.feedback_push(workspace=workspace, actor=member, pushes=[push])
    services.feedback_push(workspace=other_workspace, actor=None, pushes=[push])

    ours = Feedback.objects.for_workspace(workspace).get()
    theirs = Feedback.objects.for_workspace(other_workspace).get()
    assert ours.customer.workspace_id == workspace.id
    assert theirs.customer.workspace_id == other_workspace.id
