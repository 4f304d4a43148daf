"""Discovery at scale: the inbox, deep pages and full-text search over 1,000,000 feedback items.

python -m bench.discovery [--rows 1000000] [--repeat 30] [--reload]

Loads (once; reused while the row count matches) a workspace of feedback through COPY, then
measures, each against its floor (the identical SQL text and parameters replayed through raw
psycopg with a client-side-binding cursor, like Django's, and the rows serialized with orjson):

- the inbox's first page filtered by status and tag, newest first, through
  `selectors.feedback_page` (and through the REST API with a token);
- the page 1,000 pages deep (row 50,000) through the keyset cursor, against the first page;
- the first page of a full-text filter for a rare (10 rows), a medium (~1 %) and a common
  (~30 %) term, through `selectors.feedback_page(filters=FeedbackFilters(query=...))`, and the
  global `selectors.search`;
- SQL statements per page for page sizes 10, 100 and 1,000.

The final line is JSON with every figure.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bench._setup import capture, django_setup, progress, raw_floor, timed_pair

WORKSPACE_SLUG = "bench-discovery"
SEED = 1_000_003
PAGE = 50
DEPTH_PAGES = 1_000
RARE, MEDIUM, COMMON = "zeppelin", "invoice", "export"
RARE_ROWS = 10
MEDIUM_SHARE, COMMON_SHARE = 0.01, 0.30
INBOX_TAG = "Reporting"  # on ~30 % of rows, so that 1,000 pages of new + tagged exist
INBOX_TAG_SHARE = 0.30
OTHER_TAGS = ["Performance", "Onboarding", "Integrations", "Pricing", "Permissions", "Mobile"]
COMPANIES, CUSTOMERS = 2_000, 50_000
SEGMENTS = ["SMB", "Mid-market", "Enterprise"]
SOURCES = ["support", "sales", "survey", "app_review", "email", "interview", "manual"]
STATUSES = ["new"] * 2 + ["triaged"] * 5 + ["archived"] * 3

# Words of product feedback. None of them stems to the three measured terms (checked at load).
SUBJECTS = [
    "board", "roadmap", "timeline", "dashboard", "search", "page", "editor", "sidebar", "filter",
    "view", "release", "backlog", "ticket", "card", "column", "sprint", "report", "chart",
    "calendar", "template", "workspace", "invite", "login", "notification", "comment",
    "attachment", "label", "milestone", "objective", "integration", "webhook", "token",
    "importer", "button", "shortcut", "table", "list", "panel", "widget", "summary", "digest",
    "schedule", "upload",
]  # fmt: skip
VERBS = [
    "loads", "freezes", "crashes", "lags", "hangs", "breaks", "flickers", "resets", "disappears",
    "duplicates", "stalls", "jumps", "shifts", "loses", "hides", "ignores", "truncates",
    "rejects", "confuses", "slows", "blocks", "misses",
]  # fmt: skip
CONTEXTS = [
    "after the update", "on large boards", "in Safari", "on Windows laptops", "for new members",
    "during planning", "when I drag cards", "with many filters", "on the mobile web",
    "every Monday morning", "for our contractors", "in dark mode", "when two people edit",
    "after a reload", "with slow wifi",
]  # fmt: skip
ASKS = [
    "Please fix this soon", "It slows our team down", "We need a workaround",
    "Our managers noticed it too", "This blocks the rollout", "Happy to share a recording",
    "It happened again today", "Could you look into it?", "The old version was faster",
    "We love the product otherwise",
]  # fmt: skip


def _tail_words(count: int) -> list[str]:
    """Made-up team, product and place names: the long tail of rare words real feedback has.

    Without one, every lexeme is frequent, PostgreSQL's statistics put the rarest at ~0.5 % of
    rows, and a rare term is planned as if it matched 5,000 rows: a full index scan.
    """
    rng = random.Random(SEED + 1)  # noqa: S311 - benchmark data: it must repeat, not be secret.
    onsets = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "br", "tr", "st"]
    vowels = ["a", "e", "i", "o", "u", "ai", "ou"]
    words: set[str] = set()
    while len(words) < count:
        syllables = rng.randint(2, 3)
        words.add("".join(rng.choice(onsets) + rng.choice(vowels) for _ in range(syllables)))
    return sorted(words)


TAIL = _tail_words(20_000)
# Zipf-like: the k-th tail word is used about 1/k as often as the first.
TAIL_WEIGHTS = list(itertools.accumulate(1 / (k + 1) for k in range(len(TAIL))))


def _sentence(rng: random.Random) -> str:
    ask = rng.choice(ASKS)
    return (
        f"The {rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(CONTEXTS)}. "
        f"{ask}{'' if ask.endswith('?') else '.'}"
    )


def _feedback_text(rng: random.Random, index: int, rare_rows: set[int]) -> str:
    text = _sentence(rng)
    if rng.random() < 0.5:
        text += " " + _sentence(rng)
    if rng.random() < COMMON_SHARE:
        text += f" We also need to {COMMON} the {rng.choice(SUBJECTS)} to a spreadsheet."
    if rng.random() < MEDIUM_SHARE:
        text += f" The {MEDIUM} totals look wrong."
    if rng.random() < 0.7:
        text += f" Ref {rng.randint(100_000, 999_999)}."
    if rng.random() < 0.6:
        name = rng.choices(TAIL, cum_weights=TAIL_WEIGHTS)[0].capitalize()
        text += f" The {name} team saw it first."
    if index in rare_rows:
        text += f" Our team calls this the {RARE} problem."
    return text


def _copy(cursor: Any, table: str, columns: list[str], rows: Any, chunk: int = 20_000) -> None:
    """COPY rows (tuples of str/None, no tabs, newlines or backslashes) in text format."""
    names = ", ".join(f'"{c}"' for c in columns)
    with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        buffer = io.StringIO()
        for count, row in enumerate(rows, start=1):
            buffer.write("\t".join("\\N" if v is None else v for v in row))
            buffer.write("\n")
            if count % chunk == 0:
                copy.write(buffer.getvalue())
                buffer = io.StringIO()
        copy.write(buffer.getvalue())


def _secondary_indexes(cursor: Any, table: str) -> list[tuple[str, str]]:
    return cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s "
        "AND indexname NOT LIKE '%%_pkey'",
        [table],
    ).fetchall()


def load(raw_url: dict[str, Any], workspace_id: int, rows: int) -> dict[str, Any]:
    """Fill the bench workspace through COPY, with secondary indexes rebuilt afterwards."""
    import psycopg

    started = time.perf_counter()
    rng = random.Random(SEED)  # noqa: S311 - benchmark data: it must repeat, not be secret.
    now = datetime.now(tz=UTC).replace(microsecond=0)
    stamp = now.isoformat()
    ws = str(workspace_id)
    with psycopg.connect(**raw_url, autocommit=True) as conn:
        cur = conn.cursor()
        stems = cur.execute(
            "SELECT word FROM unnest(%s::text[]) AS word "
            "WHERE to_tsvector('english', word) @@ to_tsquery('english', %s)",
            [
                [*SUBJECTS, *VERBS, *" ".join(CONTEXTS + ASKS).split(), *TAIL, "spreadsheet"],
                f"{RARE} | {MEDIUM} | {COMMON}",
            ],
        ).fetchall()
        assert not stems, f"vocabulary words match a measured term: {stems}"
        # The bench database is dedicated; only this workspace lives in the discovery tables.
        cur.execute(
            "TRUNCATE discovery_tagging, discovery_evidence, discovery_highlight, "
            "discovery_feedback, discovery_tag, discovery_customer, discovery_company CASCADE"
        )
        cur.execute("SET maintenance_work_mem = '1GB'")
        cur.execute("SET synchronous_commit = off")
        # Foreign keys are consistent by construction; skip their per-row triggers while loading.
        cur.execute("SET session_replication_role = replica")

        _copy(
            cur,
            "discovery_company",
            [
                "workspace_id",
                "created_at",
                "updated_at",
                "name",
                "domain",
                "arr",
                "plan",
                "segment",
                "attributes",
            ],  # fmt: skip
            (
                (
                    ws,
                    stamp,
                    stamp,
                    f"Company {i}",
                    f"company{i}.example",
                    str(rng.randint(5, 2_000) * 1_000),
                    "Business",
                    rng.choice(SEGMENTS),
                    "{}",
                )
                for i in range(COMPANIES)
            ),  # fmt: skip
        )
        company_ids = [
            r[0] for r in cur.execute("SELECT id FROM discovery_company ORDER BY id").fetchall()
        ]
        customer_company = [rng.choice(company_ids) for _ in range(CUSTOMERS)]
        _copy(
            cur,
            "discovery_customer",
            [
                "workspace_id",
                "created_at",
                "updated_at",
                "name",
                "email",
                "company_id",
                "attributes",
            ],  # fmt: skip
            (
                (
                    ws,
                    stamp,
                    stamp,
                    f"Customer {i}",
                    f"customer{i}@bench.example",
                    str(customer_company[i]),
                    "{}",
                )
                for i in range(CUSTOMERS)
            ),  # fmt: skip
        )
        customer_ids = [
            r[0] for r in cur.execute("SELECT id FROM discovery_customer ORDER BY id").fetchall()
        ]
        company_of = dict(zip(customer_ids, customer_company, strict=True))
        tag_names = [INBOX_TAG, *OTHER_TAGS]
        _copy(
            cur,
            "discovery_tag",
            ["workspace_id", "created_at", "updated_at", "name", "group", "color", "description"],
            ((ws, stamp, stamp, name, "Theme", "#3b5bdb", "") for name in tag_names),
        )
        tag_ids = dict(cur.execute("SELECT name, id FROM discovery_tag ORDER BY id").fetchall())

        feedback_indexes = _secondary_indexes(cur, "discovery_feedback")
        tagging_indexes = _secondary_indexes(cur, "discovery_tagging")
        for name, _ in feedback_indexes + tagging_indexes:
            cur.execute(f'DROP INDEX "{name}"')

        rare_rows = set(rng.sample(range(rows), RARE_ROWS))
        span = int(timedelta(days=730).total_seconds())
        tags_of: list[tuple[int, ...]] = []

        def feedback_rows() -> Any:
            for i in range(rows):
                customer = rng.choice(customer_ids) if rng.random() < 0.8 else None
                received = now - timedelta(seconds=rng.randrange(span))
                tags: tuple[int, ...] = ()
                if rng.random() < INBOX_TAG_SHARE:
                    tags = (tag_ids[INBOX_TAG],)
                if rng.random() < 0.2:
                    tags += (tag_ids[rng.choice(OTHER_TAGS)],)
                tags_of.append(tags)
                yield (
                    ws,
                    stamp,
                    stamp,
                    _feedback_text(rng, i, rare_rows),
                    rng.choice(SOURCES),
                    f"ext-{i}",
                    "",
                    received.isoformat(),
                    rng.choice(STATUSES),
                    None if customer is None else str(customer),
                    None if customer is None else str(company_of[customer]),
                )

        _copy(
            cur,
            "discovery_feedback",
            [
                "workspace_id",
                "created_at",
                "updated_at",
                "text",
                "source",
                "external_id",
                "external_url",
                "received_at",
                "status",
                "customer_id",
                "company_id",
            ],  # fmt: skip
            feedback_rows(),
        )
        loaded_at = time.perf_counter()
        feedback_ids = [
            r[0] for r in cur.execute("SELECT id FROM discovery_feedback ORDER BY id").fetchall()
        ]
        _copy(
            cur,
            "discovery_tagging",
            ["workspace_id", "created_at", "updated_at", "origin", "feedback_id", "tag_id"],
            (
                (ws, stamp, stamp, "person", str(feedback_id), str(tag_id))
                for feedback_id, tags in zip(feedback_ids, tags_of, strict=True)
                for tag_id in tags
            ),
        )
        tagged_at = time.perf_counter()
        for _, definition in feedback_indexes + tagging_indexes:
            cur.execute(definition)
        indexed_at = time.perf_counter()
        cur.execute("SET session_replication_role = DEFAULT")
        for table in ("discovery_company", "discovery_customer", "discovery_tag",
                      "discovery_feedback", "discovery_tagging"):  # fmt: skip
            cur.execute(f"VACUUM ANALYZE {table}")
    return {
        "rows": rows,
        "taggings": sum(len(t) for t in tags_of),
        "copy_feedback_s": round(loaded_at - started, 1),
        "copy_tagging_s": round(tagged_at - loaded_at, 1),
        "index_s": round(indexed_at - tagged_at, 1),
        "total_s": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--reload", action="store_true", help="load again even if present")
    args = parser.parse_args()
    django_setup()

    import orjson
    import psycopg
    from django.db import connection
    from django.test import Client

    from discovery import selectors
    from discovery.models import Feedback, Tag
    from discovery.selectors import FeedbackFilters
    from pmhub.accounts.models import User
    from pmhub.accounts.services import api_token_create
    from pmhub.workspaces.models import Membership, Workspace
    from pmhub.workspaces.roles import Role

    workspace, _ = Workspace.objects.get_or_create(
        slug=WORKSPACE_SLUG, defaults={"name": "Bench discovery"}
    )
    params = {k: v for k, v in connection.get_connection_params().items() if k != "cursor_factory"}
    present = Feedback.objects.for_workspace(workspace).count()
    loading: dict[str, Any] = {"reused": True, "rows": present}
    if args.reload or present != args.rows:
        loading = {"reused": False, **load(params, workspace.id, args.rows)}
    tag = Tag.objects.for_workspace(workspace).get(name=INBOX_TAG)

    owner, _ = User.objects.get_or_create(email="owner@bench-discovery.test")
    Membership.objects.for_workspace(workspace).get_or_create(
        workspace=workspace, user=owner, defaults={"role": Role.ADMIN}
    )

    # The floor replays Django's own statements: client-side binding like Django's psycopg
    # backend, so PostgreSQL sees the same literal SQL and plans it the same way.
    raw = psycopg.connect(**params, autocommit=True, cursor_factory=psycopg.ClientCursor)

    def page_json(filters: FeedbackFilters, after: Any = None, size: int = PAGE) -> bytes:
        """The inbox page as the views use it: selector rows made JSON-ready."""
        rows, next_key = selectors.feedback_page(
            workspace=workspace, filters=filters, after=after, size=size
        )
        return orjson.dumps(
            {
                "results": [
                    {
                        "id": f.id,
                        "text": f.text,
                        "source": f.source,
                        "status": f.status,
                        "received_at": f.received_at,
                        "customer": f.customer and {"id": f.customer.id, "name": f.customer.name},
                        "company": f.company
                        and {
                            "id": f.company.id,
                            "name": f.company.name,
                            "segment": f.company.segment,
                        },
                        "tags": [t.name for t in f.tags],
                    }
                    for f in rows
                ],
                "next": next_key and [next_key[0], next_key[1]],
            },
            option=orjson.OPT_UTC_Z,
        )

    def measure(fn: Callable[[], object], repeat: int = args.repeat) -> dict[str, Any]:
        statements = capture(fn)
        result, floor = timed_pair(fn, raw_floor(raw, statements), repeat=repeat)
        return {
            **result,
            "floor": floor,
            "ratio": round(result["median_ms"] / floor["median_ms"], 2),
            "queries": len(statements),
        }

    figures: dict[str, Any] = {"bench": "discovery", "load": loading}
    progress("load", loading)

    inbox = FeedbackFilters(status="new", tag_id=tag.id)
    figures["inbox"] = measure(lambda: page_json(inbox))
    progress("inbox", figures["inbox"])

    key_sql = (
        "SELECT received_at, id FROM discovery_feedback f WHERE workspace_id = %s "
        "AND status = 'new' AND EXISTS (SELECT 1 FROM discovery_tagging t WHERE "
        "t.workspace_id = f.workspace_id AND t.tag_id = %s AND t.feedback_id = f.id) "
        "ORDER BY received_at DESC, id DESC OFFSET %s LIMIT 1"
    )
    depth_row = PAGE * DEPTH_PAGES - 1
    after = raw.execute(key_sql, [workspace.id, tag.id, depth_row]).fetchone()
    if after is None:
        raise SystemExit(f"fewer than {depth_row + 1} rows match the inbox filter")
    figures["depth"] = measure(lambda: page_json(inbox, after=(after[0], after[1])))
    figures["depth"]["page"] = DEPTH_PAGES
    # The target compares the deep page with the first one: sampled alternately, like floors.
    deep, first = timed_pair(
        lambda: page_json(inbox, after=(after[0], after[1])),
        lambda: page_json(inbox),
        repeat=args.repeat,
    )
    figures["depth"]["paired"] = {"depth": deep, "first_page": first}
    progress("depth", figures["depth"])

    for name, term in (("rare", RARE), ("medium", MEDIUM), ("common", COMMON)):
        filters = FeedbackFilters(query=term)
        figures[f"search_{name}"] = measure(lambda filters=filters: page_json(filters))
        figures[f"search_{name}"]["matches"] = raw.execute(
            "SELECT count(*) FROM discovery_feedback WHERE workspace_id = %s AND "
            "search_vector @@ websearch_to_tsquery('english', %s)",
            [workspace.id, term],
        ).fetchone()[0]
        try:
            figures[f"global_search_{name}"] = measure(
                lambda term=term: orjson.dumps(
                    [
                        {"kind": h.kind, "id": h.id, "snippet": str(h.snippet)}
                        for h in selectors.search(workspace=workspace, query=term)
                    ]
                ),
                repeat=max(5, args.repeat // 3),
            )
        except Exception as exc:  # noqa: BLE001 - a broken search is a figure, not a crash
            figures[f"global_search_{name}"] = {"error": f"{type(exc).__name__}: {exc}"}
        progress(f"search {name}", figures[f"search_{name}"])

    figures["queries_per_page"] = {
        str(size): len(capture(lambda size=size: page_json(inbox, size=size)))
        for size in (10, 100, 1_000)
    }

    _token, secret = api_token_create(
        workspace=workspace, user=owner, name="bench discovery", access="read"
    )
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    base = f"/api/v1/workspaces/{WORKSPACE_SLUG}/feedback/?status=new&tag={tag.id}"

    def api(page_size: int = PAGE) -> bytes:
        response = client.get(f"{base}&page_size={page_size}")
        assert response.status_code == 200, response.content[:500]
        return response.content

    if client.get(base).status_code == 200:
        api()  # the first request records the token's last use; measure the steady state
        figures["api_inbox"] = measure(api)
        figures["api_queries_per_page"] = {
            str(size): len(capture(lambda size=size: api(size))) for size in (10, 100, 1_000)
        }

    figures.update(
        {
            "inbox_ratio": figures["inbox"]["ratio"],
            "depth_ratio": round(deep["median_ms"] / first["median_ms"], 2),
            "search_rare_ratio": figures["search_rare"]["ratio"],
            "search_medium_ratio": figures["search_medium"]["ratio"],
            "search_common_ratio": figures["search_common"]["ratio"],
            "api_inbox_ratio": figures.get("api_inbox", {}).get("ratio"),
            "targets": {"inbox_ratio": 1.5, "depth_ratio": 1.25, "search_rare_ratio": 1.3},
        }
    )
    print(json.dumps(figures, default=str))


if __name__ == "__main__":
    main()
