from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.renderers import DjangoTemplates

from pmhub.core.exceptions import ApplicationError
from pmhub.core.html import html_text


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


def _attrs_html(attrs: dict[str, Any]) -> str:
    """As django/forms/widgets/attrs.html: False drops an attribute, True leaves it bare."""
    return "".join(
        f" {html_text(name)}" if value is True else f' {html_text(name)}="{html_text(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


def _input_html(widget: dict[str, Any]) -> str:
    value = widget["value"]
    value_attr = "" if value is None else f' value="{html_text(value)}"'
    return (
        f'<input type="{html_text(widget["type"])}" name="{html_text(widget["name"])}"'
        f"{value_attr}{_attrs_html(widget['attrs'])}>"
    )


def _select_html(widget: dict[str, Any]) -> str:
    parts = [f'<select name="{html_text(widget["name"])}"{_attrs_html(widget["attrs"])}>']
    for group_name, options, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{html_text(group_name)}">')
        parts.extend(
            f'\n  <option value="{html_text(option["value"])}"{_attrs_html(option["attrs"])}>'
            f"{html_text(option['label'])}</option>\n"
            for option in options
        )
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return "".join(parts)


class FastWidgetRenderer(DjangoTemplates):
    """Django's form renderer, with inputs and selects written in Python: through the
    templates, a template per widget and per option cost ~4 ms on the backlog table's filter
    bar, and ~0.1 ms per option of a long select (the feedback form's customers).
    The markup is the templates' own, character for character (stripped, as the renderer
    strips it); any other template, and a non-empty error list, still goes through them."""

    def render(self, template_name: str, context: dict[str, Any], request: Any = None) -> str:
        widget = context.get("widget")
        if template_name in _INPUT_TEMPLATES or (
            template_name in _OPTION_TEMPLATES and not widget["wrap_label"]
        ):
            return _input_html(widget)
        if template_name == "django/forms/widgets/select.html":
            return _select_html(widget)
        if template_name == "django/forms/errors/list/default.html" and not context["errors"]:
            return ""
        return super().render(template_name, context, request)


_INPUT_TEMPLATES = frozenset(
    f"django/forms/widgets/{name}.html" for name in ("text", "number", "search", "input")
)
_OPTION_TEMPLATES = frozenset(
    f"django/forms/widgets/{name}.html" for name in ("checkbox_option", "input_option")
)
