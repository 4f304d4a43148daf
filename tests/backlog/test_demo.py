"""The demo workspace's backlog: written once, on top of the demo discovery set."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from backlog.demo import ITEMS, demo_backlog_create
from backlog.models import Item, ItemCustomer, ItemEvidence
from discovery.demo import demo_discovery_create

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


def test_the_demo_backlog_is_written_once_with_real_demand(workspace, admin):
    demo_discovery_create(workspace=workspace, actor=admin, now=NOW)

    assert demo_backlog_create(workspace=workspace, actor=admin) == len(ITEMS)
    assert demo_backlog_create(workspace=workspace, actor=admin) == 0

    items = {i.title: i for i in Item.objects.for_workspace(workspace)}
    assert len(items) == len(ITEMS)
    export = items["Export the filtered view to CSV and Excel"]
    assert export.parent == items["Exports that keep every field"]
    assert export.evidence_count == 8
    assert export.customer_count >= 3
    assert export.arr > 0
    assert items["Native iPad app"].status == "declined"
    assert items["Native iPad app"].declined_reason
    epic = items["Exports that keep every field"]
    assert ItemEvidence.objects.for_workspace(workspace).filter(item=epic).get().insight_id
    assert epic.customer_count > 0
    assert (
        ItemCustomer.objects.for_workspace(workspace)
        .filter(item=items["SAML single sign-on"], importance="critical")
        .count()
        == items["SAML single sign-on"].critical_count
        > 0
    )
    ranks = [i.title for i in Item.objects.for_workspace(workspace).order_by("rank", "id")]
    assert ranks == [spec.title for spec in ITEMS]


def test_the_demo_backlog_is_scored_and_has_shared_views(workspace, admin):
    from backlog.listing import item_page
    from backlog.models import SavedView
    from backlog.selectors import primary_formula_get

    demo_discovery_create(workspace=workspace, actor=admin, now=NOW)
    demo_backlog_create(workspace=workspace, actor=admin)

    rows, _ = item_page(workspace=workspace, sort="score", size=len(ITEMS))
    primary = str(primary_formula_get(workspace=workspace).id)
    scores = [row["scores"][primary] for row in rows]
    # Every item is scored by RICE, highest first, and asked-for items reach further.
    assert None not in scores
    assert scores == sorted(scores, reverse=True)
    views = SavedView.objects.for_workspace(workspace).order_by("position")
    assert [(v.name, v.layout, v.is_shared) for v in views] == [
        ("Enterprise asks", "table", True),
        ("In flight", "board", True),
        ("Quick wins", "matrix", True),
    ]
