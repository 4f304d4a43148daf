"""What people and scripts get wrong: each mistake gets a clear answer and changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from pmhub.accounts.models import User
from pmhub.workspaces.models import AuditEvent, Invitation, Membership, Workspace
from pmhub.workspaces.services import (
    invitation_accept,
    invitation_create,
    invitation_email_send,
    invitation_revoke,
    invitation_token,
    workspace_update,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SLUG_RULE = (
    "Use 1 to 50 lowercase letters, digits or hyphens, starting and ending with a letter or digit."
)
SCRIPT = "<script>alert(1)</script>"
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"


def _validation(fields: dict) -> dict:
    return {"message": "Validation error", "extra": {"fields": fields}}


# --- duplicate and invalid workspace addresses -----------------------------------------------
def test_a_taken_workspace_address_is_a_clear_field_error(workspace, outsider, login):
    response = login(outsider).post("/workspaces/new/", {"name": "Copycat", "slug": "acme"})

    assert response.status_code == 200
    assert response.context["form"].errors == {"slug": ["This address is already taken."]}
    assert list(Workspace.objects.values_list("slug", flat=True)) == ["acme", "globex"]
    assert Membership.objects.unscoped().filter(user=outsider).count() == 1


@pytest.mark.parametrize(
    "slug",
    [
        pytest.param("Acme-Two", id="uppercase_case"),
        pytest.param("acme two", id="space_case"),
        pytest.param("-acme", id="leading_hyphen_case"),
    ],
)
def test_an_invalid_workspace_address_is_a_field_error(workspace, outsider, login, slug):
    response = login(outsider).post("/workspaces/new/", {"name": "Two", "slug": slug})

    assert response.status_code == 200
    assert response.context["form"].errors == {"slug": [SLUG_RULE]}
    assert SLUG_RULE in response.content.decode()
    assert Workspace.objects.count() == 2


def test_a_51_char_workspace_address_is_a_field_error(db, login):
    response = login(UserFactory()).post("/workspaces/new/", {"name": "Long", "slug": "a" * 51})

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "slug": [SLUG_RULE, "Ensure this value has at most 50 characters (it has 51)."]
    }
    assert Workspace.objects.count() == 0


# --- overlong and blank names ----------------------------------------------------------------
def test_an_overlong_workspace_name_is_a_clear_error_in_the_ui(workspace, admin, login):
    response = login(admin).post("/w/acme/settings/", {"name": "x" * 81})

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "name": ["Ensure this value has at most 80 characters (it has 81)."]
    }
    assert Workspace.objects.get(id=workspace.id).name == "Acme"
    assert AuditEvent.objects.unscoped().count() == 0


def test_an_overlong_workspace_name_is_a_clear_error_in_the_api(workspace, admin, token_client):
    response = token_client(admin, workspace).patch(
        "/api/v1/workspaces/acme/", {"name": "x" * 81}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == _validation(
        {"name": ["Ensure this field has no more than 80 characters."]}
    )
    assert Workspace.objects.get(id=workspace.id).name == "Acme"


def test_an_overlong_name_for_a_new_workspace_is_a_field_error(db, login):
    response = login(UserFactory()).post("/workspaces/new/", {"name": "x" * 81, "slug": "long"})

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "name": ["Ensure this value has at most 80 characters (it has 81)."]
    }
    assert Workspace.objects.count() == 0


def test_a_blank_workspace_name_is_refused(workspace, admin, login, token_client):
    ui = login(admin).post("/w/acme/settings/", {"name": "   "})
    api = token_client(admin, workspace).patch(
        "/api/v1/workspaces/acme/", {"name": "   "}, format="json"
    )

    assert ui.context["form"].errors == {"name": ["This field is required."]}
    assert api.status_code == 400
    assert api.json() == _validation({"name": ["This field may not be blank."]})
    assert Workspace.objects.get(id=workspace.id).name == "Acme"


# --- HTML in user text -----------------------------------------------------------------------
def test_a_script_in_the_workspace_name_is_stored_as_text_and_shown_escaped(
    workspace, admin, login
):
    client = login(admin)

    client.post("/w/acme/settings/", {"name": SCRIPT})
    settings_page = client.get("/w/acme/settings/").content.decode()
    members_page = client.get("/w/acme/settings/members/").content.decode()

    assert Workspace.objects.get(id=workspace.id).name == SCRIPT
    for page in (settings_page, members_page):
        assert SCRIPT not in page
        assert ESCAPED_SCRIPT in page


def test_a_script_in_the_workspace_name_is_escaped_in_the_invitation_mail(
    workspace, admin, smtp_mail
):
    workspace_update(workspace=workspace, actor=admin, name=SCRIPT)
    workspace.refresh_from_db()
    invitation = invitation_create(
        workspace=workspace, actor=admin, email="dana@example.com", role="viewer"
    )

    invitation_email_send(workspace=workspace, invitation_id=invitation.id)

    html = next(
        part.get_payload(decode=True).decode()
        for part in smtp_mail.messages[0].walk()
        if part.get_content_type() == "text/html"
    )
    assert SCRIPT not in html
    assert ESCAPED_SCRIPT in html


def test_a_script_in_a_members_name_is_shown_escaped(workspace, admin, login):
    admin.name = '<img src=x onerror="alert(1)">'
    admin.save(update_fields=["name"])

    page = login(admin).get("/w/acme/settings/members/").content.decode()

    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("Acme\r\nBcc: evil@example.com", id="crlf_case"),
        pytest.param("Acme\nCorp", id="newline_case"),
    ],
)
def test_a_line_break_in_the_workspace_name_is_refused(workspace, admin, token_client, name):
    response = token_client(admin, workspace).patch(
        "/api/v1/workspaces/acme/", {"name": name}, format="json"
    )

    assert response.status_code == 400
    assert set(response.json()["extra"]["fields"]) == {"name"}
    assert Workspace.objects.get(id=workspace.id).name == "Acme"


def test_invitation_mail_still_goes_out_when_a_stored_name_has_a_line_break(
    workspace, admin, smtp_mail
):
    # Names stored before any input check could hold line breaks; mail headers must not break.
    Workspace.objects.filter(id=workspace.id).update(name="Acme\r\nBcc: evil@example.com")
    invitation = invitation_create(
        workspace=workspace, actor=admin, email="dana@example.com", role="viewer"
    )

    sent = invitation_email_send(workspace=workspace, invitation_id=invitation.id)

    assert sent is True
    # The session's SMTP server is shared with the real-worker tests; look at this test's mail.
    mails = [m for m in smtp_mail.messages if "dana@example.com" in (m["To"] or "")]
    assert len(mails) == 1
    mail = mails[0]
    assert "\n" not in mail["Subject"]
    assert "\r" not in mail["Subject"]
    assert mail["Bcc"] is None
    assert mail.get_all("To") == ["dana@example.com"]


# --- invalid emails and duplicate invitations ------------------------------------------------
@pytest.mark.parametrize(
    "email",
    [
        pytest.param("not-an-email", id="no_at_case"),
        pytest.param("dana@", id="no_domain_case"),
        pytest.param("a" * 250 + "@example.com", id="too_long_case"),
    ],
)
def test_an_invalid_email_in_the_invite_form_is_a_field_error(
    workspace, admin, login, email, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = login(admin).post(
            "/w/acme/settings/invitations/", {"email": email, "role": "viewer"}
        )

    assert response.status_code == 400
    assert "email" in response.context["invite_form"].errors
    assert Invitation.objects.unscoped().count() == 0
    assert AuditEvent.objects.unscoped().count() == 0
    assert callbacks == []


def test_an_invalid_email_in_the_api_is_a_400_field_error(
    workspace, admin, token_client, django_capture_on_commit_callbacks
):
    client = token_client(admin, workspace)

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            "/api/v1/workspaces/acme/invitations/",
            {"email": "not-an-email", "role": "viewer"},
            format="json",
        )

    assert response.status_code == 400
    assert response.json() == _validation({"email": ["Enter a valid email address."]})
    assert Invitation.objects.unscoped().count() == 0
    assert callbacks == []


def test_an_unknown_role_in_the_api_is_a_400_field_error(workspace, admin, token_client):
    response = token_client(admin, workspace).post(
        "/api/v1/workspaces/acme/invitations/",
        {"email": "dana@example.com", "role": "owner"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == _validation({"role": ['"owner" is not a valid choice.']})
    assert Invitation.objects.unscoped().count() == 0


def test_submitting_the_same_invitation_twice_in_the_ui_is_a_clear_error(
    workspace, admin, login, django_capture_on_commit_callbacks
):
    client = login(admin)
    data = {"email": "dana@example.com", "role": "viewer"}
    first = client.post("/w/acme/settings/invitations/", data)

    with django_capture_on_commit_callbacks() as callbacks:
        second = client.post("/w/acme/settings/invitations/", {**data, "email": "Dana@Example.com"})

    assert first.status_code == 302
    assert second.status_code == 400
    message = "dana@example.com already has an open invitation. Resend it or revoke it first."
    assert second.context["invite_form"].non_field_errors() == [message]
    assert message in second.content.decode()
    assert Invitation.objects.for_workspace(workspace).count() == 1
    assert callbacks == []


def test_submitting_the_same_invitation_twice_in_the_api_is_a_clear_error(
    workspace, admin, token_client, django_capture_on_commit_callbacks
):
    client = token_client(admin, workspace)
    data = {"email": "dana@example.com", "role": "viewer"}
    client.post("/api/v1/workspaces/acme/invitations/", data, format="json")

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post("/api/v1/workspaces/acme/invitations/", data, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "message": "dana@example.com already has an open invitation. Resend it or revoke it first.",
        "extra": {},
    }
    assert Invitation.objects.for_workspace(workspace).count() == 1
    assert callbacks == []


def test_inviting_an_existing_member_in_the_api_is_a_clear_error(
    workspace, admin, member, token_client
):
    response = token_client(admin, workspace).post(
        "/api/v1/workspaces/acme/invitations/",
        {"email": "Bob@Acme.test", "role": "viewer"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {
        "message": "bob@acme.test is already a member of this workspace.",
        "extra": {},
    }


# --- expired, reused, withdrawn and tampered invitation links --------------------------------
@pytest.fixture
def invitation(workspace, admin) -> Invitation:
    return invitation_create(
        workspace=workspace, actor=admin, email="dana@example.com", role="viewer"
    )


def _expire(invitation: Invitation) -> str:
    Invitation.objects.filter(id=invitation.id).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    return "This invitation has expired. Ask for a new one."


def _use(invitation: Invitation) -> str:
    invitation_accept(token=invitation_token(invitation), user=UserFactory(email=invitation.email))
    return "This invitation has already been used."


def _withdraw(invitation: Invitation) -> str:
    invitation_revoke(
        workspace=invitation.workspace, actor=invitation.invited_by, invitation=invitation
    )
    return "This invitation was withdrawn. Ask for a new one."


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(_expire, id="expired_case"),
        pytest.param(_use, id="reused_case"),
        pytest.param(_withdraw, id="withdrawn_case"),
    ],
)
@pytest.mark.parametrize("method", ["get", "post"])
def test_an_unusable_invitation_link_says_why_with_410_and_changes_nothing(
    workspace, invitation, client, spoil, method
):
    message = spoil(invitation)
    before = Invitation.objects.filter(id=invitation.id).values().get()
    users_before = User.objects.count()
    members_before = Membership.objects.for_workspace(workspace).count()
    link = f"/invitations/{invitation_token(invitation)}/"

    if method == "post":
        response = client.post(link, {"name": "Dana", "password": "violet-otter-canyon-42"})
    else:
        response = client.get(link)

    assert response.status_code == 410
    assert response.context["message"] == message
    assert message in response.content.decode()
    assert Invitation.objects.filter(id=invitation.id).values().get() == before
    assert User.objects.count() == users_before
    assert Membership.objects.for_workspace(workspace).count() == members_before


def test_a_tampered_invitation_link_is_410(workspace, invitation, client):
    token = invitation_token(invitation)

    response = client.get(f"/invitations/{token[:-2]}xx/")

    assert response.status_code == 410
    assert response.context["message"] == "This invitation link is not valid. Ask for a new one."
    assert Invitation.objects.get(id=invitation.id).is_open


# --- malformed API tokens --------------------------------------------------------------------
@pytest.mark.parametrize(
    "header",
    [
        pytest.param("Bearer pmh_short", id="short_case"),
        pytest.param("Bearer pmh_" + "é" * 40, id="non_ascii_case"),
        pytest.param("Bearer pmh_" + "a" * 40 + " extra", id="trailing_junk_case"),
        pytest.param("Bearer ' OR 1=1 --", id="sql_case"),
        pytest.param("bearer " + "x" * 44, id="no_prefix_case"),
    ],
)
def test_a_malformed_token_is_a_401_in_the_error_format(workspace, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    response = client.patch("/api/v1/workspaces/acme/", {"name": "X"}, format="json")

    assert response.status_code == 401
    assert response.json() == {
        "message": "Malformed API token: expected 'Bearer pmh_' followed by 40 characters.",
        "extra": {},
    }
    assert Workspace.objects.get(id=workspace.id).name == "Acme"


# --- oversized bodies ------------------------------------------------------------------------
def test_an_oversized_form_post_is_413_with_a_plain_message(workspace, admin, login, settings):
    settings.PMHUB_MAX_REQUEST_BYTES = 100

    response = login(admin).post(
        "/w/acme/settings/",
        "name=" + "x" * 500,
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 413
    assert response["Content-Type"] == "text/plain"
    assert response.content.decode() == (
        "Request body too large: 505 bytes; the limit is 100 bytes."
    )
    assert Workspace.objects.get(id=workspace.id).name == "Acme"


def test_an_oversized_api_body_is_413_in_the_error_format(workspace, admin, token_client, settings):
    settings.PMHUB_MAX_REQUEST_BYTES = 32
    client = token_client(admin, workspace)
    body = '{"name": "' + "x" * 21 + '"}'

    response = client.patch("/api/v1/workspaces/acme/", body, content_type="application/json")

    assert response.status_code == 413
    assert response.json() == {
        "message": "Request body too large: 33 bytes; the limit is 32 bytes.",
        "extra": {"limit": 32},
    }
    assert Workspace.objects.get(id=workspace.id).name == "Acme"


def test_a_body_exactly_at_the_limit_is_accepted(workspace, admin, token_client, settings):
    settings.PMHUB_MAX_REQUEST_BYTES = 32
    body = '{"name": "' + "x" * 20 + '"}'

    response = token_client(admin, workspace).patch(
        "/api/v1/workspaces/acme/", body, content_type="application/json"
    )

    assert response.status_code == 200
    assert Workspace.objects.get(id=workspace.id).name == "x" * 20


def test_an_oversized_body_is_refused_before_authentication(workspace, settings):
    settings.PMHUB_MAX_REQUEST_BYTES = 10

    response = APIClient().post(
        "/api/v1/workspaces/acme/invitations/", {"email": "dana@example.com"}, format="json"
    )

    assert response.status_code == 413
    assert Invitation.objects.unscoped().count() == 0


# --- bodies that are not a JSON object -------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            "[1, 2]",
            _validation(
                {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}
            ),
            id="list_case",
        ),
        pytest.param(
            '"Renamed"',
            _validation(
                {"non_field_errors": ["Invalid data. Expected a dictionary, but got str."]}
            ),
            id="string_case",
        ),
        pytest.param(
            "42",
            _validation(
                {"non_field_errors": ["Invalid data. Expected a dictionary, but got int."]}
            ),
            id="number_case",
        ),
        pytest.param("{}", _validation({"name": ["This field is required."]}), id="empty_case"),
        pytest.param(
            "{not json",
            {
                "message": "JSON parse error - Expecting property name enclosed in double quotes: "
                "line 1 column 2 (char 1)",
                "extra": {},
            },
            id="invalid_json_case",
        ),
    ],
)
def test_a_body_that_is_not_a_json_object_is_a_400_in_the_error_format(
    workspace, admin, token_client, body, expected
):
    response = token_client(admin, workspace).patch(
        "/api/v1/workspaces/acme/", body, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json() == expected
    assert Workspace.objects.get(id=workspace.id).name == "Acme"


def test_a_form_encoded_body_is_415_in_the_error_format(workspace, admin, token_client):
    response = token_client(admin, workspace).patch(
        "/api/v1/workspaces/acme/", "name=Renamed", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 415
    assert response.json() == {
        "message": 'Unsupported media type "application/x-www-form-urlencoded" in request.',
        "extra": {},
    }
    assert Workspace.objects.get(id=workspace.id).name == "Acme"


def test_an_import_upload_may_exceed_the_request_limit_up_to_the_upload_limit(
    workspace, member, login, settings
):
    settings.PMHUB_MAX_REQUEST_BYTES = 1024
    settings.PMHUB_MAX_UPLOAD_BYTES = 64 * 1024
    client = login(member)
    body = {"text": "x" * 4096}

    elsewhere = client.post(f"/w/{workspace.slug}/settings/", body)
    upload = client.post(f"/w/{workspace.slug}/discovery/imports/new/", body)
    too_big = client.post(f"/w/{workspace.slug}/discovery/imports/new/", {"text": "x" * 70_000})

    assert elsewhere.status_code == 413
    assert upload.status_code != 413
    assert too_big.status_code == 413
    assert too_big.content.endswith(b" bytes; the limit is 65536 bytes.")
