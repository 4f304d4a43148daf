"""Output shapes of the docs API (inputs live with their endpoints)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from docs.models import Document, Kind

KIND_HELP = f"One of {', '.join(Kind.values)}."
STATUS_HELP = f"One of {', '.join(Document.Status.values)}."


class _OneOfField(serializers.CharField):
    """A plain string limited to `values`: a ChoiceField would add an enum to the schema, and
    enums named "kind" and "status" already belong to other apps."""

    values: tuple[str, ...] = ()
    help: str = ""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", self.help)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if value not in self.values:
            raise serializers.ValidationError(self.help)
        return value


class KindField(_OneOfField):
    values = tuple(Kind.values)
    help = KIND_HELP


class StatusField(_OneOfField):
    values = tuple(Document.Status.values)
    help = STATUS_HELP


# Plain strings for kind and status: enums of those names already belong to other apps.
@extend_schema_serializer(component_name="DocDocumentSummary")
class DocumentSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField(help_text=KIND_HELP)
    title = serializers.CharField()
    status = serializers.CharField(help_text=STATUS_HELP)
    version = serializers.IntegerField(help_text="The newest revision's number.")
    owner_id = serializers.IntegerField(allow_null=True)
    created_by_id = serializers.IntegerField(allow_null=True)
    template_id = serializers.IntegerField(allow_null=True)
    release_id = serializers.IntegerField(allow_null=True)
    decision_status = serializers.CharField(help_text="Decision records only; else empty.")
    superseded_by_id = serializers.IntegerField(allow_null=True)
    published_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


@extend_schema_serializer(component_name="DocDocument")
class DocumentSerializer(DocumentSummarySerializer):
    body = serializers.CharField(help_text="Markdown, with live references like [[item:12]].")


@extend_schema_serializer(component_name="DocRevisionSummary")
class RevisionSummarySerializer(serializers.Serializer):
    number = serializers.IntegerField()
    title = serializers.CharField()
    summary = serializers.CharField()
    author_id = serializers.IntegerField(allow_null=True)
    restored_from = serializers.IntegerField(
        allow_null=True, help_text="The revision this one brought back, if any."
    )
    created_at = serializers.DateTimeField()


@extend_schema_serializer(component_name="DocRevision")
class RevisionSerializer(RevisionSummarySerializer):
    body = serializers.CharField()


@extend_schema_serializer(component_name="DocCommentReply")
class CommentReplySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    parent_id = serializers.IntegerField(allow_null=True)
    author_id = serializers.IntegerField(allow_null=True)
    quote = serializers.CharField(help_text="The document text it is anchored to; empty: all.")
    body = serializers.CharField()
    on_version = serializers.IntegerField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    resolved_by_id = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()


@extend_schema_serializer(component_name="DocComment")
class CommentSerializer(CommentReplySerializer):
    replies = serializers.SerializerMethodField()

    @extend_schema_field(CommentReplySerializer(many=True))
    def get_replies(self, comment: Any) -> list[dict[str, Any]]:
        return CommentReplySerializer(getattr(comment, "thread_replies", []), many=True).data


@extend_schema_serializer(component_name="DocTemplate")
class TemplateSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField(help_text=KIND_HELP)
    name = serializers.CharField()
    description = serializers.CharField()
    body = serializers.CharField()
    is_default = serializers.BooleanField(help_text="Shipped with pmhub (editable).")
    version = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
