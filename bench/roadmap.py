"""A roadmap over 5,000 items.

python -m bench.roadmap [--items 5000] [--repeat 30] [--reload]

Loads (once; reused while the count matches) a workspace with 5,000 backlog items, each scored
and with demand figures, all placed on a now/next/later board (Now, Next, Later), half of them
with dates and a release. Then measures, in one run, each against its floor (the same rows
fetched by raw psycopg, Django's own statements replayed with a client-side-binding cursor, and
encoded with orjson):

- the board's HTML page (each column's first page of cards, counts of all), against its data
  statements (placements and columns: `board_ratio`) and against every statement the page
  runs (`board_ratio_all_statements`);
- the board's API payload: the placements list at its largest page (1,000 items) and the whole
  board walked page by page;
- SQL statements per request for the board page and API page sizes 10, 100 and 1,000;
- a move through the API: its statements, its transaction (BEGIN to COMMIT) and its time.

The final line is JSON with every figure, including `board_ratio` and `queries_per_request`.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

from bench._setup import capture, django_setup, progress, raw_floor, timed_pair

WORKSPACE_SLUG = "bench-roadmap"
AREAS = ["Reporting", "Integrations", "Mobile", "Editor", "Admin", "Billing"]


def load(workspace: Any, owner: Any, items: int) -> dict[str, Any]:
    """Items (set-based SQL), then the board, releases, dates and scores through the services'
    tables in bulk."""
    import datetime

    import psycopg
    from django.db import connection

    from backlog import scoring
    from backlog.models import Item, ProductArea
    from backlog.ranking import keys_between
    from roadmap import services
    from roadmap.models import ItemSchedule, Placement, Release, Roadmap

    started = time.perf_counter()
    Roadmap.objects.for_workspace(workspace).delete()
    Release.objects.for_workspace(workspace).delete()
    params = {k: v for k, v in connection.get_connection_params().items() if k != "cursor_factory"}
    with psycopg.connect(**params, autocommit=True) as conn:
        for table in ("roadmap_itemschedule", "backlog_itemscore", "backlog_iteminputs"):
            conn.execute(f"DELETE FROM {table} WHERE workspace_id = %s", [workspace.id])  # noqa: S608
        conn.execute("DELETE FROM backlog_item WHERE workspace_id = %s", [workspace.id])
        conn.execute("DELETE FROM backlog_productarea WHERE workspace_id = %s", [workspace.id])
        conn.execute(
            "INSERT INTO backlog_productarea (workspace_id, name, description, created_at,"
            " updated_at) SELECT %s, name, '', now(), now() FROM unnest(%s::text[]) AS name",
            [workspace.id, AREAS],
        )
        conn.execute(
            "INSERT INTO backlog_item (workspace_id, title, description, kind, status,"
            " declined_reason, effort, rank, version, demand_by_segment, area_id, owner_id,"
            " evidence_count, customer_count, company_count, arr, critical_count,"
            " important_count, created_at, updated_at)"
            " SELECT %(ws)s, 'Roadmap item #' || g || ' <b>with</b> a longer title', '', 'feature',"
            " (ARRAY['planned', 'in_progress', 'considering', 'shipped'])[1 + g %% 4], '',"
            " 1 + g %% 8, r.rank, 1, '{}', a.id, %(owner)s, g %% 40, g %% 25, g %% 12,"
            " (g * 7919 %% 900000), g %% 3, g %% 5, now(), now()"
            " FROM unnest(%(ranks)s::text[]) WITH ORDINALITY AS r(rank, g)"
            " JOIN (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM backlog_productarea"
            "  WHERE workspace_id = %(ws)s) AS a ON a.rn = 1 + g %% %(areas)s",
            {
                "ws": workspace.id,
                "ranks": keys_between(None, None, items),
                "areas": len(AREAS),
                "owner": owner.id,
            },
        )
    scoring.scoring_defaults_ensure(workspace=workspace)
    ids = list(Item.objects.for_workspace(workspace).order_by("rank").values_list("id", flat=True))
    scoring.item_scores_recompute(
        workspace=workspace, item_ids=ids, cause="bench", record_history=False
    )
    roadmap = services.roadmap_create(
        workspace=workspace, actor=owner, name="Product roadmap", group_by="area"
    )
    columns = list(roadmap.columns.order_by("position"))
    ranks = keys_between(None, None, len(ids))
    Placement.objects.bulk_create(
        Placement(
            workspace=workspace,
            roadmap=roadmap,
            column=columns[n % 3],
            item_id=item_id,
            rank=ranks[n],
        )
        for n, item_id in enumerate(ids)
    )
    today = datetime.datetime.now(tz=datetime.UTC).date()
    releases = [
        Release.objects.create(
            workspace=workspace, name=f"R{n}", target_date=today + datetime.timedelta(days=30 * n)
        )
        for n in range(1, 7)
    ]
    ItemSchedule.objects.bulk_create(
        ItemSchedule(
            workspace=workspace,
            item_id=item_id,
            release=releases[n % len(releases)],
            start_date=today + datetime.timedelta(days=n % 90),
            end_date=today + datetime.timedelta(days=n % 90 + 14),
        )
        for n, item_id in enumerate(ids)
        if n % 2 == 0
    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    del ProductArea  # the areas were written by SQL above
    return {"items": len(ids), "load_s": round(time.perf_counter() - started, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--reload", action="store_true")
    args = parser.parse_args()
    django_setup()

    import psycopg
    from django.db import connection
    from django.test import Client

    from pmhub.accounts.models import User
    from pmhub.accounts.services import api_token_create
    from pmhub.workspaces.models import Membership, Workspace
    from pmhub.workspaces.roles import Role
    from roadmap.models import Placement, Roadmap

    workspace, _ = Workspace.objects.get_or_create(
        slug=WORKSPACE_SLUG, defaults={"name": "Bench roadmap"}
    )
    owner, _ = User.objects.get_or_create(email="owner@bench-roadmap.test")
    Membership.objects.for_workspace(workspace).get_or_create(
        workspace=workspace, user=owner, defaults={"role": Role.ADMIN}
    )
    placed = Placement.objects.for_workspace(workspace).count()
    loading: dict[str, Any] = {"reused": True, "items": placed}
    if args.reload or placed != args.items:
        loading = {"reused": False, **load(workspace, owner, args.items)}
    progress("load", loading)
    roadmap = Roadmap.objects.for_workspace(workspace).get(name="Product roadmap")

    import pmhub.wsgi  # noqa: F401 - the process as gunicorn runs it (gc.freeze after startup)

    params = {k: v for k, v in connection.get_connection_params().items() if k != "cursor_factory"}
    raw = psycopg.connect(**params, autocommit=True, cursor_factory=psycopg.ClientCursor)
    _token, secret = api_token_create(
        workspace=workspace, user=owner, name="bench roadmap", access="write"
    )
    api_client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    html_client = Client()
    html_client.force_login(owner)
    board_url = f"/w/{WORKSPACE_SLUG}/roadmap/roadmaps/{roadmap.id}/"
    api_url = f"/api/v1/workspaces/{WORKSPACE_SLUG}/roadmaps/{roadmap.id}/placements/"

    def board() -> bytes:
        response = html_client.get(board_url)
        assert response.status_code == 200, response.status_code
        return response.content

    def api(size: int = 1_000, cursor: str = "") -> Callable[[], bytes]:
        def call() -> bytes:
            url = f"{api_url}?page_size={size}" + (f"&cursor={cursor}" if cursor else "")
            response = api_client.get(url)
            assert response.status_code == 200, response.content[:300]
            return response.content

        return call

    def measure(fn: Callable[[], object], tables: tuple[str, ...]) -> dict[str, Any]:
        statements = capture(fn)
        data = [(sql, p) for sql, p in statements if any(t in sql for t in tables)]
        result, floor = timed_pair(fn, raw_floor(raw, data), repeat=args.repeat)
        return {
            **result,
            "floor": floor,
            "ratio": round(result["median_ms"] / floor["median_ms"], 2),
            "queries": len(statements),
            "data_queries": len(data),
        }

    for _ in range(20):  # warm: caches, the connection, the CPU's clock
        board()
        api()()
    figures: dict[str, Any] = {"bench": "roadmap", "load": loading}
    # The floor replays the statements that read the board (placements and their items).
    figures["board"] = measure(board, ("roadmap_placement", "roadmap_roadmapcolumn"))
    progress("board", figures["board"])
    # And against every statement the page runs (session, user, membership, the filters'
    # choices, the layout's reads): what the whole page reads, fetched raw.
    figures["board_all_statements"] = measure(board, ("",))
    progress("board_all_statements", figures["board_all_statements"])
    figures["api"] = measure(api(), ("roadmap_placement",))
    progress("api", figures["api"])

    def walk() -> int:
        pages, url = 0, f"{api_url}?page_size=1000"
        while url:
            pages += 1
            url = api_client.get(url).json()["next"]
        return pages

    started = time.perf_counter()
    pages = walk()
    figures["api_walk"] = {"pages": pages, "ms": round((time.perf_counter() - started) * 1000, 1)}

    figures["queries_per_request"] = {
        "board": len(capture(board)),
        **{str(size): len(capture(api(size))) for size in (10, 100, 1_000)},
    }
    figures["move"] = move_figures(api_client, workspace, roadmap, args.repeat)
    progress("move", figures["move"])
    figures.update(
        {
            "board_ratio": figures["board"]["ratio"],
            "board_ratio_all_statements": figures["board_all_statements"]["ratio"],
            "api_ratio": figures["api"]["ratio"],
            "targets": {"board_ratio": 2, "api_ratio": 2},
        }
    )
    print(json.dumps(figures, default=str))


def move_figures(client: Any, workspace: Any, roadmap: Any, repeat: int) -> dict[str, Any]:
    """A card moved back and forth between Now and Next through the API: statements, and the
    time from BEGIN to COMMIT inside the request."""
    from django.db import connection

    from roadmap.models import Placement

    columns = list(roadmap.columns.order_by("position"))
    placement = (
        Placement.objects.for_workspace(workspace)
        .filter(column=columns[1])
        .order_by("rank")
        .first()
    )
    url = (
        f"/api/v1/workspaces/{workspace.slug}/roadmaps/{roadmap.id}/placements/{placement.item_id}/"
    )
    spans: list[float] = []
    statements: list[int] = []

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        result = execute(sql, params, many, context)
        spans.append((time.perf_counter() - started) * 1000)
        return result

    totals, in_transaction = [], []
    for n in range(repeat):
        target = columns[n % 2].id
        spans.clear()
        captured = capture(
            lambda target=target: client.patch(
                url, {"column_id": target}, content_type="application/json"
            )
        )
        statements.append(len(captured))
        started = time.perf_counter()
        with connection.execute_wrapper(wrapper):
            response = client.patch(
                url, {"column_id": columns[(n + 1) % 2].id}, content_type="application/json"
            )
        totals.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.content[:300]
        in_transaction.append(sum(spans))
    # Back where it was, so that runs do not drift cards between columns.
    client.patch(url, {"column_id": columns[1].id}, content_type="application/json")
    totals.sort()
    in_transaction.sort()
    return {
        "statements": max(statements),
        "request_median_ms": round(totals[len(totals) // 2], 3),
        "sql_median_ms": round(in_transaction[len(in_transaction) // 2], 3),
    }


if __name__ == "__main__":
    main()
