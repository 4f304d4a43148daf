"""What each stakeholder's digest says: their scope, their window, their accounts."""

from __future__ import annotations

import datetime
import time

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backlog import services as backlog
from discovery import services as discovery
from discovery.services import FeedbackInput
from docs import services as docs
from docs.changelog import changelog_update
from docs.release_notes import release_notes_draft
from pmhub.digests import services
from pmhub.digests.content import DigestRequest, digest_next, digests_build
from roadmap import objectives, releases
from roadmap import services as roadmap
from roadmap.models import RoadmapEvent
from roadmap.services import item_schedule_set

pytestmark = pytest.mark.django_db


def _asked_by(workspace, item, company, email):
    customer, _ = discovery.customer_upsert(
        workspace=workspace, actor=None, email=email, name=email.split("@")[0], company=company
    )
    feedback = discovery.feedback_create(
        workspace=workspace,
        actor=None,
        data=FeedbackInput(text="We need it", customer_id=customer.id),
    )
    backlog.item_link_evidence(workspace=workspace, actor=None, item=item, feedback_id=feedback.id)
    return feedback


@pytest.fixture
def world(workspace, admin):
    """Two accounts, two areas, three items on one board; `start` is before anything changed."""
    acme, _ = discovery.company_upsert(
        workspace=workspace, actor=None, name="Acme", domain="acme.test"
    )
    globex, _ = discovery.company_upsert(
        workspace=workspace, actor=None, name="Globex", domain="globex.test"
    )
    payments = backlog.product_area_create(workspace=workspace, actor=None, name="Payments")
    reporting = backlog.product_area_create(workspace=workspace, actor=None, name="Reporting")
    sso = backlog.item_create(workspace=workspace, actor=None, title="SSO", area_id=payments.id)
    exports = backlog.item_create(
        workspace=workspace, actor=None, title="Exports", area_id=reporting.id
    )
    dark = backlog.item_create(workspace=workspace, actor=None, title="Dark mode")
    _asked_by(workspace, sso, acme, "ann@acme.test")
    _asked_by(workspace, exports, globex, "bob@globex.test")
    board = roadmap.roadmap_create(
        workspace=workspace, actor=None, name="Product", columns=["Now", "Next", "Later"]
    )
    now_col, next_col, later_col = board.columns.order_by("position")
    for item, column in ((sso, next_col), (exports, now_col), (dark, later_col)):
        roadmap.placement_add(
            workspace=workspace, actor=None, roadmap=board, item=item, column_id=column.id
        )
    # The board was set up an hour ago; windows are whole seconds, so "now" would still hold it.
    RoadmapEvent.objects.for_workspace(workspace).update(
        created_at=F("created_at") - datetime.timedelta(hours=1)
    )
    start = timezone.now() - datetime.timedelta(minutes=30)
    return {
        "acme": acme, "globex": globex, "payments": payments, "reporting": reporting,
        "sso": sso, "exports": exports, "dark": dark, "board": board, "start": start,
        "columns": (now_col, next_col, later_col),
    }  # fmt: skip


def _changes(workspace, world):
    """After `start`: SSO ships, Exports slips Now → Later with a reason, Dark mode goes to Now
    and back (nothing to tell)."""
    now_col, _, later_col = world["columns"]
    backlog.item_set_status(workspace=workspace, actor=None, item=world["sso"], status="shipped")
    roadmap.placement_move(
        workspace=workspace, actor=None, roadmap=world["board"], item=world["exports"],
        column_id=later_col.id, reason="Blocked on the **vendor** API",
    )  # fmt: skip
    for column in (now_col, later_col):
        roadmap.placement_move(
            workspace=workspace, actor=None, roadmap=world["board"], item=world["dark"],
            column_id=column.id, reason="Trying",
        )  # fmt: skip


def _stakeholder(workspace, email, **follows):
    everything = follows.pop("everything", False)
    owns = follows.pop("owns", False)
    stakeholder = services.stakeholder_create(
        workspace=workspace, email=email, follows_workspace=everything
    )
    for field, target in follows.items():
        services.follow_add(
            workspace=workspace, stakeholder=stakeholder, **{f"{field}_id": target.id},
            owns=owns and field == "company",
        )  # fmt: skip
    return stakeholder


def _build(workspace, start, *stakeholders, until=None):
    until = until or timezone.now() + datetime.timedelta(seconds=1)
    return digests_build(workspace, [DigestRequest(s, start, until) for s in stakeholders])


def _lines(digest):
    return {
        (section.key, entry.kind, entry.title): entry
        for section in digest.sections
        for entry in section.entries
    }


def test_an_account_owner_hears_what_their_companies_asked_for(workspace, world):
    owner = _stakeholder(workspace, "ae@sales.test", company=world["acme"], owns=True)
    _changes(workspace, world)
    (digest,) = _build(workspace, world["start"], owner)
    lines = _lines(digest)
    assert set(lines) == {("accounts", "shipped", "SSO")}
    assert lines["accounts", "shipped", "SSO"].companies == ("Acme",)
    assert digest.headline == "For your accounts: 1 request shipped"


def test_an_area_follower_sees_the_slip_with_its_reason_and_not_other_areas(workspace, world):
    follower = _stakeholder(workspace, "lead@support.test", area=world["reporting"])
    _changes(workspace, world)
    (digest,) = _build(workspace, world["start"], follower)
    lines = _lines(digest)
    assert set(lines) == {("roadmap", "slipped", "Exports")}
    entry = lines["roadmap", "slipped", "Exports"]
    assert entry.detail == "Now → Later on Product"
    assert entry.reason == "Blocked on the **vendor** API"
    assert entry.companies == ()  # Globex asked, but they don't own Globex


def test_the_whole_workspace_sees_everything_but_a_move_and_back(workspace, world):
    everyone = _stakeholder(workspace, "vp@acme.test", everything=True)
    _changes(workspace, world)
    (digest,) = _build(workspace, world["start"], everyone)
    assert set(_lines(digest)) == {("shipped", "shipped", "SSO"), ("roadmap", "slipped", "Exports")}
    assert digest.headline == "1 shipped, 1 roadmap change"


def test_a_roadmap_follower_sees_its_items_ship(workspace, world):
    follower = _stakeholder(workspace, "cto@acme.test", roadmap=world["board"])
    _changes(workspace, world)
    (digest,) = _build(workspace, world["start"], follower)
    assert set(_lines(digest)) == {("shipped", "shipped", "SSO"), ("roadmap", "slipped", "Exports")}


def test_nothing_in_scope_is_an_empty_digest(workspace, world):
    other = backlog.item_create(workspace=workspace, actor=None, title="Unrelated")
    quiet = _stakeholder(workspace, "quiet@acme.test", item=other)
    _changes(workspace, world)
    (digest,) = _build(workspace, world["start"], quiet)
    assert digest.is_empty
    assert digest.headline == "Nothing new"


def test_only_changes_inside_the_window_count(workspace, world):
    everyone = _stakeholder(workspace, "vp@acme.test", everything=True)
    backlog.item_set_status(workspace=workspace, actor=None, item=world["sso"], status="shipped")
    # Windows are whole seconds: the middle is the next one.
    middle = timezone.now().replace(microsecond=0) + datetime.timedelta(seconds=1)
    time.sleep((middle - timezone.now()).total_seconds() + 0.01)
    _, _, later_col = world["columns"]
    roadmap.placement_move(
        workspace=workspace, actor=None, roadmap=world["board"], item=world["exports"],
        column_id=later_col.id, reason="Vendor",
    )  # fmt: skip
    before, after = _build(workspace, world["start"], everyone, until=middle)[0], None
    after = digests_build(
        workspace, [DigestRequest(everyone, middle, timezone.now() + datetime.timedelta(seconds=1))]
    )[0]
    assert set(_lines(before)) == {("shipped", "shipped", "SSO")}
    assert set(_lines(after)) == {("roadmap", "slipped", "Exports")}


def test_members_get_app_links_and_others_the_web_version(workspace, world, admin):
    member = _stakeholder(workspace, admin.email, everything=True)
    outsider = _stakeholder(workspace, "board@acme.test", everything=True)
    assert member.user_id == admin.id
    _changes(workspace, world)
    mine, theirs = _build(workspace, world["start"], member, outsider)
    sso_mine = _lines(mine)["shipped", "shipped", "SSO"]
    sso_theirs = _lines(theirs)["shipped", "shipped", "SSO"]
    assert sso_mine.url.endswith(f"/w/{workspace.slug}/backlog/items/{world['sso'].id}/")
    assert mine.is_member
    assert not theirs.is_member
    assert sso_theirs.url == f"{theirs.web_url}#{sso_theirs.anchor}"
    assert "/digest/view/" in theirs.web_url


def test_insights_documents_release_notes_and_key_results(workspace, world, admin):
    follower = _stakeholder(workspace, "pm-lead@acme.test", area=world["payments"])
    everyone = _stakeholder(workspace, "vp@acme.test", everything=True)
    insight = discovery.insight_create(workspace=workspace, actor=None, title="SSO blocks deals")
    backlog.item_link_evidence(
        workspace=workspace, actor=None, item=world["sso"], insight_id=insight.id
    )
    discovery.insight_update(
        workspace=workspace, actor=None, insight=insight, version=insight.version,
        status="validated",
    )  # fmt: skip
    prd = docs.document_create(workspace=workspace, actor=admin, kind="prd", title="SSO PRD")
    from docs.models import DocumentLink

    DocumentLink.objects.create(workspace=workspace, document=prd, item=world["sso"])
    for status in ("in_review", "approved"):
        docs.document_set_status(workspace=workspace, actor=admin, document=prd, status=status)
    release = releases.release_create(
        workspace=workspace, actor=None, name="2026.12", target_date=datetime.date(2026, 12, 15)
    )
    item_schedule_set(workspace=workspace, actor=None, item=world["sso"], release_id=release.id)
    backlog.item_set_status(workspace=workspace, actor=None, item=world["sso"], status="shipped")
    notes = release_notes_draft(workspace=workspace, actor=admin, release=release)
    for status in ("in_review", "approved", "published"):
        docs.document_set_status(workspace=workspace, actor=admin, document=notes, status=status)
    changelog_update(workspace=workspace, is_public=True, title="Changelog")
    objective = objectives.objective_create(workspace=workspace, actor=None, title="Win enterprise")
    kr = objectives.key_result_create(
        workspace=workspace, actor=None, objective=objective, metric="Enterprise deals",
        target=20, baseline=4,
    )  # fmt: skip
    kr.items.add(world["sso"], through_defaults={"workspace": workspace})
    objectives.key_result_value_record(workspace=workspace, actor=None, key_result=kr, value=12)

    digest, overall = _build(workspace, world["start"], follower, everyone)
    lines = _lines(digest)
    assert ("insights", "insight", "SSO blocks deals") in lines
    assert ("documents", "document", "SSO PRD") in lines
    assert lines["documents", "document", "SSO PRD"].detail == "PRD approved"
    (notes_line,) = [e for k, e in lines.items() if k[1] == "release_notes"]
    # Not a member, the changelog is public: the notes link to their public page.
    assert notes_line.url.endswith(f"/changelog/{workspace.slug}/{notes.id}/")
    kr_line = lines["key_results", "key_result", "Win enterprise: Enterprise deals"]
    assert kr_line.detail == "4 → 12 (target 20, 50% of the way)"
    assert set(_lines(overall)) >= set(lines)


def test_the_statements_do_not_grow_with_the_batch(workspace, world):
    few = [_stakeholder(workspace, f"s{i}@acme.test", company=world["acme"]) for i in range(3)]
    many = few + [
        _stakeholder(workspace, f"t{i}@acme.test", area=world["reporting"]) for i in range(40)
    ]
    _changes(workspace, world)
    with CaptureQueriesContext(connection) as small:
        _build(workspace, world["start"], *few)
    with CaptureQueriesContext(connection) as large:
        digests = _build(workspace, world["start"], *many)
    assert len(small) == len(large) <= 3
    assert all(not d.is_empty for d in digests)


def test_the_next_digest_starts_where_the_last_one_ended(workspace, world):
    follower = _stakeholder(workspace, "vp@acme.test", everything=True)
    backlog.item_set_status(workspace=workspace, actor=None, item=world["sso"], status="shipped")
    follower.covered_until = timezone.now()
    follower.save()
    digest = digest_next(workspace=workspace, stakeholder=follower)
    assert digest.is_empty
    follower.covered_until = None  # never delivered: one cadence back (weekly by default)
    assert not digest_next(workspace=workspace, stakeholder=follower).is_empty


def test_another_workspaces_changes_never_show(workspace, other_workspace, world):
    everyone = _stakeholder(workspace, "vp@acme.test", everything=True)
    item = backlog.item_create(workspace=other_workspace, actor=None, title="Their secret")
    backlog.item_set_status(workspace=other_workspace, actor=None, item=item, status="shipped")
    (digest,) = _build(workspace, world["start"], everyone)
    assert "Their secret" not in str(digest)


def test_the_window_and_moments_are_in_the_stakeholders_timezone(workspace, world):
    services.digest_settings_update(workspace=workspace, cadence="daily", timezone="Asia/Tokyo")
    tokyo = _stakeholder(workspace, "jp@acme.test", everything=True)
    paris = services.stakeholder_create(
        workspace=workspace, email="fr@acme.test", follows_workspace=True, cadence="monthly",
        timezone_name="Europe/Paris",
    )  # fmt: skip
    _changes(workspace, world)
    mine, theirs = _build(workspace, world["start"], tokyo, paris)
    assert (mine.cadence, mine.timezone) == ("daily", "Asia/Tokyo")
    assert (theirs.cadence, theirs.timezone) == ("monthly", "Europe/Paris")
    assert mine.covers_until.utcoffset() == datetime.timedelta(hours=9)
    assert mine.covers_until == theirs.covers_until  # the same moment, told in two zones
    entry = mine.sections[0].entries[0]
    assert entry.when.utcoffset() == datetime.timedelta(hours=9)
