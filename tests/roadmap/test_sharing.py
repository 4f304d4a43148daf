"""Read-only share links: made, changed, revoked and expired; the public page shows only the
chosen fields, renders hostile text inert, reads in constant statements, and every link that
does not open is the same 404."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from backlog import services as backlog
from backlog.models import Item, ItemCustomer
from discovery import services as discovery
from pmhub.workspaces.models import AuditEvent
from roadmap import services as roadmap_services
from roadmap.models import KeyResult, KeyResultItem, Objective, Release, Roadmap, ShareLink
from roadmap.sharing import (
    SHAREABLE_FIELDS,
    VIEW_RESOLUTION,
    ShareLinkRevokedError,
    share_link_create,
    share_link_resolve,
    share_link_revoke,
    share_link_update,
    share_token_hash,
)

pytestmark = pytest.mark.django_db

SECRET_ARR = Decimal("432100")
SECRET_NOTE = "Internal: Globex threatens to churn over this"


def _page(token: str, embed: bool = False) -> str:
    return reverse("share:embed" if embed else "share:page", kwargs={"share_token": token})


@pytest.fixture
def board(workspace, member):
    """A now/next/later roadmap with a placed item that carries every sensitive thing."""
    roadmap = roadmap_services.roadmap_create(
        workspace=workspace,
        actor=member,
        name="Product roadmap",
        description="Where **we** are going. <script>alert('desc')</script>",
    )
    area = backlog.product_area_create(workspace=workspace, actor=member, name="Reporting")
    item = backlog.item_create(
        workspace=workspace,
        actor=member,
        title="Scheduled exports",
        description=SECRET_NOTE,
        area_id=area.id,
    )
    company, _ = discovery.company_upsert(
        workspace=workspace, actor=member, name="Globex Corporation", domain="globex.test"
    )
    customer, _ = discovery.customer_upsert(
        workspace=workspace, actor=member, email="hank@globex.test", name="Hank Scorpio",
        company=company,
    )  # fmt: skip
    ItemCustomer.objects.create(workspace=workspace, item=item, customer=customer)
    Item.objects.for_workspace(workspace).filter(id=item.id).update(
        arr=SECRET_ARR, customer_count=1, company_count=1
    )
    objective = Objective.objects.create(workspace=workspace, title="Win enterprise")
    key_result = KeyResult.objects.create(
        workspace=workspace, objective=objective, metric="Enterprise ARR", target=10
    )
    KeyResultItem.objects.create(workspace=workspace, key_result=key_result, item=item)
    now_column = roadmap.columns.order_by("position").first()
    roadmap_services.placement_add(
        workspace=workspace, actor=member, roadmap=roadmap, item=item, column_id=now_column.id
    )
    return roadmap, item


def test_a_link_stores_only_the_hash_of_its_secret(workspace, member, board):
    roadmap, _ = board
    link, secret = share_link_create(
        workspace=workspace, actor=member, roadmap=roadmap, name="Board", fields=["status"]
    )
    assert secret.startswith("pmr_")
    assert len(secret) == 47
    stored = ShareLink.objects.for_workspace(workspace).get(id=link.id)
    assert stored.token_hash == share_token_hash(secret)
    assert stored.token_prefix == secret[:8]
    assert secret not in str(
        list(AuditEvent.objects.for_workspace(workspace).values_list("changes", flat=True))
    )
    assert share_link_resolve(secret).id == link.id


def test_fields_are_checked_and_ordered(workspace, member, board):
    roadmap, _ = board
    link, _ = share_link_create(
        workspace=workspace, actor=member, roadmap=roadmap, name="", fields=["arr", "status", "arr"]
    )
    assert link.fields == ["status", "arr"]
    with pytest.raises(ValidationError, match="Unknown field"):
        share_link_create(
            workspace=workspace, actor=member, roadmap=roadmap, name="x", fields=["internal_notes"]
        )
    with pytest.raises(ValidationError, match="list of field names"):
        share_link_create(
            workspace=workspace, actor=member, roadmap=roadmap, name="x", fields="arr"
        )
    with pytest.raises(ValidationError, match="At most 80"):
        share_link_create(
            workspace=workspace, actor=member, roadmap=roadmap, name="n" * 81, fields=[]
        )


def test_an_expiry_in_the_past_is_refused(workspace, member, board):
    roadmap, _ = board
    with pytest.raises(ValidationError, match="in the future"):
        share_link_create(
            workspace=workspace,
            actor=member,
            roadmap=roadmap,
            name="x",
            fields=[],
            expires_at=timezone.now() - datetime.timedelta(minutes=1),
        )
    assert not ShareLink.objects.for_workspace(workspace).exists()


def test_unknown_revoked_expired_and_tampered_links_are_the_same_404(workspace, member, board):
    roadmap, _ = board
    client = Client()
    live, live_secret = share_link_create(
        workspace=workspace, actor=member, roadmap=roadmap, name="live", fields=[]
    )
    revoked, revoked_secret = share_link_create(
        workspace=workspace, actor=member, roadmap=roadmap, name="revoked", fields=[]
    )
    share_link_revoke(workspace=workspace, actor=member, link=revoked)
    expiring, expired_secret = share_link_create(
        workspace=workspace,
        actor=member,
        roadmap=roadmap,
        name="expired",
        fields=[],
        expires_at=timezone.now() + datetime.timedelta(hours=1),
    )
    ShareLink.objects.for_workspace(workspace).filter(id=expiring.id).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    tampered = live_secret[:-1] + ("A" if live_secret[-1] != "A" else "B")
    assert client.get(_page(live_secret)).status_code == 200

    bodies = set()
    for token in (
        revoked_secret,
        expired_secret,
        tampered,
        "pmr_" + "x" * 43,
        "nonsense",
        live_secret + "x",
        live.token_prefix,
    ):
        for embed in (False, True):
            response = client.get(_page(token, embed))
            assert response.status_code == 404, token
            bodies.add(response.content)
            assert b"Product roadmap" not in response.content
    assert len(bodies) == 1


def test_revoked_link_stops_at_once_and_cannot_be_revoked_twice(workspace, member, board):
    roadmap, _ = board
    link, secret = share_link_create(
        workspace=workspace, actor=member, roadmap=roadmap, name="x", fields=[]
    )
    assert Client().get(_page(secret)).status_code == 200
    share_link_revoke(workspace=workspace, actor=member, link=link)
    assert Client().get(_page(secret)).status_code == 404
    with pytest.raises(ShareLinkRevokedError, match="revoked"):
        share_link_revoke(workspace=workspace, actor=member, link=link)


def test_hidden_fields_are_absent_from_the_page_source(workspace, member, board):
    roadmap, _ = board
    _, secret = share_link_create(
        workspace=workspace, actor=member, roadmap=roadmap, name="x", fields=["status"]
    )
    html = Client().get(_page(secret)).content.decode()
    assert "Scheduled exports" in html
    assert "New" in html  # the status
    for hidden in (
        "432",
        "ARR",
        "Hank Scorpio",
        "Globex",
        "churn",
        "Reporting",
        "Win enterprise",
        "hank@globex.test",
    ):
        assert hidden not in html, hidden


def test_chosen_fields_appear(workspace, member, board):
    roadmap, _ = board
    _, secret = share_link_create(
        workspace=workspace, actor=member, roadmap=roadmap, name="x", fields=list(SHAREABLE_FIELDS)
    )
    html = Client().get(_page(secret)).content.decode()
    for shown in ("$432.1K ARR", "Hank Scorpio", "churn", "Reporting", "Win enterprise"):
        assert shown in html, shown
    assert "1 customer" in html
    assert "1 company" in html
    assert "hank@globex.test" not in html  # an email is never a name


def test_changing_the_fields_changes_the_page(workspace, member, board):
    roadmap, _ = board
    link, secret = share_link_create(
        workspace=workspace, actor=member, roadmap=roadmap, name="x", fields=["arr"]
    )
    assert "ARR" in Client().get(_page(secret)).content.decode()
    share_link_update(workspace=workspace, actor=member, link=link, fields=["area"], name="CAB")
    html = Client().get(_page(secret)).content.decode()
    assert "ARR" not in html
    assert "Reporting" in html
    assert ShareLink.objects.for_workspace(workspace).get(id=link.id).name == "CAB"


def test_html_in_titles_and_descriptions_is_inert(workspace, member, board):
    roadmap, item = board
    roadmap_services.roadmap_update(
        workspace=workspace, actor=member, roadmap=roadmap, name="<img src=x onerror=alert(1)>"
    )
    Item.objects.for_workspace(workspace).filter(id=item.id).update(
        title="<script>alert('t')</script>", description="<b onclick=x()>bold</b> [a](javascript:x)"
    )
    _, secret = share_link_create(
        workspace=workspace, actor=member, roadmap=roadmap, name="x", fields=["description"]
    )
    html = Client().get(_page(secret)).content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#x27;t&#x27;)&lt;/script&gt;" in html
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "onclick" not in html.replace("&lt;b onclick", "")
    assert 'href="javascript' not in html
    assert "<strong>we</strong>" in html  # the roadmap's Markdown, rendered


def test_the_public_page_reads_in_constant_statements(workspace, member, board):
    roadmap, _ = board
    column = roadmap.columns.order_by("position").last()
    _, secret = share_link_create(
        workspace=workspace, actor=member, roadmap=roadmap, name="x", fields=list(SHAREABLE_FIELDS)
    )
    client = Client()
    client.get(_page(secret))  # records the view: the next ones within a minute do not write

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(_page(secret)).status_code == 200
        return len(queries)

    few = count()
    for i in range(30):
        item = backlog.item_create(workspace=workspace, actor=member, title=f"Item {i}")
        roadmap_services.placement_add(
            workspace=workspace, actor=member, roadmap=roadmap, item=item, column_id=column.id
        )
    # link + workspace + roadmap, columns, cards, extras (descriptions, objectives, names),
    # last event
    assert count() == few == 5


@pytest.mark.parametrize("kind", [Roadmap.Kind.TIMELINE, Roadmap.Kind.RELEASE_PLAN])
def test_timeline_and_release_plan_pages(workspace, member, kind):
    roadmap = roadmap_services.roadmap_create(
        workspace=workspace, actor=member, name="Dated", kind=kind
    )
    release = Release.objects.create(
        workspace=workspace, name="2027.1", target_date=timezone.localdate()
    )
    today = timezone.localdate()
    for i in range(3):
        item = backlog.item_create(workspace=workspace, actor=member, title=f"Dated {i}")
        roadmap_services.item_schedule_set(
            workspace=workspace,
            actor=member,
            item=item,
            start_date=today if i else None,
            end_date=today + datetime.timedelta(days=20) if i else None,
            release_id=release.id,
        )
    _, secret = share_link_create(
        workspace=workspace, actor=member, roadmap=roadmap, name="x", fields=["schedule"]
    )
    with CaptureQueriesContext(connection) as queries:
        response = Client().get(_page(secret))
    assert response.status_code == 200
    html = response.content.decode()
    for i in range(3):
        assert f"Dated {i}" in html
    assert "2027.1" in html
    assert len(queries) <= 5


def test_last_viewed_is_recorded_at_most_once_a_minute(workspace, member, board):
    roadmap, _ = board
    link, secret = share_link_create(
        workspace=workspace, actor=member, roadmap=roadmap, name="x", fields=[]
    )
    client = Client()
    client.get(_page(secret))
    first = ShareLink.objects.for_workspace(workspace).get(id=link.id).last_viewed_at
    assert first is not None
    client.get(_page(secret))
    assert ShareLink.objects.for_workspace(workspace).get(id=link.id).last_viewed_at == first
    earlier = first - VIEW_RESOLUTION - datetime.timedelta(seconds=1)
    ShareLink.objects.for_workspace(workspace).filter(id=link.id).update(last_viewed_at=earlier)
    client.get(_page(secret))
    assert ShareLink.objects.for_workspace(workspace).get(id=link.id).last_viewed_at > first


def test_only_the_embed_may_be_framed(workspace, member, board):
    roadmap, _ = board
    _, secret = share_link_create(
        workspace=workspace, actor=member, roadmap=roadmap, name="x", fields=[]
    )
    page = Client().get(_page(secret))
    assert page["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page["Content-Security-Policy"]
    assert page["Referrer-Policy"] == "no-referrer"
    assert "no-store" in page["Cache-Control"]
    embed = Client().get(_page(secret, embed=True))
    assert embed.status_code == 200
    assert "X-Frame-Options" not in embed
    assert "frame-ancestors *" in embed["Content-Security-Policy"]
    assert "script-src 'self'" in embed["Content-Security-Policy"]


# --- the share links page ----------------------------------------------------------------------
def _links_url(workspace, roadmap) -> str:
    return reverse(
        "roadmap:share-link-list",
        kwargs={"workspace_slug": workspace.slug, "roadmap_id": roadmap.id},
    )


def _edit_url(workspace, roadmap, link) -> str:
    return reverse(
        "roadmap:share-link-update",
        kwargs={
            "workspace_slug": workspace.slug,
            "roadmap_id": roadmap.id,
            "share_link_id": link.id,
        },
    )


def test_an_editor_makes_a_link_and_sees_its_address_once(workspace, member, board, login):
    roadmap, _ = board
    client = login(member)
    response = client.post(
        _links_url(workspace, roadmap),
        {"name": "Customer advisory board", "fields": ["status", "arr"], "expires_on": ""},
    )
    assert response.status_code == 302
    link = ShareLink.objects.for_workspace(workspace).get()
    assert link.fields == ["status", "arr"]
    assert link.name == "Customer advisory board"
    page = client.get(_links_url(workspace, roadmap)).content.decode()
    assert "/share/pmr_" in page
    assert "&lt;iframe" in page
    assert "/embed/" in page
    address = page.split('id="new-link-url">')[1].split("<")[0]
    assert share_link_resolve(address.rsplit("/share/", 1)[1].strip("/")).id == link.id
    again = client.get(_links_url(workspace, roadmap)).content.decode()
    assert "/share/pmr_" not in again
    assert link.token_prefix in again


def test_a_past_expiry_is_shown_on_the_form(workspace, member, board, login):
    roadmap, _ = board
    response = login(member).post(
        _links_url(workspace, roadmap), {"name": "x", "expires_on": "2001-01-01"}
    )
    assert response.status_code == 400
    assert "in the future" in response.content.decode()
    assert not ShareLink.objects.for_workspace(workspace).exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "n" * 81}, "at most 80 characters"),
        ({"name": "x", "expires_on": "9999-12-31"}, "At most five years ahead"),
        ({"name": "x", "expires_on": "next tuesday"}, "Enter a valid date"),
        ({"name": "x", "fields": ["internal_notes"]}, "Select a valid choice"),
    ],
    ids=["long_name", "far_expiry", "malformed_date", "unknown_field"],
)
def test_bad_input_is_refused_with_a_clear_error(workspace, member, board, login, data, message):
    roadmap, _ = board
    response = login(member).post(_links_url(workspace, roadmap), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ShareLink.objects.for_workspace(workspace).exists()


def test_a_revoked_link_cannot_be_edited(workspace, member, board, login):
    roadmap, _ = board
    link, _ = share_link_create(
        workspace=workspace, actor=member, roadmap=roadmap, name="Board", fields=[]
    )
    share_link_revoke(workspace=workspace, actor=member, link=link)
    client = login(member)
    response = client.post(_edit_url(workspace, roadmap, link), {"name": "x", "fields": ["arr"]})
    assert response.status_code == 302
    link.refresh_from_db()
    assert link.fields == []
    assert link.name == "Board"
    with pytest.raises(ShareLinkRevokedError, match="revoked"):
        share_link_update(workspace=workspace, actor=member, link=link, fields=["arr"])


def test_a_viewer_sees_the_list_but_cannot_make_change_or_revoke(
    workspace, member, viewer, board, login
):
    roadmap, _ = board
    link, _ = share_link_create(
        workspace=workspace, actor=member, roadmap=roadmap, name="Board", fields=[]
    )
    client = login(viewer)
    page = client.get(_links_url(workspace, roadmap))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Board" in html
    assert "Create link" not in html
    assert "Revoke" not in html
    assert client.post(_links_url(workspace, roadmap), {"name": "x"}).status_code == 403
    edit = reverse(
        "roadmap:share-link-update",
        kwargs={
            "workspace_slug": workspace.slug,
            "roadmap_id": roadmap.id,
            "share_link_id": link.id,
        },
    )
    assert client.post(edit, {"name": "y", "fields": ["arr"]}).status_code == 403
    assert client.post(edit + "revoke/").status_code == 403
    link.refresh_from_db()
    assert link.name == "Board"
    assert link.fields == []
    assert link.revoked_at is None
    assert ShareLink.objects.for_workspace(workspace).count() == 1


def test_an_editor_changes_and_revokes_a_link(workspace, member, board, login):
    roadmap, _ = board
    link, secret = share_link_create(
        workspace=workspace, actor=member, roadmap=roadmap, name="Board", fields=[]
    )
    client = login(member)
    edit = reverse(
        "roadmap:share-link-update",
        kwargs={
            "workspace_slug": workspace.slug,
            "roadmap_id": roadmap.id,
            "share_link_id": link.id,
        },
    )
    assert client.get(edit).status_code == 200
    tomorrow = timezone.now().date() + datetime.timedelta(days=1)
    response = client.post(edit, {"name": "CAB", "fields": ["area"], "expires_on": tomorrow})
    assert response.status_code == 302
    link.refresh_from_db()
    assert (link.name, link.fields) == ("CAB", ["area"])
    assert link.expires_at == datetime.datetime.combine(
        tomorrow + datetime.timedelta(days=1), datetime.time.min, tzinfo=datetime.UTC
    )
    assert client.post(edit + "revoke/").status_code == 302
    assert Client().get(_page(secret)).status_code == 404


def test_links_of_another_workspace_are_404(workspace, other_workspace, member, outsider, login):
    roadmap = roadmap_services.roadmap_create(workspace=workspace, actor=member, name="Mine")
    link, _ = share_link_create(
        workspace=workspace, actor=member, roadmap=roadmap, name="x", fields=[]
    )
    theirs = roadmap_services.roadmap_create(
        workspace=other_workspace, actor=outsider, name="Theirs"
    )
    client = login(member)
    wrong_roadmap = reverse(
        "roadmap:share-link-update",
        kwargs={
            "workspace_slug": workspace.slug,
            "roadmap_id": theirs.id,
            "share_link_id": link.id,
        },
    )
    assert client.get(wrong_roadmap).status_code == 404
    assert client.get(_links_url(workspace, theirs)).status_code == 404
