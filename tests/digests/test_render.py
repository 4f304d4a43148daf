"""A digest as an email, sent through a real SMTP server (aiosmtpd on loopback) and read back
from what it received: the MIME structure, the headers, both bodies and their links, and no
user text that becomes markup."""

from __future__ import annotations

import datetime
import time
from email.header import decode_header, make_header
from email.message import Message
from email.utils import parseaddr
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core import mail
from django.urls import resolve, reverse

from pmhub.digests import services
from pmhub.digests.content import Digest, Entry, Section
from pmhub.digests.render import (
    digest_email,
    digest_html,
    digest_subject,
    digest_text,
    encoded_header,
    message_id_for,
    window_label,
)
from pmhub.digests.signing import unsubscribe_token_read, web_token, web_token_read

UTC = datetime.UTC
BASE = "https://pm.example.test"
FROM_ = datetime.datetime(2026, 11, 19, 8, tzinfo=UTC)
UNTIL = datetime.datetime(2026, 11, 26, 8, tzinfo=UTC)

XSS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(2)>',
    "<svg onload=alert(3)>",
    "javascript:alert(4)",
    "<a href='javascript:alert(5)'>x</a>",
    "</td></tr></table><iframe src=//evil.test>",
    "' onmouseover='alert(6)",
    "{{ 7|safe }} {% now 'Y' %}",
]
XSS_REASON = "\n\n".join(
    [
        "[click me](javascript:alert(8))",
        "<script>alert(9)</script>",
        "![pixel](https://tracker.test/p.png)",
        '<img src="https://tracker.test/q.png" onerror="alert(10)">',
        "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxMSk8L3NjcmlwdD4=)",
        '<a href="https://ok.test" onclick="alert(12)">ok</a>',
    ]
)


@pytest.fixture(autouse=True)
def _base_url(settings):
    settings.PMHUB_BASE_URL = BASE
    settings.DEFAULT_FROM_EMAIL = "pmhub <digests@pm.example.test>"


@pytest.fixture
def stakeholder(workspace):
    return services.stakeholder_create(
        workspace=workspace, email="dana@client.test", name="Dana Scully", follows_workspace=True
    )


@pytest.fixture
def digest_settings(workspace):
    return services.digest_settings_update(
        workspace=workspace, sender_name="Acme Product", reply_to="pm@acme.test"
    )


def entry(number: int, kind: str = "shipped", **fields) -> Entry:
    values = {
        "kind": kind,
        "title": f"Item {number}",
        "url": f"{BASE}/w/acme/items/{number}/",
        "detail": "Next → Later",
        "when": datetime.datetime(2026, 11, 24, 15, tzinfo=UTC),
        "anchor": f"entry-{number}",
    }
    return Entry(**(values | fields))


def make_digest(workspace, stakeholder, sections=None, **fields) -> Digest:
    token = web_token(
        workspace_id=workspace.id, stakeholder_id=stakeholder.id, covers_from=FROM_,
        covers_until=UNTIL,
    )  # fmt: skip
    web_url = BASE + reverse("digest:web", kwargs={"digest_token": token})
    if sections is None:
        sections = (
            Section(
                key="accounts",
                title="For your accounts",
                entries=(
                    entry(1, companies=("Acme Corp", "Globex")),
                    entry(2, kind="moved", reason="Blocked on **SSO**; see [the spec](https://docs.test/sso)."),
                ),
            ),
            Section(
                key="shipped", title="Shipped",
                entries=(entry(3), entry(1, companies=("Acme Corp", "Globex"))),
            ),
            Section(
                key="insights", title="New insights",
                entries=(entry(4, kind="insight", detail="14 customers · $320k ARR"),),
            ),
        )  # fmt: skip
    values = {
        "workspace_id": workspace.id,
        "workspace_name": workspace.name,
        "stakeholder_id": stakeholder.id,
        "email": stakeholder.email,
        "name": stakeholder.name,
        "is_member": False,
        "covers_from": FROM_,
        "covers_until": UNTIL,
        "headline": "For your accounts: 2 requests shipped, 1 moved from Next to Later",
        "sections": sections,
        "web_url": web_url,
    }
    return Digest(**(values | fields))


def send_and_receive(smtp_mail, digest, digest_settings, delivery_id=41) -> Message:
    digest_email(digest, settings=digest_settings, message_id=message_id_for(delivery_id)).send()
    (received,) = smtp_mail.wait_for(1)
    return received


def bodies(received: Message) -> tuple[str, str]:
    assert received.get_content_type() == "multipart/alternative"
    text_part, html_part = received.get_payload()
    assert text_part.get_content_type() == "text/plain"
    assert html_part.get_content_type() == "text/html"
    assert text_part.get_content_charset() == html_part.get_content_charset() == "utf-8"
    # SMTP carries CRLF line ends; the renderers write "\n".
    return (
        text_part.get_payload(decode=True).decode().replace("\r\n", "\n"),
        html_part.get_payload(decode=True).decode().replace("\r\n", "\n"),
    )


def header(received: Message, name: str) -> str:
    return str(make_header(decode_header(received[name])))


class Markup(HTMLParser):
    """Every tag and attribute of an HTML text, as a browser's tokenizer sees them."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag

    def hrefs(self) -> list[str]:
        return [attrs["href"] for tag, attrs in self.tags if tag == "a" and "href" in attrs]

    def ids(self) -> list[str]:
        return [attrs["id"] for _tag, attrs in self.tags if "id" in attrs]


def assert_nothing_executable(html: str) -> None:
    markup = Markup(html)
    tags = {tag for tag, _attrs in markup.tags}
    assert not tags & {"script", "img", "iframe", "svg", "object", "embed", "form", "input"}
    for tag, attrs in markup.tags:
        assert not [name for name in attrs if name.startswith("on")], (tag, attrs)
        for name in ("href", "src", "action", "formaction"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("javascript:", "data:", "vbscript:")), (tag, attrs)


# --- through the SMTP server -------------------------------------------------------------------
def test_digest_arrives_with_text_and_html_and_every_header(
    smtp_mail, workspace, stakeholder, digest_settings
):
    digest = make_digest(workspace, stakeholder)

    received = send_and_receive(smtp_mail, digest, digest_settings, delivery_id=41)

    assert header(received, "Subject") == (
        "Acme: 2 shipped, 1 moved, 1 new insight — your weekly product digest"
    )
    assert parseaddr(received["From"]) == ("Acme Product", "digests@pm.example.test")
    assert received["To"] == "dana@client.test"
    assert received["Reply-To"] == "pm@acme.test"
    assert received["Message-ID"] == f"<digest-41@{urlsplit(BASE).hostname}>"
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert received["Auto-Submitted"] == "auto-generated"
    assert received["Date"]
    unsubscribe = received["List-Unsubscribe"].strip()
    assert unsubscribe.startswith(f"<{BASE}/digest/unsubscribe/")
    assert unsubscribe.endswith("/>")
    unsubscribe_url = unsubscribe[1:-1]
    match = resolve(urlsplit(unsubscribe_url).path)
    assert match.view_name == "digest:unsubscribe"
    assert unsubscribe_token_read(match.kwargs["digest_token"]) == (workspace.id, stakeholder.id)

    text, html = bodies(received)
    assert html == digest_html(digest)
    assert text == digest_text(digest)
    for url in (
        *(f"{BASE}/w/acme/items/{n}/" for n in (1, 2, 3, 4)),
        digest.web_url,
        unsubscribe_url,
    ):
        assert url in text
        assert url in Markup(html).hrefs()
    assert web_token_read(urlsplit(digest.web_url).path.split("/")[-2]).covers_until == UNTIL
    assert "Asked for by: Acme Corp, Globex" in text
    assert "<strong>Asked for by:</strong> Acme Corp, Globex" in html
    assert "Nov 19 – Nov 26" in text
    assert "Weekly digest · Nov 19 – Nov 26" in html
    assert "View in browser</a>" in html
    assert "Unsubscribe</a>" in html
    assert (
        'Blocked on <strong>SSO</strong>; see <a style="color:#4338ca;" href="https://docs.test/sso"'
        in html
    )
    assert "Blocked on **SSO**; see [the spec](https://docs.test/sso)." in text
    # Entries carry their anchors for the web version's links; the one shown in two sections
    # carries it twice (the first wins in a browser, which is the "For your accounts" one).
    assert Markup(html).ids() == ["entry-1", "entry-2", "entry-3", "entry-1", "entry-4"]
    for remote in ("<img", "<script", "<link", "url("):
        assert remote not in html


def test_sender_falls_back_to_the_workspace_and_reply_to_is_left_out(
    smtp_mail, workspace, stakeholder
):
    plain = services.digest_settings_get(workspace=workspace)
    received = send_and_receive(smtp_mail, make_digest(workspace, stakeholder), plain)

    assert parseaddr(received["From"]) == ("Acme", "digests@pm.example.test")
    assert received["Reply-To"] is None


def test_non_ascii_names_and_a_long_reason_survive_the_trip(smtp_mail, workspace, stakeholder):
    workspace.name = "Société Générale — Produit"
    long_reason = "Pourquoi ? " + "Parce que les clients l’ont demandé. " * 60  # one 2 kB line
    digest = make_digest(
        workspace, stakeholder,
        sections=(Section("roadmap", "Roadmap", (
            entry(7, kind="slipped", title="Über-Export ✓", reason=long_reason),
        )),),
        workspace_name=workspace.name,
    )  # fmt: skip
    settings_row = services.digest_settings_update(
        workspace=workspace, sender_name="Équipe Produit"
    )

    received = send_and_receive(smtp_mail, digest, settings_row)

    assert header(received, "Subject") == (
        "Société Générale — Produit: 1 slipped — your weekly product digest"
    )
    assert str(make_header(decode_header(received["From"]))) == (
        "Équipe Produit <digests@pm.example.test>"
    )
    text, html = bodies(received)
    assert received.get_payload()[1]["Content-Transfer-Encoding"] == "base64"
    assert html == digest_html(digest)
    assert "Über-Export ✓" in html
    assert "Über-Export ✓" in text
    assert long_reason.strip() in text.replace("\n  ", " ")


# --- user text stays text ----------------------------------------------------------------------
@pytest.mark.parametrize("payload", XSS)
def test_user_text_is_escaped_everywhere(smtp_mail, workspace, stakeholder, payload):
    workspace.name = f"Acme {payload}"
    digest = make_digest(
        workspace, stakeholder,
        sections=(
            Section("accounts", f"For your accounts {payload}", (
                entry(1, title=f"Title {payload}", detail=f"Detail {payload}",
                      companies=(f"Co {payload}", "Globex"),
                      reason=f"Why {payload}\n\n{XSS_REASON}",
                      anchor=f"entry-1{payload}"),
                entry(2, url=payload, title="Bad URL"),
            )),
        ),
        workspace_name=workspace.name, headline=f"Headline {payload}", name=f"Dana {payload}",
    )  # fmt: skip
    settings_row = services.digest_settings_update(
        workspace=workspace, sender_name=f"Sender {payload}"
    )

    received = send_and_receive(smtp_mail, digest, settings_row)

    text, html = bodies(received)
    assert_nothing_executable(html)
    # The bad URL is no link at all; the tracker's pixels are not loaded.
    assert payload not in Markup(html).hrefs()
    assert "tracker.test" not in "".join(str(a) for _t, a in Markup(html).tags)
    # Everything the user wrote reads as they wrote it: in the text part as is.
    for shown in (f"Title {payload}", f"Detail {payload}", f"Headline {payload}", f"Co {payload}"):
        assert shown in text
    assert "\n" not in header(received, "Subject")
    assert parseaddr(header(received, "From"))[1] == "digests@pm.example.test"


def test_escaped_text_reads_back_as_the_original(workspace, stakeholder):
    payload = XSS[1]
    digest = make_digest(
        workspace, stakeholder,
        sections=(Section("s", "S", (entry(1, title=payload, detail=payload),)),),
    )  # fmt: skip

    html = digest_html(digest)

    assert "&quot;&gt;&lt;img src=x onerror=alert(2)&gt;" in html
    assert_nothing_executable(html)


# --- subject, window, ids ------------------------------------------------------------------------
def test_subject_counts_each_entry_once_and_names_the_cadence(workspace, stakeholder):
    digest = make_digest(workspace, stakeholder)
    assert digest_subject(digest) == (
        "Acme: 2 shipped, 1 moved, 1 new insight — your weekly product digest"
    )
    daily = make_digest(workspace, stakeholder, covers_from=UNTIL - datetime.timedelta(days=1))
    assert digest_subject(daily).endswith("— your daily product digest")
    monthly = make_digest(
        workspace, stakeholder, covers_from=datetime.datetime(2026, 10, 26, 8, tzinfo=UTC)
    )
    assert digest_subject(monthly).endswith("— your monthly product digest")
    odd = make_digest(workspace, stakeholder, covers_from=UNTIL - datetime.timedelta(days=3))
    assert digest_subject(odd).endswith("— your product digest")


def test_subject_is_one_line_and_fits_the_send_log(workspace, stakeholder):
    many = tuple(entry(n, kind=kind) for n, kind in enumerate(
        ["shipped", "moved", "slipped", "declined", "insight", "insight", "key_result"]
    ))  # fmt: skip
    digest = make_digest(
        workspace, stakeholder, sections=(Section("s", "S", many),),
        workspace_name="Acme\r\nBcc: victim@example.test " + "x" * 300,
    )  # fmt: skip

    subject = digest_subject(digest)

    assert "\n" not in subject
    assert "\r" not in subject
    assert len(subject) <= 200
    assert subject.startswith("Acme Bcc: victim@example.test xxx")
    assert ": 1 shipped, 1 moved, 1 slipped —" in subject  # the first three kinds


def test_empty_digest_says_so(workspace, stakeholder):
    digest = make_digest(workspace, stakeholder, sections=())
    assert digest_subject(digest).startswith("Acme: no changes — ")
    assert "Nothing changed in what you follow." in digest_html(digest)
    assert "Nothing changed in what you follow." in digest_text(digest)


def test_window_label_spans_years_and_single_days(workspace, stakeholder):
    assert window_label(make_digest(workspace, stakeholder)) == "Nov 19 – Nov 26"
    new_year = make_digest(
        workspace, stakeholder,
        covers_from=datetime.datetime(2026, 12, 28, tzinfo=UTC),
        covers_until=datetime.datetime(2027, 1, 4, tzinfo=UTC),
    )  # fmt: skip
    assert window_label(new_year) == "Dec 28, 2026 – Jan 4, 2027"
    same_day = make_digest(workspace, stakeholder, covers_from=UNTIL - datetime.timedelta(hours=2))
    assert window_label(same_day) == "Nov 26"


def test_message_id_is_the_same_for_a_delivery_on_every_attempt():
    assert message_id_for(7) == message_id_for(7) == "<digest-7@pm.example.test>"
    assert message_id_for(8) != message_id_for(7)


def test_encoded_subject_words_stay_within_75_characters():
    subject = "Société Générale — Produit: 3 shipped, 1 moved — your weekly product digest"
    encoded = encoded_header(subject)
    assert encoded.isascii()
    assert all(len(word) <= 75 for word in encoded.split(" "))
    assert str(make_header(decode_header(encoded))) == subject
    assert encoded_header("Plain ASCII") == "Plain ASCII"


# --- the message as Django's other backends see it -----------------------------------------------
def test_locmem_outbox_and_djangos_own_mime_agree(workspace, stakeholder, digest_settings):
    digest = make_digest(workspace, stakeholder)
    message = digest_email(digest, settings=digest_settings, message_id=message_id_for(3))

    message.send()

    (sent,) = mail.outbox
    assert sent.subject == digest_subject(digest)
    assert sent.alternatives[0][0] == digest_html(digest)
    ours = message.message()
    assert ours["Message-ID"] == "<digest-3@pm.example.test>"
    theirs = super(type(message), message).message()  # the email package's generator
    for name in ("From", "To", "Reply-To", "Message-ID", "List-Unsubscribe", "Auto-Submitted"):
        assert ours[name] == theirs[name].replace("\n ", " ").strip(), name
    assert header(ours, "Subject") == header(theirs, "Subject")
    assert [p.get_payload(decode=True) for p in ours.get_payload()] == [
        p.get_payload(decode=True) for p in theirs.get_payload()
    ]
    assert settings.PMHUB_BASE_URL == BASE


def test_a_reason_keeps_its_markdown_but_not_a_title_of_its_own(workspace, stakeholder):
    reason = "# Why\n\n- the **vendor** API\n- [their notes](https://vendor.test/notes)"
    digest = make_digest(
        workspace, stakeholder,
        sections=(Section("s", "S", (entry(1, kind="moved", reason=reason),)),),
    )  # fmt: skip

    html = digest_html(digest)

    assert html.count("<h1") == 1  # the digest's headline only
    assert '<p style="margin:0 0 6px;font-weight:700;">Why</p>' in html
    assert "<li>the <strong>vendor</strong> API</li>" in html
    assert '<a style="color:#4338ca;" href="https://vendor.test/notes"' in html


def test_the_same_digest_draws_the_same_links_a_second_later(workspace, stakeholder):
    """Links are stamped with the window's end, not the clock: the preview, the email and the
    web version of one digest match byte for byte, and a link expires a fixed time after it."""
    digest = make_digest(workspace, stakeholder)
    first = digest_html(digest)
    time.sleep(1.05)
    assert digest_html(digest) == first
