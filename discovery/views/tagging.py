"""Tagging by rules and by the model: a tag's rules with a live preview, deciding the model's
suggestions in the inbox, and the tagging page (the model, its quality per tag, re-tagging)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from discovery import selectors
from discovery.forms import InboxFilterForm
from discovery.models import Classifier, Feedback, Tag, TaggingJob, TagRule
from discovery.rules import MAX_PATTERN_CHARS
from discovery.tag_rules import rule_create, rule_delete, rule_preview, rule_toggle, rule_update
from discovery.tagging import (
    feedback_mark_no_tag_fits,
    suggestion_accept,
    suggestion_reject,
)
from discovery.tagging_actions import classifier_train_request, retag_request
from pmhub.core.exceptions import ApplicationError
from pmhub.core.forms import form_add_service_error
from pmhub.core.views import object_or_404
from pmhub.workspaces.decorators import workspace_view
from pmhub.workspaces.models import Workspace

PREVIEW_SAMPLES = 8
BAR_WIDTH = 200
ACTIVE_JOB = (TaggingJob.Status.PENDING, TaggingJob.Status.RUNNING)
RULE_GONE = (
    "This rule no longer exists: it was deleted while you were editing it. "
    "Your changes were not saved."
)


class RuleForm(forms.Form):
    kind = forms.ChoiceField(choices=TagRule.Kind.choices, initial=TagRule.Kind.KEYWORD)
    pattern = forms.CharField(max_length=MAX_PATTERN_CHARS * 2, strip=True)
    sources = forms.MultipleChoiceField(
        label="Only from these sources",
        choices=Feedback.Source.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    segments = forms.MultipleChoiceField(
        label="Only from these segments",
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, segments: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["segments"].choices = [(s, s) for s in segments]
        self.fields["pattern"].widget.attrs.update(
            {"autocomplete": "off", "spellcheck": "false", "placeholder": "e.g. invoice"}
        )
        # The service checks the length and says so in words; the browser must not cut it.
        self.fields["pattern"].widget.attrs.pop("maxlength", None)


def rule_form(workspace: Workspace, data: Any = None, *, rule: TagRule | None = None) -> RuleForm:
    """The new-rule form, or (`rule`) the form editing that rule, with ids of its own so that
    it sits on the page beside the new-rule form."""
    segments = selectors.company_segments(workspace=workspace)
    if rule is None:
        return RuleForm(data, segments=segments)
    form = RuleForm(
        data,
        # A segment no company is in any more stays a choice while the rule still names it.
        segments=sorted({*segments, *rule.segments}),
        auto_id=f"id_rule{rule.id}_%s",
        initial={
            "kind": rule.kind,
            "pattern": rule.pattern,
            "sources": rule.sources,
            "segments": rule.segments,
        },
    )
    form.fields["pattern"].widget.attrs["autofocus"] = True
    return form


@dataclass(frozen=True)
class RuleEdit:
    """A rule shown as a form in its row: its id, the form, and the prefix of the row's element
    ids (the preview and its errors), distinct from the new-rule form's "rule-"."""

    rule_id: int
    form: RuleForm

    @property
    def prefix(self) -> str:
        return f"rule-{self.rule_id}-"


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _back(request: HttpRequest, fallback: str) -> HttpResponse:
    candidate = request.POST.get("next", "")
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(candidate)
    return redirect(fallback)


def _service_message(exc: ValidationError | ApplicationError) -> str:
    return exc.message if isinstance(exc, ApplicationError) else " ".join(exc.messages)


# --- rules on the tag's page ---------------------------------------------------------------
def _tag(request: HttpRequest, tag_id: int) -> Tag:
    return object_or_404(selectors.tag_get, workspace=request.workspace, tag_id=tag_id)


def _rule(request: HttpRequest, rule_id: int) -> TagRule:
    return object_or_404(selectors.tag_rule_get, workspace=request.workspace, rule_id=rule_id)


def _rules_section(
    request: HttpRequest,
    tag: Tag,
    form: RuleForm | None = None,
    *,
    saved: TagRule | None = None,
    edit: RuleEdit | None = None,
    error: str = "",
    status: int = 200,
    focus_rule_id: int | None = None,
) -> HttpResponse:
    from discovery.views.tags import rules_context

    context = {
        "tag": tag,
        **rules_context(request.workspace, tag, form=form, edit=edit, error=error),
        "saved_rule": saved,
        "focus_rule_id": focus_rule_id,
    }
    return render(request, "discovery/tag_detail.html#rules", context, status=status)


@workspace_view()
@require_POST
def tag_rule_create(request: HttpRequest, tag_id: int) -> HttpResponse:
    """Save a rule. htmx gets the rules section back (the form with RE2's reason when refused)."""
    workspace = request.workspace
    tag = _tag(request, tag_id)
    form = rule_form(workspace, request.POST)
    rule = None
    if form.is_valid():
        try:
            rule = rule_create(
                workspace=workspace, actor=request.user, tag=tag, **form.cleaned_data
            )
        except (ValidationError, ApplicationError) as exc:
            form_add_service_error(form, exc)
    if _is_htmx(request):
        return _rules_section(request, tag, None if rule else form, saved=rule)
    if rule is None:
        from discovery.views.tags import tag_detail_page

        return tag_detail_page(request, tag, rule_form=form, status=400)
    messages.success(request, "Rule saved. Re-tag to apply it to existing items.")
    return redirect("discovery:tag-detail", workspace_slug=workspace.slug, tag_id=tag.id)


@workspace_view()
@require_GET
def tag_rule_preview(request: HttpRequest, tag_id: int) -> HttpResponse:
    """Which existing feedback the rule being typed would tag (htmx, as the PM types)."""
    workspace = request.workspace
    tag = _tag(request, tag_id)
    form = rule_form(workspace, request.GET)
    context: dict[str, Any] = {
        "tag": tag,
        "preview_error": "",
        "preview": None,
        "clear_errors": _is_htmx(request),
    }
    if request.GET.get("pattern", "").strip() and form.is_valid():
        data = form.cleaned_data
        try:
            count, samples = rule_preview(
                workspace=workspace,
                kind=data["kind"],
                pattern=data["pattern"],
                sources=data["sources"],
                segments=data["segments"],
                limit=PREVIEW_SAMPLES,
            )
        except ValidationError as exc:
            context["preview_error"] = _service_message(exc)
        else:
            context["preview"] = {"count": count, "samples": samples}
    elif request.GET.get("pattern", "").strip():
        context["preview_error"] = " ".join(e for errors in form.errors.values() for e in errors)
    editing = request.GET.get("editing", "")
    # The form being typed in: a rule's edit row names its rule, the new-rule form nothing.
    context["errors_id"] = (
        f"rule-{editing}-pattern-errors" if editing.isdigit() else ("rule-pattern-errors")
    )
    return render(request, "discovery/tag_detail.html#rule-preview", context)


def _rule_of_tag(request: HttpRequest, tag: Tag, rule_id: int) -> TagRule | None:
    try:
        rule = selectors.tag_rule_get(workspace=request.workspace, rule_id=rule_id)
    except TagRule.DoesNotExist:
        return None
    return rule if rule.tag_id == tag.id else None


def _rules_answer(
    request: HttpRequest,
    tag: Tag,
    *,
    edit: RuleEdit | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    if _is_htmx(request):
        return _rules_section(request, tag, edit=edit, error=error, status=status)
    from discovery.views.tags import tag_detail_page

    return tag_detail_page(request, tag, rule_edit=edit, rules_error=error, status=status)


@workspace_view()
@vary_on_headers("HX-Request")
@require_http_methods(["GET", "POST"])
def tag_rule_edit(request: HttpRequest, tag_id: int, rule_id: int) -> HttpResponse:
    """A rule as a form in its row (GET), saved through rule_update (POST). htmx gets the rules
    section back: saved, or the row with the reason it was refused.

    A rule deleted meanwhile answers 404, the same as a rule of another workspace, with the
    rules section as it is now and a message saying so (the page swaps it in: data-swap-errors).
    """
    workspace = request.workspace
    tag = _tag(request, tag_id)
    rule = _rule_of_tag(request, tag, rule_id)
    if rule is None:
        return _rules_answer(request, tag, error=RULE_GONE, status=404)
    if request.method == "GET":
        return _rules_answer(request, tag, edit=RuleEdit(rule.id, rule_form(workspace, rule=rule)))
    form = rule_form(workspace, request.POST, rule=rule)
    if form.is_valid():
        try:
            saved = rule_update(
                workspace=workspace, actor=request.user, rule=rule, **form.cleaned_data
            )
        except TagRule.DoesNotExist:
            # Deleted between the lookup above and rule_update's lock.
            return _rules_answer(request, tag, error=RULE_GONE, status=404)
        except (ValidationError, ApplicationError) as exc:
            form_add_service_error(form, exc)
        else:
            if _is_htmx(request):
                # The keyboard goes on from the rule just saved.
                return _rules_section(request, tag, saved=saved, focus_rule_id=saved.id)
            messages.success(request, "Rule saved. Re-tag to apply it to existing items.")
            return redirect("discovery:tag-detail", workspace_slug=workspace.slug, tag_id=tag.id)
    status = 200 if _is_htmx(request) else 400
    return _rules_answer(request, tag, edit=RuleEdit(rule.id, form), status=status)


def _rule_changed(request: HttpRequest, rule: TagRule, message: str) -> HttpResponse:
    if _is_htmx(request):
        return _rules_section(request, rule.tag)
    messages.success(request, message)
    return redirect(
        "discovery:tag-detail", workspace_slug=request.workspace.slug, tag_id=rule.tag_id
    )


@workspace_view()
@require_POST
def tag_rule_toggle(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = _rule(request, rule_id)
    enabled = request.POST.get("enabled")
    try:
        rule = rule_toggle(
            workspace=request.workspace,
            actor=request.user,
            rule=rule,
            enabled=None if enabled is None else enabled == "1",
        )
    except ValidationError as exc:
        messages.error(request, _service_message(exc))
        return redirect(
            "discovery:tag-detail", workspace_slug=request.workspace.slug, tag_id=rule.tag_id
        )
    state = "on" if rule.enabled else "off"
    return _rule_changed(request, rule, f"Rule {rule.pattern!r} switched {state}.")


@workspace_view()
@require_POST
def tag_rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = _rule(request, rule_id)
    rule_delete(workspace=request.workspace, actor=request.user, rule=rule)
    return _rule_changed(request, rule, f"Rule {rule.pattern!r} deleted.")


# --- suggestions in the inbox --------------------------------------------------------------
def _inbox_row(request: HttpRequest, feedback_id: int, toast: str, level: str) -> HttpResponse:
    """The feedback's inbox row, redrawn, with a toast swapped in beside it."""
    row = object_or_404(
        selectors.feedback_row, workspace=request.workspace, feedback_id=feedback_id
    )
    context = {"f": row, "toast": toast, "toast_level": level}
    return render(request, "discovery/_inbox_row.html", context)


def _decided(
    request: HttpRequest, feedback_id: int | None, message: str, level: str = "success"
) -> HttpResponse:
    workspace = request.workspace
    if _is_htmx(request) and feedback_id is not None:
        return _inbox_row(request, feedback_id, message, level)
    getattr(messages, level)(request, message)
    return _back(request, reverse("discovery:index", kwargs={"workspace_slug": workspace.slug}))


def _suggestion_decide(request: HttpRequest, suggestion_id: int, *, accept: bool) -> HttpResponse:
    workspace = request.workspace
    suggestion = object_or_404(
        selectors.suggestion_get, workspace=workspace, suggestion_id=suggestion_id
    )
    decide = suggestion_accept if accept else suggestion_reject
    try:
        decide(workspace=workspace, actor=request.user, suggestion_id=suggestion.id)
    except ApplicationError as exc:
        return _decided(request, suggestion.feedback_id, exc.message, "error")
    name = suggestion.tag.name
    message = f"Tagged {name}." if accept else f"{name} won’t be suggested for this item again."
    return _decided(request, suggestion.feedback_id, message)


@workspace_view()
@require_POST
def suggestion_accept_view(request: HttpRequest, suggestion_id: int) -> HttpResponse:
    """The model's suggestion becomes the person's tag."""
    return _suggestion_decide(request, suggestion_id, accept=True)


@workspace_view()
@require_POST
def suggestion_reject_view(request: HttpRequest, suggestion_id: int) -> HttpResponse:
    """The model's suggestion is turned down; the model learns from it."""
    return _suggestion_decide(request, suggestion_id, accept=False)


@workspace_view()
@require_POST
def feedback_no_tag_fits(request: HttpRequest, feedback_id: int) -> HttpResponse:
    """Mark (value=1, the default) or unmark (value=0) an item as one no tag fits."""
    workspace = request.workspace
    feedback = object_or_404(selectors.feedback_get, workspace=workspace, feedback_id=feedback_id)
    value = request.POST.get("value", "1") != "0"
    try:
        feedback_mark_no_tag_fits(
            workspace=workspace, actor=request.user, feedback_id=feedback.id, value=value
        )
    except ApplicationError as exc:
        return _decided(request, feedback.id, exc.message, "error")
    message = (
        "Marked: no tag fits. Its suggestions were turned down."
        if value
        else "No longer marked as “no tag fits”."
    )
    return _decided(request, feedback.id, message)


# --- the tagging page ----------------------------------------------------------------------
def _job_context(job: TaggingJob | None) -> dict[str, Any]:
    if job is None:
        return {"job": None, "job_active": False, "percent": 0}
    percent = min(100, job.processed * 100 // job.total) if job.total else 0
    if job.status == TaggingJob.Status.DONE:
        percent = 100
    return {"job": job, "job_active": job.status in ACTIVE_JOB, "percent": percent}


def _origin_bars(rows: list[selectors.TagQuality]) -> list[dict[str, Any]]:
    """Each tag with its taggings by origin as stacked bar segments, scaled to the busiest tag
    (SVG user units, BAR_WIDTH wide)."""
    busiest = max((row.total for row in rows), default=0) or 1
    bars = []
    for row in rows:
        x = 0.0
        parts = []
        for origin, count in (("person", row.person), ("rule", row.rule), ("model", row.model)):
            length = count * BAR_WIDTH / busiest
            if count:
                parts.append({"origin": origin, "x": round(x, 2), "width": round(length, 2)})
            x += length
        bars.append({"row": row, "parts": parts})
    return bars


@workspace_view()
@vary_on_headers("HX-Request")
@require_GET
def tagging_overview(request: HttpRequest) -> HttpResponse:
    """The model, its quality per tag, re-tagging. Queries: session, user, membership, switcher,
    versions, the tags, taggings by origin, pending suggestions, labels (2), re-tag jobs."""
    workspace = request.workspace
    versions = selectors.classifier_list(workspace=workspace)
    current = next((v for v in versions if v.status == Classifier.Status.READY), None)
    training = any(v.status == Classifier.Status.TRAINING for v in versions)
    if _is_htmx(request):
        context = {"current": current, "versions": versions, "training": training}
        return render(request, "discovery/tagging.html#model", context)
    rows, overall = selectors.tagging_quality(workspace=workspace, classifier=current)
    jobs = selectors.tagging_job_list(workspace=workspace)
    context = {
        "current": current,
        "versions": versions,
        "training": training,
        "rows": rows,
        "overall": overall,
        "bars": _origin_bars(rows),
        "bar_width": BAR_WIDTH,
        "labels": selectors.classifier_label_summary(workspace=workspace),
        "jobs": jobs,
        **_job_context(jobs[0] if jobs else None),
    }
    return render(request, "discovery/tagging.html", context)


@workspace_view()
@require_POST
def tagging_train(request: HttpRequest) -> HttpResponse:
    """Train a new version of the model now, in the background."""
    workspace = request.workspace
    try:
        classifier_train_request(workspace=workspace, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, "Training started. The new version appears here when it is ready."
        )
    return redirect("discovery:tagging", workspace_slug=workspace.slug)


@workspace_view()
@require_POST
def tagging_retag(request: HttpRequest) -> HttpResponse:
    """Re-tag the whole workspace, or (scope=filter) the items of the inbox filter posted."""
    workspace = request.workspace
    filters = None
    if request.POST.get("scope") == "filter":
        form = InboxFilterForm(
            request.POST,
            tags=selectors.tag_list(workspace=workspace),
            segments=selectors.company_segments(workspace=workspace),
        )
        filters = form.filters()
    job = retag_request(workspace=workspace, actor=request.user, filters=filters)
    messages.success(request, "Re-tagging started. You can leave this page; it goes on.")
    return redirect("discovery:tagging-job", workspace_slug=workspace.slug, tagging_job_id=job.id)


@workspace_view()
@vary_on_headers("HX-Request")
@require_GET
def tagging_job_detail(request: HttpRequest, tagging_job_id: int) -> HttpResponse:
    """A re-tag's progress; htmx polls the progress partial while it runs."""
    job = object_or_404(
        selectors.tagging_job_get, workspace=request.workspace, job_id=tagging_job_id
    )
    template = "discovery/tagging_job.html"
    if _is_htmx(request):
        template += "#progress"
    return render(request, template, _job_context(job))


urlpatterns = [
    path("tags/<int:tag_id>/rules/", tag_rule_create, name="tag-rule-create"),
    path("tags/<int:tag_id>/rules/preview/", tag_rule_preview, name="tag-rule-preview"),
    path("tags/<int:tag_id>/rules/<int:rule_id>/edit/", tag_rule_edit, name="tag-rule-edit"),
    path("tag-rules/<int:rule_id>/toggle/", tag_rule_toggle, name="tag-rule-toggle"),
    path("tag-rules/<int:rule_id>/delete/", tag_rule_delete, name="tag-rule-delete"),
    path(
        "suggestions/<int:suggestion_id>/accept/", suggestion_accept_view, name="suggestion-accept"
    ),
    path(
        "suggestions/<int:suggestion_id>/reject/", suggestion_reject_view, name="suggestion-reject"
    ),
    path(
        "feedback/<int:feedback_id>/no-tag-fits/",
        feedback_no_tag_fits,
        name="feedback-no-tag-fits",
    ),
    path("tagging/", tagging_overview, name="tagging"),
    path("tagging/train/", tagging_train, name="tagging-train"),
    path("tagging/retag/", tagging_retag, name="tagging-retag"),
    path("tagging/jobs/<int:tagging_job_id>/", tagging_job_detail, name="tagging-job"),
]
