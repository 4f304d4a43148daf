"""Objective pages: the list (key results as progress bars, the roll-up), the objective form,
and one objective: its key results with their history charts, values recorded by hand or by CSV,
items linked by search, and the items serving it with the evidence they cite.

Writes from the objective page answer htmx with the page's main region (the form that failed
keeps its input and errors; the charts and roll-up redraw at once) and plain posts with a
redirect, so every action works without JavaScript.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from backlog.selectors import item_search
from pmhub.core.exceptions import ApplicationError
from pmhub.core.forms import form_add_service_error
from pmhub.core.markdown import render_markdown
from pmhub.core.views import object_or_404
from pmhub.workspaces.decorators import workspace_view
from pmhub.workspaces.roles import Role
from pmhub.workspaces.selectors import membership_list
from roadmap import objectives as okr
from roadmap.charts import KeyResultChart, format_value, key_result_chart
from roadmap.models import DESCRIPTION_MAX_CHARS, KeyResult, Objective
from roadmap.services import StaleRoadmapError

PICKER_MATCHES = 12
HISTORY_POINTS = 120  # per chart: a few months of daily values; the API has the rest
ITEMS_SHOWN = 100
EDITOR_ONLY = {"GET": Role.EDITOR}


# --- forms ---------------------------------------------------------------------------------------
class ObjectiveForm(forms.Form):
    title = forms.CharField(
        max_length=okr.TITLE_MAX_CHARS,
        widget=forms.TextInput(attrs={"autofocus": True, "placeholder": "Win the enterprise"}),
    )
    period = forms.CharField(
        max_length=okr.PERIOD_MAX_CHARS,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "2026 Q4"}),
        help_text="How your team names the planning period.",
    )
    owner = forms.TypedChoiceField(coerce=int, empty_value=None, required=False)
    start_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    description = forms.CharField(
        required=False,
        max_length=DESCRIPTION_MAX_CHARS,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="Markdown: why it matters now, and what success looks like.",
    )
    # The objective's updated_at when the form was opened: a save over someone else's is stale.
    unchanged_since = forms.DateTimeField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, members: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [
            ("", "No owner"),
            *((m.user_id, m.user.display_name) for m in members),
        ]

    @staticmethod
    def initial_for(objective: Objective) -> dict[str, Any]:
        return {
            "title": objective.title,
            "period": objective.period,
            "owner": objective.owner_id or "",
            "start_date": objective.start_date,
            "end_date": objective.end_date,
            "description": objective.description,
            "unchanged_since": objective.updated_at.isoformat(),
        }

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "title": data["title"],
            "period": data["period"],
            "owner_id": data["owner"],
            "start_date": data["start_date"],
            "end_date": data["end_date"],
            "description": data["description"],
        }


class KeyResultForm(forms.Form):
    metric = forms.CharField(
        max_length=okr.METRIC_MAX_CHARS,
        widget=forms.TextInput(attrs={"placeholder": "Enterprise ARR"}),
    )
    unit = forms.CharField(
        max_length=okr.UNIT_MAX_CHARS,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "$, %, users"}),
    )
    baseline = forms.FloatField(initial=0, help_text="Where it stands at the start.")
    target = forms.FloatField(help_text="Lower than the baseline for a metric to bring down.")

    @staticmethod
    def initial_for(key_result: KeyResult) -> dict[str, Any]:
        return {
            "metric": key_result.metric,
            "unit": key_result.unit,
            "baseline": key_result.baseline,
            "target": key_result.target,
        }


class ValueForm(forms.Form):
    value = forms.FloatField(widget=forms.NumberInput(attrs={"step": "any"}))
    measured_on = forms.DateField(
        label="Date",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Today if left empty.",
    )
    note = forms.CharField(max_length=okr.NOTE_MAX_CHARS, required=False)

    def measured_at(self) -> datetime.datetime | None:
        """The date's noon in UTC (today: now), so a day's value sorts after a CSV's midnight."""
        day = self.cleaned_data["measured_on"]
        if day is None or day == timezone.now().date():
            return None
        return datetime.datetime.combine(day, datetime.time(12), tzinfo=datetime.UTC)


class ImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text=f"Rows of date,value[,note]; header optional; at most {okr.CSV_MAX_ROWS:,} rows.",
    )


# --- rows the templates print --------------------------------------------------------------------
@dataclass
class KeyResultRow:
    key_result: KeyResult
    percent: int
    current: str
    baseline: str
    target: str
    direction: str  # "rising" or "falling"
    chart: KeyResultChart | None = None
    items: list[Any] | None = None
    value_form: ValueForm | None = None
    import_form: ImportForm | None = None
    import_errors: list[dict[str, Any]] | None = None
    import_more: int = 0


def _row(key_result: KeyResult) -> KeyResultRow:
    unit = key_result.unit
    return KeyResultRow(
        key_result=key_result,
        percent=round(key_result.progress * 100),
        current=format_value(key_result.current, unit),
        baseline=format_value(key_result.baseline, unit),
        target=format_value(key_result.target, unit),
        direction="falling" if key_result.target < key_result.baseline else "rising",
    )


def _percent(share: float | None) -> int | None:
    return None if share is None else round(share * 100)


# --- helpers -------------------------------------------------------------------------------------
def _can_edit(request: HttpRequest) -> bool:
    return request.membership.role in (Role.ADMIN, Role.EDITOR)


def _objective(request: HttpRequest, objective_id: int) -> Objective:
    return object_or_404(okr.objective_get, workspace=request.workspace, objective_id=objective_id)


def _key_result(request: HttpRequest, objective: Objective, key_result_id: int) -> KeyResult:
    return object_or_404(
        okr.key_result_get,
        workspace=request.workspace,
        key_result_id=key_result_id,
        objective=objective,
    )


def _url(request: HttpRequest, name: str, anchor: str = "", **kwargs: Any) -> str:
    url = reverse(f"roadmap:{name}", kwargs={"workspace_slug": request.workspace.slug, **kwargs})
    return f"{url}#{anchor}" if anchor else url


def _detail_url(request: HttpRequest, objective_id: int, anchor: str = "") -> str:
    return _url(request, "objective-detail", anchor, objective_id=objective_id)


def _members(request: HttpRequest) -> list[Any]:
    return list(membership_list(workspace=request.workspace))


def _message(exc: ValidationError | ApplicationError) -> str:
    return exc.message if isinstance(exc, ApplicationError) else " ".join(exc.messages)


def _picker_options(request: HttpRequest, objective: Objective, find: str) -> list[dict[str, Any]]:
    """Items matching `find`, those already serving the objective marked."""
    if not find.strip():
        return []
    hits = item_search(workspace=request.workspace, query=find, limit=PICKER_MATCHES)
    linked = okr.key_result_item_ids(
        workspace=request.workspace, key_result_ids=[kr.id for kr in objective.key_results.all()]
    ) if hits else set()  # fmt: skip
    return [{"item": hit, "linked": hit.id in linked} for hit in hits]


def _detail_context(
    request: HttpRequest,
    objective: Objective,
    *,
    failed_key_result_id: int | None = None,
    value_form: ValueForm | None = None,
    import_form: ImportForm | None = None,
    import_error: ApplicationError | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    workspace = request.workspace
    can_edit = _can_edit(request)
    key_results = list(objective.key_results.all())
    histories = okr.key_result_histories(
        workspace=workspace, key_results=key_results, limit=HISTORY_POINTS
    )
    serving = okr.objective_items(workspace=workspace, objective=objective, limit=ITEMS_SHOWN)
    items_of: dict[int, list[Any]] = {kr.id: [] for kr in key_results}
    for entry in serving:
        for key_result_id in entry.key_result_ids:
            items_of[key_result_id].append(entry.item)
    rows = []
    for key_result in key_results:
        row = _row(key_result)
        row.chart = key_result_chart(
            key_result=key_result,
            values=histories[key_result.id],
            start=objective.start_date,
            end=objective.end_date,
            dom_id=f"kr-{key_result.id}-chart",
        )
        row.items = items_of[key_result.id]
        if can_edit:
            failed = key_result.id == failed_key_result_id
            row.value_form = (
                value_form if failed and value_form else ValueForm(prefix=f"kr{key_result.id}")
            )
            row.import_form = (
                import_form if failed and import_form else ImportForm(prefix=f"csv{key_result.id}")
            )
            if failed and import_error is not None:
                row.import_errors = import_error.extra.get("errors", [])
                row.import_more = import_error.extra.get("more", 0)
        rows.append(row)
    find = request.GET.get("find", "")[:200]
    item_total = len(serving)
    if item_total == ITEMS_SHOWN:
        item_total = okr.objective_item_count(workspace=workspace, objective=objective)
    context = {
        "objective": objective,
        "can_edit": can_edit,
        "description_html": render_markdown(objective.description),
        "rows": rows,
        "percent": _percent(okr.rollup(key_results)),
        "serving": serving,
        "item_total": item_total,
        "key_result_form": KeyResultForm(prefix="new") if can_edit else None,
        "find": find,
        "picker_options": _picker_options(request, objective, find) if can_edit else [],
        "link_key_result_id": None,
        "link_error": "",
        "max_key_results": okr.MAX_KEY_RESULTS,
        "csv_max_rows": okr.CSV_MAX_ROWS,
    }
    context.update(overrides)
    return context


def _detail(
    request: HttpRequest, objective: Objective, status: int = 200, **kwargs: Any
) -> HttpResponse:
    # htmx swaps only 2xx answers: a refused value is shown in the swapped region all the same.
    if request.htmx and status == 400:
        status = 200
    context = _detail_context(request, objective, **kwargs)
    return render(request, "roadmap/objective_detail.html", context, status=status)


def _done(request: HttpRequest, objective_id: int, notice: str, anchor: str = "") -> HttpResponse:
    """After a write from the objective page: htmx gets the fresh page (its main region is
    swapped in, the notice becomes a toast); a plain post is redirected with the message."""
    if request.htmx:
        objective = _objective(request, objective_id)
        context = _detail_context(request, objective, notice=notice)
        return render(request, "roadmap/objective_detail.html", context)
    messages.success(request, notice)
    return redirect(_detail_url(request, objective_id, anchor))


# --- pages ---------------------------------------------------------------------------------------
@workspace_view()
@require_GET
def objective_list(request: HttpRequest) -> HttpResponse:
    """Objectives with their key results as progress bars and the roll-up; archived on ask."""
    workspace = request.workspace
    show_archived = request.GET.get("archived") == "1"
    objectives = list(okr.objective_list(workspace=workspace, include_archived=show_archived))
    entries = [
        {
            "objective": objective,
            "percent": _percent(okr.rollup(objective.key_results.all())),
            "rows": [_row(kr) for kr in objective.key_results.all()],
        }
        for objective in objectives
    ]
    archived_count = (
        sum(o.is_archived for o in objectives)
        if show_archived
        else okr.objective_archived_count(workspace=workspace)
    )
    context = {
        "entries": entries,
        "show_archived": show_archived,
        "archived_count": archived_count,
        "can_edit": _can_edit(request),
    }
    return render(request, "roadmap/objective_list.html", context)


@workspace_view(roles=EDITOR_ONLY)
@require_http_methods(["GET", "POST"])
def objective_new(request: HttpRequest) -> HttpResponse:
    form = ObjectiveForm(request.POST or None, members=_members(request))
    if request.method == "POST" and form.is_valid():
        try:
            objective = okr.objective_create(
                workspace=request.workspace, actor=request.user, **form.service_kwargs()
            )
        except (ValidationError, ApplicationError) as exc:
            form_add_service_error(form, exc)
        else:
            messages.success(request, "Objective created. Add its key results next.")
            return redirect(_detail_url(request, objective.id, "new-key-result"))
    status = 400 if request.method == "POST" else 200
    return render(request, "roadmap/objective_form.html", {"form": form}, status=status)


@workspace_view()
@require_GET
def objective_detail(request: HttpRequest, objective_id: int) -> HttpResponse:
    objective = _objective(request, objective_id)
    if request.htmx and "find" in request.GET and _can_edit(request):
        find = request.GET["find"][:200]
        context = {
            "picker_options": _picker_options(request, objective, find),
            "find": find,
        }
        return render(request, "roadmap/_objective_item_options.html", context)
    return _detail(request, objective)


@workspace_view(roles=EDITOR_ONLY)
@require_http_methods(["GET", "POST"])
def objective_edit(request: HttpRequest, objective_id: int) -> HttpResponse:
    objective = _objective(request, objective_id)
    if request.method == "GET":
        form = ObjectiveForm(
            initial=ObjectiveForm.initial_for(objective), members=_members(request)
        )
        return render(
            request, "roadmap/objective_form.html", {"form": form, "objective": objective}
        )
    form = ObjectiveForm(request.POST, members=_members(request))
    conflict = None
    if form.is_valid():
        try:
            okr.objective_update(
                workspace=request.workspace,
                actor=request.user,
                objective=objective,
                unchanged_since=form.cleaned_data["unchanged_since"],
                **form.service_kwargs(),
            )
        except StaleRoadmapError:
            # The form now carries the saved time: saving again, on purpose, replaces theirs.
            conflict = _objective(request, objective_id)
            post = request.POST.copy()
            post["unchanged_since"] = conflict.updated_at.isoformat()
            form = ObjectiveForm(post, members=_members(request))
            form.is_valid()
        except (ValidationError, ApplicationError) as exc:
            form_add_service_error(form, exc)
        else:
            messages.success(request, "Objective saved.")
            return redirect(_detail_url(request, objective.id))
    context = {"form": form, "objective": objective, "conflict": conflict}
    status = 409 if conflict else 400
    return render(request, "roadmap/objective_form.html", context, status=status)


@workspace_view()
@require_POST
def objective_archive(request: HttpRequest, objective_id: int) -> HttpResponse:
    objective = _objective(request, objective_id)
    archived = request.POST.get("archived", "1") == "1"
    okr.objective_archive(
        workspace=request.workspace, actor=request.user, objective=objective, archived=archived
    )
    if archived:
        messages.success(request, f"“{objective.title}” archived: its history stays.")
        return redirect(_url(request, "objective-list"))
    messages.success(request, f"“{objective.title}” is back among the objectives.")
    return redirect(_detail_url(request, objective.id))


@workspace_view()
@require_POST
def objective_delete(request: HttpRequest, objective_id: int) -> HttpResponse:
    objective = _objective(request, objective_id)
    okr.objective_delete(workspace=request.workspace, actor=request.user, objective=objective)
    messages.success(request, f"“{objective.title}” deleted with its key results.")
    return redirect(_url(request, "objective-list"))


@workspace_view()
@require_POST
def key_result_new(request: HttpRequest, objective_id: int) -> HttpResponse:
    objective = _objective(request, objective_id)
    form = KeyResultForm(request.POST, prefix="new")
    if form.is_valid():
        try:
            okr.key_result_create(
                workspace=request.workspace,
                actor=request.user,
                objective=objective,
                **form.cleaned_data,
            )
        except (ValidationError, ApplicationError) as exc:
            form_add_service_error(form, exc)
        else:
            return _done(request, objective.id, "Key result added.", "key-results")
    return _detail(request, objective, status=400, key_result_form=form, key_result_open=True)


@workspace_view(roles=EDITOR_ONLY)
@require_http_methods(["GET", "POST"])
def key_result_edit(request: HttpRequest, objective_id: int, key_result_id: int) -> HttpResponse:
    objective = _objective(request, objective_id)
    key_result = _key_result(request, objective, key_result_id)
    if request.method == "GET":
        form = KeyResultForm(initial=KeyResultForm.initial_for(key_result))
    else:
        form = KeyResultForm(request.POST)
        if form.is_valid():
            try:
                okr.key_result_update(
                    workspace=request.workspace,
                    actor=request.user,
                    key_result=key_result,
                    **form.cleaned_data,
                )
            except (ValidationError, ApplicationError) as exc:
                form_add_service_error(form, exc)
            else:
                messages.success(request, "Key result saved.")
                return redirect(_detail_url(request, objective.id, f"kr-{key_result.id}"))
    context = {"form": form, "objective": objective, "key_result": key_result}
    status = 400 if request.method == "POST" else 200
    return render(request, "roadmap/objective_key_result_form.html", context, status=status)


@workspace_view()
@require_POST
def key_result_delete(request: HttpRequest, objective_id: int, key_result_id: int) -> HttpResponse:
    objective = _objective(request, objective_id)
    key_result = _key_result(request, objective, key_result_id)
    okr.key_result_delete(workspace=request.workspace, actor=request.user, key_result=key_result)
    messages.success(request, f"Key result “{key_result.metric}” deleted with its history.")
    return redirect(_detail_url(request, objective.id, "key-results"))


@workspace_view()
@require_POST
def key_result_value_record(
    request: HttpRequest, objective_id: int, key_result_id: int
) -> HttpResponse:
    objective = _objective(request, objective_id)
    key_result = _key_result(request, objective, key_result_id)
    form = ValueForm(request.POST, prefix=f"kr{key_result.id}")
    if form.is_valid():
        try:
            okr.key_result_value_record(
                workspace=request.workspace,
                actor=request.user,
                key_result=key_result,
                value=form.cleaned_data["value"],
                measured_at=form.measured_at(),
                note=form.cleaned_data["note"],
            )
        except (ValidationError, ApplicationError) as exc:
            if isinstance(exc, ValidationError) and "measured_at" in getattr(exc, "error_dict", {}):
                form.add_error("measured_on", exc.error_dict["measured_at"])
            else:
                form_add_service_error(form, exc)
        else:
            value = format_value(form.cleaned_data["value"], key_result.unit, compact=False)
            return _done(
                request,
                objective.id,
                f"{key_result.metric}: {value} recorded.",
                f"kr-{key_result.id}",
            )
    return _detail(
        request, objective, status=400, failed_key_result_id=key_result.id, value_form=form
    )


@workspace_view()
@require_POST
def key_result_value_delete(
    request: HttpRequest, objective_id: int, key_result_id: int, key_result_value_id: int
) -> HttpResponse:
    objective = _objective(request, objective_id)
    key_result = _key_result(request, objective, key_result_id)
    value = object_or_404(
        okr.key_result_value_get,
        workspace=request.workspace,
        key_result=key_result,
        key_result_value_id=key_result_value_id,
    )
    okr.key_result_value_delete(workspace=request.workspace, actor=request.user, value=value)
    return _done(
        request,
        objective.id,
        f"Value of {value.measured_at:%-d %b %Y} deleted.",
        f"kr-{key_result.id}",
    )


@workspace_view()
@require_POST
def key_result_values_import(
    request: HttpRequest, objective_id: int, key_result_id: int
) -> HttpResponse:
    objective = _objective(request, objective_id)
    key_result = _key_result(request, objective, key_result_id)
    form = ImportForm(request.POST, request.FILES, prefix=f"csv{key_result.id}")
    error = None
    if form.is_valid():
        try:
            result = okr.key_result_values_import_csv(
                workspace=request.workspace,
                actor=request.user,
                key_result=key_result,
                file=form.cleaned_data["file"],
            )
        except okr.ValuesImportError as exc:
            error = exc
            form.add_error("file", exc.message)
        else:
            return _done(
                request,
                objective.id,
                f"{key_result.metric}: {result.summary}.",
                f"kr-{key_result.id}",
            )
    return _detail(
        request,
        objective,
        status=400,
        failed_key_result_id=key_result.id,
        import_form=form,
        import_error=error,
    )


@workspace_view()
@require_POST
def key_result_item_link(request: HttpRequest, objective_id: int) -> HttpResponse:
    """Link the item picked to the key result chosen (both from the objective page's picker)."""
    objective = _objective(request, objective_id)
    raw_kr, raw_item = request.POST.get("key_result_id", ""), request.POST.get("item_id", "")
    error = ""
    if not raw_kr.isdigit():
        error = "Choose the key result the item should move."
    elif not raw_item.isdigit():
        error = "Search for an item, then pick it."
    else:
        key_result = _key_result(request, objective, int(raw_kr))
        try:
            created = okr.key_result_item_link(
                workspace=request.workspace,
                actor=request.user,
                key_result=key_result,
                item_id=int(raw_item),
            )
        except (ValidationError, ApplicationError) as exc:
            error = _message(exc)
        else:
            notice = "Item linked." if created else "That item already serves this key result."
            return _done(request, objective.id, notice, "link-items")
    return _detail(
        request,
        objective,
        status=400,
        link_error=error,
        link_key_result_id=int(raw_kr) if raw_kr.isdigit() else None,
    )


@workspace_view()
@require_POST
def key_result_item_unlink(
    request: HttpRequest, objective_id: int, key_result_id: int, item_id: int
) -> HttpResponse:
    objective = _objective(request, objective_id)
    key_result = _key_result(request, objective, key_result_id)
    unlinked = okr.key_result_item_unlink(
        workspace=request.workspace, actor=request.user, key_result=key_result, item_id=item_id
    )
    message = (
        f"Item unlinked from {key_result.metric}."
        if unlinked
        else f"That item was not linked to {key_result.metric} any more."
    )
    return _done(request, objective.id, message, "serving")


_OBJECTIVE = "objectives/<int:objective_id>"
_KEY_RESULT = f"{_OBJECTIVE}/key-results/<int:key_result_id>"

urlpatterns = [
    path("objectives/", objective_list, name="objective-list"),
    path("objectives/new/", objective_new, name="objective-new"),
    path(f"{_OBJECTIVE}/", objective_detail, name="objective-detail"),
    path(f"{_OBJECTIVE}/edit/", objective_edit, name="objective-edit"),
    path(f"{_OBJECTIVE}/archive/", objective_archive, name="objective-archive"),
    path(f"{_OBJECTIVE}/delete/", objective_delete, name="objective-delete"),
    path(f"{_OBJECTIVE}/key-results/", key_result_new, name="key-result-new"),
    path(f"{_OBJECTIVE}/items/link/", key_result_item_link, name="key-result-item-link"),
    path(f"{_KEY_RESULT}/edit/", key_result_edit, name="key-result-edit"),
    path(f"{_KEY_RESULT}/delete/", key_result_delete, name="key-result-delete"),
    path(f"{_KEY_RESULT}/values/", key_result_value_record, name="key-result-value-record"),
    path(
        f"{_KEY_RESULT}/values/import/", key_result_values_import, name="key-result-values-import"
    ),
    path(
        f"{_KEY_RESULT}/values/<int:key_result_value_id>/delete/",
        key_result_value_delete,
        name="key-result-value-delete",
    ),
    path(
        f"{_KEY_RESULT}/items/<int:item_id>/unlink/",
        key_result_item_unlink,
        name="key-result-item-unlink",
    ),
]
