"""The members list API (one page of 200) against the floor: the same rows via psycopg + orjson.

python -m bench.api_members [--members 2000] [--repeat 50]
"""

from __future__ import annotations

import argparse
import json

from bench._setup import django_setup, timed

WORKSPACE_SLUG = "bench-members"
PAGE = 200


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    django_setup()

    import orjson
    import psycopg
    from django.db import connection
    from django.test import Client

    from pmhub.accounts.models import User
    from pmhub.accounts.services import api_token_create
    from pmhub.workspaces.models import Membership, Workspace
    from pmhub.workspaces.roles import Role

    workspace, created = Workspace.objects.get_or_create(
        slug=WORKSPACE_SLUG, defaults={"name": "Bench"}
    )
    if created or Membership.objects.for_workspace(workspace).count() < args.members:
        Membership.objects.for_workspace(workspace).delete()
        User.objects.filter(email__endswith="@bench.test").delete()
        users = User.objects.bulk_create(
            User(email=f"user{i}@bench.test", name=f"User {i}") for i in range(args.members)
        )
        Membership.objects.bulk_create(
            Membership(workspace=workspace, user=user, role=Role.ADMIN if i == 0 else Role.VIEWER)
            for i, user in enumerate(users)
        )
    owner = Membership.objects.for_workspace(workspace).filter(role=Role.ADMIN).first().user
    _token, raw = api_token_create(workspace=workspace, user=owner, name="bench", access="read")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    url = f"/api/v1/workspaces/{WORKSPACE_SLUG}/members/?page_size={PAGE}"

    def api() -> object:
        response = client.get(url)
        assert response.status_code == 200, response.content
        return response.content

    dsn = connection.get_connection_params()
    raw_conn = psycopg.connect(**{k: v for k, v in dsn.items() if k != "cursor_factory"})
    sql = (
        "SELECT m.id, m.user_id, u.email, u.name, m.role, m.created_at "
        "FROM workspaces_membership m JOIN accounts_user u ON u.id = m.user_id "
        "WHERE m.workspace_id = %s ORDER BY m.id LIMIT %s"
    )
    columns = ["id", "user_id", "email", "name", "role", "joined_at"]

    def floor() -> object:
        rows = raw_conn.execute(sql, [workspace.id, PAGE + 1]).fetchall()
        return orjson.dumps(
            {"results": [dict(zip(columns, row, strict=True)) for row in rows[:PAGE]]}
        )

    # Counted with a wrapper: Django resets connection.queries at every request start.
    queries: list[str] = []
    with connection.execute_wrapper(
        lambda execute, sql, *a: queries.append(sql) or execute(sql, *a)
    ):
        api()
    api_time = timed(api, repeat=args.repeat)
    floor_time = timed(floor, repeat=args.repeat)
    print(
        json.dumps(
            {
                "bench": "api_members",
                "members": args.members,
                "page_size": PAGE,
                "api": api_time,
                "floor_psycopg_orjson": floor_time,
                "ratio_median": round(api_time["median_ms"] / floor_time["median_ms"], 2),
                "queries_per_request": len(queries),
            }
        )
    )


if __name__ == "__main__":
    main()
