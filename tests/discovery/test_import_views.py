"""Import pages: upload, mapping with preview, progress polling, history; who may do what."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from discovery import imports
from discovery.models import Feedback, ImportJob
from discovery.tasks import import_run_task

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def upload_root(settings, tmp_path):
    settings.PMHUB_UPLOAD_ROOT = str(tmp_path / "uploads")
    return tmp_path / "uploads"


@pytest.fixture
def sent(monkeypatch):
    """Tasks that would have gone to the broker."""
    calls: list[dict[str, int]] = []
    monkeypatch.setattr(import_run_task, "delay", lambda **kwargs: calls.append(kwargs))
    return calls


def _url(name, workspace, **kwargs):
    return reverse(f"discovery:{name}", kwargs={"workspace_slug": workspace.slug, **kwargs})


def _file(name, data=None):
    return SimpleUploadedFile(name, data if data is not None else (FIXTURES / name).read_bytes())


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
def test_who_may_upload_a_file(
    request, workspace, login, who, status, sent, django_capture_on_commit_callbacks
):
    client = Client() if who == "anonymous" else login(request.getfixturevalue(who))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            _url("import-new", workspace),
            {"kind": "zendesk_json", "file": _file("zendesk_tickets.json")},
        )

    assert response.status_code == status
    created = ImportJob.objects.for_workspace(workspace).count()
    if status == 302 and who != "anonymous":
        assert created == 1
        assert len(sent) == 1
    else:
        assert created == 0
        assert sent == []


def test_viewer_cannot_open_the_upload_or_mapping_page(workspace, viewer, member, login):
    job = imports.import_job_create(
        workspace=workspace,
        actor=member,
        kind="feedback_csv",
        filename="feedback.csv",
        data=(FIXTURES / "feedback.csv").read_bytes(),
    )
    client = login(viewer)

    assert client.get(_url("import-new", workspace)).status_code == 403
    assert client.get(_url("import-map", workspace, job_id=job.id)).status_code == 403
    assert client.get(_url("import-detail", workspace, job_id=job.id)).status_code == 200
    assert client.get(_url("import-list", workspace)).status_code == 200


def test_upload_page_states_the_size_limit(workspace, member, login):
    response = login(member).get(_url("import-new", workspace))

    assert response.status_code == 200
    assert b"Files up to 50.0\xc2\xa0MB" in response.content


def test_csv_upload_leads_to_the_mapping_page_with_a_guess_and_a_preview(workspace, member, login):
    client = login(member)

    response = client.post(
        _url("import-new", workspace),
        {"kind": "feedback_csv", "file": _file("feedback_bad_rows.csv")},
    )

    job = ImportJob.objects.for_workspace(workspace).get()
    assert response.status_code == 302
    assert response["Location"] == _url("import-map", workspace, job_id=job.id)
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert page.context["form"]["text"].value() == "text"
    assert page.context["form"]["customer_email"].value() == "email"
    assert [row.line for row in page.context["rows"]] == [2, 3, 4, 5, 6, 7, 8]
    assert b"&#x27;not-an-email&#x27; is not an email address" in page.content
    assert Feedback.objects.for_workspace(workspace).count() == 0


def test_preview_follows_the_chosen_columns(workspace, member, login):
    client = login(member)
    client.post(
        _url("import-new", workspace), {"kind": "feedback_csv", "file": _file("feedback.csv")}
    )
    job = ImportJob.objects.for_workspace(workspace).get()

    page = client.post(
        _url("import-map", workspace, job_id=job.id),
        {"action": "preview", "text": "Customer", "default_source": "sales"},
    )

    assert page.status_code == 200
    assert [row.cells[:2] for row in page.context["rows"]][:2] == [
        ["Peter Gibbons", "sales"],
        ["Milton", "sales"],
    ]


def test_submitting_the_mapping_starts_the_import_after_commit(
    workspace, member, login, sent, django_capture_on_commit_callbacks
):
    client = login(member)
    client.post(
        _url("import-new", workspace), {"kind": "feedback_csv", "file": _file("feedback.csv")}
    )
    job = ImportJob.objects.for_workspace(workspace).get()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            _url("import-map", workspace, job_id=job.id),
            {"action": "start", "text": "Comment", "external_id": "Ticket ID"},
        )

    assert response.status_code == 302
    assert response["Location"] == _url("import-detail", workspace, job_id=job.id)
    assert sent == [{"workspace_id": workspace.id, "job_id": job.id}]
    job.refresh_from_db()
    assert job.mapping["fields"] == {"text": "Comment", "external_id": "Ticket ID"}
    assert job.mapping["default_source"] == "manual"
    # The mapping page of a started job goes to its progress instead.
    again = client.get(_url("import-map", workspace, job_id=job.id))
    assert again["Location"] == _url("import-detail", workspace, job_id=job.id)


def test_a_mapping_without_the_text_column_is_refused(workspace, member, login, sent):
    client = login(member)
    client.post(
        _url("import-new", workspace), {"kind": "feedback_csv", "file": _file("feedback.csv")}
    )
    job = ImportJob.objects.for_workspace(workspace).get()

    response = client.post(
        _url("import-map", workspace, job_id=job.id), {"action": "start", "text": ""}
    )

    assert response.status_code == 400
    assert b"Choose the column that holds the text." in response.content
    assert sent == []


@pytest.mark.parametrize(
    ("kind", "name", "data", "message"),
    [
        pytest.param(
            "zendesk_json", "broken.json", None, b"This is not valid JSON", id="broken_json_case"
        ),
        pytest.param(
            "feedback_csv", "x.csv", b"\x00\x01\x02binary", b"binary file", id="binary_case"
        ),
        pytest.param("feedback_csv", "e.csv", b"", b"The submitted file is empty.", id="empty"),
    ],
)
def test_a_refused_file_shows_a_clear_error_and_writes_nothing(
    workspace, member, login, upload_root, kind, name, data, message
):
    response = login(member).post(
        _url("import-new", workspace), {"kind": kind, "file": _file(name, data)}
    )

    assert response.status_code == 400
    assert message in response.content
    assert ImportJob.objects.for_workspace(workspace).count() == 0
    assert not upload_root.exists() or not any(upload_root.rglob("*.*"))


def _finished_job(workspace, member):
    job = imports.import_job_create(
        workspace=workspace,
        actor=member,
        kind="feedback_csv",
        filename="feedback_bad_rows.csv",
        data=(FIXTURES / "feedback_bad_rows.csv").read_bytes(),
    )
    imports.import_job_start(
        workspace=workspace,
        actor=member,
        job=job,
        fields=imports.import_mapping_guess(kind=job.kind, columns=imports.import_columns(job)),
    )
    return imports.import_run(workspace=workspace, job_id=job.id)


def test_progress_partial_polls_while_running_and_stops_when_done(workspace, member, login):
    client = login(member)
    job = _finished_job(workspace, member)
    ImportJob.objects.for_workspace(workspace).filter(id=job.id).update(
        status="running", processed_rows=3
    )
    url = _url("import-detail", workspace, job_id=job.id)

    running = client.get(url, headers={"HX-Request": "true"})
    ImportJob.objects.for_workspace(workspace).filter(id=job.id).update(
        status="done", processed_rows=7
    )
    done = client.get(url, headers={"HX-Request": "true"})

    assert running.status_code == 200
    assert b'hx-trigger="every 1s"' in running.content
    assert b"<html" not in running.content
    assert b'value="42"' in running.content  # 3 of 7 rows
    assert b"hx-trigger" not in done.content
    assert b'value="100"' in done.content


def test_detail_page_lists_bad_rows_with_line_numbers(workspace, member, viewer, login):
    job = _finished_job(workspace, member)

    response = login(viewer).get(_url("import-detail", workspace, job_id=job.id))

    assert response.status_code == 200
    content = response.content.decode()
    assert '<td class="num">5</td><td>unknown source &#x27;fax&#x27;' in content
    assert "Imported: 2 created, 0 updated, 0 unchanged, 5 rows skipped." in content
    assert "hx-trigger" not in content


def test_import_list_runs_a_fixed_number_of_queries(
    workspace, member, login, django_assert_num_queries
):
    for _ in range(3):
        _finished_job(workspace, member)
    client = login(member)
    client.get(_url("import-list", workspace))  # Warm the session.

    # membership (+workspace, user), count, the switcher's memberships, page of jobs with
    # their creators
    with django_assert_num_queries(4):
        response = client.get(_url("import-list", workspace))

    assert response.status_code == 200
    assert len(response.context["page"].object_list) == 3


def test_an_outsider_cannot_see_another_workspaces_import(workspace, member, outsider, login):
    job = _finished_job(workspace, member)
    client = login(outsider)

    for name in ("import-detail", "import-map"):
        assert client.get(_url(name, workspace, job_id=job.id)).status_code == 404
    assert client.get(_url("import-list", workspace)).status_code == 404


# --- in the browser --------------------------------------------------------------------------
@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_progress_page_follows_the_job_until_done_and_an_oversized_file_is_refused(
    live_server, page, settings
):
    from playwright.sync_api import expect

    from pmhub.workspaces.roles import Role
    from tests.factories import PASSWORD, MembershipFactory, UserFactory, WorkspaceFactory

    settings.PMHUB_MAX_UPLOAD_BYTES = 32 * 1024  # The page then accepts files up to 16 KiB.
    user = UserFactory(email="pm@acme.test", name="Pat")
    workspace = WorkspaceFactory(name="Acme", slug="acme")
    MembershipFactory(user=user, workspace=workspace, role=Role.EDITOR)
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("pm@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    job = imports.import_job_create(
        workspace=workspace,
        actor=user,
        kind="zendesk_json",
        filename="zendesk_tickets.json",
        data=(FIXTURES / "zendesk_tickets.json").read_bytes(),
    )
    ImportJob.objects.for_workspace(workspace).filter(id=job.id).update(
        status="running", processed_rows=1
    )

    page.goto(f"{live_server.url}{_url('import-detail', workspace, job_id=job.id)}")
    expect(page.get_by_text("Progress: 33%")).to_be_visible()
    imports.import_run(workspace=workspace, job_id=job.id)  # Resumes after row 1 and finishes.

    expect(page.get_by_text("Progress: 100%")).to_be_visible(timeout=5_000)
    expect(page.locator("#import-progress")).not_to_have_attribute("hx-trigger", "every 1s")

    page.goto(f"{live_server.url}{_url('import-new', workspace)}")
    page.get_by_text("Feedback CSV").click()
    page.set_input_files(
        "input[type=file]",
        files=[{"name": "big.csv", "mimeType": "text/csv", "buffer": b"text\n" + b"x" * 20_000}],
    )
    page.get_by_role("button", name="Upload and continue").click()

    assert page.url.endswith(_url("import-new", workspace))
    message = page.locator("input[type=file]").evaluate("el => el.validationMessage")
    assert message == "This file is 20 KB; files up to 16 KB can be imported."
    assert ImportJob.objects.for_workspace(workspace).count() == 1
    assert errors == []
