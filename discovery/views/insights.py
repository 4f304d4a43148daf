"""Insights: the list, a new one, its page with evidence in context and reach, edit; evidence."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from discovery import charts, selectors, services
from discovery.highlight_text import quote_in_context
from discovery.interview_forms import EvidenceAddForm, InsightEditForm, InsightForm
from discovery.models import Evidence, Insight
from pmhub.core.exceptions import ApplicationError
from pmhub.core.forms import form_add_service_error
from pmhub.core.markdown import render_markdown
from pmhub.core.views import object_or_404
from pmhub.workspaces.decorators import workspace_view

PAGE_SIZE = 50
CANDIDATES = 15


def _insight_url(workspace_slug: str, insight_id: int) -> str:
    return reverse(
        "discovery:insight-detail",
        kwargs={"workspace_slug": workspace_slug, "insight_id": insight_id},
    )


def backlog_links_context(
    request: HttpRequest, *, feedback_id: int | None = None, insight_id: int | None = None
) -> dict[str, Any]:
    """The "Backlog" side block of a feedback item's or an insight's page: the backlog items it
    is evidence for (one query, at most ITEMS_CITING_LIMIT shown) and the link picker's query."""
    # Lazily, as discovery.services does: the backlog imports discovery.
    from backlog.selectors import ITEMS_CITING_LIMIT, items_citing

    links = items_citing(
        workspace=request.workspace,
        feedback_id=feedback_id,
        insight_id=insight_id,
        limit=ITEMS_CITING_LIMIT,
    )
    source = f"feedback_id={feedback_id}" if feedback_id is not None else f"insight_id={insight_id}"
    return {
        "backlog_links": links[:ITEMS_CITING_LIMIT],
        "backlog_more": len(links) > ITEMS_CITING_LIMIT,
        "link_query": source,
    }


def _insight(request: HttpRequest, insight_id: int) -> Insight:
    return object_or_404(selectors.insight_get, workspace=request.workspace, insight_id=insight_id)


@workspace_view()
@require_GET
def insight_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    if status not in Insight.Status.values:
        status = ""
    insights = selectors.insight_list(workspace=request.workspace, status=status).defer(
        "summary", "search_vector"
    )
    page = Paginator(insights, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "discovery/insight_list.html",
        {"page": page, "status": status, "statuses": Insight.Status.choices},
    )


@workspace_view()
@require_http_methods(["GET", "POST"])
def insight_new(request: HttpRequest) -> HttpResponse:
    form = InsightForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            insight = services.insight_create(
                workspace=request.workspace, actor=request.user, **form.cleaned_data
            )
        except (ValidationError, ApplicationError) as exc:
            form_add_service_error(form, exc)
        else:
            messages.success(request, f"Insight “{insight.title}” created.")
            return redirect(_insight_url(request.workspace.slug, insight.id))
    return render(
        request,
        "discovery/insight_form.html",
        {"form": form, "insight": None},
        status=400 if request.method == "POST" else 200,
    )


def _evidence_in_context(evidence: Evidence) -> dict[str, Any]:
    """One piece of evidence as the page shows it: the words, around them, who said them."""
    if evidence.feedback_id:
        feedback = evidence.feedback
        return {
            "evidence": evidence,
            "kind": "feedback",
            "context": None,
            "text": feedback.text,
            "customer": feedback.customer,
            "source_label": feedback.get_source_display(),
            "received_at": feedback.received_at,
        }
    highlight = evidence.highlight
    parent_text = (
        highlight.interview.transcript if highlight.interview_id else highlight.feedback.text
    )
    return {
        "evidence": evidence,
        "kind": "highlight",
        "context": quote_in_context(
            parent_text, start=highlight.start, end=highlight.end, quote=highlight.quote
        ),
        "text": highlight.quote,
        "customer": highlight.feedback.customer if highlight.feedback_id else None,
        "interview": highlight.interview if highlight.interview_id else None,
        "needs_review": highlight.needs_review,
    }


def _people_behind(request: HttpRequest, insight: Insight) -> list[Any]:
    """The customers whose words the evidence cites (interview participants included)."""
    evidence = selectors.evidence_list(workspace=request.workspace, insight=insight)
    customers = selectors.customer_list(workspace=request.workspace)
    return list(
        customers.filter(
            Q(id__in=evidence.values("feedback__customer_id"))
            | Q(id__in=evidence.values("highlight__feedback__customer_id"))
            | Q(
                id__in=customers.filter(interviews__highlights__evidence__insight=insight).values(
                    "id"
                )
            )
        )
    )


def _candidates(request: HttpRequest, insight: Insight, find: str) -> list[Any]:
    """Feedback and highlights matching `find`, to cite; those already cited are marked."""
    if not find.strip():
        return []
    hits = [
        hit
        for hit in selectors.search(workspace=request.workspace, query=find, limit=60)
        if hit.kind in {"feedback", "highlight"}
    ][:CANDIDATES]
    cited = set(
        selectors.evidence_list(workspace=request.workspace, insight=insight).values_list(
            "feedback_id", "highlight_id"
        )
    )
    cited_feedback = {f for f, _h in cited if f}
    cited_highlights = {h for _f, h in cited if h}
    return [
        {
            "hit": hit,
            "cited": hit.id in (cited_feedback if hit.kind == "feedback" else cited_highlights),
        }
        for hit in hits
    ]


def _trend(request: HttpRequest, insight: Insight) -> charts.TrendChart:
    evidence = selectors.evidence_list(workspace=request.workspace, insight=insight)
    feedback = selectors.feedback_list(workspace=request.workspace).filter(
        Q(id__in=evidence.values("feedback_id"))
        | Q(id__in=evidence.values("highlight__feedback_id"))
    )
    return charts.feedback_trend(
        workspace=request.workspace,
        feedback=feedback,
        weeks=12,
        split_by=charts.split_from(request.GET.get("split")),
    )


@workspace_view()
@require_GET
def insight_detail(request: HttpRequest, insight_id: int) -> HttpResponse:
    insight = _insight(request, insight_id)
    evidence = list(selectors.evidence_list(workspace=request.workspace, insight=insight))
    people = _people_behind(request, insight)
    companies = sorted(
        {c.company.id: c.company for c in people if c.company_id}.values(),
        key=lambda company: company.name.lower(),
    )
    find = request.GET.get("find", "")[:200]
    context = {
        "insight": insight,
        "creator": insight.created_by,  # loaded here, not lazily by the template
        "summary_html": render_markdown(insight.summary),
        "evidence": [_evidence_in_context(e) for e in evidence],
        "customers": people,
        "companies": companies,
        "find": find,
        "candidates": _candidates(request, insight, find),
        "trend": _trend(request, insight),
        **backlog_links_context(request, insight_id=insight.id),
    }
    return render(request, "discovery/insight_detail.html", context)


@workspace_view()
@require_http_methods(["GET", "POST"])
def insight_edit(request: HttpRequest, insight_id: int) -> HttpResponse:
    insight = _insight(request, insight_id)
    initial = {
        "title": insight.title,
        "summary": insight.summary,
        "status": insight.status,
        "version": insight.version,
    }
    form = InsightEditForm(request.POST or None, initial=initial)
    conflict = None
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        version = data.pop("version")
        try:
            services.insight_update(
                workspace=request.workspace,
                actor=request.user,
                insight=insight,
                version=version,
                **data,
            )
        except services.StaleEditError as exc:
            # The person's text stays in the form; the saved version is shown beside it, and the
            # form now carries that version, so saving again on purpose replaces it.
            conflict = _insight(request, insight_id)
            post = request.POST.copy()
            post["version"] = str(conflict.version)
            form = InsightEditForm(post, initial=initial)
            form.is_valid()
            form_add_service_error(form, exc)
        except (ValidationError, ApplicationError) as exc:
            form_add_service_error(form, exc)
        else:
            messages.success(request, "Insight saved.")
            return redirect(_insight_url(request.workspace.slug, insight.id))
    return render(
        request,
        "discovery/insight_form.html",
        {
            "form": form,
            "insight": insight,
            "conflict": conflict,
            "conflict_summary_html": render_markdown(conflict.summary) if conflict else "",
        },
        status=(409 if conflict else 400) if request.method == "POST" else 200,
    )


@workspace_view()
@require_POST
def insight_delete(request: HttpRequest, insight_id: int) -> HttpResponse:
    insight = _insight(request, insight_id)
    services.insight_delete(workspace=request.workspace, actor=request.user, insight=insight)
    messages.success(request, f"Insight “{insight.title}” deleted.")
    return redirect("discovery:insight-list", workspace_slug=request.workspace.slug)


@workspace_view()
@require_POST
def evidence_add(request: HttpRequest, insight_id: int) -> HttpResponse:
    insight = _insight(request, insight_id)
    back = _insight_url(request.workspace.slug, insight.id)
    form = EvidenceAddForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.non_field_errors()) or "Choose what to cite.")
        return redirect(back)
    data = form.cleaned_data
    try:
        feedback = (
            selectors.feedback_get(workspace=request.workspace, feedback_id=data["feedback_id"])
            if data["feedback_id"]
            else None
        )
        highlight = (
            selectors.highlight_get(workspace=request.workspace, highlight_id=data["highlight_id"])
            if data["highlight_id"]
            else None
        )
    except ObjectDoesNotExist:
        messages.error(request, "That feedback or highlight is not in this workspace.")
        return redirect(back)
    try:
        services.evidence_add(
            workspace=request.workspace,
            actor=request.user,
            insight=insight,
            feedback=feedback,
            highlight=highlight,
            note=data["note"],
        )
    except (ValidationError, ApplicationError) as exc:
        messages.error(
            request, exc.message if isinstance(exc, ApplicationError) else exc.messages[0]
        )
    else:
        messages.success(request, "Evidence added.")
    return redirect(back)


def _evidence(request: HttpRequest, evidence_id: int) -> Evidence:
    return object_or_404(
        selectors.evidence_get, workspace=request.workspace, evidence_id=evidence_id
    )


@workspace_view()
@require_POST
def evidence_remove(request: HttpRequest, evidence_id: int) -> HttpResponse:
    evidence = _evidence(request, evidence_id)
    services.evidence_remove(workspace=request.workspace, actor=request.user, evidence=evidence)
    messages.success(request, "Evidence removed.")
    return redirect(_insight_url(request.workspace.slug, evidence.insight_id))


urlpatterns = [
    path("insights/", insight_list, name="insight-list"),
    path("insights/new/", insight_new, name="insight-new"),
    path("insights/<int:insight_id>/", insight_detail, name="insight-detail"),
    path("insights/<int:insight_id>/edit/", insight_edit, name="insight-edit"),
    path("insights/<int:insight_id>/delete/", insight_delete, name="insight-delete"),
    path("insights/<int:insight_id>/evidence/", evidence_add, name="evidence-add"),
    path("evidence/<int:evidence_id>/remove/", evidence_remove, name="evidence-remove"),
]
