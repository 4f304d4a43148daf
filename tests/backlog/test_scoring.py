"""Scoring: frameworks and workspace formulas, inputs, stored scores, history, what-if, jobs."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from backlog import scoring, services
from backlog.models import ItemScore, ScoreChange, ScoreField, ScoringFormula, ScoringJob
from backlog.tasks import scores_recompute_task
from discovery import services as discovery
from discovery.services import FeedbackInput

pytestmark = pytest.mark.django_db


def _item(workspace, title="Bulk export", **extra):
    return services.item_create(workspace=workspace, actor=None, title=title, **extra)


def _formula(workspace, framework):
    return ScoringFormula.objects.for_workspace(workspace).get(framework=framework)


def _score(workspace, item, formula):
    return ItemScore.objects.for_workspace(workspace).get(item=item, formula=formula)


def _rice(workspace, item, reach, impact=1, confidence=1, effort=1, actor=None):
    scoring.item_inputs_set(
        workspace=workspace,
        actor=actor,
        item=item,
        values={
            "rice.reach": reach,
            "rice.impact": impact,
            "rice.confidence": confidence,
            "rice.effort": effort,
        },
    )


# --- defaults, fields ------------------------------------------------------------------------
def test_defaults_are_created_once_with_rice_primary(workspace):
    _item(workspace)
    first = scoring.scoring_defaults_ensure(workspace=workspace)
    second = scoring.scoring_defaults_ensure(workspace=workspace)

    assert [f.framework for f in first] == ["rice", "ice", "wsjf", "value_effort"]
    assert [f.id for f in second] == [f.id for f in first]
    assert [f.is_primary for f in second] == [True, False, False, False]
    # Every item has a row per formula, unknown until its inputs are set.
    scores = ItemScore.objects.for_workspace(workspace)
    assert scores.count() == 4
    assert scores.get(formula=first[0]).reason == "reach is missing"


def test_custom_fields_are_validated(workspace):
    for name in ("Reach", "impact", "customer_count", "log", "rice_reach", "9lives", ""):
        with pytest.raises(ValidationError, match="name"):
            scoring.score_field_create(workspace=workspace, actor=None, name=name, label="X")
    with pytest.raises(ValidationError, match="choices"):
        scoring.score_field_create(
            workspace=workspace,
            actor=None,
            name="tier",
            label="Tier",
            kind="choice",
            choices=[[1, "Low"]],
        )
    with pytest.raises(ValidationError, match="maximum"):
        scoring.score_field_create(
            workspace=workspace, actor=None, name="risk", label="Risk", minimum=5, maximum=1
        )
    field = scoring.score_field_create(
        workspace=workspace,
        actor=None,
        name="strategic_fit",
        label="Strategic fit",
        kind="choice",
        choices=[[1, "Low"], [3, "High"]],
    )
    with pytest.raises(ValidationError, match="already a field"):
        scoring.score_field_create(
            workspace=workspace, actor=None, name="strategic_fit", label="Again"
        )
    assert ScoreField.objects.for_workspace(workspace).get().choices == [
        [1.0, "Low"],
        [3.0, "High"],
    ]

    item = _item(workspace)
    with pytest.raises(ValidationError, match="one of 1, 3"):
        scoring.item_inputs_set(
            workspace=workspace, actor=None, item=item, values={"strategic_fit": 2}
        )
    scoring.formula_create(
        workspace=workspace, actor=None, name="Fit", source="strategic_fit * customer_count"
    )
    with pytest.raises(ValidationError, match="Used by Fit"):
        scoring.score_field_delete(workspace=workspace, actor=None, field=field)


# --- formulas --------------------------------------------------------------------------------
def test_a_syntax_error_keeps_the_old_formula_and_points_at_the_column(workspace):
    scoring.scoring_defaults_ensure(workspace=workspace)
    rice = _formula(workspace, "rice")

    with pytest.raises(ValidationError) as refused:
        scoring.formula_update(
            workspace=workspace, actor=None, formula=rice, version=1, source="reach * * impact"
        )

    assert "column 9" in refused.value.message_dict["source"][0]
    rice.refresh_from_db()
    assert (rice.source, rice.version) == ("reach * impact * confidence / effort", 1)
    assert not ScoringJob.objects.for_workspace(workspace).exists()


def test_division_by_a_literal_zero_is_refused_and_unknown_names_are_pointed_at(workspace):
    with pytest.raises(ValidationError, match="zero"):
        scoring.formula_create(workspace=workspace, actor=None, name="Bad", source="rice_reach / 0")
    with pytest.raises(ValidationError, match="column 1"):
        scoring.formula_create(workspace=workspace, actor=None, name="Bad", source="raech * 2")
    assert not ScoringFormula.objects.for_workspace(workspace).exists()


def test_division_by_zero_at_runtime_gives_an_unknown_score_with_the_reason(workspace):
    scoring.scoring_defaults_ensure(workspace=workspace)
    item = _item(workspace)
    scoring.item_inputs_set(
        workspace=workspace, actor=None, item=item, values={"value_effort.value": 8}
    )
    formula, _ = scoring.formula_create(
        workspace=workspace, actor=None, name="Per effort", source="customer_count / effort"
    )
    scoring.item_scores_recompute(workspace=workspace, item_ids=[item.id], cause="test")
    services.item_update(workspace=workspace, actor=None, item=item, version=1, effort=0)

    score = _score(workspace, item, formula)
    assert (score.value, score.reason) == (None, "effort is 0: division by zero")


def test_inputs_out_of_range_are_refused_and_nothing_changes(workspace):
    scoring.scoring_defaults_ensure(workspace=workspace)
    item = _item(workspace)
    with pytest.raises(ValidationError) as refused:
        scoring.item_inputs_set(
            workspace=workspace,
            actor=None,
            item=item,
            values={"ice.impact": 11, "rice.impact": 0.7, "rice.reach": -1, "nope": 1},
        )
    assert refused.value.message_dict == {
        "ice.impact": ["ICE impact is at most 10."],
        "rice.impact": ["RICE impact is one of 0.25, 0.5, 1, 2, 3."],
        "rice.reach": ["RICE reach is at least 0."],
        "nope": ["Unknown input."],
    }
    assert not ScoreChange.objects.for_workspace(workspace).exists()


# --- recomputing and history -----------------------------------------------------------------
def test_scores_follow_inputs_and_history_records_the_move_with_its_cause(workspace, admin):
    scoring.scoring_defaults_ensure(workspace=workspace)
    rice = _formula(workspace, "rice")
    a, b, c = (_item(workspace, title) for title in "ABC")
    _rice(workspace, a, 300)
    _rice(workspace, b, 200)
    _rice(workspace, c, 100)

    _rice(workspace, c, 400, actor=admin)

    assert _score(workspace, c, rice).value == 400.0
    assert scoring.item_ids_by_score(workspace=workspace, formula=rice) == [c.id, a.id, b.id]
    change = ScoreChange.objects.for_workspace(workspace).filter(item=c).latest("id")
    assert (change.old_value, change.new_value) == (100.0, 400.0)
    assert (change.old_position, change.new_position) == (3, 1)
    assert change.cause == "inputs changed: rice.reach 100 → 400"
    assert change.actor == admin


def test_demand_changes_recompute_scores_with_a_demand_cause(workspace):
    scoring.scoring_defaults_ensure(workspace=workspace)
    formula, _ = scoring.formula_create(
        workspace=workspace, actor=None, name="Asks", source="customer_count * 10"
    )
    item = _item(workspace)
    big, _ = discovery.company_upsert(
        workspace=workspace,
        actor=None,
        name="Big",
        domain="big.test",
        arr=Decimal("1000000"),
        segment="Enterprise",
    )
    feedback = []
    for name in ("ann", "bob"):
        customer, _ = discovery.customer_upsert(
            workspace=workspace, actor=None, email=f"{name}@big.test", name=name, company=big
        )
        feedback.append(
            discovery.feedback_create(
                workspace=workspace,
                actor=None,
                data=FeedbackInput(text="CSV please", source="support", customer_id=customer.id),
            )
        )
    assert _score(workspace, item, formula).value == 0.0

    for one in feedback:
        services.item_link_evidence(workspace=workspace, actor=None, item=item, feedback_id=one.id)

    assert _score(workspace, item, formula).value == 20.0
    change = ScoreChange.objects.for_workspace(workspace).filter(formula=formula).latest("id")
    assert change.cause == "demand: +1 customers (1 Enterprise), +1 linked feedback"
    assert (change.old_value, change.new_value) == (10.0, 20.0)


def test_rice_effort_falls_back_to_the_items_own_effort(workspace):
    scoring.scoring_defaults_ensure(workspace=workspace)
    item = _item(workspace, effort=2)
    scoring.item_inputs_set(
        workspace=workspace,
        actor=None,
        item=item,
        values={"rice.reach": 100, "rice.impact": 2, "rice.confidence": 0.5},
    )
    assert _score(workspace, item, _formula(workspace, "rice")).value == 50.0

    services.item_update(workspace=workspace, actor=None, item=item, version=1, effort=4)

    assert _score(workspace, item, _formula(workspace, "rice")).value == 25.0
    change = ScoreChange.objects.for_workspace(workspace).latest("id")
    assert change.cause == "effort 2.0 → 4.0"


# --- the background recompute ----------------------------------------------------------------
def test_a_formula_change_recomputes_every_item_in_a_job(
    workspace, django_capture_on_commit_callbacks
):
    scoring.scoring_defaults_ensure(workspace=workspace)
    rice = _formula(workspace, "rice")
    a, b = _item(workspace, "A"), _item(workspace, "B")
    _rice(workspace, a, 100, effort=1)
    _rice(workspace, b, 50, effort=0.5)

    with django_capture_on_commit_callbacks() as callbacks:
        rice, job = scoring.formula_update(
            workspace=workspace, actor=None, formula=rice, version=1, source="reach * 3"
        )
    assert len(callbacks) == 1
    assert (job.status, job.formula_version) == ("pending", 2)

    scores_recompute_task(workspace_id=workspace.id, job_id=job.id)
    scores_recompute_task(workspace_id=workspace.id, job_id=job.id)  # a second run: no-op

    job.refresh_from_db()
    assert (job.status, job.total, job.processed) == ("done", 2, 2)
    assert _score(workspace, a, rice).value == 300.0
    assert _score(workspace, b, rice).value == 150.0
    change = ScoreChange.objects.for_workspace(workspace).filter(item=b).latest("id")
    assert change.cause == "formula changed: reach * impact * confidence / effort → reach * 3"
    assert (
        ScoreChange.objects.for_workspace(workspace).filter(cause__startswith="formula").count()
        == 2
    )


def test_a_job_for_an_older_version_is_superseded(workspace):
    scoring.scoring_defaults_ensure(workspace=workspace)
    rice = _formula(workspace, "rice")
    _, old_job = scoring.formula_update(
        workspace=workspace, actor=None, formula=rice, version=1, source="reach"
    )
    scoring.formula_update(
        workspace=workspace, actor=None, formula=rice, version=2, source="reach * 3"
    )

    scores_recompute_task(workspace_id=workspace.id, job_id=old_job.id)

    old_job.refresh_from_db()
    assert old_job.status == "superseded"


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_recomputes_after_the_formula_is_saved(celery_worker, workspace):
    scoring.scoring_defaults_ensure(workspace=workspace)
    items = [_item(workspace, f"Item {i}") for i in range(5)]
    for i, item in enumerate(items):
        scoring.item_inputs_set(
            workspace=workspace, actor=None, item=item, values={"ice.impact": i + 1}
        )
    formula, job = scoring.formula_create(
        workspace=workspace, actor=None, name="Impact", source="ice_impact * 10"
    )

    deadline = time.monotonic() + 60
    while job.status not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.2)
        job.refresh_from_db()

    assert job.status == "done", celery_worker.log.read_text()[-3000:]
    assert (job.total, job.processed) == (5, 5)
    assert scoring.item_ids_by_score(workspace=workspace, formula=formula) == [
        item.id for item in reversed(items)
    ]
    assert "pmhub.backlog.scores_recompute" in celery_worker.log.read_text()


# --- explain and what-if ---------------------------------------------------------------------
def test_explain_gives_the_formula_inputs_contributions_and_history(workspace):
    scoring.scoring_defaults_ensure(workspace=workspace)
    rice = _formula(workspace, "rice")
    a, b, c = (_item(workspace, title) for title in "ABC")
    _rice(workspace, a, 100)
    _rice(workspace, b, 200)
    _rice(workspace, c, 300)
    _rice(workspace, c, 300, impact=2)

    explained = scoring.score_explain(workspace=workspace, item=c, formula=rice)

    assert explained["formula"]["source"] == "reach * impact * confidence / effort"
    assert explained["value"] == 600.0
    inputs = {row["name"]: row for row in explained["inputs"]}
    assert inputs["reach"] == {
        "name": "reach",
        "label": "Reach",
        "value": 300,
        "median": 200.0,
        "contribution": 200.0,
    }
    assert inputs["impact"]["median"] == 1.0
    assert inputs["impact"]["contribution"] == 300.0
    assert [h["cause"] for h in explained["history"]] == [
        "inputs changed: rice.impact 1 → 2",
        "inputs changed: rice.confidence blank → 1, rice.effort blank → 1, rice.impact blank → 1, "
        "rice.reach blank → 300",
    ]


def test_what_if_reranks_without_writing(workspace):
    scoring.scoring_defaults_ensure(workspace=workspace)
    rice = _formula(workspace, "rice")
    a, b = _item(workspace, "A"), _item(workspace, "B")
    _rice(workspace, a, 200, impact=1)
    _rice(workspace, b, 50, impact=3)
    before = list(ItemScore.objects.for_workspace(workspace).values_list("id", "value"))

    ranking = scoring.what_if(
        workspace=workspace, formula=rice, source="reach * impact ^ 2 * confidence / effort"
    )

    assert [(r["title"], r["value"], r["position"], r["old_position"]) for r in ranking] == [
        ("B", 450.0, 1, 2),
        ("A", 200.0, 2, 1),
    ]
    assert list(ItemScore.objects.for_workspace(workspace).values_list("id", "value")) == before
    rice.refresh_from_db()
    assert rice.version == 1
    with pytest.raises(ValidationError, match="column"):
        scoring.what_if(workspace=workspace, formula=rice, source="reach +")


# --- tenancy ---------------------------------------------------------------------------------
def test_another_workspaces_formulas_and_fields_are_not_found(workspace, other_workspace):
    scoring.scoring_defaults_ensure(workspace=other_workspace)
    theirs = _formula(other_workspace, "rice")
    field = scoring.score_field_create(
        workspace=other_workspace, actor=None, name="fit", label="Fit"
    )

    with pytest.raises(ScoringFormula.DoesNotExist):
        scoring.formula_get(workspace=workspace, formula_id=theirs.id)
    with pytest.raises(ScoreField.DoesNotExist):
        scoring.score_field_get(workspace=workspace, field_id=field.id)
    with pytest.raises(ScoringFormula.DoesNotExist):
        scoring.formula_update(
            workspace=workspace, actor=None, formula=theirs, version=1, source="reach"
        )
    with pytest.raises(ScoreField.DoesNotExist):
        scoring.score_field_delete(workspace=workspace, actor=None, field=field)
    item = _item(workspace)
    with pytest.raises(ValidationError, match="Unknown input"):
        scoring.item_inputs_set(workspace=workspace, actor=None, item=item, values={"fit": 1})
    theirs.refresh_from_db()
    assert theirs.source == "reach * impact * confidence / effort"
