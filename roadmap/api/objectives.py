"""The objectives API: objectives with their key results nested, key results, their values
(recorded one at a time or as a CSV, read back as a paginated history) and the items linked to
them. Every write goes through roadmap.objectives' services.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import serializers
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from pmhub.core.api import CursorPagination, paginated_response
from pmhub.core.views import object_or_404
from pmhub.workspaces.api.base import WorkspaceApiView
from pmhub.workspaces.models import Workspace
from roadmap import objectives as okr
from roadmap.models import DESCRIPTION_MAX_CHARS, KeyResult, KeyResultValue, Objective

# The positions' column (PositiveIntegerField) is a PostgreSQL integer; beyond it, a 400.
POSITION_MAX = 2**31 - 1


# --- output ------------------------------------------------------------------------------------
@extend_schema_serializer(component_name="KeyResult")
class KeyResultOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    objective_id = serializers.IntegerField()
    metric = serializers.CharField()
    unit = serializers.CharField(help_text='"%", "$", "ms", "users"... or empty.')
    baseline = serializers.FloatField()
    target = serializers.FloatField(help_text="Lower than the baseline for a falling target.")
    current = serializers.FloatField(allow_null=True, help_text="The newest measurement.")
    current_at = serializers.DateTimeField(allow_null=True)
    progress = serializers.FloatField(help_text="0..1 from baseline to target.")
    position = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class OwnerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    name = serializers.CharField()


@extend_schema_serializer(component_name="Objective")
class ObjectiveOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    description = serializers.CharField(help_text="Markdown.")
    owner = serializers.SerializerMethodField()
    period = serializers.CharField(help_text='"2026 Q4", "H1 2027"...')
    start_date = serializers.DateField(allow_null=True)
    end_date = serializers.DateField(allow_null=True)
    is_archived = serializers.BooleanField()
    position = serializers.IntegerField()
    progress = serializers.SerializerMethodField()
    key_results = KeyResultOutputSerializer(many=True, source="key_results.all")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    @extend_schema_field(OwnerSerializer(allow_null=True))
    def get_owner(self, objective: Objective) -> dict[str, Any] | None:
        owner = objective.owner
        if owner is None:
            return None
        return {"id": owner.id, "email": owner.email, "name": owner.name}

    def get_progress(self, objective: Objective) -> float | None:
        return okr.rollup(objective.key_results.all())


@extend_schema_serializer(component_name="KeyResultValue")
class ValueOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    value = serializers.FloatField()
    measured_at = serializers.DateTimeField()
    # A plain string: an enum here would collide with feedback's `source` enum in the schema.
    source = serializers.CharField(help_text='How it was recorded: "manual", "csv" or "api".')
    note = serializers.CharField()
    created_at = serializers.DateTimeField()


@extend_schema_serializer(component_name="KeyResultValuesImport")
class ImportOutputSerializer(serializers.Serializer):
    added = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()


@extend_schema_serializer(component_name="KeyResultItemLink")
class LinkOutputSerializer(serializers.Serializer):
    item_id = serializers.IntegerField()


def _objective(workspace: Workspace, objective_id: int) -> Objective:
    return object_or_404(okr.objective_get, workspace=workspace, objective_id=objective_id)


def _key_result(workspace: Workspace, objective_id: int, key_result_id: int) -> KeyResult:
    objective = _objective(workspace, objective_id)
    return object_or_404(
        okr.key_result_get, workspace=workspace, key_result_id=key_result_id, objective=objective
    )


def _objective_payload(workspace: Workspace, objective_id: int) -> dict[str, Any]:
    return ObjectiveOutputSerializer(_objective(workspace, objective_id)).data


# --- objectives ----------------------------------------------------------------------------------
class _ObjectiveFields(serializers.Serializer):
    title = serializers.CharField(max_length=okr.TITLE_MAX_CHARS)
    description = serializers.CharField(
        max_length=DESCRIPTION_MAX_CHARS, required=False, allow_blank=True, trim_whitespace=False
    )
    owner_id = serializers.IntegerField(required=False, allow_null=True)
    period = serializers.CharField(
        max_length=okr.PERIOD_MAX_CHARS, required=False, allow_blank=True
    )
    start_date = serializers.DateField(required=False, allow_null=True)
    end_date = serializers.DateField(required=False, allow_null=True)
    position = serializers.IntegerField(required=False, min_value=0, max_value=POSITION_MAX)


class ObjectiveListCreateApi(WorkspaceApiView):
    pagination_class = CursorPagination

    class FilterSerializer(serializers.Serializer):
        archived = serializers.BooleanField(
            required=False, default=False, help_text="Include archived objectives."
        )

    @extend_schema_serializer(component_name="ObjectiveCreateInput")
    class InputSerializer(_ObjectiveFields):
        pass

    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet[Objective]:
        return okr.objective_list(workspace=workspace)

    @extend_schema(
        parameters=[FilterSerializer],
        responses=ObjectiveOutputSerializer(many=True),
        summary="Objectives with their key results and progress (cursor pages)",
    )
    def get(self, request: Request) -> Response:
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        objectives = okr.objective_list(
            workspace=self.workspace, include_archived=params.validated_data["archived"]
        )
        return paginated_response(
            view=self,
            request=request,
            queryset=objectives,
            serializer_class=ObjectiveOutputSerializer,
        )

    @extend_schema(
        request=InputSerializer,
        responses={201: ObjectiveOutputSerializer},
        summary="Create an objective",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        objective = okr.objective_create(
            workspace=self.workspace, actor=request.user, **data.validated_data
        )
        return Response(_objective_payload(self.workspace, objective.id), status=201)


class ObjectiveDetailApi(WorkspaceApiView):
    @extend_schema_serializer(component_name="ObjectiveUpdateInput")
    class InputSerializer(_ObjectiveFields):
        title = serializers.CharField(max_length=okr.TITLE_MAX_CHARS, required=False)
        is_archived = serializers.BooleanField(required=False)
        unchanged_since = serializers.DateTimeField(
            required=False,
            help_text="The updated_at you read: the change is refused with 412 if someone "
            "changed the objective since.",
        )

    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet[Objective]:
        return okr.objective_list(workspace=workspace, include_archived=True)

    @extend_schema(responses=ObjectiveOutputSerializer, summary="One objective")
    def get(self, request: Request, objective_id: int) -> Response:
        return Response(_objective_payload(self.workspace, objective_id))

    @extend_schema(
        request=InputSerializer,
        responses={200: ObjectiveOutputSerializer, 412: OpenApiResponse(description="Stale.")},
        summary="Change an objective, or archive it (is_archived)",
    )
    def patch(self, request: Request, objective_id: int) -> Response:
        objective = _objective(self.workspace, objective_id)
        data = self.InputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        archived = changes.pop("is_archived", None)
        if changes.keys() - {"unchanged_since"}:
            okr.objective_update(
                workspace=self.workspace, actor=request.user, objective=objective, **changes
            )
        if archived is not None:
            okr.objective_archive(
                workspace=self.workspace, actor=request.user, objective=objective, archived=archived
            )
        return Response(_objective_payload(self.workspace, objective.id))

    @extend_schema(
        responses={204: None},
        summary="Delete an objective with its key results and their history",
    )
    def delete(self, request: Request, objective_id: int) -> Response:
        objective = _objective(self.workspace, objective_id)
        okr.objective_delete(workspace=self.workspace, actor=request.user, objective=objective)
        return Response(status=204)


# --- key results ---------------------------------------------------------------------------------
class _KeyResultFields(serializers.Serializer):
    metric = serializers.CharField(max_length=okr.METRIC_MAX_CHARS)
    unit = serializers.CharField(max_length=okr.UNIT_MAX_CHARS, required=False, allow_blank=True)
    baseline = serializers.FloatField(required=False, default=0)
    target = serializers.FloatField(help_text="Must differ from the baseline.")
    position = serializers.IntegerField(required=False, min_value=0, max_value=POSITION_MAX)


class KeyResultCreateApi(WorkspaceApiView):
    @extend_schema_serializer(component_name="KeyResultCreateInput")
    class InputSerializer(_KeyResultFields):
        pass

    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet[KeyResult]:
        return KeyResult.objects.for_workspace(workspace)

    @extend_schema(
        request=InputSerializer,
        responses={201: KeyResultOutputSerializer},
        summary="Add a key result to an objective",
    )
    def post(self, request: Request, objective_id: int) -> Response:
        objective = _objective(self.workspace, objective_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key_result = okr.key_result_create(
            workspace=self.workspace, actor=request.user, objective=objective, **data.validated_data
        )
        return Response(KeyResultOutputSerializer(key_result).data, status=201)


class KeyResultDetailApi(WorkspaceApiView):
    @extend_schema_serializer(component_name="KeyResultUpdateInput")
    class InputSerializer(_KeyResultFields):
        metric = serializers.CharField(max_length=okr.METRIC_MAX_CHARS, required=False)
        baseline = serializers.FloatField(required=False)
        target = serializers.FloatField(required=False)

    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet[KeyResult]:
        return KeyResult.objects.for_workspace(workspace)

    @extend_schema(responses=KeyResultOutputSerializer, summary="One key result")
    def get(self, request: Request, objective_id: int, key_result_id: int) -> Response:
        key_result = _key_result(self.workspace, objective_id, key_result_id)
        return Response(KeyResultOutputSerializer(key_result).data)

    @extend_schema(
        request=InputSerializer,
        responses=KeyResultOutputSerializer,
        summary="Change a key result's metric, unit, baseline, target or position",
    )
    def patch(self, request: Request, objective_id: int, key_result_id: int) -> Response:
        key_result = _key_result(self.workspace, objective_id, key_result_id)
        data = self.InputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        key_result = okr.key_result_update(
            workspace=self.workspace,
            actor=request.user,
            key_result=key_result,
            **data.validated_data,
        )
        return Response(KeyResultOutputSerializer(key_result).data)

    @extend_schema(responses={204: None}, summary="Delete a key result with its history")
    def delete(self, request: Request, objective_id: int, key_result_id: int) -> Response:
        key_result = _key_result(self.workspace, objective_id, key_result_id)
        okr.key_result_delete(workspace=self.workspace, actor=request.user, key_result=key_result)
        return Response(status=204)


# --- values --------------------------------------------------------------------------------------
class ValueCursorPagination(CursorPagination):
    """Newest measurement first; a key result has one measurement per moment."""

    ordering = "-measured_at"
    max_page_size = 1000


class KeyResultValueListCreateApi(WorkspaceApiView):
    pagination_class = ValueCursorPagination

    @extend_schema_serializer(component_name="KeyResultValueInput")
    class InputSerializer(serializers.Serializer):
        value = serializers.FloatField()
        measured_at = serializers.DateTimeField(
            required=False,
            help_text="When it was measured (ISO 8601); now if left out. A value at the same "
            "moment as a stored one replaces it. Not in the future.",
        )
        note = serializers.CharField(
            max_length=okr.NOTE_MAX_CHARS, required=False, allow_blank=True
        )

    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet[KeyResultValue]:
        return KeyResultValue.objects.for_workspace(workspace)

    @extend_schema(
        responses=ValueOutputSerializer(many=True),
        summary="A key result's history, newest first (cursor pages)",
    )
    def get(self, request: Request, objective_id: int, key_result_id: int) -> Response:
        key_result = _key_result(self.workspace, objective_id, key_result_id)
        return paginated_response(
            view=self,
            request=request,
            queryset=okr.key_result_history(workspace=self.workspace, key_result=key_result),
            serializer_class=ValueOutputSerializer,
        )

    @extend_schema(
        request=InputSerializer,
        responses={201: ValueOutputSerializer},
        summary="Record a measurement (source: api); the newest becomes the current value",
    )
    def post(self, request: Request, objective_id: int, key_result_id: int) -> Response:
        key_result = _key_result(self.workspace, objective_id, key_result_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        value = okr.key_result_value_record(
            workspace=self.workspace,
            actor=request.user,
            key_result=key_result,
            source=KeyResultValue.Source.API,
            **data.validated_data,
        )
        return Response(ValueOutputSerializer(value).data, status=201)


class KeyResultValueDeleteApi(WorkspaceApiView):
    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet[KeyResultValue]:
        return KeyResultValue.objects.for_workspace(workspace)

    @extend_schema(
        responses={204: None},
        summary="Delete a measurement; the current value falls back to the newest one left",
    )
    def delete(
        self, request: Request, objective_id: int, key_result_id: int, key_result_value_id: int
    ) -> Response:
        key_result = _key_result(self.workspace, objective_id, key_result_id)
        value = object_or_404(
            okr.key_result_value_get,
            workspace=self.workspace,
            key_result=key_result,
            key_result_value_id=key_result_value_id,
        )
        okr.key_result_value_delete(workspace=self.workspace, actor=request.user, value=value)
        return Response(status=204)


class KeyResultValuesImportApi(WorkspaceApiView):
    parser_classes = (MultiPartParser, FormParser)

    @extend_schema_serializer(component_name="KeyResultValuesImportInput")
    class InputSerializer(serializers.Serializer):
        file = serializers.FileField(
            help_text=f"CSV of date,value[,note] rows (header optional), UTF-8, at most "
            f"{okr.CSV_MAX_ROWS:,} rows and {okr.CSV_MAX_BYTES // 1_000_000} MB."
        )

    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet[KeyResultValue]:
        return KeyResultValue.objects.for_workspace(workspace)

    @extend_schema(
        request={"multipart/form-data": InputSerializer},
        responses={
            200: ImportOutputSerializer,
            400: OpenApiResponse(
                description='Nothing imported; extra.errors lists [{"row", "message"}].'
            ),
        },
        summary="Import dated values from a CSV (idempotent: upsert on the date)",
    )
    def post(self, request: Request, objective_id: int, key_result_id: int) -> Response:
        key_result = _key_result(self.workspace, objective_id, key_result_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = okr.key_result_values_import_csv(
            workspace=self.workspace,
            actor=request.user,
            key_result=key_result,
            file=data.validated_data["file"],
        )
        return Response(ImportOutputSerializer(result).data)


# --- item links ----------------------------------------------------------------------------------
class KeyResultItemLinkApi(WorkspaceApiView):
    parser_classes = (JSONParser, FormParser)

    @extend_schema_serializer(component_name="KeyResultItemLinkInput")
    class InputSerializer(serializers.Serializer):
        item_id = serializers.IntegerField(min_value=1)

    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet[KeyResult]:
        return KeyResult.objects.for_workspace(workspace)

    @extend_schema(
        request=InputSerializer,
        responses={
            201: OpenApiResponse(LinkOutputSerializer, description="Linked."),
            200: OpenApiResponse(LinkOutputSerializer, description="Was already linked."),
        },
        summary="Link a backlog item to the key result it should move",
    )
    def post(self, request: Request, objective_id: int, key_result_id: int) -> Response:
        key_result = _key_result(self.workspace, objective_id, key_result_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = okr.key_result_item_link(
            workspace=self.workspace,
            actor=request.user,
            key_result=key_result,
            item_id=data.validated_data["item_id"],
        )
        return Response({"item_id": data.validated_data["item_id"]}, status=201 if created else 200)


class KeyResultItemUnlinkApi(WorkspaceApiView):
    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet[KeyResult]:
        return KeyResult.objects.for_workspace(workspace)

    @extend_schema(
        parameters=[OpenApiParameter("item_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        responses={204: None},
        summary="Unlink an item from a key result (harmless when it is not linked)",
    )
    def delete(
        self, request: Request, objective_id: int, key_result_id: int, item_id: int
    ) -> Response:
        key_result = _key_result(self.workspace, objective_id, key_result_id)
        okr.key_result_item_unlink(
            workspace=self.workspace, actor=request.user, key_result=key_result, item_id=item_id
        )
        return Response(status=204)


_OBJECTIVE = "objectives/<int:objective_id>"
_KEY_RESULT = f"{_OBJECTIVE}/key-results/<int:key_result_id>"

urlpatterns = [
    path("objectives/", ObjectiveListCreateApi.as_view(), name="roadmap-objective-list"),
    path(f"{_OBJECTIVE}/", ObjectiveDetailApi.as_view(), name="roadmap-objective-detail"),
    path(
        f"{_OBJECTIVE}/key-results/", KeyResultCreateApi.as_view(), name="roadmap-key-result-list"
    ),
    path(f"{_KEY_RESULT}/", KeyResultDetailApi.as_view(), name="roadmap-key-result-detail"),
    path(
        f"{_KEY_RESULT}/values/",
        KeyResultValueListCreateApi.as_view(),
        name="roadmap-key-result-values",
    ),
    path(
        f"{_KEY_RESULT}/values/import/",
        KeyResultValuesImportApi.as_view(),
        name="roadmap-key-result-values-import",
    ),
    path(
        f"{_KEY_RESULT}/values/<int:key_result_value_id>/",
        KeyResultValueDeleteApi.as_view(),
        name="roadmap-key-result-value-detail",
    ),
    path(f"{_KEY_RESULT}/items/", KeyResultItemLinkApi.as_view(), name="roadmap-key-result-items"),
    path(
        f"{_KEY_RESULT}/items/<int:item_id>/",
        KeyResultItemUnlinkApi.as_view(),
        name="roadmap-key-result-item",
    ),
]
