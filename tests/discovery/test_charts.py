"""Trend charts: weekly feedback volume drawn as server-side SVG."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from django.template.loader import render_to_string

from discovery import services
from discovery.charts import COLOURS, feedback_trend
from discovery.models import Feedback
from discovery.selectors import FeedbackFilters, feedback_list
from discovery.services import FeedbackInput

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 18)  # a Wednesday; its week starts on Monday 16 March


def _at(day: int, month: int = 3, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def _add(workspace, items):
    services.feedback_bulk_upsert(
        workspace=workspace,
        actor=None,
        items=[
            FeedbackInput(text="Exports are slow", source=source, received_at=at, customer_id=c)
            for source, at, c in items
        ],
    )


def _trend(workspace, **kwargs):
    return feedback_trend(
        workspace=workspace,
        feedback=feedback_list(workspace=workspace),
        today=TODAY,
        **kwargs,
    )


def test_counts_feedback_per_utc_week_and_source(workspace, other_workspace):
    _add(
        workspace,
        [
            ("support", _at(16, hour=0), None),  # Monday 00:00 UTC: this week
            ("support", _at(18), None),
            ("sales", _at(22), None),  # Sunday: still this week
            ("support", _at(15, hour=23), None),  # Sunday before: last week
            ("survey", _at(2), None),  # two weeks before this one
            ("survey", _at(23), None),  # next week: not drawn
            ("sales", datetime(2025, 12, 1, tzinfo=UTC), None),  # before the window
        ],
    )
    _add(other_workspace, [("support", _at(17), None)])

    chart = _trend(workspace, weeks=4)

    assert [w.start for w in chart.weeks] == [
        date(2026, 2, 23),
        date(2026, 3, 2),
        date(2026, 3, 9),
        date(2026, 3, 16),
    ]
    assert [w.label for w in chart.weeks] == ["23 Feb", "2 Mar", "9 Mar", "16 Mar"]
    assert [(s.key, s.name, s.counts, s.total) for s in chart.series] == [
        ("support", "Support", [0, 0, 1, 2], 3),
        ("sales", "Sales", [0, 0, 0, 1], 1),
        ("survey", "Survey", [0, 1, 0, 0], 1),
    ]
    assert [w.total for w in chart.weeks] == [0, 1, 1, 3]
    assert (chart.total, chart.max_value) == (5, 3)
    assert [r.counts for r in chart.table_rows] == [[0, 0, 0], [0, 0, 1], [1, 0, 0], [2, 1, 0]]


def test_takes_one_query(workspace, django_assert_num_queries):
    _add(workspace, [("support", _at(17), None), ("email", _at(10), None)])
    feedback = feedback_list(workspace=workspace)

    # The weekly counts grouped by week and source.
    with django_assert_num_queries(1):
        chart = feedback_trend(workspace=workspace, feedback=feedback, today=TODAY)

    assert chart.total == 2


def test_respects_the_filters_of_the_queryset_it_is_given(workspace):
    _add(workspace, [("support", _at(17), None), ("email", _at(17), None)])
    feedback = feedback_list(workspace=workspace, filters=FeedbackFilters(source="email"))

    chart = feedback_trend(workspace=workspace, feedback=feedback, today=TODAY, weeks=2)

    assert [(s.key, s.counts) for s in chart.series] == [("email", [0, 1])]


def test_splits_by_company_segment_with_a_series_for_feedback_without_one(workspace, member):
    big, _ = services.company_upsert(
        workspace=workspace, actor=member, name="Big", domain="big.test", segment="Enterprise"
    )
    small, _ = services.company_upsert(
        workspace=workspace, actor=member, name="Small", domain="small.test", segment="SMB"
    )
    ann, _ = services.customer_upsert(
        workspace=workspace, actor=member, email="a@big.test", company=big
    )
    sam, _ = services.customer_upsert(
        workspace=workspace, actor=member, email="s@small.test", company=small
    )
    _add(
        workspace,
        [
            ("support", _at(17), ann.id),
            ("sales", _at(17), ann.id),
            ("support", _at(10), sam.id),
            ("survey", _at(10), None),
        ],
    )

    chart = _trend(workspace, weeks=2, split_by="segment")

    assert [(s.name, s.counts, s.colour) for s in chart.series] == [
        ("Enterprise", [0, 2], COLOURS[1]),
        ("SMB", [1, 0], COLOURS[3]),
        ("No segment", [1, 0], COLOURS[7]),
    ]
    assert chart.split_label == "segment"


def test_bars_stack_to_the_weekly_total_on_a_rounded_axis(workspace):
    _add(workspace, [("support", _at(17), None)] * 7 + [("sales", _at(17), None)] * 3)

    chart = _trend(workspace, weeks=2)

    assert [t.value for t in chart.ticks] == [0, 5, 10]
    support, sales = chart.series
    (support_bar,) = support.bars
    (sales_bar,) = sales.bars
    plot_height = chart.plot_bottom - chart.plot_top
    assert support_bar.height == pytest.approx(plot_height * 0.7)
    assert sales_bar.height == pytest.approx(plot_height * 0.3)
    assert support_bar.y + support_bar.height == pytest.approx(chart.plot_bottom)
    assert sales_bar.y + sales_bar.height == pytest.approx(support_bar.y)
    assert sales_bar.y == pytest.approx(chart.plot_top)  # 10 of 10 reaches the top


def test_reports_the_change_of_the_last_four_full_weeks(workspace):
    _add(
        workspace,
        [("support", _at(26, month=1), None)] * 2  # 7 full weeks before this one
        + [("support", _at(9), None)] * 3  # last week
        + [("support", _at(17), None)] * 9,  # this week, not over yet: left out
    )

    chart = _trend(workspace, weeks=12)

    assert chart.recent_change == "+50% over the last 4 full weeks"


def test_an_unknown_split_is_refused(workspace):
    with pytest.raises(ValueError, match="split_by"):
        _trend(workspace, split_by="company")


def test_template_draws_bars_with_numbers_readable_without_hovering(workspace):
    _add(workspace, [("support", _at(17), None)] * 2 + [("app_review", _at(3), None)])
    chart = _trend(workspace, weeks=4, dom_id="tag-trend")

    html = render_to_string("discovery/_trend_chart.html", {"chart": chart, "heading": "Exports"})

    assert 'style="' not in html
    assert "<script" not in html
    assert html.count("<rect ") == 2
    assert "<title>Support, week of 16 Mar 2026: 2</title>" in html
    assert "<title>App review, week of 2 Mar 2026: 1</title>" in html
    assert '<svg class="chart__svg"' in html
    assert 'aria-labelledby="tag-trend-svg-title tag-trend-desc"' in html
    # Totals above the bars and in the legend, and a table with every figure.
    assert re.search(r'class="chart__value"[^>]*>2</text>', html)
    assert re.search(r"Support <strong>2</strong>", html)
    assert '<th scope="row">16 Mar 2026</th>' in html
    assert "chart-c1" in html
    assert "chart-c4" in html


def test_template_shows_an_empty_state_without_feedback(workspace):
    chart = _trend(workspace)

    html = render_to_string("discovery/_trend_chart.html", {"chart": chart})

    assert chart.is_empty
    assert "No feedback in these weeks" in html
    assert '<svg class="chart__svg"' not in html
    assert "<table" not in html


def test_feedback_of_an_interview_source_keeps_its_fixed_colour(workspace):
    _add(workspace, [(Feedback.Source.INTERVIEW, _at(17), None)])

    chart = _trend(workspace, weeks=1)

    assert [(s.name, s.slot) for s in chart.series] == [("Interview", 6)]


def test_detail_pages_split_the_trend_by_segment_when_asked(workspace, member, login):
    from discovery import services

    tag = services.tag_create(workspace=workspace, actor=member, name="Exports")
    client = login(member)
    url = f"/w/{workspace.slug}/discovery/tags/{tag.id}/"

    by_source = client.get(url)
    by_segment = client.get(url, {"split": "segment"})
    unknown = client.get(url, {"split": "nonsense"})

    assert by_source.context["trend"].split_by == "source"
    assert by_segment.context["trend"].split_by == "segment"
    assert unknown.context["trend"].split_by == "source"
