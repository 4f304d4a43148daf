"""Merging a duplicate backlog item into the one that stays."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from backlog import scoring, services
from backlog.listing import item_merged_target
from backlog.models import (
    Item,
    ItemCustomer,
    ItemEvidence,
    ItemInputs,
    ItemScore,
    ItemTag,
    ScoreChange,
)
from discovery import services as discovery
from pmhub.core.exceptions import ApplicationError
from pmhub.workspaces.models import AuditEvent

pytestmark = pytest.mark.django_db


def _item(workspace, title, **extra):
    return services.item_create(workspace=workspace, actor=None, title=title, **extra)


def _feedback(workspace, customer, text):
    return discovery.feedback_create(
        workspace=workspace,
        actor=None,
        data=discovery.FeedbackInput(text=text, customer_id=customer.id),
    )


def _link(workspace, item, feedback):
    services.item_link_evidence(workspace=workspace, actor=None, item=item, feedback_id=feedback.id)


def _fresh(workspace, item):
    return Item.objects.for_workspace(workspace).get(id=item.id)


@pytest.fixture
def pair(workspace):
    """ "CSV export" (kept) and "Export to CSV" (duplicate), sharing one piece of evidence."""
    big, _ = discovery.company_upsert(
        workspace=workspace,
        actor=None,
        name="Big",
        domain="big.test",
        arr=Decimal("500000"),
        segment="Enterprise",
    )
    ann, _ = discovery.customer_upsert(
        workspace=workspace, actor=None, email="ann@big.test", company=big
    )
    bob, _ = discovery.customer_upsert(workspace=workspace, actor=None, email="bob@x.test")
    kept, duplicate = _item(workspace, "CSV export"), _item(workspace, "Export to CSV")
    shared = _feedback(workspace, ann, "CSV please")
    _link(workspace, kept, shared)
    _link(workspace, duplicate, shared)
    _link(workspace, duplicate, _feedback(workspace, bob, "I need a CSV"))
    return {"kept": kept, "duplicate": duplicate, "ann": ann, "bob": bob}


def test_merge_moves_evidence_and_recounts_demand(workspace, admin, pair):
    kept, duplicate = pair["kept"], pair["duplicate"]

    services.item_merge(workspace=workspace, actor=admin, duplicate=duplicate, into=kept)

    links = ItemEvidence.objects.for_workspace(workspace)
    assert links.filter(item=kept).count() == 2  # The shared link is kept once.
    assert not links.filter(item=duplicate).exists()
    kept, duplicate = _fresh(workspace, kept), _fresh(workspace, duplicate)
    assert (kept.evidence_count, kept.customer_count, kept.company_count) == (2, 2, 1)
    assert kept.arr == Decimal("500000.00")
    assert (duplicate.evidence_count, duplicate.customer_count) == (0, 0)
    assert duplicate.merged_into_id == kept.id
    assert (duplicate.status, duplicate.declined_reason) == ("declined", f"Merged into #{kept.id}")
    event = AuditEvent.objects.for_workspace(workspace).get(action="item.merged")
    assert event.changes["merged"] == duplicate.id
    assert (event.changes["evidence"], event.changes["evidence_dropped"]) == (1, 1)


def test_merge_keeps_the_higher_importance_per_customer(workspace, pair):
    kept, duplicate, ann, bob = pair["kept"], pair["duplicate"], pair["ann"], pair["bob"]
    services.item_customer_importance_set(
        workspace=workspace, actor=None, item=duplicate, customer_id=ann.id, importance="critical"
    )
    services.item_customer_importance_set(
        workspace=workspace, actor=None, item=duplicate, customer_id=bob.id, importance="important"
    )

    services.item_merge(workspace=workspace, actor=None, duplicate=duplicate, into=kept)

    importance = dict(
        ItemCustomer.objects.for_workspace(workspace)
        .filter(item=kept)
        .values_list("customer_id", "importance")
    )
    assert importance == {ann.id: "critical", bob.id: "important"}
    kept = _fresh(workspace, kept)
    assert (kept.critical_count, kept.important_count) == (1, 1)


def test_merge_unions_tags_and_moves_children(workspace, pair):
    kept, duplicate = pair["kept"], pair["duplicate"]
    exports, api = (
        discovery.tag_create(workspace=workspace, actor=None, name=name)
        for name in ("Exports", "API")
    )
    services.item_set_tags(workspace=workspace, actor=None, item=kept, tag_ids=[exports.id])
    services.item_set_tags(
        workspace=workspace, actor=None, item=duplicate, tag_ids=[exports.id, api.id]
    )
    child = _item(workspace, "Excel flavour", parent_id=duplicate.id)

    services.item_merge(workspace=workspace, actor=None, duplicate=duplicate, into=kept)

    tags = set(
        ItemTag.objects.for_workspace(workspace).filter(item=kept).values_list("tag_id", flat=True)
    )
    assert tags == {exports.id, api.id}
    assert _fresh(workspace, child).parent_id == kept.id


def test_merge_moves_score_history_and_fills_blank_inputs(workspace, pair):
    scoring.scoring_defaults_ensure(workspace=workspace)
    kept, duplicate = pair["kept"], pair["duplicate"]
    duplicate = services.item_update(
        workspace=workspace, actor=None, item=duplicate, version=duplicate.version, effort=2
    )
    scoring.item_inputs_set(workspace=workspace, actor=None, item=kept, values={"rice.reach": 100})
    scoring.item_inputs_set(
        workspace=workspace,
        actor=None,
        item=duplicate,
        values={"rice.reach": 5, "rice.impact": 2, "rice.confidence": 0.8},
    )
    history = set(
        ScoreChange.objects.for_workspace(workspace)
        .filter(item=duplicate)
        .values_list("id", flat=True)
    )
    assert history

    services.item_merge(workspace=workspace, actor=None, duplicate=duplicate, into=kept)

    moved = ScoreChange.objects.for_workspace(workspace).filter(id__in=history)
    assert set(moved.values_list("item_id", flat=True)) == {kept.id}
    inputs = ItemInputs.objects.for_workspace(workspace).get(item=kept)
    assert inputs.values == {"rice.reach": 100, "rice.impact": 2, "rice.confidence": 0.8}


def test_merging_again_into_the_same_item_is_a_no_op(workspace, pair):
    kept, duplicate = pair["kept"], pair["duplicate"]
    services.item_merge(workspace=workspace, actor=None, duplicate=duplicate, into=kept)
    version = _fresh(workspace, kept).version

    again = services.item_merge(workspace=workspace, actor=None, duplicate=duplicate, into=kept)

    assert again.id == kept.id
    assert _fresh(workspace, kept).version == version
    assert AuditEvent.objects.for_workspace(workspace).filter(action="item.merged").count() == 1


def test_refusals_self_merged_target_circle_and_another_workspace(workspace, other_workspace, pair):
    kept, duplicate = pair["kept"], pair["duplicate"]
    third = _item(workspace, "CSV v2")
    grandchild_parent = _item(workspace, "Exports epic")
    under = _item(workspace, "Under the epic", parent_id=grandchild_parent.id)
    theirs = _item(other_workspace, "Theirs")
    services.item_merge(workspace=workspace, actor=None, duplicate=duplicate, into=kept)

    with pytest.raises(ApplicationError, match="into itself"):
        services.item_merge(workspace=workspace, actor=None, duplicate=kept, into=kept)
    with pytest.raises(ApplicationError, match=f"itself merged into #{kept.id}"):
        services.item_merge(workspace=workspace, actor=None, duplicate=third, into=duplicate)
    with pytest.raises(ApplicationError, match=f"already merged into #{kept.id}"):
        services.item_merge(workspace=workspace, actor=None, duplicate=duplicate, into=third)
    with pytest.raises(ApplicationError, match="under itself"):
        services.item_merge(
            workspace=workspace, actor=None, duplicate=grandchild_parent, into=under
        )
    with pytest.raises(ValidationError, match="Unknown item"):
        services.item_merge(workspace=workspace, actor=None, duplicate=third, into=theirs)

    assert _fresh(workspace, under).parent_id == grandchild_parent.id
    assert _fresh(workspace, third).merged_into_id is None
    assert Item.objects.for_workspace(other_workspace).get().merged_into_id is None


def test_a_chain_of_merges_points_at_the_live_item(workspace, pair):
    kept, duplicate = pair["kept"], pair["duplicate"]
    final = _item(workspace, "Exports, all formats")
    services.item_merge(workspace=workspace, actor=None, duplicate=duplicate, into=kept)

    services.item_merge(workspace=workspace, actor=None, duplicate=kept, into=final)

    assert item_merged_target(workspace, duplicate.id) == final.id
    assert item_merged_target(workspace, kept.id) == final.id
    assert item_merged_target(workspace, final.id) is None
    assert _fresh(workspace, final).evidence_count == 2


def test_a_merged_item_leaves_the_score_rankings(workspace):
    formulas = scoring.scoring_defaults_ensure(workspace=workspace)
    keep, dup = _item(workspace, "Keep", effort=2), _item(workspace, "Dup", effort=1)
    scoring.item_scores_recompute(workspace=workspace, item_ids=None, cause="test")
    assert {s.item_id for s in ItemScore.objects.for_workspace(workspace)} == {keep.id, dup.id}

    services.item_merge(workspace=workspace, actor=None, duplicate=dup, into=keep)
    scoring.item_scores_recompute(workspace=workspace, item_ids=None, cause="again")

    scored = set(ItemScore.objects.for_workspace(workspace).values_list("item_id", flat=True))
    assert scored == {keep.id}
    assert scoring.item_ids_by_score(workspace=workspace, formula=formulas[0]) == [keep.id]


def test_a_merged_items_page_leads_to_the_item_it_became(workspace, member, login):
    keep, dup = _item(workspace, "Keep"), _item(workspace, "Dup")
    services.item_merge(workspace=workspace, actor=None, duplicate=dup, into=keep)

    response = login(member).get(f"/w/acme/backlog/items/{dup.id}/")

    assert response.status_code == 302
    assert response["Location"] == f"/w/acme/backlog/items/{keep.id}/"
