"""Item pages through statements compiled once per shape: every sort, walked page by page with
cursors, gives the rows and cursors the ORM gives, for this workspace and another."""

from __future__ import annotations

from decimal import Decimal

import pytest

from backlog import listing, scoring, services
from backlog.selectors import ITEM_SORTS, ItemFilters
from discovery import services as discovery

pytestmark = pytest.mark.django_db

SORTS = [*sorted(ITEM_SORTS), "score"]


def _backlog(workspace, n=7):
    company, _ = discovery.company_upsert(
        workspace=workspace, actor=None, name="Big", domain="big.test", arr=Decimal("5000")
    )
    scoring.scoring_defaults_ensure(workspace=workspace)
    items = []
    for i in range(n):
        item = services.item_create(
            workspace=workspace, actor=None, title=f"Item {i}", effort=1 + i % 3
        )
        items.append(item)
    scoring.item_scores_recompute(
        workspace=workspace, item_ids=[i.id for i in items], cause="test", record_history=False
    )
    del company
    return items


def _walk(workspace, sort, filters=None):
    pages, cursor = [], ""
    while True:
        rows, cursor = listing.item_page(
            workspace=workspace, filters=filters, sort=sort, cursor=cursor, size=3
        )
        pages.append(([r["id"] for r in rows], cursor))
        if not cursor:
            return pages


@pytest.mark.parametrize("sort", SORTS)
def test_compiled_pages_match_the_orm(workspace, other_workspace, sort, monkeypatch):
    _backlog(workspace)
    _backlog(other_workspace, 4)
    listing._STATEMENTS.clear()
    compiled = [_walk(workspace, sort), _walk(other_workspace, sort)]
    filtered = _walk(workspace, sort, ItemFilters(statuses=("new",)))
    monkeypatch.setattr(listing, "_compile", lambda build, values: None)
    listing._STATEMENTS.clear()
    assert compiled == [_walk(workspace, sort), _walk(other_workspace, sort)]
    assert filtered == _walk(workspace, sort, ItemFilters(statuses=("new",)))
    assert sum(len(ids) for ids, _ in compiled[0]) == 7


def test_the_hot_shapes_are_compiled(workspace):
    _backlog(workspace)
    listing._STATEMENTS.clear()
    for sort in ("score", "rank", "customers"):
        _walk(workspace, sort)
    compiled = {key[2]: statement for key, statement in listing._STATEMENTS.items()}
    assert set(compiled) == {"score", "rank", "customers"}
    assert [key for key, statement in listing._STATEMENTS.items() if statement is None] == []
