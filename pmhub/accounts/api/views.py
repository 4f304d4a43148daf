from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from pmhub.accounts.models import ApiToken
from pmhub.workspaces.api.base import UserApiView
from pmhub.workspaces.selectors import membership_list_for_user


class MeApi(UserApiView):
    class WorkspaceSerializer(serializers.Serializer):
        slug = serializers.CharField()
        name = serializers.CharField()
        role = serializers.CharField()

    class TokenSerializer(serializers.Serializer):
        name = serializers.CharField()
        access = serializers.CharField()
        prefix = serializers.CharField()

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        email = serializers.EmailField()
        name = serializers.CharField()
        workspaces = serializers.ListField()
        token = serializers.DictField(allow_null=True)

    @extend_schema(responses=OutputSerializer, summary="Who the caller is, and where")
    def get(self, request: Request) -> Response:
        user = request.user
        token = request.auth if isinstance(request.auth, ApiToken) else None
        memberships = membership_list_for_user(user=user)
        if token is not None:
            # A token speaks for its one workspace only.
            memberships = [m for m in memberships if m.workspace_id == token.workspace_id]
        workspaces = [
            {"slug": m.workspace.slug, "name": m.workspace.name, "role": m.role}
            for m in memberships
        ]
        return Response(
            {
                "id": user.id,
                "email": user.email,
                "name": user.name,
                "workspaces": self.WorkspaceSerializer(workspaces, many=True).data,
                "token": self.TokenSerializer(token).data if token else None,
            }
        )
