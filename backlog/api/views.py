"""The backlog REST API: items (list, one, create, change, bulk change, merge, CSV export) and
their evidence.

Reads build rows from `values()` and encode them with orjson (the list is the hot path for
engineers' tools); DRF serializers validate input and document the output. Every item carries
its `version`; responses about one item send it as the ETag, and a change sent with `If-Match`
on an older version is refused with 412.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpResponse, HttpResponsePermanentRedirect, StreamingHttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from backlog import services
from backlog.export import item_csv_lines
from backlog.listing import (
    ROW_VALUES,
    SORTS,
    ItemFilters,
    is_sort,
    item_list,
    item_merged_target,
    item_page,
    item_row,
)
from backlog.models import DESCRIPTION_MAX_CHARS, Item, ItemEvidence
from pmhub.core.api import if_match_version, json_response, version_etag
from pmhub.core.exceptions import ApplicationError
from pmhub.workspaces.api.base import WorkspaceApiView
from pmhub.workspaces.models import Workspace

BULK_LIMIT = 1000
PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
# What `fields=` may choose from; `id` always comes.
FIELDS = (
    *(name for name in ROW_VALUES if "__" not in name),
    "demand_by_segment",
    "owner",
    "area",
    "tags",
    "scores",
)
SORT_HELP = (
    f"One of {', '.join(sorted(SORTS))}; `score` (the primary formula, highest first, unknown "
    "scores last) or `score:<formula id>`."
)


# --- output ----------------------------------------------------------------------------------
@extend_schema_serializer(component_name="Item")
class ItemOutputSerializer(serializers.Serializer):
    """The shape of an item in responses (documentation; rows are built from values())."""

    id = serializers.IntegerField()
    title = serializers.CharField()
    description = serializers.CharField(help_text="Markdown; in single-item responses only.")
    kind = serializers.ChoiceField(choices=Item.Kind.choices)
    status = serializers.ChoiceField(choices=Item.Status.choices)
    declined_reason = serializers.CharField()
    owner = serializers.DictField(
        allow_null=True, help_text='{"id": 3, "email": "...", "name": "..."}'
    )
    area = serializers.DictField(allow_null=True, help_text='{"id": 2, "name": "API"}')
    parent_id = serializers.IntegerField(allow_null=True)
    effort = serializers.FloatField(allow_null=True)
    rank = serializers.CharField(help_text="Manual order: items sort by it as plain bytes.")
    version = serializers.IntegerField(help_text="Send it back as If-Match to change the item.")
    evidence_count = serializers.IntegerField()
    customer_count = serializers.IntegerField(help_text="Distinct customers who asked.")
    company_count = serializers.IntegerField()
    arr = serializers.DecimalField(
        max_digits=16, decimal_places=2, help_text="Of distinct companies."
    )
    critical_count = serializers.IntegerField()
    important_count = serializers.IntegerField()
    demand_by_segment = serializers.DictField()
    tags = serializers.ListField(child=serializers.DictField())
    scores = serializers.DictField(
        child=serializers.FloatField(allow_null=True),
        help_text='{"<formula id>": value}. null: cannot be known.',
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


@extend_schema_serializer(component_name="ItemRow")
class ItemRowOutputSerializer(ItemOutputSerializer):
    """An item in a page of the list: without its description, and with `id` and only the
    columns named in `fields` when the request names some."""

    description = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            field.required = name == "id"


@extend_schema_serializer(component_name="ItemPage")
class ItemPageOutputSerializer(serializers.Serializer):
    next = serializers.CharField(allow_null=True, help_text="The next page's URL, or null.")
    results = ItemRowOutputSerializer(many=True)


@extend_schema_serializer(component_name="ItemEvidence")
class EvidenceOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    insight = serializers.DictField(allow_null=True)
    feedback = serializers.DictField(allow_null=True)
    note = serializers.CharField()
    created_at = serializers.DateTimeField()


def _api_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row of listing.item_page or item_row (a dict of its own) in the API's shape."""
    owner_id, owner_email = row.pop("owner_id"), row.pop("owner__email")
    owner_name = row.pop("owner__name")
    area_id, area_name = row.pop("area_id"), row.pop("area__name")
    row["owner"] = (
        {"id": owner_id, "email": owner_email, "name": owner_name} if owner_id is not None else None
    )
    row["area"] = {"id": area_id, "name": area_name} if area_id is not None else None
    row["arr"] = str(row["arr"])
    return row


def _pick(row: dict[str, Any], fields: tuple[str, ...] | None) -> dict[str, Any]:
    return row if fields is None else {"id": row["id"], **{f: row[f] for f in fields}}


def _etag(item_id: int, version: int) -> str:
    return version_etag("item", item_id, version)


def _one(workspace: Workspace, item_id: int) -> dict[str, Any]:
    try:
        return _api_row(item_row(workspace=workspace, item_id=item_id, fields=("description",)))
    except Item.DoesNotExist as exc:
        raise Http404 from exc


def _if_match_version(request: Request, item_id: int) -> int | None:
    """The version an If-Match header names (None without the header); 412 for a tag that is
    not one of this item's."""
    stale = services.StaleItemError(
        "If-Match names another item or version; read the item again.", extra={}
    )
    return if_match_version(request, "item", item_id, stale)


# --- input -----------------------------------------------------------------------------------
class _ItemFieldsSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(
        max_length=DESCRIPTION_MAX_CHARS, required=False, allow_blank=True, trim_whitespace=False
    )
    kind = serializers.ChoiceField(choices=Item.Kind.choices, required=False)
    owner_id = serializers.IntegerField(required=False, allow_null=True)
    area_id = serializers.IntegerField(required=False, allow_null=True)
    parent_id = serializers.IntegerField(required=False, allow_null=True)
    effort = serializers.FloatField(required=False, allow_null=True, min_value=0)
    tag_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, max_length=100
    )


@extend_schema_serializer(component_name="ItemUpdateInput")
class ItemUpdateSerializer(_ItemFieldsSerializer):
    title = serializers.CharField(max_length=200, required=False)
    status = serializers.ChoiceField(choices=Item.Status.choices, required=False)
    declined_reason = serializers.CharField(max_length=500, required=False, allow_blank=True)
    version = serializers.IntegerField(
        required=False, min_value=1, help_text="Instead of If-Match: the version you read."
    )


def _apply(
    workspace: Workspace, actor: Any, item: Item, changes: dict[str, Any], version: int | None
) -> Item:
    """One item's changes through the services, in one transaction, checked against `version`."""
    changes = dict(changes)
    new_status = changes.pop("status", None)
    reason = changes.pop("declined_reason", "")
    tag_ids = changes.pop("tag_ids", None)
    with transaction.atomic():
        item = Item.objects.for_workspace(workspace).select_for_update().get(id=item.id)
        expected = item.version if version is None else version
        if item.version != expected:
            raise services.StaleItemError(
                "Someone changed this item after you read it; read it again and reapply.",
                extra={"version": item.version},
            )
        if changes:
            item = services.item_update(
                workspace=workspace, actor=actor, item=item, version=expected, **changes
            )
        if new_status is not None:
            item = services.item_set_status(
                workspace=workspace, actor=actor, item=item, status=new_status, reason=reason
            )
        if tag_ids is not None:
            services.item_set_tags(workspace=workspace, actor=actor, item=item, tag_ids=tag_ids)
    return item


# --- views -----------------------------------------------------------------------------------
class ItemFilterSerializer(serializers.Serializer):
    """The filters and sort of the item list, shared by the list and the CSV exports."""

    status = serializers.MultipleChoiceField(choices=Item.Status.choices, required=False)
    kind = serializers.ChoiceField(choices=Item.Kind.choices, required=False)
    area = serializers.IntegerField(required=False, min_value=1, help_text="A product area id.")
    owner = serializers.IntegerField(required=False, min_value=1, help_text="A user id.")
    tag = serializers.IntegerField(required=False, min_value=1, help_text="A tag id.")
    parent = serializers.IntegerField(required=False, min_value=1, help_text="An item id.")
    segment = serializers.CharField(
        required=False, max_length=80, help_text="Asked for by customers of this segment."
    )
    min_customers = serializers.IntegerField(required=False, min_value=0)
    score_min = serializers.FloatField(
        required=False, help_text="Scores at least this (by `score_formula`); unknown ones never."
    )
    score_max = serializers.FloatField(required=False, help_text="Scores at most this.")
    score_formula = serializers.IntegerField(
        required=False, min_value=1, help_text="The formula of score_min/max; the primary if unset."
    )
    q = serializers.CharField(required=False, max_length=200, help_text="Full-text search.")
    sort = serializers.CharField(default="rank", max_length=40, help_text=SORT_HELP)

    def validate_sort(self, value: str) -> str:
        if not is_sort(value):
            raise serializers.ValidationError(SORT_HELP)
        return value


def item_filters(data: dict[str, Any]) -> ItemFilters:
    """ItemFilters from an ItemFilterSerializer's validated data."""
    return ItemFilters(
        statuses=tuple(sorted(data.get("status", ()))),
        kind=data.get("kind", ""),
        area_id=data.get("area"),
        owner_id=data.get("owner"),
        tag_id=data.get("tag"),
        parent_id=data.get("parent"),
        segment=data.get("segment", ""),
        min_customers=data.get("min_customers"),
        score_formula_id=data.get("score_formula"),
        score_min=data.get("score_min"),
        score_max=data.get("score_max"),
        query=data.get("q", ""),
    )


class ItemListCreateApi(WorkspaceApiView):
    class FilterSerializer(ItemFilterSerializer):
        fields = serializers.CharField(
            required=False, help_text=f"Comma-separated, of: {', '.join(FIELDS)}."
        )
        cursor = serializers.CharField(required=False, max_length=400)
        page_size = serializers.IntegerField(
            required=False, min_value=1, max_value=MAX_PAGE_SIZE, default=PAGE_SIZE
        )

        def validate_fields(self, value: str) -> tuple[str, ...]:
            chosen = tuple(dict.fromkeys(f.strip() for f in value.split(",") if f.strip()))
            unknown = [f for f in chosen if f not in FIELDS]
            if unknown:
                raise serializers.ValidationError(
                    f"Unknown field(s): {', '.join(unknown)}. Choose from: {', '.join(FIELDS)}."
                )
            return tuple(f for f in chosen if f != "id")

    @extend_schema_serializer(component_name="ItemCreateInput")
    class InputSerializer(_ItemFieldsSerializer):
        pass

    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet[Item]:
        return item_list(workspace=workspace)

    @extend_schema(
        parameters=[FilterSerializer],
        responses=ItemPageOutputSerializer,
        operation_id="backlog_items_list",
        summary="Backlog items, filtered and sorted, a keyset page at a time",
    )
    def get(self, request: Request) -> HttpResponse:
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        rows, next_cursor = item_page(
            workspace=self.workspace,
            filters=item_filters(data),
            sort=data["sort"],
            cursor=data.get("cursor", ""),
            size=data["page_size"],
            json_passed_through=True,
        )
        fields = data.get("fields")
        next_url = None
        if next_cursor:
            query = request.query_params.copy()
            query["cursor"] = next_cursor
            next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
        body = orjson.dumps(
            {"next": next_url, "results": [_pick(_api_row(r), fields) for r in rows]},
            option=orjson.OPT_UTC_Z,
        )
        etag = f'W/"{hashlib.sha256(body).hexdigest()[:32]}"'
        if etag in request.headers.get("If-None-Match", ""):
            return HttpResponse(status=304, headers={"ETag": etag})
        return HttpResponse(body, content_type="application/json", headers={"ETag": etag})

    @extend_schema(
        request=InputSerializer,
        responses={201: ItemOutputSerializer},
        summary="Add an item at the bottom of the manual order",
    )
    def post(self, request: Request) -> HttpResponse:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        item = services.item_create(
            workspace=self.workspace, actor=request.user, **data.validated_data
        )
        return json_response(
            _one(self.workspace, item.id), status.HTTP_201_CREATED, _etag(item.id, item.version)
        )


class ItemDetailApi(WorkspaceApiView):
    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet[Item]:
        return item_list(workspace=workspace)

    @extend_schema(
        responses={
            200: ItemOutputSerializer,
            301: OpenApiResponse(
                description="The item was merged: Location is the item it was merged into."
            ),
        },
        operation_id="backlog_items_retrieve",
        summary="One item, with its ETag (a merged item redirects to the one it became)",
    )
    def get(self, request: Request, item_id: int) -> HttpResponse:
        target = item_merged_target(self.workspace, item_id)
        if target is not None:
            return HttpResponsePermanentRedirect(_item_api_url(request, self.workspace, target))
        row = _one(self.workspace, item_id)
        etag = _etag(item_id, row["version"])
        if etag in request.headers.get("If-None-Match", ""):
            return HttpResponse(status=304, headers={"ETag": etag})
        return json_response(row, etag=etag)

    @extend_schema(
        request=ItemUpdateSerializer,
        responses={200: ItemOutputSerializer, 412: None},
        parameters=[
            OpenApiParameter(
                "If-Match",
                location=OpenApiParameter.HEADER,
                required=False,
                description="The ETag you read: changing an item changed since is refused (412).",
            )
        ],
        summary="Change an item (fields, status, tags)",
    )
    def patch(self, request: Request, item_id: int) -> HttpResponse:
        item = self.get_workspace_queryset(self.workspace).filter(id=item_id).first()
        if item is None:
            raise Http404
        data = ItemUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        body_version = changes.pop("version", None)
        header_version = _if_match_version(request, item_id)
        version = header_version if header_version is not None else body_version
        item = _apply(self.workspace, request.user, item, changes, version)
        return json_response(_one(self.workspace, item.id), etag=_etag(item.id, item.version))


@extend_schema_serializer(component_name="ItemBulkChangeInput")
class ItemBulkChangeSerializer(ItemUpdateSerializer):
    id = serializers.IntegerField(min_value=1)


class ItemBulkApi(WorkspaceApiView):
    @extend_schema_serializer(component_name="ItemBulkInput")
    class InputSerializer(serializers.Serializer):
        items = ItemBulkChangeSerializer(many=True, allow_empty=False, max_length=BULK_LIMIT)

    @extend_schema_serializer(component_name="ItemBulkOutput")
    class OutputSerializer(serializers.Serializer):
        updated = serializers.IntegerField()
        versions = serializers.DictField(child=serializers.IntegerField())

    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet[Item]:
        return item_list(workspace=workspace)

    @extend_schema(
        request=InputSerializer,
        responses=OutputSerializer,
        summary=f"Change up to {BULK_LIMIT:,} items at once: all or nothing",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        changes = data.validated_data["items"]
        ids = [c["id"] for c in changes]
        if len(set(ids)) != len(ids):
            raise ValidationError({"items": "Each item may appear once."})
        items = {i.id: i for i in self.get_workspace_queryset(self.workspace).filter(id__in=ids)}
        versions: dict[str, int] = {}
        with transaction.atomic():
            for position, change in enumerate(changes):
                change = dict(change)
                item_id, version = change.pop("id"), change.pop("version", None)
                if item_id not in items:
                    raise ValidationError({f"items[{position}]": f"Unknown item {item_id}."})
                try:
                    item = _apply(self.workspace, request.user, items[item_id], change, version)
                except (ValidationError, ApplicationError) as exc:
                    message = exc.message if isinstance(exc, ApplicationError) else exc.messages
                    if isinstance(exc, services.StaleItemError):
                        raise services.StaleItemError(
                            f"items[{position}]: {exc.message}", extra={"id": item_id, **exc.extra}
                        ) from exc
                    raise ValidationError({f"items[{position}]": message}) from exc
                versions[str(item_id)] = item.version
        return Response({"updated": len(versions), "versions": versions})


def _item_api_url(request: Request, workspace: Workspace, item_id: int) -> str:
    return request.build_absolute_uri(
        reverse(
            "api:backlog-item-detail",
            kwargs={"workspace_slug": workspace.slug, "item_id": item_id},
        )
    )


class ItemMergeApi(WorkspaceApiView):
    @extend_schema_serializer(component_name="ItemMergeInput")
    class InputSerializer(serializers.Serializer):
        into = serializers.IntegerField(min_value=1, help_text="The item that stays.")

    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet[Item]:
        # Merged items too: merging one again into the same item is a no-op, not a 404.
        return Item.objects.for_workspace(workspace)

    @extend_schema(
        request=InputSerializer,
        responses={200: ItemOutputSerializer},
        summary="Merge this item into another: evidence, demand, tags, children, score history "
        "move; this one is declined and its URL redirects (again: no-op)",
    )
    def post(self, request: Request, item_id: int) -> HttpResponse:
        items = self.get_workspace_queryset(self.workspace)
        duplicate = items.filter(id=item_id).first()
        if duplicate is None:
            raise Http404
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        into = items.filter(id=data.validated_data["into"]).first()
        if into is None:
            raise ValidationError({"into": "Unknown item."})
        into = services.item_merge(
            workspace=self.workspace, actor=request.user, duplicate=duplicate, into=into
        )
        return json_response(_one(self.workspace, into.id), etag=_etag(into.id, into.version))


def csv_response(lines: Any, filename: str) -> StreamingHttpResponse:
    """A streamed CSV download of `lines`."""
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def item_page_url(request: Any, workspace: Workspace) -> str:
    """The absolute URL of an item's page, with `{id}` for the item."""
    marker = 999_999_999
    url = reverse(
        "backlog:item-detail", kwargs={"workspace_slug": workspace.slug, "item_id": marker}
    )
    return request.build_absolute_uri(url).replace(str(marker), "{id}")


class ItemExportApi(WorkspaceApiView):
    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet[Item]:
        return item_list(workspace=workspace)

    @extend_schema(
        parameters=[ItemFilterSerializer],
        responses={(200, "text/csv"): OpenApiTypes.STR},
        summary="The filtered, sorted item list as CSV, streamed (every item, no pages)",
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        params = ItemFilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        lines = item_csv_lines(
            workspace=self.workspace,
            filters=item_filters(data),
            sort=data["sort"],
            item_url=item_page_url(request, self.workspace),
        )
        return csv_response(lines, f"{self.workspace.slug}-backlog.csv")


def _evidence_rows(workspace: Workspace, item_id: int) -> list[dict[str, Any]]:
    rows = (
        ItemEvidence.objects.for_workspace(workspace)
        .filter(item_id=item_id)
        .order_by("id")
        .values(
            "id",
            "note",
            "created_at",
            "insight_id",
            "insight__title",
            "insight__customer_count",
            "feedback_id",
            "feedback__text",
            "feedback__customer__name",
            "feedback__company__name",
        )
    )
    return [
        {
            "id": r["id"],
            "insight": {
                "id": r["insight_id"],
                "title": r["insight__title"],
                "customer_count": r["insight__customer_count"],
            }
            if r["insight_id"]
            else None,
            "feedback": {
                "id": r["feedback_id"],
                "text": r["feedback__text"],
                "customer": r["feedback__customer__name"],
                "company": r["feedback__company__name"],
            }
            if r["feedback_id"]
            else None,
            "note": r["note"],
            "created_at": r["created_at"],
        }
        for r in rows
    ]


class ItemEvidenceListCreateApi(WorkspaceApiView):
    @extend_schema_serializer(component_name="ItemEvidenceLinkInput")
    class InputSerializer(serializers.Serializer):
        insight_id = serializers.IntegerField(required=False, min_value=1)
        feedback_id = serializers.IntegerField(required=False, min_value=1)
        note = serializers.CharField(required=False, allow_blank=True, max_length=500)

    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet[Item]:
        return item_list(workspace=workspace)

    def _item(self, item_id: int) -> Item:
        item = self.get_workspace_queryset(self.workspace).filter(id=item_id).first()
        if item is None:
            raise Http404
        return item

    @extend_schema(
        responses=EvidenceOutputSerializer(many=True),
        summary="Why this item: the insights and feedback that ask for it",
    )
    def get(self, request: Request, item_id: int) -> HttpResponse:
        return json_response(_evidence_rows(self.workspace, self._item(item_id).id))

    @extend_schema(
        request=InputSerializer,
        responses={201: EvidenceOutputSerializer(many=True)},
        summary="Link an insight or a feedback item as evidence (twice is once)",
    )
    def post(self, request: Request, item_id: int) -> HttpResponse:
        item = self._item(item_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.item_link_evidence(
            workspace=self.workspace, actor=request.user, item=item, **data.validated_data
        )
        return json_response(_evidence_rows(self.workspace, item.id), status.HTTP_201_CREATED)


class ItemEvidenceDetailApi(WorkspaceApiView):
    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet[ItemEvidence]:
        return ItemEvidence.objects.for_workspace(workspace)

    @extend_schema(responses={204: None}, summary="Unlink a piece of evidence")
    def delete(self, request: Request, item_id: int, evidence_id: int) -> Response:
        evidence = (
            self.get_workspace_queryset(self.workspace)
            .select_related("item")
            .filter(id=evidence_id, item_id=item_id)
            .first()
        )
        if evidence is None:
            raise Http404
        services.item_unlink_evidence(
            workspace=self.workspace, actor=request.user, evidence=evidence
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
