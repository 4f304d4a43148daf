"""Companies and customers: lists, pages listing everything they said, create and edit."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods

from discovery import selectors, services
from discovery.charts import TrendChart, feedback_trend, split_from
from discovery.forms import CompanyForm, CustomerForm
from discovery.models import Company, Feedback
from discovery.selectors import FeedbackFilters
from pmhub.core.exceptions import ApplicationError
from pmhub.core.forms import form_add_service_error
from pmhub.core.views import object_or_404
from pmhub.workspaces.decorators import workspace_view
from pmhub.workspaces.models import Workspace

LIST_PAGE_SIZE = 50
DETAIL_FEEDBACK = 50
DETAIL_CUSTOMERS = 100


def trend_chart(
    *, request: HttpRequest, workspace: Workspace, feedback: QuerySet[Feedback]
) -> TrendChart:
    """The weekly trend of a detail page, split as the page's `?split=` asks."""
    return feedback_trend(
        workspace=workspace, feedback=feedback, split_by=split_from(request.GET.get("split"))
    )


def inbox_url(workspace: Workspace, **filters: object) -> str:
    """The inbox showing every status, narrowed by `filters` (company, customer, tag)."""
    url = reverse("discovery:index", kwargs={"workspace_slug": workspace.slug})
    return f"{url}?{urlencode({'status': 'all', **filters})}"


# --- companies -------------------------------------------------------------------------------
@workspace_view()
@require_GET
def company_list(request: HttpRequest) -> HttpResponse:
    """Companies with their customer counts. Queries: membership, session, count, rows."""
    query = request.GET.get("q", "").strip()[:200]
    companies = selectors.company_list(workspace=request.workspace, query=query).annotate(
        customer_count=Count("customers", distinct=True)
    )
    page = Paginator(companies, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "discovery/company_list.html", {"page": page, "query": query})


@workspace_view()
@require_http_methods(["GET", "POST"])
def company_new(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace
    form = CompanyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            company, created = services.company_upsert(
                workspace=workspace, actor=request.user, **form.cleaned_data
            )
        except (ValidationError, ApplicationError) as exc:
            form_add_service_error(form, exc)
        else:
            if created:
                messages.success(request, f"Company {company.name} created.")
            else:
                messages.success(request, f"{company.name} already existed; it is updated.")
            return redirect(
                "discovery:company-detail", workspace_slug=workspace.slug, company_id=company.id
            )
    return render(request, "discovery/company_form.html", {"form": form, "company": None})


@workspace_view()
@require_GET
def company_detail(request: HttpRequest, company_id: int) -> HttpResponse:
    workspace = request.workspace
    company = object_or_404(selectors.company_get, workspace=workspace, company_id=company_id)
    filters = FeedbackFilters(company_id=company.id)
    feedback, more = selectors.feedback_page(
        workspace=workspace, filters=filters, size=DETAIL_FEEDBACK
    )
    customers = list(
        selectors.customer_list(workspace=workspace)
        .filter(company=company)
        .annotate(feedback_count=Count("feedback", distinct=True))[:DETAIL_CUSTOMERS]
    )
    context = {
        "company": company,
        "customers": customers,
        "feedback": feedback,
        "more_feedback": more is not None,
        "more_url": inbox_url(workspace, company=company.id),
        "trend": trend_chart(
            request=request,
            workspace=workspace,
            feedback=selectors.feedback_list(workspace=workspace, filters=filters),
        ),
    }
    return render(request, "discovery/company_detail.html", context)


@workspace_view()
@require_http_methods(["GET", "POST"])
def company_edit(request: HttpRequest, company_id: int) -> HttpResponse:
    workspace = request.workspace
    company = object_or_404(selectors.company_get, workspace=workspace, company_id=company_id)
    form = CompanyForm(request.POST or None, initial=CompanyForm.initial_of(company))
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.company_update(
                workspace=workspace, actor=request.user, company=company, **form.cleaned_data
            )
        except (ValidationError, ApplicationError) as exc:
            form_add_service_error(form, exc)
        else:
            messages.success(request, f"{saved.name} saved.")
            return redirect(
                "discovery:company-detail", workspace_slug=workspace.slug, company_id=company.id
            )
    return render(request, "discovery/company_form.html", {"form": form, "company": company})


# --- customers -------------------------------------------------------------------------------
@workspace_view()
@require_GET
def customer_list(request: HttpRequest) -> HttpResponse:
    """Customers with company and feedback count. Queries: membership, session, count, rows."""
    query = request.GET.get("q", "").strip()[:200]
    customers = selectors.customer_list(workspace=request.workspace, query=query).annotate(
        feedback_count=Count("feedback", distinct=True)
    )
    page = Paginator(customers, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "discovery/customer_list.html", {"page": page, "query": query})


def _companies(workspace: Workspace) -> QuerySet[Company]:
    return selectors.company_list(workspace=workspace)


@workspace_view()
@require_http_methods(["GET", "POST"])
def customer_new(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace
    initial = {}
    company_param = request.GET.get("company", "")
    if company_param.isdigit():
        initial["company"] = int(company_param)
    form = CustomerForm(request.POST or None, initial=initial, companies=_companies(workspace))
    if request.method == "POST" and form.is_valid():
        try:
            customer, created = services.customer_upsert(
                workspace=workspace, actor=request.user, **form.cleaned_data
            )
        except (ValidationError, ApplicationError) as exc:
            form_add_service_error(form, exc)
        else:
            if created:
                messages.success(request, f"Customer {customer} created.")
            else:
                messages.success(request, f"{customer} already existed; it is updated.")
            return redirect(
                "discovery:customer-detail", workspace_slug=workspace.slug, customer_id=customer.id
            )
    return render(request, "discovery/customer_form.html", {"form": form, "customer": None})


@workspace_view()
@require_GET
def customer_detail(request: HttpRequest, customer_id: int) -> HttpResponse:
    workspace = request.workspace
    customer = object_or_404(selectors.customer_get, workspace=workspace, customer_id=customer_id)
    filters = FeedbackFilters(customer_id=customer.id)
    feedback, more = selectors.feedback_page(
        workspace=workspace, filters=filters, size=DETAIL_FEEDBACK
    )
    interviews = list(
        selectors.interview_list(workspace=workspace).filter(participants=customer)[:50]
    )
    context = {
        "customer": customer,
        "feedback": feedback,
        "more_feedback": more is not None,
        "more_url": inbox_url(workspace, customer=customer.id),
        "interviews": interviews,
    }
    return render(request, "discovery/customer_detail.html", context)


@workspace_view()
@require_http_methods(["GET", "POST"])
def customer_edit(request: HttpRequest, customer_id: int) -> HttpResponse:
    workspace = request.workspace
    customer = object_or_404(selectors.customer_get, workspace=workspace, customer_id=customer_id)
    form = CustomerForm(
        request.POST or None,
        initial={"name": customer.name, "email": customer.email, "company": customer.company_id},
        companies=_companies(workspace),
    )
    if request.method == "POST" and form.is_valid():
        data: dict[str, Any] = form.cleaned_data
        company = data["company"]
        try:
            saved = services.customer_update(
                workspace=workspace,
                actor=request.user,
                customer=customer,
                name=data["name"],
                email=data["email"],
                company_id=company.id if company else None,
            )
        except (ValidationError, ApplicationError) as exc:
            form_add_service_error(form, exc)
        else:
            messages.success(request, f"{saved} saved.")
            return redirect(
                "discovery:customer-detail", workspace_slug=workspace.slug, customer_id=customer.id
            )
    return render(request, "discovery/customer_form.html", {"form": form, "customer": customer})


urlpatterns = [
    path("companies/", company_list, name="company-list"),
    path("companies/new/", company_new, name="company-new"),
    path("companies/<int:company_id>/", company_detail, name="company-detail"),
    path("companies/<int:company_id>/edit/", company_edit, name="company-edit"),
    path("customers/", customer_list, name="customer-list"),
    path("customers/new/", customer_new, name="customer-new"),
    path("customers/<int:customer_id>/", customer_detail, name="customer-detail"),
    path("customers/<int:customer_id>/edit/", customer_edit, name="customer-edit"),
]
