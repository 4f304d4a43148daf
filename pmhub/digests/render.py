"""A digest as an email: the subject, the HTML (table layout, inline CSS, dark-mode friendly, no
remote images, no script), the plain-text alternative, and the message with its headers.

The HTML is built in Python, not with a template: a sender renders thousands of digests a
minute and the benchmark holds it to half the speed of pushing pre-rendered bytes through
smtplib, so a digest of ten entries must render and become a message in well under a
millisecond. Every user text goes through `html.escape`; a reason (Markdown) through the
project's one sanitizer, cached per text: one move's reason recurs in every digest that tells
of it. The MIME message is written by hand too (see PrebuiltMime).
"""

from __future__ import annotations

import base64
import datetime
import functools
import itertools
import secrets
from collections import Counter
from email import message_from_bytes
from email.message import Message
from email.utils import formataddr, formatdate, parseaddr
from html import escape
from urllib.parse import urlsplit

from django.conf import settings as django_settings
from django.core.mail import BadHeaderError, EmailMultiAlternatives
from django.core.mail.message import sanitize_address
from django.urls import reverse

from pmhub.core.markdown import render_markdown
from pmhub.digests.content import ENTRY_KINDS, Digest, Entry
from pmhub.digests.models import DigestSettings
from pmhub.digests.signing import unsubscribe_token

FONT = "-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif"
SUBJECT_MAX = 200  # Delivery.subject's length

# kind: (label, light colour, dark colour); the colour says what happened, as in the app.
KINDS = {
    "shipped": ("Shipped", "#15803d", "#4ade80"),
    "moved": ("Moved", "#4338ca", "#a5b4fc"),
    "slipped": ("Slipped", "#b45309", "#fbbf24"),
    "declined": ("Declined", "#b91c1c", "#fca5a5"),
    "scheduled": ("Scheduled", "#4338ca", "#a5b4fc"),
    "insight": ("New insight", "#0e7490", "#67e8f9"),
    "document": ("Approved", "#6d28d9", "#c4b5fd"),
    "release_notes": ("Release notes", "#6d28d9", "#c4b5fd"),
    "key_result": ("Key result", "#0f766e", "#5eead4"),
}
# kind: (one, many) in the subject line, in ENTRY_KINDS order.
SUBJECT_WORDS = {
    "shipped": ("{} shipped", "{} shipped"),
    "moved": ("{} moved", "{} moved"),
    "slipped": ("{} slipped", "{} slipped"),
    "declined": ("{} declined", "{} declined"),
    "scheduled": ("{} scheduled", "{} scheduled"),
    "insight": ("{} new insight", "{} new insights"),
    "document": ("{} document approved", "{} documents approved"),
    "release_notes": ("{} release announced", "{} releases announced"),
    "key_result": ("{} key result updated", "{} key results updated"),
}
assert set(KINDS) == set(ENTRY_KINDS) == set(SUBJECT_WORDS)  # noqa: S101 - a new kind needs words

# Dark mode where the client honours it (Apple Mail, iOS, Outlook.com, Thunderbird); the layout
# never depends on this block: the inline styles alone make the light version.
_KIND_DARK = "".join(
    f".k-{kind}{{color:{dark} !important}}\n" for kind, (_label, _light, dark) in KINDS.items()
)
STYLE = (
    ":root{color-scheme:light dark;supported-color-schemes:light dark}\n"
    "@media (prefers-color-scheme: dark){\n"
    ".d-bg{background-color:#111113 !important}\n"
    ".d-card{background-color:#1c1c21 !important;border-color:#2e2e35 !important}\n"
    ".d-text{color:#ececf1 !important}\n"
    ".d-muted{color:#a1a1aa !important}\n"
    ".d-link,.d-reason a{color:#a5b4fc !important}\n"
    ".d-rule{border-color:#2e2e35 !important}\n"
    ".d-reason{color:#d4d4d8 !important;border-color:#4338ca !important}\n"
    ".d-mark{background-color:#6366f1 !important}\n"
    f"{_KIND_DARK}}}\n"
    "@media (max-width:620px){.d-pad{padding:20px 16px !important}\n"
    ".d-outer{padding:12px 6px !important}}\n"
)


def _e(value: str) -> str:
    return escape(value, quote=True)


def _link(url: str) -> str | None:
    """The URL for an href, or None: links in a digest are ours and absolute, anything else
    (a `javascript:` one above all) is not a link."""
    return url if url.startswith(("https://", "http://")) else None


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _day(moment: datetime.datetime, *, year: bool = False) -> str:
    # Not strftime("%b"): a few microseconds a call, twice an entry, and English whatever the
    # process's locale.
    day = f"{MONTHS[moment.month - 1]} {moment.day}"
    return f"{day}, {moment.year}" if year else day


def window_label(digest: Digest) -> str:
    """The window a digest covers, in the zone its datetimes carry: "Nov 19 – Nov 26"."""
    start, end = digest.covers_from, digest.covers_until
    if start.date() == end.date():
        return _day(end)
    years = start.year != end.year
    return f"{_day(start, year=years)} – {_day(end, year=years)}"


def cadence_word(digest: Digest) -> str:
    """ "weekly" and the like: the stakeholder's cadence, or for a digest built without one,
    read from the window's length ("" when it is no usual one)."""
    if digest.cadence:
        return digest.cadence if digest.cadence in ("daily", "weekly", "monthly") else ""
    days = (digest.covers_until - digest.covers_from).total_seconds() / 86_400
    if 0.5 <= days <= 1.5:
        return "daily"
    if 6 <= days <= 8:
        return "weekly"
    if 27 <= days <= 32:
        return "monthly"
    return ""


def _kind_counts(digest: Digest) -> Counter[str]:
    """Entries by kind, each counted once though it may show in two sections (for your
    accounts, and shipped)."""
    seen = {(entry.kind, entry.url, entry.title) for s in digest.sections for entry in s.entries}
    return Counter(kind for kind, _url, _title in seen)


def digest_subject(digest: Digest) -> str:
    """One line: "Acme: 3 shipped, 1 moved — your weekly product digest"."""
    counts = _kind_counts(digest)
    parts = [
        SUBJECT_WORDS[kind][counts[kind] != 1].format(counts[kind])
        for kind in ENTRY_KINDS
        if counts[kind]
    ][:3]
    cadence = cadence_word(digest)
    tail = f"your {cadence} product digest" if cadence else "your product digest"
    name = " ".join(digest.workspace_name.split())[:60]
    subject = f"{name}: {', '.join(parts) or 'no changes'} — {tail}"
    return subject[:SUBJECT_MAX]


@functools.cache
def _unsubscribe_path() -> tuple[str, str]:
    # Reversed once: reverse() takes longer than signing the token, for the same answer.
    head, tail = reverse("digest:unsubscribe", kwargs={"digest_token": "TOKEN"}).split("TOKEN")
    return head, tail


def unsubscribe_url(digest: Digest) -> str:
    """The digest's signed, expiring unsubscribe link, absolute."""
    token = unsubscribe_token(
        workspace_id=digest.workspace_id,
        stakeholder_id=digest.stakeholder_id,
        signed_at=digest.covers_until,
    )
    head, tail = _unsubscribe_path()
    return f"{django_settings.PMHUB_BASE_URL}{head}{token}{tail}"


def message_id_for(delivery_id: int) -> str:
    """The delivery's Message-ID: the same on every attempt, so a resend after a crash is one
    message to the receiving side's duplicate checks."""
    host = urlsplit(django_settings.PMHUB_BASE_URL).hostname or "localhost"
    return f"<digest-{delivery_id}@{host}>"


# --- HTML --------------------------------------------------------------------------------------
_REASON_STYLES = (
    ("<p>", '<p style="margin:0 0 6px;">'),
    ("<ul>", '<ul style="margin:0 0 6px;padding-left:20px;">'),
    ("<ol>", '<ol style="margin:0 0 6px;padding-left:20px;">'),
    ("<blockquote>", '<blockquote style="margin:0 0 6px;padding-left:10px;">'),
    ("<a ", '<a style="color:#4338ca;" '),
    # A heading in a reason is a bold line, not a title bigger than the digest's own.
    *((f"<h{level}>", '<p style="margin:0 0 6px;font-weight:700;">') for level in range(1, 7)),
    *((f"</h{level}>", "</p>") for level in range(1, 7)),
)


@functools.lru_cache(maxsize=1024)
def _reason_html(reason: str) -> str:
    # The sanitizer's output carries no attributes but an <a>'s href, title and rel, so these
    # plain replacements only ever meet its own tags (text `<p>` arrives as `&lt;p&gt;`).
    html = str(render_markdown(reason)).strip()
    for tag, styled in _REASON_STYLES:
        html = html.replace(tag, styled)
    return html


def _entry_html(entry: Entry, first: bool) -> str:
    anchor = f' id="{_e(entry.anchor)}"' if entry.anchor else ""
    rule = "" if first else "border-top:1px solid #e4e4e7;"
    title = _e(entry.title)
    if url := _link(entry.url):
        title = (
            f'<a href="{_e(url)}" class="d-link" '
            f'style="color:#4338ca;text-decoration:none;">{title}</a>'
        )
    return (
        f'<tr><td{anchor} class="d-rule" style="padding:14px 0;{rule}">\n'
        f"{_entry_label_html(entry.kind, _day(entry.when))}"
        f'<p class="d-text" style="margin:0;font-size:16px;font-weight:600;line-height:1.35;'
        f'color:#18181b;">{title}</p>\n'
        f"{_entry_rest_html(entry.detail, entry.reason, entry.companies)}</td></tr>\n"
    )


# An entry's link and anchor are the stakeholder's own (the web version's address differs for
# each); the rest recurs across a run's digests and is drawn once.
@functools.lru_cache(maxsize=256)
def _entry_label_html(kind: str, day: str) -> str:
    label, light, _dark = KINDS.get(kind, (kind, "#52525b", ""))
    return (
        f'<p class="k-{_e(kind)}" style="margin:0 0 3px;font-size:12px;font-weight:600;'
        f'letter-spacing:0.02em;text-transform:uppercase;color:{light};">'
        f"{_e(label)} · {day}</p>\n"
    )


@functools.lru_cache(maxsize=4096)
def _entry_rest_html(detail: str, reason: str, companies: tuple[str, ...]) -> str:
    parts = []
    if detail:
        parts.append(
            f'<p class="d-muted" style="margin:3px 0 0;font-size:14px;color:#52525b;">'
            f"{_e(detail)}</p>\n"
        )
    if reason.strip():
        parts.append(
            '<div class="d-reason" style="margin:8px 0 0;padding:4px 0 0 12px;'
            'border-left:3px solid #c7d2fe;font-size:14px;line-height:1.5;color:#3f3f46;">'
            f"{_reason_html(reason)}</div>\n"
        )
    if companies:
        parts.append(
            f'<p class="d-muted" style="margin:8px 0 0;font-size:13px;color:#52525b;">'
            f"<strong>Asked for by:</strong> {_e(', '.join(companies))}</p>\n"
        )
    return "".join(parts)


def _footer_html(digest: Digest, unsubscribe: str) -> str:
    cadence = cadence_word(digest)
    links = []
    if web := _link(digest.web_url):
        links.append(
            f'<a href="{_e(web)}" class="d-muted" style="color:#52525b;">View in browser</a>'
        )
    if app := _link(digest.app_url):
        links.append(
            f'<a href="{_e(app)}" class="d-muted" style="color:#52525b;">'
            f"Open {_e(digest.workspace_name)} in pmhub</a>"
        )
    links.append(
        f'<a href="{_e(unsubscribe)}" class="d-muted" style="color:#52525b;">Unsubscribe</a>'
    )
    return (
        '<tr><td class="d-muted" style="padding:16px 8px 0;font-family:'
        f'{FONT};font-size:12px;line-height:1.6;color:#6b6b76;">\n'
        f"You get this {cadence + ' ' if cadence else ''}digest because "
        f"{_e(digest.workspace_name)} added {_e(digest.email)} to the people who hear what "
        "changes in its product.<br>\n"
        f"{' · '.join(links)}\n</td></tr>\n"
    )


def _digest_html(digest: Digest, subject: str, unsubscribe: str) -> str:
    workspace = _e(digest.workspace_name)
    initial = _e(digest.workspace_name.strip()[:1].upper()) or "p"
    cadence = cadence_word(digest)
    kind = f"{cadence.capitalize()} digest" if cadence else "Digest"
    out = [
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="color-scheme" content="light dark">\n'
        '<meta name="supported-color-schemes" content="light dark">\n'
        '<meta name="robots" content="noindex, nofollow">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>{_e(subject)}</title>\n<style>{STYLE}</style>\n</head>\n"
        '<body class="d-bg" style="margin:0;padding:0;background-color:#f4f4f6;">\n'
        '<div style="display:none;max-height:0;overflow:hidden;mso-hide:all;">'
        f"{_e(digest.headline)}</div>\n"
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        'class="d-bg" style="background-color:#f4f4f6;">\n'
        '<tr><td align="center" class="d-outer" style="padding:24px 12px;">\n'
        # Outlook for Windows ignores max-width: a fixed 600 px table holds the column there.
        '<!--[if mso]><table role="presentation" width="600" align="center" cellpadding="0" '
        'cellspacing="0" border="0"><tr><td><![endif]-->\n'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        'style="max-width:600px;">\n'
        f'<tr><td style="padding:0 8px 14px;font-family:{FONT};">\n'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0">'
        '<tr><td class="d-text" style="font-size:17px;font-weight:700;line-height:26px;'
        f'color:#18181b;"><span class="d-mark" style="display:inline-block;width:26px;'
        "height:26px;line-height:26px;border-radius:7px;background-color:#5046e5;color:#ffffff;"
        f'text-align:center;font-size:15px;vertical-align:top;">{initial}</span>'
        f"&nbsp; {workspace}</td></tr>\n"
        '<tr><td class="d-muted" style="padding-top:4px;font-size:13px;color:#52525b;">'
        f"{kind} · {window_label(digest)}</td></tr></table>\n</td></tr>\n"
        '<tr><td class="d-card d-pad" style="background-color:#ffffff;border:1px solid #e4e4e7;'
        f"border-radius:10px;padding:24px 28px;font-family:{FONT};font-size:15px;"
        'line-height:1.5;color:#18181b;">\n'
        '<h1 class="d-text" style="margin:0 0 4px;font-size:21px;line-height:1.3;'
        f'color:#18181b;">{_e(digest.headline)}</h1>\n'
    ]
    for section in digest.sections:
        if not section.entries:
            continue
        out.append(
            f'<h2 class="d-muted" style="margin:24px 0 0;font-size:13px;font-weight:700;'
            f'letter-spacing:0.04em;text-transform:uppercase;color:#52525b;">'
            f"{_e(section.title)}</h2>\n"
            '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0">\n'
        )
        out.extend(_entry_html(entry, index == 0) for index, entry in enumerate(section.entries))
        out.append("</table>\n")
    if digest.is_empty:
        out.append(
            '<p class="d-muted" style="margin:16px 0 0;color:#52525b;">'
            "Nothing changed in what you follow.</p>\n"
        )
    out.append("</td></tr>\n")
    out.append(_footer_html(digest, unsubscribe))
    out.append(
        "</table>\n<!--[if mso]></td></tr></table><![endif]-->\n</td></tr>\n</table>\n"
        "</body>\n</html>\n"
    )
    return "".join(out)


def digest_html(digest: Digest) -> str:
    """The digest's HTML document: the email's HTML part, the preview and the web version."""
    return _digest_html(digest, digest_subject(digest), unsubscribe_url(digest))


# --- text --------------------------------------------------------------------------------------
def _indent(text: str) -> str:
    return "\n".join(f"  {line}".rstrip() for line in text.strip().splitlines())


def _entry_text(entry: Entry) -> str:
    label = KINDS.get(entry.kind, (entry.kind,))[0]
    lines = [f"* {entry.title}", f"  {label} · {_day(entry.when)}"]
    if entry.detail:
        lines.append(f"  {entry.detail}")
    if entry.reason.strip():
        lines.append(f"  Why:\n{_indent(entry.reason)}")
    if entry.companies:
        lines.append(f"  Asked for by: {', '.join(entry.companies)}")
    if url := _link(entry.url):
        lines.append(f"  {url}")
    return "\n".join(lines) + "\n\n"


def _digest_text(digest: Digest, unsubscribe: str) -> str:
    cadence = cadence_word(digest)
    kind = f"{cadence.capitalize()} digest" if cadence else "Digest"
    out = [f"{digest.workspace_name} · {kind} · {window_label(digest)}\n\n{digest.headline}\n\n"]
    for section in digest.sections:
        if section.entries:
            out.append(f"{section.title.upper()}\n{'-' * len(section.title)}\n\n")
            out.extend(_entry_text(entry) for entry in section.entries)
    if digest.is_empty:
        out.append("Nothing changed in what you follow.\n\n")
    out.append(
        f"-- \nYou get this {cadence + ' ' if cadence else ''}digest because "
        f"{digest.workspace_name} added {digest.email} to the people who hear what changes in "
        "its product.\n"
    )
    if web := _link(digest.web_url):
        out.append(f"View in browser: {web}\n")
    if app := _link(digest.app_url):
        out.append(f"Open {digest.workspace_name} in pmhub: {app}\n")
    out.append(f"Unsubscribe: {unsubscribe}\n")
    return "".join(out)


def digest_text(digest: Digest) -> str:
    """The plain-text alternative: the same entries and links as the HTML."""
    return _digest_text(digest, unsubscribe_url(digest))


# --- the message -------------------------------------------------------------------------------
def _one_line(value: str) -> str:
    return " ".join(value.split())


def encoded_header(value: str) -> str:
    """`value` as RFC 2047 encoded words (base64, each within 75 characters), or itself when
    ASCII. The standard library's encoder measures every prefix of the text for the shortest
    encoding: ~0.5 ms for a subject with one dash, as long as building the rest of the message."""
    if value.isascii():
        return value
    data, words = value.encode(), []
    while data:
        # 45 bytes make 60 in base64, 72 with "=?utf-8?b?" and "?="; a word never ends inside
        # a character (a continuation byte is 0b10xxxxxx).
        cut = min(45, len(data))
        while cut < len(data) and data[cut] & 0xC0 == 0x80:
            cut -= 1
        words.append(f"=?utf-8?b?{base64.b64encode(data[:cut]).decode('ascii')}?=")
        data = data[cut:]
    return " ".join(words)


def _header_value(value: str) -> str:
    if "\n" in value or "\r" in value:
        raise BadHeaderError(f"A header value on more than one line: {value!r}")
    return value


def _address(address: str) -> str:
    """An address for a header: an ASCII one (a validated email, or formataddr's output) as it
    is, any other through Django's encoder (IDNA domain, encoded name)."""
    return address if address.isascii() else sanitize_address(address, "utf-8")


def _part(content_type: str, body: str) -> str:
    """One text part: 8bit as Django sends it, or base64 when a line would pass SMTP's limit
    of 998 octets (a long paragraph in a reason)."""
    if "\r" in body:
        body = body.replace("\r\n", "\n").replace("\r", "\n")
    data = body.encode()
    if max(map(len, data.split(b"\n"))) > 998:
        encoding, body = "base64", base64.encodebytes(data).decode("ascii")
    else:
        encoding = "8bit"
    return (
        f'Content-Type: {content_type}; charset="utf-8"\nMIME-Version: 1.0\n'
        f"Content-Transfer-Encoding: {encoding}\n\n{body}"
    )


class PrebuiltMime:
    """A digest's MIME message, written out as text: what Django's SMTP backend sends
    (`as_bytes(linesep="\\r\\n")`) without the `email` package's generator, which takes
    ~0.5 ms for a 15 kB digest (as long as rendering it and sending it). Anything else asked
    of it (a header, the parts) is answered by the standard parser on the same bytes."""

    def __init__(self, text: str) -> None:
        self._text = text  # "\n" line ends
        self._parsed: Message | None = None

    def as_bytes(self, unixfrom: bool = False, linesep: str = "\n", policy: object = None) -> bytes:
        text = self._text if linesep == "\n" else self._text.replace("\n", linesep)
        return text.encode()

    def as_string(
        self, unixfrom: bool = False, maxheaderlen: int = 0, policy: object = None
    ) -> str:
        return self._text

    __bytes__ = as_bytes
    __str__ = as_string

    def _message(self) -> Message:
        if self._parsed is None:
            self._parsed = message_from_bytes(self.as_bytes())
        return self._parsed

    def __getitem__(self, name: str) -> str | None:
        return self._message()[name]

    def __contains__(self, name: str) -> bool:
        return name in self._message()

    def __getattr__(self, name: str) -> object:
        return getattr(self._message(), name)


# A random prefix per process and a counter: unique like a random boundary (which must only not
# occur in the parts), without a system call for randomness per message.
_BOUNDARY_PREFIX = secrets.token_hex(12)
_BOUNDARY_COUNTER = itertools.count(1)


class DigestMessage(EmailMultiAlternatives):
    """A digest's message: the usual EmailMultiAlternatives for callers (subject, body,
    alternatives, send), whose MIME form is written by hand (see PrebuiltMime)."""

    def envelope(self) -> tuple[str, list[str], bytes] | None:
        """(sender, recipients, bytes) for smtplib's sendmail, as Django's SMTP backend would
        send them; None when an address needs Django's encoding (not ASCII)."""
        sender = parseaddr(self.from_email)[1]
        recipients = self.recipients()
        if not (sender.isascii() and all(r.isascii() for r in recipients)):
            return None
        return sender, recipients, self.message().as_bytes(linesep="\r\n")

    def message(self) -> PrebuiltMime:  # type: ignore[override]
        boundary = f"=_pmhub_{_BOUNDARY_PREFIX}_{next(_BOUNDARY_COUNTER)}"
        headers = [
            f'Content-Type: multipart/alternative; boundary="{boundary}"',
            "MIME-Version: 1.0",
            f"Subject: {encoded_header(_header_value(self.subject))}",
            f"From: {_address(_header_value(self.from_email))}",
            f"To: {', '.join(_address(_header_value(to)) for to in self.to)}",
        ]
        if self.reply_to:
            reply_to = ", ".join(_address(_header_value(to)) for to in self.reply_to)
            headers.append(f"Reply-To: {reply_to}")
        headers.append(f"Date: {formatdate(localtime=django_settings.EMAIL_USE_LOCALTIME)}")
        headers.extend(
            f"{name}: {_header_value(value)}" for name, value in self.extra_headers.items()
        )
        (html, _mimetype), *_others = self.alternatives
        return PrebuiltMime(
            "\n".join(headers)
            + f"\n\n--{boundary}\n{_part('text/plain', self.body)}"
            + f"\n--{boundary}\n{_part('text/html', html)}\n--{boundary}--\n"
        )


@functools.lru_cache(maxsize=256)
def _from(sender: str, default_from: str) -> str:
    """ "<sender> <address of DEFAULT_FROM_EMAIL>": one per workspace, parsed once."""
    return formataddr((sender, parseaddr(default_from)[1] or default_from))


def digest_email(
    digest: Digest, *, settings: DigestSettings, message_id: str, connection: object = None
) -> DigestMessage:
    """The digest as a message ready for `connection.send_messages`: text body, HTML
    alternative, RFC 8058 one-click unsubscribe, the given Message-ID."""
    subject = digest_subject(digest)
    unsubscribe = unsubscribe_url(digest)
    sender = _one_line(settings.sender_name) or _one_line(digest.workspace_name) or "pmhub"
    message = DigestMessage(
        subject=subject,
        body=_digest_text(digest, unsubscribe),
        from_email=_from(sender, django_settings.DEFAULT_FROM_EMAIL),
        to=[digest.email],
        reply_to=[settings.reply_to] if settings.reply_to else None,
        headers={
            "Message-ID": message_id,
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
            "X-Auto-Response-Suppress": "All",
            # The quick start's outbox page shows a workspace only the mail carrying its slug.
            "X-PMHub-Workspace": digest.workspace_slug,
        },
        connection=connection,
    )
    message.attach_alternative(_digest_html(digest, subject, unsubscribe), "text/html")
    return message
