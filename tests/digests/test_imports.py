"""Stakeholders from CSV: every row checked before anything is written, each bad row reported
by line, malformed files refused whole, existing stakeholders updated or skipped as chosen, and
a confirmation that imports once however often it is clicked."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from backlog import services as backlog
from discovery import services as discovery
from pmhub.digests import imports, services
from pmhub.digests.models import Follow, Stakeholder
from roadmap import services as roadmap

pytestmark = pytest.mark.django_db

HEADER = "email,name,team,cadence,send_hour,timezone,follows,owns\n"


@pytest.fixture
def things(workspace):
    area = backlog.product_area_create(workspace=workspace, actor=None, name="Payments")
    item = backlog.item_create(workspace=workspace, actor=None, title="Saved cards")
    board = roadmap.roadmap_create(workspace=workspace, actor=None, name="Product roadmap")
    acme, _ = discovery.company_upsert(
        workspace=workspace, actor=None, name="Acme", domain="acme.test"
    )
    globex, _ = discovery.company_upsert(
        workspace=workspace, actor=None, name="Globex", domain="globex.test"
    )
    return {"area": area, "item": item, "board": board, "acme": acme, "globex": globex}


def _url(workspace):
    return reverse("digests:stakeholder-import", kwargs={"workspace_slug": workspace.slug})


def _upload(client, workspace, content, existing="update", name="people.csv"):
    data = content.encode() if isinstance(content, str) else content
    return client.post(
        _url(workspace),
        {"file": SimpleUploadedFile(name, data, "text/csv"), "existing": existing},
    )


def _token(response):
    return re.search(r'name="confirm" value="([0-9a-f]+)"', response.content.decode())[1]


def _follows(workspace, email):
    return {
        (f.area_id, f.roadmap_id, f.item_id, f.company_id, f.owns)
        for f in Follow.objects.for_workspace(workspace).filter(stakeholder__email=email)
    }


def test_a_good_file_is_previewed_then_imported_whole(workspace, member, admin, login, things):
    content = HEADER + (
        f'dana@client.test,Dana Ruiz,Sales,weekly,8,Europe/Paris,"area:payments; '
        f'roadmap:Product roadmap; item:{things["item"].id}",Acme\n'
        "lee@client.test,Lee,Leadership,Monthly,07:00,,workspace,\n"
        "alice@acme.test,Alice,,daily,,,company:globex.test,\n"
    )
    client = login(member)

    checked = _upload(client, workspace, content)

    html = checked.content.decode()
    assert checked.status_code == 200
    assert "every row checks out" in html
    assert "Area: Payments" in html
    assert not Stakeholder.objects.for_workspace(workspace).exists()  # nothing before confirm

    done = client.post(_url(workspace), {"confirm": _token(checked)}, follow=True)

    assert "3 added, 0 updated" in done.content.decode()
    people = {s.email: s for s in Stakeholder.objects.for_workspace(workspace)}
    dana, lee, alice = (
        people["dana@client.test"],
        people["lee@client.test"],
        people["alice@acme.test"],
    )
    assert (dana.name, dana.team, dana.cadence, dana.send_hour, dana.timezone) == (
        "Dana Ruiz", "Sales", "weekly", 8, "Europe/Paris",
    )  # fmt: skip
    assert (lee.cadence, lee.send_hour, lee.follows_workspace) == ("monthly", 7, True)
    assert alice.user_id == admin.id  # a member's email is linked to the member
    assert dana.user_id is None
    assert _follows(workspace, "dana@client.test") == {
        (things["area"].id, None, None, None, False),
        (None, things["board"].id, None, None, False),
        (None, None, things["item"].id, None, False),
        (None, None, None, things["acme"].id, True),
    }
    assert _follows(workspace, "alice@acme.test") == {
        (None, None, None, things["globex"].id, False)
    }


def test_bad_rows_are_each_reported_and_nothing_is_imported(workspace, member, login, things):
    content = HEADER + (
        "good@client.test,Good,,,,,,\n"
        "not-an-email,,,,,,,\n"
        "x@client.test,,,fortnightly,25,Mars/Base,,\n"
        "y@client.test,,,,,,area:Nowhere; team:Sales,Initech\n"
        f"z@client.test,{'n' * 200},,,,,,\n"
        "GOOD@client.test,Again,,,,,,\n"
    )

    response = _upload(login(member), workspace, content)

    html = response.content.decode()
    assert response.status_code == 400
    assert "5 of 6 rows" in html
    assert "Nothing was imported" in html
    rows = dict(re.findall(r'<td class="num">(\d+)</td>\s*<td[^>]*>([^<]*)</td>', html))
    assert rows == {
        "3": "not-an-email", "4": "x@client.test", "5": "y@client.test", "6": "z@client.test",
        "7": "GOOD@client.test",
    }  # fmt: skip
    for reason in (
        "is not an email address",
        "Cadence “fortnightly”",
        "Send hour “25”",
        "Unknown timezone “Mars/Base”",
        "No area “Nowhere”",
        "“team:Sales” in follows",
        "In owns: No company “Initech”",
        "The name is 200 characters; the limit is 120",
        "GOOD@client.test is also on line 2",
    ):
        assert reason in html, reason
    assert not Stakeholder.objects.for_workspace(workspace).exists()


@pytest.mark.parametrize(
    ("case", "content", "message"),
    [
        ("empty_case", b"", "is empty"),
        ("binary_case", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
        ("excel_case", b"PK\x03\x04rest-of-a-zip", "Excel workbook"),
        ("latin1_case", "email,name\nzoe@client.test,Zoë\n".encode("latin-1"), "not UTF-8"),
        ("utf16_case", "email\nzoe@client.test\n".encode("utf-16"), "UTF-16"),
        ("unknown_column_case", b"email,phone\nzoe@client.test,1\n", "Unknown column: 'phone'"),
        ("no_email_case", b"name,team\nZoe,Sales\n", "no email column"),
        ("twice_case", b"email,Email\na@client.test,b@client.test\n", "appears twice"),
        ("header_only_case", b"email,name\n", "no stakeholders"),
        ("quote_case", b'email,name\n"a@client.test,"unterminated\n', "not a readable CSV"),
    ],
)
def test_a_malformed_file_is_refused_whole(case, content, message, workspace, member, login):
    response = _upload(login(member), workspace, content)
    assert response.status_code == 400
    assert message in unescape(response.content.decode())
    assert not Stakeholder.objects.for_workspace(workspace).exists()


def test_too_big_and_too_many_rows_are_refused(workspace, member, login):
    client = login(member)
    big = HEADER + "".join(f"p{i}@client.test,{'n' * 100}\n" for i in range(20_000))
    assert len(big) > imports.MAX_BYTES
    response = _upload(client, workspace, big)
    assert response.status_code == 400
    assert "the limit is 2 MB" in response.content.decode()

    many = "email\n" + "".join(f"p{i}@c.test\n" for i in range(imports.MAX_ROWS + 1))
    response = _upload(client, workspace, many)
    assert response.status_code == 400
    assert "more than 5,000 rows" in response.content.decode()
    assert not Stakeholder.objects.for_workspace(workspace).exists()


def test_existing_stakeholders_are_updated_or_skipped_as_chosen(workspace, member, login, things):
    dana = services.stakeholder_create(
        workspace=workspace, email="dana@client.test", name="Dana", team="Sales", cadence="daily"
    )
    content = HEADER + "DANA@client.test,,Support,,,,area:Payments,\nnew@client.test,New,,,,,,\n"
    client = login(member)

    skipped = _upload(client, workspace, content, existing="skip")
    assert "already here, skipped" in skipped.content.decode()
    client.post(_url(workspace), {"confirm": _token(skipped)})
    dana.refresh_from_db()
    assert (dana.team, dana.version) == ("Sales", 1)
    assert _follows(workspace, "dana@client.test") == set()
    assert Stakeholder.objects.for_workspace(workspace).count() == 2

    Stakeholder.objects.for_workspace(workspace).filter(email="new@client.test").delete()
    updated = _upload(client, workspace, content, existing="update")
    done = client.post(_url(workspace), {"confirm": _token(updated)}, follow=True)

    assert "1 added, 1 updated" in done.content.decode()
    dana.refresh_from_db()
    # The file's non-blank cells change; blank ones leave the stakeholder's values alone.
    assert (dana.name, dana.team, dana.cadence, dana.version) == ("Dana", "Support", "daily", 2)
    assert _follows(workspace, "dana@client.test") == {(things["area"].id, None, None, None, False)}


def test_confirming_twice_imports_once(workspace, member, login):
    client = login(member)
    checked = _upload(client, workspace, HEADER + "dana@client.test,Dana,,,,,,\n")
    token = _token(checked)

    first = client.post(_url(workspace), {"confirm": token})
    second = client.post(_url(workspace), {"confirm": token}, follow=True)

    assert first.status_code == 302
    assert "expired or was imported already" in second.content.decode()
    assert Stakeholder.objects.for_workspace(workspace).count() == 1


def test_another_members_or_a_made_up_token_imports_nothing(workspace, member, admin, login):
    checked = _upload(login(member), workspace, HEADER + "dana@client.test,Dana,,,,,,\n")

    for token in (_token(checked), "0" * 32, "../../etc"):
        response = login(admin).post(_url(workspace), {"confirm": token}, follow=True)
        assert "expired or was imported already" in response.content.decode()
    assert not Stakeholder.objects.for_workspace(workspace).exists()


def test_markup_in_a_file_is_shown_as_text(workspace, member, login):
    content = HEADER + 'dana@client.test,"<script>alert(1)</script>",<b>Sales</b>,,,,,\n'
    html = _upload(login(member), workspace, content).content.decode()
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_viewers_cannot_import(workspace, viewer, login):
    response = _upload(login(viewer), workspace, HEADER + "dana@client.test,,,,,,,\n")
    assert response.status_code == 403


def test_checking_a_file_reads_the_workspace_in_a_fixed_number_of_statements(workspace, things):
    def statements(rows):
        content = HEADER + "".join(
            f"p{i}@client.test,P{i},,,,,area:Payments; roadmap:Product roadmap; "
            f"item:{things['item'].id},Acme\n"
            for i in range(rows)
        )
        with CaptureQueriesContext(connection) as queries:
            check = imports.import_check(workspace=workspace, data=content.encode())
        assert check.is_valid
        return len(queries)

    # areas, roadmaps, companies, items, existing stakeholders
    assert statements(5) == statements(500) == 5


def test_an_update_marks_a_company_already_followed_as_owned(workspace, member, login, things):
    dana = services.stakeholder_create(workspace=workspace, email="dana@client.test")
    services.follow_add(workspace=workspace, stakeholder=dana, company_id=things["acme"].id)
    client = login(member)

    checked = _upload(client, workspace, HEADER + "dana@client.test,,,,,,,acme.test\n")
    client.post(_url(workspace), {"confirm": _token(checked)})

    assert _follows(workspace, "dana@client.test") == {(None, None, None, things["acme"].id, True)}
