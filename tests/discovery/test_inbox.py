"""The triage inbox: filters, keyset pages, bulk actions, adding feedback by hand."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from discovery import services
from discovery.models import Evidence, Feedback, Tagging
from discovery.services import FeedbackInput

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _url(workspace, name="discovery:index", **kwargs):
    return reverse(name, kwargs={"workspace_slug": workspace.slug, **kwargs})


def _feedback(workspace, text="Exports time out", *, at=None, **kwargs):
    return services.feedback_create(
        workspace=workspace,
        actor=None,
        data=FeedbackInput(text=text, received_at=at or T0, **kwargs),
    )


def _many(workspace, n, *, tag=None):
    items = [_feedback(workspace, f"Item {i}", at=T0 + timedelta(minutes=i)) for i in range(n)]
    if tag is not None:
        services.feedback_tag(
            workspace=workspace, actor=None, feedback_ids=[f.id for f in items], tag_id=tag.id
        )
    return items


def _bulk(client, workspace, **data):
    return client.post(_url(workspace, "discovery:feedback-bulk"), data)


# --- the page --------------------------------------------------------------------------------
def test_inbox_lists_new_feedback_newest_first_with_customer_tags_and_source(
    workspace, member, login
):
    company, _ = services.company_upsert(
        workspace=workspace, actor=None, name="Initech", domain="initech.test"
    )
    customer, _ = services.customer_upsert(
        workspace=workspace, actor=None, email="peter@initech.test", name="Peter", company=company
    )
    tag = services.tag_create(workspace=workspace, actor=None, name="Exports", color="#ff0000")
    old = _feedback(workspace, "Old complaint", at=T0)
    new = _feedback(
        workspace, "Fresh complaint", at=T0 + timedelta(days=1), customer_id=customer.id
    )
    archived = _feedback(workspace, "Gone already", at=T0 + timedelta(days=2))
    services.feedback_set_status(
        workspace=workspace, actor=None, feedback_ids=[archived.id], status="archived"
    )
    services.feedback_tag(workspace=workspace, actor=None, feedback_ids=[new.id], tag_id=tag.id)

    response = login(member).get(_url(workspace))

    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("Fresh complaint") < html.index("Old complaint")
    assert "Gone already" not in html
    assert "Peter" in html
    assert "Initech" in html
    assert 'fill="#ff0000"' in html
    assert f'data-id="{old.id}"' in html


def test_first_run_shows_the_add_feedback_empty_state(workspace, member, login):
    response = login(member).get(_url(workspace))

    html = response.content.decode()
    assert "Your feedback inbox" in html
    assert _url(workspace, "discovery:feedback-new") in html


def test_inbox_zero_when_everything_new_is_triaged(workspace, member, login):
    item = _feedback(workspace)
    services.feedback_set_status(
        workspace=workspace, actor=None, feedback_ids=[item.id], status="triaged"
    )

    html = login(member).get(_url(workspace)).content.decode()

    assert "Inbox zero" in html
    assert "Your feedback inbox" not in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param("?status=all", {"support new", "sales triaged", "manual new"}, id="all_case"),
        pytest.param("?status=triaged", {"sales triaged"}, id="status_case"),
        pytest.param("?source=support", {"support new"}, id="source_case"),
        pytest.param("?status=all&q=triaged", {"sales triaged"}, id="text_case"),
        pytest.param("?since=2026-03-03", {"manual new"}, id="since_case"),
        pytest.param("?until=2026-03-02", {"support new"}, id="until_case"),
    ],
)
def test_filters_narrow_the_inbox(workspace, member, login, query, expected):
    _feedback(workspace, "support new", source="support", at=T0)
    triaged = _feedback(workspace, "sales triaged", source="sales", at=T0 + timedelta(hours=1))
    _feedback(workspace, "manual new", at=T0 + timedelta(days=2))
    services.feedback_set_status(
        workspace=workspace, actor=None, feedback_ids=[triaged.id], status="triaged"
    )

    html = login(member).get(_url(workspace) + query).content.decode()

    shown = {t for t in ("support new", "sales triaged", "manual new") if t in html}
    assert shown == expected


def test_tag_and_segment_filters(workspace, member, login):
    company, _ = services.company_upsert(
        workspace=workspace, actor=None, name="Big", domain="big.test", segment="Enterprise"
    )
    customer, _ = services.customer_upsert(
        workspace=workspace, actor=None, email="a@big.test", company=company
    )
    tag = services.tag_create(workspace=workspace, actor=None, name="Billing")
    tagged = _feedback(workspace, "tagged one")
    _feedback(workspace, "enterprise one", customer_id=customer.id)
    services.feedback_tag(workspace=workspace, actor=None, feedback_ids=[tagged.id], tag_id=tag.id)
    client = login(member)

    by_tag = client.get(_url(workspace) + f"?tag={tag.id}").content.decode()
    by_segment = client.get(_url(workspace) + "?segment=Enterprise").content.decode()

    assert "tagged one" in by_tag
    assert "enterprise one" not in by_tag
    assert "enterprise one" in by_segment
    assert "tagged one" not in by_segment


def test_possible_duplicates_filter_and_badge(workspace, member, login):
    first = _feedback(workspace, "Exports time out", at=T0)
    again = _feedback(workspace, "Exports time out!", at=T0 + timedelta(hours=1))
    merged = _feedback(workspace, "Exports time out again", at=T0 + timedelta(hours=2))
    feedback = Feedback.objects.for_workspace(workspace)
    feedback.filter(id=again.id).update(duplicate_of=first)
    # Merged already: no longer a question, whatever the flag says.
    feedback.filter(id=merged.id).update(duplicate_of=first, merged_into=first)
    client = login(member)

    everything = client.get(_url(workspace) + "?status=all")
    only = client.get(_url(workspace) + "?status=all&duplicates=on")

    assert [row.id for row in only.context["rows"]] == [again.id]
    assert [(row.id, row.duplicate_of_id) for row in everything.context["rows"]] == [
        (merged.id, None),
        (again.id, first.id),
        (first.id, None),
    ]
    html = everything.content.decode()
    assert html.count("data-duplicate-badge") == 1
    detail = _url(workspace, "discovery:feedback-detail", feedback_id=again.id)
    assert f'<a class="badge badge--warning inbox__dup" href="{detail}"' in html
    assert f"Possibly repeats #{first.id}" in html
    assert 'name="duplicates"' in html
    assert "Possible duplicates" in html


def test_load_more_pages_through_with_the_keyset_cursor(workspace, member, login):
    items = _many(workspace, 53)
    client = login(member)

    first = client.get(_url(workspace))
    next_url = first.context["next_url"]
    second = client.get(_url(workspace) + next_url)

    assert [f.id for f in first.context["rows"]] == [f.id for f in reversed(items)][:50]
    assert [f.id for f in second.context["rows"]] == [f.id for f in reversed(items)][50:]
    assert second.context["next_url"] == ""
    assert "%2B00%3A00_" in next_url  # the offset's "+" survives the link


def test_a_malformed_cursor_shows_the_first_page(workspace, member, login):
    _feedback(workspace, "Only item")

    response = login(member).get(_url(workspace) + "?after=yesterday_x")

    assert response.status_code == 200
    assert "Only item" in response.content.decode()


def test_html_in_feedback_is_shown_as_text(workspace, member, login):
    _feedback(workspace, '<script>alert("x")</script><b>bold</b>')

    html = login(member).get(_url(workspace)).content.decode()

    assert "<script>alert" not in html
    assert "<b>bold</b>" not in html
    assert "&lt;script&gt;alert(" in html


def test_inbox_query_count_does_not_grow_with_the_page(
    workspace, member, login, django_assert_num_queries
):
    tag = services.tag_create(workspace=workspace, actor=None, name="Perf")
    client = login(member)
    client.get(_url(workspace))  # warm the session
    _many(workspace, 10, tag=tag)
    # membership (+user), tags, segments, rows (+customer, company joined),
    # taggings (+tag joined), pending suggestions (+tag joined), the insights of the link picker,
    # the sidebar's workspace switcher
    with django_assert_num_queries(8):
        small = client.get(_url(workspace))
    _many(workspace, 40, tag=tag)
    with django_assert_num_queries(8):
        full = client.get(_url(workspace))

    assert len(small.context["rows"]) == 10
    assert len(full.context["rows"]) == 50


def test_outsider_gets_404_and_anonymous_goes_to_log_in(workspace, outsider, login, client):
    assert login(outsider).get(_url(workspace)).status_code == 404
    assert client.get(_url(workspace)).status_code == 302


# --- bulk actions ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("action", "status"),
    [
        pytest.param("triage", "triaged", id="triage_case"),
        pytest.param("archive", "archived", id="archive_case"),
    ],
)
def test_bulk_status_changes_exactly_the_selected_rows(workspace, member, login, action, status):
    chosen, also, untouched = _many(workspace, 3)

    response = _bulk(login(member), workspace, action=action, feedback_ids=[chosen.id, also.id])

    assert response.status_code == 302
    statuses = dict(Feedback.objects.for_workspace(workspace).values_list("id", "status"))
    assert statuses == {chosen.id: status, also.id: status, untouched.id: "new"}


def test_bulk_reopen_moves_back_to_new(workspace, member, login):
    item = _feedback(workspace)
    services.feedback_set_status(
        workspace=workspace, actor=None, feedback_ids=[item.id], status="archived"
    )

    _bulk(login(member), workspace, action="reopen", feedback_ids=[item.id])

    assert Feedback.objects.for_workspace(workspace).get().status == "new"


def test_bulk_tag_and_untag(workspace, member, login):
    tag = services.tag_create(workspace=workspace, actor=None, name="Speed")
    first, second, third = _many(workspace, 3)
    client = login(member)

    _bulk(client, workspace, action="tag", tag_id=tag.id, feedback_ids=[first.id, second.id])
    tagged = set(Tagging.objects.for_workspace(workspace).values_list("feedback_id", flat=True))
    _bulk(client, workspace, action="untag", tag_id=tag.id, feedback_ids=[second.id])
    after = set(Tagging.objects.for_workspace(workspace).values_list("feedback_id", flat=True))

    assert tagged == {first.id, second.id}
    assert after == {first.id}
    assert Tagging.objects.for_workspace(workspace).get().origin == "person"


def test_bulk_ignores_ids_of_another_workspace(workspace, other_workspace, member, login):
    mine = _feedback(workspace, "mine")
    theirs = _feedback(other_workspace, "theirs")
    their_tag = services.tag_create(workspace=other_workspace, actor=None, name="Theirs")
    my_tag = services.tag_create(workspace=workspace, actor=None, name="Mine")
    client = login(member)

    _bulk(client, workspace, action="archive", feedback_ids=[mine.id, theirs.id])
    _bulk(client, workspace, action="tag", tag_id=my_tag.id, feedback_ids=[theirs.id])
    refused = _bulk(client, workspace, action="tag", tag_id=their_tag.id, feedback_ids=[mine.id])

    assert Feedback.objects.for_workspace(workspace).get().status == "archived"
    assert Feedback.objects.for_workspace(other_workspace).get().status == "new"
    assert Tagging.objects.unscoped().count() == 0  # cross-workspace: proves nothing was linked
    assert refused.status_code == 302


def test_bulk_json_answer_for_the_keyboard(workspace, member, login):
    item = _feedback(workspace)

    response = login(member).post(
        _url(workspace, "discovery:feedback-bulk"),
        {"action": "archive", "feedback_ids": [item.id]},
        headers={"Accept": "application/json"},
    )

    assert response.status_code == 200
    assert response.json() == {"changed": 1, "message": "1 item moved to archived."}


def test_bulk_without_selection_is_refused_with_a_message(workspace, member, login):
    item = _feedback(workspace)

    response = login(member).post(
        _url(workspace, "discovery:feedback-bulk"),
        {"action": "archive"},
        headers={"Accept": "application/json"},
    )

    assert response.status_code == 400
    assert response.json()["message"] == "Select at least one item."
    assert Feedback.objects.for_workspace(workspace).get(id=item.id).status == "new"


def test_bulk_redirects_back_only_to_this_site(workspace, member, login):
    item = _feedback(workspace)
    client = login(member)

    back = _bulk(
        client, workspace, action="triage", feedback_ids=[item.id], next="/w/acme/discovery/?q=x"
    )
    away = _bulk(
        client, workspace, action="triage", feedback_ids=[item.id], next="https://evil.test/"
    )

    assert back["Location"] == "/w/acme/discovery/?q=x"
    assert away["Location"] == _url(workspace)


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        pytest.param("anonymous", 302, id="anonymous_case"),
        pytest.param("outsider", 404, id="outsider_case"),
        pytest.param("viewer", 403, id="viewer_case"),
        pytest.param("member", 302, id="editor_case"),
        pytest.param("admin", 302, id="admin_case"),
    ],
)
def test_bulk_permission_matrix(workspace, login, client, request, who, expected):
    item = _feedback(workspace)
    actor = client if who == "anonymous" else login(request.getfixturevalue(who))

    response = _bulk(actor, workspace, action="archive", feedback_ids=[item.id])

    assert response.status_code == expected
    status = Feedback.objects.for_workspace(workspace).get().status
    assert status == ("archived" if expected == 302 and who != "anonymous" else "new")


# --- add feedback ----------------------------------------------------------------------------
def test_add_feedback_creates_a_new_item_for_the_customer(workspace, member, login):
    customer, _ = services.customer_upsert(
        workspace=workspace, actor=None, email="p@x.test", name="P"
    )

    response = login(member).post(
        _url(workspace, "discovery:feedback-new"),
        {
            "text": "Need SSO",
            "source": "sales",
            "customer": customer.id,
            "received_on": "2026-01-05",
        },
    )

    assert response.status_code == 302
    item = Feedback.objects.for_workspace(workspace).get()
    assert (item.text, item.source, item.customer_id, item.status) == (
        "Need SSO",
        "sales",
        customer.id,
        "new",
    )
    assert item.received_at.date().isoformat() == "2026-01-05"
    assert item.created_by == member


def test_add_feedback_refuses_a_customer_of_another_workspace(
    workspace, other_workspace, member, login
):
    theirs, _ = services.customer_upsert(workspace=other_workspace, actor=None, email="t@x.test")

    response = login(member).post(
        _url(workspace, "discovery:feedback-new"),
        {"text": "Hello", "source": "manual", "customer": theirs.id},
    )

    assert response.status_code == 200
    assert "customer" in response.context["form"].errors
    assert not Feedback.objects.for_workspace(workspace).exists()


def test_add_feedback_refuses_empty_text(workspace, member, login):
    response = login(member).post(
        _url(workspace, "discovery:feedback-new"), {"text": "  ", "source": "manual"}
    )

    assert response.status_code == 200
    assert response.context["form"].errors["text"]
    assert not Feedback.objects.for_workspace(workspace).exists()


def _customers(workspace, count, name="Person"):
    return [
        services.customer_upsert(
            workspace=workspace, actor=None, email=f"{name.lower()}{i}@x.test", name=f"{name} {i}"
        )[0]
        for i in range(count)
    ]


def _options(html):
    return re.findall(r'name="customer" value="(\d*)"', html)


def test_the_customer_picker_shows_a_few_customers_and_finds_the_others(workspace, member, login):
    people = _customers(workspace, 30)
    client = login(member)
    url = _url(workspace, "discovery:feedback-new")

    page = client.get(url).content.decode()
    found = client.get(url, {"find": "person 7"}, HTTP_HX_REQUEST="true").content.decode()
    plain = client.get(url, {"find": "person 7"}).content.decode()  # without JS: the whole page
    nothing = client.get(url, {"find": "zebra"}, HTTP_HX_REQUEST="true").content.decode()

    # "No customer" and the 12 newest, not all 30.
    assert _options(page) == ["", *[str(p.id) for p in reversed(people[-12:])]]
    assert "The newest customers; type to find any other." in page
    assert "<html" not in found
    # The one containing what was typed first, then the similar names.
    assert _options(found)[1] == str(people[7].id)
    assert len(_options(found)) == 13
    assert _options(plain) == _options(found)
    assert 'name="text"' in plain
    assert "No customer matches “zebra”." in nothing


def test_a_chosen_customer_stays_chosen_through_a_search_and_a_refused_form(
    workspace, other_workspace, member, login
):
    people = _customers(workspace, 30)
    theirs = _customers(other_workspace, 1, name="Theirs")[0]
    client = login(member)
    url = _url(workspace, "discovery:feedback-new")
    chosen = people[0]  # the oldest: not among the newest shown

    searched = client.get(url, {"find": "person 2", "customer": chosen.id}, HTTP_HX_REQUEST="true")
    foreign = client.get(url, {"find": "", "customer": theirs.id}, HTTP_HX_REQUEST="true")
    refused = client.post(url, {"text": " ", "source": "manual", "customer": chosen.id})

    assert f'value="{chosen.id}" checked' in searched.content.decode()
    assert str(theirs.id) not in foreign.content.decode()  # another workspace's: ignored
    assert 'value="" checked' in foreign.content.decode()
    assert refused.status_code == 200
    assert f'value="{chosen.id}" checked' in refused.content.decode()


def test_the_add_feedback_page_costs_the_same_with_many_customers(
    workspace, member, login, django_assert_max_num_queries
):
    client = login(member)
    url = _url(workspace, "discovery:feedback-new")
    _customers(workspace, 5)
    client.get(url)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        small = client.get(url).content
    _customers(workspace, 300, name="More")
    with CaptureQueriesContext(connection) as many:
        large = client.get(url).content

    assert len(many.captured_queries) == len(few.captured_queries)
    assert len(large) < len(small) * 1.2  # the page does not grow with the customers


def test_viewer_cannot_add_feedback(workspace, viewer, login):
    client = login(viewer)

    assert client.get(_url(workspace, "discovery:feedback-new")).status_code == 200
    response = client.post(
        _url(workspace, "discovery:feedback-new"), {"text": "Hi", "source": "manual"}
    )

    assert response.status_code == 403
    assert not Feedback.objects.for_workspace(workspace).exists()


def test_a_bad_filter_value_is_shown_and_the_others_still_apply(workspace, member, login):
    _feedback(workspace, "from support", source="support")
    _feedback(workspace, "from sales", source="sales")

    response = login(member).get(_url(workspace) + "?source=support&since=not-a-date&tag=-1")

    html = response.content.decode()
    assert "from support" in html
    assert "from sales" not in html
    assert set(response.context["form"].errors) == {"since", "tag"}


def test_a_viewer_sees_the_inbox_without_bulk_actions(workspace, viewer, login):
    _feedback(workspace, "read only")

    html = login(viewer).get(_url(workspace)).content.decode()

    assert "read only" in html
    assert 'id="bulk-form"' not in html
    assert 'name="feedback_ids"' not in html
    assert "Add feedback" not in html


def test_first_run_for_a_viewer_offers_no_add_button(workspace, viewer, login):
    html = login(viewer).get(_url(workspace)).content.decode()

    assert "Your feedback inbox" in html
    assert _url(workspace, "discovery:feedback-new") not in html


def test_bulk_link_cites_the_selected_items_in_an_insight_once(
    workspace, other_workspace, member, login
):
    insight = services.insight_create(workspace=workspace, actor=member, title="Exports fail")
    mine = _many(workspace, 3)
    theirs = services.feedback_create(
        workspace=other_workspace, actor=None, data=FeedbackInput(text="Not yours")
    )
    services.evidence_add(workspace=workspace, actor=member, insight=insight, feedback=mine[0])
    url = f"/w/{workspace.slug}/discovery/feedback/bulk/"

    response = login(member).post(
        url,
        {
            "action": "link",
            "insight_id": insight.id,
            "feedback_ids": [f.id for f in mine] + [theirs.id],
        },
        HTTP_ACCEPT="application/json",
    )

    assert response.status_code == 200
    assert response.json() == {"changed": 2, "message": "2 items linked as evidence."}
    insight.refresh_from_db()
    assert insight.evidence_count == 3
    cited = set(Evidence.objects.for_workspace(workspace).values_list("feedback_id", flat=True))
    assert cited == {f.id for f in mine}
    assert not Evidence.objects.for_workspace(other_workspace).exists()


def test_bulk_link_to_another_workspaces_insight_is_refused(
    workspace, other_workspace, member, login
):
    foreign = services.insight_create(workspace=other_workspace, actor=None, title="Theirs")
    mine = _many(workspace, 1)

    response = login(member).post(
        f"/w/{workspace.slug}/discovery/feedback/bulk/",
        {"action": "link", "insight_id": foreign.id, "feedback_ids": [mine[0].id]},
        HTTP_ACCEPT="application/json",
    )

    assert response.status_code == 400
    assert not Evidence.objects.for_workspace(other_workspace).exists()
    assert not Evidence.objects.for_workspace(workspace).exists()
