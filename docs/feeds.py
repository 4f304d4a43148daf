"""The public changelog as an Atom 1.0 feed (RFC 4287), built with xml.etree so that every
text is escaped by the serializer: an entry's content is its sanitized HTML, type="html"."""

from __future__ import annotations

import datetime
import xml.etree.ElementTree as ET  # noqa: S405 (we build XML, we never parse untrusted XML)

from django.utils import timezone

from docs.changelog import PublicChangelog

ATOM = "http://www.w3.org/2005/Atom"
ET.register_namespace("", ATOM)


def _tag(name: str) -> str:
    return f"{{{ATOM}}}{name}"


def _sub(parent: ET.Element, name: str, text: str = "", **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, _tag(name), attributes)
    if text:
        element.text = text
    return element


def _time(value: datetime.datetime) -> str:
    return value.astimezone(datetime.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def changelog_atom(
    changelog: PublicChangelog, *, index_url: str, feed_url: str, entry_url: str
) -> bytes:
    """The feed's bytes. `entry_url` holds `{id}` for each entry's absolute address; ids are
    tag URIs minted from the index address, stable across edits."""
    feed = ET.Element(_tag("feed"))
    _sub(feed, "id", index_url)
    _sub(feed, "title", changelog.title)
    if changelog.description:
        _sub(feed, "subtitle", changelog.description)
    _sub(feed, "updated", _time(changelog.updated_at or timezone.now()))
    _sub(feed, "link", rel="alternate", type="text/html", href=index_url)
    _sub(feed, "link", rel="self", type="application/atom+xml", href=feed_url)
    author = _sub(feed, "author")
    _sub(author, "name", changelog.workspace_name)
    _sub(feed, "generator", "pmhub")
    for entry in changelog.entries:
        url = entry_url.format(id=entry.id)
        node = _sub(feed, "entry")
        _sub(node, "id", url)
        _sub(node, "title", entry.title)
        _sub(node, "published", _time(entry.published_at))
        _sub(node, "updated", _time(entry.updated_at))
        _sub(node, "link", rel="alternate", type="text/html", href=url)
        if entry.release_name:
            _sub(node, "category", term=entry.release_name)
        _sub(node, "content", str(entry.html), type="html")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)
