"""Near-duplicates: the same customer saying nearly the same thing twice is flagged, then merged
(every link kept) or dismissed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from playwright.sync_api import Page, expect

from discovery import duplicates, services
from discovery.models import Evidence, Feedback, Highlight, Insight, Tagging, TagSuggestion
from discovery.services import FeedbackInput
from pmhub.core.exceptions import ApplicationError
from pmhub.workspaces.models import AuditEvent
from pmhub.workspaces.roles import Role
from tests.factories import PASSWORD, MembershipFactory, UserFactory, WorkspaceFactory

BASE = "/w/acme/discovery"
TEXT = "The CSV export times out on boards with more than 500 cards."
RESENT = "The CSV export times out on boards with more than 500 cards!!"
OTHER = "Please add a dark mode for late evening planning sessions."


@pytest.fixture
def people(workspace, member):
    company, _ = services.company_upsert(
        workspace=workspace, actor=member, name="Initech", domain="initech.test"
    )
    peter, _ = services.customer_upsert(
        workspace=workspace, actor=member, email="peter@initech.test", company=company
    )
    samir, _ = services.customer_upsert(
        workspace=workspace, actor=member, email="samir@initech.test", company=company
    )
    return peter, samir


def _item(workspace, text, customer=None, *, minutes_ago=0, actor=None) -> Feedback:
    return services.feedback_create(
        workspace=workspace,
        actor=actor,
        data=FeedbackInput(
            text=text,
            customer_id=customer.id if customer else None,
            received_at=timezone.now() - timedelta(minutes=minutes_ago),
        ),
    )


def _reload(item: Feedback) -> Feedback:
    return Feedback.objects.for_workspace(item.workspace).get(id=item.id)


# --- flagging --------------------------------------------------------------------------------
def test_the_same_customer_saying_it_again_is_flagged_against_the_first_time(workspace, people):
    peter, _ = people
    first = _item(workspace, TEXT, peter, minutes_ago=60)
    again = _item(workspace, RESENT, peter)

    flagged = duplicates.flag_duplicates(workspace=workspace, feedback_ids=[first.id, again.id])

    assert flagged == 1
    assert _reload(again).duplicate_of_id == first.id
    assert _reload(first).duplicate_of_id is None


def test_earlier_means_received_earlier_whatever_the_ids(workspace, people):
    peter, _ = people
    newer = _item(workspace, TEXT, peter, minutes_ago=1)
    imported_late = _item(workspace, TEXT, peter, minutes_ago=600)
    assert imported_late.id > newer.id

    duplicates.flag_duplicates(workspace=workspace, feedback_ids=[imported_late.id, newer.id])

    assert _reload(newer).duplicate_of_id == imported_late.id
    assert _reload(imported_late).duplicate_of_id is None


@pytest.mark.parametrize(
    ("case", "text", "who"),
    [
        pytest.param("other customer", TEXT, "samir", id="other_customer_case"),
        pytest.param("other text", OTHER, "peter", id="other_text_case"),
        pytest.param(
            "a rewording",
            "Exporting big boards to CSV fails with a timeout.",
            "peter",
            id="rewording_case",
        ),
        pytest.param("no customer", TEXT, None, id="no_customer_case"),
    ],
)
def test_what_is_not_a_duplicate(workspace, people, case, text, who):
    peter, samir = people
    customers = {"peter": peter, "samir": samir, None: None}
    _item(workspace, TEXT, None if who is None else peter, minutes_ago=60)
    later = _item(workspace, text, customers[who])

    assert duplicates.flag_duplicates(workspace=workspace, feedback_ids=[later.id]) == 0
    assert _reload(later).duplicate_of_id is None


def test_flags_point_at_the_first_of_a_series_and_skip_merged_items(workspace, people):
    peter, _ = people
    merged = _item(workspace, TEXT, peter, minutes_ago=90)
    first = _item(workspace, TEXT, peter, minutes_ago=60)
    second = _item(workspace, TEXT, peter, minutes_ago=30)
    third = _item(workspace, TEXT, peter)
    survivor = _item(workspace, OTHER, peter, minutes_ago=120)
    Feedback.objects.for_workspace(workspace).filter(id=merged.id).update(merged_into=survivor)
    duplicates.flag_duplicates(workspace=workspace, feedback_ids=[second.id])

    duplicates.flag_duplicates(workspace=workspace, feedback_ids=[third.id, second.id])

    assert _reload(second).duplicate_of_id == first.id
    assert _reload(third).duplicate_of_id == first.id


def test_a_batch_takes_two_queries_whatever_its_size(workspace, people, django_assert_num_queries):
    peter, samir = people
    originals = [_item(workspace, f"{TEXT} Board {i}.", peter, minutes_ago=60) for i in range(5)]
    batch = [_item(workspace, f"{TEXT} Board {i}.", peter) for i in range(5)]
    batch += [
        _item(workspace, text, samir)
        for text in (OTHER, "Invoices show the wrong VAT number.", "SSO with Okta, please.")
    ]

    # The matches, then one bulk update.
    with django_assert_num_queries(2):
        flagged = duplicates.flag_duplicates(
            workspace=workspace, feedback_ids=[f.id for f in batch]
        )

    assert flagged == 5
    assert [_reload(f).duplicate_of_id for f in batch[:5]] == [f.id for f in originals]


def test_flagging_never_reaches_another_workspace(workspace, other_workspace, people):
    peter, _ = people
    foreign_customer, _ = services.customer_upsert(
        workspace=other_workspace, actor=None, email="peter@initech.test"
    )
    foreign = _item(other_workspace, TEXT, foreign_customer, minutes_ago=60)
    _item(other_workspace, TEXT, foreign_customer)
    mine = _item(workspace, TEXT, peter)

    assert duplicates.flag_duplicates(workspace=workspace, feedback_ids=[foreign.id, mine.id]) == 0
    assert (
        not Feedback.objects.for_workspace(other_workspace)
        .filter(duplicate_of__isnull=False)
        .exists()
    )


# --- merging ---------------------------------------------------------------------------------
@pytest.fixture
def pair(workspace, member, people):
    """An item and its resent copy, each with taggings, a suggestion, evidence and highlights."""
    peter, _ = people
    kept = _item(workspace, TEXT, peter, minutes_ago=60, actor=member)
    copy = _item(workspace, RESENT, peter, actor=member)
    duplicates.flag_duplicates(workspace=workspace, feedback_ids=[copy.id])
    return kept, _reload(copy)


def test_merging_moves_every_link_and_archives_the_copy(workspace, member, pair):
    kept, copy = pair
    exports = services.tag_create(workspace=workspace, actor=member, name="Exports")
    speed = services.tag_create(workspace=workspace, actor=member, name="Speed")
    billing = services.tag_create(workspace=workspace, actor=member, name="Billing")
    # Both carry Exports by a person (a collision); the copy alone has Exports by a rule, Speed.
    services.feedback_tag(
        workspace=workspace, actor=member, feedback_ids=[kept.id, copy.id], tag_id=exports.id
    )
    Tagging.objects.create(workspace=workspace, tag=exports, feedback=copy, origin="rule")
    services.feedback_tag(
        workspace=workspace, actor=member, feedback_ids=[copy.id], tag_id=speed.id
    )
    for tag, item in ((billing, copy), (billing, kept), (speed, kept)):
        TagSuggestion.objects.create(
            workspace=workspace, tag=tag, feedback=item, confidence=0.4, model_version=1
        )
    TagSuggestion.objects.for_workspace(workspace).filter(tag=speed, feedback=kept).delete()
    TagSuggestion.objects.create(
        workspace=workspace, tag=speed, feedback=copy, confidence=0.3, model_version=1
    )
    both = services.insight_create(workspace=workspace, actor=member, title="Exports fail")
    only_copy = services.insight_create(workspace=workspace, actor=member, title="Timeouts")
    for insight, item in ((both, kept), (both, copy), (only_copy, copy)):
        services.evidence_add(workspace=workspace, actor=member, insight=insight, feedback=item)
    assert Insight.objects.for_workspace(workspace).get(id=both.id).evidence_count == 2

    result = duplicates.feedback_merge(workspace=workspace, actor=member, duplicate=copy, into=kept)

    assert result == kept
    copy = _reload(copy)
    assert (copy.status, copy.merged_into_id, copy.duplicate_of_id) == ("archived", kept.id, None)
    taggings = Tagging.objects.for_workspace(workspace)
    assert not taggings.filter(feedback=copy).exists()
    assert set(taggings.filter(feedback=kept).values_list("tag__name", "origin")) == {
        ("Exports", "person"),
        ("Exports", "rule"),
        ("Speed", "person"),
    }
    suggestions = TagSuggestion.objects.for_workspace(workspace)
    assert not suggestions.filter(feedback=copy).exists()
    assert sorted(suggestions.filter(feedback=kept).values_list("tag__name", flat=True)) == [
        "Billing",
        "Speed",
    ]
    evidence = Evidence.objects.for_workspace(workspace)
    assert not evidence.filter(feedback=copy).exists()
    assert set(evidence.filter(feedback=kept).values_list("insight_id", flat=True)) == {
        both.id,
        only_copy.id,
    }
    both.refresh_from_db()
    only_copy.refresh_from_db()
    assert (both.evidence_count, both.customer_count, both.company_count) == (1, 1, 1)
    assert (only_copy.evidence_count, only_copy.customer_count) == (1, 1)
    event = AuditEvent.objects.for_workspace(workspace).get(action="feedback.merged")
    assert event.object_id == str(kept.id)
    assert event.changes == {
        "merged": copy.id,
        "taggings": 2,
        "suggestions": 1,
        "evidence": 1,
        "highlights": 0,
        "backlog_evidence": 0,
    }


def test_highlights_move_when_their_words_are_in_the_kept_text(workspace, member, pair):
    kept, copy = pair
    insight = services.insight_create(workspace=workspace, actor=member, title="Timeouts")
    start = RESENT.index("times out")
    found = services.highlight_create(
        workspace=workspace, actor=member, start=start, end=start + 9, feedback=copy
    )
    gone = services.highlight_create(
        workspace=workspace, actor=member, start=len(RESENT) - 8, end=len(RESENT), feedback=copy
    )
    services.evidence_add(workspace=workspace, actor=member, insight=insight, highlight=found)

    duplicates.feedback_merge(workspace=workspace, actor=member, duplicate=copy, into=kept)

    found = Highlight.objects.for_workspace(workspace).get(id=found.id)
    assert (found.feedback_id, kept.text[found.start : found.end]) == (kept.id, "times out")
    assert Highlight.objects.for_workspace(workspace).get(id=gone.id).feedback_id == copy.id
    assert Evidence.objects.for_workspace(workspace).get(insight=insight).highlight_id == found.id


def test_merging_twice_is_a_no_op(workspace, member, pair):
    kept, copy = pair
    tag = services.tag_create(workspace=workspace, actor=member, name="Exports")
    services.feedback_tag(workspace=workspace, actor=member, feedback_ids=[copy.id], tag_id=tag.id)
    duplicates.feedback_merge(workspace=workspace, actor=member, duplicate=copy, into=kept)

    again = duplicates.feedback_merge(workspace=workspace, actor=member, duplicate=copy, into=kept)

    assert again == kept
    assert Tagging.objects.for_workspace(workspace).filter(feedback=kept).count() == 1
    assert AuditEvent.objects.for_workspace(workspace).filter(action="feedback.merged").count() == 1


def test_items_flagged_against_the_copy_now_point_at_the_kept_item(workspace, member, pair):
    kept, copy = pair
    third = _item(workspace, TEXT, copy.customer)
    Feedback.objects.for_workspace(workspace).filter(id=third.id).update(duplicate_of=copy)

    duplicates.feedback_merge(workspace=workspace, actor=member, duplicate=copy, into=kept)

    assert _reload(third).duplicate_of_id == kept.id


@pytest.mark.parametrize(
    "case", ["itself", "already_merged", "into_merged", "other_customer", "other_workspace"]
)
def test_merge_refuses_clearly(workspace, other_workspace, member, people, pair, case):
    kept, copy = pair
    _, samir = people
    into, error = kept, ApplicationError
    if case == "itself":
        into, message = copy, "cannot be merged into itself"
    elif case == "already_merged":
        elsewhere = _item(workspace, OTHER, copy.customer)
        Feedback.objects.for_workspace(workspace).filter(id=copy.id).update(merged_into=elsewhere)
        message = f"already merged into #{elsewhere.id}"
    elif case == "into_merged":
        elsewhere = _item(workspace, OTHER, copy.customer)
        Feedback.objects.for_workspace(workspace).filter(id=kept.id).update(merged_into=elsewhere)
        message = "merge into that one"
    elif case == "other_customer":
        into, message = _item(workspace, TEXT, samir, minutes_ago=90), "different customers"
    else:
        into, error, message = _item(other_workspace, TEXT), ValidationError, "Unknown feedback"

    with pytest.raises(error, match=message):
        duplicates.feedback_merge(workspace=workspace, actor=member, duplicate=copy, into=into)

    assert _reload(copy).status == "new"
    assert not AuditEvent.objects.for_workspace(workspace).filter(action="feedback.merged").exists()


def test_an_item_without_a_customer_may_be_merged_into_any(workspace, member, people):
    peter, _ = people
    kept = _item(workspace, TEXT, peter, minutes_ago=60)
    anonymous = _item(workspace, TEXT)

    duplicates.feedback_merge(workspace=workspace, actor=member, duplicate=anonymous, into=kept)

    assert _reload(anonymous).merged_into_id == kept.id


def test_dismissing_clears_the_flag_once(workspace, member, pair):
    _, copy = pair

    duplicates.feedback_duplicate_dismiss(workspace=workspace, actor=member, feedback=copy)
    duplicates.feedback_duplicate_dismiss(workspace=workspace, actor=member, feedback=copy)

    assert _reload(copy).duplicate_of_id is None
    event = AuditEvent.objects.for_workspace(workspace).get(action="feedback.duplicate_dismissed")
    assert event.object_id == str(copy.id)
    # A re-tag runs the worker over the item again: the dismissal holds.
    assert duplicates.flag_duplicates(workspace=workspace, feedback_ids=[copy.id]) == 0
    assert _reload(copy).duplicate_of_id is None


# --- the feedback page -----------------------------------------------------------------------
def test_the_page_of_a_flagged_item_offers_merge_and_dismiss(
    workspace, member, viewer, pair, login
):
    kept, copy = pair

    as_editor = login(member).get(f"{BASE}/feedback/{copy.id}/")
    as_viewer = login(viewer).get(f"{BASE}/feedback/{copy.id}/")

    for response in (as_editor, as_viewer):
        assert response.status_code == 200
        assert f'Possible duplicate of <a href="{BASE}/feedback/{kept.id}/">#{kept.id}</a>' in (
            response.text
        )
        assert "(same customer, peter@initech.test," in response.text
    assert f"Merge into #{kept.id}</button>" in as_editor.text
    assert "Not a duplicate</button>" in as_editor.text
    assert "Merge into" not in as_viewer.text
    assert "Not a duplicate" not in as_viewer.text


def test_the_page_of_an_unflagged_item_says_nothing(workspace, member, pair, login):
    kept, _ = pair

    response = login(member).get(f"{BASE}/feedback/{kept.id}/")

    assert "Possible duplicate" not in response.text
    assert "Merged into" not in response.text


def test_merge_from_the_page_lands_on_the_kept_item(workspace, member, pair, login):
    kept, copy = pair
    client = login(member)

    response = client.post(f"{BASE}/feedback/{copy.id}/merge/", {"into": kept.id}, follow=True)

    assert response.redirect_chain == [(f"{BASE}/feedback/{kept.id}/", 302)]
    assert f"Feedback #{copy.id} merged into this item." in response.text
    merged_page = client.get(f"{BASE}/feedback/{copy.id}/")
    assert f'Merged into <a href="{BASE}/feedback/{kept.id}/">#{kept.id}</a>' in merged_page.text
    assert "Possible duplicate" not in merged_page.text


def test_merge_into_an_unknown_item_changes_nothing(workspace, member, pair, login):
    _, copy = pair

    response = login(member).post(f"{BASE}/feedback/{copy.id}/merge/", {"into": -1}, follow=True)

    assert "Choose a feedback item of this workspace to merge into." in response.text
    assert _reload(copy).merged_into_id is None


def test_merge_refusals_are_shown_on_the_page(workspace, member, pair, login):
    _, copy = pair

    response = login(member).post(
        f"{BASE}/feedback/{copy.id}/merge/", {"into": copy.id}, follow=True
    )

    assert response.redirect_chain == [(f"{BASE}/feedback/{copy.id}/", 302)]
    assert "An item cannot be merged into itself." in response.text


def test_not_a_duplicate_from_the_page(workspace, member, pair, login):
    _, copy = pair

    response = login(member).post(f"{BASE}/feedback/{copy.id}/not-duplicate/", follow=True)

    assert "Marked as not a duplicate." in response.text
    assert "Possible duplicate" not in response.text
    assert _reload(copy).duplicate_of_id is None


@pytest.mark.parametrize(
    ("who", "status"),
    [
        pytest.param("anonymous", 302, id="anonymous_case"),
        pytest.param("outsider", 404, id="outsider_case"),
        pytest.param("viewer", 403, id="viewer_case"),
        pytest.param("member", 302, id="editor_case"),
        pytest.param("admin", 302, id="admin_case"),
    ],
)
@pytest.mark.parametrize("action", ["merge", "not-duplicate"])
def test_permissions(request, workspace, pair, client, login, who, status, action):
    kept, copy = pair
    user_client = client if who == "anonymous" else login(request.getfixturevalue(who))

    response = user_client.post(f"{BASE}/feedback/{copy.id}/{action}/", {"into": kept.id})

    assert response.status_code == status
    allowed = who in {"member", "admin"}
    copy = _reload(copy)
    if action == "merge":
        assert (copy.merged_into_id == kept.id) == allowed
    else:
        assert (copy.duplicate_of_id is None) == allowed
    if who == "anonymous":
        assert response["Location"].startswith("/accounts/login/")


def test_an_outsider_cannot_reach_the_new_urls_with_any_method(outsider, pair, login):
    _, copy = pair
    client = login(outsider)

    for action in ("merge", "not-duplicate"):
        assert client.get(f"{BASE}/feedback/{copy.id}/{action}/").status_code == 404
        assert client.post(f"{BASE}/feedback/{copy.id}/{action}/").status_code == 404


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_pm_merges_a_flagged_duplicate_from_its_page(live_server, page: Page, screenshots):
    workspace = WorkspaceFactory(name="Acme", slug="acme")
    user = UserFactory(email="pm@acme.test", name="Pat Manager")
    MembershipFactory(user=user, workspace=workspace, role=Role.EDITOR)
    peter, _ = services.customer_upsert(
        workspace=workspace, actor=user, email="peter@initech.test", name="Peter"
    )
    kept = _item(workspace, TEXT, peter, minutes_ago=60, actor=user)
    copy = _item(workspace, RESENT, peter, actor=user)
    tag = services.tag_create(workspace=workspace, actor=user, name="Exports")
    services.feedback_tag(workspace=workspace, actor=user, feedback_ids=[copy.id], tag_id=tag.id)
    duplicates.flag_duplicates(workspace=workspace, feedback_ids=[copy.id])
    base = live_server.url
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill("pm@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.goto(f"{base}/w/acme/discovery/feedback/{copy.id}/")
    notice = page.get_by_role("status").filter(has_text="Possible duplicate of")
    expect(notice).to_contain_text(f"Possible duplicate of #{kept.id} (same customer, Peter")
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.wait_for_timeout(300)  # let colour transitions finish before the picture
        page.screenshot(path=screenshots / f"feedback-duplicate-{scheme}.png", full_page=True)
    page.emulate_media(color_scheme="light")
    notice.get_by_role("button", name=f"Merge into #{kept.id}").click()

    expect(page).to_have_url(f"{base}/w/acme/discovery/feedback/{kept.id}/")
    expect(page.get_by_role("complementary", name="About this feedback")).to_contain_text("Exports")
    page.goto(f"{base}/w/acme/discovery/feedback/{copy.id}/")
    expect(page.get_by_role("status").filter(has_text="Merged into")).to_contain_text(
        f"Merged into #{kept.id}."
    )
    page.screenshot(path=screenshots / "feedback-merged-light.png", full_page=True)
