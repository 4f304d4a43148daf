"""Forms of the import pages: the upload, and the CSV column mapping."""

from __future__ import annotations

from typing import Any

from django import forms
from django.template.defaultfilters import filesizeformat

from discovery.imports import import_columns, import_fields, upload_max_bytes
from discovery.models import Feedback, ImportJob

KIND_HELP = {
    ImportJob.Kind.FEEDBACK_CSV: "One row per feedback item; you choose which column is what.",
    ImportJob.Kind.ZENDESK_JSON: "Tickets exported from Zendesk, with their requesters.",
    ImportJob.Kind.INTERCOM_JSON: "Conversations exported from Intercom; HTML becomes text.",
    ImportJob.Kind.CUSTOMERS_CSV: "People, matched on email: a re-import updates them.",
    ImportJob.Kind.COMPANIES_CSV: "Companies, matched on domain; extra columns become attributes.",
}


class ImportUploadForm(forms.Form):
    kind = forms.ChoiceField(
        label="What the file holds", choices=ImportJob.Kind.choices, widget=forms.RadioSelect
    )
    file = forms.FileField(label="File")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = (
            f"CSV or JSON, up to {filesizeformat(upload_max_bytes())}, UTF-8 (CSV may also be "
            "Windows-1252)."
        )
        self.fields["file"].widget.attrs.update(
            {"accept": ".csv,.json,text/csv,application/json", "data-max-bytes": upload_max_bytes()}
        )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > upload_max_bytes():
            raise forms.ValidationError(
                f"The file is {filesizeformat(upload.size)}; the limit is "
                f"{filesizeformat(upload_max_bytes())}."
            )
        return upload


class ImportMappingForm(forms.Form):
    """One select per pmhub field, listing the file's columns."""

    def __init__(self, *args: Any, job: ImportJob, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        columns = import_columns(job)
        choices = [("", "— not imported —"), *((c, c) for c in columns)]
        self.field_names: list[str] = []
        for spec in import_fields(job.kind):
            self.fields[spec.name] = forms.ChoiceField(
                label=spec.label,
                choices=choices,
                required=spec.required,
                error_messages={
                    "required": f"Choose the column that holds the {spec.label.lower()}.",
                    "invalid_choice": "The file has no such column.",
                },
            )
            self.field_names.append(spec.name)
        if job.kind == ImportJob.Kind.FEEDBACK_CSV:
            self.fields["default_source"] = forms.ChoiceField(
                label="Source of rows without one",
                choices=Feedback.Source.choices,
                initial=Feedback.Source.MANUAL,
                required=False,
                help_text="Used when no column is chosen for the source or a cell is empty.",
            )

    def mapping(self) -> dict[str, str]:
        """The chosen columns as submitted, valid or not (for the preview)."""
        source = self.cleaned_data if self.is_bound and self.is_valid() else None
        if source is None:
            data = self.data if self.is_bound else self.initial
            return {name: str(data.get(name) or "") for name in self.field_names}
        return {name: source.get(name) or "" for name in self.field_names}

    def default_source(self) -> str:
        data = self.data if self.is_bound else self.initial
        value = str(data.get("default_source") or Feedback.Source.MANUAL)
        return value if value in Feedback.Source.values else Feedback.Source.MANUAL
