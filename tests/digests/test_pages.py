"""The digests' pages: stakeholders (list with filters, new, edit on a version, follows,
resume, delete), the preview and its test send, the settings and the send log; roles, query
counts that do not grow with the rows shown, and hostile input."""

from __future__ import annotations

import datetime
import re

import pytest
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from backlog.models import ProductArea
from discovery.models import Company
from pmhub.digests import services
from pmhub.digests.models import Delivery, DigestSettings, Follow, Stakeholder
from roadmap.models import RoadmapEvent

pytestmark = pytest.mark.django_db


def _url(workspace, name, **kwargs):
    return reverse(f"digests:{name}", kwargs={"workspace_slug": workspace.slug, **kwargs})


def _stakeholder(workspace, email="dana@client.test", **kwargs):
    return services.stakeholder_create(workspace=workspace, email=email, **kwargs)


def _form(stakeholder, **changes):
    data = {
        "email": stakeholder.email,
        "name": stakeholder.name,
        "team": stakeholder.team,
        "cadence": stakeholder.cadence,
        "send_hour": "" if stakeholder.send_hour is None else str(stakeholder.send_hour),
        "timezone": stakeholder.timezone,
        "version": stakeholder.version,
    }
    if stakeholder.follows_workspace:
        data["follows_workspace"] = "on"
    data.update(changes)
    return data


def _deliver(workspace, stakeholder, period, status="sent", **kwargs):
    now = timezone.now()
    return Delivery.objects.create(
        workspace=workspace, stakeholder=stakeholder, period=period, due_at=now,
        covers_from=now - datetime.timedelta(days=7), covers_until=now, status=status,
        sent_at=now if status == "sent" else None, **kwargs,
    )  # fmt: skip


# --- the list ----------------------------------------------------------------------------------
def test_empty_list_says_what_stakeholders_are_and_offers_both_ways_in(workspace, member, login):
    page = login(member).get(_url(workspace, "stakeholder-list"))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Stakeholders are the people who follow the product by email" in html
    assert "Add a stakeholder" in html
    assert _url(workspace, "stakeholder-import") in html


def test_list_shows_team_scope_cadence_status_and_last_sent(workspace, member, login):
    area = ProductArea.objects.create(workspace=workspace, name="Payments")
    dana = _stakeholder(workspace, name="Dana Ruiz", team="Sales")
    services.follow_add(workspace=workspace, stakeholder=dana, area_id=area.id)
    _deliver(workspace, dana, "2026-W47")
    lee = _stakeholder(workspace, "lee@client.test", cadence="monthly", follows_workspace=True)
    Stakeholder.objects.for_workspace(workspace).filter(id=lee.id).update(
        status="paused", failure_count=3, last_failure="550 5.1.1 mailbox unavailable"
    )

    html = login(member).get(_url(workspace, "stakeholder-list")).content.decode()

    assert "Dana Ruiz" in html
    assert "dana@client.test" in html
    assert "Sales" in html
    assert "Area: Payments" in html
    assert 'Weekly <span class="subtle">(default)</span>' in html
    assert "Monthly</td>" in html
    assert "Whole workspace" in html
    assert ">Paused</span>" in html
    assert "550 5.1.1 mailbox unavailable" in html
    assert html.count("Never") == 1  # lee has no digest sent yet


def test_list_filters_by_status_and_team(workspace, member, login):
    _stakeholder(workspace, "a@client.test", team="Sales")
    _stakeholder(workspace, "b@client.test", team="Support")
    paused = _stakeholder(workspace, "c@client.test", team="Sales")
    Stakeholder.objects.for_workspace(workspace).filter(id=paused.id).update(status="paused")
    client = login(member)

    sales = client.get(_url(workspace, "stakeholder-list"), {"team": "sales"}).content.decode()
    paused_only = client.get(_url(workspace, "stakeholder-list"), {"status": "paused"})

    assert "a@client.test" in sales
    assert "c@client.test" in sales
    assert "b@client.test" not in sales
    assert set(re.findall(r"[abc]@client\.test", paused_only.content.decode())) == {"c@client.test"}


def test_list_query_count_does_not_grow_with_stakeholders(
    workspace, member, login, django_assert_num_queries
):
    client = login(member)
    area = ProductArea.objects.create(workspace=workspace, name="Payments")
    company = Company.objects.create(workspace=workspace, name="Acme")
    services.digest_settings_get(workspace=workspace)

    def add(n):
        for i in range(n):
            s = _stakeholder(workspace, f"p{Stakeholder.objects.count()}-{i}@client.test")
            services.follow_add(workspace=workspace, stakeholder=s, area_id=area.id)
            services.follow_add(
                workspace=workspace, stakeholder=s, company_id=company.id, owns=True
            )
            _deliver(workspace, s, "2026-W47")

    add(2)
    client.get(_url(workspace, "stakeholder-list"))  # the session notes the workspace once
    # membership, stakeholders (last sent as a subquery), their follows with what they follow,
    # the settings, the teams, the switcher's memberships
    with django_assert_num_queries(6):
        client.get(_url(workspace, "stakeholder-list"))
    add(10)
    with django_assert_num_queries(6):
        client.get(_url(workspace, "stakeholder-list"))


# --- new and edit ------------------------------------------------------------------------------
def test_new_stakeholder_and_a_duplicate_email(workspace, member, login):
    client = login(member)
    data = {"email": "Dana@Client.test", "name": "Dana", "team": "Sales", "cadence": "daily",
            "send_hour": "9", "timezone": "Europe/Paris"}  # fmt: skip
    response = client.post(_url(workspace, "stakeholder-new"), data)
    stakeholder = Stakeholder.objects.for_workspace(workspace).get()
    assert response.status_code == 302
    assert response["Location"].endswith(f"/stakeholders/{stakeholder.id}/#follows")
    assert (stakeholder.cadence, stakeholder.send_hour, stakeholder.timezone) == (
        "daily", 9, "Europe/Paris",
    )  # fmt: skip

    again = client.post(_url(workspace, "stakeholder-new"), {**data, "email": "dana@client.TEST"})

    assert again.status_code == 400
    assert "already a stakeholder here" in again.content.decode()
    assert Stakeholder.objects.for_workspace(workspace).count() == 1


def test_edit_on_a_version_and_the_stale_path(workspace, member, login):
    stakeholder = _stakeholder(workspace, name="Dana")
    client = login(member)
    url = _url(workspace, "stakeholder-detail", stakeholder_id=stakeholder.id)
    assert client.post(url, _form(stakeholder, name="Dana Ruiz")).status_code == 302

    stale = client.post(url, _form(stakeholder, name="Late name", version=1))

    html = stale.content.decode()
    assert stale.status_code == 409
    assert 'value="Late name"' in html
    assert 'name="version" value="2"' in html
    stakeholder.refresh_from_db()
    assert (stakeholder.name, stakeholder.version) == ("Dana Ruiz", 2)
    again = client.post(url, _form(stakeholder, name="Late name"))
    assert again.status_code == 302
    stakeholder.refresh_from_db()
    assert (stakeholder.name, stakeholder.version) == ("Late name", 3)


def test_overrides_show_the_workspace_default_and_blank_restores_it(workspace, member, login):
    services.digest_settings_update(workspace=workspace, cadence="daily", send_hour=7,
                                    timezone="America/New_York")  # fmt: skip
    stakeholder = _stakeholder(workspace, cadence="monthly", send_hour=10)
    client = login(member)
    url = _url(workspace, "stakeholder-detail", stakeholder_id=stakeholder.id)

    html = client.get(url).content.decode()
    assert "Default (Daily)" in html
    assert "Default (07:00)" in html
    assert "Default (America/New_York)" in html
    assert "Monthly at 10:00, America/New_York (default)" in html

    client.post(url, _form(stakeholder, cadence="", send_hour=""))
    stakeholder.refresh_from_db()
    assert (stakeholder.cadence, stakeholder.send_hour) == ("", None)


# --- follows -----------------------------------------------------------------------------------
def test_follow_an_area_and_own_a_company_then_unfollow(workspace, member, login):
    area = ProductArea.objects.create(workspace=workspace, name="Payments")
    company = Company.objects.create(workspace=workspace, name="Acme Corp", domain="acme.test")
    stakeholder = _stakeholder(workspace)
    client = login(member)
    add = _url(workspace, "follow-add", stakeholder_id=stakeholder.id)
    detail = _url(workspace, "stakeholder-detail", stakeholder_id=stakeholder.id)

    # The picker lists the areas at once and finds companies by search.
    assert f'value="area:{area.id}"' in client.get(detail).content.decode()
    found = client.get(detail, {"find": "acme"}, HTTP_HX_REQUEST="true")
    assert found.status_code == 200
    assert f'value="company:{company.id}"' in found.content.decode()
    assert "<html" not in found.content.decode()

    assert client.post(add, {"target": f"area:{area.id}"}).status_code == 302
    assert client.post(add, {"target": f"company:{company.id}", "owns": "1"}).status_code == 302
    follows = Follow.objects.for_workspace(workspace).filter(stakeholder=stakeholder)
    assert {(f.area_id, f.company_id, f.owns) for f in follows} == {
        (area.id, None, False), (None, company.id, True),
    }  # fmt: skip
    html = client.get(detail).content.decode()
    assert "Payments" in html
    assert "Account owner" in html

    follow = follows.get(area_id=area.id)
    remove = _url(workspace, "follow-remove", stakeholder_id=stakeholder.id, follow_id=follow.id)
    assert "No longer followed." in client.post(remove, follow=True).content.decode()
    # A second click is no error, and says nothing was left to remove.
    again = client.post(remove, follow=True)
    assert again.redirect_chain[0][1] == 302
    assert "That was no longer followed already." in again.content.decode()
    assert list(follows.values_list("company_id", flat=True)) == [company.id]


def test_follow_refuses_another_workspaces_objects_and_garbage(
    workspace, other_workspace, member, login
):
    foreign = ProductArea.objects.create(workspace=other_workspace, name="Theirs")
    stakeholder = _stakeholder(workspace)
    add = _url(workspace, "follow-add", stakeholder_id=stakeholder.id)
    client = login(member)

    for target in (f"area:{foreign.id}", "area:abc", "team:1", "", "area:99999999999"):
        response = client.post(add, {"target": target})
        assert response.status_code == 400, target
    assert not Follow.objects.for_workspace(workspace).exists()


# --- resume and delete -------------------------------------------------------------------------
def test_resume_a_paused_address(workspace, member, login):
    stakeholder = _stakeholder(workspace)
    Stakeholder.objects.for_workspace(workspace).filter(id=stakeholder.id).update(
        status="paused", failure_count=3, last_failure="550 no such user"
    )
    client = login(member)
    detail = client.get(_url(workspace, "stakeholder-detail", stakeholder_id=stakeholder.id))
    assert "Digests are paused" in detail.content.decode()
    assert "550 no such user" in detail.content.decode()

    response = client.post(_url(workspace, "stakeholder-resume", stakeholder_id=stakeholder.id))

    assert response.status_code == 302
    stakeholder.refresh_from_db()
    assert (stakeholder.status, stakeholder.failure_count, stakeholder.last_failure) == (
        "active", 0, "",
    )  # fmt: skip


def test_an_unsubscribed_stakeholder_is_not_resumed(workspace, member, login):
    stakeholder = _stakeholder(workspace)
    Stakeholder.objects.for_workspace(workspace).filter(id=stakeholder.id).update(
        status="unsubscribed"
    )
    client = login(member)
    response = client.post(
        _url(workspace, "stakeholder-resume", stakeholder_id=stakeholder.id), follow=True
    )
    assert "only they can subscribe again" in response.content.decode()
    stakeholder.refresh_from_db()
    assert stakeholder.status == "unsubscribed"


def test_delete_removes_follows_and_log(workspace, member, login):
    area = ProductArea.objects.create(workspace=workspace, name="Payments")
    stakeholder = _stakeholder(workspace)
    services.follow_add(workspace=workspace, stakeholder=stakeholder, area_id=area.id)
    _deliver(workspace, stakeholder, "2026-W47")

    response = login(member).post(
        _url(workspace, "stakeholder-delete", stakeholder_id=stakeholder.id)
    )

    assert response.status_code == 302
    assert not Stakeholder.objects.for_workspace(workspace).exists()
    assert not Follow.objects.for_workspace(workspace).exists()
    assert not Delivery.objects.for_workspace(workspace).exists()


# --- roles -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("role_case", "status"), [("viewer_case", 403), ("editor_case", 302), ("admin_case", 302)]
)
def test_who_may_change_stakeholders(role_case, status, workspace, admin, member, viewer, login):
    user = {"viewer_case": viewer, "editor_case": member, "admin_case": admin}[role_case]
    stakeholder = _stakeholder(workspace)
    client = login(user)

    assert client.get(_url(workspace, "stakeholder-list")).status_code == 200
    response = client.post(_url(workspace, "stakeholder-new"), {"email": "x@client.test"})
    assert response.status_code == status
    delete = client.post(_url(workspace, "stakeholder-delete", stakeholder_id=stakeholder.id))
    assert delete.status_code == status
    assert Stakeholder.objects.for_workspace(workspace).filter(id=stakeholder.id).exists() == (
        status == 403
    )


@pytest.mark.parametrize(
    ("role_case", "status"), [("viewer_case", 403), ("editor_case", 403), ("admin_case", 302)]
)
def test_only_admins_change_the_settings(
    role_case, status, workspace, admin, member, viewer, login
):
    user = {"viewer_case": viewer, "editor_case": member, "admin_case": admin}[role_case]
    client = login(user)
    data = {"cadence": "daily", "send_hour": "7", "timezone": "Europe/Berlin",
            "sender_name": "Acme product", "reply_to": "pm@acme.test"}  # fmt: skip

    assert client.get(_url(workspace, "settings")).status_code == 200
    assert client.post(_url(workspace, "settings"), data).status_code == status

    current = DigestSettings.objects.for_workspace(workspace).get()
    changed = (current.cadence, current.send_hour, current.timezone, current.sender_name)
    expected = ("daily", 7, "Europe/Berlin", "Acme product") if status == 302 else (
        "weekly", 8, "UTC", "",
    )  # fmt: skip
    assert changed == expected


def test_settings_refuse_a_bad_reply_to_and_an_unknown_timezone(workspace, admin, login):
    response = login(admin).post(
        _url(workspace, "settings"),
        {"cadence": "daily", "send_hour": "7", "timezone": "Mars/Base", "reply_to": "nope"},
    )
    assert response.status_code == 400
    assert DigestSettings.objects.for_workspace(workspace).get().timezone == "UTC"


# --- hostile input -----------------------------------------------------------------------------
def test_markup_in_names_is_shown_as_text(workspace, member, login):
    payload = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    stakeholder = _stakeholder(workspace, name=payload, team=payload)
    area = ProductArea.objects.create(workspace=workspace, name=payload)
    services.follow_add(workspace=workspace, stakeholder=stakeholder, area_id=area.id)
    client = login(member)

    _deliver(workspace, stakeholder, "2026-W47", status="failed", error=payload)
    for url in (
        _url(workspace, "stakeholder-list"),
        _url(workspace, "stakeholder-detail", stakeholder_id=stakeholder.id),
        _url(workspace, "stakeholder-preview", stakeholder_id=stakeholder.id),
        _url(workspace, "stakeholder-preview", stakeholder_id=stakeholder.id) + "?view=text",
        _url(workspace, "run-detail", period="2026-W47"),
    ):
        html = client.get(url).content.decode()
        assert "<script>alert(1)" not in html
        assert "<img src=x" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_oversized_text_is_refused_not_cut(workspace, member, login):
    client = login(member)
    response = client.post(
        _url(workspace, "stakeholder-new"),
        {"email": "dana@client.test", "name": "x" * 5000, "team": "y" * 5000},
    )
    assert response.status_code == 400
    assert not Stakeholder.objects.for_workspace(workspace).exists()
    long_email = client.post(_url(workspace, "stakeholder-new"), {"email": "a" * 300 + "@x.test"})
    assert long_email.status_code == 400


def test_a_double_submitted_new_form_makes_one_stakeholder(workspace, member, login):
    client = login(member)
    data = {"email": "dana@client.test", "name": "Dana"}
    first = client.post(_url(workspace, "stakeholder-new"), data)
    second = client.post(_url(workspace, "stakeholder-new"), data)
    assert (first.status_code, second.status_code) == (302, 400)
    assert Stakeholder.objects.for_workspace(workspace).count() == 1


# --- send log ----------------------------------------------------------------------------------
def test_stakeholder_send_log_newest_first_with_its_details(workspace, member, login):
    stakeholder = _stakeholder(workspace)
    older = _deliver(workspace, stakeholder, "2026-W46", subject="Week 46: 2 shipped",
                     entry_count=2)  # fmt: skip
    Delivery.objects.for_workspace(workspace).filter(id=older.id).update(
        due_at=timezone.now() - datetime.timedelta(days=7)
    )
    _deliver(workspace, stakeholder, "2026-W47", status="failed", attempts=6,
             error="451 try again later")  # fmt: skip

    html = (
        login(member)
        .get(_url(workspace, "stakeholder-detail", stakeholder_id=stakeholder.id))
        .content.decode()
    )

    assert html.index("2026-W47") < html.index("2026-W46")
    assert "Week 46: 2 shipped" in html
    assert "451 try again later" in html


def test_runs_list_counts_each_period_and_detail_lists_its_deliveries(
    workspace, member, login, django_assert_num_queries
):
    client = login(member)
    for i in range(3):
        s = _stakeholder(workspace, f"p{i}@client.test")
        _deliver(workspace, s, "2026-W47", status=["sent", "sent", "failed"][i],
                 error="550 gone" if i == 2 else "")  # fmt: skip
        _deliver(workspace, s, f"test-{i}")
    listing = client.get(_url(workspace, "run-list")).content.decode()
    assert "2026-W47" in listing
    assert "test-0" not in listing  # test sends are in each stakeholder's log, not runs
    assert 'aria-label="2 sent, 1 failed"' in listing

    detail = client.get(_url(workspace, "run-detail", period="2026-W47"))
    html = detail.content.decode()
    assert detail.status_code == 200
    assert html.count("@client.test") == 3
    assert "550 gone" in html
    assert client.get(_url(workspace, "run-detail", period="2020-W01")).status_code == 404

    # membership, the totals, the deliveries with their stakeholders, the switcher
    with django_assert_num_queries(4):
        client.get(_url(workspace, "run-detail", period="2026-W47"))
    # membership, the runs, the switcher
    with django_assert_num_queries(3):
        client.get(_url(workspace, "run-list"))


# --- preview and test send ---------------------------------------------------------------------
@pytest.fixture
def shipped(workspace):
    """A stakeholder following Payments, where an item just shipped."""
    from backlog import services as backlog

    area = backlog.product_area_create(workspace=workspace, actor=None, name="Payments")
    item = backlog.item_create(
        workspace=workspace, actor=None, title="Saved cards", area_id=area.id
    )
    stakeholder = _stakeholder(workspace, name="Dana Ruiz")
    services.follow_add(workspace=workspace, stakeholder=stakeholder, area_id=area.id)
    backlog.item_set_status(workspace=workspace, actor=None, item=item, status="shipped")
    # Digest windows are whole seconds and end "now": the ship is made a minute old.
    RoadmapEvent.objects.for_workspace(workspace).update(
        created_at=F("created_at") - datetime.timedelta(minutes=1)
    )
    return stakeholder


def test_preview_shows_exactly_the_digests_html_in_a_sandboxed_frame(
    workspace, member, login, shipped
):
    from html import unescape

    from pmhub.digests.content import digest_next
    from pmhub.digests.render import digest_html, digest_subject, digest_text

    services.digest_settings_update(workspace=workspace, sender_name="Acme product",
                                    reply_to="pm@acme.test")  # fmt: skip
    client = login(member)
    url = _url(workspace, "stakeholder-preview", stakeholder_id=shipped.id)

    page = client.get(url)

    html = page.content.decode()
    assert page.status_code == 200
    frame = re.search(r'<iframe [^>]*sandbox="([^"]*)" srcdoc="([^"]*)"', html)
    assert frame is not None
    assert "allow-scripts" not in frame[1]
    expected = digest_html(digest_next(workspace=workspace, stakeholder=shipped))
    # The window ends "now": the two renderings differ only in the seconds of that moment,
    # which also stamp the signed links (`<value>:<timestamp>:<signature>`, Django's signer).

    def moment_free(text):
        unsigned = re.sub(r":[0-9A-Za-z]{6}:[\w-]{43}/", ":/", text)
        return re.sub(r"\d\d:\d\d", "", unsigned)

    assert moment_free(unescape(frame[2])) == moment_free(expected)
    assert "Saved cards" in unescape(frame[2])
    digest = digest_next(workspace=workspace, stakeholder=shipped)
    assert digest_subject(digest) in unescape(html)
    assert "Acme product" in html
    assert "pm@acme.test" in html
    assert "dana@client.test" in html
    # Inline styles are the email's; the page allows them for its frame, scripts stay its own.
    policy = page["Content-Security-Policy"]
    assert "style-src 'self' 'unsafe-inline'" in policy
    assert "script-src 'self'" in policy

    text = client.get(url, {"view": "text"}).content.decode()
    assert "<iframe" not in text
    assert unescape(text).count("Saved cards") == digest_text(digest).count("Saved cards") > 0


def test_send_a_test_to_me_queues_it_after_commit_and_it_arrives(
    workspace, member, login, shipped, smtp_mail, django_capture_on_commit_callbacks
):
    from email.header import decode_header, make_header

    from pmhub.digests.tasks import digest_test_send_task

    client = login(member)
    with django_capture_on_commit_callbacks() as queued:
        response = client.post(
            _url(workspace, "stakeholder-test", stakeholder_id=shipped.id), follow=True
        )
    assert response.status_code == 200
    assert f"on its way to {member.email}" in response.content.decode()
    assert len(queued) == 1
    assert smtp_mail.messages == []  # nothing leaves before the commit

    # What the queued task does, run here: the stakeholder's digest, to the member asking.
    digest_test_send_task(workspace_id=workspace.id, stakeholder_id=shipped.id, to=member.email)

    (message,) = smtp_mail.wait_for(1)
    assert message["To"] == member.email
    assert "Saved cards" in str(make_header(decode_header(message["Subject"]))) or any(
        "Saved cards" in part.get_payload(decode=True).decode()
        for part in message.walk()
        if part.get_content_type() == "text/plain"
    )
    test_send = Delivery.objects.for_workspace(workspace).get(stakeholder=shipped)
    assert test_send.period.startswith("test-")
    shipped.refresh_from_db()
    assert shipped.covered_until is None  # a test send does not move the stakeholder's window


def test_detail_query_count_does_not_grow_with_follows_or_log(
    workspace, member, login, django_assert_num_queries
):
    area = ProductArea.objects.create(workspace=workspace, name="Payments")
    stakeholder = _stakeholder(workspace)
    services.digest_settings_get(workspace=workspace)
    client = login(member)
    url = _url(workspace, "stakeholder-detail", stakeholder_id=stakeholder.id)
    client.get(url)

    def grow(n):
        for i in range(n):
            company = Company.objects.create(
                workspace=workspace, name=f"C{Company.objects.count()}"
            )
            services.follow_add(workspace=workspace, stakeholder=stakeholder, company_id=company.id)
            _deliver(workspace, stakeholder, f"2026-{Delivery.objects.count() + 1:02d}-{i}")

    services.follow_add(workspace=workspace, stakeholder=stakeholder, area_id=area.id)
    grow(1)
    # membership, the stakeholder, their follows, the settings, the picker's areas and
    # roadmaps, the send log, the switcher
    with django_assert_num_queries(8):
        client.get(url)
    grow(8)
    with django_assert_num_queries(8):
        client.get(url)


def test_a_viewer_reads_a_stakeholder_without_the_controls(workspace, viewer, login):
    area = ProductArea.objects.create(workspace=workspace, name="Payments")
    stakeholder = _stakeholder(workspace, name="Dana")
    follow = services.follow_add(workspace=workspace, stakeholder=stakeholder, area_id=area.id)
    client = login(viewer)

    html = client.get(_url(workspace, "stakeholder-detail", stakeholder_id=stakeholder.id))

    page = html.content.decode()
    assert html.status_code == 200
    assert "Payments" in page
    assert '<fieldset class="fieldset" disabled' in page
    assert "Follow something" not in page
    assert _url(workspace, "stakeholder-delete", stakeholder_id=stakeholder.id) not in page
    remove = _url(workspace, "follow-remove", stakeholder_id=stakeholder.id, follow_id=follow.id)
    assert remove not in page
    assert client.post(remove).status_code == 403
    assert client.post(_url(workspace, "follow-add", stakeholder_id=stakeholder.id),
                       {"target": f"area:{area.id}"}).status_code == 403  # fmt: skip
    assert Follow.objects.for_workspace(workspace).count() == 1


def test_a_followed_company_is_marked_as_their_account_and_back(workspace, member, login):
    company = Company.objects.create(workspace=workspace, name="Acme Corp")
    stakeholder = _stakeholder(workspace)
    follow = services.follow_add(
        workspace=workspace, stakeholder=stakeholder, company_id=company.id
    )
    client = login(member)
    detail = _url(workspace, "stakeholder-detail", stakeholder_id=stakeholder.id)
    add = _url(workspace, "follow-add", stakeholder_id=stakeholder.id)

    assert "Mark as their account" in client.get(detail).content.decode()
    client.post(add, {"target": f"company:{company.id}", "owns": "1"})
    follow.refresh_from_db()
    assert follow.owns is True
    assert "Not their account" in client.get(detail).content.decode()
    client.post(add, {"target": f"company:{company.id}"})
    follow.refresh_from_db()
    assert follow.owns is False
    assert Follow.objects.for_workspace(workspace).count() == 1
