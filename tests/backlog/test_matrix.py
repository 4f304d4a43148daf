"""The backlog's 2×2 matrix: items on two numbers, server-side SVG, what is left out and why."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from backlog import board, scoring, services
from backlog.models import Item, ScoringFormula

pytestmark = pytest.mark.django_db


def _url(workspace):
    return reverse("backlog:matrix", kwargs={"workspace_slug": workspace.slug})


def _item(workspace, title, effort=None, rice=None, **demand):
    item = services.item_create(workspace=workspace, actor=None, title=title)
    if effort is not None:
        item = services.item_update(
            workspace=workspace, actor=None, item=item, version=item.version, effort=effort
        )
    if rice is not None:
        reach, rice_effort = rice
        scoring.item_inputs_set(
            workspace=workspace,
            actor=None,
            item=item,
            values={
                "rice.reach": reach,
                "rice.impact": 1,
                "rice.confidence": 1,
                "rice.effort": rice_effort,
            },
        )
    if demand:
        Item.objects.for_workspace(workspace).filter(id=item.id).update(**demand)
    return item


@pytest.fixture
def scored(workspace):
    """RICE (primary) and the other frameworks; three items with effort and a RICE score, one
    with neither."""
    scoring.scoring_defaults_ensure(workspace=workspace)
    return {
        "quick": _item(workspace, "Quick win", effort=1, rice=(900, 1)),
        "bet": _item(workspace, "Big bet", effort=8, rice=(800, 2)),
        "filler": _item(workspace, "Filler", effort=2, rice=(10, 1)),
        "bare": _item(workspace, "Unestimated"),
    }


def _points(response):
    return {p.title: p for p in response.context["chart"].points}


def test_defaults_are_the_primary_score_against_effort(workspace, member, login, scored):
    response = login(member).get(_url(workspace))

    assert response.status_code == 200
    context = response.context
    rice = ScoringFormula.objects.for_workspace(workspace).get(framework="rice")
    assert (context["x"].key, context["y"].key) == ("effort", f"score:{rice.id}")
    points = _points(response)
    assert set(points) == {"Quick win", "Big bet", "Filler"}
    # Split at the medians (effort 2, RICE 400): the classic names against effort.
    assert points["Quick win"].quadrant == "Quick wins"
    assert points["Big bet"].quadrant == "Big bets"
    assert points["Filler"].quadrant == "Money pit"  # on a split line counts as high
    chart = context["chart"]
    assert (chart.x_split, chart.y_split) == (2, 400)
    html = response.content.decode()
    assert "<svg" in html
    assert "Quick wins" in html
    assert "Money pit" in html
    # Points link to their items and name themselves on hover.
    detail = reverse("backlog:item-detail", args=[workspace.slug, scored["quick"].id])
    assert f'href="{detail}" data-point' in html
    assert "<title>Quick win — Effort (estimate): 1, RICE: 900 (Quick wins)</title>" in html


def test_axis_choices_cover_scores_inputs_fields_and_demand(workspace, member, login, scored):
    scoring.score_field_create(workspace=workspace, actor=None, name="fit", label="Strategic fit")
    response = login(member).get(_url(workspace))
    choices = {
        key: label
        for _group, options in response.context["axis_form"].fields["x"].choices
        for key, label in options
    }
    formulas = {f.name: f.id for f in ScoringFormula.objects.for_workspace(workspace)}

    assert choices[f"score:{formulas['RICE']}"] == "RICE"
    assert choices[f"score:{formulas['ICE']}"] == "ICE"
    assert choices["input:rice.reach"] == "RICE reach"
    assert choices["input:rice.effort"] == "RICE effort"
    assert choices["input:wsjf.job_size"] == "WSJF job size"
    assert choices["field:fit"] == "Strategic fit"
    for key in ("effort", "customers", "companies", "arr", "evidence"):
        assert key in choices


def test_another_axis_plots_other_values(workspace, member, login, scored):
    response = login(member).get(_url(workspace), {"x": "input:rice.reach", "y": "customers"})

    points = _points(response)
    assert {title: (p.x, p.y) for title, p in points.items()} == {
        "Quick win": (900, 0),
        "Big bet": (800, 0),
        "Filler": (10, 0),
    }
    # Neither axis is a cost: the quadrants say what they are.
    names = {q.name for q in response.context["chart"].quadrants}
    assert "High RICE reach, high Customers asking" in names


@pytest.mark.parametrize("bad", ["nonsense", "score:999999", "input:rice.reach'--"])
def test_a_bad_axis_falls_back_with_a_note(workspace, member, login, scored, bad):
    response = login(member).get(_url(workspace), {"x": bad})

    assert response.status_code == 200
    assert response.context["x"].key == "effort"
    html = response.content.decode()
    assert "showing Effort (estimate) instead" in html
    assert "data-axis-note" in html
    # The select shows the axis actually plotted.
    assert '<option value="effort" selected>' in html


def test_log_scale_leaves_out_zeros_and_says_so(workspace, member, login):
    _item(workspace, "Big account", arr=2_000_000, customer_count=4)
    _item(workspace, "Small account", arr=3_000, customer_count=1)
    _item(workspace, "No account", arr=0, customer_count=0)

    response = login(member).get(_url(workspace), {"x": "arr", "x_log": "on", "y": "customers"})

    chart = response.context["chart"]
    assert chart.x_scale.log
    assert (chart.x_scale.low, chart.x_scale.high) == (1000, 10_000_000)
    assert [t.label for t in chart.x_ticks] == ["$1K", "$10K", "$100K", "$1M", "$10M"]
    assert set(_points(response)) == {"Big account", "Small account"}
    html = response.content.decode()
    assert "(log scale)" in html
    assert "1 item has 0 or less for ARR of the companies asking, which a log scale" in html


def test_missing_values_are_listed_with_links(workspace, member, login, scored):
    response = login(member).get(_url(workspace))

    values = response.context["values"]
    assert (values.total, values.plottable) == (4, 3)
    html = response.content.decode()
    assert "1 item has no Effort (estimate) yet." in html
    assert "1 item has no RICE yet." in html
    bare = reverse("backlog:item-detail", args=[workspace.slug, scored["bare"].id])
    assert f'<a href="{bare}">Unestimated</a>' in html
    assert "no Effort (estimate), no RICE" in html


def test_two_scores_plot_against_each_other(workspace, member, login, scored):
    formulas = ScoringFormula.objects.for_workspace(workspace)
    rice = formulas.get(framework="rice")
    ice = formulas.get(framework="ice")
    client = login(member)

    same = client.get(_url(workspace), {"x": f"score:{rice.id}", "y": f"score:{rice.id}"})
    unknown = client.get(_url(workspace), {"x": f"score:{ice.id}", "y": f"score:{rice.id}"})

    points = _points(same)
    assert {title: (p.x, p.y) for title, p in points.items()} == {
        "Quick win": (900, 900),
        "Big bet": (400, 400),
        "Filler": (10, 10),
    }
    # No item has ICE inputs: nothing to plot, and each axis says how many it cannot place.
    values = unknown.context["values"]
    assert (values.total, values.plottable, values.points) == (4, 0, [])
    assert [(gap.axis.key, gap.missing) for gap in values.gaps] == [
        (f"score:{ice.id}", 4),
        (f"score:{rice.id}", 1),
    ]


def test_a_chosen_split_moves_the_quadrants(workspace, member, login, scored):
    response = login(member).get(_url(workspace), {"x_split": "5", "y_split": "850"})

    points = _points(response)
    assert points["Quick win"].quadrant == "Quick wins"
    assert points["Big bet"].quadrant == "Money pit"
    assert points["Filler"].quadrant == "Fill-ins"


def test_filters_narrow_the_points(workspace, member, login, scored):
    response = login(member).get(_url(workspace), {"q": "quick"})

    assert set(_points(response)) == {"Quick win"}
    assert response.context["values"].total == 1


def test_points_are_capped(workspace, member, login, monkeypatch):
    monkeypatch.setattr(board, "MATRIX_POINT_LIMIT", 2)
    for i in range(4):
        _item(workspace, f"Item {i}", effort=i + 1, customer_count=i)

    response = login(member).get(_url(workspace), {"y": "customers"})

    assert [p.title for p in response.context["chart"].points] == ["Item 0", "Item 1"]
    html = response.content.decode()
    assert "Showing the first 2 of 4 items in the manual order" in html


@pytest.mark.parametrize("count", [5, 60])
def test_query_count_does_not_grow_with_the_items(
    workspace, member, login, django_assert_num_queries, count
):
    scoring.scoring_defaults_ensure(workspace=workspace)
    for i in range(count):
        _item(workspace, f"Item {i}", effort=(i % 7) or None, customer_count=i)
    client = login(member)
    client.get(_url(workspace))  # warm the session
    # membership (+user), formulas, areas, members, tags, segments (the filters'
    # choices), score fields (the axes), the totals, the points, the first items left out, the
    # saved views, the sidebar's workspace switcher
    with django_assert_num_queries(12):
        response = client.get(_url(workspace), {"y": "customers"})

    assert response.context["values"].total == count


def test_titles_are_escaped_in_the_svg(workspace, member, login):
    _item(workspace, '<script>alert("x")</script> & <b>bold</b>', effort=3, customer_count=2)

    html = login(member).get(_url(workspace), {"y": "customers"}).content.decode()

    assert "<script>alert" not in html
    assert "<b>bold</b>" not in html
    title = re.search(r"<circle [^>]*><title>([^<]*)</title>", html)[1]
    assert title.startswith("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;")


def test_empty_backlog_says_what_the_matrix_is_for(workspace, member, login):
    html = login(member).get(_url(workspace)).content.decode()

    assert "Your backlog on two axes" in html


def test_compact_numbers():
    assert [board.compact_number(v) for v in (0, 0.25, 3, 12.5, 150, 1_500, 2_000_000)] == [
        "0",
        "0.25",
        "3",
        "12.5",
        "150",
        "1.5K",
        "2M",
    ]
    assert board.compact_number(1_200_000, money=True) == "$1.2M"
