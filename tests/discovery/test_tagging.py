"""The tagging worker's services: rules, idempotency, people's decisions, re-tags, training."""

from __future__ import annotations

import time

import pytest
from django.db import transaction

from discovery import services, tagging
from discovery.models import (
    Classifier,
    Feedback,
    Tag,
    Tagging,
    TaggingJob,
    TagRule,
    TagSuggestion,
)
from discovery.services import FeedbackInput

pytestmark = pytest.mark.django_db

BILLING = [
    "I was charged twice for my subscription this month",
    "The invoice shows the wrong amount",
    "Please refund the duplicate payment on my card",
    "Billing page does not accept my credit card",
    "Why did my monthly price go up without notice",
    "I need a VAT number on every invoice",
    "The payment failed but the card was charged",
    "Can I pay yearly instead of monthly to get a discount",
]
EXPORT = [
    "I need to export my reports to CSV",
    "Export to Excel loses the column formatting",
    "Please let me download all data as a spreadsheet",
    "The PDF export cuts off the last page",
    "Exporting a large board times out",
    "Can I schedule a weekly export of the dashboard",
    "CSV download has the wrong date format",
    "Export the backlog as a file for our planning meeting",
]
UNRELATED = [
    "What is the capital of Australia",
    "Tell me a joke about penguins",
    "How tall is the tallest mountain on earth",
    "Recommend a good pasta recipe for dinner",
]


def _feedback(workspace, texts, actor=None, **extra):
    result = services.feedback_bulk_upsert(
        workspace=workspace,
        actor=actor,
        items=[FeedbackInput(text=t, source="support", **extra) for t in texts],
    )
    return result.ids


def _tag(workspace, name):
    return services.tag_create(workspace=workspace, actor=None, name=name)


def _taggings(workspace, ids, *origins):
    qs = Tagging.objects.for_workspace(workspace).filter(feedback_id__in=ids)
    if origins:
        qs = qs.filter(origin__in=origins)
    return sorted(qs.values_list("feedback_id", "tag__name", "origin"))


def test_rules_tag_matching_items_with_origin_rule(workspace):
    billing = _tag(workspace, "Billing")
    TagRule.objects.create(workspace=workspace, tag=billing, kind="keyword", pattern="invoice")
    TagRule.objects.create(
        workspace=workspace, tag=billing, kind="phrase", pattern="charged twice", sources=["sales"]
    )
    ids = _feedback(workspace, ["The INVOICE is wrong", "I was charged twice", "Nice app"])

    result = tagging.tag_items(workspace=workspace, kind="feedback", ids=ids)

    # The phrase rule is limited to sales feedback; these came from support.
    assert _taggings(workspace, ids) == [(ids[0], "Billing", "rule")]
    assert (result.items, result.rule_taggings, result.model_taggings) == (3, 1, 0)


def test_running_a_batch_twice_adds_nothing_and_skips_unchanged_texts(workspace):
    billing = _tag(workspace, "Billing")
    TagRule.objects.create(workspace=workspace, tag=billing, kind="keyword", pattern="invoice")
    ids = _feedback(workspace, ["invoice missing", "invoice late", "unrelated"])

    first = tagging.tag_items(workspace=workspace, kind="feedback", ids=ids)
    before = _taggings(workspace, ids)
    second = tagging.tag_items(workspace=workspace, kind="feedback", ids=ids)
    forced = tagging.tag_items(workspace=workspace, kind="feedback", ids=ids, force=True)

    assert first.items == 3
    assert (second.items, second.skipped) == (0, 3)
    assert forced.items == 3
    assert _taggings(workspace, ids) == before
    assert Tagging.objects.for_workspace(workspace).count() == 2


def test_an_edited_text_is_tagged_again_and_loses_a_rule_tag_that_no_longer_matches(workspace):
    billing = _tag(workspace, "Billing")
    TagRule.objects.create(workspace=workspace, tag=billing, kind="keyword", pattern="invoice")
    (feedback_id,) = _feedback(workspace, ["The invoice is late"])
    tagging.tag_items(workspace=workspace, kind="feedback", ids=[feedback_id])
    feedback = Feedback.objects.for_workspace(workspace).get(id=feedback_id)

    services.feedback_update(
        workspace=workspace, actor=None, feedback=feedback, text="The receipt is late"
    )
    tagging.tag_items(workspace=workspace, kind="feedback", ids=[feedback_id])

    assert _taggings(workspace, [feedback_id]) == []


def test_a_person_and_a_rule_may_both_tag_an_item_and_the_inbox_shows_one_chip(workspace):
    from discovery.selectors import feedback_tags

    billing = _tag(workspace, "Billing")
    TagRule.objects.create(workspace=workspace, tag=billing, kind="keyword", pattern="invoice")
    (feedback_id,) = _feedback(workspace, ["invoice please"])
    services.feedback_tag(
        workspace=workspace, actor=None, feedback_ids=[feedback_id], tag_id=billing.id
    )
    tagging.tag_items(workspace=workspace, kind="feedback", ids=[feedback_id])

    assert _taggings(workspace, [feedback_id]) == [
        (feedback_id, "Billing", "person"),
        (feedback_id, "Billing", "rule"),
    ]
    chips = feedback_tags(workspace=workspace, feedback_ids=[feedback_id])[feedback_id]
    assert [(c.name, c.origin) for c in chips] == [("Billing", "person")]


def test_retag_changes_machine_taggings_only_never_peoples(workspace, admin):
    billing = _tag(workspace, "Billing")
    export = _tag(workspace, "Export")
    rule = TagRule.objects.create(
        workspace=workspace, tag=billing, kind="keyword", pattern="invoice"
    )
    ids = _feedback(workspace, ["invoice export", "another invoice"])
    services.feedback_tag(workspace=workspace, actor=admin, feedback_ids=ids, tag_id=export.id)
    tagging.tag_items(workspace=workspace, kind="feedback", ids=ids)
    assert len(_taggings(workspace, ids, "rule")) == 2

    # The rule changes: the re-tag removes what it no longer catches, keeps people's tags.
    rule.pattern = "export"
    rule.tag = export
    rule.save()
    with transaction.atomic():
        job = tagging.retag_start(workspace=workspace, actor=admin)
    tagging.retag_run(workspace=workspace, job_id=job.id)

    job.refresh_from_db()
    assert (job.status, job.processed, job.total) == ("done", 2, 2)
    assert _taggings(workspace, ids) == sorted(
        [
            (ids[0], "Export", "person"),
            (ids[1], "Export", "person"),
            (ids[0], "Export", "rule"),
        ]
    )
    # A finished job run again (a redelivered task) does nothing.
    assert tagging.retag_run(workspace=workspace, job_id=job.id) is None


def test_retag_of_a_filter_covers_only_matching_items(workspace, admin):
    billing = _tag(workspace, "Billing")
    TagRule.objects.create(workspace=workspace, tag=billing, kind="keyword", pattern="invoice")
    support = _feedback(workspace, ["invoice support"])
    sales = services.feedback_bulk_upsert(
        workspace=workspace,
        actor=None,
        items=[FeedbackInput(text="invoice sales", source="sales")],
    ).ids
    job = tagging.retag_start(workspace=workspace, actor=admin, filters={"source": "sales"})
    tagging.retag_run(workspace=workspace, job_id=job.id)

    job.refresh_from_db()
    assert job.total == 1
    assert _taggings(workspace, support + sales) == [(sales[0], "Billing", "rule")]


def _suggestion(workspace, tag, feedback_id, confidence=0.4):
    return TagSuggestion.objects.create(
        workspace=workspace,
        tag=tag,
        feedback_id=feedback_id,
        confidence=confidence,
        model_version=1,
    )


def test_accepting_a_suggestion_makes_it_a_persons_tagging_once(workspace, admin):
    billing = _tag(workspace, "Billing")
    (feedback_id,) = _feedback(workspace, ["refund me"])
    suggestion = _suggestion(workspace, billing, feedback_id)

    tagging.suggestion_accept(workspace=workspace, actor=admin, suggestion_id=suggestion.id)
    tagging.suggestion_accept(workspace=workspace, actor=admin, suggestion_id=suggestion.id)

    suggestion.refresh_from_db()
    assert suggestion.status == "accepted"
    assert suggestion.decided_by == admin
    assert _taggings(workspace, [feedback_id]) == [(feedback_id, "Billing", "person")]
    texts, labels = tagging.training_data(workspace)
    assert (texts, labels) == (["refund me"], [str(billing.id)])


def test_a_rejected_suggestion_is_an_out_of_scope_label_and_cannot_then_be_accepted(
    workspace, admin
):
    billing = _tag(workspace, "Billing")
    (feedback_id,) = _feedback(workspace, ["love the new logo"])
    suggestion = _suggestion(workspace, billing, feedback_id)

    tagging.suggestion_reject(workspace=workspace, actor=admin, suggestion_id=suggestion.id)

    assert tagging.training_data(workspace) == (["love the new logo"], [None])
    with pytest.raises(Exception, match="rejected already"):
        tagging.suggestion_accept(workspace=workspace, actor=admin, suggestion_id=suggestion.id)
    assert _taggings(workspace, [feedback_id]) == []


def test_removing_a_models_tag_records_a_rejection(workspace, admin):
    billing = _tag(workspace, "Billing")
    (feedback_id,) = _feedback(workspace, ["charged twice"])
    Tagging.objects.create(
        workspace=workspace,
        tag=billing,
        feedback_id=feedback_id,
        origin="model",
        confidence=0.93,
        model_version=2,
    )

    services.feedback_untag(
        workspace=workspace, actor=admin, feedback_ids=[feedback_id], tag_id=billing.id
    )

    assert _taggings(workspace, [feedback_id]) == []
    rejection = TagSuggestion.objects.for_workspace(workspace).get(feedback_id=feedback_id)
    assert (rejection.status, rejection.model_version, rejection.decided_by) == (
        "rejected",
        2,
        admin,
    )


def test_no_tag_fits_rejects_open_suggestions_and_is_an_out_of_scope_example(workspace, admin):
    billing = _tag(workspace, "Billing")
    (feedback_id,) = _feedback(workspace, ["what a sunny day"])
    suggestion = _suggestion(workspace, billing, feedback_id)

    tagging.feedback_mark_no_tag_fits(workspace=workspace, actor=admin, feedback_id=feedback_id)

    suggestion.refresh_from_db()
    assert suggestion.status == "rejected"
    assert tagging.training_data(workspace) == (["what a sunny day"], [None])


def test_training_is_due_only_with_enough_labels_of_two_kinds(workspace):
    billing = _tag(workspace, "Billing")
    ids = _feedback(workspace, BILLING[:6])
    services.feedback_tag(workspace=workspace, actor=None, feedback_ids=ids, tag_id=billing.id)
    assert not tagging.classifier_is_due(workspace)  # One tag only: nothing to tell apart.
    assert tagging.classifier_train(workspace=workspace) is None
    with pytest.raises(Exception, match="at least two tags"):
        tagging.classifier_train(workspace=workspace, force=True)

    (other,) = _feedback(workspace, ["hello there, nice weather"])
    tagging.feedback_mark_no_tag_fits(workspace=workspace, actor=None, feedback_id=other)
    assert tagging.classifier_is_due(workspace)


@pytest.fixture
def trained(workspace):
    """A workspace whose people tagged billing and export items and marked a few as no fit."""
    billing = _tag(workspace, "Billing")
    export = _tag(workspace, "Export")
    with tagging.enqueueing_paused():
        billing_ids = _feedback(workspace, BILLING)
        export_ids = _feedback(workspace, EXPORT)
        services.feedback_tag(
            workspace=workspace, actor=None, feedback_ids=billing_ids, tag_id=billing.id
        )
        services.feedback_tag(
            workspace=workspace, actor=None, feedback_ids=export_ids, tag_id=export.id
        )
        for feedback_id in _feedback(workspace, UNRELATED):
            tagging.feedback_mark_no_tag_fits(
                workspace=workspace, actor=None, feedback_id=feedback_id
            )
    version = tagging.classifier_train(workspace=workspace)
    assert version is not None
    assert version.status == "ready"
    return billing, export, version


def test_the_classifier_is_versioned_stored_and_scored(workspace, trained):
    billing, export, version = trained
    assert version.version == 1
    assert (version.label_count, version.tag_count) == (20, 2)
    assert len(bytes(version.blob)) > 0
    assert {str(billing.id), str(export.id)} <= set(version.metrics)
    # Nothing new since: not due again.
    assert tagging.classifier_train(workspace=workspace) is None
    again = tagging.classifier_train(workspace=workspace, force=True)
    assert again.version == 2
    assert tagging.classifier_current(workspace).version == 2


def test_new_feedback_is_tagged_or_suggested_with_confidence_and_nonsense_abstains(
    workspace, trained
):
    billing, export, _ = trained
    ids = _feedback(
        workspace,
        [
            "My card was charged twice and I want a refund",
            "How do I export everything to a CSV file",
            "What is the best way to cook rice",
        ],
    )
    result = tagging.tag_items(workspace=workspace, kind="feedback", ids=ids)

    applied = dict(
        Tagging.objects.for_workspace(workspace)
        .filter(feedback_id__in=ids, origin="model")
        .values_list("feedback_id", "tag_id")
    )
    suggested = dict(
        TagSuggestion.objects.for_workspace(workspace)
        .filter(feedback_id__in=ids, status="pending")
        .values_list("feedback_id", "tag_id")
    )
    given = applied | suggested
    assert given.get(ids[0]) == billing.id
    assert given.get(ids[1]) == export.id
    assert ids[2] not in given  # Abstained: no tag fits.
    assert result.abstained >= 1
    for row in Tagging.objects.for_workspace(workspace).filter(feedback_id__in=ids):
        assert 0 < row.confidence <= 1
        assert row.model_version == 1
    for row in TagSuggestion.objects.for_workspace(workspace).filter(feedback_id__in=ids):
        assert 0 < row.confidence <= 1


def test_a_rejected_suggestion_is_not_suggested_again(workspace, trained, admin):
    billing, _, _ = trained
    (feedback_id,) = _feedback(workspace, ["I was billed twice, please refund the payment"])
    tagging.tag_items(workspace=workspace, kind="feedback", ids=[feedback_id])
    given = Tagging.objects.for_workspace(workspace).filter(feedback_id=feedback_id).first()
    if given is not None:  # Applied above its threshold: the person removes it.
        services.feedback_untag(
            workspace=workspace, actor=admin, feedback_ids=[feedback_id], tag_id=billing.id
        )
    else:
        suggestion = TagSuggestion.objects.for_workspace(workspace).get(feedback_id=feedback_id)
        tagging.suggestion_reject(workspace=workspace, actor=admin, suggestion_id=suggestion.id)

    tagging.tag_items(workspace=workspace, kind="feedback", ids=[feedback_id], force=True)

    assert not Tagging.objects.for_workspace(workspace).filter(feedback_id=feedback_id).exists()
    assert list(
        TagSuggestion.objects.for_workspace(workspace)
        .filter(feedback_id=feedback_id)
        .values_list("status", flat=True)
    ) == ["rejected"]


def test_highlights_are_tagged_too(workspace, trained):
    billing, _, _ = trained
    TagRule.objects.create(workspace=workspace, tag=billing, kind="keyword", pattern="invoice")
    (feedback_id,) = _feedback(workspace, ["Long text. The invoice total is wrong. Thanks."])
    feedback = Feedback.objects.for_workspace(workspace).get(id=feedback_id)
    highlight = services.highlight_create(
        workspace=workspace, actor=None, feedback=feedback, start=11, end=37
    )
    tagging.tag_items(workspace=workspace, kind="highlight", ids=[highlight.id])

    origins = set(
        Tagging.objects.for_workspace(workspace)
        .filter(highlight=highlight)
        .values_list("tag_id", "origin")
    )
    assert (billing.id, "rule") in origins


def test_a_stale_training_claim_is_failed_and_another_run_goes_ahead(workspace, trained):
    Classifier.objects.for_workspace(workspace).create(
        workspace=workspace, version=7, status="training"
    )
    assert tagging.classifier_train(workspace=workspace, force=True) is None  # One at a time.
    Classifier.objects.for_workspace(workspace).filter(version=7).update(
        created_at="2000-01-01T00:00:00Z"
    )
    assert tagging.classifier_train(workspace=workspace, force=True).version == 8
    assert Classifier.objects.for_workspace(workspace).get(version=7).status == "failed"


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_tags_an_imported_batch_after_commit(celery_worker, workspace):
    billing = Tag.objects.create(workspace=workspace, name="Billing")
    TagRule.objects.create(workspace=workspace, tag=billing, kind="keyword", pattern="invoice")
    texts = [
        f"Row {i}: invoice {i} is wrong" if i % 2 else f"Row {i}: all fine" for i in range(1200)
    ]

    ids = _feedback(workspace, texts)  # Commits: three batch tasks go to the worker.

    deadline = time.monotonic() + 60
    tagged = 0
    while time.monotonic() < deadline:
        tagged = Feedback.objects.for_workspace(workspace).filter(tagged_text__isnull=False).count()
        if tagged == len(ids):
            break
        time.sleep(0.2)
    assert tagged == len(ids), celery_worker.log.read_text()[-3000:]
    assert Tagging.objects.for_workspace(workspace).filter(origin="rule").count() == 600
    assert "pmhub.discovery.tag_items" in celery_worker.log.read_text()
    assert TaggingJob.objects.for_workspace(workspace).count() == 0
