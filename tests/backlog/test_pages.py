"""The backlog pages: the ranked table, a new item, moves, the item page, evidence and demand."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from backlog import services
from backlog.models import Item, ItemCustomer, ItemEvidence
from discovery import services as discovery
from discovery.services import FeedbackInput

pytestmark = pytest.mark.django_db


def _url(workspace, name="backlog:index", **kwargs):
    return reverse(name, kwargs={"workspace_slug": workspace.slug, **kwargs})


def _item(workspace, title="Export to CSV", **kwargs):
    return services.item_create(workspace=workspace, actor=None, title=title, **kwargs)


def _order(workspace):
    return list(
        Item.objects.for_workspace(workspace).order_by("rank", "id").values_list("title", flat=True)
    )


@pytest.fixture
def asking(workspace):
    """Peter of Initech (Enterprise, $1.2M) said something; an insight cites nobody else."""
    company, _ = discovery.company_upsert(
        workspace=workspace,
        actor=None,
        name="Initech",
        domain="initech.test",
        segment="Enterprise",
        arr=Decimal("1200000"),
    )
    customer, _ = discovery.customer_upsert(
        workspace=workspace, actor=None, email="peter@initech.test", name="Peter", company=company
    )
    feedback = discovery.feedback_create(
        workspace=workspace,
        actor=None,
        data=FeedbackInput(text="Exports time out on big boards", customer_id=customer.id),
    )
    insight = discovery.insight_create(
        workspace=workspace, actor=None, title="Exports fail at scale"
    )
    return {"customer": customer, "feedback": feedback, "insight": insight}


# --- the table -------------------------------------------------------------------------------
@pytest.mark.parametrize("role_case", ["member", "viewer"])
def test_table_lists_items_in_manual_order_for_members_and_viewers(
    workspace, member, viewer, login, role_case
):
    _item(workspace, "First")
    _item(workspace, "Second", kind="epic")
    user = member if role_case == "member" else viewer

    response = login(user).get(_url(workspace))

    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("First") < html.index("Second")
    assert [r["title"] for r in response.context["rows"]] == ["First", "Second"]
    # Only editors see the create button and may drag.
    assert ("data-rankable" in html) is (role_case == "member")
    assert ("data-new-item" in html) is (role_case == "member")


def test_empty_backlog_shows_what_it_is_for(workspace, member, login):
    html = login(member).get(_url(workspace)).content.decode()

    assert "Your backlog" in html
    assert _url(workspace, "backlog:item-new") in html


def test_filters_and_sorts(workspace, member, login, asking):
    small = _item(workspace, "Small thing")
    big = _item(workspace, "Big thing", kind="feature")
    services.item_link_evidence(
        workspace=workspace, actor=None, item=big, feedback_id=asking["feedback"].id
    )
    client = login(member)

    by_arr = client.get(_url(workspace), {"sort": "arr"}).context["rows"]
    features = client.get(_url(workspace), {"kind": "feature"}).context["rows"]
    found = client.get(_url(workspace), {"q": "small"}).context["rows"]
    html = client.get(_url(workspace), {"sort": "arr"}).content.decode()

    assert [r["id"] for r in by_arr] == [big.id, small.id]
    assert [r["id"] for r in features] == [big.id]
    assert [r["id"] for r in found] == [small.id]
    assert "$1.2M" in html


def test_keyset_pages_follow_on(workspace, member, login, monkeypatch):
    monkeypatch.setattr("backlog.views.table.PAGE_SIZE", 2)
    for i in range(5):
        _item(workspace, f"Item {i}")
    client = login(member)

    first = client.get(_url(workspace))
    second = client.get(_url(workspace) + first.context["next_url"])
    third = client.get(_url(workspace) + second.context["next_url"])

    titles = [r["title"] for page in (first, second, third) for r in page.context["rows"]]
    assert titles == [f"Item {i}" for i in range(5)]
    assert third.context["next_url"] == ""


@pytest.mark.parametrize("size", [10, 100])
def test_table_query_count_does_not_grow_with_the_page(
    workspace, member, login, django_assert_num_queries, monkeypatch, size
):
    monkeypatch.setattr("backlog.views.table.PAGE_SIZE", size)
    for i in range(size):
        _item(workspace, f"Item {i}", kind="feature")
    client = login(member)
    client.get(_url(workspace))  # warm the session
    # membership (+user), then one round trip for the filters' choices (areas, members,
    # tags, segments), the saved views, the primary formula and the sidebar's workspace
    # switcher, and the rows (area and owner joined; tags, scores and inputs in the same
    # statement)
    with django_assert_num_queries(3):
        response = client.get(_url(workspace))

    assert len(response.context["rows"]) == size


def test_outsider_gets_404(workspace, outsider, login):
    item = _item(workspace)

    assert login(outsider).get(_url(workspace)).status_code == 404
    assert (
        login(outsider).get(_url(workspace, "backlog:item-detail", item_id=item.id)).status_code
        == 404
    )


# --- creating ---------------------------------------------------------------------------------
def test_member_creates_an_item(workspace, member, login):
    area = services.product_area_create(workspace=workspace, actor=None, name="Reporting")

    response = login(member).post(
        _url(workspace, "backlog:item-new"),
        {
            "title": "  Scheduled   exports ",
            "kind": "feature",
            "area": area.id,
            "description": "Why",
        },
    )

    item = Item.objects.for_workspace(workspace).get()
    assert response.status_code == 302
    assert response["Location"] == _url(workspace, "backlog:item-detail", item_id=item.id)
    assert (item.title, item.kind, item.area_id, item.description, item.created_by) == (
        "Scheduled exports",
        "feature",
        area.id,
        "Why",
        member,
    )


def test_create_without_a_title_is_refused(workspace, member, login):
    response = login(member).post(
        _url(workspace, "backlog:item-new"), {"title": "", "kind": "idea"}
    )

    assert response.status_code == 400
    assert not Item.objects.for_workspace(workspace).exists()


# --- permissions ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "data_case"),
    [
        ("backlog:item-new", "create"),
        ("backlog:item-move", "move"),
        ("backlog:item-edit", "edit"),
        ("backlog:item-status", "status"),
        ("backlog:item-importance", "importance"),
        ("backlog:item-evidence-link", "link"),
    ],
)
def test_viewer_cannot_post(workspace, viewer, login, asking, name, data_case):
    first = _item(workspace, "First")
    second = _item(workspace, "Second")
    kwargs = {} if name == "backlog:item-new" else {"item_id": second.id}
    data = {
        "create": {"title": "Sneaky", "kind": "idea"},
        "move": {"before_id": first.id},
        "edit": {"title": "Changed", "version": second.version},
        "status": {"status": "planned"},
        "importance": {"customer_id": asking["customer"].id, "importance": "critical"},
        "link": {"insight_id": asking["insight"].id},
    }[data_case]

    response = login(viewer).post(_url(workspace, name, **kwargs), data)

    assert response.status_code == 403
    assert _order(workspace) == ["First", "Second"]
    second.refresh_from_db()
    assert (second.title, second.status, second.version) == ("Second", "new", 1)
    assert not ItemEvidence.objects.for_workspace(workspace).exists()


def test_viewer_cannot_unlink(workspace, viewer, login, asking):
    item = _item(workspace)
    link = services.item_link_evidence(
        workspace=workspace, actor=None, item=item, insight_id=asking["insight"].id
    )

    response = login(viewer).post(
        _url(workspace, "backlog:item-evidence-unlink", item_id=item.id, item_evidence_id=link.id)
    )

    assert response.status_code == 403
    assert ItemEvidence.objects.for_workspace(workspace).count() == 1


# --- moving -----------------------------------------------------------------------------------
def test_move_puts_the_item_after_another(workspace, member, login):
    a, _b, c = (_item(workspace, t) for t in ("A", "B", "C"))

    response = login(member).post(
        _url(workspace, "backlog:item-move", item_id=c.id),
        {"after_id": a.id},
        HTTP_ACCEPT="application/json",
    )

    assert response.status_code == 200
    assert _order(workspace) == ["A", "C", "B"]


def test_move_before_the_first_goes_to_the_top(workspace, member, login):
    a, _b, c = (_item(workspace, t) for t in ("A", "B", "C"))

    response = login(member).post(
        _url(workspace, "backlog:item-move", item_id=c.id), {"before_id": a.id}
    )

    assert response.status_code == 302
    assert _order(workspace) == ["C", "A", "B"]


def test_move_next_to_another_workspaces_item_is_404(workspace, other_workspace, member, login):
    a, b = _item(workspace, "A"), _item(workspace, "B")
    foreign = _item(other_workspace, "Theirs")
    client = login(member)

    next_to_foreign = client.post(
        _url(workspace, "backlog:item-move", item_id=a.id), {"after_id": foreign.id}
    )
    foreign_moved = client.post(
        _url(workspace, "backlog:item-move", item_id=foreign.id), {"after_id": b.id}
    )

    assert next_to_foreign.status_code == 404
    assert foreign_moved.status_code == 404
    assert _order(workspace) == ["A", "B"]


# --- the item page ----------------------------------------------------------------------------
@pytest.mark.parametrize("role_case", ["member", "viewer"])
def test_item_page_shows_the_item_and_its_children(workspace, member, viewer, login, role_case):
    epic = _item(
        workspace, "Reporting epic", kind="epic", description="**Bold** <script>x</script>"
    )
    _item(workspace, "Child feature", kind="feature", parent_id=epic.id)
    user = member if role_case == "member" else viewer

    response = login(user).get(_url(workspace, "backlog:item-detail", item_id=epic.id))

    assert response.status_code == 200
    html = response.content.decode()
    assert "<strong>Bold</strong>" in html
    assert "<script>x</script>" not in html
    assert "Child feature" in html
    assert ('id="edit"' in html) is (role_case == "member")


def test_edit_saves_with_the_current_version(workspace, member, login):
    item = _item(workspace, "Old")

    response = login(member).post(
        _url(workspace, "backlog:item-edit", item_id=item.id),
        {"title": "New", "description": "Text", "effort": "3", "version": item.version},
    )

    item.refresh_from_db()
    assert response.status_code == 302
    assert (item.title, item.description, item.effort, item.version) == ("New", "Text", 3.0, 2)


def test_stale_edit_is_refused_and_keeps_the_persons_text(workspace, member, login):
    item = _item(workspace, "Old")
    opened_on = item.version
    services.item_update(workspace=workspace, actor=None, item=item, version=1, title="Theirs")

    response = login(member).post(
        _url(workspace, "backlog:item-edit", item_id=item.id),
        {"title": "Mine", "description": "My careful words", "version": opened_on},
    )

    item.refresh_from_db()
    assert response.status_code == 409
    html = response.content.decode()
    assert "Someone changed this item" in html
    assert "My careful words" in html
    assert 'value="Mine"' in html
    assert item.title == "Theirs"


def test_declining_needs_a_reason(workspace, member, login):
    item = _item(workspace)
    client = login(member)
    url = _url(workspace, "backlog:item-status", item_id=item.id)

    refused = client.post(url, {"status": "declined", "reason": "  "})
    item.refresh_from_db()
    assert refused.status_code == 400
    assert "Say why it is declined" in refused.content.decode()
    assert item.status == "new"

    accepted = client.post(url, {"status": "declined", "reason": "Out of scope"})
    item.refresh_from_db()
    assert accepted.status_code == 302
    assert (item.status, item.declined_reason) == ("declined", "Out of scope")


def test_link_and_unlink_evidence_update_the_figures(workspace, member, login, asking):
    item = _item(workspace)
    client = login(member)
    page = _url(workspace, "backlog:item-detail", item_id=item.id)

    client.post(
        _url(workspace, "backlog:item-evidence-link", item_id=item.id),
        {"feedback_id": asking["feedback"].id},
    )
    linked = client.get(page).content.decode()
    link = ItemEvidence.objects.for_workspace(workspace).get()
    client.post(
        _url(workspace, "backlog:item-evidence-unlink", item_id=item.id, item_evidence_id=link.id)
    )
    unlinked = client.get(page).content.decode()

    assert 'data-figure="customers">1<' in linked
    assert 'data-figure="arr" title="$1,200,000">$1.2M<' in linked
    assert "Exports time out on big boards" in linked  # the quote
    assert "Enterprise" in linked  # the segment bar
    assert 'data-figure="customers">0<' in unlinked
    assert not ItemEvidence.objects.for_workspace(workspace).exists()


def test_evidence_of_another_workspace_cannot_be_linked(workspace, other_workspace, member, login):
    item = _item(workspace)
    theirs = discovery.insight_create(workspace=other_workspace, actor=None, title="Theirs")

    login(member).post(
        _url(workspace, "backlog:item-evidence-link", item_id=item.id), {"insight_id": theirs.id}
    )

    assert not ItemEvidence.objects.for_workspace(workspace).exists()


def test_importance_change(workspace, member, login, asking):
    item = _item(workspace)
    services.item_link_evidence(
        workspace=workspace, actor=None, item=item, feedback_id=asking["feedback"].id
    )

    response = login(member).post(
        _url(workspace, "backlog:item-importance", item_id=item.id),
        {"customer_id": asking["customer"].id, "importance": "critical"},
    )

    item.refresh_from_db()
    assert response.status_code == 302
    assert ItemCustomer.objects.for_workspace(workspace).get().importance == "critical"
    assert item.critical_count == 1


def test_evidence_picker_finds_insights_and_feedback(workspace, member, login, asking):
    item = _item(workspace)

    response = login(member).get(
        _url(workspace, "backlog:item-detail", item_id=item.id),
        {"find": "exports"},
        HTTP_HX_REQUEST="true",
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="candidates"')
    assert f'name="insight_id" value="{asking["insight"].id}"' in html
    assert f'name="feedback_id" value="{asking["feedback"].id}"' in html


# --- linking from discovery -------------------------------------------------------------------
def test_link_an_insight_to_an_existing_item(workspace, member, login, asking):
    item = _item(workspace, "Faster exports")
    client = login(member)

    picker = client.get(
        _url(workspace, "backlog:evidence-link-picker"),
        {"insight_id": asking["insight"].id, "q": "faster"},
    )
    response = client.post(
        _url(workspace, "backlog:evidence-link"),
        {"insight_id": asking["insight"].id, "item_id": item.id},
    )

    assert picker.status_code == 200
    assert "Faster exports" in picker.content.decode()
    assert response.status_code == 302
    assert ItemEvidence.objects.for_workspace(workspace).get().insight_id == asking["insight"].id


def test_create_an_item_from_feedback(workspace, member, login, asking):
    response = login(member).post(
        _url(workspace, "backlog:evidence-link"),
        {"feedback_id": asking["feedback"].id, "title": "Exports that finish", "open": "1"},
    )

    item = Item.objects.for_workspace(workspace).get()
    assert response["Location"] == _url(workspace, "backlog:item-detail", item_id=item.id)
    assert item.title == "Exports that finish"
    assert item.customer_count == 1


def test_linking_another_workspaces_insight_is_404(workspace, other_workspace, member, login):
    theirs = discovery.insight_create(workspace=other_workspace, actor=None, title="Theirs")

    response = login(member).post(
        _url(workspace, "backlog:evidence-link"), {"insight_id": theirs.id, "title": "X"}
    )

    assert response.status_code == 404
    assert not Item.objects.for_workspace(workspace).exists()


def test_insight_feedback_and_inbox_offer_the_link_to_editors_only(
    workspace, member, viewer, login, asking
):
    picker = _url(workspace, "backlog:evidence-link-picker")
    pages = [
        (
            _url(
                workspace,
                "discovery:insight-detail",
                insight_id=asking["insight"].id,
            ),
            f"{picker}?insight_id={asking['insight'].id}",
        ),
        (
            _url(workspace, "discovery:feedback-detail", feedback_id=asking["feedback"].id),
            f"{picker}?feedback_id={asking['feedback'].id}",
        ),
        (_url(workspace, "discovery:index"), f"{picker}?feedback_id={asking['feedback'].id}"),
    ]
    for page, link in pages:
        assert link in login(member).get(page).content.decode(), page
        assert link not in login(viewer).get(page).content.decode(), page


def test_saving_again_after_a_stale_edit_replaces_the_other_change(workspace, member, login):
    item = _item(workspace, "Old")
    services.item_update(workspace=workspace, actor=None, item=item, version=1, title="Theirs")
    client = login(member)
    url = _url(workspace, "backlog:item-edit", item_id=item.id)
    stale = client.post(url, {"title": "Mine", "version": 1})

    again = client.post(
        url, {"title": "Mine", "version": stale.context["edit_form"]["version"].value()}
    )

    item.refresh_from_db()
    assert again.status_code == 302
    assert (item.title, item.version) == ("Mine", 3)


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (None, "—"),
        (Decimal(0), "—"),
        (Decimal(950), "$950"),
        (Decimal(12_000), "$12K"),
        (Decimal(1_240_000), "$1.2M"),
        (Decimal(999_960), "$1M"),
        (Decimal(3_400_000_000), "$3.4B"),
    ],
)
def test_compact_money(amount, shown):
    from backlog.templatetags.backlog_format import compact_money

    assert compact_money(amount) == shown
