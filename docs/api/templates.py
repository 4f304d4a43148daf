"""The document templates REST API: list (the shipped one of each kind included), create, one,
change (If-Match or `version`: 412 on a newer one), delete."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from docs import services
from docs.api.serializers import KindField, TemplateSerializer
from docs.models import BODY_MAX_CHARS, DocumentTemplate
from pmhub.core.api import CursorPagination, if_match_version, paginated_response, version_etag
from pmhub.workspaces.api.base import WorkspaceApiView
from pmhub.workspaces.models import Workspace


def _etag(template: DocumentTemplate) -> str:
    return version_etag("doc-template", template.id, template.version)


def _template_response(template: DocumentTemplate, status_code: int = 200) -> Response:
    return Response(
        TemplateSerializer(template).data, status=status_code, headers={"ETag": _etag(template)}
    )


class _TemplateApi(WorkspaceApiView):
    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet[DocumentTemplate]:
        return DocumentTemplate.objects.for_workspace(workspace)

    def _template(self, template_id: int) -> DocumentTemplate:
        template = self.get_workspace_queryset(self.workspace).filter(id=template_id).first()
        if template is None:
            raise Http404
        return template


class _TemplateFieldsSerializer(serializers.Serializer):
    kind = KindField()
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(required=False, allow_blank=True, max_length=300)
    body = serializers.CharField(
        required=False, allow_blank=True, max_length=BODY_MAX_CHARS, trim_whitespace=False
    )


class TemplateListCreateApi(_TemplateApi):
    pagination_class = CursorPagination

    class FilterSerializer(serializers.Serializer):
        kind = KindField(required=False)
        cursor = serializers.CharField(required=False, max_length=400)
        page_size = serializers.IntegerField(required=False, min_value=1, max_value=200)

    @extend_schema_serializer(component_name="DocTemplateCreateInput")
    class InputSerializer(_TemplateFieldsSerializer):
        pass

    @extend_schema(
        parameters=[FilterSerializer],
        responses=TemplateSerializer(many=True),
        operation_id="docs_templates_list",
        summary="Document templates (one shipped per kind, and the workspace's own)",
    )
    def get(self, request: Request) -> Response:
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        services.templates_ensure(workspace=self.workspace)
        queryset = self.get_workspace_queryset(self.workspace)
        if params.validated_data.get("kind"):
            queryset = queryset.filter(kind=params.validated_data["kind"])
        return paginated_response(
            view=self, queryset=queryset, serializer_class=TemplateSerializer, request=request
        )

    @extend_schema(
        request=InputSerializer,
        responses={201: TemplateSerializer},
        operation_id="docs_templates_create",
        summary="Add a template (names are unique in the workspace, whatever their case)",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        template = services.template_create(
            workspace=self.workspace,
            kind=values["kind"],
            name=values["name"],
            body=values.get("body", ""),
            description=values.get("description", ""),
        )
        return _template_response(template, status.HTTP_201_CREATED)


class TemplateDetailApi(_TemplateApi):
    @extend_schema_serializer(component_name="DocTemplateUpdateInput")
    class InputSerializer(_TemplateFieldsSerializer):
        version = serializers.IntegerField(
            required=False, min_value=1, help_text="The version you read (or send If-Match)."
        )

    @extend_schema(
        responses=TemplateSerializer,
        operation_id="docs_templates_retrieve",
        summary="One template, with its ETag",
    )
    def get(self, request: Request, template_id: int) -> Response:
        return _template_response(self._template(template_id))

    @extend_schema(
        request=InputSerializer,
        responses={200: TemplateSerializer, 412: None},
        parameters=[
            OpenApiParameter(
                "If-Match",
                location=OpenApiParameter.HEADER,
                required=False,
                description="The ETag you read: a template changed since is not changed (412).",
            )
        ],
        operation_id="docs_templates_partial_update",
        summary="Change a template's kind, name, description or body",
    )
    def patch(self, request: Request, template_id: int) -> Response:
        template = self._template(template_id)
        data = self.InputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes: dict[str, Any] = dict(data.validated_data)
        body_version = changes.pop("version", None)
        stale = services.StaleDocumentError(
            "If-Match names another template or version; read the template again.",
            extra={"version": template.version},
        )
        header_version = if_match_version(request, "doc-template", template.id, stale)
        template = services.template_update(
            workspace=self.workspace,
            template=template,
            version=header_version if header_version is not None else body_version,
            **changes,
        )
        return _template_response(template)

    @extend_schema(
        responses={204: None},
        operation_id="docs_templates_destroy",
        summary="Delete a template (documents made from it keep their text)",
    )
    def delete(self, request: Request, template_id: int) -> Response:
        services.template_delete(workspace=self.workspace, template=self._template(template_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


urlpatterns = [
    path("doc-templates/", TemplateListCreateApi.as_view(), name="docs-template-list"),
    path(
        "doc-templates/<int:template_id>/",
        TemplateDetailApi.as_view(),
        name="docs-template-detail",
    ),
]
