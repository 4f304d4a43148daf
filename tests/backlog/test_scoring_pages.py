"""The scoring pages: the item's scores panel and inputs, the settings, what-if, sort by score."""

from __future__ import annotations

import pytest
from django.urls import reverse

from backlog import scoring, services
from backlog.models import ItemInputs, ItemScore, ScoreChange, ScoringFormula

pytestmark = pytest.mark.django_db


def _url(workspace, name, **kwargs):
    return reverse(f"backlog:{name}", kwargs={"workspace_slug": workspace.slug, **kwargs})


def _item(workspace, title, **kwargs):
    return services.item_create(workspace=workspace, actor=None, title=title, **kwargs)


def _rice(workspace, item, reach, impact=1, confidence=1, effort=1):
    scoring.item_inputs_set(
        workspace=workspace,
        actor=None,
        item=item,
        values={
            "rice.reach": reach,
            "rice.impact": impact,
            "rice.confidence": confidence,
            "rice.effort": effort,
        },
    )


def _rice_formula(workspace):
    return ScoringFormula.objects.for_workspace(workspace).get(framework="rice")


# --- the item page -----------------------------------------------------------------------------
def test_item_page_before_setup_offers_to_set_up_and_writes_nothing(workspace, member, login):
    item = _item(workspace, "Export")
    response = login(member).get(_url(workspace, "item-detail", item_id=item.id))

    assert response.status_code == 200
    assert "Set up scoring" in response.content.decode()
    assert not ScoringFormula.objects.for_workspace(workspace).exists()


def test_setting_up_scoring_returns_to_the_item(workspace, member, login):
    item = _item(workspace, "Export")
    page = _url(workspace, "item-detail", item_id=item.id)
    response = login(member).post(_url(workspace, "scoring-setup"), {"next": page})

    assert response.status_code == 302
    assert response["Location"] == page
    assert ScoringFormula.objects.for_workspace(workspace).count() == 4


@pytest.mark.parametrize("role_case", ["member", "viewer"])
def test_item_page_shows_scores_and_explanation(workspace, member, viewer, login, role_case):
    scoring.scoring_defaults_ensure(workspace=workspace)
    item = _item(workspace, "Export")
    _item(workspace, "Import")
    _rice(workspace, item, reach=300, impact=2, confidence=0.5, effort=2)
    user = member if role_case == "member" else viewer

    html = login(user).get(_url(workspace, "item-detail", item_id=item.id)).content.decode()

    assert "reach * impact * confidence / effort" in html
    assert "data-score-value>150<" in html
    assert "1st" in html
    assert "unknown:" in html  # ICE has no inputs yet
    assert ("Save inputs" in html) is (role_case == "member")


def test_inputs_saved_through_the_form(workspace, member, login):
    scoring.scoring_defaults_ensure(workspace=workspace)
    item = _item(workspace, "Export")
    response = login(member).post(
        _url(workspace, "item-inputs", item_id=item.id),
        {"rice.reach": "100", "rice.impact": "3", "rice.confidence": "1", "rice.effort": "2"},
    )

    assert response.status_code == 302
    assert (
        ItemScore.objects.for_workspace(workspace)
        .get(item=item, formula=_rice_formula(workspace))
        .value
        == 150
    )


def test_inputs_out_of_range_are_refused_with_a_message(workspace, member, login):
    scoring.scoring_defaults_ensure(workspace=workspace)
    item = _item(workspace, "Export")
    response = login(member).post(
        _url(workspace, "item-inputs", item_id=item.id),
        {"rice.reach": "100", "ice.ease": "11"},
    )

    assert response.status_code == 400
    assert "ICE ease is at most 10." in response.content.decode()
    assert not ItemInputs.objects.for_workspace(workspace).filter(item=item).exists()


# --- the settings page -------------------------------------------------------------------------
@pytest.mark.parametrize("role_case", ["member", "viewer"])
def test_settings_page_lists_formulas(workspace, member, viewer, login, role_case):
    scoring.scoring_defaults_ensure(workspace=workspace)
    user = member if role_case == "member" else viewer
    html = login(user).get(_url(workspace, "scoring")).content.decode()

    assert "RICE" in html
    assert "WSJF" in html
    assert "Primary" in html
    assert ("Make primary" in html) is (role_case == "member")


def test_settings_empty_state(workspace, member, login):
    html = login(member).get(_url(workspace, "scoring")).content.decode()
    assert "No formulas yet" in html
    assert "Set up scoring" in html


def test_outsider_gets_404(workspace, outsider, login):
    scoring.scoring_defaults_ensure(workspace=workspace)
    formula = _rice_formula(workspace)
    client = login(outsider)
    assert client.get(_url(workspace, "scoring")).status_code == 404
    assert client.get(_url(workspace, "formula-edit", formula_id=formula.id)).status_code == 404


@pytest.mark.parametrize(
    ("name", "data_case"),
    [
        ("scoring-setup", "setup"),
        ("formula-create", "create"),
        ("formula-edit", "edit"),
        ("formula-primary", "primary"),
        ("formula-delete", "delete"),
        ("item-inputs", "inputs"),
    ],
)
def test_viewer_cannot_post(workspace, viewer, login, name, data_case):
    scoring.scoring_defaults_ensure(workspace=workspace)
    formula = ScoringFormula.objects.for_workspace(workspace).get(framework="ice")
    item = _item(workspace, "Export")
    kwargs = (
        {"formula_id": formula.id}
        if name.startswith("formula-") and name != "formula-create"
        else {}
    )
    if name == "item-inputs":
        kwargs = {"item_id": item.id}
    before = list(
        ScoringFormula.objects.for_workspace(workspace).values_list("name", "source", "is_primary")
    )

    response = login(viewer).post(
        _url(workspace, name, **kwargs),
        {"name": "X", "source": "reach", "version": "1", "ice.ease": "3"},
    )

    assert response.status_code == 403
    after = list(
        ScoringFormula.objects.for_workspace(workspace).values_list("name", "source", "is_primary")
    )
    assert after == before
    assert not ItemInputs.objects.for_workspace(workspace).exists()


def test_formula_syntax_error_shows_the_column_and_keeps_the_old_formula(workspace, member, login):
    scoring.scoring_defaults_ensure(workspace=workspace)
    formula = _rice_formula(workspace)
    response = login(member).post(
        _url(workspace, "formula-edit", formula_id=formula.id),
        {"name": "RICE", "source": "reach * * impact", "version": str(formula.version)},
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "(column 9)" in html
    assert "reach * * impact" in html  # the draft stays on screen
    formula.refresh_from_db()
    assert formula.source == "reach * impact * confidence / effort"
    assert formula.version == 1


def test_formula_edit_saves_and_starts_a_recompute(workspace, member, login):
    scoring.scoring_defaults_ensure(workspace=workspace)
    formula = _rice_formula(workspace)
    response = login(member).post(
        _url(workspace, "formula-edit", formula_id=formula.id),
        {"name": "RICE", "source": "reach * impact", "version": "1"},
    )

    assert response.status_code == 302
    formula.refresh_from_db()
    assert (formula.source, formula.version) == ("reach * impact", 2)
    html = login(member).get(_url(workspace, "scoring")).content.decode()
    assert "Rescoring" in html or "Scored" in html


def test_new_formula_with_a_mistake_is_refused(workspace, member, login):
    response = login(member).post(
        _url(workspace, "formula-create"), {"name": "Mine", "source": "customer_count +"}
    )
    assert response.status_code == 400
    assert "column" in response.content.decode()
    assert not ScoringFormula.objects.for_workspace(workspace).exists()


def test_make_primary_and_delete(workspace, member, login):
    scoring.scoring_defaults_ensure(workspace=workspace)
    ice = ScoringFormula.objects.for_workspace(workspace).get(framework="ice")
    client = login(member)
    client.post(_url(workspace, "formula-primary", formula_id=ice.id))
    ice.refresh_from_db()
    assert ice.is_primary
    client.post(_url(workspace, "formula-delete", formula_id=ice.id))
    assert not ScoringFormula.objects.for_workspace(workspace).filter(id=ice.id).exists()
    assert ScoringFormula.objects.for_workspace(workspace).filter(is_primary=True).count() == 1


def test_custom_field_create_edit_delete(workspace, member, login):
    client = login(member)
    response = client.post(
        _url(workspace, "score-field-create"),
        {"name": "fit", "label": "Fit", "kind": "choice", "choices": "1 = Low\n3 = High"},
    )
    assert response.status_code == 302
    field = scoring.ScoreField.objects.for_workspace(workspace).get(name="fit")
    assert field.choices == [[1.0, "Low"], [3.0, "High"]]
    client.post(
        _url(workspace, "score-field-edit", score_field_id=field.id),
        {"label": "Strategic fit", "kind": "number", "minimum": "0", "maximum": "5"},
    )
    field.refresh_from_db()
    assert (field.label, field.kind, field.maximum) == ("Strategic fit", "number", 5)
    client.post(_url(workspace, "score-field-delete", score_field_id=field.id))
    assert not scoring.ScoreField.objects.for_workspace(workspace).exists()


def test_what_if_previews_without_writing(workspace, member, login):
    scoring.scoring_defaults_ensure(workspace=workspace)
    small, big = _item(workspace, "Small"), _item(workspace, "Big")
    _rice(workspace, small, reach=10)
    _rice(workspace, big, reach=100, effort=20)
    formula = _rice_formula(workspace)
    scores = list(ItemScore.objects.for_workspace(workspace).values_list("id", "value"))
    changes = ScoreChange.objects.for_workspace(workspace).count()

    response = login(member).get(
        _url(workspace, "formula-what-if", formula_id=formula.id), {"source": "reach"}
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert html.index("Big") < html.index("Small")
    assert "▲ 1" in html
    assert "▼ 1" in html
    formula.refresh_from_db()
    assert formula.source == "reach * impact * confidence / effort"
    assert list(ItemScore.objects.for_workspace(workspace).values_list("id", "value")) == scores
    assert ScoreChange.objects.for_workspace(workspace).count() == changes


def test_what_if_shows_a_mistake(workspace, member, login):
    scoring.scoring_defaults_ensure(workspace=workspace)
    formula = _rice_formula(workspace)
    response = login(member).get(
        _url(workspace, "formula-what-if", formula_id=formula.id), {"source": "reach +"}
    )
    assert "column" in response.content.decode()


def test_job_progress(workspace, member, login):
    item = _item(workspace, "Export")
    formula, job = scoring.formula_create(
        workspace=workspace, actor=None, name="Mine", source="customer_count + 1"
    )
    scoring.scores_recompute_run(workspace=workspace, job_id=job.id)
    html = login(member).get(_url(workspace, "scoring-job", scoring_job_id=job.id)).content.decode()
    assert "Scored 1 item" in html
    assert item.id


# --- the table ---------------------------------------------------------------------------------
def test_table_sorts_by_the_primary_score_with_unknown_last(workspace, member, login, monkeypatch):
    monkeypatch.setattr("backlog.views.table.PAGE_SIZE", 2)
    scoring.scoring_defaults_ensure(workspace=workspace)
    low, unknown, high, mid = (_item(workspace, t) for t in ("Low", "Unknown", "High", "Mid"))
    _rice(workspace, low, reach=1)
    _rice(workspace, high, reach=100)
    _rice(workspace, mid, reach=10)
    client = login(member)

    first = client.get(_url(workspace, "index"), {"sort": "score"})
    titles = [row["title"] for row in first.context["rows"]]
    second = client.get(_url(workspace, "index") + first.context["next_url"])
    titles += [row["title"] for row in second.context["rows"]]

    assert titles == ["High", "Mid", "Low", "Unknown"]
    assert [row["score"] for row in first.context["rows"]] == [100, 10]
    assert second.context["next_url"] == ""
    assert unknown.id


def test_table_shows_the_score_column_in_other_sorts(workspace, member, login):
    scoring.scoring_defaults_ensure(workspace=workspace)
    item = _item(workspace, "Export")
    _rice(workspace, item, reach=42)
    response = login(member).get(_url(workspace, "index"))
    assert response.context["rows"][0]["score"] == 42
    assert "RICE" in response.content.decode()


def test_table_score_sort_with_ties_pages_by_id(workspace, member, login, monkeypatch):
    monkeypatch.setattr("backlog.views.table.PAGE_SIZE", 1)
    scoring.scoring_defaults_ensure(workspace=workspace)
    items = [_item(workspace, f"Item {i}") for i in range(3)]
    for item in items:
        _rice(workspace, item, reach=5)
    client = login(member)
    seen, url = [], _url(workspace, "index") + "?sort=score"
    while url:
        response = client.get(url)
        seen += [row["id"] for row in response.context["rows"]]
        url = (
            response.context["next_url"] and _url(workspace, "index") + response.context["next_url"]
        )
    assert seen == [item.id for item in items]
