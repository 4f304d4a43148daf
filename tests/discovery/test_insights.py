"""Insights: the list, the page with evidence in context and reach, evidence, stale edits."""

from __future__ import annotations

from decimal import Decimal

import pytest

from discovery import services
from discovery.models import Evidence, Insight
from tests.discovery.pages_support import TRANSCRIPT, make_desk, span_of

pytestmark = pytest.mark.django_db

BASE = "/w/acme/discovery"


@pytest.fixture
def desk(workspace, member):
    return make_desk(workspace, member)


def _reach(insight):
    insight.refresh_from_db()
    return (insight.evidence_count, insight.customer_count, insight.company_count, insight.arr)


# --- reach (service) -------------------------------------------------------------------------
def test_reach_counts_distinct_customers_companies_and_their_arr(desk, member):
    workspace = desk.feedback.workspace
    umbrella, _ = services.company_upsert(
        workspace=workspace, actor=member, name="Umbrella", domain="umbrella.test", arr=Decimal(5)
    )
    alice, _ = services.customer_upsert(
        workspace=workspace, actor=member, email="alice@umbrella.test", company=umbrella
    )
    milton, _ = services.customer_upsert(
        workspace=workspace, actor=member, email="milton@initech.test", company=desk.company
    )
    nobody = services.feedback_create(
        workspace=workspace, actor=member, data=services.FeedbackInput(text="anonymous")
    )
    second = services.feedback_create(
        workspace=workspace,
        actor=member,
        data=services.FeedbackInput(text="also slow", customer_id=milton.id),
    )
    third = services.feedback_create(
        workspace=workspace,
        actor=member,
        data=services.FeedbackInput(text="slow too", customer_id=alice.id),
    )
    add = lambda **kw: services.evidence_add(  # noqa: E731
        workspace=workspace, actor=member, insight=desk.insight, **kw
    )

    add(feedback=desk.feedback)
    assert _reach(desk.insight) == (1, 1, 1, Decimal("120000"))
    add(feedback=second)  # another person of the same company: ARR once
    assert _reach(desk.insight) == (2, 2, 1, Decimal("120000"))
    add(feedback=nobody)  # evidence without a customer
    assert _reach(desk.insight) == (3, 2, 1, Decimal("120000"))
    evidence = add(feedback=third)
    assert _reach(desk.insight) == (4, 3, 2, Decimal("120005"))
    add(feedback=third)  # citing twice is once
    assert _reach(desk.insight) == (4, 3, 2, Decimal("120005"))

    services.evidence_remove(workspace=workspace, actor=member, evidence=evidence)
    assert _reach(desk.insight) == (3, 2, 1, Decimal("120000"))


def test_a_transcript_highlight_counts_the_interviews_participants(desk, member):
    workspace = desk.interview.workspace
    highlight = services.highlight_create(
        workspace=workspace, actor=member, start=0, end=11, interview=desk.interview
    )

    services.evidence_add(
        workspace=workspace, actor=member, insight=desk.insight, highlight=highlight
    )
    services.evidence_add(
        workspace=workspace, actor=member, insight=desk.insight, feedback=desk.feedback
    )

    assert _reach(desk.insight) == (2, 1, 1, Decimal("120000"))


def test_evidence_from_another_workspace_is_refused(desk, other_workspace, outsider, member):
    theirs = make_desk(other_workspace, outsider, prefix="G")

    with pytest.raises(Exception, match="Unknown insight, feedback or highlight"):
        services.evidence_add(
            workspace=desk.feedback.workspace,
            actor=member,
            insight=desk.insight,
            feedback=theirs.feedback,
        )

    assert _reach(desk.insight) == (0, 0, 0, Decimal(0))


def test_a_stale_insight_edit_is_refused(desk, member, admin):
    workspace = desk.insight.workspace
    services.insight_update(
        workspace=workspace, actor=admin, insight=desk.insight, version=1, title="Theirs"
    )

    with pytest.raises(services.StaleEditError):
        services.insight_update(
            workspace=workspace, actor=member, insight=desk.insight, version=1, title="Mine"
        )

    desk.insight.refresh_from_db()
    assert (desk.insight.title, desk.insight.version) == ("Theirs", 2)


# --- list ------------------------------------------------------------------------------------
def test_the_list_shows_stored_reach(desk, member, login):
    services.evidence_add(
        workspace=desk.feedback.workspace,
        actor=member,
        insight=desk.insight,
        feedback=desk.feedback,
    )

    body = login(member).get(f"{BASE}/insights/").content.decode()

    assert "Exports fail at scale" in body
    assert "$120,000" in body
    assert body.count('<td class="num">1</td>') == 3  # evidence, customers, companies


@pytest.mark.parametrize("insights", [1, 15])
def test_the_list_query_count_does_not_grow_with_insights(
    workspace, member, login, insights, django_assert_num_queries
):
    for n in range(insights):
        services.insight_create(workspace=workspace, actor=member, title=f"Insight {n}")
    client = login(member)
    client.get(f"{BASE}/insights/")

    # membership (+workspace, user); switcher memberships; page count; the insights
    # (reach is stored on the row: nothing counted per row).
    with django_assert_num_queries(4):
        response = client.get(f"{BASE}/insights/")

    assert len(response.context["page"].object_list) == insights


def test_the_list_filters_by_status(workspace, member, login):
    services.insight_create(workspace=workspace, actor=member, title="Drafty")
    services.insight_create(workspace=workspace, actor=member, title="Proven", status="validated")

    body = login(member).get(f"{BASE}/insights/?status=validated").content.decode()

    assert "Proven" in body
    assert "Drafty" not in body


# --- new, page, edit -------------------------------------------------------------------------
def test_a_new_insight_is_created_and_opened(workspace, member, login):
    response = login(member).post(
        f"{BASE}/insights/new/",
        {"title": "Big boards are slow", "status": "draft", "summary": "**Why**\r\nBecause."},
    )

    insight = Insight.objects.for_workspace(workspace).get()
    assert response["Location"] == f"{BASE}/insights/{insight.id}/"
    assert insight.summary == "**Why**\nBecause."
    assert insight.created_by == member


def test_the_summary_is_markdown_through_the_one_sanitizer(workspace, member, login):
    insight = services.insight_create(
        workspace=workspace,
        actor=member,
        title="T",
        summary="**Bold** <script>alert(1)</script> [x](javascript:alert(1))",
    )

    body = login(member).get(f"{BASE}/insights/{insight.id}/").content.decode()

    assert "<strong>Bold</strong>" in body
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert 'href="javascript:' not in body


def test_the_page_shows_quotes_in_context_who_linked_them_and_the_people(desk, member, login):
    workspace = desk.interview.workspace
    start, end = span_of(TRANSCRIPT, "the export times out")
    highlight = services.highlight_create(
        workspace=workspace, actor=member, start=start, end=end, interview=desk.interview
    )
    services.evidence_add(
        workspace=workspace,
        actor=member,
        insight=desk.insight,
        highlight=highlight,
        note="Said it twice",
    )
    services.evidence_add(
        workspace=workspace, actor=member, insight=desk.insight, feedback=desk.feedback
    )

    response = login(member).get(f"{BASE}/insights/{desk.insight.id}/")

    body = response.content.decode()
    assert (
        'We export it to CSV every Monday, and <mark class="hl">the export times out</mark>'
        " on big boards." in body
    )
    assert "The CSV export times out on boards with more than 500 cards." in body
    assert "Said it twice" in body
    assert f"Linked by {member.display_name}" in body
    assert [c.id for c in response.context["customers"]] == [desk.customer.id]
    assert [c.id for c in response.context["companies"]] == [desk.company.id]
    assert "$120,000" in body
    assert 'class="chart' in body


def test_searching_for_evidence_offers_feedback_and_highlights_to_cite(desk, member, login):
    workspace = desk.interview.workspace
    start, end = span_of(TRANSCRIPT, "I copy it by hand")
    services.highlight_create(
        workspace=workspace, actor=member, start=start, end=end, interview=desk.interview
    )

    response = login(member).get(f"{BASE}/insights/{desk.insight.id}/?find=copy")

    candidates = response.context["candidates"]
    assert [c["hit"].kind for c in candidates] == ["highlight"]
    assert 'name="highlight_id"' in response.content.decode()


def test_adding_and_removing_evidence_through_the_page(desk, member, login):
    workspace = desk.feedback.workspace
    client = login(member)

    added = client.post(
        f"{BASE}/insights/{desk.insight.id}/evidence/",
        {"feedback_id": desk.feedback.id, "note": "Big customer"},
    )
    evidence = Evidence.objects.for_workspace(workspace).get()
    assert _reach(desk.insight) == (1, 1, 1, Decimal("120000"))
    removed = client.post(f"{BASE}/evidence/{evidence.id}/remove/")

    assert added["Location"] == removed["Location"] == f"{BASE}/insights/{desk.insight.id}/"
    assert evidence.note == "Big customer"
    assert not Evidence.objects.for_workspace(workspace).exists()
    assert _reach(desk.insight) == (0, 0, 0, Decimal(0))


def test_evidence_ids_of_another_workspace_are_refused(
    desk, other_workspace, outsider, member, login
):
    theirs = make_desk(other_workspace, outsider, prefix="G")
    their_highlight = services.highlight_create(
        workspace=other_workspace, actor=outsider, start=0, end=5, interview=theirs.interview
    )
    their_evidence = services.evidence_add(
        workspace=other_workspace, actor=outsider, insight=theirs.insight, feedback=theirs.feedback
    )
    client = login(member)

    by_feedback = client.post(
        f"{BASE}/insights/{desk.insight.id}/evidence/", {"feedback_id": theirs.feedback.id}
    )
    client.post(
        f"{BASE}/insights/{desk.insight.id}/evidence/", {"highlight_id": their_highlight.id}
    )
    removal = client.post(f"{BASE}/evidence/{their_evidence.id}/remove/")

    assert "not in this workspace" in client.get(by_feedback["Location"]).content.decode()
    assert removal.status_code == 404
    assert not Evidence.objects.for_workspace(desk.feedback.workspace).exists()
    assert Evidence.objects.for_workspace(other_workspace).count() == 1


def test_a_stale_edit_on_the_page_shows_the_conflict_and_keeps_the_text(desk, member, admin, login):
    workspace = desk.insight.workspace
    services.insight_update(
        workspace=workspace,
        actor=admin,
        insight=desk.insight,
        version=1,
        summary="Alice's **saved** summary",
    )

    response = login(member).post(
        f"{BASE}/insights/{desk.insight.id}/edit/",
        {"title": "Mine", "status": "validated", "summary": "My long careful text", "version": 1},
    )

    desk.insight.refresh_from_db()
    body = response.content.decode()
    assert response.status_code == 409
    assert "Someone else saved this insight while you were editing it." in body
    assert "My long careful text</textarea>" in body
    assert "<strong>saved</strong>" in body
    assert '<input type="hidden" name="version" value="2"' in body
    assert (desk.insight.title, desk.insight.summary) == (
        "Exports fail at scale",
        "Alice's **saved** summary",
    )


def test_an_edit_on_the_current_version_saves(desk, member, login):
    response = login(member).post(
        f"{BASE}/insights/{desk.insight.id}/edit/",
        {"title": "Exports fail on big boards", "status": "validated", "summary": "", "version": 1},
    )

    desk.insight.refresh_from_db()
    assert response.status_code == 302
    assert (desk.insight.title, desk.insight.status, desk.insight.version) == (
        "Exports fail on big boards",
        "validated",
        2,
    )


@pytest.mark.parametrize(("user_case", "status"), [("viewer_case", 403), ("outsider_case", 404)])
def test_who_may_not_change_insights(request, desk, member, login, user_case, status):
    workspace = desk.insight.workspace
    evidence = services.evidence_add(
        workspace=workspace, actor=member, insight=desk.insight, feedback=desk.feedback
    )
    client = login(request.getfixturevalue(user_case.removesuffix("_case")))

    responses = [
        client.post(f"{BASE}/insights/new/", {"title": "X", "status": "draft"}),
        client.post(
            f"{BASE}/insights/{desk.insight.id}/edit/",
            {"title": "X", "status": "draft", "version": 1},
        ),
        client.post(f"{BASE}/insights/{desk.insight.id}/evidence/", {"feedback_id": 1}),
        client.post(f"{BASE}/evidence/{evidence.id}/remove/"),
    ]

    assert [r.status_code for r in responses] == [status] * 4
    assert Insight.objects.for_workspace(workspace).count() == 1
    assert Evidence.objects.for_workspace(workspace).count() == 1
    assert _reach(desk.insight)[0] == 1


def test_deleting_an_insight_keeps_the_cited_feedback(desk, member, login):
    workspace = desk.insight.workspace
    services.evidence_add(
        workspace=workspace, actor=member, insight=desk.insight, feedback=desk.feedback
    )

    response = login(member).post(f"{BASE}/insights/{desk.insight.id}/delete/")

    assert response["Location"] == f"{BASE}/insights/"
    assert not Insight.objects.for_workspace(workspace).exists()
    assert not Evidence.objects.for_workspace(workspace).exists()
    desk.feedback.refresh_from_db()


@pytest.mark.parametrize("pieces", [1, 6])
def test_the_insight_page_query_count_does_not_grow_with_evidence(
    desk, member, login, pieces, django_assert_num_queries
):
    workspace = desk.insight.workspace
    for n in range(pieces):
        feedback = services.feedback_create(
            workspace=workspace,
            actor=member,
            data=services.FeedbackInput(text=f"export slow {n}", customer_id=desk.customer.id),
        )
        highlight = services.highlight_create(
            workspace=workspace, actor=member, start=0, end=6, feedback=feedback
        )
        services.evidence_add(
            workspace=workspace, actor=member, insight=desk.insight, feedback=feedback
        )
        services.evidence_add(
            workspace=workspace, actor=member, insight=desk.insight, highlight=highlight
        )
    client = login(member)
    client.get(f"{BASE}/insights/{desk.insight.id}/")

    # membership (+workspace, user); switcher memberships; the insight; its author; its
    # evidence (+feedback, highlight, transcript, customers, companies, who linked); the
    # customers behind it; the trend's weekly counts; the backlog items citing it (+item).
    with django_assert_num_queries(8):
        response = client.get(f"{BASE}/insights/{desk.insight.id}/")

    assert len(response.context["evidence"]) == 2 * pieces
