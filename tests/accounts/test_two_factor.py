"""Two-factor authentication (issue 9, Security 4): TOTP against RFC 6238's vectors, the sealed
key, setup and recovery codes, the login's second step (throttled, single-use codes, a password
reset that does not skip it), and workspaces that require it, at no query's cost."""

from __future__ import annotations

import base64
import io
import json
import re
import secrets
import time

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.tokens import default_token_generator
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from playwright.sync_api import Page, expect

from pmhub.accounts import totp
from pmhub.accounts.models import RecoveryCode, TwoFactor, User
from pmhub.accounts.sealing import SealBroken, seal, unseal
from pmhub.accounts.two_factor import (
    PENDING_KEY,
    THROTTLED,
    WRONG_CODE,
    CodeRefused,
    recovery_code_hash,
    two_factor_enable,
    two_factor_setup,
)
from pmhub.workspaces.export import workspace_export
from pmhub.workspaces.models import AuditEvent, Workspace
from pmhub.workspaces.roles import Role
from tests.accounts.test_hardening import _logged_text, every_log_record  # noqa: F401 - a fixture
from tests.factories import PASSWORD, MembershipFactory, UserFactory, WorkspaceFactory

NEW_PASSWORD = "quiet-lantern-meadow-77"
SESSION_COOKIE = django_settings.SESSION_COOKIE_NAME

# RFC 6238 appendix B: the seeds are the ASCII digits repeated to each hash's key length.
SEED_SHA1 = b"12345678901234567890"
SEED_SHA256 = b"12345678901234567890123456789012"
SEED_SHA512 = b"1234567890" * 6 + b"1234"
RFC6238_VECTORS = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]
# RFC 4226 appendix D: HOTP of SEED_SHA1 for counters 0 to 9.
RFC4226_VECTORS = [
    "755224", "287082", "359152", "969429", "338314",
    "254676", "287922", "162583", "399871", "520489",
]  # fmt: skip


# --- TOTP, by the RFCs -----------------------------------------------------------------------
@pytest.mark.parametrize(("at", "sha1", "sha256", "sha512"), RFC6238_VECTORS)
def test_totp_matches_the_rfc_6238_vectors(at, sha1, sha256, sha512):
    assert totp.totp(SEED_SHA1, at, digits=8, digest="sha1") == sha1
    assert totp.totp(SEED_SHA256, at, digits=8, digest="sha256") == sha256
    assert totp.totp(SEED_SHA512, at, digits=8, digest="sha512") == sha512


def test_hotp_matches_the_rfc_4226_vectors():
    assert [totp.hotp(SEED_SHA1, counter) for counter in range(10)] == RFC4226_VECTORS


def test_the_six_digit_code_is_the_last_six_of_the_rfc_vector():
    # Truncation takes the number modulo 10^digits: the app's code ends the 8-digit one.
    assert totp.totp(SEED_SHA1, 1111111109) == "081804"
    assert totp.time_step(1111111109) == 37037036


@pytest.mark.parametrize(
    ("offset", "accepted"), [(-2, False), (-1, True), (0, True), (1, True), (2, False)]
)
def test_a_code_is_accepted_one_step_either_side_and_no_further(offset, accepted):
    now = 1_700_000_000.0
    step = totp.time_step(now) + offset

    found = totp.code_step(SEED_SHA1, totp.hotp(SEED_SHA1, step), now)

    assert found == (step if accepted else None)


def test_a_used_step_and_the_ones_before_it_are_not_accepted_again():
    now = 1_700_000_000.0
    step = totp.time_step(now)
    current, previous = totp.hotp(SEED_SHA1, step), totp.hotp(SEED_SHA1, step - 1)

    assert totp.code_step(SEED_SHA1, current, now, after_step=step) is None
    assert totp.code_step(SEED_SHA1, previous, now, after_step=step) is None
    assert totp.code_step(SEED_SHA1, totp.hotp(SEED_SHA1, step + 1), now, after_step=step) == (
        step + 1
    )


@pytest.mark.parametrize("code", ["", "12345", "1234567", "12a456", "１２３４５６"])
def test_anything_but_six_ascii_digits_is_no_code(code):
    assert totp.code_step(SEED_SHA1, code, 1_700_000_000.0) is None


def test_the_key_travels_as_base32_and_in_an_otpauth_address():
    secret = totp.secret_generate()
    text = totp.secret_to_base32(secret)

    assert len(secret) == 20
    assert "=" not in text
    assert totp.secret_from_base32(" ".join(text[i : i + 4] for i in range(0, 32, 4))) == secret
    uri = totp.provisioning_uri(secret, account="bob@acme.test", issuer="pmhub")
    assert uri == (
        f"otpauth://totp/pmhub:bob@acme.test?secret={text}&issuer=pmhub&algorithm=SHA1"
        "&digits=6&period=30"
    )


# --- the sealed key --------------------------------------------------------------------------
def test_a_sealed_key_opens_only_with_the_installation_key(settings):
    secret = totp.secret_generate()
    sealed = seal(secret)

    assert unseal(sealed) == secret
    assert totp.secret_to_base32(secret) not in sealed
    assert seal(secret) != sealed  # a new nonce each time
    settings.SECRET_KEY = "another-installation"
    with pytest.raises(SealBroken):
        unseal(sealed)
    settings.SECRET_KEY_FALLBACKS = ["test-only-insecure-key"]
    assert unseal(sealed) == secret  # a rotated key still opens older seals


def test_an_altered_seal_is_refused():
    sealed = seal(b"x" * 20)
    raw = bytearray(base64.urlsafe_b64decode(sealed))
    raw[20] ^= 1
    altered = base64.urlsafe_b64encode(bytes(raw)).decode()

    with pytest.raises(SealBroken):
        unseal(altered)
    with pytest.raises(SealBroken):
        unseal("not sealed at all")


# --- helpers for the flows -------------------------------------------------------------------
def _secret_of(user: User) -> bytes:
    return unseal(TwoFactor.objects.get(user=user).sealed_secret)


def _fresh_code(user: User) -> str:
    """A code of the user's app that has not been used: the earliest step in the window after
    the last one accepted."""
    last = TwoFactor.objects.get(user=user).last_used_step
    now = totp.time_step(time.time())
    step = now - totp.WINDOW if last is None else max(now - totp.WINDOW, last + 1)
    assert step <= now + totp.WINDOW, "every code of the window was used; wait 30 s"
    return totp.hotp(_secret_of(user), step)


def _turn_on(user: User) -> list[str]:
    """Two-factor on for `user` through the real setup; returns the recovery codes."""
    two_factor_setup(user=user)
    codes = two_factor_enable(user=user, code=_fresh_code(user), address="127.0.0.1")
    user.refresh_from_db()
    return codes


def _password_step(client: Client, email: str, password: str = PASSWORD, next_url: str = ""):
    data = {"username": email, "password": password}
    if next_url:
        data["next"] = next_url
    return client.post("/accounts/login/", data)


def _logged_in_as(client: Client) -> str | None:
    return client.session.get("_auth_user_id")


@pytest.fixture
def person(db) -> User:
    """A unique address, so that no other test's failure counters apply."""
    return UserFactory(email=f"pat-{secrets.token_hex(4)}@example.com")


@pytest.fixture
def guarded(person) -> tuple[User, list[str]]:
    """`person` with two-factor on, and their recovery codes."""
    return person, _turn_on(person)


# --- setup ------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_setting_up_shows_the_key_then_needs_a_code_then_shows_ten_recovery_codes_once(
    person, login
):
    client = login(person)

    setup_page = client.get("/accounts/two-factor/")
    key_text = setup_page.context["setup"].secret_text
    body = setup_page.content.decode()
    assert key_text in body
    assert "<svg" in body
    assert 'class="qr"' in body
    assert "http://" not in body.split('class="qr"')[1].split("</svg>")[0]
    assert client.get("/accounts/two-factor/").context["setup"].secret_text == key_text  # reload
    secret = totp.secret_from_base32(key_text)
    assert person.has_two_factor is False

    done = client.post("/accounts/two-factor/", {"code": totp.totp(secret, time.time())})

    person.refresh_from_db()
    assert done.status_code == 200
    assert person.has_two_factor
    codes = done.context["recovery_codes"]
    assert len(codes) == 10 == len(set(codes))
    assert all(re.fullmatch(r"[a-z2-9]{5}-[a-z2-9]{5}", code) for code in codes)
    stored = set(RecoveryCode.objects.filter(user=person).values_list("code_hash", flat=True))
    assert stored == {recovery_code_hash(code) for code in codes}
    assert key_text.replace(" ", "") not in TwoFactor.objects.get(user=person).sealed_secret
    later = client.get("/accounts/two-factor/").content.decode()
    assert key_text not in later
    assert key_text.replace(" ", "") not in later
    assert not any(code in later for code in codes)
    assert "10 of 10 left" in later


@pytest.mark.django_db
def test_a_wrong_code_turns_nothing_on(person, login):
    client = login(person)
    client.get("/accounts/two-factor/")

    response = client.post("/accounts/two-factor/", {"code": "000000"})

    person.refresh_from_db()
    assert response.status_code == 400
    assert response.context["setup_form"].non_field_errors() == [WRONG_CODE]
    assert person.has_two_factor is False
    assert RecoveryCode.objects.filter(user=person).count() == 0


# --- the login's second step -----------------------------------------------------------------
@pytest.mark.django_db
def test_the_password_alone_logs_no_one_in_and_the_code_finishes_with_a_new_session(guarded):
    person, _codes = guarded
    client = Client()
    client.get("/accounts/login/")
    before = client.cookies[SESSION_COOKIE].value if SESSION_COOKIE in client.cookies else None

    first = _password_step(client, person.email, next_url="/workspaces/new/")

    assert first.status_code == 302
    assert first["Location"] == "/accounts/login/two-factor/"
    assert _logged_in_as(client) is None
    assert client.get("/workspaces/new/")["Location"].startswith("/accounts/login/")
    pending_key = client.cookies[SESSION_COOKIE].value
    assert pending_key != before
    prompt = client.get("/accounts/login/two-factor/")
    assert prompt.status_code == 200
    assert person.email in prompt.content.decode()

    second = client.post("/accounts/login/two-factor/", {"code": _fresh_code(person)})

    assert second.status_code == 302
    assert second["Location"] == "/workspaces/new/"
    assert _logged_in_as(client) == str(person.id)
    assert client.cookies[SESSION_COOKIE].value != pending_key  # login() rotated it again
    assert PENDING_KEY not in client.session


@pytest.mark.django_db
def test_people_without_two_factor_log_in_with_the_password_as_before(person):
    client = Client()

    response = _password_step(client, person.email)

    assert response["Location"] == "/"
    assert _logged_in_as(client) == str(person.id)


@pytest.mark.django_db
def test_a_code_once_accepted_is_refused_the_second_time(guarded):
    person, _codes = guarded
    code = _fresh_code(person)
    first = Client()
    _password_step(first, person.email)
    assert first.post("/accounts/login/two-factor/", {"code": code}).status_code == 302

    second = Client()
    _password_step(second, person.email)
    replayed = second.post("/accounts/login/two-factor/", {"code": code})

    assert replayed.status_code == 400
    assert replayed.context["form"].non_field_errors() == [WRONG_CODE]
    assert _logged_in_as(second) is None


@pytest.mark.django_db
def test_wrong_codes_are_throttled_and_logged_without_the_code(
    guarded,
    settings,
    every_log_record,  # noqa: F811 - the fixture imported above
):
    person, _codes = guarded
    settings.PMHUB_LOGIN_ATTEMPTS = 3
    client = Client(REMOTE_ADDR="198.51.100.9")
    _password_step(client, person.email)
    right = _fresh_code(person)
    wrong = [f"{(int(right) + n) % 1_000_000:06d}" for n in (1, 2, 3)]

    answers = [client.post("/accounts/login/two-factor/", {"code": code}) for code in wrong]
    locked = client.post("/accounts/login/two-factor/", {"code": right})

    assert [r.context["form"].non_field_errors() for r in answers] == [[WRONG_CODE]] * 3
    assert locked.context["form"].non_field_errors() == [THROTTLED]
    assert _logged_in_as(client) is None
    logged = [r for r in every_log_record if r.name == "pmhub.accounts.two_factor"]
    assert [r.getMessage() for r in logged[-4:]] == [
        f"two-factor code failed: email={person.email} address=198.51.100.9 failures=1",
        f"two-factor code failed: email={person.email} address=198.51.100.9 failures=2",
        f"two-factor code failed: email={person.email} address=198.51.100.9 failures=3",
        f"two-factor code refused, too many failures: email={person.email} address=198.51.100.9",
    ]
    text = _logged_text(every_log_record)
    for secret in [right, *wrong, totp.secret_to_base32(_secret_of(person)), PASSWORD]:
        assert secret not in text


@pytest.mark.django_db
def test_wrong_codes_refused_inside_a_change_still_count(person, settings):
    """Turning two-factor on (or off) with a wrong code refuses the change, and the wrong code
    is counted all the same: it is not rolled back with the change."""
    settings.PMHUB_LOGIN_ATTEMPTS = 3
    two_factor_setup(user=person)
    right = _fresh_code(person)
    wrong = [f"{(int(right) + n) % 1_000_000:06d}" for n in (1, 2, 3)]
    for code in wrong:
        with pytest.raises(CodeRefused) as refused:
            two_factor_enable(user=person, code=code, address="127.0.0.1")
        assert refused.value.message == WRONG_CODE

    with pytest.raises(CodeRefused) as locked:
        two_factor_enable(user=person, code=right, address="127.0.0.1")

    assert locked.value.message == THROTTLED
    person.refresh_from_db()
    assert not person.has_two_factor


@pytest.mark.django_db
def test_a_recovery_code_logs_in_once(guarded):
    person, codes = guarded
    client = Client()
    _password_step(client, person.email)

    used = client.post("/accounts/login/two-factor/", {"code": codes[3].upper()})

    assert used.status_code == 302
    assert _logged_in_as(client) == str(person.id)
    again = Client()
    _password_step(again, person.email)
    assert again.post("/accounts/login/two-factor/", {"code": codes[3]}).status_code == 400
    assert again.post("/accounts/login/two-factor/", {"code": codes[4]}).status_code == 302
    assert RecoveryCode.objects.filter(user=person, used_at__isnull=True).count() == 8


@pytest.mark.django_db
def test_the_second_step_expires_after_five_minutes(guarded):
    person, _codes = guarded
    client = Client()
    _password_step(client, person.email)
    session = client.session
    session[PENDING_KEY] = {**session[PENDING_KEY], "until": time.time() - 1}
    session.save()

    response = client.post("/accounts/login/two-factor/", {"code": _fresh_code(person)})

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert _logged_in_as(client) is None
    assert client.get("/accounts/login/two-factor/")["Location"] == "/accounts/login/"


@pytest.mark.django_db
def test_a_password_reset_does_not_skip_the_code(guarded):
    person, _codes = guarded
    client = Client()
    link = (
        f"/accounts/reset/{urlsafe_base64_encode(force_bytes(person.pk))}/"
        f"{default_token_generator.make_token(person)}/"
    )
    form_page = client.get(link)

    saved = client.post(
        form_page["Location"], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )

    person.refresh_from_db()
    assert person.check_password(NEW_PASSWORD)
    assert saved["Location"] == "/accounts/login/two-factor/"
    assert _logged_in_as(client) is None
    finished = client.post("/accounts/login/two-factor/", {"code": _fresh_code(person)})
    assert finished["Location"] == "/"
    assert _logged_in_as(client) == str(person.id)


# --- recovery codes and turning it off --------------------------------------------------------
@pytest.mark.django_db
def test_new_recovery_codes_need_the_password_and_end_the_old_ones(guarded, login):
    person, old_codes = guarded
    client = login(person)

    refused = client.post(
        "/accounts/two-factor/recovery-codes/", {"regenerate-password_or_code": "wrong"}
    )
    made = client.post(
        "/accounts/two-factor/recovery-codes/", {"regenerate-password_or_code": PASSWORD}
    )

    assert refused.status_code == 400
    new_codes = made.context["recovery_codes"]
    assert len(new_codes) == 10
    assert not set(new_codes) & set(old_codes)
    stored = set(RecoveryCode.objects.filter(user=person).values_list("code_hash", flat=True))
    assert stored == {recovery_code_hash(code) for code in new_codes}


@pytest.mark.django_db
@pytest.mark.parametrize("proof", ["password", "code"])
def test_turning_it_off_needs_the_password_or_a_code(guarded, login, proof):
    person, _codes = guarded
    client = login(person)

    refused = client.post("/accounts/two-factor/disable/", {"disable-password_or_code": "123"})
    person.refresh_from_db()
    assert refused.status_code == 400
    assert person.has_two_factor

    answer = PASSWORD if proof == "password" else _fresh_code(person)
    done = client.post("/accounts/two-factor/disable/", {"disable-password_or_code": answer})

    person.refresh_from_db()
    assert done.status_code == 302
    assert person.has_two_factor is False
    assert not TwoFactor.objects.filter(user=person).exists()
    assert not RecoveryCode.objects.filter(user=person).exists()
    assert _password_step(Client(), person.email)["Location"] == "/"


# --- secrets stay out of the export and the API ------------------------------------------------
@pytest.mark.django_db
def test_the_key_and_recovery_codes_are_in_no_export_and_no_api_answer(
    workspace, member, make_token
):
    codes = _turn_on(member)
    key = totp.secret_to_base32(_secret_of(member))
    sealed = TwoFactor.objects.get(user=member).sealed_secret
    hashes = list(RecoveryCode.objects.filter(user=member).values_list("code_hash", flat=True))

    document = "".join(workspace_export(workspace))
    me = Client(HTTP_AUTHORIZATION=f"Bearer {make_token(member, workspace, 'read')}").get(
        "/api/v1/me/"
    )

    exported = json.loads(document)
    assert [m["email"] for m in exported["members"]] == ["bob@acme.test"]
    assert me.status_code == 200
    for text in (document, me.content.decode()):
        for secret in [key, sealed, *codes, *hashes]:
            assert secret not in text


# --- workspaces that require it ----------------------------------------------------------------
@pytest.fixture
def strict(workspace) -> Workspace:
    workspace.two_factor_required = True
    workspace.save(update_fields=["two_factor_required"])
    return workspace


@pytest.mark.django_db
def test_a_member_without_two_factor_is_sent_to_set_it_up_with_the_reason(strict, member, login):
    client = login(member)

    response = client.get("/w/acme/backlog/?status=planned")

    assert response.status_code == 302
    assert response["Location"] == (
        "/accounts/two-factor/?workspace=acme&next=%2Fw%2Facme%2Fbacklog%2F%3Fstatus%3Dplanned"
    )
    page = client.get(response["Location"])
    body = page.content.decode()
    assert "Acme requires two-factor authentication." in body
    assert page.context["next_url"] == "/w/acme/backlog/?status=planned"
    htmx = client.post("/w/acme/backlog/", HTTP_HX_REQUEST="true")
    assert htmx["HX-Redirect"] == "/accounts/two-factor/?workspace=acme"


@pytest.mark.django_db
def test_after_setting_it_up_the_member_goes_back_where_they_were(strict, member, login):
    client = login(member)
    setup = client.get("/accounts/two-factor/?workspace=acme&next=/w/acme/backlog/")
    secret = totp.secret_from_base32(setup.context["setup"].secret_text)

    done = client.post(
        "/accounts/two-factor/",
        {"code": totp.totp(secret, time.time()), "workspace": "acme", "next": "/w/acme/backlog/"},
    )

    assert 'href="/w/acme/backlog/"' in done.content.decode()
    assert "Continue to Acme" in done.content.decode()
    assert client.get("/w/acme/backlog/").status_code == 200


@pytest.mark.django_db
def test_the_setup_page_never_sends_anyone_to_another_site(strict, member, login):
    page = login(member).get("/accounts/two-factor/?workspace=acme&next=https://evil.test/")

    assert page.context["next_url"] == ""
    assert page.context["required_by"] == strict


@pytest.mark.django_db
def test_the_api_refuses_a_session_and_a_token_without_two_factor_with_a_clear_message(
    strict, member, make_token
):
    raw = make_token(member, strict, "read")
    session = Client()
    session.force_login(member)

    by_session = session.get("/api/v1/workspaces/acme/members/")
    by_token = Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/workspaces/acme/members/")

    assert by_session.status_code == 403
    assert by_session.json() == {
        "message": "This workspace requires two-factor authentication, which you have not "
        "turned on. Turn it on under Account › Two-factor authentication.",
        "extra": {"setup_url": "/accounts/two-factor/"},
    }
    assert by_token.status_code == 403
    assert "this token's owner has not turned on" in by_token.json()["message"]
    _turn_on(member)
    assert session.get("/api/v1/workspaces/acme/members/").status_code == 200
    assert (
        Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
        .get("/api/v1/workspaces/acme/members/")
        .status_code
        == 200
    )


@pytest.mark.django_db
def test_a_workspace_that_does_not_require_it_lets_everyone_in(workspace, member, login):
    assert login(member).get("/w/acme/backlog/").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "has_two_factor", "status", "required_after"),
    [
        pytest.param(Role.VIEWER, True, 403, False, id="viewer_case"),
        pytest.param(Role.EDITOR, True, 403, False, id="editor_case"),
        pytest.param(Role.ADMIN, False, 400, False, id="admin_without_two_factor_case"),
        pytest.param(Role.ADMIN, True, 302, True, id="admin_case"),
    ],
)
def test_only_an_admin_with_two_factor_can_require_it(
    workspace, login, role, has_two_factor, status, required_after
):
    user = MembershipFactory(workspace=workspace, role=role).user
    if has_two_factor:
        _turn_on(user)

    response = login(user).post("/w/acme/settings/security/", {"two_factor_required": "on"})

    workspace.refresh_from_db()
    assert response.status_code == status
    assert workspace.two_factor_required is required_after
    events = AuditEvent.objects.for_workspace(workspace).filter(action__startswith="workspace.two")
    assert [e.changes for e in events] == (
        [{"two_factor_required": [False, True]}] if required_after else []
    )


@pytest.mark.django_db
def test_the_security_page_shows_admins_who_has_not_turned_it_on(workspace, admin, member, login):
    _turn_on(admin)

    response = login(admin).get("/w/acme/settings/security/")

    assert [m.user for m in response.context["without_two_factor"]] == [member]
    assert "1 of 2 members hasn’t turned it on" in response.content.decode()


@pytest.mark.django_db
def test_requiring_it_adds_no_query_to_a_workspace_page(
    strict, member, login, django_assert_num_queries
):
    _turn_on(member)
    client = login(member)
    client.get("/w/acme/discovery/tags/")  # the first visit also stores last_workspace

    # membership (+workspace, user), as tests/discovery/test_tags.py pins it; tags; switcher.
    with django_assert_num_queries(3):
        response = client.get("/w/acme/discovery/tags/")

    assert response.status_code == 200


@pytest.mark.django_db
def test_requiring_it_adds_no_query_to_a_token_request(
    strict, admin, make_token, django_assert_num_queries
):
    _turn_on(admin)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {make_token(admin, strict, 'read')}")
    client.get("/api/v1/workspaces/acme/members/")  # records last_used_at, once a minute

    # token by hash (+user, workspace, membership), as tests/accounts/test_tokens.py pins it;
    # one page of members.
    with django_assert_num_queries(2):
        response = client.get("/api/v1/workspaces/acme/members/")

    assert response.status_code == 200


# --- in Chromium ------------------------------------------------------------------------------
@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_pm_turns_on_two_factor_and_logs_in_with_a_code(
    live_server, page: Page, screenshots, console_errors
):
    base = live_server.url
    user = UserFactory(email="pm@acme.test", name="Pat Manager")
    MembershipFactory(
        user=user, workspace=WorkspaceFactory(name="Acme", slug="acme"), role=Role.ADMIN
    )
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill("pm@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{base}/w/acme/discovery/")

    page.get_by_role("link", name="Two-factor authentication").click()
    expect(page.get_by_role("heading", name="Set up an authenticator app")).to_be_visible()
    expect(page.locator(".tfa__qr svg")).to_be_visible()
    page.screenshot(path=screenshots / "two-factor-setup-light.png", full_page=True)
    page.emulate_media(color_scheme="dark")
    page.screenshot(path=screenshots / "two-factor-setup-dark.png", full_page=True)
    page.emulate_media(color_scheme="light")
    secret = totp.secret_from_base32(page.locator("#two-factor-key").inner_text())
    page.get_by_label("Code from the app").fill(totp.totp(secret, time.time()))
    page.get_by_role("button", name="Turn on two-factor").click()

    expect(page.get_by_role("heading", name="Save your recovery codes")).to_be_visible()
    expect(page.locator("#recovery-code-list li")).to_have_count(10)
    page.screenshot(path=screenshots / "two-factor-recovery-codes.png", full_page=True)
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))

    page.get_by_label("Email").fill("pm@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{base}/accounts/login/two-factor/")
    page.screenshot(path=screenshots / "two-factor-login.png", full_page=True)
    page.get_by_label("Authentication code").fill(_fresh_code(user))
    page.get_by_role("button", name="Verify and log in").click()

    expect(page).to_have_url(f"{base}/w/acme/discovery/")
    page.goto(f"{base}/accounts/two-factor/")
    expect(page.get_by_text("10 of 10 left")).to_be_visible()
    page.screenshot(path=screenshots / "two-factor-on.png", full_page=True)

    # As Acme's admin, now with two-factor, require it of everyone.
    page.goto(f"{base}/w/acme/settings/security/")
    page.get_by_label("Require two-factor authentication").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Two-factor authentication is now required.")).to_be_visible()
    page.screenshot(path=screenshots / "workspace-security.png", full_page=True)
    assert Workspace.objects.get(slug="acme").two_factor_required is True
    assert console_errors == []


@pytest.mark.django_db
def test_an_operator_turns_it_off_for_someone_who_lost_phone_and_codes(guarded):
    person, _codes = guarded
    out = io.StringIO()

    call_command("two_factor_reset", person.email.upper(), stdout=out)

    person.refresh_from_db()
    assert person.has_two_factor is False
    assert not RecoveryCode.objects.filter(user=person).exists()
    assert "was on and is now off" in out.getvalue()
    assert _password_step(Client(), person.email)["Location"] == "/"
    with pytest.raises(CommandError):
        call_command("two_factor_reset", "nobody@example.com")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_member_of_a_workspace_requiring_it_lands_on_the_setup_with_the_reason(
    live_server, page: Page, screenshots, console_errors
):
    base = live_server.url
    workspace = WorkspaceFactory(name="Acme", slug="acme", two_factor_required=True)
    MembershipFactory(user=UserFactory(email="dev@acme.test"), workspace=workspace)
    page.set_viewport_size({"width": 1280, "height": 800})

    page.goto(f"{base}/w/acme/backlog/")
    page.get_by_label("Email").fill("dev@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    expect(page).to_have_url(re.compile(r"/accounts/two-factor/\?workspace=acme&next="))
    expect(page.get_by_text("Acme requires two-factor authentication.")).to_be_visible()
    page.screenshot(path=screenshots / "two-factor-required.png", full_page=True)
    assert console_errors == []
