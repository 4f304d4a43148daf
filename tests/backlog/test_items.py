"""Backlog items: their services, manual order and demand figures from evidence."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from backlog import services
from backlog.models import Item, ItemCustomer, ItemEvidence
from discovery import duplicates
from discovery import services as discovery
from discovery.models import Feedback
from discovery.services import FeedbackInput

pytestmark = pytest.mark.django_db


def _item(workspace, title="Bulk export", **extra):
    return services.item_create(workspace=workspace, actor=None, title=title, **extra)


def _order(workspace):
    return list(
        Item.objects.for_workspace(workspace).order_by("rank").values_list("title", flat=True)
    )


# --- items -----------------------------------------------------------------------------------
def test_new_items_go_to_the_bottom_of_the_manual_order(workspace):
    for title in ("A", "B", "C"):
        _item(workspace, title)
    assert _order(workspace) == ["A", "B", "C"]


def test_an_item_needs_a_title_and_refuses_another_workspaces_references(
    workspace, other_workspace, outsider
):
    with pytest.raises(ValidationError, match="title"):
        _item(workspace, "   ")
    foreign_parent = _item(other_workspace, "Theirs")
    with pytest.raises(ValidationError, match="parent"):
        _item(workspace, parent_id=foreign_parent.id)
    with pytest.raises(ValidationError, match="owner"):
        _item(workspace, owner_id=outsider.id)
    area = services.product_area_create(workspace=other_workspace, actor=None, name="API")
    with pytest.raises(ValidationError, match="area"):
        _item(workspace, area_id=area.id)
    assert not Item.objects.for_workspace(workspace).exists()


def test_a_stale_edit_is_refused_and_the_later_one_is_told(workspace, admin):
    item = _item(workspace)
    services.item_update(
        workspace=workspace, actor=admin, item=item, version=1, title="Bulk export v2"
    )

    with pytest.raises(services.StaleItemError) as refused:
        services.item_update(workspace=workspace, actor=admin, item=item, version=1, effort=3)

    assert refused.value.status_code == 412
    assert refused.value.extra == {"version": 2}
    item.refresh_from_db()
    assert (item.title, item.effort, item.version) == ("Bulk export v2", None, 2)


def test_parents_cannot_form_a_circle(workspace):
    epic = _item(workspace, "Epic", kind="epic")
    feature = _item(workspace, "Feature", kind="feature", parent_id=epic.id)
    task = _item(workspace, "Child", parent_id=feature.id)

    with pytest.raises(ValidationError, match="itself or its children"):
        services.item_update(
            workspace=workspace, actor=None, item=epic, version=1, parent_id=task.id
        )
    with pytest.raises(ValidationError, match="itself"):
        services.item_update(
            workspace=workspace, actor=None, item=epic, version=1, parent_id=epic.id
        )
    assert list(epic.children.values_list("title", flat=True)) == ["Feature"]


def test_declining_needs_a_reason_which_reopening_clears(workspace):
    item = _item(workspace)
    with pytest.raises(ValidationError, match="why"):
        services.item_set_status(workspace=workspace, actor=None, item=item, status="declined")

    services.item_set_status(
        workspace=workspace, actor=None, item=item, status="declined", reason="Out of scope"
    )
    item.refresh_from_db()
    assert (item.status, item.declined_reason) == ("declined", "Out of scope")
    services.item_set_status(workspace=workspace, actor=None, item=item, status="planned")
    item.refresh_from_db()
    assert (item.status, item.declined_reason, item.version) == ("planned", "", 3)


def test_moves_write_one_key_between_the_new_neighbours(workspace):
    a, b, c = (_item(workspace, t) for t in "ABC")
    services.item_move(workspace=workspace, actor=None, item=c, after_id=a.id)
    assert _order(workspace) == ["A", "C", "B"]
    services.item_move(workspace=workspace, actor=None, item=a, before_id=b.id)
    assert _order(workspace) == ["C", "A", "B"]
    services.item_move(workspace=workspace, actor=None, item=b)
    assert _order(workspace) == ["B", "C", "A"]
    before = {i.id: i.rank for i in Item.objects.for_workspace(workspace)}
    services.item_move(workspace=workspace, actor=None, item=a, after_id=b.id)
    after = {i.id: i.rank for i in Item.objects.for_workspace(workspace)}
    assert [i for i in after if after[i] != before[i]] == [a.id]


@pytest.mark.django_db(transaction=True)
def test_concurrent_moves_into_the_same_gap_keep_a_total_order(workspace):
    first = _item(workspace, "first")
    last = _item(workspace, "last")
    movers = [_item(workspace, f"m{i}") for i in range(6)]
    services.item_move(workspace=workspace, actor=None, item=last, after_id=first.id)
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(movers))

    def move(item: Item) -> None:
        try:
            barrier.wait()
            services.item_move(workspace=workspace, actor=None, item=item, after_id=first.id)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=move, args=(m,)) for m in movers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    ranks = list(Item.objects.for_workspace(workspace).values_list("rank", flat=True))
    assert len(set(ranks)) == len(ranks)
    order = _order(workspace)
    assert order[0] == "first"
    assert sorted(order[1:7]) == [f"m{i}" for i in range(6)]
    assert order[7] == "last"


# --- evidence and demand ---------------------------------------------------------------------
@pytest.fixture
def people(workspace):
    big, _ = discovery.company_upsert(
        workspace=workspace,
        actor=None,
        name="Big",
        domain="big.test",
        arr=Decimal("1000000"),
        segment="Enterprise",
    )
    small, _ = discovery.company_upsert(
        workspace=workspace,
        actor=None,
        name="Small",
        domain="small.test",
        arr=Decimal("20000"),
        segment="SMB",
    )
    ann, _ = discovery.customer_upsert(
        workspace=workspace, actor=None, email="ann@big.test", name="Ann", company=big
    )
    bob, _ = discovery.customer_upsert(
        workspace=workspace, actor=None, email="bob@big.test", name="Bob", company=big
    )
    cat, _ = discovery.customer_upsert(
        workspace=workspace, actor=None, email="cat@small.test", name="Cat", company=small
    )
    return {"big": big, "small": small, "ann": ann, "bob": bob, "cat": cat}


def _said(workspace, customer, text):
    return discovery.feedback_create(
        workspace=workspace,
        actor=None,
        data=FeedbackInput(text=text, source="support", customer_id=customer.id),
    )


def _figures(item):
    item.refresh_from_db()
    return (item.evidence_count, item.customer_count, item.company_count, item.arr)


def test_demand_counts_each_customer_once_and_each_companys_arr_once(workspace, people):
    item = _item(workspace)
    by_ann = _said(workspace, people["ann"], "Export everything to CSV please")
    again_by_ann = _said(workspace, people["ann"], "Still waiting for CSV export")
    by_bob = _said(workspace, people["bob"], "CSV export would save me hours")
    insight = discovery.insight_create(workspace=workspace, actor=None, title="People want CSV")
    discovery.evidence_add(workspace=workspace, actor=None, insight=insight, feedback=by_bob)
    discovery.evidence_add(
        workspace=workspace,
        actor=None,
        insight=insight,
        feedback=_said(workspace, people["cat"], "Our accountant needs CSV"),
    )

    for feedback in (by_ann, again_by_ann):
        services.item_link_evidence(
            workspace=workspace, actor=None, item=item, feedback_id=feedback.id
        )
    services.item_link_evidence(workspace=workspace, actor=None, item=item, insight_id=insight.id)
    again = services.item_link_evidence(
        workspace=workspace, actor=None, item=item, insight_id=insight.id
    )

    assert ItemEvidence.objects.for_workspace(workspace).filter(item=item).count() == 3
    assert again.insight_id == insight.id
    assert _figures(item) == (3, 3, 2, Decimal("1020000.00"))
    assert item.demand_by_segment == {
        "Enterprise": {"customers": 2, "companies": 1, "arr": "1000000.00"},
        "SMB": {"customers": 1, "companies": 1, "arr": "20000.00"},
    }


def test_demand_follows_unlinks_importance_and_changes_in_discovery(workspace, people):
    item = _item(workspace)
    by_ann = _said(workspace, people["ann"], "CSV")
    by_cat = _said(workspace, people["cat"], "CSV too")
    link = services.item_link_evidence(
        workspace=workspace, actor=None, item=item, feedback_id=by_ann.id
    )
    services.item_link_evidence(workspace=workspace, actor=None, item=item, feedback_id=by_cat.id)
    services.item_customer_importance_set(
        workspace=workspace,
        actor=None,
        item=item,
        customer_id=people["cat"].id,
        importance="critical",
    )
    item.refresh_from_db()
    assert (item.customer_count, item.critical_count) == (2, 1)

    # Cat moves to the big company: one company left, its ARR once.
    discovery.customer_update(
        workspace=workspace, actor=None, customer=people["cat"], company_id=people["big"].id
    )
    assert _figures(item) == (2, 2, 1, Decimal("1000000.00"))

    services.item_unlink_evidence(workspace=workspace, actor=None, evidence=link)
    assert _figures(item) == (1, 1, 1, Decimal("1000000.00"))
    # The importance a PM gave survives recounts.
    assert ItemCustomer.objects.for_workspace(workspace).get(item=item).importance == "critical"

    discovery.feedback_delete(workspace=workspace, actor=None, feedback=by_cat)
    assert _figures(item) == (0, 0, 0, Decimal("0.00"))


def test_an_insight_gaining_evidence_raises_the_items_it_supports(workspace, people):
    item = _item(workspace)
    insight = discovery.insight_create(workspace=workspace, actor=None, title="CSV")
    services.item_link_evidence(workspace=workspace, actor=None, item=item, insight_id=insight.id)
    assert _figures(item) == (1, 0, 0, Decimal("0.00"))

    discovery.evidence_add(
        workspace=workspace,
        actor=None,
        insight=insight,
        feedback=_said(workspace, people["cat"], "x"),
    )

    assert _figures(item) == (1, 1, 1, Decimal("20000.00"))


def test_merging_feedback_keeps_the_items_it_supported(workspace, people):
    item = _item(workspace)
    kept = _said(workspace, people["ann"], "Please add CSV export for reports")
    copy = _said(workspace, people["ann"], "Please add CSV export for reports!")
    services.item_link_evidence(workspace=workspace, actor=None, item=item, feedback_id=copy.id)

    duplicates.feedback_merge(workspace=workspace, actor=None, duplicate=copy, into=kept)

    link = ItemEvidence.objects.for_workspace(workspace).get(item=item)
    assert link.feedback_id == kept.id
    assert _figures(item) == (1, 1, 1, Decimal("1000000.00"))
    assert Feedback.objects.for_workspace(workspace).get(id=copy.id).merged_into_id == kept.id


def test_links_to_another_workspaces_evidence_are_refused(workspace, other_workspace):
    item = _item(workspace)
    theirs = discovery.insight_create(workspace=other_workspace, actor=None, title="Theirs")
    with pytest.raises(ValidationError, match="Unknown insight"):
        services.item_link_evidence(
            workspace=workspace, actor=None, item=item, insight_id=theirs.id
        )
    assert not ItemEvidence.objects.for_workspace(workspace).exists()
