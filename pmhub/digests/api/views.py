"""The digests REST API: stakeholders (list, create, one, change on a version, delete), what
each follows (list, add, remove, or replace the whole list), the workspace's digest settings
(read; admins change them) and the send log's deliveries (read-only).

A stakeholder's responses carry its `version` as the ETag; a change names the version it began
from (If-Match or `version` in the body): another change came since → 412 with the current
version in `extra`, and nothing is written.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from pmhub.core.api import CursorPagination, if_match_version, paginated_response, version_etag
from pmhub.digests import selectors, services
from pmhub.digests.api.serializers import (
    FOLLOW_KINDS,
    DeliverySerializer,
    DigestSettingsSerializer,
    FollowSerializer,
    OneOfField,
    StakeholderSerializer,
)
from pmhub.digests.models import Cadence, Delivery, Follow, Stakeholder
from pmhub.workspaces.api.base import WorkspaceApiView
from pmhub.workspaces.models import Workspace
from pmhub.workspaces.roles import Role

IF_MATCH = OpenApiParameter(
    "If-Match",
    location=OpenApiParameter.HEADER,
    required=False,
    description="The ETag you read: a stakeholder changed since is not changed (412).",
)
CADENCES = ("", *Cadence.values)


def _etag(stakeholder: Stakeholder) -> str:
    return version_etag("stakeholder", stakeholder.id, stakeholder.version)


class _StakeholderApi(WorkspaceApiView):
    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet[Stakeholder]:
        return selectors.stakeholder_list(workspace=workspace).order_by("id")

    def _stakeholder(self, stakeholder_id: int) -> Stakeholder:
        found = self.get_workspace_queryset(self.workspace).filter(id=stakeholder_id).first()
        if found is None:
            raise Http404
        return found

    def _response(self, stakeholder_id: int, status_code: int = 200) -> Response:
        stakeholder = self._stakeholder(stakeholder_id)
        return Response(
            StakeholderSerializer(stakeholder).data,
            status=status_code,
            headers={"ETag": _etag(stakeholder)},
        )


class _StakeholderFields(serializers.Serializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=120)
    team = serializers.CharField(required=False, allow_blank=True, max_length=80)
    follows_workspace = serializers.BooleanField(required=False)
    cadence = OneOfField(
        values=CADENCES, required=False, allow_blank=True,
        help_text=f"Empty for the workspace's default, else one of {', '.join(Cadence.values)}.",
    )  # fmt: skip
    send_hour = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=23,
        help_text="0 to 23 in their timezone; null for the workspace's default.",
    )  # fmt: skip
    timezone = serializers.CharField(
        required=False, allow_blank=True, max_length=64,
        help_text="An IANA name such as Europe/Paris; empty for the workspace's default.",
    )  # fmt: skip


class StakeholderListCreateApi(_StakeholderApi):
    pagination_class = CursorPagination

    class FilterSerializer(serializers.Serializer):
        status = OneOfField(values=tuple(Stakeholder.Status.values), required=False)
        team = serializers.CharField(required=False, max_length=80)
        cursor = serializers.CharField(required=False, max_length=400)
        page_size = serializers.IntegerField(required=False, min_value=1, max_value=200)

    @extend_schema_serializer(component_name="DigestStakeholderCreateInput")
    class InputSerializer(_StakeholderFields):
        email = serializers.EmailField(max_length=254)

    @extend_schema(
        parameters=[FilterSerializer],
        responses=StakeholderSerializer(many=True),
        operation_id="digests_stakeholders_list",
        summary="Stakeholders with what they follow, a cursor page at a time",
    )
    def get(self, request: Request) -> Response:
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        queryset = selectors.stakeholder_list(
            workspace=self.workspace,
            status=params.validated_data.get("status", ""),
            team=params.validated_data.get("team", ""),
        ).order_by("id")
        return paginated_response(
            view=self, queryset=queryset, serializer_class=StakeholderSerializer, request=request
        )

    @extend_schema(
        request=InputSerializer,
        responses={201: StakeholderSerializer},
        operation_id="digests_stakeholders_create",
        summary="Add a stakeholder (an email already here is refused)",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        stakeholder = services.stakeholder_create(
            workspace=self.workspace,
            email=values.pop("email"),
            timezone_name=values.pop("timezone", ""),
            **values,
        )
        return self._response(stakeholder.id, status.HTTP_201_CREATED)


class StakeholderDetailApi(_StakeholderApi):
    @extend_schema_serializer(component_name="DigestStakeholderUpdateInput")
    class InputSerializer(_StakeholderFields):
        email = serializers.EmailField(required=False, max_length=254)
        version = serializers.IntegerField(
            required=False, min_value=1, help_text="The version you read (or send If-Match)."
        )

    @extend_schema(
        responses=StakeholderSerializer,
        operation_id="digests_stakeholders_retrieve",
        summary="One stakeholder, with its ETag",
    )
    def get(self, request: Request, stakeholder_id: int) -> Response:
        return self._response(stakeholder_id)

    @extend_schema(
        request=InputSerializer,
        responses={200: StakeholderSerializer, 412: None},
        parameters=[IF_MATCH],
        operation_id="digests_stakeholders_partial_update",
        summary="Change a stakeholder; a stale version is refused with 412",
    )
    def patch(self, request: Request, stakeholder_id: int) -> Response:
        stakeholder = self._stakeholder(stakeholder_id)
        data = self.InputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes: dict[str, Any] = dict(data.validated_data)
        body_version = changes.pop("version", None)
        stale = services.StaleEditError(
            "If-Match names another stakeholder or version; read the stakeholder again.",
            extra={"version": stakeholder.version},
        )
        header_version = if_match_version(request, "stakeholder", stakeholder.id, stale)
        services.stakeholder_update(
            workspace=self.workspace,
            stakeholder=stakeholder,
            version=header_version if header_version is not None else body_version,
            **changes,
        )
        return self._response(stakeholder.id)

    @extend_schema(
        responses={204: None},
        operation_id="digests_stakeholders_destroy",
        summary="Remove a stakeholder with their follows and send log",
    )
    def delete(self, request: Request, stakeholder_id: int) -> Response:
        services.stakeholder_delete(
            workspace=self.workspace, stakeholder=self._stakeholder(stakeholder_id)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_serializer(component_name="DigestFollowCreateInput")
class FollowInputSerializer(serializers.Serializer):
    kind = OneOfField(values=FOLLOW_KINDS)
    target_id = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    owns = serializers.BooleanField(
        required=False, default=False, help_text="Companies only: they own it."
    )


class FollowListCreateApi(_StakeholderApi):
    pagination_class = CursorPagination

    class FilterSerializer(serializers.Serializer):
        cursor = serializers.CharField(required=False, max_length=400)
        page_size = serializers.IntegerField(required=False, min_value=1, max_value=200)

    InputSerializer = FollowInputSerializer

    @extend_schema(
        parameters=[FilterSerializer],
        responses=FollowSerializer(many=True),
        operation_id="digests_follows_list",
        summary="What a stakeholder follows",
    )
    def get(self, request: Request, stakeholder_id: int) -> Response:
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        stakeholder = self._stakeholder(stakeholder_id)
        queryset = selectors.follow_queryset(self.workspace).filter(stakeholder_id=stakeholder.id)
        return paginated_response(
            view=self, queryset=queryset, serializer_class=FollowSerializer, request=request
        )

    @extend_schema(
        request=InputSerializer,
        responses={201: FollowSerializer},
        operation_id="digests_follows_create",
        summary="Follow an area, roadmap, item or company (idempotent; `owns` is updated)",
    )
    def post(self, request: Request, stakeholder_id: int) -> Response:
        stakeholder = self._stakeholder(stakeholder_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        follow = services.follow_add(
            workspace=self.workspace,
            stakeholder=stakeholder,
            owns=values["owns"],
            **{f"{values['kind']}_id": values["target_id"]},
        )
        created = selectors.follow_queryset(self.workspace).get(id=follow.id)
        return Response(FollowSerializer(created).data, status=status.HTTP_201_CREATED)

    @extend_schema_serializer(component_name="DigestFollowsReplaceInput")
    class ReplaceSerializer(serializers.Serializer):
        follows = serializers.ListField(
            child=FollowInputSerializer(), max_length=services.MAX_FOLLOWS, allow_empty=True,
            help_text="The stakeholder's whole list: anything not in it is unfollowed.",
        )  # fmt: skip

    @extend_schema(
        request=ReplaceSerializer,
        responses=FollowSerializer(many=True),
        operation_id="digests_follows_replace",
        summary="Replace everything a stakeholder follows in one call (e.g. a CRM sync)",
    )
    def put(self, request: Request, stakeholder_id: int) -> Response:
        stakeholder = self._stakeholder(stakeholder_id)
        data = self.ReplaceSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        follows = services.stakeholder_follows_set(
            workspace=self.workspace,
            stakeholder=stakeholder,
            follows=[
                (follow["kind"], follow["target_id"], follow["owns"])
                for follow in data.validated_data["follows"]
            ],
        )
        read = selectors.follow_queryset(self.workspace).filter(id__in=[f.id for f in follows])
        return Response(FollowSerializer(read, many=True).data)


class FollowDetailApi(_StakeholderApi):
    @extend_schema(
        responses={204: None},
        operation_id="digests_follows_destroy",
        summary="Stop following one thing",
    )
    def delete(self, request: Request, stakeholder_id: int, follow_id: int) -> Response:
        stakeholder = self._stakeholder(stakeholder_id)
        if not (
            Follow.objects.for_workspace(self.workspace)
            .filter(stakeholder_id=stakeholder.id, id=follow_id)
            .exists()
        ):
            raise Http404
        services.follow_remove(
            workspace=self.workspace, stakeholder=stakeholder, follow_id=follow_id
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class DigestSettingsApi(WorkspaceApiView):
    # The sender name and reply-to speak for the workspace to people outside it.
    required_roles = {"PATCH": Role.ADMIN}

    @extend_schema_serializer(component_name="DigestSettingsUpdateInput")
    class InputSerializer(serializers.Serializer):
        cadence = OneOfField(values=tuple(Cadence.values), required=False)
        send_hour = serializers.IntegerField(required=False, min_value=0, max_value=23)
        timezone = serializers.CharField(required=False, max_length=64)
        sender_name = serializers.CharField(required=False, allow_blank=True, max_length=120)
        reply_to = serializers.EmailField(required=False, allow_blank=True)

    @extend_schema(
        responses=DigestSettingsSerializer,
        operation_id="digests_settings_retrieve",
        summary="The workspace's digest defaults",
    )
    def get(self, request: Request) -> Response:
        found = services.digest_settings_get(workspace=self.workspace)
        return Response(DigestSettingsSerializer(found).data)

    @extend_schema(
        request=InputSerializer,
        responses=DigestSettingsSerializer,
        operation_id="digests_settings_partial_update",
        summary="Change the workspace's digest defaults (admins)",
    )
    def patch(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        found = services.digest_settings_update(workspace=self.workspace, **data.validated_data)
        return Response(DigestSettingsSerializer(found).data)


class DeliveryPagination(CursorPagination):
    """Newest first."""

    ordering = "-id"


class DeliveryListApi(WorkspaceApiView):
    pagination_class = DeliveryPagination

    class FilterSerializer(serializers.Serializer):
        stakeholder_id = serializers.IntegerField(required=False, min_value=1)
        period = serializers.CharField(required=False, max_length=48)
        status = OneOfField(values=tuple(Delivery.Status.values), required=False)
        cursor = serializers.CharField(required=False, max_length=400)
        page_size = serializers.IntegerField(required=False, min_value=1, max_value=200)

    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet[Delivery]:
        return selectors.delivery_queryset(workspace)

    @extend_schema(
        parameters=[FilterSerializer],
        responses=DeliverySerializer(many=True),
        operation_id="digests_deliveries_list",
        summary="The send log: every digest made, newest first (read-only)",
    )
    def get(self, request: Request) -> Response:
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        filters = {
            key: params.validated_data[key]
            for key in ("stakeholder_id", "period", "status")
            if key in params.validated_data
        }
        queryset = self.get_workspace_queryset(self.workspace).filter(**filters)
        return paginated_response(
            view=self, queryset=queryset, serializer_class=DeliverySerializer, request=request
        )
