"""Output shapes shared by the discovery endpoints whose answers really are the same object."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from discovery.models import (
    Company,
    Customer,
    Evidence,
    Feedback,
    Highlight,
    Insight,
    Interview,
    Tag,
)


# Several components carry a `status` with different choices; naming each enum here keeps
# drf-spectacular from guessing (and warning about) the names.
@extend_schema_field(
    {"type": "string", "enum": Feedback.Status.values}, component_name="FeedbackStatusEnum"
)
class FeedbackStatusField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=Feedback.Status.choices, **kwargs)


@extend_schema_field(
    {"type": "string", "enum": Insight.Status.values}, component_name="InsightStatusEnum"
)
class InsightStatusField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=Insight.Status.choices, **kwargs)


class TagBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    color = serializers.CharField()


class FeedbackCustomerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    email = serializers.CharField()


class FeedbackCompanySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    segment = serializers.CharField()


class FeedbackOutputSerializer(serializers.Serializer):
    """Documents the rows the feedback endpoints build from `.values()` (see `feedback_rows`)."""

    id = serializers.IntegerField()
    text = serializers.CharField()
    source = serializers.ChoiceField(choices=Feedback.Source.choices)
    status = FeedbackStatusField()
    external_id = serializers.CharField()
    external_url = serializers.CharField()
    received_at = serializers.DateTimeField()
    customer = FeedbackCustomerSerializer(allow_null=True)
    company = FeedbackCompanySerializer(allow_null=True)
    tags = TagBriefSerializer(many=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class CompanyOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Company
        fields = [
            "id",
            "name",
            "domain",
            "arr",
            "plan",
            "segment",
            "attributes",
            "created_at",
            "updated_at",
        ]


class CustomerOutputSerializer(serializers.ModelSerializer):
    company_id = serializers.IntegerField(allow_null=True)
    company_name = serializers.CharField(source="company.name", allow_null=True, read_only=True)

    class Meta:
        model = Customer
        fields = [
            "id",
            "name",
            "email",
            "company_id",
            "company_name",
            "attributes",
            "created_at",
            "updated_at",
        ]


class TagOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tag
        fields = ["id", "name", "group", "color", "description", "created_at", "updated_at"]


class InterviewOutputSerializer(serializers.ModelSerializer):
    """An interview in a list: no transcript, which may be long."""

    class Meta:
        model = Interview
        fields = ["id", "title", "held_on", "version", "created_at", "updated_at"]


class InterviewDetailOutputSerializer(serializers.ModelSerializer):
    participant_ids = serializers.ListField(child=serializers.IntegerField())

    class Meta:
        model = Interview
        fields = [
            "id",
            "title",
            "held_on",
            "transcript",
            "notes",
            "participant_ids",
            "version",
            "created_at",
            "updated_at",
        ]


class HighlightOutputSerializer(serializers.ModelSerializer):
    """A highlight; `tags` reads the taggings the selector prefetched (no query per row)."""

    interview_id = serializers.IntegerField(allow_null=True)
    feedback_id = serializers.IntegerField(allow_null=True)
    tags = serializers.SerializerMethodField()

    class Meta:
        model = Highlight
        fields = [
            "id",
            "interview_id",
            "feedback_id",
            "start",
            "end",
            "quote",
            "needs_review",
            "tags",
            "created_at",
        ]

    @extend_schema_field(TagBriefSerializer(many=True))
    def get_tags(self, highlight: Highlight) -> list[dict[str, object]]:
        return TagBriefSerializer(
            [tagging.tag for tagging in highlight.taggings.all()], many=True
        ).data


class InsightOutputSerializer(serializers.ModelSerializer):
    status = InsightStatusField()

    class Meta:
        model = Insight
        fields = [
            "id",
            "title",
            "summary",
            "status",
            "version",
            "evidence_count",
            "customer_count",
            "company_count",
            "arr",
            "created_at",
            "updated_at",
        ]


class EvidenceOutputSerializer(serializers.ModelSerializer):
    """A citation with the words it quotes (the selector joins the feedback and highlight)."""

    insight_id = serializers.IntegerField()
    feedback_id = serializers.IntegerField(allow_null=True)
    highlight_id = serializers.IntegerField(allow_null=True)
    quote = serializers.SerializerMethodField()

    class Meta:
        model = Evidence
        fields = ["id", "insight_id", "feedback_id", "highlight_id", "quote", "note", "created_at"]

    def get_quote(self, evidence: Evidence) -> str:
        if evidence.feedback_id is not None:
            return evidence.feedback.text  # type: ignore[union-attr]
        return evidence.highlight.quote  # type: ignore[union-attr]
