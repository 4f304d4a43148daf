"""The demo workspace's discovery set: realistic, deterministic, written once."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import F, Sum

from discovery import tagging
from discovery.charts import feedback_trend
from discovery.demo import demo_discovery_create
from discovery.models import (
    Company,
    Customer,
    Evidence,
    Feedback,
    Highlight,
    Insight,
    Interview,
    InterviewParticipant,
    Tag,
    Tagging,
)
from discovery.selectors import FeedbackFilters, feedback_list
from pmhub.workspaces.models import Workspace

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 18, 15, 30, tzinfo=UTC)


def _counts(workspace):
    return {
        model.__name__: model.objects.for_workspace(workspace).count()
        for model in (
            Company,
            Customer,
            Tag,
            Feedback,
            Tagging,
            Interview,
            InterviewParticipant,
            Highlight,
            Insight,
            Evidence,
        )
    }


def test_writes_the_demo_set_once_and_a_second_run_adds_nothing(workspace, admin):
    first = demo_discovery_create(workspace=workspace, actor=admin, now=NOW)
    counts = _counts(workspace)

    second = demo_discovery_create(workspace=workspace, actor=admin, now=NOW)

    assert (first.created, second.created) == (True, False)
    assert _counts(workspace) == counts
    assert counts == {
        "Company": 25,
        "Customer": 80,
        "Tag": 14,
        "Feedback": 300,
        "Tagging": 419,
        "Interview": 4,
        "InterviewParticipant": 8,
        "Highlight": 21,
        "Insight": 5,
        "Evidence": 65,
    }
    assert (first.feedback, first.highlights, first.evidence) == (300, 21, 65)


def test_is_deterministic(workspace, other_workspace, admin):
    demo_discovery_create(workspace=workspace, actor=admin, now=NOW)
    demo_discovery_create(workspace=other_workspace, actor=None, now=NOW)

    def snapshot(ws):
        return list(
            Feedback.objects.for_workspace(ws)
            .order_by("external_id")
            .values_list("external_id", "text", "source", "status", "received_at")
        )

    assert snapshot(workspace) == snapshot(other_workspace)


def test_feedback_spans_sixteen_weeks_with_mixed_sources_and_statuses(workspace, admin):
    demo_discovery_create(workspace=workspace, actor=admin, now=NOW)
    feedback = Feedback.objects.for_workspace(workspace)

    oldest = feedback.order_by("received_at").first().received_at
    newest = feedback.order_by("-received_at").first().received_at
    assert (NOW - oldest).days == 111
    assert newest < NOW
    assert set(feedback.values_list("source", flat=True)) == set(Feedback.Source.values)
    assert {s: feedback.filter(status=s).count() for s in Feedback.Status.values} == {
        "new": 84,
        "triaged": 149,
        "archived": 67,
    }
    assert feedback.filter(customer__isnull=True).count() == 59
    # Each item carries its customer's company, for filters without joins.
    assert (
        feedback.filter(customer__isnull=False)
        .exclude(company_id=F("customer__company_id"))
        .count()
        == 0
    )


def test_exports_grow_week_after_week(workspace, admin):
    demo_discovery_create(workspace=workspace, actor=admin, now=NOW)
    # New items are tagged by the worker (its rules here; no model has been trained yet).
    tagging.tag_items(
        workspace=workspace,
        kind="feedback",
        ids=list(Feedback.objects.for_workspace(workspace).values_list("id", flat=True)),
    )
    exports = Tag.objects.for_workspace(workspace).get(name="Exports")

    chart = feedback_trend(
        workspace=workspace,
        feedback=feedback_list(workspace=workspace, filters=FeedbackFilters(tag_id=exports.id)),
        weeks=16,
        today=NOW.date(),
    )

    weekly = [week.total for week in chart.weeks]
    assert sum(weekly) >= 70
    assert sum(weekly[-4:]) > 2 * sum(weekly[:4])


def test_highlights_quote_their_transcript_exactly_and_are_tagged(workspace, admin):
    demo_discovery_create(workspace=workspace, actor=admin, now=NOW)

    highlights = Highlight.objects.for_workspace(workspace).select_related("interview")
    for highlight in highlights:
        assert highlight.interview.transcript[highlight.start : highlight.end] == highlight.quote
        assert not highlight.needs_review
    untagged = highlights.exclude(
        id__in=Tagging.objects.for_workspace(workspace).values("highlight_id")
    )
    assert untagged.count() == 0


def test_insight_reach_matches_the_evidence(workspace, admin):
    demo_discovery_create(workspace=workspace, actor=admin, now=NOW)

    for insight in Insight.objects.for_workspace(workspace):
        evidence = Evidence.objects.for_workspace(workspace).filter(insight=insight)
        customer_ids = set(
            evidence.filter(feedback__customer__isnull=False).values_list(
                "feedback__customer_id", flat=True
            )
        ) | set(
            InterviewParticipant.objects.for_workspace(workspace)
            .filter(interview__highlights__evidence__insight=insight)
            .values_list("customer_id", flat=True)
        )
        companies = Company.objects.for_workspace(workspace).filter(customers__id__in=customer_ids)
        arr = (
            Company.objects.for_workspace(workspace)
            .filter(id__in=companies.values("id"))
            .aggregate(total=Sum("arr"))["total"]
        )
        assert insight.evidence_count == evidence.count() > 0
        assert insight.customer_count == len(customer_ids)
        assert insight.company_count == companies.distinct().count()
        assert insight.arr == (arr or Decimal(0))
    assert list(
        Insight.objects.for_workspace(workspace)
        .order_by("id")
        .values_list("evidence_count", "customer_count", "company_count")
    ) == [(17, 14, 9), (14, 8, 6), (12, 9, 7), (10, 11, 7), (12, 9, 5)]


def test_the_demo_command_fills_acme_only_and_is_idempotent(db):
    call_command("pmhub_demo", stdout=StringIO())
    acme = Workspace.objects.get(slug="acme")
    globex = Workspace.objects.get(slug="globex")
    counts = _counts(acme)

    out = StringIO()
    call_command("pmhub_demo", stdout=out)

    assert counts["Feedback"] == 300
    assert _counts(acme) == counts
    assert set(_counts(globex).values()) == {0}
    assert "demo discovery data" not in out.getvalue()


def test_the_demo_command_leaves_an_acme_of_someone_else_alone(workspace):
    call_command("pmhub_demo", stdout=StringIO())

    assert Feedback.objects.for_workspace(workspace).count() == 0
