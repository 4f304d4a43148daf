"""Document templates: the shipped one of each kind (marked, editable) and the workspace's
own; new, edit (begun on a version: a stale save is refused with the text kept), delete."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from docs import selectors, services
from docs.models import DocumentTemplate, Kind
from docs.services import StaleDocumentError
from pmhub.core.exceptions import ApplicationError
from pmhub.core.forms import form_add_service_error
from pmhub.core.views import object_or_404
from pmhub.workspaces.decorators import workspace_view
from pmhub.workspaces.roles import Role


class TemplateForm(forms.Form):
    name = forms.CharField(max_length=120)
    kind = forms.ChoiceField(choices=Kind.choices, initial=Kind.PRD)
    description = forms.CharField(
        required=False, max_length=300, help_text="When to use it, shown when choosing one."
    )
    body = forms.CharField(
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 22, "class": "doc-editor__text"}),
        help_text="Markdown: the headings and prompts a new document starts with.",
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    @staticmethod
    def initial_for(template: DocumentTemplate) -> dict[str, Any]:
        return {
            "name": template.name,
            "kind": template.kind,
            "description": template.description,
            "body": template.body,
            "version": template.version,
        }


def _template(request: HttpRequest, template_id: int) -> DocumentTemplate:
    return object_or_404(
        selectors.template_get, workspace=request.workspace, template_id=template_id
    )


@workspace_view()
@require_GET
def template_list(request: HttpRequest) -> HttpResponse:
    services.templates_ensure(workspace=request.workspace)
    templates = selectors.template_list(workspace=request.workspace)
    return render(request, "docs/template_list.html", {"templates": templates})


@workspace_view({"GET": Role.EDITOR})
@require_http_methods(["GET", "POST"])
def template_new(request: HttpRequest) -> HttpResponse:
    form = TemplateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            template = services.template_create(
                workspace=request.workspace,
                kind=data["kind"],
                name=data["name"],
                body=data["body"],
                description=data["description"],
            )
        except (ValidationError, ApplicationError) as exc:
            form_add_service_error(form, exc)
        else:
            messages.success(request, f"Template “{template.name}” created.")
            return redirect("docs:template-list", workspace_slug=request.workspace.slug)
    status = 400 if form.is_bound else 200
    return render(request, "docs/template_form.html", {"form": form}, status=status)


@workspace_view({"GET": Role.EDITOR})
@require_http_methods(["GET", "POST"])
def template_edit(request: HttpRequest, template_id: int) -> HttpResponse:
    template = _template(request, template_id)
    if request.method == "GET":
        form = TemplateForm(initial=TemplateForm.initial_for(template))
        return render(request, "docs/template_form.html", {"form": form, "template": template})
    form = TemplateForm(request.POST)
    conflict = False
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.template_update(
                workspace=request.workspace,
                template=template,
                version=data["version"],
                name=data["name"],
                kind=data["kind"],
                description=data["description"],
                body=data["body"],
            )
        except StaleDocumentError as exc:
            # The form now carries the newer version: saving again, on purpose, replaces it.
            conflict = True
            post = request.POST.copy()
            post["version"] = str(exc.extra.get("version", template.version))
            form = TemplateForm(post)
            form.is_valid()
            form.add_error(None, exc.message)
        except (ValidationError, ApplicationError) as exc:
            form_add_service_error(form, exc)
        else:
            messages.success(request, "Template saved.")
            return redirect("docs:template-list", workspace_slug=request.workspace.slug)
    context = {"form": form, "template": template, "conflict": conflict}
    return render(request, "docs/template_form.html", context, status=409 if conflict else 400)


@workspace_view()
@require_POST
def template_delete(request: HttpRequest, template_id: int) -> HttpResponse:
    template = _template(request, template_id)
    services.template_delete(workspace=request.workspace, template=template)
    messages.success(request, f"Template “{template.name}” deleted.")
    return redirect("docs:template-list", workspace_slug=request.workspace.slug)


urlpatterns = [
    path("templates/", template_list, name="template-list"),
    path("templates/new/", template_new, name="template-new"),
    path("templates/<int:template_id>/", template_edit, name="template-edit"),
    path("templates/<int:template_id>/delete/", template_delete, name="template-delete"),
]
