"""Objectives and key results: services and selectors."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backlog import services as backlog
from discovery import services as discovery
from roadmap import objectives as okr
from roadmap.charts import format_value, key_result_chart
from roadmap.models import KeyResult, KeyResultItem, KeyResultValue, Objective

UTC = datetime.UTC


def _at(day: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(day).replace(tzinfo=UTC)


@pytest.fixture
def objective(workspace, member):
    return okr.objective_create(
        workspace=workspace,
        actor=member,
        title="Win enterprise",
        period="2026 Q4",
        start_date=datetime.date(2026, 10, 1),
        end_date=datetime.date(2026, 12, 31),
    )


@pytest.fixture
def key_result(workspace, member, objective):
    return okr.key_result_create(
        workspace=workspace,
        actor=member,
        objective=objective,
        metric="Enterprise ARR",
        unit="$",
        baseline=0,
        target=1_000_000,
    )


def _record(workspace, actor, key_result, value, day):
    return okr.key_result_value_record(
        workspace=workspace, actor=actor, key_result=key_result, value=value, measured_at=_at(day)
    )


# --- objectives ----------------------------------------------------------------------------------
def test_objective_create_cleans_and_orders(workspace, member, admin):
    first = okr.objective_create(workspace=workspace, actor=member, title="  Grow   self-serve ")
    second = okr.objective_create(
        workspace=workspace, actor=member, title="Retain", owner_id=admin.id
    )
    assert (first.title, first.position) == ("Grow self-serve", 0)
    assert (second.position, second.owner_id) == (1, admin.id)


def test_objective_end_before_start_is_a_clear_error(workspace, member):
    with pytest.raises(ValidationError) as caught:
        okr.objective_create(
            workspace=workspace,
            actor=member,
            title="Backwards",
            start_date=datetime.date(2026, 12, 1),
            end_date=datetime.date(2026, 11, 1),
        )
    assert caught.value.message_dict == {
        "end_date": ["The end (1 Nov 2026) is before the start (1 Dec 2026)."]
    }
    assert not Objective.objects.for_workspace(workspace).exists()


def test_objective_update_checks_dates_against_stored_ones(workspace, member, objective):
    with pytest.raises(ValidationError):
        okr.objective_update(
            workspace=workspace,
            actor=member,
            objective=objective,
            end_date=datetime.date(2026, 9, 1),
        )
    updated = okr.objective_update(
        workspace=workspace, actor=member, objective=objective, title="Win mid-market"
    )
    assert updated.title == "Win mid-market"


def test_owner_must_be_a_member(workspace, member, outsider):
    with pytest.raises(ValidationError) as caught:
        okr.objective_create(workspace=workspace, actor=member, title="X", owner_id=outsider.id)
    assert "owner_id" in caught.value.message_dict


def test_title_required_and_bounded(workspace, member):
    with pytest.raises(ValidationError):
        okr.objective_create(workspace=workspace, actor=member, title="   ")
    with pytest.raises(ValidationError):
        okr.objective_create(workspace=workspace, actor=member, title="x" * 201)


def test_archive_hides_from_list_and_restores(workspace, member, objective):
    okr.objective_archive(workspace=workspace, actor=member, objective=objective)
    assert list(okr.objective_list(workspace=workspace)) == []
    assert list(okr.objective_list(workspace=workspace, include_archived=True)) == [objective]
    okr.objective_archive(workspace=workspace, actor=member, objective=objective, archived=False)
    assert list(okr.objective_list(workspace=workspace)) == [objective]


def test_delete_takes_key_results_and_history(workspace, member, objective, key_result):
    _record(workspace, member, key_result, 5, "2026-10-02")
    okr.objective_delete(workspace=workspace, actor=member, objective=objective)
    assert not KeyResult.objects.for_workspace(workspace).exists()
    assert not KeyResultValue.objects.for_workspace(workspace).exists()


# --- key results and progress --------------------------------------------------------------------
def test_target_equal_to_baseline_is_refused(workspace, member, objective):
    with pytest.raises(ValidationError) as caught:
        okr.key_result_create(
            workspace=workspace, actor=member, objective=objective, metric="NPS", target=0
        )
    assert "target" in caught.value.message_dict
    with pytest.raises(ValidationError):
        okr.key_result_create(
            workspace=workspace,
            actor=member,
            objective=objective,
            metric="NPS",
            target=float("nan"),
        )


def test_update_target_onto_baseline_is_refused(workspace, member, key_result):
    with pytest.raises(ValidationError):
        okr.key_result_update(workspace=workspace, actor=member, key_result=key_result, target=0)
    key_result.refresh_from_db()
    assert key_result.target == 1_000_000


def test_progress_rising_target(workspace, member, key_result):
    _record(workspace, member, key_result, 250_000, "2026-10-15")
    key_result.refresh_from_db()
    assert key_result.progress == 0.25


def test_progress_falling_target(workspace, member, objective):
    churn = okr.key_result_create(
        workspace=workspace,
        actor=member,
        objective=objective,
        metric="Monthly churn",
        unit="%",
        baseline=8,
        target=4,
    )
    _record(workspace, member, churn, 7, "2026-10-15")
    churn.refresh_from_db()
    assert churn.progress == 0.25
    _record(workspace, member, churn, 9, "2026-10-20")  # worse than the baseline
    churn.refresh_from_db()
    assert churn.progress == 0.0
    _record(workspace, member, churn, 3, "2026-10-25")  # past the target
    churn.refresh_from_db()
    assert churn.progress == 1.0


def test_rollup_is_mean_of_key_results(workspace, member, objective, key_result):
    churn = okr.key_result_create(
        workspace=workspace,
        actor=member,
        objective=objective,
        metric="Churn",
        baseline=8,
        target=4,
    )
    _record(workspace, member, key_result, 500_000, "2026-10-15")
    _record(workspace, member, churn, 7, "2026-10-15")
    listed = okr.objective_list(workspace=workspace).get()
    assert okr.rollup(listed.key_results.all()) == pytest.approx((0.5 + 0.25) / 2)
    assert okr.rollup([]) is None


# --- values --------------------------------------------------------------------------------------
def test_current_is_the_newest_value(workspace, member, key_result):
    _record(workspace, member, key_result, 100, "2026-10-01")
    _record(workspace, member, key_result, 300, "2026-10-20")
    key_result.refresh_from_db()
    assert (key_result.current, key_result.current_at) == (300, _at("2026-10-20"))


def test_back_dated_value_does_not_overwrite_newer_current(workspace, member, key_result):
    _record(workspace, member, key_result, 300, "2026-10-20")
    _record(workspace, member, key_result, 100, "2026-10-01")
    key_result.refresh_from_db()
    assert (key_result.current, key_result.current_at) == (300, _at("2026-10-20"))
    history = okr.key_result_history(workspace=workspace, key_result=key_result)
    assert [v.value for v in history] == [100, 300]


def test_same_moment_replaces_the_value(workspace, member, key_result):
    _record(workspace, member, key_result, 100, "2026-10-01")
    _record(workspace, member, key_result, 150, "2026-10-01")
    assert list(
        KeyResultValue.objects.for_workspace(workspace).values_list("value", flat=True)
    ) == [150]


def test_value_now_by_default_and_never_future(workspace, member, key_result):
    value = okr.key_result_value_record(
        workspace=workspace, actor=member, key_result=key_result, value="42.5"
    )
    assert abs((timezone.now() - value.measured_at).total_seconds()) < 60
    assert value.source == KeyResultValue.Source.MANUAL
    with pytest.raises(ValidationError):
        okr.key_result_value_record(
            workspace=workspace,
            actor=member,
            key_result=key_result,
            value=1,
            measured_at=timezone.now() + datetime.timedelta(days=3),
        )
    with pytest.raises(ValidationError):
        okr.key_result_value_record(
            workspace=workspace, actor=member, key_result=key_result, value="lots"
        )


def test_deleting_the_newest_value_falls_back(workspace, member, key_result):
    _record(workspace, member, key_result, 100, "2026-10-01")
    newest = _record(workspace, member, key_result, 300, "2026-10-20")
    okr.key_result_value_delete(workspace=workspace, actor=member, value=newest)
    key_result.refresh_from_db()
    assert key_result.current == 100


# --- CSV import ----------------------------------------------------------------------------------
GOOD_CSV = b"date,value,note\n2026-10-01,100,kick-off\n2026-10-08,150\n2026-10-15T12:00,175,\n"


def test_csv_import_adds_values_and_sets_current(workspace, member, key_result):
    result = okr.key_result_values_import_csv(
        workspace=workspace, actor=member, key_result=key_result, file=io.BytesIO(GOOD_CSV)
    )
    assert result == okr.ImportResult(added=3, updated=0, unchanged=0)
    key_result.refresh_from_db()
    assert (key_result.current, key_result.current_at) == (175, _at("2026-10-15T12:00"))
    history = list(okr.key_result_history(workspace=workspace, key_result=key_result))
    assert [(v.value, v.note, v.source) for v in history] == [
        (100, "kick-off", "csv"),
        (150, "", "csv"),
        (175, "", "csv"),
    ]


def test_csv_import_twice_writes_nothing_new(workspace, member, key_result):
    okr.key_result_values_import_csv(
        workspace=workspace, actor=member, key_result=key_result, file=GOOD_CSV
    )
    with CaptureQueriesContext(connection) as queries:
        again = okr.key_result_values_import_csv(
            workspace=workspace, actor=member, key_result=key_result, file=GOOD_CSV
        )
    assert again == okr.ImportResult(added=0, updated=0, unchanged=3)
    assert not [q for q in queries if q["sql"].startswith(("INSERT", "UPDATE"))]
    changed = GOOD_CSV.replace(b"2026-10-08,150", b"2026-10-08,160") + b"2026-10-22,190\n"
    third = okr.key_result_values_import_csv(
        workspace=workspace, actor=member, key_result=key_result, file=changed
    )
    assert third == okr.ImportResult(added=1, updated=1, unchanged=2)
    assert KeyResultValue.objects.for_workspace(workspace).count() == 4


def test_csv_without_header_and_with_bom(workspace, member, key_result):
    data = "\ufeff2026-10-01,1\r\n\r\n2026-10-02, 2 \r\n".encode()
    result = okr.key_result_values_import_csv(
        workspace=workspace, actor=member, key_result=key_result, file=data
    )
    assert result.added == 2


def test_bad_csv_lists_problems_by_row_and_writes_nothing(workspace, member, key_result):
    data = (
        b"date,value\n"
        b"2026-10-01,100\n"
        b"01/10/2026,100\n"  # row 3: not ISO
        b"2026-10-05,lots\n"  # row 4: not a number
        b"2026-10-01,120\n"  # row 5: same date as row 2
        b"2026-10-06\n"  # row 6: one column
    )
    with pytest.raises(okr.ValuesImportError) as caught:
        okr.key_result_values_import_csv(
            workspace=workspace, actor=member, key_result=key_result, file=data
        )
    errors = caught.value.extra["errors"]
    assert [e["row"] for e in errors] == [3, 4, 5, 6]
    assert "not a date" in errors[0]["message"]
    assert "not a number" in errors[1]["message"]
    assert "also on row 2" in errors[2]["message"]
    assert "4 problems" in caught.value.message
    assert not KeyResultValue.objects.for_workspace(workspace).exists()


def test_csv_not_utf8_oversized_too_many_rows_and_empty(workspace, member, key_result):
    def run(data):
        with pytest.raises(okr.ValuesImportError) as caught:
            okr.key_result_values_import_csv(
                workspace=workspace, actor=member, key_result=key_result, file=data
            )
        return caught.value.message

    assert "not UTF-8" in run("2026-10-01,1,caf\u00e9\n".encode("latin-1"))
    assert "larger than 1 MB" in run(io.BytesIO(b"2026-10-01,1," + b"x" * okr.CSV_MAX_BYTES))
    start = datetime.date(1990, 1, 1)
    many = "".join(
        f"{start + datetime.timedelta(days=i)},{i}\n" for i in range(okr.CSV_MAX_ROWS + 1)
    )
    assert "more than 10,000 rows" in run(many.encode())
    assert "no values" in run(b"date,value\n")
    assert not KeyResultValue.objects.for_workspace(workspace).exists()


def test_csv_future_date_and_html_note_kept_as_text(workspace, member, key_result):
    future = (timezone.now() + datetime.timedelta(days=10)).date().isoformat()
    with pytest.raises(okr.ValuesImportError) as caught:
        okr.key_result_values_import_csv(
            workspace=workspace,
            actor=member,
            key_result=key_result,
            file=f"{future},1\n".encode(),
        )
    assert caught.value.extra["errors"][0]["row"] == 1
    okr.key_result_values_import_csv(
        workspace=workspace,
        actor=member,
        key_result=key_result,
        file=b'2026-10-01,1,"<script>alert(1)</script>"\n',
    )
    assert KeyResultValue.objects.for_workspace(workspace).get().note == (
        "<script>alert(1)</script>"
    )


# --- item links ----------------------------------------------------------------------------------
def test_link_twice_is_harmless_and_unlink(workspace, member, key_result):
    item = backlog.item_create(workspace=workspace, actor=member, title="SSO")
    assert okr.key_result_item_link(
        workspace=workspace, actor=member, key_result=key_result, item_id=item.id
    )
    assert not okr.key_result_item_link(
        workspace=workspace, actor=member, key_result=key_result, item_id=item.id
    )
    assert KeyResultItem.objects.for_workspace(workspace).count() == 1
    assert okr.key_result_item_unlink(
        workspace=workspace, actor=member, key_result=key_result, item_id=item.id
    )
    assert not okr.key_result_item_unlink(
        workspace=workspace, actor=member, key_result=key_result, item_id=item.id
    )


def test_link_to_another_workspaces_item_is_refused(
    workspace, other_workspace, member, outsider, key_result
):
    foreign = backlog.item_create(workspace=other_workspace, actor=outsider, title="Theirs")
    with pytest.raises(ValidationError) as caught:
        okr.key_result_item_link(
            workspace=workspace, actor=member, key_result=key_result, item_id=foreign.id
        )
    assert "item_id" in caught.value.message_dict
    assert not KeyResultItem.objects.unscoped().exists()  # cross-workspace: proving none leaked


def test_foreign_key_result_is_not_found(workspace, other_workspace, outsider, key_result):
    with pytest.raises(KeyResult.DoesNotExist):
        okr.key_result_get(workspace=other_workspace, key_result_id=key_result.id)
    with pytest.raises(Objective.DoesNotExist):
        okr.objective_get(workspace=other_workspace, objective_id=key_result.objective_id)


def test_objective_items_with_demand_and_evidence_in_constant_queries(
    workspace, member, objective, key_result
):
    second = okr.key_result_create(
        workspace=workspace, actor=member, objective=objective, metric="Seats", target=50
    )
    items = []
    for n in range(4):
        item = backlog.item_create(workspace=workspace, actor=member, title=f"Item {n}")
        insight = discovery.insight_create(workspace=workspace, actor=member, title=f"Need {n}")
        backlog.item_link_evidence(
            workspace=workspace, actor=member, item=item, insight_id=insight.id
        )
        for kr in (key_result, second) if n % 2 else (key_result,):
            okr.key_result_item_link(
                workspace=workspace, actor=member, key_result=kr, item_id=item.id
            )
        items.append(item)
    with CaptureQueriesContext(connection) as queries:
        rows = okr.objective_items(workspace=workspace, objective=objective)
        assert sorted(r.item.id for r in rows) == sorted(i.id for i in items)
        odd = next(r for r in rows if r.item.id == items[1].id)
        assert odd.key_result_ids == [key_result.id, second.id]
        assert [e.insight.title for e in odd.evidence] == ["Need 1"]
        assert odd.item.evidence_count == 1
        assert all(r.item.area is None for r in rows)
    assert len(queries) == 3


def test_merged_item_is_not_listed_nor_linkable(workspace, member, objective, key_result):
    kept = backlog.item_create(workspace=workspace, actor=member, title="Kept")
    duplicate = backlog.item_create(workspace=workspace, actor=member, title="Duplicate")
    okr.key_result_item_link(
        workspace=workspace, actor=member, key_result=key_result, item_id=duplicate.id
    )
    backlog.item_merge(workspace=workspace, actor=member, duplicate=duplicate, into=kept)
    assert [r.item.id for r in okr.objective_items(workspace=workspace, objective=objective)] in (
        [],
        [kept.id],
    )
    with pytest.raises(ValidationError):
        okr.key_result_item_link(
            workspace=workspace, actor=member, key_result=key_result, item_id=duplicate.id
        )


# --- charts --------------------------------------------------------------------------------------
def test_format_value():
    assert format_value(1_250_000, "$") == "$1.25M"
    assert format_value(1_250_000, "$", compact=False) == "$1,250,000"
    assert format_value(42.5, "%") == "42.5%"
    assert format_value(1000, "") == "1,000"
    assert format_value(350, "ms") == "350 ms"
    assert format_value(None, "%") == "—"
    assert format_value(-5, "$") == "-$5"


def test_chart_draws_baseline_target_and_latest(workspace, member, objective, key_result):
    _record(workspace, member, key_result, 100_000, "2026-10-05")
    _record(workspace, member, key_result, 400_000, "2026-11-05")
    key_result.refresh_from_db()
    values = okr.key_result_histories(workspace=workspace, key_results=[key_result])[key_result.id]
    chart = key_result_chart(
        key_result=key_result, values=values, start=objective.start_date, end=objective.end_date
    )
    assert [p.is_latest for p in chart.points] == [False, True]
    assert chart.latest_label == "$400k"
    assert chart.target_label == "Target $1M"
    assert chart.baseline_y > chart.points[0].y > chart.points[1].y > chart.target_y
    assert chart.path.startswith("M")
    assert " L" in chart.path
    assert "40% of the way" in chart.description
    assert [r.exact for r in chart.rows] == ["$400,000", "$100,000"]
    assert chart.pace is not None
    assert chart.pace_note.startswith("ahead of pace: $38")
    empty = key_result_chart(key_result=key_result, values=[])
    assert empty.is_empty


def test_histories_keep_the_newest_per_key_result_in_one_query(workspace, member, key_result):
    for day in range(1, 11):
        _record(workspace, member, key_result, day, f"2026-10-{day:02d}")
    with CaptureQueriesContext(connection) as queries:
        histories = okr.key_result_histories(workspace=workspace, key_results=[key_result], limit=4)
    assert [v.value for v in histories[key_result.id]] == [7, 8, 9, 10]
    assert len(queries) == 1
