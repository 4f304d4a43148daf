"""Objects the discovery page tests share, made through the real services."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from discovery import services
from discovery.models import Company, Customer, Feedback, Insight, Interview, Tag
from pmhub.workspaces.models import Workspace

TRANSCRIPT = (
    "Interviewer: How do you share the roadmap today?\n\n"
    "Peter: We export it to CSV every Monday, and the export times out on big boards.\n\n"
    "Interviewer: What happens then?\n\n"
    "Peter: I copy it by hand. It takes an hour."
)


@dataclass
class Desk:
    company: Company
    customer: Customer
    feedback: Feedback
    tag: Tag
    interview: Interview
    insight: Insight


def make_desk(workspace: Workspace, actor: Any, *, prefix: str = "") -> Desk:
    company, _ = services.company_upsert(
        workspace=workspace,
        actor=actor,
        name=f"{prefix}Initech",
        domain=f"{prefix.lower()}initech.test",
        arr=Decimal("120000"),
        segment="Enterprise",
    )
    customer, _ = services.customer_upsert(
        workspace=workspace,
        actor=actor,
        email=f"{prefix.lower()}peter@initech.test",
        name="Peter Gibbons",
        company=company,
    )
    feedback = services.feedback_create(
        workspace=workspace,
        actor=actor,
        data=services.FeedbackInput(
            text="The CSV export times out on boards with more than 500 cards.",
            source="support",
            customer_id=customer.id,
            external_url="https://support.example.com/tickets/42",
            external_id="42",
        ),
    )
    tag = services.tag_create(
        workspace=workspace, actor=actor, name=f"{prefix}Exports", color="#d9480f"
    )
    interview = services.interview_create(
        workspace=workspace,
        actor=actor,
        title=f"{prefix}Call with Peter",
        transcript=TRANSCRIPT,
        participant_ids=[customer.id],
    )
    insight = services.insight_create(
        workspace=workspace, actor=actor, title=f"{prefix}Exports fail at scale"
    )
    return Desk(company, customer, feedback, tag, interview, insight)


def span_of(text: str, words: str) -> tuple[int, int]:
    start = text.index(words)
    return start, start + len(words)
