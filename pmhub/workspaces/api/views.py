from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from pmhub.core.api import CursorPagination, paginated_response
from pmhub.workspaces.api.base import WorkspaceApiView
from pmhub.workspaces.models import Invitation, Membership, Workspace
from pmhub.workspaces.roles import Role
from pmhub.workspaces.selectors import invitation_list_open, membership_get, membership_list
from pmhub.workspaces.services import (
    invitation_create,
    membership_remove,
    membership_role_change,
    workspace_update,
)


class WorkspaceOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Workspace
        fields = ["id", "slug", "name", "created_at"]


class MemberOutputSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email")
    name = serializers.CharField(source="user.name")
    user_id = serializers.IntegerField()
    joined_at = serializers.DateTimeField(source="created_at")

    class Meta:
        model = Membership
        fields = ["id", "user_id", "email", "name", "role", "joined_at"]


class WorkspaceDetailApi(WorkspaceApiView):
    required_roles = {"PATCH": Role.ADMIN}

    @extend_schema_serializer(component_name="WorkspaceUpdateInput")
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=80)

    @extend_schema(responses=WorkspaceOutputSerializer, summary="The workspace")
    def get(self, request: Request) -> Response:
        return Response(WorkspaceOutputSerializer(self.workspace).data)

    @extend_schema(
        request=InputSerializer,
        responses=WorkspaceOutputSerializer,
        summary="Rename the workspace (admin)",
    )
    def patch(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        workspace = workspace_update(
            workspace=self.workspace, actor=request.user, **data.validated_data
        )
        return Response(WorkspaceOutputSerializer(workspace).data)


class MemberListApi(WorkspaceApiView):
    pagination_class = CursorPagination

    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet[Membership]:
        return membership_list(workspace=workspace)

    @extend_schema(responses=MemberOutputSerializer(many=True), summary="Members of the workspace")
    def get(self, request: Request) -> Response:
        return paginated_response(
            view=self,
            request=request,
            queryset=self.get_workspace_queryset(self.workspace),
            serializer_class=MemberOutputSerializer,
        )


class MemberDetailApi(WorkspaceApiView):
    required_roles = {"PATCH": Role.ADMIN, "DELETE": Role.ADMIN}

    @extend_schema_serializer(component_name="MemberRoleInput")
    class InputSerializer(serializers.Serializer):
        role = serializers.ChoiceField(choices=Role.choices)

    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet[Membership]:
        return membership_list(workspace=workspace)

    @extend_schema(responses=MemberOutputSerializer, summary="One member")
    def get(self, request: Request, member_id: int) -> Response:
        membership = membership_get(workspace=self.workspace, membership_id=member_id)
        return Response(MemberOutputSerializer(membership).data)

    @extend_schema(
        request=InputSerializer,
        responses=MemberOutputSerializer,
        summary="Change a member's role (admin)",
    )
    def patch(self, request: Request, member_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = membership_role_change(
            workspace=self.workspace,
            actor=request.user,
            membership=membership_get(workspace=self.workspace, membership_id=member_id),
            role=data.validated_data["role"],
        )
        return Response(MemberOutputSerializer(membership).data)

    @extend_schema(responses={204: None}, summary="Remove a member (admin)")
    def delete(self, request: Request, member_id: int) -> Response:
        membership_remove(
            workspace=self.workspace,
            actor=request.user,
            membership=membership_get(workspace=self.workspace, membership_id=member_id),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Invitation
        fields = ["id", "email", "role", "expires_at", "email_status", "created_at"]


class InvitationListCreateApi(WorkspaceApiView):
    pagination_class = CursorPagination
    required_roles = {"GET": Role.ADMIN, "POST": Role.ADMIN}

    @extend_schema_serializer(component_name="InvitationCreateInput")
    class InputSerializer(serializers.Serializer):
        email = serializers.EmailField(max_length=254)
        role = serializers.ChoiceField(choices=Role.choices, default=Role.EDITOR)

    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet[Invitation]:
        return invitation_list_open(workspace=workspace)

    @extend_schema(
        responses=InvitationOutputSerializer(many=True), summary="Open invitations (admin)"
    )
    def get(self, request: Request) -> Response:
        return paginated_response(
            view=self,
            request=request,
            queryset=self.get_workspace_queryset(self.workspace),
            serializer_class=InvitationOutputSerializer,
        )

    @extend_schema(
        request=InputSerializer,
        responses={201: InvitationOutputSerializer},
        summary="Invite someone by email (admin)",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invitation = invitation_create(
            workspace=self.workspace, actor=request.user, **data.validated_data
        )
        return Response(InvitationOutputSerializer(invitation).data, status=201)
