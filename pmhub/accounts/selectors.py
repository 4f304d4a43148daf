from __future__ import annotations

import functools
from typing import Any

from django.db import connection
from django.db.models import Model, QuerySet

from pmhub.accounts.models import ApiToken, User
from pmhub.accounts.tokens import token_hash
from pmhub.workspaces.models import Membership, Workspace


def _columns(model: type[Model], alias: str) -> tuple[list[str], str]:
    fields = model._meta.concrete_fields
    names = [field.attname for field in fields]
    return names, ", ".join(f'{alias}."{field.column}"' for field in fields)


@functools.cache
def _token_lookup() -> tuple[str, list[tuple[type[Model], list[str]]]]:
    """The token lookup's SQL, built once from the models, and each model's field names in the
    order of its columns."""
    parts = [(ApiToken, "t"), (User, "u"), (Workspace, "w")]
    layout, selects = [], []
    for model, alias in parts:
        names, select = _columns(model, alias)
        layout.append((model, names))
        selects.append(select)
    sql = (
        f'SELECT {", ".join(selects)}, m."id", m."role"'  # noqa: S608 - names from models
        f" FROM {ApiToken._meta.db_table} t"
        f" JOIN {User._meta.db_table} u ON u.id = t.user_id"
        f" JOIN {Workspace._meta.db_table} w ON w.id = t.workspace_id"
        f" LEFT JOIN {Membership._meta.db_table} m"
        " ON m.user_id = t.user_id AND m.workspace_id = t.workspace_id"
        " WHERE t.token_hash = %s AND t.revoked_at IS NULL"
    )
    return sql, layout


def _instance(model: type[Model], names: list[str], values: list[Any]) -> Model:
    for index, field in enumerate(model._meta.concrete_fields):
        if hasattr(field, "from_db_value"):
            values[index] = field.from_db_value(values[index], None, connection)
    return model.from_db(connection.alias, names, values)


def api_token_find_active(*, raw: str) -> ApiToken | None:
    """The active token with this value, with its user and workspace, and as `membership` the
    user's membership of that workspace (None once they left it); None if unknown or revoked.

    Every API request starts here: one statement, written once from the models' own columns, so
    that the ORM's composing of a three-join query (~2 ms) is not paid on each request."""
    # cross-workspace: the token is what tells us the workspace; it is matched by its hash.
    sql, layout = _token_lookup()
    with connection.cursor() as cursor:
        cursor.execute(sql, [token_hash(raw)])
        row = cursor.fetchone()
    if row is None:
        return None
    objects, start = [], 0
    for model, names in layout:
        objects.append(_instance(model, names, list(row[start : start + len(names)])))
        start += len(names)
    token, user, workspace = objects
    token.user, token.workspace = user, workspace
    member_id, member_role = row[start:]
    token.membership = None
    if member_id is not None:
        known = {"id": member_id, "role": member_role, "user_id": user.id}
        known["workspace_id"] = workspace.id
        # from_db takes the values in the model's field order, the unread ones deferred.
        fields = [f.attname for f in Membership._meta.concrete_fields if f.attname in known]
        membership = Membership.from_db(connection.alias, fields, [known[f] for f in fields])
        membership.user, membership.workspace = user, workspace
        token.membership = membership
    return token


def api_token_list(*, workspace: Workspace, user: User | None = None) -> QuerySet[ApiToken]:
    """Tokens of the workspace, newest first; only `user`'s when given."""
    qs = ApiToken.objects.for_workspace(workspace).select_related("user").order_by("-id")
    if user is not None:
        qs = qs.filter(user=user)
    return qs


def api_token_get(*, workspace: Workspace, token_id: int) -> ApiToken:
    return ApiToken.objects.for_workspace(workspace).select_related("user").get(id=token_id)


def user_exists(*, email: str) -> bool:
    return User.objects.filter(email__iexact=email.strip()).exists()
