"""Objective pages: list, form, objective page; editors act, viewers read; constant queries."""

from __future__ import annotations

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from backlog import services as backlog
from discovery import services as discovery
from roadmap import objectives as okr
from roadmap.models import KeyResult, KeyResultItem, KeyResultValue, Objective


def _url(name, workspace, **kwargs):
    return reverse(f"roadmap:{name}", kwargs={"workspace_slug": workspace.slug, **kwargs})


@pytest.fixture
def objective(workspace, member):
    return okr.objective_create(
        workspace=workspace,
        actor=member,
        title="Win enterprise",
        description="Because **big** deals <script>alert(1)</script>",
        period="2026 Q4",
        start_date=datetime.date(2026, 10, 1),
        end_date=datetime.date(2026, 12, 31),
    )


def _grow(workspace, member, objective, n):
    """`n` more key results with two values and an item (with an insight) each."""
    for i in range(n):
        kr = okr.key_result_create(
            workspace=workspace,
            actor=member,
            objective=objective,
            metric=f"Metric {KeyResult.objects.for_workspace(workspace).count()}",
            unit="%",
            baseline=10,
            target=40,
        )
        for day in (3, 9):
            okr.key_result_value_record(
                workspace=workspace,
                actor=member,
                key_result=kr,
                value=10 + day + i,
                measured_at=datetime.datetime(2026, 10, day, tzinfo=datetime.UTC),
            )
        item = backlog.item_create(workspace=workspace, actor=member, title=f"Item for {kr}")
        insight = discovery.insight_create(workspace=workspace, actor=member, title=f"Why {kr}")
        backlog.item_link_evidence(
            workspace=workspace, actor=member, item=item, insight_id=insight.id
        )
        okr.key_result_item_link(workspace=workspace, actor=member, key_result=kr, item_id=item.id)


def _queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response


@pytest.mark.parametrize("who", ["admin", "viewer"])
def test_pages_in_constant_queries(workspace, member, admin, viewer, login, objective, who):
    client = login(admin if who == "admin" else viewer)
    detail = _url("objective-detail", workspace, objective_id=objective.id)
    listing = _url("objective-list", workspace)
    _grow(workspace, member, objective, 1)
    client.get(detail)  # the session's first touches
    few_detail, _ = _queries(client, detail)
    few_list, _ = _queries(client, listing)
    _grow(workspace, member, objective, 4)
    other = okr.objective_create(workspace=workspace, actor=member, title="Retain")
    _grow(workspace, member, other, 2)
    many_detail, page = _queries(client, detail)
    many_list, listed = _queries(client, listing)
    # membership (with the user; the session comes from the cache), the layout's
    # memberships; objective with owner, its key results; histories; links, the items, their
    # evidence
    assert many_detail == few_detail == 8
    # membership, the layout's memberships; objectives, their key results; archived count
    assert many_list == few_list == 5
    html = page.content.decode()
    assert html.count('class="okr-krcard"') == 5
    assert html.count("<circle") == 10
    assert "Why Metric 3" in html
    assert "<script>alert(1)</script>" not in html
    assert "<strong>big</strong>" in html
    assert listed.content.decode().count('class="okr-kr"') == 7


def test_viewer_sees_no_edit_controls_and_cannot_post(workspace, viewer, member, login, objective):
    _grow(workspace, member, objective, 1)
    client = login(viewer)
    html = client.get(_url("objective-detail", workspace, objective_id=objective.id)).content
    html = html.decode()
    assert "Record a value" not in html
    assert "Link items" not in html
    assert "Upload a CSV" not in html
    assert 'action="' not in html.split('id="objective-main"')[1].split("</main>")[0]
    kr = KeyResult.objects.for_workspace(workspace).get()
    url = _url("key-result-value-record", workspace, objective_id=objective.id, key_result_id=kr.id)
    assert client.post(url, {f"kr{kr.id}-value": "5"}).status_code == 403
    assert client.get(_url("objective-new", workspace)).status_code == 403
    assert client.post(_url("objective-new", workspace), {"title": "X"}).status_code == 403
    assert KeyResultValue.objects.for_workspace(workspace).count() == 2


def test_empty_states(workspace, member, login):
    client = login(member)
    html = client.get(_url("objective-list", workspace)).content.decode()
    assert "Say what the roadmap is for" in html
    objective = okr.objective_create(workspace=workspace, actor=member, title="Bare")
    html = client.get(_url("objective-detail", workspace, objective_id=objective.id)).content
    assert "No key results yet" in html.decode()
    assert "No items serve this objective yet" in html.decode()


def test_create_objective_and_key_result_through_forms(workspace, member, login):
    client = login(member)
    response = client.post(
        _url("objective-new", workspace),
        {
            "title": "Grow",
            "period": "2027 H1",
            "start_date": "2027-01-01",
            "end_date": "2026-12-01",
        },
    )
    assert response.status_code == 400
    assert "is before the start" in response.content.decode()
    response = client.post(
        _url("objective-new", workspace),
        {"title": "Grow", "period": "2027 H1", "owner": str(member.id)},
    )
    objective = Objective.objects.for_workspace(workspace).get()
    assert response.status_code == 302
    assert objective.owner_id == member.id
    url = _url("key-result-new", workspace, objective_id=objective.id)
    bad = client.post(url, {"new-metric": "NPS", "new-baseline": "30", "new-target": "30"})
    assert bad.status_code == 400
    assert "must differ from the baseline" in bad.content.decode()
    good = client.post(url, {"new-metric": "NPS", "new-baseline": "30", "new-target": "50"})
    assert good.status_code == 302
    assert KeyResult.objects.for_workspace(workspace).get().metric == "NPS"


def test_record_value_by_hand_plain_and_htmx(workspace, member, login, objective):
    kr = okr.key_result_create(
        workspace=workspace, actor=member, objective=objective, metric="ARR", unit="$", target=100
    )
    client = login(member)
    url = _url("key-result-value-record", workspace, objective_id=objective.id, key_result_id=kr.id)
    plain = client.post(url, {f"kr{kr.id}-value": "25", f"kr{kr.id}-note": "first"})
    assert plain.status_code == 302
    assert plain["Location"].endswith(f"#kr-{kr.id}")
    swapped = client.post(url, {f"kr{kr.id}-value": "40"}, HTTP_HX_REQUEST="true")
    assert swapped.status_code == 200
    html = swapped.content.decode()
    assert "ARR: $40 recorded." in html
    kr.refresh_from_db()
    assert kr.current == 40
    refused = client.post(url, {f"kr{kr.id}-value": "lots"}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 200
    assert "Enter a number." in refused.content.decode()
    back_dated = client.post(url, {f"kr{kr.id}-value": "5", f"kr{kr.id}-measured_on": "2026-10-02"})
    assert back_dated.status_code == 302
    kr.refresh_from_db()
    assert kr.current == 40
    assert KeyResultValue.objects.for_workspace(workspace).count() == 3


def test_csv_upload_shows_row_errors_and_imports(workspace, member, login, objective):
    kr = okr.key_result_create(
        workspace=workspace, actor=member, objective=objective, metric="ARR", target=100
    )
    client = login(member)
    url = _url(
        "key-result-values-import", workspace, objective_id=objective.id, key_result_id=kr.id
    )
    bad = client.post(
        url, {f"csv{kr.id}-file": SimpleUploadedFile("v.csv", b"date,value\n2026-10-01,x\n")}
    )
    assert bad.status_code == 400
    assert "Row 2:" in bad.content.decode()
    good = client.post(
        url, {f"csv{kr.id}-file": SimpleUploadedFile("v.csv", b"2026-10-01,1\n2026-10-02,2\n")}
    )
    assert good.status_code == 302
    page = client.get(good["Location"].split("#")[0]).content.decode()
    assert "ARR: 2 added, 0 updated, 0 unchanged." in page


def test_link_items_by_search_and_unlink(
    workspace, other_workspace, member, outsider, login, objective
):
    kr = okr.key_result_create(
        workspace=workspace, actor=member, objective=objective, metric="ARR", target=100
    )
    item = backlog.item_create(workspace=workspace, actor=member, title="Single sign-on")
    foreign = backlog.item_create(workspace=other_workspace, actor=outsider, title="Single x")
    client = login(member)
    detail = _url("objective-detail", workspace, objective_id=objective.id)
    options = client.get(detail, {"find": "single"}, HTTP_HX_REQUEST="true").content.decode()
    assert f'value="{item.id}"' in options
    assert f'value="{foreign.id}"' not in options
    link = _url("key-result-item-link", workspace, objective_id=objective.id)
    assert client.post(link, {"key_result_id": kr.id, "item_id": item.id}).status_code == 302
    assert client.post(link, {"key_result_id": kr.id, "item_id": item.id}).status_code == 302
    refused = client.post(link, {"key_result_id": kr.id, "item_id": foreign.id})
    assert refused.status_code == 400
    assert "No such item" in refused.content.decode()
    assert KeyResultItem.objects.for_workspace(workspace).count() == 1
    html = client.get(detail).content.decode()
    assert "Single sign-on" in html.split('id="serving"')[1]
    unlink = _url(
        "key-result-item-unlink",
        workspace,
        objective_id=objective.id,
        key_result_id=kr.id,
        item_id=item.id,
    )
    assert "Item unlinked from ARR." in client.post(unlink, follow=True).content.decode()
    assert not KeyResultItem.objects.for_workspace(workspace).exists()
    again = client.post(unlink, follow=True).content.decode()
    assert "That item was not linked to ARR any more." in again
    assert "Item unlinked" not in again


def test_archive_toggle_and_delete(workspace, member, login, objective):
    client = login(member)
    archive = _url("objective-archive", workspace, objective_id=objective.id)
    client.post(archive, {"archived": "1"})
    listing = client.get(_url("objective-list", workspace)).content.decode()
    assert "No active objectives" in listing
    shown = client.get(_url("objective-list", workspace), {"archived": "1"}).content.decode()
    assert "Win enterprise" in shown
    assert "Archived" in shown
    client.post(archive, {"archived": "0"})
    objective.refresh_from_db()
    assert not objective.is_archived
    client.post(_url("objective-delete", workspace, objective_id=objective.id))
    assert not Objective.objects.for_workspace(workspace).exists()


def test_key_result_edit_page(workspace, member, login, objective):
    kr = okr.key_result_create(
        workspace=workspace, actor=member, objective=objective, metric="ARR", target=100
    )
    client = login(member)
    url = _url("key-result-edit", workspace, objective_id=objective.id, key_result_id=kr.id)
    assert client.get(url).status_code == 200
    response = client.post(url, {"metric": "Net ARR", "unit": "$", "baseline": "0", "target": "0"})
    assert response.status_code == 400
    response = client.post(url, {"metric": "Net ARR", "unit": "$", "baseline": "0", "target": "5"})
    assert response.status_code == 302
    kr.refresh_from_db()
    assert (kr.metric, kr.target) == ("Net ARR", 5)


def test_other_workspaces_objective_is_404(workspace, other_workspace, outsider, login, objective):
    client = login(outsider)
    url = reverse(
        "roadmap:objective-detail",
        kwargs={"workspace_slug": other_workspace.slug, "objective_id": objective.id},
    )
    assert client.get(url).status_code == 404


def test_html_in_user_text_is_inert_and_oversized_text_refused(workspace, member, login):
    client = login(member)
    hostile = "<img src=x onerror=alert(1)>"
    objective = okr.objective_create(
        workspace=workspace, actor=member, title=f"Win {hostile}", period=hostile[:40]
    )
    kr = okr.key_result_create(
        workspace=workspace, actor=member, objective=objective, metric=hostile, unit="<b>", target=5
    )
    okr.key_result_value_record(
        workspace=workspace, actor=member, key_result=kr, value=1, note=f"<script>{hostile}"
    )
    for url in (
        _url("objective-list", workspace),
        _url("objective-detail", workspace, objective_id=objective.id),
    ):
        html = client.get(url).content.decode()
        assert "<img src=x" not in html
        assert "<script><img" not in html
        assert "<b>" not in html.split('id="main"')[-1]
        assert "&lt;img src=x onerror=alert(1)&gt;" in html
    response = client.post(
        _url("objective-new", workspace), {"title": "Long", "description": "x" * 20_001}
    )
    assert response.status_code == 400
    assert Objective.objects.for_workspace(workspace).count() == 1


def test_stale_objective_edit_keeps_my_text_and_says_so(workspace, member, admin, login, objective):
    client = login(member)
    url = _url("objective-edit", workspace, objective_id=objective.id)
    form = client.get(url).context["form"]
    opened_at = form.initial["unchanged_since"]
    okr.objective_update(workspace=workspace, actor=admin, objective=objective, title="Theirs")
    mine = {"title": "Mine", "period": "2026 Q4", "unchanged_since": opened_at}
    stale = client.post(url, mine)
    assert stale.status_code == 409
    html = stale.content.decode()
    assert "Someone changed this objective" in html
    assert 'value="Mine"' in html
    objective.refresh_from_db()
    assert objective.title == "Theirs"
    again = client.post(
        url, {**mine, "unchanged_since": stale.context["form"].data["unchanged_since"]}
    )
    assert again.status_code == 302
    objective.refresh_from_db()
    assert objective.title == "Mine"
