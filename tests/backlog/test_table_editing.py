"""The backlog table: cells edited in place (status, owner, area, effort, the primary formula's
inputs), stale edits, and the filters by tag, segment, several statuses and score range."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.urls import reverse

from backlog import scoring, services
from backlog.models import Item, ItemInputs, ItemScore
from discovery import services as discovery
from discovery.services import FeedbackInput
from pmhub.workspaces.models import AuditEvent

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}


def _url(workspace, name="backlog:index", **kwargs):
    return reverse(name, kwargs={"workspace_slug": workspace.slug, **kwargs})


def _item(workspace, title="Export to CSV", **kwargs):
    return services.item_create(workspace=workspace, actor=None, title=title, **kwargs)


def _cell(client, workspace, item, field, value, *, version=None, **extra):
    item.refresh_from_db()
    data = {"field": field, "value": value, "version": version or item.version, **extra}
    return client.post(_url(workspace, "backlog:item-cell", item_id=item.id), data, **JSON)


def _rice(workspace, item):
    formula = scoring.ScoringFormula.objects.for_workspace(workspace).get(framework="rice")
    return ItemScore.objects.for_workspace(workspace).get(item=item, formula=formula).value


@pytest.fixture
def rice(workspace):
    """RICE as the primary formula, one item with all four inputs."""
    scoring.scoring_defaults_ensure(workspace=workspace)
    item = _item(workspace, "Scheduled exports")
    scoring.item_inputs_set(
        workspace=workspace,
        actor=None,
        item=item,
        values={"rice.reach": 200, "rice.impact": 1, "rice.confidence": 0.8, "rice.effort": 4},
    )
    return item


# --- the cells -------------------------------------------------------------------------------
def test_table_shows_one_column_per_input_of_the_primary_formula(workspace, member, login, rice):
    response = login(member).get(_url(workspace))

    assert [c.key for c in response.context["input_columns"]] == [
        "rice.reach",
        "rice.impact",
        "rice.confidence",
        "rice.effort",
    ]
    html = response.content.decode()
    assert 'data-cell="rice.reach" data-editor="number" data-value="200"' in html
    # Choices show their short label; the editor offers them all.
    assert 'data-cell="rice.confidence" data-editor="input-2" data-value="0.8">80%</td>' in html
    assert '<option value="0.25">Minimal</option>' in html


def test_editing_an_input_rescores_the_row(workspace, member, login, rice):
    response = _cell(login(member), workspace, rice, "rice.reach", "900")

    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "Saved “Scheduled exports”."
    assert _rice(workspace, rice) == 180.0  # 900 * 1 * 0.8 / 4
    assert 'data-value="900"' in body["row"]
    assert '<td class="num backlog__score" data-score>180</td>' in body["row"]
    assert ItemInputs.objects.for_workspace(workspace).get(item=rice).values["rice.reach"] == 900


def test_clearing_an_input_makes_the_score_unknown(workspace, member, login, rice):
    response = _cell(login(member), workspace, rice, "rice.reach", "")

    assert response.status_code == 200
    assert _rice(workspace, rice) is None
    assert "Unknown: open the item to see why" in response.json()["row"]


def test_editing_a_choice_input(workspace, member, login, rice):
    response = _cell(login(member), workspace, rice, "rice.impact", "3")

    assert response.status_code == 200
    assert _rice(workspace, rice) == 120.0
    assert ">Massive</td>" in response.json()["row"]


def test_status_owner_area_and_effort_cells(workspace, member, login, rice):
    area = services.product_area_create(workspace=workspace, actor=None, name="Reporting")
    client = login(member)

    assert _cell(client, workspace, rice, "status", "planned").status_code == 200
    assert _cell(client, workspace, rice, "owner", str(member.id)).status_code == 200
    assert _cell(client, workspace, rice, "area", str(area.id)).status_code == 200
    response = _cell(client, workspace, rice, "effort", "2.5")

    assert response.status_code == 200
    rice.refresh_from_db()
    assert (rice.status, rice.owner_id, rice.area_id, rice.effort) == (
        "planned",
        member.id,
        area.id,
        2.5,
    )
    assert rice.version == 5
    assert f'data-version="{rice.version}"' in response.json()["row"]
    assert ">Reporting</td>" in response.json()["row"]
    # Clearing owner and area.
    assert _cell(client, workspace, rice, "owner", "").status_code == 200
    assert _cell(client, workspace, rice, "area", "").status_code == 200
    rice.refresh_from_db()
    assert (rice.owner_id, rice.area_id) == (None, None)


def test_item_effort_feeds_rice_when_its_own_effort_is_unset(workspace, member, login):
    scoring.scoring_defaults_ensure(workspace=workspace)
    item = _item(workspace, "No RICE effort")
    scoring.item_inputs_set(
        workspace=workspace,
        actor=None,
        item=item,
        values={"rice.reach": 100, "rice.impact": 1, "rice.confidence": 1},
    )

    response = _cell(login(member), workspace, item, "effort", "4")

    assert _rice(workspace, item) == 25.0
    assert 'title="Not set: RICE uses the item\'s effort">4</span>' in response.json()["row"]


def test_declining_needs_a_reason(workspace, member, login, rice):
    client = login(member)

    refused = _cell(client, workspace, rice, "status", "declined")
    declined = _cell(client, workspace, rice, "status", "declined", reason="Okta covers it.")

    assert refused.status_code == 400
    assert refused.json() == {"message": "Say why it is declined: the people who asked will ask."}
    assert declined.status_code == 200
    rice.refresh_from_db()
    assert (rice.status, rice.declined_reason) == ("declined", "Okta covers it.")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("rice.reach", "-5", "RICE reach is at least 0."),
        ("rice.reach", "lots", "RICE reach is a number."),
        ("rice.reach", "nan", "RICE reach is a finite number."),
        ("rice.impact", "7", "RICE impact is one of 0.25, 0.5, 1, 2, 3."),
        ("effort", "many", "Effort is a number, e.g. 3 or 0.5."),
        ("status", "done", "Unknown status."),
        ("owner", "alice", "Choose an owner from the list."),
        ("area", "-1", "Choose an area from the list."),
        ("area", "999999", "Unknown product area."),
        ("owner", "999999", "Choose a member of this workspace."),
        ("ice.impact", "5", "This column cannot be edited."),
        ("title", "Renamed", "This column cannot be edited."),
    ],
    ids=lambda value: value if isinstance(value, str) and len(value) < 14 else "",
)
def test_bad_values_get_a_clear_400_and_change_nothing(
    workspace, member, login, rice, field, value, message
):
    before = dict(ItemInputs.objects.for_workspace(workspace).get(item=rice).values)

    response = _cell(login(member), workspace, rice, field, value)

    assert response.status_code == 400
    assert response.json() == {"message": message}
    rice.refresh_from_db()
    assert (rice.version, rice.status, rice.effort, rice.title) == (
        1,
        "new",
        None,
        "Scheduled exports",
    )
    assert ItemInputs.objects.for_workspace(workspace).get(item=rice).values == before


def test_a_missing_version_is_refused(workspace, member, login, rice):
    response = login(member).post(
        _url(workspace, "backlog:item-cell", item_id=rice.id),
        {"field": "status", "value": "planned"},
        **JSON,
    )

    assert response.status_code == 400
    assert response.json() == {"message": "This field is required."}


def test_stale_edit_is_refused_and_the_row_shows_the_current_value(workspace, member, login, rice):
    loaded_on = rice.version
    services.item_set_status(workspace=workspace, actor=None, item=rice, status="planned")

    response = _cell(login(member), workspace, rice, "rice.reach", "900", version=loaded_on)

    assert response.status_code == 409
    body = response.json()
    assert body["message"].startswith("Someone changed this item since the table was loaded")
    assert "Planned" in body["row"]
    assert 'data-value="200"' in body["row"]
    assert f'data-version="{loaded_on + 1}"' in body["row"]
    assert ItemInputs.objects.for_workspace(workspace).get(item=rice).values["rice.reach"] == 200


def test_an_input_someone_else_changed_meanwhile_is_refused(workspace, member, login, rice):
    # The page showed reach 200; another tab set it to 300 (inputs leave the version alone).
    scoring.item_inputs_set(workspace=workspace, actor=None, item=rice, values={"rice.reach": 300})
    client = login(member)

    stale = _cell(client, workspace, rice, "rice.reach", "900", was="200")
    fresh = _cell(client, workspace, rice, "rice.reach", "900", was="300")

    assert stale.status_code == 409
    assert stale.json()["message"] == (
        "Someone changed this value since the table was loaded; it now shows theirs."
    )
    assert 'data-value="300"' in stale.json()["row"]
    assert fresh.status_code == 200
    assert ItemInputs.objects.for_workspace(workspace).get(item=rice).values["rice.reach"] == 900


def test_large_and_fractional_inputs_are_shown_exactly(workspace, member, login, rice):
    client = login(member)

    _cell(client, workspace, rice, "rice.reach", "1234567", was="200")
    row = _cell(client, workspace, rice, "rice.effort", "0.35", was="4").json()["row"]

    assert 'data-value="1234567"' in row
    assert ">1,234,567</td>" in row
    assert 'data-value="0.35"' in row


@pytest.mark.parametrize("rankable", [True, False])
def test_the_row_keeps_its_drag_grip_in_the_manual_order(workspace, member, login, rice, rankable):
    extra = {"rankable": "1"} if rankable else {}

    row = _cell(login(member), workspace, rice, "status", "planned", **extra).json()["row"]

    move_url = _url(workspace, "backlog:item-move", item_id=rice.id)
    assert (f'data-move-url="{move_url}" draggable="true"' in row) is rankable


def test_plain_form_post_redirects_back_with_the_message(workspace, member, login, rice):
    client = login(member)

    response = client.post(
        _url(workspace, "backlog:item-cell", item_id=rice.id),
        {"field": "status", "value": "planned", "version": rice.version},
        follow=True,
    )

    assert response.redirect_chain == [(_url(workspace), 302)]
    assert "Saved “Scheduled exports”." in response.content.decode()


@pytest.mark.parametrize("role_case", ["viewer_case", "outsider_case"])
def test_viewers_and_outsiders_cannot_edit_cells(
    workspace, viewer, outsider, login, rice, role_case
):
    user = viewer if role_case == "viewer_case" else outsider
    events = AuditEvent.objects.for_workspace(workspace).count()

    response = _cell(login(user), workspace, rice, "rice.reach", "900")

    assert response.status_code == (403 if role_case == "viewer_case" else 404)
    assert _rice(workspace, rice) == 40.0
    rice.refresh_from_db()
    assert rice.version == 1
    assert AuditEvent.objects.for_workspace(workspace).count() == events


def test_viewer_sees_plain_cells(workspace, viewer, login, rice):
    html = login(viewer).get(_url(workspace)).content.decode()

    assert "data-cell=" not in html
    assert "data-cell-editor" not in html
    assert ">200</td>" in html


def test_another_workspaces_item_is_404(workspace, other_workspace, member, login):
    foreign = _item(other_workspace, "Theirs")

    response = _cell(login(member), workspace, foreign, "status", "planned")

    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == "new"


def test_merged_item_is_404(workspace, member, login, rice):
    into = _item(workspace, "Survivor")
    services.item_merge(workspace=workspace, actor=None, duplicate=rice, into=into)

    assert _cell(login(member), workspace, rice, "status", "planned").status_code == 404


def test_values_are_escaped(workspace, member, login):
    scoring.scoring_defaults_ensure(workspace=workspace)
    item = _item(workspace, "<script>alert(1)</script>")
    area = services.product_area_create(
        workspace=workspace, actor=None, name="<img src=x onerror=alert(1)>"
    )
    client = login(member)

    row = _cell(client, workspace, item, "area", str(area.id)).json()["row"]
    page = client.get(_url(workspace)).content.decode()

    for html in (row, page):
        assert "<script>alert(1)" not in html
        assert "<img src=x" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "&lt;img src=x onerror=alert(1)&gt;" in html
    message = _cell(client, workspace, item, "status", "planned").json()["message"]
    assert message == "Saved “<script>alert(1)</script>”."  # JSON; backlog.js sets textContent


def test_each_edit_is_audited(workspace, member, login, rice):
    _cell(login(member), workspace, rice, "rice.reach", "300")

    event = AuditEvent.objects.for_workspace(workspace).get(action="item.inputs", actor=member)
    assert event.changes == {"rice.reach": [200, 300.0]}


@pytest.mark.parametrize("size", [10, 50])
def test_query_count_does_not_grow_with_the_page(
    workspace, member, login, django_assert_num_queries, monkeypatch, size
):
    monkeypatch.setattr("backlog.views.table.PAGE_SIZE", size)
    scoring.scoring_defaults_ensure(workspace=workspace)
    for i in range(size):
        item = _item(workspace, f"Item {i}")
        scoring.item_inputs_set(
            workspace=workspace, actor=None, item=item, values={"rice.reach": i, "rice.impact": 1}
        )
    client = login(member)
    client.get(_url(workspace))  # warm the session
    # membership (+user), then one round trip for the filters' choices (areas, members,
    # tags, segments), the saved views, the primary formula and the sidebar's workspace
    # switcher, and the rows (area and owner joined; tags, scores and inputs in the same
    # statement)
    with django_assert_num_queries(3):
        response = client.get(_url(workspace))

    assert len(response.context["rows"]) == size
    assert response.content.decode().count('data-cell="rice.reach"') == size


def test_a_custom_formula_shows_its_framework_and_workspace_inputs(workspace, member, login):
    scoring.scoring_defaults_ensure(workspace=workspace)
    scoring.score_field_create(
        workspace=workspace,
        actor=None,
        name="fit",
        label="Strategic fit",
        kind="choice",
        choices=[[1, "Low"], [3, "High"]],
    )
    formula, _job = scoring.formula_create(
        workspace=workspace, actor=None, name="Fit reach", source="rice_reach * fit + effort"
    )
    scoring.formula_update(
        workspace=workspace, actor=None, formula=formula, version=formula.version, is_primary=True
    )
    item = _item(workspace, "Fits")
    client = login(member)

    columns = client.get(_url(workspace)).context["input_columns"]
    response = _cell(client, workspace, item, "fit", "3")

    assert [(c.key, c.label) for c in columns] == [
        ("rice.reach", "RICE reach"),
        ("fit", "Strategic fit"),
    ]
    assert response.status_code == 200
    assert ">High</td>" in response.json()["row"]


# --- the filters -----------------------------------------------------------------------------
@pytest.fixture
def asked(workspace, rice):
    """ "Scheduled exports" (RICE 40) asked by an Enterprise company and tagged; "Dark mode"
    (RICE 150, planned) asked by nobody; "Bare" (no score, shipped)."""
    company, _ = discovery.company_upsert(
        workspace=workspace,
        actor=None,
        name="Initech",
        domain="initech.test",
        segment="Enterprise",
        arr=Decimal("1200000"),
    )
    discovery.company_upsert(
        workspace=workspace, actor=None, name="Hooli", domain="hooli.test", segment="SMB"
    )
    customer, _ = discovery.customer_upsert(
        workspace=workspace, actor=None, email="peter@initech.test", name="Peter", company=company
    )
    feedback = discovery.feedback_create(
        workspace=workspace,
        actor=None,
        data=FeedbackInput(text="Exports time out", customer_id=customer.id),
    )
    services.item_link_evidence(workspace=workspace, actor=None, item=rice, feedback_id=feedback.id)
    tag = discovery.tag_create(workspace=workspace, actor=None, name="Exports", group="Theme")
    services.item_set_tags(workspace=workspace, actor=None, item=rice, tag_ids=[tag.id])
    dark = _item(workspace, "Dark mode")
    scoring.item_inputs_set(
        workspace=workspace,
        actor=None,
        item=dark,
        values={"rice.reach": 300, "rice.impact": 1, "rice.confidence": 1, "rice.effort": 2},
    )
    services.item_set_status(workspace=workspace, actor=None, item=dark, status="planned")
    bare = _item(workspace, "Bare")
    services.item_set_status(workspace=workspace, actor=None, item=bare, status="shipped")
    return {"tag": tag, "exports": rice, "dark": dark, "bare": bare}


def _titles(client, workspace, query):
    return [r["title"] for r in client.get(_url(workspace), query).context["rows"]]


def test_filter_by_tag_segment_statuses_and_score(workspace, member, login, asked):
    client = login(member)

    assert _titles(client, workspace, {"tag": asked["tag"].id}) == ["Scheduled exports"]
    assert _titles(client, workspace, {"segment": "Enterprise"}) == ["Scheduled exports"]
    assert _titles(client, workspace, {"status": ["planned", "shipped"]}) == ["Dark mode", "Bare"]
    assert _titles(client, workspace, {"score_min": "100"}) == ["Dark mode"]
    assert _titles(client, workspace, {"score_max": "100"}) == ["Scheduled exports"]
    assert _titles(client, workspace, {"score_min": "40", "score_max": "150"}) == [
        "Scheduled exports",
        "Dark mode",
    ]


def test_filter_choices_and_bad_values(workspace, member, login, asked):
    client = login(member)
    response = client.get(_url(workspace))
    form = response.context["form"]

    assert form.fields["segment"].choices == [
        ("", "Any segment"),
        ("Enterprise", "Enterprise"),
        ("SMB", "SMB"),
    ]
    assert form.fields["tag"].choices == [
        ("", "Any tag"),
        ("Theme", [(str(asked["tag"].id), "Exports")]),
    ]
    assert form.fields["score_min"].label == "RICE from"
    # Stale or hostile values are dropped: the list still shows.
    for query in (
        {"tag": "999999"},
        {"segment": "Galactic"},
        {"status": ["planned", "bogus"]},
        {"score_min": "inf"},
        {"score_max": "lots"},
    ):
        assert len(_titles(client, workspace, query)) == 3, query


def test_status_menu_says_what_is_chosen(workspace, member, login, asked):
    client = login(member)

    one = client.get(_url(workspace), {"status": "planned"}).content.decode()
    two = client.get(_url(workspace), {"status": ["planned", "new"]}).content.decode()

    assert '<span id="status-filter-value">Planned</span>' in one
    assert '<span id="status-filter-value">2 statuses</span>' in two
    assert two.count(" checked>") == 2


def test_score_filter_needs_a_primary_formula(workspace, member, login):
    _item(workspace, "Unscored")

    response = login(member).get(_url(workspace), {"score_min": "5"})

    assert "score_min" not in response.context["form"].fields
    assert [r["title"] for r in response.context["rows"]] == ["Unscored"]


def test_cell_json_is_json(workspace, member, login, rice):
    response = _cell(login(member), workspace, rice, "status", "planned")

    assert response["Content-Type"] == "application/json"
    assert set(json.loads(response.content)) == {"message", "row"}
    assert Item.objects.for_workspace(workspace).get(id=rice.id).status == "planned"
