"""Lists sorted by score: every item is listed from the moment a formula exists, and the page is
one walk of the item_score_sort index (unknown scores as -Infinity, last)."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from backlog import scoring, services
from backlog.listing import item_page, item_sorted
from backlog.models import ItemScore

pytestmark = pytest.mark.django_db(transaction=True)


def _item(workspace, title):
    return services.item_create(workspace=workspace, actor=None, title=title)


def test_a_new_formula_lists_every_item_before_its_job_has_run(workspace):
    items = [_item(workspace, f"Item {i}") for i in range(3)]
    with transaction.atomic():
        formula, job = scoring.formula_create(
            workspace=workspace, actor=None, name="Reach only", source="customer_count * 2"
        )
        # Inside the transaction, the job is not even enqueued yet: the rows are already there.
        rows = ItemScore.objects.for_workspace(workspace).filter(formula=formula)
        assert sorted(rows.values_list("item_id", flat=True)) == sorted(i.id for i in items)
        page, _ = item_page(workspace=workspace, sort=f"score:{formula.id}", size=10)
        assert sorted(r["id"] for r in page) == sorted(i.id for i in items)


def test_the_score_sort_walks_its_index(workspace):
    scoring.scoring_defaults_ensure(workspace=workspace)
    for i in range(5):
        _item(workspace, f"Item {i}")
    qs = item_sorted(workspace=workspace, sort="score")
    sql, params = qs.values("id")[:100].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "item_score_sort" in plan
    assert "Sort Key" not in plan


def test_the_first_score_page_is_one_statement(workspace, django_assert_num_queries):
    scoring.scoring_defaults_ensure(workspace=workspace)
    for i in range(3):
        _item(workspace, f"Item {i}")
    # The primary formula is found by the page's own statement.
    with django_assert_num_queries(1):
        rows, _ = item_page(workspace=workspace, sort="score", size=2)
    assert len(rows) == 2
