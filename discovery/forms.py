"""Forms of the inbox, customer, company and tag pages: input shape only; services decide."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, time
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone

from discovery.models import FEEDBACK_MAX_CHARS, Company, Customer, Feedback, Insight, Tag
from discovery.selectors import FeedbackFilters
from pmhub.core.forms import FastWidgetRenderer

# One bulk action touches at most this many rows: a page of the inbox is 50, a shift-selection
# across "Load more" pages stays well below; anything bigger is a script, which has the API.
BULK_MAX_IDS = 500

STATUS_ALL = "all"


class InboxFilterForm(forms.Form):
    """The inbox's GET filters. An empty status means the default, "new"; "all" means any."""

    q = forms.CharField(label="Search", required=False, max_length=200)
    status = forms.ChoiceField(
        required=False,
        choices=[*Feedback.Status.choices, (STATUS_ALL, "Any status")],
    )
    source = forms.ChoiceField(
        required=False, choices=[("", "Any source"), *Feedback.Source.choices]
    )
    tag = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    segment = forms.ChoiceField(required=False)
    since = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    company = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)
    customer = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)
    suggested = forms.BooleanField(label="Has suggestions", required=False)
    duplicates = forms.BooleanField(label="Possible duplicates", required=False)

    def __init__(self, *args: Any, tags: Iterable[Tag], segments: Iterable[str], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["tag"].choices = [("", "Any tag"), *((t.id, t.name) for t in tags)]
        self.fields["segment"].choices = [("", "Any segment"), *((s, s) for s in segments)]
        self.fields["q"].widget.attrs.update(
            {"placeholder": 'Words, "a phrase", -not', "type": "search"}
        )

    def filters(self) -> FeedbackFilters:
        """The selector filters; a field that does not validate is left out (and shown)."""
        data = self._valid_data()
        status = data.get("status") or Feedback.Status.NEW
        return FeedbackFilters(
            status="" if status == STATUS_ALL else status,
            source=data.get("source") or "",
            tag_id=data.get("tag"),
            segment=data.get("segment") or "",
            company_id=data.get("company"),
            customer_id=data.get("customer"),
            since=data.get("since"),
            until=data.get("until"),
            query=(data.get("q") or "").strip(),
            has_suggestions=bool(data.get("suggested")),
            duplicates=bool(data.get("duplicates")),
        )

    @property
    def status_value(self) -> str:
        return self._valid_data().get("status") or Feedback.Status.NEW

    def _valid_data(self) -> dict[str, Any]:
        # After validation Django keeps the fields that passed in cleaned_data, form valid or not.
        self.is_valid()
        return getattr(self, "cleaned_data", {})


def parse_cursor(value: str) -> tuple[datetime, int] | None:
    """`<iso-datetime>_<id>` from the inbox's "Load more" link; None when absent or malformed."""
    if not value:
        return None
    # A "+" of the UTC offset arrives as a space when the link was not percent-encoded.
    stamp, _, row_id = value.replace(" ", "+").rpartition("_")
    try:
        received_at = datetime.fromisoformat(stamp)
        number = int(row_id)
    except ValueError:
        return None
    if timezone.is_naive(received_at):
        received_at = received_at.replace(tzinfo=UTC)
    return received_at, number


def format_cursor(cursor: tuple[datetime, int]) -> str:
    received_at, row_id = cursor
    return f"{received_at.isoformat()}_{row_id}"


class IdListField(forms.Field):
    """Many integer ids from repeated inputs (`feedback_ids=1&feedback_ids=2`)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        if not value:
            return []
        values = value if isinstance(value, list | tuple) else [value]
        try:
            ids = sorted({int(v) for v in values})
        except (TypeError, ValueError) as exc:
            raise ValidationError("Ids must be whole numbers.") from exc
        if len(ids) > BULK_MAX_IDS:
            raise ValidationError(f"Select at most {BULK_MAX_IDS} items at a time.")
        return ids


class FeedbackBulkForm(forms.Form):
    ACTIONS = [
        ("triage", "Mark triaged"),
        ("archive", "Archive"),
        ("reopen", "Move back to new"),
        ("tag", "Add tag"),
        ("untag", "Remove tag"),
        ("link", "Link to insight"),
    ]
    STATUS_OF_ACTION = {
        "triage": Feedback.Status.TRIAGED,
        "archive": Feedback.Status.ARCHIVED,
        "reopen": Feedback.Status.NEW,
    }

    action = forms.ChoiceField(choices=ACTIONS)
    tag_id = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    insight_id = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    feedback_ids = IdListField(required=True)
    next = forms.CharField(required=False, max_length=2000)

    def __init__(
        self, *args: Any, tags: Iterable[Tag], insights: Iterable[Insight] = (), **kwargs: Any
    ):
        super().__init__(*args, **kwargs)
        self.fields["tag_id"].choices = [("", "Choose a tag"), *((t.id, t.name) for t in tags)]
        self.fields["insight_id"].choices = [
            ("", "Choose an insight"),
            *((i.id, i.title) for i in insights),
        ]
        self.fields["feedback_ids"].error_messages["required"] = "Select at least one item."

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("action") in ("tag", "untag") and not data.get("tag_id"):
            self.add_error("tag_id", "Choose the tag to add or remove.")
        if data.get("action") == "link" and not data.get("insight_id"):
            self.add_error("insight_id", "Choose the insight to link to.")
        return data


class FeedbackCreateForm(forms.Form):
    default_renderer = FastWidgetRenderer()

    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=FEEDBACK_MAX_CHARS,
        help_text=f"Up to {FEEDBACK_MAX_CHARS:,} characters.",
    )
    source = forms.ChoiceField(choices=Feedback.Source.choices, initial=Feedback.Source.MANUAL)
    customer = forms.ModelChoiceField(
        queryset=Customer.objects.none(), required=False, empty_label="No customer"
    )
    received_on = forms.DateField(
        label="Received on",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Leave empty for now.",
    )

    def __init__(self, *args: Any, customers: QuerySet[Customer], **kwargs: Any):
        super().__init__(*args, **kwargs)
        # Any customer of the workspace may be chosen; the page shows only those the person
        # searched for (discovery.views.inbox.CUSTOMER_OPTIONS), never all of them.
        self.fields["customer"].queryset = customers

    def chosen_customer(self) -> Customer | None:
        """The customer this (bound) form was sent with, if it is one of the workspace's."""
        return None if "customer" in self.errors else self.cleaned_data.get("customer")

    def received_at(self) -> datetime | None:
        day = self.cleaned_data.get("received_on")
        if day is None:
            return None
        if day == timezone.localdate():
            return timezone.now()
        return datetime.combine(day, time(12, 0), tzinfo=UTC)


class CompanyForm(forms.Form):
    name = forms.CharField(max_length=200)
    domain = forms.CharField(max_length=253, required=False, help_text="e.g. initech.com")
    arr = forms.DecimalField(
        label="ARR", max_digits=14, decimal_places=2, required=False, min_value=0
    )
    plan = forms.CharField(max_length=80, required=False)
    segment = forms.CharField(max_length=80, required=False, help_text="e.g. Enterprise, SMB")

    @classmethod
    def initial_of(cls, company: Company) -> dict[str, Any]:
        return {
            "name": company.name,
            "domain": company.domain,
            "arr": company.arr,
            "plan": company.plan,
            "segment": company.segment,
        }


class CustomerForm(forms.Form):
    name = forms.CharField(max_length=200, required=False)
    email = forms.EmailField(max_length=254, required=False)
    company = forms.ModelChoiceField(
        queryset=Company.objects.none(), required=False, empty_label="No company"
    )

    def __init__(self, *args: Any, companies: QuerySet[Company], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["company"].queryset = companies

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not (data.get("name") or "").strip() and not (data.get("email") or "").strip():
            raise ValidationError("Give the customer a name or an email.")
        return data


class TagForm(forms.Form):
    name = forms.CharField(max_length=60)
    group = forms.CharField(
        max_length=40, required=False, help_text="e.g. Theme, Product area, Sentiment"
    )
    color = forms.RegexField(
        label="Colour",
        regex=r"^#[0-9a-fA-F]{6}$",
        initial="#6366f1",
        widget=forms.TextInput(attrs={"type": "color"}),
        error_messages={"invalid": "Use a colour like #6366f1."},
    )
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, required=False
    )


class TagMergeForm(forms.Form):
    target = forms.ModelChoiceField(
        queryset=Tag.objects.none(), label="Merge into", empty_label="Choose the surviving tag"
    )

    def __init__(self, *args: Any, tags: QuerySet[Tag], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["target"].queryset = tags
