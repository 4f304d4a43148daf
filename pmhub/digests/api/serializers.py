"""Output shapes of the digests API (inputs live with their endpoints)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from pmhub.digests.models import Cadence, Delivery, Follow, Stakeholder

CADENCE_HELP = f"One of {', '.join(Cadence.values)}."
STATUS_HELP = f"One of {', '.join(Stakeholder.Status.values)}."
DELIVERY_STATUS_HELP = f"One of {', '.join(Delivery.Status.values)}."
FOLLOW_KINDS = ("area", "roadmap", "item", "company")


class OneOfField(serializers.CharField):
    """A plain string limited to `values`: a ChoiceField would add an enum to the schema, and
    enums named "cadence" and "status" would collide with other apps'."""

    def __init__(self, *, values: tuple[str, ...], **kwargs: Any) -> None:
        self.values = values
        kwargs.setdefault("help_text", f"One of {', '.join(v or '“”' for v in values)}.")
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if value not in self.values:
            raise serializers.ValidationError(self.help_text)
        return value


def follow_kind(follow: Follow) -> tuple[str, int, str]:
    """(kind, id, name) of what a follow (read with its target) follows."""
    if follow.area_id:
        return "area", follow.area_id, follow.area.name
    if follow.roadmap_id:
        return "roadmap", follow.roadmap_id, follow.roadmap.name
    if follow.item_id:
        return "item", follow.item_id, follow.item.title
    return "company", follow.company_id, follow.company.name  # type: ignore[return-value]


@extend_schema_serializer(component_name="DigestFollow")
class FollowSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.SerializerMethodField(help_text=f"One of {', '.join(FOLLOW_KINDS)}.")
    target_id = serializers.SerializerMethodField()
    name = serializers.SerializerMethodField(
        help_text="The area's, roadmap's or company's name; the item's title."
    )
    owns = serializers.BooleanField(help_text="A company the stakeholder owns as account owner.")

    @extend_schema_field(serializers.CharField())
    def get_kind(self, follow: Follow) -> str:
        return follow_kind(follow)[0]

    @extend_schema_field(serializers.IntegerField())
    def get_target_id(self, follow: Follow) -> int:
        return follow_kind(follow)[1]

    @extend_schema_field(serializers.CharField())
    def get_name(self, follow: Follow) -> str:
        return follow_kind(follow)[2]


@extend_schema_serializer(component_name="DigestStakeholder")
class StakeholderSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    name = serializers.CharField()
    team = serializers.CharField()
    user_id = serializers.IntegerField(
        allow_null=True, help_text="The member with this email, if any: their links open the app."
    )
    follows_workspace = serializers.BooleanField()
    cadence = serializers.CharField(help_text=f"Empty: the workspace's default. {CADENCE_HELP}")
    send_hour = serializers.IntegerField(
        allow_null=True, help_text="Null: the workspace's default."
    )
    timezone = serializers.CharField(help_text="Empty: the workspace's default.")
    status = serializers.CharField(help_text=STATUS_HELP)
    failure_count = serializers.IntegerField()
    last_failure = serializers.CharField()
    covered_until = serializers.DateTimeField(
        allow_null=True, help_text="The end of the newest period delivered."
    )
    version = serializers.IntegerField(help_text="Send it back (or If-Match) when changing it.")
    follows = FollowSerializer(many=True, source="follow_list")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


@extend_schema_serializer(component_name="DigestSettings")
class DigestSettingsSerializer(serializers.Serializer):
    cadence = serializers.CharField(help_text=CADENCE_HELP)
    send_hour = serializers.IntegerField()
    timezone = serializers.CharField()
    sender_name = serializers.CharField()
    reply_to = serializers.CharField()
    updated_at = serializers.DateTimeField()


@extend_schema_serializer(component_name="DigestDelivery")
class DeliverySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    stakeholder_id = serializers.IntegerField()
    period = serializers.CharField(
        help_text='"2026-11-26" daily, "2026-W48" weekly, "2026-11" monthly, "now-…" immediate, '
        '"test-…" a test send.'
    )
    status = serializers.CharField(help_text=DELIVERY_STATUS_HELP)
    due_at = serializers.DateTimeField()
    covers_from = serializers.DateTimeField(allow_null=True)
    covers_until = serializers.DateTimeField()
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    sent_at = serializers.DateTimeField(allow_null=True)
    error = serializers.CharField()
    subject = serializers.CharField()
    entry_count = serializers.IntegerField()
