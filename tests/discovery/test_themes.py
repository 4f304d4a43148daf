"""Themes: untagged feedback grouped into named candidates; one becomes a tag in one step."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.html import escape
from playwright.sync_api import Page, expect

from discovery import services, themes
from discovery.embeddings import encode
from discovery.models import Feedback, Tag, Tagging, TaggingJob
from discovery.services import FeedbackInput
from pmhub.core.exceptions import ApplicationError
from pmhub.workspaces.models import AuditEvent
from pmhub.workspaces.roles import Role
from tests.factories import PASSWORD, MembershipFactory, UserFactory, WorkspaceFactory

BASE = "/w/acme/discovery"

EXPORTS = [
    "Exporting the board to CSV times out when we have more than 500 cards.",
    "CSV export fails on big projects, we just get a spinner forever.",
    "Can the CSV export include custom fields? Right now they are missing from the file.",
    "The export to CSV is really slow for our largest workspace.",
    "We need to export our roadmap as a CSV file for the finance team every week.",
    "CSV export drops the comments column.",
    "Export to Excel/CSV keeps timing out for us.",
]
DARK_MODE = [
    "Please add a dark mode, the white screen hurts my eyes at night.",
    "Dark mode would be great for late evening planning sessions.",
    "Any plans for a dark theme? Everything else on my desktop is dark.",
    "I would love a dark mode option in the settings.",
    "The bright UI is hard on the eyes, a dark mode please!",
    "Dark mode for the mobile app too, please.",
]
SSO = [
    "We need single sign-on with Okta before we can roll this out.",
    "SSO via SAML is a must for our security team.",
    "Does pmhub support Azure AD single sign-on? Our IT requires it.",
    "Our company policy requires SSO login, we cannot use passwords.",
    "Please add Google Workspace SSO so people do not need another password.",
    "Single sign-on with SAML is blocking our enterprise rollout.",
]
NOISE = [
    "Your support team was very quick to answer my question yesterday.",
    "The pricing page does not list the prices in euros.",
]
TEXTS = EXPORTS + DARK_MODE + SSO + NOISE


def _feedback(workspace, texts=TEXTS, actor=None) -> list[Feedback]:
    now = timezone.now()
    return [
        services.feedback_create(
            workspace=workspace,
            actor=actor,
            data=FeedbackInput(text=text, received_at=now - timedelta(minutes=i)),
        )
        for i, text in enumerate(texts)
    ]


def _run(workspace, actor) -> TaggingJob:
    job = TaggingJob.objects.create(
        workspace=workspace, kind=TaggingJob.Kind.THEMES, created_by=actor
    )
    themes.themes_run(workspace=workspace, job_id=job.id)
    job.refresh_from_db()
    return job


def _candidate(job: TaggingJob, name: str) -> tuple[int, dict]:
    for index, candidate in enumerate(job.result["candidates"]):
        if candidate["name"] == name:
            return index, candidate
    raise AssertionError(
        f"no candidate {name!r} in {[c['name'] for c in job.result['candidates']]}"
    )


# --- clustering and naming -------------------------------------------------------------------
def test_twenty_items_make_three_named_themes_and_leave_the_odd_ones_out():
    vectors = encode(TEXTS)

    found = themes.themes_find(TEXTS, vectors)

    assert [(t.name, sorted(t.members)) for t in found] == [
        ("CSV export", list(range(0, 7))),
        ("Dark mode", list(range(7, 13))),
        ("Single sign-on", list(range(13, 19))),
    ]
    assert "SSO" in found[2].keywords


def test_the_members_closest_to_the_centre_come_first():
    texts = [*DARK_MODE[:3], "dark mode dark mode dark mode please"]
    vectors = encode(texts)

    (theme,) = themes.themes_find(texts, vectors)

    centre = vectors.mean(axis=0)
    closeness = vectors @ centre
    assert theme.members == sorted(range(4), key=lambda i: -closeness[i])


def test_fewer_than_two_items_make_no_theme():
    assert themes.themes_find([], encode([])) == []
    assert themes.themes_find(["Dark mode please"], encode(["Dark mode please"])) == []


def test_names_keep_the_capitals_people_write_and_prefer_a_word_pair():
    texts = ["The CSV export is slow", "csv export times out", "Our CSV export fails daily"]

    (theme,) = themes.themes_find(texts, encode(texts))

    assert theme.name == "CSV export"


# --- which feedback is considered ------------------------------------------------------------
def test_only_open_untagged_unmerged_items_are_grouped(workspace, member):
    items = _feedback(workspace, [f"Item {i}" for i in range(7)])
    tag = services.tag_create(workspace=workspace, actor=member, name="Billing")
    services.feedback_tag(
        workspace=workspace, actor=member, feedback_ids=[items[0].id], tag_id=tag.id
    )
    Tagging.objects.create(
        workspace=workspace, tag=tag, feedback=items[1], origin=Tagging.Origin.MODEL
    )
    services.feedback_set_status(
        workspace=workspace, actor=member, feedback_ids=[items[2].id], status="archived"
    )
    Feedback.objects.for_workspace(workspace).filter(id=items[3].id).update(no_tag_fits=True)
    Feedback.objects.for_workspace(workspace).filter(id=items[4].id).update(duplicate_of=items[6])

    ids = set(themes.untagged_feedback(workspace=workspace).values_list("id", flat=True))

    assert ids == {items[5].id, items[6].id}


# --- the run ---------------------------------------------------------------------------------
def test_a_run_stores_the_candidates_by_size_with_quotes_and_progress(workspace, member):
    items = _feedback(workspace, actor=member)

    job = _run(workspace, member)

    assert (job.status, job.total, job.processed) == ("done", 21, 21)
    assert job.finished_at is not None
    assert job.message == (
        "3 candidate themes cover 19 of 21 untagged items; the rest resemble nothing else."
    )
    candidates = job.result["candidates"]
    assert [(c["name"], c["size"]) for c in candidates] == [
        ("CSV export", 7),
        ("Dark mode", 6),
        ("Single sign-on", 6),
    ]
    assert set(candidates[0]["feedback_ids"]) == {f.id for f in items[:7]}
    assert len(candidates[0]["quotes"]) == 3
    by_id = {f.id: f.text for f in items}
    for quote in candidates[1]["quotes"]:
        assert by_id[quote["feedback_id"]] == quote["text"]
        assert quote["feedback_id"] in candidates[1]["feedback_ids"]
    assert (job.result["considered"], job.result["grouped"]) == (21, 19)


def test_a_second_run_of_a_finished_job_changes_nothing(workspace, member):
    _feedback(workspace, actor=member)
    job = _run(workspace, member)
    before = (job.result, job.finished_at)

    assert themes.themes_run(workspace=workspace, job_id=job.id) is None

    job.refresh_from_db()
    assert (job.result, job.finished_at) == before


def test_a_run_whose_worker_died_is_computed_again(workspace, member):
    _feedback(workspace, actor=member)
    job = TaggingJob.objects.create(
        workspace=workspace,
        kind=TaggingJob.Kind.THEMES,
        status=TaggingJob.Status.RUNNING,
        total=21,
        processed=5,
    )

    themes.themes_run(workspace=workspace, job_id=job.id)

    job.refresh_from_db()
    assert (job.status, job.processed, len(job.result["candidates"])) == ("done", 21, 3)


def test_a_run_without_a_pair_says_so(workspace, member):
    _feedback(workspace, NOISE, actor=member)

    job = _run(workspace, member)

    assert job.status == "done"
    assert job.result["candidates"] == []
    assert job.message == ("No theme in 2 untagged items: no two of them say the same thing yet.")


def test_a_run_is_scoped_to_its_workspace(workspace, other_workspace, member):
    _feedback(other_workspace, TEXTS)
    _feedback(workspace, DARK_MODE)

    job = _run(workspace, member)

    assert [(c["name"], c["size"]) for c in job.result["candidates"]] == [("Dark mode", 6)]
    job_elsewhere = TaggingJob.objects.create(
        workspace=other_workspace, kind=TaggingJob.Kind.THEMES
    )
    with pytest.raises(TaggingJob.DoesNotExist):
        themes.themes_run(workspace=workspace, job_id=job_elsewhere.id)


def test_start_queues_one_run_after_commit_and_a_double_click_gets_the_same(
    workspace, member, django_capture_on_commit_callbacks
):
    _feedback(workspace, DARK_MODE)

    with django_capture_on_commit_callbacks() as callbacks:
        job = themes.themes_start(workspace=workspace, actor=member)
        again = themes.themes_start(workspace=workspace, actor=member)

    assert again.id == job.id
    assert len(callbacks) == 1
    assert (job.kind, job.status, job.created_by) == ("themes", "pending", member)
    assert AuditEvent.objects.for_workspace(workspace).filter(action="themes.started").count() == 1


def test_start_is_refused_when_everything_is_tagged(workspace, member):
    with pytest.raises(ApplicationError, match="nothing to group"):
        themes.themes_start(workspace=workspace, actor=member)
    assert not TaggingJob.objects.for_workspace(workspace).exists()


# --- accepting a candidate -------------------------------------------------------------------
def test_accepting_a_candidate_creates_the_tag_and_tags_its_members(workspace, member):
    items = _feedback(workspace, actor=member)
    job = _run(workspace, member)
    index, candidate = _candidate(job, "Dark mode")

    tag = themes.theme_accept(
        workspace=workspace, actor=member, job=job, index=index, name="  Dark   mode "
    )

    assert tag.name == "Dark mode"
    taggings = Tagging.objects.for_workspace(workspace).filter(tag=tag)
    assert set(taggings.values_list("feedback_id", flat=True)) == {f.id for f in items[7:13]}
    assert set(taggings.values_list("origin", "created_by")) == {("person", member.id)}
    job.refresh_from_db()
    accepted = job.result["candidates"][index]
    assert (accepted["tag_id"], accepted["tag_name"], accepted["tagged"]) == (tag.id, tag.name, 6)
    event = AuditEvent.objects.for_workspace(workspace).get(action="theme.accepted")
    assert event.changes == {"job": job.id, "proposed": "Dark mode", "new_tag": True, "tagged": 6}


def test_accepting_twice_is_a_no_op(workspace, member):
    _feedback(workspace, actor=member)
    job = _run(workspace, member)
    index, _ = _candidate(job, "CSV export")
    first = themes.theme_accept(
        workspace=workspace, actor=member, job=job, index=index, name="Exports"
    )

    second = themes.theme_accept(
        workspace=workspace, actor=member, job=job, index=index, name="Something else"
    )

    assert second == first
    assert Tag.objects.for_workspace(workspace).count() == 1
    assert Tagging.objects.for_workspace(workspace).count() == 7


def test_accepting_under_an_existing_name_reuses_that_tag(workspace, member):
    items = _feedback(workspace, actor=member)
    existing = services.tag_create(workspace=workspace, actor=member, name="Security")
    job = _run(workspace, member)
    index, _ = _candidate(job, "Single sign-on")

    tag = themes.theme_accept(
        workspace=workspace, actor=member, job=job, index=index, name="security"
    )

    assert tag == existing
    assert Tag.objects.for_workspace(workspace).count() == 1
    assert set(Tagging.objects.for_workspace(workspace).values_list("feedback_id", flat=True)) == {
        f.id for f in items[13:19]
    }


def test_members_deleted_or_merged_since_the_run_are_not_tagged(workspace, member):
    items = _feedback(workspace, actor=member)
    job = _run(workspace, member)
    index, _ = _candidate(job, "Dark mode")
    services.feedback_delete(workspace=workspace, actor=member, feedback=items[7])
    Feedback.objects.for_workspace(workspace).filter(id=items[8].id).update(merged_into=items[9])

    tag = themes.theme_accept(
        workspace=workspace, actor=member, job=job, index=index, name="Dark mode"
    )

    assert set(
        Tagging.objects.for_workspace(workspace)
        .filter(tag=tag)
        .values_list("feedback_id", flat=True)
    ) == {f.id for f in items[9:13]}


@pytest.mark.parametrize(
    ("index", "name", "error", "message"),
    [
        pytest.param(0, "   ", ValidationError, "Give the tag a name", id="empty_name_case"),
        pytest.param(9, "Exports", ApplicationError, "no longer in the results", id="stale_case"),
    ],
)
def test_accept_refuses_clearly(workspace, member, index, name, error, message):
    _feedback(workspace, actor=member)
    job = _run(workspace, member)

    with pytest.raises(error, match=message):
        themes.theme_accept(workspace=workspace, actor=member, job=job, index=index, name=name)

    assert not Tag.objects.for_workspace(workspace).exists()


def test_accept_refuses_a_run_that_is_not_finished(workspace, member):
    job = TaggingJob.objects.create(workspace=workspace, kind=TaggingJob.Kind.THEMES)

    with pytest.raises(ApplicationError, match="not finished"):
        themes.theme_accept(workspace=workspace, actor=member, job=job, index=0, name="X")


def test_accept_cannot_reach_another_workspaces_run(workspace, other_workspace, member):
    _feedback(other_workspace, DARK_MODE)
    foreign = _run(other_workspace, None)

    with pytest.raises(ValidationError, match="Unknown themes run"):
        themes.theme_accept(workspace=workspace, actor=member, job=foreign, index=0, name="X")

    assert not Tag.objects.for_workspace(other_workspace).exists()


# --- the page --------------------------------------------------------------------------------
def test_the_page_explains_itself_when_there_is_nothing_to_group(workspace, member, login):
    response = login(member).get(f"{BASE}/themes/")

    assert response.status_code == 200
    assert "Nothing left to group" in response.text
    assert "Find themes" not in response.text


def test_the_page_offers_a_first_run(workspace, member, viewer, login):
    _feedback(workspace, DARK_MODE)

    as_editor = login(member).get(f"{BASE}/themes/")
    as_viewer = login(viewer).get(f"{BASE}/themes/")

    assert "Find the themes in your untagged feedback" in as_editor.text
    assert f'action="{BASE}/themes/find/"' in as_editor.text
    assert "An editor of this workspace can start it." in as_viewer.text
    assert f'action="{BASE}/themes/find/"' not in as_viewer.text


def test_the_page_shows_the_candidates_and_viewers_cannot_act(workspace, member, viewer, login):
    _feedback(workspace, actor=member)
    _run(workspace, member)

    as_editor = login(member).get(f"{BASE}/themes/")
    as_viewer = login(viewer).get(f"{BASE}/themes/")

    assert as_editor.status_code == as_viewer.status_code == 200
    assert [c["name"] for c in as_editor.context["cards"]] == [
        "CSV export",
        "Dark mode",
        "Single sign-on",
    ]
    assert as_editor.text.count("Create tag</button>") == 3
    assert "Create tag</button>" not in as_viewer.text
    assert "An editor can turn this theme into a tag." in as_viewer.text
    for quote in as_editor.context["cards"][0]["quotes"]:
        assert f"“{escape(quote['text'])}”</a>" in as_editor.text


def test_the_page_query_count_is_fixed(workspace, member, login, django_assert_num_queries):
    _feedback(workspace, actor=member)
    job = _run(workspace, member)
    themes.theme_accept(workspace=workspace, actor=member, job=job, index=0, name="Exports")
    client = login(member)
    client.get(f"{BASE}/themes/")

    # membership (+workspace, user); switcher memberships; the latest run; the
    # accepted candidates' tags; the untagged count.
    with django_assert_num_queries(5):
        response = client.get(f"{BASE}/themes/")

    assert response.status_code == 200


def test_htmx_polls_get_the_progress_only(workspace, member, login):
    _feedback(workspace, DARK_MODE)
    TaggingJob.objects.create(
        workspace=workspace,
        kind=TaggingJob.Kind.THEMES,
        status=TaggingJob.Status.RUNNING,
        total=6,
        processed=3,
    )

    response = login(member).get(f"{BASE}/themes/", headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="themes-run"')
    assert 'hx-trigger="every 1s"' in response.text
    assert "Reading 3 of 6 untagged items." in response.text
    assert "<html" not in response.text


def test_a_failed_run_says_why(workspace, member, login):
    _feedback(workspace, DARK_MODE)
    TaggingJob.objects.create(
        workspace=workspace,
        kind=TaggingJob.Kind.THEMES,
        status=TaggingJob.Status.FAILED,
        message="The job stopped on an unexpected error; start it again.",
    )

    response = login(member).get(f"{BASE}/themes/")

    assert "Finding themes failed." in response.text
    assert "The job stopped on an unexpected error" in response.text


def test_the_tags_page_links_to_themes(workspace, viewer, login):
    services.tag_create(workspace=workspace, actor=None, name="Billing")

    response = login(viewer).get(f"{BASE}/tags/")

    assert f'href="{BASE}/themes/"' in response.text


def test_find_queues_a_run_and_comes_back(
    workspace, member, login, django_capture_on_commit_callbacks
):
    _feedback(workspace, DARK_MODE)

    with django_capture_on_commit_callbacks() as callbacks:
        response = login(member).post(f"{BASE}/themes/find/")

    assert response.status_code == 302
    assert response["Location"] == f"{BASE}/themes/"
    assert len(callbacks) == 1
    assert TaggingJob.objects.for_workspace(workspace).get().status == "pending"


def test_find_with_nothing_untagged_shows_why(workspace, member, login):
    response = login(member).post(f"{BASE}/themes/find/", follow=True)

    assert "nothing to group" in response.text
    assert not TaggingJob.objects.for_workspace(workspace).exists()


def test_create_tag_with_htmx_returns_the_accepted_card(workspace, member, login):
    _feedback(workspace, actor=member)
    job = _run(workspace, member)
    index, _ = _candidate(job, "Dark mode")

    response = login(member).post(
        f"{BASE}/themes/create-tag/",
        {"job_id": job.id, "index": index, "name": "Dark theme"},
        headers={"HX-Request": "true"},
    )

    tag = Tag.objects.for_workspace(workspace).get()
    assert response.status_code == 200
    assert response.text.lstrip().startswith(
        f'<article class="card theme-card theme-card--accepted" id="theme-{index}"'
    )
    assert f'href="{BASE}/tags/{tag.id}/"' in response.text
    assert "Tagged 6 items with" in response.text


def test_create_tag_errors_stay_on_the_card_with_what_was_typed(workspace, member, login):
    _feedback(workspace, actor=member)
    job = _run(workspace, member)

    response = login(member).post(
        f"{BASE}/themes/create-tag/",
        {"job_id": job.id, "index": 0, "name": ""},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    assert 'role="alert">Give the tag a name.</p>' in response.text
    assert not Tag.objects.for_workspace(workspace).exists()


def test_create_tag_without_js_redirects_to_the_card(workspace, member, login):
    _feedback(workspace, actor=member)
    job = _run(workspace, member)
    index, _ = _candidate(job, "Single sign-on")

    response = login(member).post(
        f"{BASE}/themes/create-tag/", {"job_id": job.id, "index": index, "name": "SSO"}
    )

    assert response.status_code == 302
    assert response["Location"] == f"{BASE}/themes/#theme-{index}"
    assert Tag.objects.for_workspace(workspace).get().name == "SSO"


def test_create_tag_on_an_unknown_run_changes_nothing(workspace, member, login):
    response = login(member).post(
        f"{BASE}/themes/create-tag/", {"job_id": -1, "index": 0, "name": "X"}, follow=True
    )

    assert "This themes run is gone" in response.text
    assert not Tag.objects.for_workspace(workspace).exists()


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
def test_permissions_to_find_themes(
    request, workspace, who, status, client, login, django_capture_on_commit_callbacks
):
    _feedback(workspace, DARK_MODE)
    user_client = client if who == "anonymous" else login(request.getfixturevalue(who))

    with django_capture_on_commit_callbacks() as callbacks:
        response = user_client.post(f"{BASE}/themes/find/")

    assert response.status_code == status
    allowed = who in {"member", "admin"}
    assert TaggingJob.objects.for_workspace(workspace).exists() == allowed
    assert len(callbacks) == (1 if allowed else 0)
    if who == "anonymous":
        assert response["Location"].startswith("/accounts/login/")


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
def test_permissions_to_create_a_tag_from_a_theme(
    request, workspace, member, who, status, client, login
):
    _feedback(workspace, DARK_MODE)
    job = _run(workspace, member)
    user_client = client if who == "anonymous" else login(request.getfixturevalue(who))

    response = user_client.post(
        f"{BASE}/themes/create-tag/", {"job_id": job.id, "index": 0, "name": "Dark mode"}
    )

    assert response.status_code == status
    allowed = who in {"member", "admin"}
    assert Tag.objects.for_workspace(workspace).exists() == allowed
    assert Tagging.objects.for_workspace(workspace).count() == (6 if allowed else 0)


@pytest.mark.parametrize("who", ["anonymous", "outsider", "viewer", "member", "admin"])
def test_who_sees_the_page(request, workspace, who, client, login):
    user_client = client if who == "anonymous" else login(request.getfixturevalue(who))

    response = user_client.get(f"{BASE}/themes/")

    assert response.status_code == {"anonymous": 302, "outsider": 404}.get(who, 200)


# --- a real worker, and a PM in Chromium ------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_the_worker_finds_the_themes_after_commit(celery_worker, workspace, member):
    _feedback(workspace, actor=member)

    job = themes.themes_start(workspace=workspace, actor=member)

    deadline = time.monotonic() + 90
    job.refresh_from_db()
    while job.status not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.2)
        job.refresh_from_db()
    assert job.status == "done", (job.status, job.message, celery_worker.log.read_text()[-3000:])
    assert [(c["name"], c["size"]) for c in job.result["candidates"]] == [
        ("CSV export", 7),
        ("Dark mode", 6),
        ("Single sign-on", 6),
    ]
    assert (job.processed, job.total) == (21, 21)
    # A redelivery of the task changes nothing.
    from discovery.tasks import tagging_job_run_task

    tagging_job_run_task(workspace_id=workspace.id, job_id=job.id)
    again = TaggingJob.objects.for_workspace(workspace).get(id=job.id)
    assert (again.status, again.result, again.finished_at) == (
        "done",
        job.result,
        job.finished_at,
    )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_pm_finds_themes_and_creates_a_tag_in_one_click(
    celery_worker, live_server, page: Page, screenshots
):
    workspace = WorkspaceFactory(name="Acme", slug="acme")
    user = UserFactory(email="pm@acme.test", name="Pat Manager")
    MembershipFactory(user=user, workspace=workspace, role=Role.EDITOR)
    items = _feedback(workspace, actor=user)
    services.tag_create(workspace=workspace, actor=user, name="Billing")
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    base = live_server.url
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill("pm@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.goto(f"{base}/w/acme/discovery/tags/")
    page.get_by_role("link", name="Find themes in untagged feedback").click()
    expect(
        page.get_by_role("heading", name="Find the themes in your untagged feedback")
    ).to_be_visible()
    page.screenshot(path=screenshots / "themes-empty.png", full_page=True)
    page.locator("main").get_by_role("button", name="Find themes").click()

    cards = page.locator("[data-theme-card]")
    expect(cards).to_have_count(3, timeout=90_000)
    expect(page.get_by_role("heading", name="Candidate themes")).to_be_visible()
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.wait_for_timeout(300)  # let colour transitions finish before the picture
        page.screenshot(path=screenshots / f"themes-{scheme}.png", full_page=True)
    page.emulate_media(color_scheme="light")

    card = page.locator("#theme-1")
    expect(card.get_by_role("heading")).to_have_text("Dark mode")
    card.get_by_label("Tag name for this theme").fill("Dark theme")
    card.get_by_role("button", name="Create tag").click()

    expect(page.locator("#theme-1").get_by_role("status")).to_contain_text(
        "Tagged 6 items with Dark theme."
    )
    page.screenshot(path=screenshots / "themes-accepted.png", full_page=True)
    tag = Tag.objects.for_workspace(workspace).get(name="Dark theme")
    assert set(
        Tagging.objects.for_workspace(workspace)
        .filter(tag=tag)
        .values_list("feedback_id", flat=True)
    ) == {f.id for f in items[7:13]}
    # The tag's page is one click away.
    page.locator("#theme-1").get_by_role("link", name="Dark theme").click()
    expect(page).to_have_url(f"{base}/w/acme/discovery/tags/{tag.id}/")
    assert errors == []
