"""Evidence seen from Discovery: a feedback item's and an insight's page list the backlog items
they are evidence for, and editors unlink them there through the backlog's one unlink path."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from backlog import selectors, services
from backlog.models import Item, ItemEvidence
from discovery import services as discovery
from discovery.services import FeedbackInput

pytestmark = pytest.mark.django_db


def _url(workspace, name, **kwargs):
    return reverse(name, kwargs={"workspace_slug": workspace.slug, **kwargs})


def _item(workspace, title):
    return services.item_create(workspace=workspace, actor=None, title=title)


@pytest.fixture
def asked(workspace):
    """Peter said something, an insight cites it, and two items cite both."""
    customer, _ = discovery.customer_upsert(
        workspace=workspace, actor=None, email="peter@example.test", name="Peter"
    )
    feedback = discovery.feedback_create(
        workspace=workspace,
        actor=None,
        data=FeedbackInput(text="Exports time out on big boards", customer_id=customer.id),
    )
    insight = discovery.insight_create(workspace=workspace, actor=None, title="Exports fail")
    discovery.evidence_add(workspace=workspace, actor=None, insight=insight, feedback=feedback)
    export = _item(workspace, "Faster CSV export")
    streaming = _item(workspace, "Streaming export")
    services.item_set_status(
        workspace=workspace, actor=None, item=streaming, status=Item.Status.PLANNED
    )
    for item in (export, streaming):
        services.item_link_evidence(
            workspace=workspace, actor=None, item=item, feedback_id=feedback.id
        )
        services.item_link_evidence(
            workspace=workspace, actor=None, item=item, insight_id=insight.id
        )
    return {"feedback": feedback, "insight": insight, "export": export, "streaming": streaming}


def _pages(workspace, asked):
    return {
        "feedback": _url(workspace, "discovery:feedback-detail", feedback_id=asked["feedback"].id),
        "insight": _url(workspace, "discovery:insight-detail", insight_id=asked["insight"].id),
    }


@pytest.mark.parametrize("page_case", ["feedback", "insight"])
@pytest.mark.parametrize("role_case", ["member", "viewer"])
def test_the_page_lists_the_items_it_is_evidence_for(
    workspace, member, viewer, login, asked, page_case, role_case
):
    user = member if role_case == "member" else viewer

    response = login(user).get(_pages(workspace, asked)[page_case])

    assert response.status_code == 200
    links = response.context["backlog_links"]
    assert [link.item.title for link in links] == ["Faster CSV export", "Streaming export"]
    html = response.content.decode()
    for key in ("export", "streaming"):
        item_url = _url(workspace, "backlog:item-detail", item_id=asked[key].id)
        assert f'href="{item_url}"' in html
    assert "item-status--planned" in html
    assert "item-status--new" in html
    assert html.count("1 customer<") == 2
    # Only editors see the unlink buttons (and the link picker).
    assert ('aria-label="Unlink from “Streaming export”"' in html) is (role_case == "member")
    assert ("Link to backlog item" in html) is (role_case == "member")


@pytest.mark.parametrize("page_case", ["feedback", "insight"])
def test_the_page_says_when_it_is_evidence_for_nothing(workspace, viewer, login, page_case):
    feedback = discovery.feedback_create(
        workspace=workspace, actor=None, data=FeedbackInput(text="Dark mode please")
    )
    insight = discovery.insight_create(workspace=workspace, actor=None, title="Dark mode")
    page = {
        "feedback": _url(workspace, "discovery:feedback-detail", feedback_id=feedback.id),
        "insight": _url(workspace, "discovery:insight-detail", insight_id=insight.id),
    }[page_case]

    html = login(viewer).get(page).content.decode()

    assert "Not evidence for any backlog item yet." in html


@pytest.mark.parametrize("page_case", ["feedback", "insight"])
def test_an_editor_unlinks_from_the_page_and_the_demand_follows(
    workspace, member, login, asked, page_case
):
    page = _pages(workspace, asked)[page_case]
    export = asked["export"]
    source = {f"{page_case}_id": asked[page_case].id}
    link = ItemEvidence.objects.for_workspace(workspace).get(item=export, **source)

    response = login(member).post(
        _url(
            workspace,
            "backlog:item-evidence-unlink",
            item_id=export.id,
            item_evidence_id=link.id,
        ),
        {"next": page},
    )

    assert response.status_code == 302
    assert response["Location"] == page
    assert not ItemEvidence.objects.for_workspace(workspace).filter(id=link.id).exists()
    export.refresh_from_db()
    # Peter still asks through the other link, so he counts once; one link is left.
    assert (export.evidence_count, export.customer_count) == (1, 1)
    titles = [link.item.title for link in login(member).get(page).context["backlog_links"]]
    assert titles == ["Streaming export"]


@pytest.mark.parametrize(
    "next_case", ["http://evil.test/w/x/", "//evil.test/", "https:evil.test", ""]
)
def test_unlink_goes_back_only_to_a_page_of_this_site(workspace, member, login, asked, next_case):
    export = asked["export"]
    link = ItemEvidence.objects.for_workspace(workspace).get(
        item=export, feedback=asked["feedback"]
    )

    response = login(member).post(
        _url(
            workspace, "backlog:item-evidence-unlink", item_id=export.id, item_evidence_id=link.id
        ),
        {"next": next_case},
    )

    assert response.status_code == 302
    assert (
        response["Location"]
        == _url(workspace, "backlog:item-detail", item_id=export.id) + "#evidence"
    )


@pytest.mark.parametrize("role_case", ["anonymous", "outsider", "viewer"])
def test_only_editors_of_the_workspace_unlink(
    workspace, outsider, viewer, client, login, asked, role_case
):
    export = asked["export"]
    link = ItemEvidence.objects.for_workspace(workspace).get(
        item=export, feedback=asked["feedback"]
    )
    http = {"anonymous": client, "outsider": login(outsider), "viewer": login(viewer)}[role_case]

    response = http.post(
        _url(
            workspace, "backlog:item-evidence-unlink", item_id=export.id, item_evidence_id=link.id
        ),
        {"next": _pages(workspace, asked)["feedback"]},
    )

    expected = {"anonymous": 302, "outsider": 404, "viewer": 403}[role_case]
    assert response.status_code == expected
    assert ItemEvidence.objects.for_workspace(workspace).filter(id=link.id).exists()
    export.refresh_from_db()
    assert export.evidence_count == 2


def test_a_merged_item_is_not_listed_its_survivor_is(workspace, asked):
    services.item_merge(
        workspace=workspace, actor=None, duplicate=asked["streaming"], into=asked["export"]
    )

    links = selectors.items_citing(workspace=workspace, feedback_id=asked["feedback"].id)

    assert [link.item.title for link in links] == ["Faster CSV export"]


def test_another_workspaces_links_are_never_listed(workspace, other_workspace, asked):
    theirs = _item(other_workspace, "Their item")
    foreign = discovery.feedback_create(
        workspace=other_workspace, actor=None, data=FeedbackInput(text="Theirs")
    )
    services.item_link_evidence(
        workspace=other_workspace, actor=None, item=theirs, feedback_id=foreign.id
    )

    assert selectors.items_citing(workspace=workspace, feedback_id=foreign.id) == []


@pytest.mark.parametrize("page_case", ["feedback", "insight"])
def test_the_list_is_one_query_whatever_its_length(workspace, member, login, asked, page_case):
    """The side block adds one query to the page, for 2 linked items as for 12."""
    page = _pages(workspace, asked)[page_case]
    client = login(member)
    client.get(page)
    with CaptureQueriesContext(connection) as two:
        client.get(page)
    for n in range(10):
        services.item_link_evidence(
            workspace=workspace,
            actor=None,
            item=_item(workspace, f"Item {n}"),
            **{f"{page_case}_id": asked[page_case].id},
        )
    with CaptureQueriesContext(connection) as twelve:
        response = client.get(page)

    assert len(response.context["backlog_links"]) == 12
    assert len(twelve) == len(two), "\n".join(q["sql"] for q in twelve.captured_queries)


def test_a_long_list_is_cut_and_says_so(workspace, viewer, login, asked, monkeypatch):
    monkeypatch.setattr(selectors, "ITEMS_CITING_LIMIT", 1)

    response = login(viewer).get(_pages(workspace, asked)["feedback"])

    assert [link.item.title for link in response.context["backlog_links"]] == ["Faster CSV export"]
    assert response.context["backlog_more"] is True
    assert "The first 1 in backlog order." in response.content.decode()
