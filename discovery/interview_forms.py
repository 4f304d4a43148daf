"""Forms of the feedback, interview, highlight, insight and search pages (shape only).

Every id a person submits is resolved through a queryset of the request's workspace, so an id
from another workspace is "not a valid choice", never a lookup elsewhere. Business rules stay in
the services.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from discovery import selectors
from discovery.models import FEEDBACK_MAX_CHARS, TRANSCRIPT_MAX_CHARS, Feedback, Insight
from discovery.transcripts import EXTENSIONS, TranscriptFileError, parse_transcript
from pmhub.workspaces.models import Workspace


def _normalise_newlines(value: str) -> str:
    # Browsers send a textarea's line breaks as CRLF; store LF so offsets match what is shown.
    return (value or "").replace("\r\n", "\n").replace("\r", "\n")


class CustomerChoices(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        company = f" · {obj.company.name}" if obj.company_id and obj.company else ""
        return f"{obj}{company}"


class InterviewForm(forms.Form):
    # A new interview takes the pasted text or a file; an edit starts with the saved text in the
    # box, so there a file replaces it.
    upload_replaces_text = False

    title = forms.CharField(max_length=200)
    held_on = forms.DateField(
        label="Date", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    participants = CustomerChoices(
        queryset=None,
        required=False,
        help_text="The customers who took part. Hold Ctrl or ⌘ to choose several.",
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    transcript = forms.CharField(
        required=False,
        max_length=TRANSCRIPT_MAX_CHARS,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 14, "class": "textarea--doc"}),
        help_text="Paste the transcript, or upload a file below.",
    )
    transcript_file = forms.FileField(
        label="Or upload a transcript",
        required=False,
        help_text="A .txt, .vtt (WebVTT) or .srt (SubRip) file, UTF-8, up to 2 MB. Timestamps "
        "and cue numbers are removed; speakers are kept.",
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(EXTENSIONS)}),
    )
    notes = forms.CharField(
        required=False,
        max_length=FEEDBACK_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["participants"].queryset = selectors.customer_list(workspace=workspace)

    def clean_transcript(self) -> str:
        return _normalise_newlines(self.cleaned_data.get("transcript", ""))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        upload = cleaned.get("transcript_file")
        if upload:
            if cleaned.get("transcript", "").strip() and not self.upload_replaces_text:
                self.add_error(
                    "transcript_file", "Paste the transcript or upload a file, not both."
                )
            else:
                try:
                    cleaned["transcript"] = parse_transcript(upload.read(), upload.name)
                except TranscriptFileError as exc:
                    self.add_error("transcript_file", exc.message)
        return cleaned

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "title": data["title"],
            "held_on": data["held_on"],
            "transcript": data["transcript"],
            "notes": _normalise_newlines(data["notes"]),
            "participant_ids": [c.id for c in data["participants"]],
        }


class InterviewEditForm(InterviewForm):
    upload_replaces_text = True
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, workspace=workspace, **kwargs)
        self.fields["transcript_file"].label = "Or replace it with a file"

    def service_arguments(self) -> dict[str, Any]:
        return {**super().service_arguments(), "version": self.cleaned_data["version"]}


class FeedbackEditForm(forms.Form):
    text = forms.CharField(
        max_length=FEEDBACK_MAX_CHARS,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 10, "class": "textarea--doc"}),
        help_text="Editing the text moves highlights with their words; highlights whose words are "
        "gone are flagged for review.",
    )
    customer = forms.ModelChoiceField(queryset=None, required=False)
    external_url = forms.URLField(
        label="Link to the original", required=False, max_length=500, assume_scheme="https"
    )
    received_at = forms.DateTimeField(
        label="Received",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = selectors.customer_list(workspace=workspace)

    def clean_text(self) -> str:
        return _normalise_newlines(self.cleaned_data["text"])

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "text": data["text"],
            "customer_id": data["customer"].id if data["customer"] else None,
            "external_url": data["external_url"],
            "received_at": data["received_at"],
        }


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=Feedback.Status.choices)


class TagIdForm(forms.Form):
    tag_id = forms.IntegerField(min_value=1)


class HighlightForm(forms.Form):
    start = forms.IntegerField(min_value=0)
    end = forms.IntegerField(min_value=1)
    quote = forms.CharField(required=False, strip=False, max_length=500_000)
    tag_ids = forms.TypedMultipleChoiceField(coerce=int, required=False, choices=())

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tag_ids"].choices = [
            (tag.id, tag.name) for tag in selectors.tag_list(workspace=workspace)
        ]


class LinkInsightForm(forms.Form):
    insight_id = forms.ModelChoiceField(queryset=None, label="Insight")
    note = forms.CharField(required=False, max_length=500)

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["insight_id"].queryset = selectors.insight_list(workspace=workspace)


class InsightForm(forms.Form):
    title = forms.CharField(max_length=200)
    status = forms.ChoiceField(choices=Insight.Status.choices, initial=Insight.Status.DRAFT)
    summary = forms.CharField(
        required=False,
        max_length=FEEDBACK_MAX_CHARS,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 12, "class": "textarea--doc"}),
        help_text="Markdown: **bold**, _italic_, lists, links. HTML is shown as text.",
    )

    def clean_summary(self) -> str:
        return _normalise_newlines(self.cleaned_data["summary"])


class InsightEditForm(InsightForm):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class EvidenceAddForm(forms.Form):
    feedback_id = forms.IntegerField(required=False, min_value=1)
    highlight_id = forms.IntegerField(required=False, min_value=1)
    note = forms.CharField(required=False, max_length=500)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if bool(cleaned.get("feedback_id")) == bool(cleaned.get("highlight_id")):
            raise ValidationError("Choose one feedback item or one highlight to cite.")
        return cleaned


class SearchForm(forms.Form):
    KINDS = [
        ("", "Everything"),
        ("feedback", "Feedback"),
        ("highlight", "Highlights"),
        ("interview", "Interviews"),
        ("insight", "Insights"),
    ]

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    kind = forms.ChoiceField(choices=KINDS, required=False)
