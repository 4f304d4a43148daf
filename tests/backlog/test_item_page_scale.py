"""The item page at scale: the parent is picked by searching (no select of every epic), the
medians behind score explanations are cached per formula version, positions are exact at the
top and estimated below, and the quotes are ranked within the newest links."""

from __future__ import annotations

import pytest
from django.urls import reverse

from backlog import scoring, selectors, services
from backlog.models import Item

pytestmark = pytest.mark.django_db


def _url(workspace, name, **kwargs):
    return reverse(name, kwargs={"workspace_slug": workspace.slug, **kwargs})


def _item(workspace, title, **kwargs):
    return services.item_create(workspace=workspace, actor=None, title=title, **kwargs)


def test_the_picker_offers_epics_and_features_but_not_the_item_or_anything_below_it(
    workspace, member, login
):
    epic = _item(workspace, "Reports epic", kind="epic")
    feature = _item(workspace, "Reports feature", kind="feature", parent_id=epic.id)
    _item(workspace, "Reports sub-feature", kind="feature", parent_id=feature.id)
    other = _item(workspace, "Reports elsewhere", kind="epic")
    _item(workspace, "Reports idea", kind="idea")

    response = login(member).get(
        _url(workspace, "backlog:item-parent-options", item_id=epic.id), {"parent_q": "reports"}
    )

    assert response.status_code == 200
    assert [o.id for o in response.context["parent_options"]] == [other.id]
    html = response.content.decode()
    assert f'value="{other.id}"' in html
    assert 'value="" checked' in html


def test_the_picker_keeps_the_chosen_parent_first(workspace, member, login):
    epic = _item(workspace, "Billing", kind="epic")
    item = _item(workspace, "Invoices", parent_id=epic.id)

    response = login(member).get(
        _url(workspace, "backlog:item-parent-options", item_id=item.id),
        {"parent_q": "billing", "parent": str(epic.id)},
    )

    assert response.context["parent_choice"] == epic
    assert response.context["parent_options"] == []
    assert f'value="{epic.id}" checked' in response.content.decode()


@pytest.mark.parametrize("role_case", ["anonymous", "outsider"])
def test_the_picker_is_for_members_only(workspace, outsider, client, login, role_case):
    item = _item(workspace, "Private")
    http = client if role_case == "anonymous" else login(outsider)

    response = http.get(_url(workspace, "backlog:item-parent-options", item_id=item.id))

    assert response.status_code == (302 if role_case == "anonymous" else 404)


def test_the_page_lists_no_parent_options_but_shows_the_current_parent(workspace, member, login):
    epic = _item(workspace, "Current epic", kind="epic")
    _item(workspace, "Unrelated epic", kind="epic")
    item = _item(workspace, "Child", parent_id=epic.id)

    html = login(member).get(_url(workspace, "backlog:item-detail", item_id=item.id))
    html = html.content.decode()

    assert f'name="parent" value="{epic.id}" checked' in html
    assert "Unrelated epic" not in html


def test_saving_posts_the_parent_id(workspace, member, login):
    epic = _item(workspace, "Epic", kind="epic")
    item = _item(workspace, "Child")

    response = login(member).post(
        _url(workspace, "backlog:item-edit", item_id=item.id),
        {"title": "Child", "parent": str(epic.id), "version": item.version},
    )

    assert response.status_code == 302
    assert Item.objects.for_workspace(workspace).get(id=item.id).parent_id == epic.id


@pytest.mark.parametrize("parent_case", ["other_workspace", "idea", "itself", "missing"])
def test_saving_refuses_a_parent_that_is_not_an_epic_or_feature_here(
    workspace, other_workspace, member, login, parent_case
):
    item = _item(workspace, "Child", kind="feature")
    parent_id = {
        "other_workspace": lambda: (
            services.item_create(
                workspace=other_workspace, actor=None, title="Theirs", kind="epic"
            ).id
        ),
        "idea": lambda: _item(workspace, "An idea").id,
        "itself": lambda: item.id,
        "missing": lambda: 999_999_999,
    }[parent_case]()

    response = login(member).post(
        _url(workspace, "backlog:item-edit", item_id=item.id),
        {"title": "Changed", "parent": str(parent_id), "version": item.version},
    )

    assert response.status_code == 400
    assert "Choose an epic or a feature of this workspace." in response.content.decode()
    fresh = Item.objects.for_workspace(workspace).get(id=item.id)
    assert (fresh.title, fresh.parent_id) == ("Child", None)


def test_saving_refuses_a_parent_below_the_item(workspace, member, login):
    epic = _item(workspace, "Epic", kind="epic")
    feature = _item(workspace, "Feature", kind="feature", parent_id=epic.id)

    response = login(member).post(
        _url(workspace, "backlog:item-edit", item_id=epic.id),
        {"title": "Epic", "parent": str(feature.id), "version": epic.version},
    )

    assert response.status_code == 400
    assert Item.objects.for_workspace(workspace).get(id=epic.id).parent_id is None


def _rice(workspace, item, reach):
    scoring.item_inputs_set(
        workspace=workspace,
        actor=None,
        item=item,
        values={"rice.reach": str(reach), "rice.impact": "1", "rice.confidence": "1"},
    )


def test_medians_are_cached_per_formula_version(workspace, django_assert_num_queries):
    scoring.scoring_defaults_ensure(workspace=workspace)
    rice = scoring.formula_get(
        workspace=workspace,
        formula_id=next(
            f.id for f in selectors.formula_list(workspace=workspace) if f.framework == "rice"
        ),
    )
    a, b = _item(workspace, "A", effort=1), _item(workspace, "B", effort=1)
    _rice(workspace, a, 100)
    _rice(workspace, b, 300)

    first = scoring.score_explain(workspace=workspace, item=a, formula=rice)
    _rice(workspace, b, 900)
    cached = scoring.score_explain(workspace=workspace, item=a, formula=rice)
    rice, _job = scoring.formula_update(
        workspace=workspace,
        actor=None,
        formula=rice,
        version=rice.version,
        source="reach * impact * confidence / effort + 0",
    )
    fresh = scoring.score_explain(workspace=workspace, item=a, formula=rice)

    def reach(explained):
        return next(i["median"] for i in explained["inputs"] if i["name"] == "reach")

    # Typical values may be minutes old; a new version of the formula reads them afresh.
    assert (reach(first), reach(cached), reach(fresh)) == (200.0, 200.0, 500.0)


def test_positions_are_exact_at_the_top_and_estimated_below(workspace, monkeypatch):
    monkeypatch.setattr(scoring, "POSITION_COUNTED", 3)
    scoring.scoring_defaults_ensure(workspace=workspace)
    items = [_item(workspace, f"I{n}", effort=1) for n in range(8)]
    for n, item in enumerate(items):
        _rice(workspace, item, 100 * (n + 1))
    formulas = [f for f in selectors.formula_list(workspace=workspace) if f.framework == "rice"]

    top = scoring.score_positions(workspace=workspace, item=items[-1], formulas=formulas)
    low = scoring.score_positions(workspace=workspace, item=items[0], formulas=formulas)

    (top_position,) = top.values()
    (low_position,) = low.values()
    assert (top_position.position, top_position.exact) == (1, True)
    assert low_position.exact is False
    assert 4 <= low_position.position <= 9
