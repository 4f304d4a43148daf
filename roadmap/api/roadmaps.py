"""The roadmaps API: roadmaps and their columns, placements on boards (read in keyset pages,
moved one at a time), item schedules (dates and release), and roadmap events for integrations.

Placements are read as plain rows encoded with orjson (a board can hold thousands of items);
DRF serializers validate input and document the output.
"""

from __future__ import annotations

import base64
from typing import Any

import orjson
from django.db.models import Q, QuerySet
from django.http import Http404, HttpResponse
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from backlog.models import Item
from pmhub.core.api import (
    CursorPagination,
    if_match_version,
    json_response,
    paginated_response,
    version_etag,
)
from pmhub.core.exceptions import ApplicationError
from pmhub.workspaces.api.base import WorkspaceApiView
from pmhub.workspaces.models import Workspace
from roadmap import selectors, services
from roadmap.models import ItemSchedule, Roadmap, RoadmapColumn, RoadmapEvent

PLACEMENT_PAGE = 100
PLACEMENT_PAGE_MAX = 1000
BAD_CURSOR = "This cursor is not valid for this list; start from the first page."


def _etag(roadmap: Roadmap) -> str:
    return version_etag("roadmap", roadmap.id, roadmap.version)


def _if_match(request: Request, roadmap: Roadmap) -> int | None:
    """The version an If-Match header names; None without one."""
    stale = services.StaleRoadmapError("If-Match names another version of this roadmap.")
    return if_match_version(request, "roadmap", roadmap.id, stale)


class FiltersField(serializers.DictField):
    """{"area": [ids], "tag": [ids], "owner": [user ids], "status": ["planned", ...]}."""

    child = serializers.ListField(child=serializers.CharField(max_length=40), max_length=200)


# --- output ------------------------------------------------------------------------------------
class ColumnOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    position = serializers.IntegerField()


@extend_schema_serializer(component_name="Roadmap")
class RoadmapOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    kind = serializers.ChoiceField(choices=Roadmap.Kind.choices)
    filters = serializers.DictField()
    group_by = serializers.CharField()
    scale = serializers.CharField()
    version = serializers.IntegerField()
    columns = ColumnOutputSerializer(many=True, help_text="Now/next/later boards only.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


def _roadmap_payload(workspace: Workspace, roadmap: Roadmap) -> dict[str, Any]:
    columns = selectors.roadmap_columns(workspace=workspace, roadmap=roadmap)
    return {
        "id": roadmap.id,
        "name": roadmap.name,
        "description": roadmap.description,
        "kind": roadmap.kind,
        "filters": roadmap.filters,
        "group_by": roadmap.group_by,
        "scale": roadmap.scale,
        "version": roadmap.version,
        "columns": [{"id": c.id, "name": c.name, "position": c.position} for c in columns],
        "created_at": roadmap.created_at,
        "updated_at": roadmap.updated_at,
    }


class RoadmapListOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField()
    placement_count = serializers.IntegerField()
    version = serializers.IntegerField()
    updated_at = serializers.DateTimeField()


def _roadmap(workspace: Workspace, roadmap_id: int) -> Roadmap:
    roadmap = Roadmap.objects.for_workspace(workspace).filter(id=roadmap_id).first()
    if roadmap is None:
        raise Http404
    return roadmap


# --- roadmaps ----------------------------------------------------------------------------------
class RoadmapListCreateApi(WorkspaceApiView):
    pagination_class = CursorPagination

    @extend_schema_serializer(component_name="RoadmapCreateInput")
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=120)
        kind = serializers.ChoiceField(choices=Roadmap.Kind.choices)
        description = serializers.CharField(required=False, allow_blank=True)
        columns = serializers.ListField(
            child=serializers.CharField(max_length=60), required=False, max_length=12
        )
        filters = FiltersField(required=False)
        group_by = serializers.ChoiceField(
            choices=Roadmap.GroupBy.choices, required=False, allow_blank=True
        )
        scale = serializers.ChoiceField(choices=Roadmap.Scale.choices, required=False)

    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet[Roadmap]:
        return selectors.roadmap_list(workspace=workspace)

    @extend_schema(responses=RoadmapListOutputSerializer(many=True), summary="Roadmaps")
    def get(self, request: Request) -> Response:
        return paginated_response(
            view=self,
            queryset=self.get_workspace_queryset(self.workspace),
            serializer_class=RoadmapListOutputSerializer,
            request=request,
        )

    @extend_schema(
        request=InputSerializer,
        responses={201: RoadmapOutputSerializer},
        summary="Create a roadmap (a now/next/later board gets Now, Next, Later unless named)",
    )
    def post(self, request: Request) -> HttpResponse:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        roadmap = services.roadmap_create(
            workspace=self.workspace, actor=request.user, **data.validated_data
        )
        return json_response(
            _roadmap_payload(self.workspace, roadmap), status.HTTP_201_CREATED, _etag(roadmap)
        )


IF_MATCH = OpenApiParameter(
    "If-Match",
    location=OpenApiParameter.HEADER,
    required=False,
    description="The ETag you read: changing a roadmap changed since is refused (412).",
)


class RoadmapDetailApi(WorkspaceApiView):
    @extend_schema_serializer(component_name="RoadmapChangeInput")
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=120, required=False)
        description = serializers.CharField(required=False, allow_blank=True)
        filters = FiltersField(required=False)
        group_by = serializers.ChoiceField(
            choices=Roadmap.GroupBy.choices, required=False, allow_blank=True
        )
        scale = serializers.ChoiceField(choices=Roadmap.Scale.choices, required=False)

    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet[Roadmap]:
        return Roadmap.objects.for_workspace(workspace)

    @extend_schema(responses=RoadmapOutputSerializer, summary="One roadmap, with its ETag")
    def get(self, request: Request, roadmap_id: int) -> HttpResponse:
        roadmap = _roadmap(self.workspace, roadmap_id)
        etag = _etag(roadmap)
        if etag in request.headers.get("If-None-Match", ""):
            return HttpResponse(status=304, headers={"ETag": etag})
        return json_response(_roadmap_payload(self.workspace, roadmap), etag=etag)

    @extend_schema(
        request=InputSerializer,
        responses={200: RoadmapOutputSerializer, 412: None},
        parameters=[IF_MATCH],
        summary="Change a roadmap's name, description, filters, grouping or scale",
    )
    def patch(self, request: Request, roadmap_id: int) -> HttpResponse:
        roadmap = _roadmap(self.workspace, roadmap_id)
        data = self.InputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        roadmap = services.roadmap_update(
            workspace=self.workspace,
            actor=request.user,
            roadmap=roadmap,
            version=_if_match(request, roadmap),
            **data.validated_data,
        )
        return json_response(_roadmap_payload(self.workspace, roadmap), etag=_etag(roadmap))

    @extend_schema(responses={204: None}, summary="Delete a roadmap (its items stay)")
    def delete(self, request: Request, roadmap_id: int) -> HttpResponse:
        roadmap = _roadmap(self.workspace, roadmap_id)
        services.roadmap_delete(workspace=self.workspace, actor=request.user, roadmap=roadmap)
        return HttpResponse(status=204)


# --- columns -----------------------------------------------------------------------------------
def _column(workspace: Workspace, roadmap: Roadmap, column_id: int) -> RoadmapColumn:
    column = (
        RoadmapColumn.objects.for_workspace(workspace).filter(roadmap=roadmap, id=column_id).first()
    )
    if column is None:
        raise Http404
    return column


class RoadmapColumnListCreateApi(WorkspaceApiView):
    @extend_schema_serializer(component_name="RoadmapColumnCreateInput")
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=60)

    class ReorderSerializer(serializers.Serializer):
        column_ids = serializers.ListField(child=serializers.IntegerField(), max_length=12)

    @extend_schema(responses=ColumnOutputSerializer(many=True), summary="A board's columns")
    def get(self, request: Request, roadmap_id: int) -> HttpResponse:
        roadmap = _roadmap(self.workspace, roadmap_id)
        return json_response(_roadmap_payload(self.workspace, roadmap)["columns"])

    @extend_schema(
        request=InputSerializer,
        responses={201: ColumnOutputSerializer},
        summary="Add a column at the right",
    )
    def post(self, request: Request, roadmap_id: int) -> HttpResponse:
        roadmap = _roadmap(self.workspace, roadmap_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        column = services.roadmap_column_create(
            workspace=self.workspace, actor=request.user, roadmap=roadmap, **data.validated_data
        )
        return json_response(
            {"id": column.id, "name": column.name, "position": column.position},
            status.HTTP_201_CREATED,
        )

    @extend_schema(
        request=ReorderSerializer,
        responses=ColumnOutputSerializer(many=True),
        summary="Reorder the columns (every column once, left to right)",
    )
    def put(self, request: Request, roadmap_id: int) -> HttpResponse:
        roadmap = _roadmap(self.workspace, roadmap_id)
        data = self.ReorderSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.roadmap_columns_reorder(
            workspace=self.workspace,
            actor=request.user,
            roadmap=roadmap,
            column_ids=data.validated_data["column_ids"],
        )
        return json_response(_roadmap_payload(self.workspace, roadmap)["columns"])


class RoadmapColumnDetailApi(WorkspaceApiView):
    @extend_schema_serializer(component_name="RoadmapColumnRenameInput")
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=60)

    class DeleteSerializer(serializers.Serializer):
        move_to = serializers.IntegerField(
            required=False, help_text="The column its items move to (needed when it has any)."
        )

    @extend_schema(
        request=InputSerializer, responses=ColumnOutputSerializer, summary="Rename a column"
    )
    def patch(self, request: Request, roadmap_id: int, column_id: int) -> HttpResponse:
        roadmap = _roadmap(self.workspace, roadmap_id)
        column = _column(self.workspace, roadmap, column_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        column = services.roadmap_column_rename(
            workspace=self.workspace, actor=request.user, column=column, **data.validated_data
        )
        return json_response({"id": column.id, "name": column.name, "position": column.position})

    @extend_schema(
        parameters=[DeleteSerializer],
        responses={204: None},
        summary="Delete a column, moving its items to `move_to`",
    )
    def delete(self, request: Request, roadmap_id: int, column_id: int) -> HttpResponse:
        roadmap = _roadmap(self.workspace, roadmap_id)
        column = _column(self.workspace, roadmap, column_id)
        data = self.DeleteSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        move_to = data.validated_data.get("move_to")
        services.roadmap_column_delete(
            workspace=self.workspace,
            actor=request.user,
            column=column,
            move_to=_column(self.workspace, roadmap, move_to) if move_to else None,
        )
        return HttpResponse(status=204)


# --- placements --------------------------------------------------------------------------------
PLACEMENT_ROW = (
    *selectors.CARD_VALUES,
    "column_id",
    "column_name",
    "column_position",
    "rank",
    "version",
    "score",
)


@extend_schema_serializer(component_name="Placement")
class PlacementOutputSerializer(serializers.Serializer):
    """An item on a board (documentation; rows are built from values())."""

    id = serializers.IntegerField(help_text="The backlog item's id.")
    title = serializers.CharField()
    kind = serializers.CharField()
    status = serializers.CharField()
    column = serializers.DictField(help_text='{"id": 4, "name": "Next", "position": 1}')
    rank = serializers.CharField(help_text="Order within the column (byte order).")
    area = serializers.DictField(allow_null=True)
    owner = serializers.DictField(allow_null=True)
    score = serializers.FloatField(allow_null=True, help_text="By the primary formula.")
    customer_count = serializers.IntegerField()
    company_count = serializers.IntegerField()
    arr = serializers.CharField()
    evidence_count = serializers.IntegerField()
    release = serializers.DictField(allow_null=True)
    start_date = serializers.DateField(allow_null=True)
    end_date = serializers.DateField(allow_null=True)


@extend_schema_serializer(component_name="PlacementPosition")
class PlacementPositionOutputSerializer(serializers.Serializer):
    """Where an item added or moved now sits."""

    id = serializers.IntegerField(help_text="The backlog item's id.")
    column_id = serializers.IntegerField()
    rank = serializers.CharField(help_text="Order within the column (byte order).")


class PlacementPageOutputSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    results = PlacementOutputSerializer(many=True)


def _placement_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["item_id"],
        "title": row["item__title"],
        "kind": row["item__kind"],
        "status": row["item__status"],
        "column": {
            "id": row["column_id"],
            "name": row["column_name"],
            "position": row["column_position"],
        },
        "rank": row["rank"],
        "area": row["item__area_id"]
        and {"id": row["item__area_id"], "name": row["item__area__name"]},
        "owner": row["item__owner_id"]
        and {
            "id": row["item__owner_id"],
            "email": row["item__owner__email"],
            "name": row["item__owner__name"],
        },
        "score": row["score"],
        "customer_count": row["item__customer_count"],
        "company_count": row["item__company_count"],
        "arr": str(row["item__arr"]),
        "evidence_count": row["item__evidence_count"],
        "release": row["item__schedule__release_id"]
        and {
            "id": row["item__schedule__release_id"],
            "name": row["item__schedule__release__name"],
        },
        "start_date": row["item__schedule__start_date"],
        "end_date": row["item__schedule__end_date"],
    }


def _pack(position: int, rank: str, placement_id: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([position, rank, placement_id])).decode()


def _unpack(cursor: str) -> tuple[int, str, int]:
    try:
        position, rank, placement_id = orjson.loads(base64.urlsafe_b64decode(cursor))
    except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
        raise ApplicationError(BAD_CURSOR) from exc
    if not (isinstance(position, int) and isinstance(rank, str) and isinstance(placement_id, int)):
        raise ApplicationError(BAD_CURSOR)
    return position, rank, placement_id


class PlacementListCreateApi(WorkspaceApiView):
    class FilterSerializer(serializers.Serializer):
        area = serializers.ListField(child=serializers.IntegerField(), required=False)
        tag = serializers.ListField(child=serializers.IntegerField(), required=False)
        owner = serializers.ListField(child=serializers.IntegerField(), required=False)
        status = serializers.ListField(
            child=serializers.ChoiceField(choices=Item.Status.choices), required=False
        )
        cursor = serializers.CharField(required=False, max_length=400)
        page_size = serializers.IntegerField(
            required=False, min_value=1, max_value=PLACEMENT_PAGE_MAX, default=PLACEMENT_PAGE
        )

    @extend_schema_serializer(component_name="PlacementCreateInput")
    class InputSerializer(serializers.Serializer):
        item_id = serializers.IntegerField()
        column_id = serializers.IntegerField()
        reason = serializers.CharField(required=False, allow_blank=True, max_length=500)

    @extend_schema(
        parameters=[FilterSerializer],
        responses=PlacementPageOutputSerializer,
        summary="The items on a board, column by column in order, a keyset page at a time",
    )
    def get(self, request: Request, roadmap_id: int) -> HttpResponse:
        roadmap = _roadmap(self.workspace, roadmap_id)
        params = self.FilterSerializer(
            data={
                **{k: request.query_params.getlist(k) for k in ("area", "tag", "owner", "status")},
                **{
                    k: request.query_params[k]
                    for k in ("cursor", "page_size")
                    if k in request.query_params
                },
            }
        )
        params.is_valid(raise_exception=True)
        data = params.validated_data
        page = {k: data[k] for k in ("area", "tag", "owner", "status") if data.get(k)}
        qs = selectors.roadmap_placement_list(
            workspace=self.workspace,
            roadmap=roadmap,
            filters=selectors.roadmap_filters(roadmap, page),
        )
        if data.get("cursor"):
            position, rank, placement_id = _unpack(data["cursor"])
            qs = qs.filter(
                Q(column__position__gt=position)
                | Q(column__position=position, rank__gt=rank)
                | Q(column__position=position, rank=rank, id__gt=placement_id)
            )
        size = data["page_size"]
        rows = list(qs.values(*PLACEMENT_ROW, "id")[: size + 1])
        next_url = None
        if len(rows) > size:
            rows = rows[:size]
            last = rows[-1]
            query = request.query_params.copy()
            query["cursor"] = _pack(last["column_position"], last["rank"], last["id"])
            next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
        return json_response({"next": next_url, "results": [_placement_row(r) for r in rows]})

    @extend_schema(
        request=InputSerializer,
        responses={201: PlacementPositionOutputSerializer},
        summary="Put an item at the bottom of a column (on the board already: moved there)",
    )
    def post(self, request: Request, roadmap_id: int) -> HttpResponse:
        roadmap = _roadmap(self.workspace, roadmap_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        item = (
            Item.objects.for_workspace(self.workspace)
            .filter(id=data.validated_data["item_id"])
            .first()
        )
        if item is None:
            raise ApplicationError("Unknown item.", extra={"item_id": "Not in this workspace."})
        placement = services.placement_add(
            workspace=self.workspace,
            actor=request.user,
            roadmap=roadmap,
            item=item,
            column_id=data.validated_data["column_id"],
            reason=data.validated_data.get("reason", ""),
        )
        return json_response(
            {"id": item.id, "column_id": placement.column_id, "rank": placement.rank},
            status.HTTP_201_CREATED,
        )


class PlacementDetailApi(WorkspaceApiView):
    @extend_schema_serializer(component_name="PlacementMoveInput")
    class InputSerializer(serializers.Serializer):
        column_id = serializers.IntegerField()
        after_item_id = serializers.IntegerField(required=False, allow_null=True)
        before_item_id = serializers.IntegerField(required=False, allow_null=True)
        reason = serializers.CharField(required=False, allow_blank=True, max_length=500)

    def _item(self, item_id: int) -> Item:
        item = Item.objects.for_workspace(self.workspace).filter(id=item_id).first()
        if item is None:
            raise Http404
        return item

    @extend_schema(
        request=InputSerializer,
        responses={200: PlacementPositionOutputSerializer},
        summary="Move an item to a column, after or before another (a move and its event)",
    )
    def patch(self, request: Request, roadmap_id: int, item_id: int) -> HttpResponse:
        roadmap = _roadmap(self.workspace, roadmap_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        placement = services.placement_move(
            workspace=self.workspace,
            actor=request.user,
            roadmap=roadmap,
            item=self._item(item_id),
            **data.validated_data,
        )
        return json_response(
            {"id": item_id, "column_id": placement.column_id, "rank": placement.rank}
        )

    class RemoveFilterSerializer(serializers.Serializer):
        reason = serializers.CharField(
            required=False, allow_blank=True, max_length=500, help_text="Kept on the event."
        )

    @extend_schema(
        parameters=[RemoveFilterSerializer],
        responses={204: None},
        summary="Take an item off the board",
    )
    def delete(self, request: Request, roadmap_id: int, item_id: int) -> HttpResponse:
        roadmap = _roadmap(self.workspace, roadmap_id)
        params = self.RemoveFilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        services.placement_remove(
            workspace=self.workspace,
            actor=request.user,
            roadmap=roadmap,
            item=self._item(item_id),
            reason=params.validated_data.get("reason", ""),
        )
        return HttpResponse(status=204)


# --- schedules ---------------------------------------------------------------------------------
class ScheduleOutputSerializer(serializers.Serializer):
    item_id = serializers.IntegerField()
    release_id = serializers.IntegerField(allow_null=True)
    start_date = serializers.DateField(allow_null=True)
    end_date = serializers.DateField(allow_null=True)


def _schedule_payload(workspace: Workspace, item_id: int) -> dict[str, Any]:
    schedule = ItemSchedule.objects.for_workspace(workspace).filter(item_id=item_id).first()
    return {
        "item_id": item_id,
        "release_id": schedule.release_id if schedule else None,
        "start_date": schedule.start_date if schedule else None,
        "end_date": schedule.end_date if schedule else None,
    }


class ItemScheduleApi(WorkspaceApiView):
    @extend_schema_serializer(component_name="ItemScheduleInput")
    class InputSerializer(serializers.Serializer):
        release_id = serializers.IntegerField(required=False, allow_null=True)
        start_date = serializers.DateField(required=False, allow_null=True)
        end_date = serializers.DateField(required=False, allow_null=True)
        reason = serializers.CharField(required=False, allow_blank=True, max_length=500)

    def _item(self, item_id: int) -> Item:
        item = (
            Item.objects.for_workspace(self.workspace)
            .filter(id=item_id, merged_into__isnull=True)
            .first()
        )
        if item is None:
            raise Http404
        return item

    @extend_schema(responses=ScheduleOutputSerializer, summary="An item's release and dates")
    def get(self, request: Request, item_id: int) -> HttpResponse:
        return json_response(_schedule_payload(self.workspace, self._item(item_id).id))

    @extend_schema(
        request=InputSerializer,
        responses=ScheduleOutputSerializer,
        summary="Set an item's release and/or dates (what is not sent stays)",
    )
    def patch(self, request: Request, item_id: int) -> HttpResponse:
        item = self._item(item_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.item_schedule_set(
            workspace=self.workspace, actor=request.user, item=item, **data.validated_data
        )
        return json_response(_schedule_payload(self.workspace, item.id))


# --- events ------------------------------------------------------------------------------------
class EventOutputSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()

    class Meta:
        model = RoadmapEvent
        fields = (
            "id", "kind", "item_id", "roadmap_id", "release_id", "before", "after", "reason",
            "is_setback", "actor", "created_at",
        )  # fmt: skip

    def get_actor(self, event: RoadmapEvent) -> dict[str, Any] | None:
        actor = event.actor
        return actor and {"id": actor.id, "email": actor.email, "name": actor.name}


class RoadmapEventListApi(WorkspaceApiView):
    """Events oldest first: an integration polls with `since` or follows `next`."""

    pagination_class = CursorPagination

    class FilterSerializer(serializers.Serializer):
        since = serializers.DateTimeField(required=False, help_text="Events at or after this.")
        until = serializers.DateTimeField(required=False, help_text="Events before this.")
        kind = serializers.MultipleChoiceField(choices=RoadmapEvent.Kind.choices, required=False)
        roadmap = serializers.IntegerField(required=False, min_value=1)
        item = serializers.IntegerField(required=False, min_value=1)
        release = serializers.IntegerField(required=False, min_value=1)

    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet[RoadmapEvent]:
        return RoadmapEvent.objects.for_workspace(workspace)

    @extend_schema(
        parameters=[
            FilterSerializer,
            OpenApiParameter("cursor", OpenApiTypes.STR, required=False),
            OpenApiParameter("page_size", OpenApiTypes.INT, required=False),
        ],
        responses=EventOutputSerializer(many=True),
        summary="Roadmap events (moves, dates, releases, ships, declines), oldest first",
    )
    def get(self, request: Request) -> Response:
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        roadmap = _roadmap(self.workspace, data["roadmap"]) if data.get("roadmap") else None
        qs = selectors.roadmap_event_list(
            workspace=self.workspace,
            roadmap=roadmap,
            since=data.get("since"),
            until=data.get("until"),
            kinds=tuple(sorted(data.get("kind", ()))),
        )
        if data.get("item"):
            qs = qs.filter(item_id=data["item"])
        if data.get("release"):
            qs = qs.filter(release_id=data["release"])
        return paginated_response(
            view=self,
            queryset=qs.order_by("id"),
            serializer_class=EventOutputSerializer,
            request=request,
        )


urlpatterns = [
    path("roadmaps/", RoadmapListCreateApi.as_view(), name="roadmap-list"),
    path("roadmaps/<int:roadmap_id>/", RoadmapDetailApi.as_view(), name="roadmap-detail"),
    path(
        "roadmaps/<int:roadmap_id>/columns/",
        RoadmapColumnListCreateApi.as_view(),
        name="roadmap-column-list",
    ),
    path(
        "roadmaps/<int:roadmap_id>/columns/<int:column_id>/",
        RoadmapColumnDetailApi.as_view(),
        name="roadmap-column-detail",
    ),
    path(
        "roadmaps/<int:roadmap_id>/placements/",
        PlacementListCreateApi.as_view(),
        name="roadmap-placement-list",
    ),
    path(
        "roadmaps/<int:roadmap_id>/placements/<int:item_id>/",
        PlacementDetailApi.as_view(),
        name="roadmap-placement-detail",
    ),
    path("items/<int:item_id>/schedule/", ItemScheduleApi.as_view(), name="roadmap-item-schedule"),
    path("roadmap-events/", RoadmapEventListApi.as_view(), name="roadmap-event-list"),
]
