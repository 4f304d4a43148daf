"""The quick start's Outbox: digests delivered over SMTP to a real aiosmtpd Mailbox sink (a
Maildir, as `python -m pmhub.dev` runs it) and read back, each workspace its own mail only;
absent outside the quick start; hostile keys; roles; query counts."""

from __future__ import annotations

import mailbox
import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from django.urls import reverse

from pmhub.digests import sender
from pmhub.digests.models import Delivery
from pmhub.digests.render import message_id_for
from pmhub.workspaces.roles import Role
from tests.digests.test_sender import due, shipped, stakeholder
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


def _url(workspace, name, **kwargs):
    return reverse(f"digests:{name}", kwargs={"workspace_slug": workspace.slug, **kwargs})


@pytest.fixture
def maildir(tmp_path: Path, settings: Any) -> Iterator[Path]:
    """A real SMTP server keeping every message in a Maildir, as the quick start's sink does,
    with the app's mail sent to it and its Outbox reading it."""
    path = tmp_path / "mail"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Mailbox(path), hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.PMHUB_DEV_MAILDIR = str(path)
    try:
        yield path
    finally:
        controller.stop()


def _received(path: Path) -> dict[str, Any]:
    """The sink's messages by Maildir key, parsed."""
    box = mailbox.Maildir(path, create=False)
    keys = list(box.keys())  # iterating a Maildir gives its messages, not their keys
    return {key: message_from_bytes(box.get_bytes(key), policy=policy.default) for key in keys}


def _key_of(path: Path, to: str) -> str:
    (key,) = [key for key, message in _received(path).items() if message["To"] == to]
    return key


@pytest.fixture
def sent(workspace, other_workspace, maildir):
    """A weekly digest of `workspace` to Dana and one of the other workspace to Lee, delivered
    by the sender to the sink."""
    shipped(workspace, "Single sign-on")
    shipped(other_workspace, "Secret project")
    dana = stakeholder(workspace, "dana@client.test", name="Dana Ruiz")
    lee = stakeholder(other_workspace, "lee@rival.test", name="Lee")
    ours = due(dana, period="2026-W48")
    due(lee, period="2026-W48")
    assert sender.deliveries_send().sent == 2
    return ours


def test_the_list_shows_the_workspaces_digest_and_not_another_workspaces(
    workspace, member, login, sent, maildir
):
    client = login(member)

    page = client.get(_url(workspace, "outbox"))

    html = page.content.decode()
    assert page.status_code == 200
    assert "dana@client.test" in html
    assert "lee@rival.test" not in html
    assert "Secret project" not in html
    ours = _key_of(maildir, "dana@client.test")
    assert _url(workspace, "outbox-message", message_key=ours) in html
    assert '<span class="badge">Weekly</span>' in html
    assert "Only in the quick start" in html
    # The other workspace's message, asked for by its key, is not found.
    theirs = _key_of(maildir, "lee@rival.test")
    assert client.get(_url(workspace, "outbox-message", message_key=theirs)).status_code == 404


def test_the_message_shows_the_html_exactly_as_received_in_a_sandboxed_frame(
    workspace, member, login, sent, maildir
):
    key = _key_of(maildir, "dana@client.test")
    received = _received(maildir)[key]
    client = login(member)

    page = client.get(_url(workspace, "outbox-message", message_key=key))

    html = page.content.decode()
    assert page.status_code == 200
    frame = html.split("<iframe ", 1)[1].split("></iframe>", 1)[0]
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in frame
    srcdoc = frame.split('srcdoc="', 1)[1].rsplit('"', 1)[0]
    assert unescape(srcdoc) == received.get_body(preferencelist=("html",)).get_content()
    assert "Single sign-on" in unescape(srcdoc)
    assert received["X-PMHub-Workspace"] == workspace.slug
    assert message_id_for(sent.id) in unescape(html)
    assert unescape(received["List-Unsubscribe"]) in unescape(html)
    assert "'unsafe-inline'" in page["Content-Security-Policy"].split("style-src", 1)[1]

    text = client.get(_url(workspace, "outbox-message", message_key=key) + "?view=text")
    body = text.content.decode()
    assert "<iframe" not in body
    assert unescape(body.split('<pre class="preview__text">', 1)[1].split("</pre>", 1)[0]) == (
        received.get_body(preferencelist=("plain",)).get_content()
    )


def test_a_test_send_is_listed_as_a_test(workspace, member, login, maildir):
    shipped(workspace, "Single sign-on")
    dana = stakeholder(workspace, "dana@client.test")
    delivery = sender.digest_test_send(workspace=workspace, stakeholder=dana, to="pm@acme.test")

    html = login(member).get(_url(workspace, "outbox")).content.decode()

    assert delivery.period.startswith("test-")
    assert "pm@acme.test" in html
    assert '<span class="badge badge--warning">Test</span>' in html


def test_without_the_setting_there_is_no_outbox_and_no_tab(
    workspace, member, login, sent, maildir, settings
):
    key = _key_of(maildir, "dana@client.test")
    client = login(member)
    assert 'href="' + _url(workspace, "outbox") + '"' in (
        client.get(_url(workspace, "run-list")).content.decode()
    )
    settings.PMHUB_DEV_MAILDIR = ""

    assert client.get(_url(workspace, "outbox")).status_code == 404
    assert client.get(_url(workspace, "outbox-message", message_key=key)).status_code == 404
    assert _url(workspace, "outbox") not in client.get(_url(workspace, "run-list")).content.decode()


def test_before_any_mail_the_list_says_where_mail_goes(
    workspace, member, login, settings, tmp_path
):
    settings.PMHUB_DEV_MAILDIR = str(tmp_path / "not-yet")

    page = login(member).get(_url(workspace, "outbox"))

    assert page.status_code == 200
    assert "No digest has arrived yet" in page.content.decode()


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("..", id="parent_case"),
        pytest.param(".", id="dot_case"),
        pytest.param(".hidden", id="dotfile_case"),
        pytest.param("a\\..\\b", id="backslash_case"),
        pytest.param("1764000000.M1P1Q1.nowhere", id="unknown_case"),
        pytest.param("x" * 300, id="long_case"),
    ],
)
def test_a_bad_key_is_not_found(workspace, member, login, sent, key):
    response = login(member).get(_url(workspace, "outbox-message", message_key=key))
    assert response.status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("../../../../etc/passwd/", id="dotdot_case"),
        pytest.param("..%2F..%2Fnew%2F/", id="encoded_case"),
        pytest.param("%2e%2e/", id="encoded_dots_case"),
        pytest.param("new%2F{key}/", id="subdir_case"),
    ],
)
def test_a_path_traversal_is_not_found(workspace, member, login, sent, maildir, path):
    url = _url(workspace, "outbox") + path.format(key=_key_of(maildir, "dana@client.test"))
    assert login(member).get(url).status_code == 404


@pytest.mark.parametrize(
    ("who_case", "status"),
    [
        ("anonymous_case", 302),
        ("outsider_case", 404),
        ("viewer_case", 403),
        ("editor_case", 200),
        ("admin_case", 200),
    ],
)
def test_who_may_read_the_outbox(
    who_case, status, workspace, admin, member, viewer, outsider, login, client, sent, maildir
):
    people = {"outsider_case": outsider, "viewer_case": viewer, "editor_case": member,
              "admin_case": admin}  # fmt: skip
    visitor = login(people[who_case]) if who_case in people else client
    key = _key_of(maildir, "dana@client.test")

    listing = visitor.get(_url(workspace, "outbox"))
    message = visitor.get(_url(workspace, "outbox-message", message_key=key))

    assert (listing.status_code, message.status_code) == (status, status)


def test_the_tab_is_shown_to_editors_not_viewers(workspace, member, viewer, login, maildir):
    tab = 'href="' + _url(workspace, "outbox") + '"'
    assert tab in login(member).get(_url(workspace, "settings")).content.decode()
    assert tab not in login(viewer).get(_url(workspace, "settings")).content.decode()


def test_a_message_too_large_shows_its_headers_only(workspace, member, login, maildir):
    box = mailbox.Maildir(maildir)
    key = box.add(
        f"X-PMHub-Workspace: {workspace.slug}\nSubject: Huge\nTo: big@client.test\n"
        "Content-Type: text/html\n\n" + "<p>" + "x" * (3 * 1024 * 1024) + "</p>\n"
    )

    page = login(member).get(_url(workspace, "outbox-message", message_key=key))

    html = page.content.decode()
    assert page.status_code == 200
    assert "big@client.test" in html
    assert "only its headers are shown" in html
    assert "<iframe" not in html


def test_list_query_count_does_not_grow_with_messages(
    workspace, member, login, maildir, django_assert_num_queries
):
    shipped(workspace, "Single sign-on")
    people = [stakeholder(workspace, f"p{n}@client.test") for n in range(4)]
    deliveries = [due(person) for person in people[:1]]
    sender.deliveries_send()
    client = login(member)
    client.get(_url(workspace, "outbox"))  # the session notes the workspace once
    # membership, the deliveries the Message-IDs name, the switcher
    with django_assert_num_queries(3):
        client.get(_url(workspace, "outbox"))
    deliveries += [due(person) for person in people[1:]]
    sender.deliveries_send()
    assert Delivery.objects.for_workspace(workspace).filter(status="sent").count() == 4
    with django_assert_num_queries(3):
        page = client.get(_url(workspace, "outbox"))
    assert page.content.decode().count("@client.test</td>") == 4


def test_the_list_reads_the_workspace_slug_only_from_the_header(workspace, member, login, maildir):
    other = WorkspaceFactory(slug=workspace.slug + "-x")
    MembershipFactory(user=UserFactory(), workspace=other, role=Role.EDITOR)
    box = mailbox.Maildir(maildir)
    box.add(f"X-PMHub-Workspace: {other.slug}\nSubject: Theirs\nTo: t@client.test\n\nhi\n")
    box.add(f"Subject: {workspace.slug}\nTo: none@client.test\n\nno header\n")

    html = login(member).get(_url(workspace, "outbox")).content.decode()

    assert "t@client.test" not in html
    assert "none@client.test" not in html
    assert "No digest has arrived yet" in html


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_pm_reads_a_digest_in_the_outbox_in_chromium(
    live_server, page, maildir, screenshots, console_errors
):
    from playwright.sync_api import expect

    from tests.docs.test_browser_review import _log_in, _shoot

    workspace = WorkspaceFactory(name="Acme", slug="acme")
    pm = UserFactory(email="pm@acme.test", name="Pat Manager")
    MembershipFactory(user=pm, workspace=workspace, role=Role.ADMIN)
    shipped(workspace, "Saved cards at checkout")
    shipped(workspace, "Single sign-on")
    for n, (email, name) in enumerate([("dana@client.test", "Dana Ruiz"), ("lee@client.test", "")]):
        due(stakeholder(workspace, email, name=name), period=f"2026-W4{8 - n}")
    assert sender.deliveries_send().sent == 2
    base = live_server.url
    page.set_viewport_size({"width": 1360, "height": 900})
    _log_in(page, base, "pm@acme.test")

    page.goto(f"{base}/w/acme/digests/")
    page.get_by_role("link", name="Outbox", exact=True).click()
    expect(page.get_by_role("heading", name="Outbox")).to_be_visible()
    expect(page.locator(".outbox-table tbody tr")).to_have_count(2)
    _shoot(page, screenshots, "digests-outbox")

    page.locator(".outbox-table tbody tr", has_text="dana@client.test").get_by_role("link").click()
    expect(page.locator(".preview__envelope")).to_contain_text("dana@client.test")
    frame = page.frame_locator("iframe.preview__frame")
    expect(frame.get_by_text("Saved cards at checkout")).to_be_visible()
    _shoot(page, screenshots, "digests-outbox-message")

    page.get_by_role("link", name="Plain text").click()
    expect(page.locator(".preview__text")).to_contain_text("Saved cards at checkout")
    _shoot(page, screenshots, "digests-outbox-text")
    assert console_errors == []
