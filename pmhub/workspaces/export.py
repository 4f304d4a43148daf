"""A workspace's data as one JSON document: every tenant-owned row, written model by model.

The models come from the app registry (every subclass of WorkspaceOwnedModel), so a model added
tomorrow is exported without touching this file. Rows are read in keyset pages by primary key and
the document is produced as a stream of text chunks: memory stays flat whatever the workspace's
size.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.utils import timezone

from pmhub.workspaces.models import Membership, WorkspaceOwnedModel

if TYPE_CHECKING:
    from pmhub.workspaces.models import Workspace

EXPORT_FORMAT = "pmhub.workspace-export"
EXPORT_VERSION = 1
PAGE_SIZE = 1000

# Credentials and whatever could be turned back into one (token and share-link hashes, the
# invitation keys behind signed links) stay out, in today's models and in any added later.
SECRET_FIELD = re.compile(r"password|secret|token|hash|^key$")

# The people of the workspace, by what their colleagues already see of them; never their password
# hash, last login or anything of their other workspaces.
MEMBER_FIELDS = ("id", "email", "name")


class _Encoder(DjangoJSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, bytes | memoryview):
            return base64.b64encode(bytes(o)).decode("ascii")
        return super().default(o)


def workspace_owned_models() -> list[type[WorkspaceOwnedModel]]:
    """Every concrete tenant-owned model, in a stable order."""
    found = [
        model
        for model in apps.get_models()
        if issubclass(model, WorkspaceOwnedModel) and not model._meta.proxy
    ]
    return sorted(found, key=lambda model: model._meta.label_lower)


def exported_fields(model: type[models.Model]) -> list[str]:
    """The columns of `model` that go into an export (by attname: `item_id`, not `item`).

    Generated columns (search vectors) are left out: the database derives them from the others.
    """
    return [
        field.attname
        for field in model._meta.concrete_fields
        if not SECRET_FIELD.search(field.name) and not field.generated
    ]


def _rows(model: type[WorkspaceOwnedModel], workspace: Workspace) -> Iterator[dict[str, Any]]:
    fields = exported_fields(model)
    pk = model._meta.pk.attname
    after = None
    while True:
        page = model.objects.for_workspace(workspace).order_by(pk)
        if after is not None:
            page = page.filter(**{f"{pk}__gt": after})
        batch = list(page.values(*fields)[:PAGE_SIZE])
        yield from batch
        if len(batch) < PAGE_SIZE:
            return
        after = batch[-1][pk]


def _members(workspace: Workspace) -> Iterator[dict[str, Any]]:
    memberships = (
        Membership.objects.for_workspace(workspace).select_related("user").order_by("user_id")
    )
    for membership in memberships.iterator(chunk_size=PAGE_SIZE):
        person = {name: getattr(membership.user, name) for name in MEMBER_FIELDS}
        yield {**person, "role": membership.role}


def _array(rows: Iterator[dict[str, Any]], dump: Any) -> Iterator[str]:
    yield "["
    first = True
    for row in rows:
        yield ("\n" if first else ",\n") + dump(row)
        first = False
    yield "]"


def workspace_export(workspace: Workspace) -> Iterator[str]:
    """The JSON document of `workspace`, as chunks of text to write or stream in order."""
    if connection.in_atomic_block:
        # The caller's transaction (a test, a larger job) already fixes what is read.
        yield from _document(workspace)
        return
    with transaction.atomic():
        # One snapshot for every model, so the references between exported rows hold. PostgreSQL
        # takes the isolation level only as a transaction's first statement.
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield from _document(workspace)


def _document(workspace: Workspace) -> Iterator[str]:
    def dump(value: Any) -> str:
        return json.dumps(value, cls=_Encoder, ensure_ascii=False, sort_keys=True)

    header = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_at": timezone.now(),
        # Every column of the workspace row, so that one added tomorrow is exported too.
        "workspace": {
            field.attname: getattr(workspace, field.attname)
            for field in type(workspace)._meta.concrete_fields
        },
    }
    yield dump(header)[:-1]
    yield ',\n"members": '
    yield from _array(_members(workspace), dump)
    yield ',\n"models": {'
    for index, model in enumerate(workspace_owned_models()):
        yield ("\n" if index == 0 else ",\n") + dump(model._meta.label) + ": "
        yield from _array(_rows(model, workspace), dump)
    yield "}}\n"
