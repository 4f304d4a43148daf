"""The search page: one box over feedback, highlights, interviews and insights, and people."""

from __future__ import annotations

import pytest

from discovery import services
from discovery.selectors import marked_snippet
from tests.discovery.pages_support import TRANSCRIPT, make_desk, span_of

pytestmark = pytest.mark.django_db

URL = "/w/acme/discovery/search/"


@pytest.fixture
def desk(workspace, member):
    return make_desk(workspace, member)


def _feedback(workspace, actor, text):
    return services.feedback_create(
        workspace=workspace, actor=actor, data=services.FeedbackInput(text=text)
    )


def _hits(response):
    return [(hit.kind, hit.id) for group in response.context["groups"] for hit in group["hits"]]


def test_results_are_grouped_by_kind_with_highlighted_snippets(desk, member, login):
    workspace = desk.interview.workspace
    start, end = span_of(TRANSCRIPT, "the export times out on big boards")
    highlight = services.highlight_create(
        workspace=workspace, actor=member, start=start, end=end, interview=desk.interview
    )
    services.insight_update(
        workspace=workspace,
        actor=member,
        insight=desk.insight,
        version=1,
        summary="Exports time out for big customers.",
    )

    response = login(member).get(URL, {"q": "export"})

    body = response.content.decode()
    assert [g["kind"] for g in response.context["groups"]] == [
        "feedback",
        "highlight",
        "interview",
        "insight",
    ]
    assert ("highlight", highlight.id) in _hits(response)
    assert "<mark>export</mark>" in body
    assert f'href="/w/acme/discovery/highlights/{highlight.id}/"' in body
    assert f'href="/w/acme/discovery/feedback/{desk.feedback.id}/"' in body


def test_quotes_or_and_exclusion_follow_websearch_syntax(workspace, member, login):
    slow = _feedback(workspace, member, "The export is slow on Mondays")
    broken = _feedback(workspace, member, "The import is broken")
    mobile = _feedback(workspace, member, "The export is slow on mobile")
    phrase = _feedback(workspace, member, "slow export everywhere")
    client = login(member)

    def found(query):
        return sorted(i for k, i in _hits(client.get(URL, {"q": query})) if k == "feedback")

    assert found('"export is slow"') == sorted([slow.id, mobile.id])
    assert found("export OR import") == sorted([slow.id, broken.id, mobile.id, phrase.id])
    assert found("export -mobile") == sorted([slow.id, phrase.id])


def test_a_script_in_feedback_is_shown_as_text_in_the_snippet(workspace, member, login):
    _feedback(workspace, member, "the export <script>alert('pwned')</script> hangs")

    response = login(member).get(URL, {"q": "export"})

    body = response.content.decode()
    (hit,) = response.context["groups"][0]["hits"]
    assert "<script>" not in hit.snippet
    assert "<script>alert" not in body
    assert "alert(&#x27;pwned&#x27;)" in body
    assert "<mark>export</mark>" in body


def test_the_snippet_escapes_everything_but_its_own_marks():
    raw = "a <script>x</script> & \u2997export\u2998 <b>"

    assert marked_snippet(raw) == (
        "a &lt;script&gt;x&lt;/script&gt; &amp; <mark>export</mark> &lt;b&gt;"
    )


def test_customers_and_companies_match_by_name_even_misspelt(desk, member, login):
    response = login(member).get(URL, {"q": "Initek"})

    assert [c.id for c in response.context["companies"]] == [desk.company.id]
    assert "Initech" in response.content.decode()
    response = login(member).get(URL, {"q": "gibbons"})
    assert [c.id for c in response.context["customers"]] == [desk.customer.id]


def test_the_kind_filter_keeps_one_kind(desk, member, login):
    response = login(member).get(URL, {"q": "export", "kind": "interview"})

    assert _hits(response) == [("interview", desk.interview.id)]
    assert response.context["customers"] == []


def test_an_empty_box_explains_the_page(member, login, workspace):
    response = login(member).get(URL)

    assert response.status_code == 200
    assert "Search everything customers told you" in response.content.decode()
    assert response.context["groups"] == []


def test_nothing_found_says_so(desk, member, login):
    response = login(member).get(URL, {"q": "zebra"})

    assert "Nothing matches" in response.content.decode()


def test_another_workspaces_words_are_never_found(desk, other_workspace, outsider, member, login):
    make_desk(other_workspace, outsider, prefix="G")
    _feedback(other_workspace, outsider, "globex secret export plans")

    response = login(member).get(URL, {"q": "secret"})

    assert _hits(response) == []
    response = login(member).get(URL, {"q": "GInitech"})
    assert [c.workspace_id for c in response.context["companies"]] == [desk.company.workspace_id]


def test_a_viewer_may_search_and_an_outsider_gets_404(desk, viewer, outsider, login):
    assert login(viewer).get(URL, {"q": "export"}).status_code == 200
    assert login(outsider).get(URL, {"q": "export"}).status_code == 404


def test_search_results_can_be_filtered_like_the_inbox(workspace, member, login):
    from discovery import services as discovery_services
    from discovery.services import FeedbackInput

    support = discovery_services.feedback_create(
        workspace=workspace,
        actor=member,
        data=FeedbackInput(text="Exports time out on Mondays", source="support"),
    )
    discovery_services.feedback_create(
        workspace=workspace,
        actor=member,
        data=FeedbackInput(text="Exports are missing columns", source="sales"),
    )
    discovery_services.feedback_set_status(
        workspace=workspace, actor=member, feedback_ids=[support.id], status="archived"
    )
    client = login(member)
    url = f"/w/{workspace.slug}/discovery/search/"

    everything = client.get(url, {"q": "exports"})
    by_source = client.get(url, {"q": "exports", "source": "support"})
    by_status = client.get(url, {"q": "exports", "status": "new"})

    def found(response):
        return sorted(hit.id for group in response.context["groups"] for hit in group["hits"])

    assert len(found(everything)) == 2
    assert found(by_source) == [support.id]
    assert support.id not in found(by_status)
    assert len(found(by_status)) == 1
    assert by_source.context["filtered"] is True
    assert everything.context["filtered"] is False
