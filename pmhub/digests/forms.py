"""Input shapes of the digests' pages; the rules (emails, hours, timezones) are the services'."""

from __future__ import annotations

from typing import Any

from django import forms

from pmhub.digests.models import Cadence, DigestSettings, Stakeholder
from pmhub.digests.schedule import timezone_names

FOLLOW_KINDS = ("area", "roadmap", "item", "company")
IMPORT_MAX_BYTES = 2 * 1024 * 1024


def hour_label(hour: int) -> str:
    return f"{hour:02d}:00"


def _hours() -> list[tuple[str, str]]:
    return [(str(hour), hour_label(hour)) for hour in range(24)]


def _timezones() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in timezone_names()]


class StakeholderForm(forms.Form):
    """A stakeholder's own fields; a blank cadence, hour or timezone follows the workspace."""

    email = forms.EmailField(max_length=254)
    name = forms.CharField(max_length=120, required=False)
    team = forms.CharField(
        max_length=80, required=False, help_text="Sales, Support, Leadership… used to filter."
    )
    follows_workspace = forms.BooleanField(
        required=False,
        label="Follows the whole workspace",
        help_text="Otherwise only the areas, roadmaps, items and companies they follow.",
    )
    cadence = forms.ChoiceField(required=False)
    send_hour = forms.ChoiceField(required=False, label="Send hour")
    timezone = forms.ChoiceField(required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, defaults: DigestSettings, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        default_cadence = Cadence(defaults.cadence).label
        self.fields["cadence"].choices = [
            ("", f"Default ({default_cadence})"),
            *Cadence.choices,
        ]
        self.fields["send_hour"].choices = [
            ("", f"Default ({hour_label(defaults.send_hour)})"),
            *_hours(),
        ]
        self.fields["timezone"].choices = [
            ("", f"Default ({defaults.timezone})"),
            *_timezones(),
        ]

    @staticmethod
    def initial_for(stakeholder: Stakeholder) -> dict[str, Any]:
        return {
            "email": stakeholder.email,
            "name": stakeholder.name,
            "team": stakeholder.team,
            "follows_workspace": stakeholder.follows_workspace,
            "cadence": stakeholder.cadence,
            "send_hour": "" if stakeholder.send_hour is None else str(stakeholder.send_hour),
            "timezone": stakeholder.timezone,
            "version": stakeholder.version,
        }

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "email": data["email"],
            "name": data["name"],
            "team": data["team"],
            "follows_workspace": data["follows_workspace"],
            "cadence": data["cadence"],
            "send_hour": int(data["send_hour"]) if data["send_hour"] != "" else None,
            "timezone": data["timezone"],
        }


class FollowForm(forms.Form):
    """One thing to follow, named "<kind>:<id>" (the picker's value)."""

    target = forms.CharField(max_length=40)
    owns = forms.BooleanField(required=False, label="They own this company (account owner)")

    def clean_target(self) -> tuple[str, int]:
        kind, _, raw_id = self.cleaned_data["target"].partition(":")
        if kind not in FOLLOW_KINDS or not raw_id.isdigit():
            raise forms.ValidationError("Choose an area, roadmap, item or company to follow.")
        return kind, int(raw_id)

    def service_kwargs(self) -> dict[str, Any]:
        kind, object_id = self.cleaned_data["target"]
        return {f"{kind}_id": object_id, "owns": self.cleaned_data["owns"] and kind == "company"}


class DigestSettingsForm(forms.Form):
    cadence = forms.ChoiceField(
        choices=Cadence.choices,
        help_text="How often stakeholders hear from you unless they have their own cadence.",
    )
    send_hour = forms.ChoiceField(
        label="Send hour", help_text="In each stakeholder's own timezone, on the hour."
    )
    timezone = forms.ChoiceField(help_text="For stakeholders who have no timezone of their own.")
    sender_name = forms.CharField(
        max_length=120,
        required=False,
        label="Sender name",
        help_text="Shown as the digest's From name; the workspace's name when blank.",
    )
    reply_to = forms.EmailField(
        required=False,
        label="Reply-to",
        help_text="Where replies to a digest go (e.g. the product team's inbox).",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["send_hour"].choices = _hours()
        self.fields["timezone"].choices = _timezones()

    @staticmethod
    def initial_for(settings: DigestSettings) -> dict[str, Any]:
        return {
            "cadence": settings.cadence,
            "send_hour": str(settings.send_hour),
            "timezone": settings.timezone,
            "sender_name": settings.sender_name,
            "reply_to": settings.reply_to,
        }

    def service_kwargs(self) -> dict[str, Any]:
        return {**self.cleaned_data, "send_hour": int(self.cleaned_data["send_hour"])}


class ImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="UTF-8, up to 2 MB and 5,000 rows, with a header row naming the columns.",
    )
    existing = forms.ChoiceField(
        label="When an email is already a stakeholder",
        choices=[
            ("update", "Update them with the file's values"),
            ("skip", "Skip the row and leave them as they are"),
        ],
        initial="update",
        widget=forms.RadioSelect,
    )
