from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from pmhub.core.exceptions import ApplicationError


def form_add_service_error(form: forms.Form, exc: ValidationError | ApplicationError) -> None:
    """Show a service's refusal on the form: field errors next to fields, the rest on top."""
    if isinstance(exc, ApplicationError):
        form.add_error(None, exc.message)
        return
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)
