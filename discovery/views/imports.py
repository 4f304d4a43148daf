"""Import pages: upload a file, map a CSV's columns with a preview, follow the progress."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers

from discovery.import_forms import KIND_HELP, ImportMappingForm, ImportUploadForm
from discovery.imports import (
    CSV_KINDS,
    ImportFileError,
    import_attribute_columns,
    import_columns,
    import_fields,
    import_is_queued,
    import_job_create,
    import_job_list,
    import_job_start,
    import_mapping_guess,
    import_preview,
    upload_max_bytes,
)
from discovery.models import ImportJob
from discovery.selectors import import_job_get
from pmhub.core.exceptions import ApplicationError
from pmhub.core.forms import form_add_service_error
from pmhub.core.middleware import allows_large_bodies
from pmhub.core.views import object_or_404
from pmhub.workspaces.decorators import workspace_view
from pmhub.workspaces.roles import Role

IMPORTS_PER_PAGE = 25
# While a job runs the page polls its progress; the table shows this many bad rows meanwhile.
RUNNING_ERRORS_SHOWN = 100


@workspace_view()
@require_GET
def import_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(import_job_list(workspace=request.workspace), IMPORTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "discovery/import_list.html", {"page": page})


@allows_large_bodies
@workspace_view(roles={"GET": Role.EDITOR})
@require_http_methods(["GET", "POST"])
def import_new(request: HttpRequest) -> HttpResponse:
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = import_job_create(
                workspace=request.workspace,
                actor=request.user,
                kind=form.cleaned_data["kind"],
                filename=upload.name,
                data=upload.read(),
            )
        except (ValidationError, ApplicationError) as exc:
            form_add_service_error(form, exc)
        else:
            if job.kind in CSV_KINDS:
                return redirect(
                    "discovery:import-map", workspace_slug=request.workspace.slug, job_id=job.id
                )
            messages.success(request, f"Importing {job.filename}: {job.total_rows:,} items.")
            return redirect(
                "discovery:import-detail", workspace_slug=request.workspace.slug, job_id=job.id
            )
    context = {
        "form": form,
        "max_bytes": upload_max_bytes(),
        "kinds": [(value, label, KIND_HELP[value]) for value, label in ImportJob.Kind.choices],
    }
    return render(request, "discovery/import_new.html", context, status=400 if form.errors else 200)


@workspace_view(roles={"GET": Role.EDITOR})
@require_http_methods(["GET", "POST"])
def import_map(request: HttpRequest, job_id: int) -> HttpResponse:
    workspace = request.workspace
    job = object_or_404(import_job_get, workspace=workspace, job_id=job_id)
    if job.kind not in CSV_KINDS or import_is_queued(job):
        return redirect("discovery:import-detail", workspace_slug=workspace.slug, job_id=job.id)
    if request.method == "POST":
        form = ImportMappingForm(request.POST, job=job)
    else:
        guess = import_mapping_guess(kind=job.kind, columns=import_columns(job))
        form = ImportMappingForm(job=job, initial=guess)
    if request.method == "POST" and request.POST.get("action") == "start" and form.is_valid():
        try:
            import_job_start(
                workspace=workspace,
                actor=request.user,
                job=job,
                fields=form.mapping(),
                default_source=form.default_source(),
            )
        except ImportFileError as exc:
            messages.error(request, str(exc))
            return redirect("discovery:import-new", workspace_slug=workspace.slug)
        except (ValidationError, ApplicationError) as exc:
            form_add_service_error(form, exc)
        else:
            messages.success(request, f"Importing {job.filename}: {job.total_rows:,} rows.")
            return redirect("discovery:import-detail", workspace_slug=workspace.slug, job_id=job.id)
    try:
        headings, rows = import_preview(
            job=job, fields=form.mapping(), default_source=form.default_source()
        )
    except ImportFileError as exc:
        messages.error(request, str(exc))
        return redirect("discovery:import-detail", workspace_slug=workspace.slug, job_id=job.id)
    context = {
        "job": job,
        "form": form,
        "fields": [form[spec.name] for spec in import_fields(job.kind)],
        "headings": headings,
        "rows": rows,
        "attribute_columns": import_attribute_columns(job=job, fields=form.mapping()),
        "is_companies": job.kind == ImportJob.Kind.COMPANIES_CSV,
    }
    status = 400 if request.method == "POST" and form.errors else 200
    return render(request, "discovery/import_map.html", context, status=status)


@workspace_view()
@vary_on_headers("HX-Request")
@require_GET
def import_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    job = object_or_404(import_job_get, workspace=request.workspace, job_id=job_id)
    is_waiting_for_mapping = job.kind in CSV_KINDS and not import_is_queued(job)
    is_active = not is_waiting_for_mapping and job.status in (
        ImportJob.Status.PENDING,
        ImportJob.Status.RUNNING,
    )
    if job.total_rows:
        percent = min(100, job.processed_rows * 100 // job.total_rows)
    else:
        percent = 100 if job.status == ImportJob.Status.DONE else 0
    errors = job.errors[:RUNNING_ERRORS_SHOWN] if is_active else job.errors
    context = {
        "job": job,
        "is_active": is_active,
        "is_waiting_for_mapping": is_waiting_for_mapping,
        "percent": percent,
        "errors": errors,
        "errors_hidden": len(job.errors) - len(errors),
        "errors_unstored": job.error_count - len(job.errors),
        "line_label": "Line" if job.kind in CSV_KINDS else "Item",
    }
    template = "discovery/import_detail.html"
    if getattr(request, "htmx", False):
        template += "#progress"
    return render(request, template, context)


urlpatterns = [
    path("imports/", import_list, name="import-list"),
    path("imports/new/", import_new, name="import-new"),
    path("imports/<int:job_id>/", import_detail, name="import-detail"),
    path("imports/<int:job_id>/map/", import_map, name="import-map"),
]
