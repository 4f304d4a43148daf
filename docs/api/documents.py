"""The documents REST API: documents (list, create, one, save, delete), their revisions (read),
publishing, and comments.

A document carries its `version` (the newest revision's number); one document's responses send
it as the ETag. A save names the version it began from (`version` in the body, or If-Match):
another save came since → 412, with the newer version, title and body in the error's `extra`
so the caller can merge, and nothing is written.
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

from docs import services
from docs.api.serializers import (
    CommentSerializer,
    DocumentSerializer,
    DocumentSummarySerializer,
    KindField,
    RevisionSerializer,
    RevisionSummarySerializer,
    StatusField,
)
from docs.models import (
    BODY_MAX_CHARS,
    COMMENT_MAX_CHARS,
    QUOTE_MAX_CHARS,
    SUMMARY_MAX_CHARS,
    TITLE_MAX_CHARS,
    Document,
    DocumentTemplate,
    Revision,
)
from pmhub.core.api import CursorPagination, if_match_version, paginated_response, version_etag
from pmhub.workspaces.api.base import WorkspaceApiView
from pmhub.workspaces.models import Workspace
from pmhub.workspaces.roles import Role

IF_MATCH = OpenApiParameter(
    "If-Match",
    location=OpenApiParameter.HEADER,
    required=False,
    description="The ETag you read: a document saved since is not changed (412).",
)


def _etag(document: Document) -> str:
    return version_etag("document", document.id, document.version)


def _document_response(document: Document, status_code: int = 200) -> Response:
    return Response(
        DocumentSerializer(document).data, status=status_code, headers={"ETag": _etag(document)}
    )


class _DocumentApi(WorkspaceApiView):
    def get_workspace_queryset(self, workspace: Workspace) -> QuerySet[Document]:
        return Document.objects.for_workspace(workspace)

    def _document(self, document_id: int) -> Document:
        document = self.get_workspace_queryset(self.workspace).filter(id=document_id).first()
        if document is None:
            raise Http404
        return document


# --- documents -------------------------------------------------------------------------------
class DocumentListCreateApi(_DocumentApi):
    pagination_class = CursorPagination

    class FilterSerializer(serializers.Serializer):
        kind = KindField(required=False)
        status = StatusField(required=False)
        cursor = serializers.CharField(required=False, max_length=400)
        page_size = serializers.IntegerField(required=False, min_value=1, max_value=200)

    @extend_schema_serializer(component_name="DocDocumentCreateInput")
    class InputSerializer(serializers.Serializer):
        kind = KindField()
        title = serializers.CharField(max_length=TITLE_MAX_CHARS)
        template_id = serializers.IntegerField(
            required=False, allow_null=True, min_value=1,
            help_text="Start from this template's text (ignored when `body` is sent).",
        )  # fmt: skip
        body = serializers.CharField(
            required=False, allow_blank=True, max_length=BODY_MAX_CHARS, trim_whitespace=False
        )

    @extend_schema(
        parameters=[FilterSerializer],
        responses=DocumentSummarySerializer(many=True),
        operation_id="docs_documents_list",
        summary="Documents (without their bodies), a cursor page at a time",
    )
    def get(self, request: Request) -> Response:
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        queryset = self.get_workspace_queryset(self.workspace).defer("body")
        if params.validated_data.get("kind"):
            queryset = queryset.filter(kind=params.validated_data["kind"])
        if params.validated_data.get("status"):
            queryset = queryset.filter(status=params.validated_data["status"])
        return paginated_response(
            view=self,
            queryset=queryset,
            serializer_class=DocumentSummarySerializer,
            request=request,
        )

    @extend_schema(
        request=InputSerializer,
        responses={201: DocumentSerializer},
        operation_id="docs_documents_create",
        summary="Create a document from a template or a body; its first revision",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        template = None
        if values.get("template_id") is not None:
            template = (
                DocumentTemplate.objects.for_workspace(self.workspace)
                .filter(id=values["template_id"])
                .first()
            )
            if template is None:
                raise serializers.ValidationError({"template_id": ["No such template here."]})
        document = services.document_create(
            workspace=self.workspace,
            actor=request.user,
            kind=values["kind"],
            title=values["title"],
            body=values.get("body"),
            template=template,
        )
        return _document_response(document, status.HTTP_201_CREATED)


class DocumentDetailApi(_DocumentApi):
    @extend_schema_serializer(component_name="DocDocumentSaveInput")
    class InputSerializer(serializers.Serializer):
        title = serializers.CharField(required=False, max_length=TITLE_MAX_CHARS)
        body = serializers.CharField(
            required=False, allow_blank=True, max_length=BODY_MAX_CHARS, trim_whitespace=False
        )
        summary = serializers.CharField(
            required=False, allow_blank=True, max_length=SUMMARY_MAX_CHARS,
            help_text="What this save changed; kept with the revision.",
        )  # fmt: skip
        version = serializers.IntegerField(
            required=False, min_value=1, help_text="The version you read (or send If-Match)."
        )

    @extend_schema(
        responses=DocumentSerializer,
        operation_id="docs_documents_retrieve",
        summary="One document with its body and version (the ETag)",
    )
    def get(self, request: Request, document_id: int) -> Response:
        document = self._document(document_id)
        if _etag(document) in request.headers.get("If-None-Match", ""):
            return Response(status=304, headers={"ETag": _etag(document)})
        return _document_response(document)

    @extend_schema(
        request=InputSerializer,
        responses={200: DocumentSerializer, 412: None},
        parameters=[IF_MATCH],
        operation_id="docs_documents_partial_update",
        summary="Save a new title and/or body as the next revision (refused on a newer version)",
    )
    def patch(self, request: Request, document_id: int) -> Response:
        document = self._document(document_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values: dict[str, Any] = data.validated_data
        stale = services.StaleDocumentError(
            "If-Match names another document or version; read the document again.",
            extra={"version": document.version, "title": document.title, "body": document.body},
        )
        header_version = if_match_version(request, "document", document.id, stale)
        base_version = header_version if header_version is not None else values.get("version")
        if base_version is None:
            raise serializers.ValidationError(
                {"version": ["Send the version you read, or an If-Match header."]}
            )
        document = services.document_save(
            workspace=self.workspace,
            actor=request.user,
            document=document,
            base_version=base_version,
            title=values.get("title", document.title),
            body=values.get("body", document.body),
            summary=values.get("summary", ""),
        )
        return _document_response(document)

    @extend_schema(
        responses={204: None},
        operation_id="docs_documents_destroy",
        summary="Delete a document with its revisions, comments and links",
    )
    def delete(self, request: Request, document_id: int) -> Response:
        document = self._document(document_id)
        services.document_delete(workspace=self.workspace, document=document)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DocumentPublishApi(_DocumentApi):
    @extend_schema(
        request=None,
        responses={200: DocumentSerializer},
        operation_id="docs_documents_publish",
        summary="Publish an approved document (release notes appear on the public changelog)",
    )
    def post(self, request: Request, document_id: int) -> Response:
        document = services.document_set_status(
            workspace=self.workspace,
            actor=request.user,
            document=self._document(document_id),
            status=Document.Status.PUBLISHED,
        )
        return _document_response(document)


# --- revisions -------------------------------------------------------------------------------
class RevisionListApi(_DocumentApi):
    pagination_class = CursorPagination

    @extend_schema(
        parameters=[
            OpenApiParameter("cursor", str, required=False),
            OpenApiParameter("page_size", int, required=False),
        ],
        responses=RevisionSummarySerializer(many=True),
        operation_id="docs_revisions_list",
        summary="A document's revisions (without their bodies), oldest first",
    )
    def get(self, request: Request, document_id: int) -> Response:
        document = self._document(document_id)
        revisions = (
            Revision.objects.for_workspace(self.workspace).filter(document=document).defer("body")
        )
        return paginated_response(
            view=self,
            queryset=revisions,
            serializer_class=RevisionSummarySerializer,
            request=request,
        )


class RevisionDetailApi(_DocumentApi):
    @extend_schema(
        responses=RevisionSerializer,
        operation_id="docs_revisions_retrieve",
        summary="One revision of a document, with its title and body as saved",
    )
    def get(self, request: Request, document_id: int, number: int) -> Response:
        document = self._document(document_id)
        revision = (
            Revision.objects.for_workspace(self.workspace)
            .filter(document=document, number=number)
            .first()
        )
        if revision is None:
            raise Http404
        return Response(RevisionSerializer(revision).data)


# --- comments --------------------------------------------------------------------------------
class CommentListCreateApi(_DocumentApi):
    # Viewers take part in reviews: they comment here as on the document's page.
    required_roles = {"POST": Role.VIEWER}

    @extend_schema_serializer(component_name="DocCommentCreateInput")
    class InputSerializer(serializers.Serializer):
        body = serializers.CharField(max_length=COMMENT_MAX_CHARS, help_text="@mention members.")
        quote = serializers.CharField(
            required=False, allow_blank=True, max_length=QUOTE_MAX_CHARS,
            help_text="The document text it is about; empty: the whole document.",
        )  # fmt: skip
        parent_id = serializers.IntegerField(
            required=False, allow_null=True, min_value=1, help_text="Reply to this comment."
        )

    @extend_schema_serializer(component_name="DocCommentList")
    class ListOutputSerializer(serializers.Serializer):
        results = CommentSerializer(many=True)

    @extend_schema(
        responses=ListOutputSerializer,
        operation_id="docs_comments_list",
        summary="A document's comment threads, oldest first, each with its replies",
    )
    def get(self, request: Request, document_id: int) -> Response:
        from docs import review

        threads = review.comment_list(
            workspace=self.workspace, document=self._document(document_id)
        )
        return Response({"results": CommentSerializer(threads, many=True).data})

    @extend_schema(
        request=InputSerializer,
        responses={201: CommentSerializer},
        operation_id="docs_comments_create",
        summary="Comment on a document (at a quote), or reply; @mentioned members get an email",
    )
    def post(self, request: Request, document_id: int) -> Response:
        from docs import review

        document = self._document(document_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        comment = review.comment_add(
            workspace=self.workspace,
            actor=request.user,
            document=document,
            body=data.validated_data["body"],
            quote=data.validated_data.get("quote", ""),
            parent_id=data.validated_data.get("parent_id"),
        )
        return Response(CommentSerializer(comment).data, status=status.HTTP_201_CREATED)


_DOCUMENT = "documents/<int:document_id>"

urlpatterns = [
    path("documents/", DocumentListCreateApi.as_view(), name="docs-document-list"),
    path(f"{_DOCUMENT}/", DocumentDetailApi.as_view(), name="docs-document-detail"),
    path(f"{_DOCUMENT}/revisions/", RevisionListApi.as_view(), name="docs-revision-list"),
    path(
        f"{_DOCUMENT}/revisions/<int:number>/",
        RevisionDetailApi.as_view(),
        name="docs-revision-detail",
    ),
    path(f"{_DOCUMENT}/publish/", DocumentPublishApi.as_view(), name="docs-document-publish"),
    path(f"{_DOCUMENT}/comments/", CommentListCreateApi.as_view(), name="docs-comment-list"),
]
