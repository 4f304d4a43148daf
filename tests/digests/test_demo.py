"""The demo workspace's stakeholders: seeded once over the rest of the demo, and the first sweep
after the quick start sends each scheduled one a real digest through SMTP."""

from __future__ import annotations

from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses
from io import StringIO

import pytest
from django.core.management import call_command

from backlog.demo import demo_backlog_create
from backlog.models import Item
from backlog.services import item_set_status
from discovery.demo import demo_discovery_create
from docs.demo import demo_docs_create
from pmhub.digests import sender, services
from pmhub.digests.demo import (
    ACCOUNT_EXECUTIVE,
    SCHEDULED,
    SENDER_NAME,
    STAKEHOLDERS,
    demo_digests_create,
)
from pmhub.digests.models import Cadence, Delivery, DigestSettings, Follow, Stakeholder
from pmhub.workspaces.models import Workspace
from roadmap.demo import demo_roadmap_create

pytestmark = pytest.mark.django_db

SHIPPED_ITEM = "Excel opens exports with the right accents"


@pytest.fixture
def demo(workspace, admin):
    demo_discovery_create(workspace=workspace, actor=admin)
    demo_backlog_create(workspace=workspace, actor=admin)
    demo_roadmap_create(workspace=workspace, actor=admin)
    demo_docs_create(workspace=workspace, actor=admin)
    assert demo_digests_create(workspace=workspace) is True
    return workspace


def _part(message: Message, content_type: str) -> str:
    for part in message.walk():
        if part.get_content_type() == content_type:
            body = part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
            return body.replace("\r\n", "\n")
    raise AssertionError(f"no {content_type} part")


def _text(message: Message) -> str:
    return _part(message, "text/plain")


def _html(message: Message) -> str:
    return _part(message, "text/html")


def _entry(text: str, title: str) -> str:
    """The plain-text block of the entry titled `title` ("* title" to the blank line)."""
    start = text.index(f"* {title}\n")
    end = text.find("\n\n", start)
    return text[start : end if end != -1 else None]


def test_the_demo_stakeholders_are_written_once(demo):
    assert demo_digests_create(workspace=demo) is False

    stakeholders = {s.email: s for s in Stakeholder.objects.for_workspace(demo)}
    assert set(stakeholders) == {s.email for s in STAKEHOLDERS}
    owned = set(
        Follow.objects.for_workspace(demo)
        .filter(stakeholder=stakeholders[ACCOUNT_EXECUTIVE.email], owns=True)
        .values_list("company__name", flat=True)
    )
    assert owned == set(ACCOUNT_EXECUTIVE.owns)
    assert {s.cadence for s in stakeholders.values()} == {
        Cadence.DAILY, Cadence.WEEKLY, Cadence.MONTHLY, Cadence.IMMEDIATELY,
    }  # fmt: skip
    assert DigestSettings.objects.for_workspace(demo).get().sender_name == SENDER_NAME


def test_the_first_sweep_sends_every_scheduled_stakeholder_a_digest(demo, smtp_mail):
    assert services.deliveries_create_due() == len(SCHEDULED)
    report = sender.deliveries_send()

    assert (report.sent, report.empty, report.failed) == (len(SCHEDULED), 0, 0)
    messages = smtp_mail.wait_for(len(SCHEDULED))
    by_address = {getaddresses([m["To"]])[0][1]: m for m in messages}
    assert set(by_address) == {s.email for s in SCHEDULED}  # not the "immediately" one
    assert len(messages) == len(SCHEDULED)
    for message in messages:
        assert SENDER_NAME in message["From"]
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert _text(message).count("\n* ") >= 3  # entries, not an empty digest
    deliveries = Delivery.objects.for_workspace(demo)
    assert {d.status for d in deliveries} == {Delivery.Status.SENT}
    assert all(d.entry_count >= 3 for d in deliveries)

    # Another beat finds nothing new to send.
    services.deliveries_create_due()
    assert sender.deliveries_send().sent == 0
    assert Delivery.objects.for_workspace(demo).count() == len(SCHEDULED)


def test_the_account_executive_hears_which_of_their_companies_asked_for_a_ship(demo, smtp_mail):
    services.deliveries_create_due()
    sender.deliveries_send()

    message = next(
        m for m in smtp_mail.wait_for(len(SCHEDULED)) if ACCOUNT_EXECUTIVE.email in m["To"]
    )
    text = _text(message)
    assert "FOR YOUR ACCOUNTS" in text
    entry = _entry(text, SHIPPED_ITEM)
    assert "Shipped" in entry
    assert "Asked for by: Harbor Yoga, Orchard Bank" in entry
    assert "Asked for by:</strong> Harbor Yoga, Orchard Bank" in _html(message)
    assert "1 shipped" in str(make_header(decode_header(message["Subject"])))


def test_the_key_account_manager_hears_at_once_when_their_account_s_request_ships(demo, smtp_mail):
    manager = Stakeholder.objects.for_workspace(demo).get(cadence=Cadence.IMMEDIATELY)
    # The seeding's own ships and publications are history, not news.
    for item_id in (
        Item.objects.for_workspace(demo)
        .filter(status=Item.Status.SHIPPED)
        .values_list("id", flat=True)
    ):
        assert (
            sender.deliveries_create_immediate(workspace=demo, kind="shipped", object_id=item_id)
            == 0
        )

    saml = Item.objects.for_workspace(demo).get(title="SAML single sign-on")
    item_set_status(workspace=demo, actor=None, item=saml, status=Item.Status.SHIPPED)
    assert (
        sender.deliveries_create_immediate(workspace=demo, kind="shipped", object_id=saml.id) == 1
    )
    assert sender.deliveries_send().sent == 1

    [message] = smtp_mail.wait_for(1)
    assert getaddresses([message["To"]])[0][1] == manager.email
    entry = _entry(_text(message), "SAML single sign-on")
    assert "Shipped" in entry
    assert "Asked for by: Helios Health" in entry


def test_the_demo_command_seeds_the_stakeholders(db):
    call_command("pmhub_demo", stdout=StringIO())
    acme = Workspace.objects.get(slug="acme")

    assert Stakeholder.objects.for_workspace(acme).count() == len(STAKEHOLDERS)
    out = StringIO()
    call_command("pmhub_demo", stdout=out)
    assert "demo digests" not in out.getvalue()
    assert Stakeholder.objects.for_workspace(acme).count() == len(STAKEHOLDERS)
