"""Logging in and out, failed-login throttling and password reset, through the real pages."""

from __future__ import annotations

import re
import uuid

import pytest
from django.test import Client

from pmhub.accounts.models import User
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "quiet-lantern-meadow-77"
THROTTLED = "Too many failed attempts. Wait 15 minutes, or reset your password."
MISMATCH = "That email and password do not match an account."


def _login(client: Client, email: str, password: str):
    return client.post("/accounts/login/", {"username": email, "password": password})


def _logged_in_as(client: Client) -> str | None:
    return client.session.get("_auth_user_id")


@pytest.fixture
def person() -> User:
    """Someone with a unique address, so that failure counters of earlier tests never apply."""
    return UserFactory(email=f"pat-{uuid.uuid4().hex[:8]}@example.com")


# --- login -----------------------------------------------------------------------------------
def test_login_accepts_the_email_in_any_case(member):
    client = Client()

    response = _login(client, "  BOB@Acme.Test", PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert _logged_in_as(client) == str(member.id)


def test_login_with_a_wrong_password_shows_one_clear_error(person):
    client = Client()

    response = _login(client, person.email, "not-the-password")

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [MISMATCH]
    assert MISMATCH in response.content.decode()
    assert _logged_in_as(client) is None


def test_login_never_redirects_to_another_site(person):
    client = Client()

    response = client.post(
        "/accounts/login/?next=https://evil.example/",
        {"username": person.email, "password": PASSWORD},
    )

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_the_login_page_sends_a_logged_in_person_home(member, login):
    response = login(member).get("/accounts/login/")

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_login_is_refused_after_the_allowed_failures_even_with_the_right_password(person, settings):
    settings.PMHUB_LOGIN_ATTEMPTS = 3
    client = Client()
    failures = [_login(client, person.email, f"wrong-{n}") for n in range(3)]

    response = _login(client, person.email.upper(), PASSWORD)

    assert [r.context["form"].non_field_errors() for r in failures] == [[MISMATCH]] * 3
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [THROTTLED]
    assert THROTTLED in response.content.decode()
    assert _logged_in_as(client) is None


def test_login_succeeds_below_the_allowed_failures(person, settings):
    settings.PMHUB_LOGIN_ATTEMPTS = 3
    client = Client()
    _login(client, person.email, "wrong-1")
    _login(client, person.email, "wrong-2")

    response = _login(client, person.email, PASSWORD)

    assert response.status_code == 302
    assert _logged_in_as(client) == str(person.id)


def test_login_throttling_is_per_address(person, settings):
    settings.PMHUB_LOGIN_ATTEMPTS = 3
    for n in range(3):
        _login(Client(REMOTE_ADDR="10.0.0.1"), person.email, f"wrong-{n}")
    elsewhere = Client(REMOTE_ADDR="10.0.0.2")

    response = _login(elsewhere, person.email, PASSWORD)

    assert response.status_code == 302
    assert _logged_in_as(elsewhere) == str(person.id)


# --- logout ----------------------------------------------------------------------------------
def test_logout_refuses_get(member, login):
    client = login(member)

    response = client.get("/accounts/logout/")

    assert response.status_code == 405
    assert _logged_in_as(client) == str(member.id)


def test_logout_by_post_ends_the_session(workspace, member, login):
    client = login(member)

    response = client.post("/accounts/logout/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert _logged_in_as(client) is None
    assert client.get("/w/acme/settings/members/")["Location"] == (
        "/accounts/login/?next=/w/acme/settings/members/"
    )


# --- password reset --------------------------------------------------------------------------
def _parts(message) -> dict[str, str]:
    return {
        part.get_content_type(): part.get_payload(decode=True).decode()
        for part in message.walk()
        if not part.is_multipart()
    }


def test_password_reset_mails_a_link_that_sets_a_new_password(member, smtp_mail):
    client = Client()

    response = client.post("/accounts/password-reset/", {"email": "Bob@ACME.test"})

    assert response.status_code == 302
    assert response["Location"] == "/accounts/password-reset/sent/"
    assert len(smtp_mail.messages) == 1
    mail = smtp_mail.messages[0]
    assert mail["To"] == "bob@acme.test"
    parts = _parts(mail)
    assert set(parts) == {"text/plain", "text/html"}
    link = re.search(r"https?://[^/\s]+(/accounts/reset/[^/\s]+/[^/\s]+/)", parts["text/plain"])
    assert link is not None
    assert link.group(1) in parts["text/html"]

    form_page = client.get(link.group(1))
    assert form_page.status_code == 302
    set_password_url = form_page["Location"]
    assert set_password_url.endswith("/set-password/")
    assert client.get(set_password_url).status_code == 200
    done = client.post(
        set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )

    assert done.status_code == 302
    assert done["Location"] == "/accounts/reset/done/"
    member.refresh_from_db()
    assert member.check_password(NEW_PASSWORD)
    assert not member.check_password(PASSWORD)
    assert _login(Client(), "bob@acme.test", NEW_PASSWORD).status_code == 302


def test_a_password_reset_link_works_only_once(member, smtp_mail):
    client = Client()
    client.post("/accounts/password-reset/", {"email": "bob@acme.test"})
    path = re.search(
        r"/accounts/reset/[^/\s]+/[^/\s]+/", _parts(smtp_mail.messages[0])["text/plain"]
    )
    set_password_url = client.get(path.group(0))["Location"]
    client.post(set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    again = Client().get(path.group(0))

    assert again.status_code == 200
    assert again.context["validlink"] is False


def test_password_reset_for_an_unknown_email_sends_nothing_and_says_the_same(db, smtp_mail):
    response = Client().post("/accounts/password-reset/", {"email": "nobody@example.com"})

    assert response.status_code == 302
    assert response["Location"] == "/accounts/password-reset/sent/"
    assert smtp_mail.messages == []
