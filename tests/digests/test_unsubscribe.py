"""The links in a digest for people who never log in: unsubscribe (a GET only asks, a POST does
it, RFC 8058's one-click POST with no cookie and no CSRF token too) and the web version;
tampered, expired and orphaned links get a page saying so."""

from __future__ import annotations

import datetime
import time

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from pmhub.digests import services
from pmhub.digests.content import DigestRequest, digests_build
from pmhub.digests.models import Stakeholder
from pmhub.digests.render import digest_html
from pmhub.digests.signing import (
    UNSUBSCRIBE_MAX_AGE,
    UNSUBSCRIBE_SALT,
    unsubscribe_token,
    web_token,
)
from pmhub.digests.unsubscribe import stakeholder_unsubscribe
from tests.digests.test_content import _changes, _stakeholder, world  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db

ONE_CLICK = "List-Unsubscribe=One-Click"


@pytest.fixture
def stakeholder(workspace):
    return services.stakeholder_create(
        workspace=workspace, email="dana@client.test", name="Dana", follows_workspace=True
    )


@pytest.fixture
def client() -> Client:
    """A browser or mail client with CSRF checks on, as in production."""
    return Client(enforce_csrf_checks=True)


def url_for(stakeholder, workspace_id=None) -> str:
    token = unsubscribe_token(
        workspace_id=workspace_id or stakeholder.workspace_id, stakeholder_id=stakeholder.id
    )
    return reverse("digest:unsubscribe", kwargs={"digest_token": token})


def state(stakeholder) -> tuple[str, int]:
    stakeholder.refresh_from_db()
    return stakeholder.status, stakeholder.version


class PastSigner(signing.TimestampSigner):
    """Signs as if it were `age` ago."""

    def __init__(self, *, age: datetime.timedelta, **kwargs) -> None:
        super().__init__(**kwargs)
        self.age = age

    def timestamp(self) -> str:
        return signing.b62_encode(int(time.time() - self.age.total_seconds()))


def assert_private(response) -> None:
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"]


# --- unsubscribe -----------------------------------------------------------------------------
def test_get_asks_and_changes_nothing(client, stakeholder):
    before = state(stakeholder)

    response = client.get(url_for(stakeholder))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Stop the Acme digest?" in page
    assert "<strong>dana@client.test</strong>" in page
    assert '<form method="post">' in page
    assert '<button type="submit" class="btn btn--primary">Unsubscribe</button>' in page
    assert state(stakeholder) == before == ("active", 1)
    assert_private(response)


def test_the_confirmation_form_unsubscribes(client, stakeholder):
    response = client.post(url_for(stakeholder))

    assert response.status_code == 200
    assert "You are unsubscribed" in response.content.decode()
    assert state(stakeholder) == ("unsubscribed", 2)
    assert_private(response)


def test_one_click_post_with_no_cookie_and_no_token_unsubscribes(client, stakeholder):
    response = client.post(
        url_for(stakeholder), ONE_CLICK, content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 200
    assert not client.cookies
    assert state(stakeholder) == ("unsubscribed", 2)


def test_posting_twice_is_fine_and_bumps_the_version_once(client, stakeholder):
    url = url_for(stakeholder)
    first = client.post(url, ONE_CLICK, content_type="application/x-www-form-urlencoded")
    second = client.post(url)

    assert first.status_code == second.status_code == 200
    assert "You are unsubscribed" in second.content.decode()
    assert state(stakeholder) == ("unsubscribed", 2)
    # Opening the link again says so instead of asking.
    again = client.get(url)
    assert "You are unsubscribed" in again.content.decode()


def test_service_is_idempotent(workspace, stakeholder):
    first = stakeholder_unsubscribe(workspace=workspace, stakeholder=stakeholder)
    second = stakeholder_unsubscribe(workspace=workspace, stakeholder=stakeholder)
    assert (first.status, first.version) == (second.status, second.version) == ("unsubscribed", 2)


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"), id="signature_case"),
        pytest.param(lambda t: t.replace(t.split(":")[0], "1.999999", 1), id="other_ids_case"),
        pytest.param(lambda t: "garbage", id="garbage_case"),
        pytest.param(lambda t: t.split(":")[0], id="unsigned_case"),
    ],
)
def test_a_tampered_link_is_refused(client, stakeholder, mangle):
    token = unsubscribe_token(workspace_id=stakeholder.workspace_id, stakeholder_id=stakeholder.id)
    url = reverse("digest:unsubscribe", kwargs={"digest_token": mangle(token)})

    for response in (client.get(url), client.post(url)):
        assert response.status_code == 400
        page = response.content.decode()
        assert "This link does not work" in page
        assert "Traceback" not in page
        assert_private(response)
    assert state(stakeholder) == ("active", 1)


def test_a_web_version_link_is_no_unsubscribe_link(client, stakeholder):
    now = timezone.now()
    token = web_token(
        workspace_id=stakeholder.workspace_id, stakeholder_id=stakeholder.id,
        covers_from=now - datetime.timedelta(days=7), covers_until=now,
    )  # fmt: skip

    response = client.post(reverse("digest:unsubscribe", kwargs={"digest_token": token}))

    assert response.status_code == 400
    assert state(stakeholder) == ("active", 1)


def test_an_expired_link_is_refused(client, stakeholder):
    value = f"{stakeholder.workspace_id}.{stakeholder.id}"
    old = PastSigner(age=UNSUBSCRIBE_MAX_AGE + datetime.timedelta(hours=1), salt=UNSUBSCRIBE_SALT)
    recent = PastSigner(
        age=UNSUBSCRIBE_MAX_AGE - datetime.timedelta(hours=1), salt=UNSUBSCRIBE_SALT
    )
    expired = reverse("digest:unsubscribe", kwargs={"digest_token": old.sign(value)})
    still_good = reverse("digest:unsubscribe", kwargs={"digest_token": recent.sign(value)})

    response = client.post(expired)

    assert response.status_code == 400
    assert "expired" in response.content.decode()
    assert state(stakeholder) == ("active", 1)
    assert client.post(still_good).status_code == 200
    assert state(stakeholder) == ("unsubscribed", 2)


def test_a_link_naming_another_workspace_finds_nobody(client, stakeholder, other_workspace):
    # A validly signed token whose stakeholder id belongs to another workspace.
    url = url_for(stakeholder, workspace_id=other_workspace.id)

    for response in (client.get(url), client.post(url)):
        assert response.status_code == 404
        assert "This digest is no longer here" in response.content.decode()
    assert state(stakeholder) == ("active", 1)


def test_a_link_of_a_deleted_stakeholder_finds_nobody(client, workspace, stakeholder):
    url = url_for(stakeholder)
    Stakeholder.objects.for_workspace(workspace).filter(id=stakeholder.id).delete()

    assert client.post(url).status_code == 404


def test_other_methods_are_not_allowed(client, stakeholder):
    assert client.put(url_for(stakeholder)).status_code == 405


# --- the web version ---------------------------------------------------------------------------
def test_web_version_shows_exactly_the_digest_html(client, workspace, world):  # noqa: F811
    _changes(workspace, world)
    reader = _stakeholder(workspace, "ann@acme.test", company=world["acme"], owns=True)
    until = timezone.now() + datetime.timedelta(seconds=1)
    (digest,) = digests_build(workspace, [DigestRequest(reader, world["start"], until)])
    web_path = digest.web_url.split("://", 1)[1].split("/", 1)[1]

    response = client.get(f"/{web_path}")

    assert response.status_code == 200
    assert response.content.decode() == digest_html(digest)
    assert "SSO" in response.content.decode()
    assert 'id="entry-1"' in response.content.decode()
    assert_private(response)


def test_web_version_of_a_tampered_or_orphaned_link(client, stakeholder, other_workspace):
    now = timezone.now()
    token = web_token(
        workspace_id=other_workspace.id, stakeholder_id=stakeholder.id,
        covers_from=now - datetime.timedelta(days=7), covers_until=now,
    )  # fmt: skip

    orphan = client.get(reverse("digest:web", kwargs={"digest_token": token}))
    tampered = client.get(reverse("digest:web", kwargs={"digest_token": token + "x"}))
    posted = Client().post(reverse("digest:web", kwargs={"digest_token": token}))

    assert orphan.status_code == 404
    assert tampered.status_code == 400
    assert posted.status_code == 405
