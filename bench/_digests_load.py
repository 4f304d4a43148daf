"""The digests benchmark's data: one workspace with N stakeholders, each following a distinct
scope (the companies they own, one product area, one item), and a week of changes across the
workspace so that each digest has a handful of entries.

Written with COPY on a raw connection (10,000 stakeholders in seconds); the rows are those the
apps' services write (a ship's and a move's RoadmapEvent, an insight validated with its
evidence, a document approved with its DocumentEvent, key-result values), dated inside the
window the first digests cover.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable, Sequence
from typing import Any

AREAS = 100
ITEMS_PER_AREA = 20
COMPANIES_PER_STAKEHOLDER = 2  # an account executive owns a few accounts
ASKS_PER_COMPANY = 2
# Item g sits in area g % AREAS, as its (g // AREAS)th item: one in ten of each area's items
# shipped during the window, and one in ten moved back, with its reason.
CHANGED_EVERY = 10


def _shipped(g: int) -> bool:
    return (g // AREAS) % CHANGED_EVERY == 0


def _moved(g: int) -> bool:
    return (g // AREAS) % CHANGED_EVERY == 3


def sizes(recipients: int) -> dict[str, int]:
    """How much of everything for `recipients` stakeholders."""
    items = AREAS * ITEMS_PER_AREA
    return {
        "stakeholders": recipients,
        "areas": AREAS,
        "items": items,
        "companies": max(10, recipients // 5),
        "insights": items // 20,
        "documents": items // 40,
        "key_results": items // 40,
    }


def _copy(
    conn: Any, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], workspace_id: int
) -> list[int]:
    """COPY `rows` into `table`; the new rows' ids, in the rows' order (COPY takes them from
    the identity sequence row by row)."""
    start = conn.execute(
        f"SELECT coalesce(max(id), 0) FROM {table} WHERE workspace_id = %s",  # noqa: S608
        [workspace_id],
    ).fetchone()[0]
    with (
        conn.cursor() as cursor,
        cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)
    return [
        row[0]
        for row in conn.execute(
            f"SELECT id FROM {table} WHERE workspace_id = %s AND id > %s ORDER BY id",  # noqa: S608
            [workspace_id, start],
        )
    ]


def load(
    conn: Any, *, workspace_id: int, recipients: int, now: datetime.datetime
) -> dict[str, Any]:
    """Write the benchmark's rows for `workspace_id` (expected empty) through `conn` (psycopg,
    autocommit off: one transaction). Changes are dated in the three days before `now`;
    everything else a month before."""
    n = sizes(recipients)
    old = now - datetime.timedelta(days=30)
    ws = workspace_id

    def recent(k: int) -> datetime.datetime:
        # Spread over (now - 3 days, now - 1 hour]: inside any first digest's week.
        return now - datetime.timedelta(hours=1 + (k * 7919) % 71)

    areas = _copy(
        conn, "backlog_productarea", ["workspace_id", "name", "description", "created_at",
                                      "updated_at"],
        ((ws, f"Area {a}", "", old, old) for a in range(n["areas"])), ws,
    )  # fmt: skip
    item_rows = []
    for g in range(n["items"]):
        shipped = _shipped(g)
        item_rows.append((
            ws, f"Bench item {g}: exports keep <every> field & more", "", "feature",
            "shipped" if shipped else "planned", "", 3, f"r{g:06d}", 1, "{}",
            areas[g % n["areas"]], old, old,
        ))  # fmt: skip
    items = _copy(
        conn, "backlog_item", ["workspace_id", "title", "description", "kind", "status",
                               "declined_reason", "effort", "rank", "version",
                               "demand_by_segment", "area_id", "created_at", "updated_at"],
        item_rows, ws,
    )  # fmt: skip
    companies = _copy(
        conn, "discovery_company", ["workspace_id", "name", "domain", "arr", "plan", "segment",
                                    "attributes", "created_at", "updated_at"],
        ((ws, f"Company {c}", f"company-{c}.test", 10_000 + c * 37, "", "enterprise", "{}",
          old, old) for c in range(n["companies"])), ws,
    )  # fmt: skip
    customers = _copy(
        conn, "discovery_customer", ["workspace_id", "name", "email", "company_id", "attributes",
                                     "created_at", "updated_at"],
        ((ws, f"Customer {c}", f"buyer@company-{c}.test", company, "{}", old, old)
         for c, company in enumerate(companies)), ws,
    )  # fmt: skip
    # Company c asks for items c, 13c + 5 and 29c + 11: about one ask in ten is for a shipped one.
    asks = {
        (customers[c], items[(c * factor + offset) % n["items"]])
        for c in range(n["companies"])
        for factor, offset in ((1, 0), (13, 5), (29, 11))[:ASKS_PER_COMPANY]
    }
    _copy(
        conn, "backlog_itemcustomer", ["workspace_id", "item_id", "customer_id", "importance",
                                       "created_at", "updated_at"],
        ((ws, item, customer, "important", old, old) for customer, item in sorted(asks)), ws,
    )  # fmt: skip
    conn.execute(
        "UPDATE backlog_item AS i SET customer_count = a.n, company_count = a.n,"
        " arr = a.n * 25000 FROM (SELECT item_id, count(*) AS n FROM backlog_itemcustomer"
        " WHERE workspace_id = %s GROUP BY item_id) AS a WHERE i.id = a.item_id",
        [ws],
    )

    roadmap = _copy(
        conn, "roadmap_roadmap", ["workspace_id", "name", "description", "kind", "filters",
                                  "group_by", "scale", "version", "created_at", "updated_at"],
        [(ws, "Product roadmap", "", "now_next_later", "{}", "area", "month", 1, old, old)], ws,
    )[0]  # fmt: skip
    columns = _copy(
        conn, "roadmap_roadmapcolumn", ["workspace_id", "roadmap_id", "name", "position",
                                        "created_at", "updated_at"],
        ((ws, roadmap, name, p, old, old) for p, name in enumerate(("Now", "Next", "Later"))),
        ws,
    )  # fmt: skip
    _copy(
        conn, "roadmap_placement", ["workspace_id", "roadmap_id", "column_id", "item_id", "rank",
                                    "version", "created_at", "updated_at"],
        ((ws, roadmap, columns[2 if _moved(g) else g % 2], item, f"r{g:06d}", 1,
          old, old) for g, item in enumerate(items)), ws,
    )  # fmt: skip
    events = []
    for g, item in enumerate(items):
        if _shipped(g):
            events.append((
                ws, "shipped", None, item, json.dumps({"status": "in_progress"}),
                json.dumps({"status": "shipped"}), "", False, recent(g),
            ))  # fmt: skip
        elif _moved(g):
            events.append((
                ws, "moved", roadmap, item,
                json.dumps({"column": "Next", "column_id": columns[1]}),
                json.dumps({"column": "Later", "column_id": columns[2]}),
                f"Waiting on the **partner API** for item {g}; see the thread.", True, recent(g),
            ))  # fmt: skip
    _copy(
        conn, "roadmap_roadmapevent", ["workspace_id", "kind", "roadmap_id", "item_id", "before",
                                       "after", "reason", "is_setback", "created_at",
                                       "updated_at"],
        (row + (row[-1],) for row in events), ws,
    )  # fmt: skip

    # Insights validated in the window, each the evidence of one item (one per area).
    insights = _copy(
        conn, "discovery_insight", ["workspace_id", "title", "summary", "status", "version",
                                    "evidence_count", "customer_count", "company_count", "arr",
                                    "validated_at", "created_at", "updated_at"],
        ((ws, f"Insight {k}: teams rebuild exports by hand", "", "validated", 1, 12 + k % 9,
          5 + k % 7, 3 + k % 5, 120_000 + k * 1000, recent(k), old, recent(k))
         for k in range(n["insights"])), ws,
    )  # fmt: skip
    # Item k * 21 (and k * 41, k * 43 + 50 below) lands in area 21k % AREAS: one per area.
    insight_items = [items[(k * 21) % n["items"]] for k in range(n["insights"])]
    _copy(
        conn, "backlog_itemevidence", ["workspace_id", "item_id", "insight_id", "note",
                                       "created_at", "updated_at"],
        ((ws, item, insight, "", old, old)
         for item, insight in zip(insight_items, insights, strict=True)), ws,
    )  # fmt: skip

    # Documents approved in the window, each linked to one item.
    documents = _copy(
        conn, "docs_document", ["workspace_id", "kind", "title", "body", "status", "version",
                                "decision_status", "created_at", "updated_at"],
        ((ws, "prd", f"PRD {k}: exports", "Body.", "approved", 2, "", old, recent(k))
         for k in range(n["documents"])), ws,
    )  # fmt: skip
    _copy(
        conn, "docs_documentevent", ["workspace_id", "document_id", "kind", "on_version",
                                     "created_at", "updated_at"],
        ((ws, document, "approved", 2, recent(k), recent(k))
         for k, document in enumerate(documents)), ws,
    )  # fmt: skip
    _copy(
        conn, "docs_documentlink", ["workspace_id", "document_id", "item_id", "created_at",
                                    "updated_at"],
        ((ws, document, items[(k * 41) % n["items"]], old, old)
         for k, document in enumerate(documents)), ws,
    )  # fmt: skip

    # Key results moved in the window, each served by one item.
    objective = _copy(
        conn, "roadmap_objective", ["workspace_id", "title", "description", "period",
                                    "is_archived", "position", "created_at", "updated_at"],
        [(ws, "Exports customers trust", "", "2026 Q4", False, 0, old, old)], ws,
    )[0]  # fmt: skip
    key_results = _copy(
        conn, "roadmap_keyresult", ["workspace_id", "objective_id", "metric", "unit", "baseline",
                                    "target", "current", "current_at", "position", "created_at",
                                    "updated_at"],
        ((ws, objective, f"Export tickets per week ({k})", "tickets", 40, 10, 24, recent(k), k,
          old, old) for k in range(n["key_results"])), ws,
    )  # fmt: skip
    _copy(
        conn, "roadmap_keyresultvalue", ["workspace_id", "key_result_id", "value", "measured_at",
                                         "source", "note", "created_at", "updated_at"],
        [(ws, kr, value, when, "manual", "", when, when)
         for k, kr in enumerate(key_results)
         for value, when in ((31, old), (24, recent(k)))], ws,
    )  # fmt: skip
    _copy(
        conn, "roadmap_keyresultitem", ["workspace_id", "key_result_id", "item_id", "created_at",
                                        "updated_at"],
        ((ws, kr, items[(k * 43 + 50) % n["items"]], old, old)
         for k, kr in enumerate(key_results)), ws,
    )  # fmt: skip

    # Stakeholder i = b + r * blocks owns the companies of block b and follows area
    # (b + r) % AREAS and item 7i: distinct scopes (checked), each company owned by a few.
    blocks = max(1, n["companies"] // COMPANIES_PER_STAKEHOLDER)
    stakeholders = _copy(
        conn, "digests_stakeholder", ["workspace_id", "email", "name", "team",
                                      "follows_workspace", "cadence", "timezone", "status",
                                      "failure_count", "last_failure", "version", "created_at",
                                      "updated_at"],
        ((ws, f"stakeholder-{i}@bench.test", f"Stakeholder {i}", "Sales", False, "weekly", "",
          "active", 0, "", 1, old, old) for i in range(recipients)), ws,
    )  # fmt: skip
    follows, scopes = [], set()
    for i, stakeholder in enumerate(stakeholders):
        block, r = i % blocks, i // blocks
        area = areas[(block + r) % n["areas"]]
        item = items[(i * 7) % n["items"]]
        owned = [
            companies[(block * COMPANIES_PER_STAKEHOLDER + c) % n["companies"]]
            for c in range(COMPANIES_PER_STAKEHOLDER)
        ]
        scopes.add((area, item, *owned))
        follows.append((ws, stakeholder, area, None, None, False, old, old))
        follows.append((ws, stakeholder, None, item, None, False, old, old))
        follows.extend((ws, stakeholder, None, None, company, True, old, old) for company in owned)
    assert len(scopes) == recipients, "two stakeholders would follow the same scope"
    _copy(
        conn, "digests_follow", ["workspace_id", "stakeholder_id", "area_id", "item_id",
                                 "company_id", "owns", "created_at", "updated_at"],
        follows, ws,
    )  # fmt: skip
    return {**n, "follows": len(follows), "events": len(events)}
