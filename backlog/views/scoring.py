"""Scoring pages: the settings (formulas, custom fields, recompute progress, what-if) and, on an
item's page, its scores with their explanation and the inputs form."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from backlog import scoring, selectors
from backlog.formula import FRAMEWORKS
from backlog.models import Item, ScoreField, ScoringFormula
from backlog.services import StaleItemError
from pmhub.core.exceptions import ApplicationError
from pmhub.core.views import object_or_404
from pmhub.workspaces.decorators import workspace_view
from pmhub.workspaces.models import Workspace

WHAT_IF_LIMIT = 20
HISTORY_SHOWN = 3


def _settings_url(workspace: Workspace) -> str:
    return reverse("backlog:scoring", kwargs={"workspace_slug": workspace.slug})


def _errors(exc: ValidationError | ApplicationError) -> dict[str, list[str]]:
    """A service's refusal by field; "general" for the rest (templates cannot read __all__)."""
    if isinstance(exc, ApplicationError):
        return {"general": [exc.message]}
    if hasattr(exc, "error_dict"):
        return {key.replace("__all__", "general"): value for key, value in exc.message_dict.items()}
    return {"general": exc.messages}


def _formula(request: HttpRequest, formula_id: int) -> ScoringFormula:
    return object_or_404(scoring.formula_get, workspace=request.workspace, formula_id=formula_id)


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:,.2f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:,.0f}"


def _ordinal(n: int | None) -> str:
    if n is None:
        return "unranked"
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _position(found: scoring.ScorePosition | None) -> str:
    """ "3rd", or "about 41,000th" where scoring.score_positions estimated it (two figures)."""
    if found is None or found.position is None:
        return _ordinal(None)
    if found.exact:
        return _ordinal(found.position)
    rounded = int(float(f"{found.position:.2g}"))
    return f"about {rounded:,}{_ordinal(rounded)[len(str(rounded)) :]}"


# --- the item page's scores panel ------------------------------------------------------------
def _explanation(explained: dict[str, Any] | None) -> dict[str, Any]:
    """scoring.scores_explain's explanation of one formula, ready to show; None: it is broken."""
    if explained is None:
        return {"broken": True, "inputs": [], "history": []}
    largest = max((abs(i["contribution"] or 0) for i in explained["inputs"]), default=0) or 1
    for row in explained["inputs"]:
        effect = row["contribution"]
        row["bar"] = 0 if not effect else max(3, round(abs(effect) / largest * 100))
        row["sign"] = "" if not effect else ("up" if effect > 0 else "down")
        row["shown_value"] = _number(row["value"]) if row["value"] is not None else "not set"
        row["shown_median"] = _number(row["median"]) if row["median"] is not None else "—"
        row["shown_effect"] = f"{effect:+,.2f}".rstrip("0").rstrip(".") if effect else "±0"
    for entry in explained["history"][:HISTORY_SHOWN]:
        moved = entry["old_position"] != entry["new_position"]
        entry["text"] = (
            f"moved from {_ordinal(entry['old_position'])} to {_ordinal(entry['new_position'])}"
            if moved
            else f"{_number(entry['old_value']) or 'unknown'} → "
            f"{_number(entry['new_value']) or 'unknown'}"
        )
    explained["history"] = explained["history"][:HISTORY_SHOWN]
    return explained


def _input_groups(workspace: Workspace, item: Item, values: dict[str, Any]) -> list[dict]:
    """The inputs form: one group per framework, then the workspace's own fields."""
    groups = []
    for key, framework in FRAMEWORKS.items():
        fields = []
        for spec in framework.fields:
            name = f"{key}.{spec.name}"
            fields.append(
                {
                    "name": name,
                    "id": f"input-{key}-{spec.name}",
                    "label": spec.label,
                    "help": spec.help,
                    "value": values.get(name),
                    "choices": spec.choices,
                    "minimum": spec.minimum,
                    "maximum": spec.maximum,
                }
            )
        groups.append({"key": key, "name": framework.name, "fields": fields})
    custom = [
        {
            "name": field.name,
            "id": f"input-custom-{field.name}",
            "label": field.label,
            "help": field.help,
            "value": values.get(field.name),
            "choices": [tuple(c) for c in field.choices]
            if field.kind == ScoreField.Kind.CHOICE
            else None,
            "minimum": field.minimum,
            "maximum": field.maximum,
        }
        for field in selectors.score_field_list(workspace=workspace)
    ]
    if custom:
        groups.append({"key": "custom", "name": "Your fields", "fields": custom})
    return groups


def scores_context(
    workspace: Workspace,
    item: Item,
    *,
    posted: dict[str, Any] | None = None,
    errors: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """The scores panel of an item's page. Reads only: before scoring is set up it is empty."""
    formulas = selectors.formula_list(workspace=workspace)
    # A constant number of queries however many formulas: positions and explanations are read
    # for all of them at once.
    ranked = (
        scoring.score_positions(workspace=workspace, item=item, formulas=formulas)
        if formulas
        else {}
    )
    explained = (
        scoring.scores_explain(workspace=workspace, item=item, formulas=formulas)
        if formulas
        else {}
    )
    scores = []
    for formula in formulas:
        found = ranked.get(formula.id)
        score = found.score if found else None
        value = score.value if score else None
        scores.append(
            {
                "formula": formula,
                "value": value,
                "shown": _number(value),
                "reason": (score.reason if score else "") or "not scored yet",
                "position": _position(found),
                "explain": _explanation(explained[formula.id]),
            }
        )
    values = dict(selectors.item_inputs_values(workspace=workspace, item=item))
    if posted:
        values.update(posted)
    return {
        "scores": scores,
        "input_groups": _input_groups(workspace, item, values) if formulas else [],
        "input_errors": errors or {},
    }


@workspace_view()
@require_POST
def item_inputs(request: HttpRequest, item_id: int) -> HttpResponse:
    """Save an item's scoring inputs; a value out of range refuses them all, shown by field."""
    workspace = request.workspace
    item = object_or_404(selectors.item_get, workspace=workspace, item_id=item_id)
    names = {f["name"] for g in _input_groups(workspace, item, {}) for f in g["fields"]}
    values = {name: request.POST[name].strip() for name in names if name in request.POST}
    try:
        scoring.item_inputs_set(workspace=workspace, actor=request.user, item=item, values=values)
    except ValidationError as exc:
        from backlog.views.items import item_page_response

        return item_page_response(
            request,
            item,
            status=400,
            scores=scores_context(workspace, item, posted=values, errors=exc.message_dict),
        )
    messages.success(request, "Inputs saved; scores updated.")
    return redirect(
        reverse(
            "backlog:item-detail", kwargs={"workspace_slug": workspace.slug, "item_id": item.id}
        )
        + "#scores"
    )


# --- the settings page -----------------------------------------------------------------------
def _settings_context(request: HttpRequest, **overrides: Any) -> dict[str, Any]:
    workspace = request.workspace
    jobs = {job.formula_id: job for job in selectors.scoring_job_latest(workspace=workspace)}
    formulas = selectors.formula_list(workspace=workspace)
    context = {
        "formulas": [{"formula": f, "job": jobs.get(f.id)} for f in formulas],
        "fields": selectors.score_field_list(workspace=workspace),
        "field_kinds": ScoreField.Kind.choices,
        "new_formula": {"name": "", "source": ""},
        "new_formula_errors": {},
        "new_field": {},
        "new_field_errors": {},
        "field_errors": {},
        "field_error_id": None,
        "names": scoring.formula_names("", selectors.score_field_list(workspace=workspace)),
    }
    context.update(overrides)
    return context


@workspace_view()
@require_GET
def scoring_settings(request: HttpRequest) -> HttpResponse:
    return render(request, "backlog/scoring.html", _settings_context(request))


@workspace_view()
@require_POST
def scoring_setup(request: HttpRequest) -> HttpResponse:
    """Create the built-in formulas (RICE primary); safe to repeat."""
    scoring.scoring_defaults_ensure(workspace=request.workspace)
    messages.success(request, "Scoring is set up: RICE, ICE, WSJF and value vs effort.")
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return redirect(back)
    return redirect(_settings_url(request.workspace))


@workspace_view()
@require_POST
def formula_create(request: HttpRequest) -> HttpResponse:
    name, source = request.POST.get("name", ""), request.POST.get("source", "")
    try:
        formula, _job = scoring.formula_create(
            workspace=request.workspace, actor=request.user, name=name, source=source
        )
    except (ValidationError, ApplicationError) as exc:
        context = _settings_context(
            request,
            new_formula={"name": name, "source": source},
            new_formula_errors=_errors(exc),
        )
        return render(request, "backlog/scoring.html", context, status=400)
    messages.success(request, f"“{formula.name}” created; scoring every item.")
    return redirect(_settings_url(request.workspace))


@workspace_view()
@require_http_methods(["GET", "POST"])
def formula_edit(request: HttpRequest, formula_id: int) -> HttpResponse:
    """Edit a formula's name and source, with a what-if of the draft as you type."""
    workspace = request.workspace
    formula = _formula(request, formula_id)
    draft = {"name": formula.name, "source": formula.source, "version": formula.version}
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        draft = {
            "name": request.POST.get("name", ""),
            "source": request.POST.get("source", ""),
            "version": request.POST.get("version", ""),
        }
        try:
            version = int(draft["version"])
        except ValueError:
            version = -1
        try:
            formula, job = scoring.formula_update(
                workspace=workspace,
                actor=request.user,
                formula=formula,
                version=version,
                name=draft["name"],
                source=draft["source"],
            )
        except StaleItemError as exc:
            errors, status = {"general": [exc.message]}, 409
            formula = _formula(request, formula_id)
        except (ValidationError, ApplicationError) as exc:
            errors, status = _errors(exc), 400
        else:
            messages.success(
                request,
                f"“{formula.name}” saved" + ("; rescoring every item." if job is not None else "."),
            )
            return redirect(_settings_url(workspace))
    context = {
        "formula": formula,
        "draft": draft,
        "errors": errors,
        "names": scoring.formula_names(
            formula.framework, selectors.score_field_list(workspace=workspace)
        ),
        "preview": _what_if(workspace, formula, draft["source"]),
    }
    return render(request, "backlog/scoring_formula.html", context, status=status)


def _what_if(workspace: Workspace, formula: ScoringFormula, source: str) -> dict[str, Any]:
    try:
        rows = scoring.what_if(
            workspace=workspace, source=source, formula=formula, limit=WHAT_IF_LIMIT
        )
    except (ValidationError, ApplicationError) as exc:
        return {"rows": [], "error": " ".join(sum(_errors(exc).values(), []))}
    for row in rows:
        old, new = row["old_position"], row["position"]
        row["shown"] = _number(row["value"])
        row["shown_old"] = _number(row["old_value"])
        if old is None or new is None:
            row["move"] = "new" if old is None and new is not None else "same"
        else:
            row["move"] = "up" if new < old else "down" if new > old else "same"
            row["by"] = abs(old - new)
    return {"rows": rows, "error": ""}


@workspace_view()
@require_GET
def formula_what_if(request: HttpRequest, formula_id: int) -> HttpResponse:
    """The top items by a draft source, not saved (the edit page asks as you type)."""
    formula = _formula(request, formula_id)
    source = request.GET.get("source", formula.source)[:2000]
    context = {"formula": formula, "preview": _what_if(request.workspace, formula, source)}
    return render(request, "backlog/scoring_formula.html#what-if", context)


@workspace_view()
@require_POST
def formula_primary(request: HttpRequest, formula_id: int) -> HttpResponse:
    formula = _formula(request, formula_id)
    scoring.formula_update(
        workspace=request.workspace,
        actor=request.user,
        formula=formula,
        version=formula.version,
        is_primary=True,
    )
    messages.success(request, f"The backlog now sorts by “{formula.name}”.")
    return redirect(_settings_url(request.workspace))


@workspace_view()
@require_POST
def formula_delete(request: HttpRequest, formula_id: int) -> HttpResponse:
    formula = _formula(request, formula_id)
    scoring.formula_delete(workspace=request.workspace, actor=request.user, formula=formula)
    messages.success(request, f"“{formula.name}” deleted with its scores.")
    return redirect(_settings_url(request.workspace))


@workspace_view()
@require_GET
def scoring_job_progress(request: HttpRequest, scoring_job_id: int) -> HttpResponse:
    """One recompute job's progress; polled by the settings page while it runs."""
    job = object_or_404(scoring.scoring_job_get, workspace=request.workspace, job_id=scoring_job_id)
    return render(request, "backlog/scoring.html#job", {"job": job})


# --- custom fields ---------------------------------------------------------------------------
def _choices(text: str) -> list[list[str]]:
    """ "1 = Small" per line -> [["1", "Small"]]; the service checks the numbers."""
    rows = []
    for line in text.splitlines():
        if line.strip():
            value, _, label = line.partition("=")
            rows.append([value.strip(), label.strip()])
    return rows


def _field_data(post: Any) -> dict[str, Any]:
    return {
        "label": post.get("label", ""),
        "kind": post.get("kind", ScoreField.Kind.NUMBER),
        "choices": _choices(post.get("choices", "")),
        "minimum": post.get("minimum", ""),
        "maximum": post.get("maximum", ""),
        "help": post.get("help", ""),
    }


@workspace_view()
@require_POST
def score_field_create(request: HttpRequest) -> HttpResponse:
    data = _field_data(request.POST)
    try:
        field = scoring.score_field_create(
            workspace=request.workspace,
            actor=request.user,
            name=request.POST.get("name", ""),
            **data,
        )
    except (ValidationError, ApplicationError) as exc:
        context = _settings_context(
            request,
            new_field={**request.POST.dict()},
            new_field_errors=_errors(exc),
        )
        return render(request, "backlog/scoring.html", context, status=400)
    messages.success(request, f"Field “{field.label}” added: use {field.name} in formulas.")
    return redirect(_settings_url(request.workspace) + "#fields")


@workspace_view()
@require_POST
def score_field_edit(request: HttpRequest, score_field_id: int) -> HttpResponse:
    field = object_or_404(
        scoring.score_field_get, workspace=request.workspace, field_id=score_field_id
    )
    try:
        scoring.score_field_update(
            workspace=request.workspace,
            actor=request.user,
            field=field,
            **_field_data(request.POST),
        )
    except (ValidationError, ApplicationError) as exc:
        context = _settings_context(request, field_errors=_errors(exc), field_error_id=field.id)
        return render(request, "backlog/scoring.html", context, status=400)
    messages.success(request, f"Field “{field.label}” saved.")
    return redirect(_settings_url(request.workspace) + "#fields")


@workspace_view()
@require_POST
def score_field_delete(request: HttpRequest, score_field_id: int) -> HttpResponse:
    field = object_or_404(
        scoring.score_field_get, workspace=request.workspace, field_id=score_field_id
    )
    try:
        scoring.score_field_delete(workspace=request.workspace, actor=request.user, field=field)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Field “{field.label}” deleted.")
    return redirect(_settings_url(request.workspace) + "#fields")


urlpatterns = [
    path("scoring/", scoring_settings, name="scoring"),
    path("scoring/setup/", scoring_setup, name="scoring-setup"),
    path("scoring/formulas/new/", formula_create, name="formula-create"),
    path("scoring/formulas/<int:formula_id>/", formula_edit, name="formula-edit"),
    path("scoring/formulas/<int:formula_id>/what-if/", formula_what_if, name="formula-what-if"),
    path("scoring/formulas/<int:formula_id>/primary/", formula_primary, name="formula-primary"),
    path("scoring/formulas/<int:formula_id>/delete/", formula_delete, name="formula-delete"),
    path("scoring/jobs/<int:scoring_job_id>/", scoring_job_progress, name="scoring-job"),
    path("scoring/fields/new/", score_field_create, name="score-field-create"),
    path("scoring/fields/<int:score_field_id>/", score_field_edit, name="score-field-edit"),
    path(
        "scoring/fields/<int:score_field_id>/delete/", score_field_delete, name="score-field-delete"
    ),
    path("items/<int:item_id>/inputs/", item_inputs, name="item-inputs"),
]
