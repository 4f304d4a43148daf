"""The backlog at scale: 100,000 items and 2,000,000 evidence links.

python -m bench.backlog [--items 100000] [--links 2000000] [--repeat 30] [--reload]

Loads (once; reused while the figures match) a workspace through set-based SQL: companies,
customers, feedback, items in a manual order with tags and scoring inputs, links with a heavy
tail (five items with 20,000 links each, 2,000 with ~600, the rest with 0 to 14), the stored
demand recounted in the database, and every item scored by the four default formulas through
the app's own scoring code. Then measures, in one run, each against its floor:

- the REST API list page (100 items sorted by the primary score, demand figures, tags, scores),
  through the real URL with a token, against the same rows fetched by raw psycopg (Django's own
  statements replayed with a client-side-binding cursor) and encoded with orjson; and against a
  plain DRF ModelSerializer + PageNumberPagination implementation of the same endpoint, built
  here as the peer;
- the page sorted by score and by customer count against the page in the manual order, an
  index-only ORDER BY rank LIMIT on a plain column;
- the page 1,000 pages deep (row 50,000 at the API's default page size) against the first page;
- the page after the links are doubled (4,000,000; the extra ones are removed afterwards);
- SQL statements per request for page sizes 10, 100 and 1,000;
- the table view's HTML page (its 50 rows, sorted by score) against the API page (100 items),
  and against the API asked for the same 50 rows.

The final line is JSON with every figure.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable
from typing import Any

from bench._setup import capture, django_setup, progress, raw_floor, timed_pair

WORKSPACE_SLUG = "bench-backlog"
SEED = 5_000_011
COMPANIES, CUSTOMERS, FEEDBACK = 2_000, 50_000, 300_000
HOT_ITEMS, HOT_LINKS = 5, 20_000
WARM_ITEMS = 2_000
TAIL_MAX = 14  # the rest have 0 to 14 links: most under 10
PAGE = 100
DEPTH_PAGES, DEPTH_PAGE_SIZE = 1_000, 50
TABLE_PAGE = 50
WARM_CALLS = 50
AREAS = ["Reporting", "Integrations", "Mobile", "Editor", "Admin", "Billing", "API", "Search"]
TAGS = ["Exports", "Performance", "Onboarding", "SSO", "Permissions", "Dashboards", "Webhooks"]
WORDS = [
    "export", "dashboard", "roadmap", "sso", "audit", "webhook", "filter", "import", "template",
    "mobile", "offline", "calendar", "board", "comments", "search", "billing", "invoices",
    "permissions", "api", "slack", "jira", "timeline", "charts", "reports", "sandbox",
]  # fmt: skip


def _links_sql(extra: bool) -> str:
    """INSERT ... SELECT of the links: per item rank rn, k in its range, feedback by rn.

    (k * 31 + rn * 977) mod FEEDBACK is distinct for distinct k below FEEDBACK, so an item never
    cites one feedback item twice; the `extra` pass takes the next range of k.
    """
    count = (
        f"CASE WHEN i.rn <= {HOT_ITEMS} THEN {HOT_LINKS} "
        f"WHEN i.rn <= {HOT_ITEMS + WARM_ITEMS} THEN %(warm)s "
        f"ELSE (i.rn * 7919) %% {TAIL_MAX + 1} END"
    )
    start = f"({count}) + 1" if extra else "1"
    stop = f"2 * ({count})" if extra else count
    return (
        "INSERT INTO backlog_itemevidence"
        " (workspace_id, item_id, feedback_id, note, created_at, updated_at)"
        " SELECT %(ws)s, i.id, f.id, %(note)s, now(), now()"
        " FROM bench_items i"
        f" CROSS JOIN LATERAL generate_series({start}, {stop}) AS k"
        f" JOIN bench_feedback f ON f.rn = 1 + ((k * 31 + i.rn * 977) %% {FEEDBACK})"
    )


def _numbered(cur: Any, ws: int) -> None:
    cur.execute(
        "CREATE TEMP TABLE IF NOT EXISTS bench_items AS SELECT id, row_number() OVER "
        "(ORDER BY id) AS rn FROM backlog_item WHERE workspace_id = %s",
        [ws],
    )
    cur.execute(
        "CREATE TEMP TABLE IF NOT EXISTS bench_feedback AS SELECT id, customer_id, "
        "row_number() OVER (ORDER BY id) AS rn FROM discovery_feedback WHERE workspace_id = %s",
        [ws],
    )
    cur.execute("CREATE UNIQUE INDEX IF NOT EXISTS bench_feedback_rn ON bench_feedback (rn)")
    cur.execute("ANALYZE bench_items")
    cur.execute("ANALYZE bench_feedback")


def _warm_links(items: int, links: int) -> int:
    """Links per warm item, so that the total comes to about `links`."""
    tail = sum(
        ((rn * 7919) % (TAIL_MAX + 1)) for rn in range(HOT_ITEMS + WARM_ITEMS + 1, items + 1)
    )
    return max(1, (links - HOT_ITEMS * HOT_LINKS - tail) // WARM_ITEMS)


DEMAND_SQL = """
WITH asking AS (
    SELECT ic.item_id, ic.customer_id, ic.importance, c.company_id, co.arr,
           coalesce(co.segment, '') AS segment
    FROM backlog_itemcustomer ic
    JOIN discovery_customer c ON c.id = ic.customer_id
    LEFT JOIN discovery_company co ON co.id = c.company_id
    WHERE ic.workspace_id = %(ws)s
), companies AS (
    SELECT DISTINCT item_id, company_id, arr, segment FROM asking WHERE company_id IS NOT NULL
), segment_customers AS (
    SELECT item_id, segment, count(*) AS customers FROM asking GROUP BY item_id, segment
), segment_companies AS (
    SELECT item_id, segment, count(*) AS companies, coalesce(sum(arr), 0) AS arr
    FROM companies GROUP BY item_id, segment
), by_segment AS (
    SELECT c.item_id, c.segment, c.customers, coalesce(m.companies, 0) AS companies,
           coalesce(m.arr, 0) AS arr
    FROM segment_customers c LEFT JOIN segment_companies m USING (item_id, segment)
), figures AS (
    SELECT item_id,
           count(*) AS customers,
           count(*) FILTER (WHERE importance = 'critical') AS critical,
           count(*) FILTER (WHERE importance = 'important') AS important
    FROM asking GROUP BY item_id
), money AS (
    SELECT item_id, count(*) AS companies, coalesce(sum(arr), 0) AS arr
    FROM companies GROUP BY item_id
), segments AS (
    SELECT item_id, jsonb_object_agg(segment, jsonb_build_object(
        'customers', customers, 'companies', companies, 'arr', arr::text)) AS doc
    FROM by_segment GROUP BY item_id
), evidence AS (
    SELECT item_id, count(*) AS n FROM backlog_itemevidence
    WHERE workspace_id = %(ws)s GROUP BY item_id
)
UPDATE backlog_item i SET
    evidence_count = coalesce(e.n, 0),
    customer_count = coalesce(f.customers, 0),
    critical_count = coalesce(f.critical, 0),
    important_count = coalesce(f.important, 0),
    company_count = coalesce(m.companies, 0),
    arr = coalesce(m.arr, 0),
    demand_by_segment = coalesce(s.doc, '{}'::jsonb)
FROM backlog_item i2
LEFT JOIN evidence e ON e.item_id = i2.id
LEFT JOIN figures f ON f.item_id = i2.id
LEFT JOIN money m ON m.item_id = i2.id
LEFT JOIN segments s ON s.item_id = i2.id
WHERE i.id = i2.id AND i2.workspace_id = %(ws)s
"""

CUSTOMERS_SQL = """
INSERT INTO backlog_itemcustomer (workspace_id, item_id, customer_id, importance, created_at,
    updated_at)
SELECT %(ws)s, item_id, customer_id,
       CASE WHEN (item_id * 31 + customer_id) %% 100 < 3 THEN 'critical'
            WHEN (item_id * 31 + customer_id) %% 100 < 15 THEN 'important'
            ELSE 'nice' END,
       now(), now()
FROM (SELECT DISTINCT e.item_id, f.customer_id FROM backlog_itemevidence e
      JOIN discovery_feedback f ON f.id = e.feedback_id
      WHERE e.workspace_id = %(ws)s AND f.customer_id IS NOT NULL) AS pairs
ON CONFLICT (item_id, customer_id) DO NOTHING
"""


def recount_demand(cur: Any, ws: int) -> None:
    """Who asked for what, and the stored figures, recounted for every item at once."""
    cur.execute("DELETE FROM backlog_itemcustomer WHERE workspace_id = %s", [ws])
    cur.execute(CUSTOMERS_SQL, {"ws": ws})
    cur.execute(DEMAND_SQL, {"ws": ws})
    # Recounting every item at once leaves a dead version of each row, which autovacuum would
    # clear in a live database (the app recounts only the items whose links changed).
    cur.execute("VACUUM ANALYZE backlog_item")
    cur.execute("ANALYZE backlog_itemevidence")
    cur.execute("ANALYZE backlog_itemcustomer")


def load(raw_url: dict[str, Any], workspace_id: int, items: int, links: int) -> dict[str, Any]:
    """Fill the bench workspace in the database (set-based SQL), then score every item."""
    import psycopg

    from backlog.ranking import keys_between

    started = time.perf_counter()
    ws = workspace_id
    with psycopg.connect(**raw_url, autocommit=True) as conn:
        cur = conn.cursor()
        for table in (
            "backlog_scorechange",
            "backlog_scoringjob",
            "backlog_itemscore",
            "backlog_iteminputs",
            "backlog_itemcustomer",
            "backlog_itemevidence",
            "backlog_itemtag",
        ):
            cur.execute(f"DELETE FROM {table} WHERE workspace_id = %s", [ws])  # noqa: S608
        cur.execute("UPDATE backlog_item SET parent_id = NULL WHERE workspace_id = %s", [ws])
        for table in (
            "backlog_item",
            "backlog_productarea",
            "backlog_scoringformula",
            "discovery_feedback",
            "discovery_customer",
            "discovery_company",
            "discovery_tag",
        ):
            cur.execute(f"DELETE FROM {table} WHERE workspace_id = %s", [ws])  # noqa: S608
        cur.execute(
            "INSERT INTO discovery_company (workspace_id, name, domain, arr, plan, segment,"
            " attributes, created_at, updated_at)"
            " SELECT %s, 'Company ' || g, 'company' || g || '.example', CASE"
            "  WHEN g %% 10 < 6 THEN 5000 + (g * 7919 %% 45000)"
            "  WHEN g %% 10 < 9 THEN 50000 + (g * 7919 %% 250000)"
            "  ELSE 300000 + (g * 7919 %% 2700000) END,"
            " '', CASE WHEN g %% 10 < 6 THEN 'SMB' WHEN g %% 10 < 9 THEN 'Mid-market'"
            "  ELSE 'Enterprise' END, '{}', now(), now()"
            " FROM generate_series(1, %s) AS g",
            [ws, COMPANIES],
        )
        cur.execute(
            "INSERT INTO discovery_customer (workspace_id, name, email, attributes, company_id,"
            " created_at, updated_at)"
            " SELECT %s, 'Customer ' || g, 'customer' || g || '@example.com', '{}', c.id,"
            " now(), now() FROM generate_series(1, %s) AS g"
            " JOIN (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM discovery_company"
            "  WHERE workspace_id = %s) AS c ON c.rn = 1 + (g * 13 %% %s)",
            [ws, CUSTOMERS, ws, COMPANIES],
        )
        cur.execute(
            "INSERT INTO discovery_feedback (workspace_id, text, source, external_id,"
            " external_url, received_at, status, customer_id, company_id, duplicate_dismissed,"
            " no_tag_fits, created_at, updated_at)"
            " SELECT %s, 'Request ' || g || ': please improve the ' || (%s::text[])[1 + g %% 25],"
            " 'support', '', '', now() - (g %% 20000) * interval '1 hour', 'triaged', c.id,"
            " c.company_id, false, false, now(), now() FROM generate_series(1, %s) AS g"
            " JOIN (SELECT id, company_id, row_number() OVER (ORDER BY id) AS rn"
            "  FROM discovery_customer WHERE workspace_id = %s) AS c"
            " ON c.rn = 1 + (g * 7 %% %s)",
            [ws, WORDS, FEEDBACK, ws, CUSTOMERS],
        )
        cur.execute(
            'INSERT INTO discovery_tag (workspace_id, name, "group", color, description,'
            " created_at, updated_at)"
            " SELECT %s, name, '', '#3b82f6', '', now(), now() FROM unnest(%s::text[]) AS name",
            [ws, TAGS],
        )
        cur.execute(
            "INSERT INTO backlog_productarea (workspace_id, name, description, created_at,"
            " updated_at) SELECT %s, name, '', now(), now() FROM unnest(%s::text[]) AS name",
            [ws, AREAS],
        )
        # Items are created over time and ranked later, so in a live backlog the manual order
        # has nothing to do with where rows sit in the table; loaded in rank order, a walk of
        # the manual order would read neighbouring pages as no real backlog does.
        ranks = keys_between(None, None, items)
        random.Random(SEED).shuffle(ranks)  # noqa: S311 - benchmark data, not a secret
        cur.execute(
            "INSERT INTO backlog_item (workspace_id, title, description, kind, status,"
            " declined_reason, effort, rank, version, demand_by_segment, area_id, created_at,"
            " updated_at)"
            " SELECT %(ws)s, initcap((%(words)s::text[])[1 + g %% 25]) || ' '"
            "  || (%(words)s::text[])[1 + (g * 7) %% 25] || ' #' || g,"
            " 'Why: customers asked for ' || (%(words)s::text[])[1 + (g * 3) %% 25] || '.',"
            " (ARRAY['idea', 'idea', 'feature', 'epic'])[1 + g %% 4],"
            " (ARRAY['new', 'new', 'considering', 'considering', 'planned', 'in_progress',"
            "  'shipped', 'declined'])[1 + (g * 11) %% 8],"
            " CASE WHEN (g * 11) %% 8 = 7 THEN 'Not our market' ELSE '' END,"
            " CASE WHEN g %% 5 = 0 THEN NULL ELSE 0.5 + (g * 37 %% 20) / 2.0 END,"
            " rank, 1, '{}', a.id, now() - (g %% 5000) * interval '1 hour',"
            " now() - (g %% 5000) * interval '1 hour'"
            " FROM unnest(%(ranks)s::text[]) WITH ORDINALITY AS r(rank, g)"
            " JOIN (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM backlog_productarea"
            "  WHERE workspace_id = %(ws)s) AS a ON a.rn = 1 + g %% %(areas)s",
            {"ws": ws, "words": WORDS, "ranks": ranks, "areas": len(AREAS)},
        )
        _numbered(cur, ws)
        cur.execute(
            "INSERT INTO backlog_itemtag (workspace_id, item_id, tag_id, created_at, updated_at)"
            " SELECT %(ws)s, i.id, t.id, now(), now() FROM bench_items i"
            " JOIN (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM discovery_tag"
            "  WHERE workspace_id = %(ws)s) AS t"
            " ON t.rn = 1 + i.rn %% %(tags)s"
            " OR (i.rn %% 3 = 0 AND t.rn = 1 + (i.rn / 3) %% %(tags)s)"
            " ON CONFLICT DO NOTHING",
            {"ws": ws, "tags": len(TAGS)},
        )
        progress("loaded people, feedback and items", f"{time.perf_counter() - started:.1f} s")
        warm = _warm_links(items, links)
        cur.execute(_links_sql(extra=False), {"ws": ws, "warm": warm, "note": ""})
        progress("loaded links", f"{time.perf_counter() - started:.1f} s")
        recount_demand(cur, ws)
        progress("counted demand", f"{time.perf_counter() - started:.1f} s")
        cur.execute(
            "INSERT INTO backlog_iteminputs (workspace_id, item_id, values, demand, created_at,"
            " updated_at)"
            " SELECT %s, i.id, jsonb_build_object("
            "  'rice.reach', (i.rn * 131) %% 5000,"
            "  'rice.impact', (ARRAY[0.25, 0.5, 1, 2, 3])[1 + i.rn %% 5],"
            "  'rice.confidence', (ARRAY[0.5, 0.8, 1.0])[1 + i.rn %% 3],"
            "  'ice.impact', 1 + i.rn %% 10, 'ice.confidence', 1 + (i.rn * 3) %% 10,"
            "  'ice.ease', 1 + (i.rn * 7) %% 10,"
            "  'wsjf.business_value', (ARRAY[1, 2, 3, 5, 8, 13, 20])[1 + i.rn %% 7],"
            "  'wsjf.time_criticality', (ARRAY[1, 2, 3, 5, 8, 13, 20])[1 + (i.rn * 3) %% 7],"
            "  'wsjf.risk_reduction', (ARRAY[1, 2, 3, 5, 8, 13, 20])[1 + (i.rn * 5) %% 7],"
            "  'wsjf.job_size', (ARRAY[1, 2, 3, 5, 8, 13, 20])[1 + (i.rn * 11) %% 7],"
            "  'value_effort.value', 1 + (i.rn * 13) %% 10,"
            "  'value_effort.effort', 1 + (i.rn * 17) %% 10),"
            " '{}', now(), now() FROM bench_items i WHERE i.rn %% 10 <> 0",
            [ws],
        )
        cur.execute("ANALYZE backlog_iteminputs")
        evidence = cur.execute(
            "SELECT count(*) FROM backlog_itemevidence WHERE workspace_id = %s", [ws]
        ).fetchone()[0]
    loaded = round(time.perf_counter() - started, 1)
    scored_in = score_everything(ws)
    return {
        "items": items,
        "links": evidence,
        "load_s": loaded,
        "scoring_s": scored_in,
    }


def score_everything(workspace_id: int) -> float:
    """The default formulas, and every item scored through the app's own recompute."""
    from django.db import transaction

    from backlog import scoring
    from backlog.models import Item
    from pmhub.workspaces.models import Workspace

    started = time.perf_counter()
    workspace = Workspace.objects.get(id=workspace_id)
    scoring.scoring_defaults_ensure(workspace=workspace)
    ids = list(Item.objects.for_workspace(workspace).order_by("id").values_list("id", flat=True))
    for start in range(0, len(ids), scoring.JOB_CHUNK):
        with transaction.atomic():
            scoring.item_scores_recompute(
                workspace=workspace,
                item_ids=ids[start : start + scoring.JOB_CHUNK],
                cause="bench",
                record_history=False,
            )
    from django.db import connection

    with connection.cursor() as cursor:
        # Statistics and visibility as autovacuum keeps them in a live database: without the
        # vacuum, the dead index entries the recompute's upserts leave make the planner's probes
        # of the index ends (get_actual_variable_range) cost milliseconds per statement.
        cursor.execute("VACUUM ANALYZE")
    return round(time.perf_counter() - started, 1)


def main() -> None:  # noqa: PLR0915 - one run, one story: set up, measure, print
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--links", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--reload", action="store_true", help="load again even if present")
    parser.add_argument("--skip-doubling", action="store_true")
    args = parser.parse_args()
    django_setup()

    import psycopg
    from django.db import connection
    from django.test import Client

    from backlog.models import Item, ItemEvidence
    from backlog.selectors import primary_formula_get
    from pmhub.accounts.models import User
    from pmhub.accounts.services import api_token_create
    from pmhub.workspaces.models import Membership, Workspace
    from pmhub.workspaces.roles import Role

    workspace, _ = Workspace.objects.get_or_create(
        slug=WORKSPACE_SLUG, defaults={"name": "Bench backlog"}
    )
    params = {k: v for k, v in connection.get_connection_params().items() if k != "cursor_factory"}
    present = Item.objects.for_workspace(workspace).count()
    links_present = ItemEvidence.objects.for_workspace(workspace).count()
    loading: dict[str, Any] = {"reused": True, "items": present, "links": links_present}
    if (
        args.reload
        or present != args.items
        or abs(links_present - args.links) > args.links * 0.02
        or primary_formula_get(workspace=workspace) is None
    ):
        loading = {"reused": False, **load(params, workspace.id, args.items, args.links)}
    progress("load", loading)
    primary = primary_formula_get(workspace=workspace)
    assert primary is not None

    owner, _ = User.objects.get_or_create(email="owner@bench-backlog.test")
    Membership.objects.for_workspace(workspace).get_or_create(
        workspace=workspace, user=owner, defaults={"role": Role.ADMIN}
    )
    raw = psycopg.connect(**params, autocommit=True, cursor_factory=psycopg.ClientCursor)

    _token, secret = api_token_create(
        workspace=workspace, user=owner, name="bench backlog", access="read"
    )
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    base = f"/api/v1/workspaces/{WORKSPACE_SLUG}/items/"

    def api(sort: str = "score", size: int = PAGE, cursor: str = "") -> Callable[[], bytes]:
        query = f"?sort={sort}&page_size={size}" + (f"&cursor={cursor}" if cursor else "")

        def call() -> bytes:
            response = client.get(base + query)
            assert response.status_code == 200, response.content[:500]
            return response.content

        return call

    def measure(fn: Callable[[], object], repeat: int = args.repeat) -> dict[str, Any]:
        statements = capture(fn)
        # The floor replays the data statements (those reading backlog tables).
        data = [(sql, p) for sql, p in statements if "backlog_" in sql]
        result, floor = timed_pair(fn, raw_floor(raw, data), repeat=repeat)
        return {
            **result,
            "floor": floor,
            "ratio": round(result["median_ms"] / floor["median_ms"], 2),
            "queries": len(statements),
        }

    import pmhub.wsgi  # noqa: F401 - the process as gunicorn runs it (gc.freeze after startup)

    figures: dict[str, Any] = {"bench": "backlog", "load": loading}
    api()()  # the first request records the token's last use; measure the steady state
    for _ in range(50):  # and warm: caches, the connection, the CPU's clock
        api()()

    figures["api"] = measure(api())
    progress("api", figures["api"])

    naive = naive_drf_view(workspace, owner)
    naive_page, ours = timed_pair(naive, api(), repeat=max(5, args.repeat // 3))
    figures["naive_drf"] = {
        **naive_page,
        "queries": len(capture(naive)),
        "ours": ours,
    }
    progress("naive drf", figures["naive_drf"])

    by_score, by_rank = timed_pair(api("score"), api("rank"), repeat=args.repeat)
    by_customers, by_rank_again = timed_pair(api("customers"), api("rank"), repeat=args.repeat)
    figures["sort"] = {
        "score": by_score,
        "customers": by_customers,
        "rank": by_rank,
        "rank_again": by_rank_again,
        "score_ratio": round(by_score["median_ms"] / by_rank["median_ms"], 2),
        "customers_ratio": round(by_customers["median_ms"] / by_rank_again["median_ms"], 2),
    }
    progress("sort", figures["sort"])

    # The cursor of page 1,001: walk there once with large pages, then ask for the page size.
    row = DEPTH_PAGE_SIZE * DEPTH_PAGES
    cursor = deep_cursor(client, base, row)
    deep, first = timed_pair(
        api("score", DEPTH_PAGE_SIZE, cursor), api("score", DEPTH_PAGE_SIZE), repeat=args.repeat
    )
    figures["depth"] = {"row": row, "deep": deep, "first": first}
    progress("depth", figures["depth"])

    figures["queries_per_request"] = {
        str(size): len(capture(api("score", size))) for size in (10, 100, 1_000)
    }
    figures["queries_per_request_by_sort"] = {
        sort: len(capture(api(sort, 1_000))) for sort in ("rank", "customers", "arr", "created")
    }

    html_client = Client()
    html_client.force_login(owner)
    table_url = f"/w/{WORKSPACE_SLUG}/backlog/?sort=score"

    def table() -> bytes:
        response = html_client.get(table_url)
        assert response.status_code == 200, response.status_code
        return response.content

    # Against the API page (100 items, by score) the target names, and against the API asked
    # for the table's own 50 rows.
    html, api_page = timed_pair(table, api("score", PAGE), repeat=args.repeat)
    html_again, api_50 = timed_pair(table, api("score", TABLE_PAGE), repeat=args.repeat)
    figures["html"] = {
        "table": html,
        "api_page": api_page,
        "table_again": html_again,
        "api_same_rows": api_50,
        "queries": len(capture(table)),
        "same_rows_ratio": round(html_again["median_ms"] / api_50["median_ms"], 2),
    }
    progress("html", figures["html"])

    if not args.skip_doubling:
        figures["doubling"] = links_doubling(params, workspace.id, api(), args)
        progress("doubling", figures["doubling"])

    figures.update(
        {
            "api_ratio": figures["api"]["ratio"],
            "vs_naive_drf_speedup": round(
                figures["naive_drf"]["median_ms"] / figures["naive_drf"]["ours"]["median_ms"], 2
            ),
            "sort_ratio": max(figures["sort"]["score_ratio"], figures["sort"]["customers_ratio"]),
            "depth_ratio": round(deep["median_ms"] / first["median_ms"], 2),
            "links_doubling_ratio": figures.get("doubling", {}).get("ratio"),
            "html_vs_api_ratio": round(html["median_ms"] / api_page["median_ms"], 2),
            "html_vs_api_same_rows_ratio": figures["html"]["same_rows_ratio"],
            "targets": {
                "api_ratio": 1.5,
                "vs_naive_drf_speedup": 3,
                "sort_ratio": 1.2,
                "depth_ratio": 1.25,
                "links_doubling_ratio": 1.1,
                "html_vs_api_ratio": 2,
            },
        }
    )
    print(json.dumps(figures, default=str))


def deep_cursor(client: Any, base: str, row: int) -> str:
    """The API's own cursor after `row` rows of the score sort."""
    cursor, seen = "", 0
    while seen < row:
        size = min(1_000, row - seen)
        url = f"{base}?sort=score&page_size={size}&fields=title" + (
            f"&cursor={cursor}" if cursor else ""
        )
        page = client.get(url).json()
        seen += len(page["results"])
        cursor = page["next"].split("cursor=")[1].split("&")[0]
    return cursor


def links_doubling(
    params: dict[str, Any], workspace_id: int, page: Callable[[], bytes], args: Any
) -> dict[str, Any]:
    """The list page before and after as many links again are added (removed afterwards)."""
    import psycopg

    # Both sides warmed alike: 2,000,000 new rows push the page's tables out of PostgreSQL's
    # shared buffers, and a page read from the OS cache once measures the insert, not the page.
    for _ in range(WARM_CALLS):
        page()
    before = timed_pair(page, page, repeat=args.repeat)[0]
    with psycopg.connect(**params, autocommit=True) as conn:
        cur = conn.cursor()
        _numbered(cur, workspace_id)
        warm = _warm_links(args.items, args.links)
        started = time.perf_counter()
        cur.execute(_links_sql(extra=True), {"ws": workspace_id, "warm": warm, "note": "extra"})
        recount_demand(cur, workspace_id)
        links = cur.execute(
            "SELECT count(*) FROM backlog_itemevidence WHERE workspace_id = %s", [workspace_id]
        ).fetchone()[0]
        added_s = round(time.perf_counter() - started, 1)
        try:
            for _ in range(WARM_CALLS):
                page()
            after = timed_pair(page, page, repeat=args.repeat)[0]
        finally:
            cur.execute(
                "DELETE FROM backlog_itemevidence WHERE workspace_id = %s AND note = 'extra'",
                [workspace_id],
            )
            recount_demand(cur, workspace_id)
            cur.execute("VACUUM ANALYZE backlog_itemevidence")
    return {
        "links": links,
        "added_s": added_s,
        "before": before,
        "after": after,
        "ratio": round(after["median_ms"] / before["median_ms"], 2),
    }


def naive_drf_view(workspace: Any, user: Any) -> Callable[[], bytes]:
    """The peer: the same endpoint as a plain DRF ListAPIView, ModelSerializer and
    PageNumberPagination, the way a first version of it is usually written."""
    from django.db.models import F, OuterRef, Subquery
    from rest_framework import generics, serializers
    from rest_framework.pagination import PageNumberPagination
    from rest_framework.test import APIRequestFactory, force_authenticate

    from backlog.models import Item, ItemScore, ScoringFormula

    primary = ScoringFormula.objects.for_workspace(workspace).get(is_primary=True)

    class ItemSerializer(serializers.ModelSerializer):
        owner = serializers.SerializerMethodField()
        area = serializers.SerializerMethodField()
        tags = serializers.SerializerMethodField()
        scores = serializers.SerializerMethodField()

        class Meta:
            model = Item
            fields = (
                "id", "title", "kind", "status", "declined_reason", "owner", "area",
                "parent_id", "effort", "rank", "version", "evidence_count", "customer_count",
                "company_count", "arr", "critical_count", "important_count",
                "demand_by_segment", "tags", "scores", "created_at", "updated_at",
            )  # fmt: skip

        def get_owner(self, item: Item) -> dict[str, Any] | None:
            return item.owner and {"id": item.owner.id, "email": item.owner.email}

        def get_area(self, item: Item) -> dict[str, Any] | None:
            return item.area and {"id": item.area.id, "name": item.area.name}

        def get_tags(self, item: Item) -> list[dict[str, Any]]:
            return [{"id": t.id, "name": t.name, "color": t.color} for t in item.tags.all()]

        def get_scores(self, item: Item) -> dict[str, float | None]:
            return {str(s.formula_id): s.value for s in item.scores.all()}

    class Pagination(PageNumberPagination):
        page_size = PAGE

    class NaiveItemList(generics.ListAPIView):
        serializer_class = ItemSerializer
        pagination_class = Pagination

        def get_queryset(self) -> Any:
            score = ItemScore.objects.filter(item_id=OuterRef("id"), formula=primary)
            return (
                Item.objects.filter(workspace=workspace, merged_into__isnull=True)
                .select_related("owner", "area")
                .prefetch_related("tags", "scores")
                .annotate(score=Subquery(score.values("value")[:1]))
                .order_by(F("score").desc(nulls_last=True), "id")
            )

    view = NaiveItemList.as_view()
    factory = APIRequestFactory()

    def call() -> bytes:
        request = factory.get("/naive/items/")
        force_authenticate(request, user=user)
        response = view(request)
        response.render()
        assert response.status_code == 200, response.content[:300]
        return response.content

    return call


if __name__ == "__main__":
    main()
