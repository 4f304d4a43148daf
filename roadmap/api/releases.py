"""The releases REST API: releases (list, create, one, change, delete), a release's items, and
its launch checklist.

A release carries its `version`; one release's responses send it as the ETag, and a change sent
with `If-Match` (or `version` in the body) on an older version is refused with 412.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from pmhub.core.api import CursorPagination, if_match_version, paginated_response, version_etag
from pmhub.workspaces.api.base import WorkspaceApiView
from pmhub.workspaces.models import Workspace
from roadmap import releases
from roadmap.models import DESCRIPTION_MAX_CHARS, REASON_MAX_CHARS, LaunchTask, Release
from roadmap.services import GoneError

STATUS_HELP = f"One of {', '.join(Release.Status.values)}."


# --- output ----------------------------------------------------------------------------------
@extend_schema_serializer(component_name="Release")
class ReleaseOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField(help_text="Markdown.")
    target_date = serializers.DateField(allow_null=True)
    # Plain strings: enums named "status" and "kind" are the backlog's in the schema.
    status = serializers.CharField(help_text=STATUS_HELP)
    released_on = serializers.DateField(allow_null=True)
    version = serializers.IntegerField()
    item_count = serializers.IntegerField(help_text="Items in the release, declined ones aside.")
    shipped_count = serializers.IntegerField()
    progress = serializers.SerializerMethodField(help_text="Shipped of item_count, 0-100.")
    task_count = serializers.IntegerField()
    tasks_done = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_progress(self, release: Release) -> int:
        return releases.release_progress(release)


@extend_schema_serializer(component_name="ReleaseItem")
class ReleaseItemOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    kind = serializers.CharField(help_text="The backlog item's kind.")
    status = serializers.CharField(help_text="The backlog item's status.")
    area_id = serializers.IntegerField(allow_null=True)
    area = serializers.CharField(source="area.name", allow_null=True, default=None)
    owner_id = serializers.IntegerField(allow_null=True)
    primary_score = serializers.FloatField(
        allow_null=True, help_text="By the primary scoring formula; null when unknown."
    )


@extend_schema_serializer(component_name="LaunchTask")
class LaunchTaskOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    release_id = serializers.IntegerField()
    title = serializers.CharField()
    team = serializers.ChoiceField(choices=LaunchTask.Team.choices)
    owner_id = serializers.IntegerField(allow_null=True)
    due_date = serializers.DateField(allow_null=True)
    is_done = serializers.BooleanField()
    done_at = serializers.DateTimeField(allow_null=True)
    position = serializers.IntegerField()
    is_overdue = serializers.BooleanField(help_text="Not done and due before today.")


def _etag(release: Release) -> str:
    return version_etag("release", release.id, release.version)


def _release_response(release: Release, status_code: int = 200) -> Response:
    data = ReleaseOutputSerializer(release).data
    return Response(data, status=status_code, headers={"ETag": _etag(release)})


def _if_match_version(request: Request, release_id: int) -> int | None:
    """The version an If-Match header names (None without one); 412 for another's tag."""
    stale = releases.StaleReleaseError(
        "If-Match names another release or version; read the release again.", extra={}
    )
    return if_match_version(request, "release", release_id, stale)


class _ReleaseApi(WorkspaceApiView):
    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet[Release]:
        return releases.release_list(workspace=workspace)

    def _release(self, release_id: int) -> Release:
        release = self.get_workspace_queryset(self.workspace).filter(id=release_id).first()
        if release is None:
            raise Http404
        return release

    def _counted(self, release_id: int) -> Release:
        return releases.release_get(workspace=self.workspace, release_id=release_id)


# --- releases --------------------------------------------------------------------------------
class _ReleaseFieldsSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(
        required=False, allow_blank=True, max_length=DESCRIPTION_MAX_CHARS, trim_whitespace=False
    )
    target_date = serializers.DateField(required=False, allow_null=True)
    status = serializers.CharField(required=False, help_text=STATUS_HELP)


class ReleaseListCreateApi(_ReleaseApi):
    pagination_class = CursorPagination

    class FilterSerializer(serializers.Serializer):
        status = serializers.CharField(required=False, help_text=STATUS_HELP)
        cursor = serializers.CharField(required=False, max_length=400)
        page_size = serializers.IntegerField(required=False, min_value=1, max_value=200)

        def validate_status(self, value: str) -> str:
            if value not in Release.Status.values:
                raise serializers.ValidationError(STATUS_HELP)
            return value

    @extend_schema_serializer(component_name="ReleaseCreateInput")
    class InputSerializer(_ReleaseFieldsSerializer):
        pass

    @extend_schema(
        parameters=[FilterSerializer],
        responses=ReleaseOutputSerializer(many=True),
        operation_id="roadmap_releases_list",
        summary="Releases with their progress and checklist counts, a cursor page at a time",
    )
    def get(self, request: Request) -> Response:
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        return paginated_response(
            view=self,
            queryset=releases.release_list(
                workspace=self.workspace, status=params.validated_data.get("status")
            ),
            serializer_class=ReleaseOutputSerializer,
            request=request,
        )

    @extend_schema(
        request=InputSerializer,
        responses={201: ReleaseOutputSerializer},
        operation_id="roadmap_releases_create",
        summary="Create a release (names are unique in the workspace, whatever their case)",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        release = releases.release_create(
            workspace=self.workspace, actor=request.user, **data.validated_data
        )
        return _release_response(self._counted(release.id), status.HTTP_201_CREATED)


class ReleaseDetailApi(_ReleaseApi):
    @extend_schema_serializer(component_name="ReleaseUpdateInput")
    class InputSerializer(_ReleaseFieldsSerializer):
        version = serializers.IntegerField(
            required=False, min_value=1, help_text="The version you read (or send If-Match)."
        )
        reason = serializers.CharField(
            required=False,
            allow_blank=True,
            max_length=REASON_MAX_CHARS,
            help_text="Why the target date or status changes; kept with the event.",
        )

    @extend_schema(
        responses=ReleaseOutputSerializer,
        operation_id="roadmap_releases_retrieve",
        summary="One release, with its ETag",
    )
    def get(self, request: Request, release_id: int) -> Response:
        release = self._counted(self._release(release_id).id)
        if _etag(release) in request.headers.get("If-None-Match", ""):
            return Response(status=304, headers={"ETag": _etag(release)})
        return _release_response(release)

    @extend_schema(
        request=InputSerializer,
        responses={200: ReleaseOutputSerializer, 412: None},
        parameters=[
            OpenApiParameter(
                "If-Match",
                location=OpenApiParameter.HEADER,
                required=False,
                description="The ETag you read: a release changed since is not changed (412).",
            )
        ],
        operation_id="roadmap_releases_partial_update",
        summary="Change a release: a new target date or status is recorded as a roadmap event",
    )
    def patch(self, request: Request, release_id: int) -> Response:
        release = self._release(release_id)
        data = self.InputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes: dict[str, Any] = dict(data.validated_data)
        body_version = changes.pop("version", None)
        header_version = _if_match_version(request, release.id)
        releases.release_update(
            workspace=self.workspace,
            actor=request.user,
            release=release,
            version=header_version if header_version is not None else body_version,
            **changes,
        )
        return _release_response(self._counted(release.id))

    @extend_schema(
        responses={204: None},
        operation_id="roadmap_releases_destroy",
        summary="Delete a release and its checklist; its items lose their target release",
    )
    def delete(self, request: Request, release_id: int) -> Response:
        release = self._release(release_id)
        releases.release_delete(workspace=self.workspace, actor=request.user, release=release)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ReleaseItemListApi(_ReleaseApi):
    pagination_class = CursorPagination

    @extend_schema(
        parameters=[
            OpenApiParameter("cursor", str, required=False),
            OpenApiParameter("page_size", int, required=False),
        ],
        responses=ReleaseItemOutputSerializer(many=True),
        operation_id="roadmap_release_items_list",
        summary="The items targeted at a release (set an item's release via its schedule)",
    )
    def get(self, request: Request, release_id: int) -> Response:
        release = self._release(release_id)
        return paginated_response(
            view=self,
            queryset=releases.release_item_queryset(workspace=self.workspace, release=release),
            serializer_class=ReleaseItemOutputSerializer,
            request=request,
        )


# --- launch checklist ------------------------------------------------------------------------
class _LaunchTaskFieldsSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=releases.TITLE_MAX_CHARS)
    team = serializers.ChoiceField(choices=LaunchTask.Team.choices, required=False)
    owner_id = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    due_date = serializers.DateField(required=False, allow_null=True)


def _task_out(task: LaunchTask) -> dict[str, Any]:
    return LaunchTaskOutputSerializer(releases.launch_tasks_mark_overdue([task])[0]).data


class LaunchTaskListCreateApi(_ReleaseApi):
    @extend_schema_serializer(component_name="LaunchTaskCreateInput")
    class InputSerializer(_LaunchTaskFieldsSerializer):
        pass

    @extend_schema_serializer(component_name="LaunchTaskList")
    class ListOutputSerializer(serializers.Serializer):
        results = LaunchTaskOutputSerializer(many=True)

    @extend_schema(
        responses=ListOutputSerializer,
        operation_id="roadmap_release_tasks_list",
        summary=f"A release's launch checklist, in order (at most {releases.MAX_LAUNCH_TASKS})",
    )
    def get(self, request: Request, release_id: int) -> Response:
        release = self._release(release_id)
        tasks = releases.launch_task_list(workspace=self.workspace, release=release)
        return Response({"results": LaunchTaskOutputSerializer(tasks, many=True).data})

    @extend_schema(
        request=InputSerializer,
        responses={201: LaunchTaskOutputSerializer},
        operation_id="roadmap_release_tasks_create",
        summary="Add a task at the end of the launch checklist",
    )
    def post(self, request: Request, release_id: int) -> Response:
        release = self._release(release_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        task = releases.launch_task_create(
            workspace=self.workspace, actor=request.user, release=release, **data.validated_data
        )
        return Response(_task_out(task), status=status.HTTP_201_CREATED)


class LaunchTaskDetailApi(_ReleaseApi):
    @extend_schema_serializer(component_name="LaunchTaskUpdateInput")
    class InputSerializer(_LaunchTaskFieldsSerializer):
        is_done = serializers.BooleanField(required=False)

    def _task(self, release_id: int, launch_task_id: int) -> LaunchTask:
        release = self._release(release_id)
        try:
            return releases.launch_task_get(
                workspace=self.workspace, release=release, launch_task_id=launch_task_id
            )
        except LaunchTask.DoesNotExist as exc:
            raise Http404 from exc

    @extend_schema(
        request=InputSerializer,
        responses=LaunchTaskOutputSerializer,
        operation_id="roadmap_release_tasks_partial_update",
        summary="Change a launch task: title, team, owner, due date, done",
    )
    def patch(self, request: Request, release_id: int, launch_task_id: int) -> Response:
        task = self._task(release_id, launch_task_id)
        data = self.InputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        try:
            task = releases.launch_task_update(
                workspace=self.workspace, actor=request.user, task=task, **data.validated_data
            )
        except GoneError as exc:
            raise Http404 from exc
        return Response(_task_out(task))

    @extend_schema(
        responses={204: None},
        operation_id="roadmap_release_tasks_destroy",
        summary="Delete a launch task",
    )
    def delete(self, request: Request, release_id: int, launch_task_id: int) -> Response:
        task = self._task(release_id, launch_task_id)
        releases.launch_task_delete(workspace=self.workspace, actor=request.user, task=task)
        return Response(status=status.HTTP_204_NO_CONTENT)


_RELEASE = "releases/<int:release_id>"

urlpatterns = [
    path("releases/", ReleaseListCreateApi.as_view(), name="roadmap-release-list"),
    path(f"{_RELEASE}/", ReleaseDetailApi.as_view(), name="roadmap-release-detail"),
    path(f"{_RELEASE}/items/", ReleaseItemListApi.as_view(), name="roadmap-release-items"),
    path(f"{_RELEASE}/tasks/", LaunchTaskListCreateApi.as_view(), name="roadmap-release-task-list"),
    path(
        f"{_RELEASE}/tasks/<int:launch_task_id>/",
        LaunchTaskDetailApi.as_view(),
        name="roadmap-release-task-detail",
    ),
]
