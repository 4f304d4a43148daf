"""Read-only share links to a roadmap: their services, their reads, and the content of the
public page they open.

A link's secret is shown once, when it is made; only its SHA-256 and a display prefix are kept.
The public page is built from plain dicts holding only the fields chosen for the link, so a
field left out cannot reach the template, whatever the template does.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.contrib.postgres.expressions import ArraySubquery
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone

from backlog.models import Item, ItemCustomer
from pmhub.core.exceptions import ApplicationError
from pmhub.core.markdown import render_markdown
from pmhub.workspaces.audit import audit_record
from pmhub.workspaces.models import Workspace
from roadmap.models import KeyResultItem, Roadmap, RoadmapEvent, ShareLink
from roadmap.selectors import (
    roadmap_board,
    roadmap_release_plan,
    roadmap_timeline,
    timeline_window,
)
from roadmap.services import GoneError

if TYPE_CHECKING:
    from pmhub.accounts.models import User

SHARE_TOKEN_PREFIX = "pmr_"  # noqa: S105 - a public marker, not a secret.
# secrets.token_urlsafe(32): 256 random bits in 43 url-safe characters.
_TOKEN_RE = re.compile(r"pmr_[A-Za-z0-9_-]{43}")
DISPLAY_PREFIX_CHARS = 8
VIEW_RESOLUTION = datetime.timedelta(minutes=1)
NAME_MAX_CHARS = 80
MAX_ACTIVE_LINKS = 50
CUSTOMER_NAMES_SHOWN = 5

# What a link may show beyond each item's title and its place (column, release or dates).
SHAREABLE_FIELDS = (
    "status",
    "area",
    "schedule",
    "objective",
    "customers",
    "companies",
    "description",
    "arr",
    "customer_names",
)
FIELD_LABELS = {
    "status": "Status",
    "area": "Product area",
    "schedule": "Target release and dates",
    "objective": "Objectives",
    "customers": "Number of customers asking",
    "companies": "Number of companies asking",
    "description": "Item descriptions",
    "arr": "ARR of the companies asking",
    "customer_names": "Names of the customers asking",
}
# Internal notes and who pays what: shown only when someone picks them, and marked as such.
SENSITIVE_FIELDS = frozenset({"description", "arr", "customer_names"})
DEFAULT_FIELDS = ("status", "area", "schedule")


class ShareLinkRevokedError(ApplicationError):
    """A revoked link cannot be changed or revoked again."""


# --- tokens ------------------------------------------------------------------------------------
def share_token_generate() -> str:
    return SHARE_TOKEN_PREFIX + secrets.token_urlsafe(32)


def share_token_hash(raw: str) -> str:
    # 256 random bits: a fast unsalted hash is enough, there is nothing to brute-force.
    return hashlib.sha256(raw.encode()).hexdigest()


# --- validation --------------------------------------------------------------------------------
def clean_share_fields(fields: Iterable[str] | None) -> list[str]:
    """The chosen fields, known ones only, each once, in SHAREABLE_FIELDS order."""
    if fields is None:
        return []
    if isinstance(fields, str) or not isinstance(fields, Iterable):
        raise ValidationError({"fields": "Send a list of field names."})
    chosen = set()
    for field in fields:
        if field not in SHAREABLE_FIELDS:
            raise ValidationError(
                {"fields": f"Unknown field {str(field)[:40]!r}; choose among "
                 f"{', '.join(SHAREABLE_FIELDS)}."}
            )  # fmt: skip
        chosen.add(field)
    return [f for f in SHAREABLE_FIELDS if f in chosen]


def _clean_link_name(name: str | None) -> str:
    name = " ".join((name or "").split())
    if len(name) > NAME_MAX_CHARS:
        raise ValidationError({"name": f"At most {NAME_MAX_CHARS} characters."})
    return name


def _clean_expiry(expires_at: datetime.datetime | None) -> datetime.datetime | None:
    if expires_at is None:
        return None
    if not isinstance(expires_at, datetime.datetime) or timezone.is_naive(expires_at):
        raise ValidationError({"expires_at": "Give the expiry as a date and time with a zone."})
    if expires_at <= timezone.now():
        raise ValidationError({"expires_at": "The expiry must be in the future."})
    return expires_at


# --- services ----------------------------------------------------------------------------------
@transaction.atomic
def share_link_create(
    *,
    workspace: Workspace,
    actor: User | None,
    roadmap: Roadmap,
    name: str,
    fields: Iterable[str] | None,
    expires_at: datetime.datetime | None = None,
) -> tuple[ShareLink, str]:
    """A new link to `roadmap` and its secret (`pmr_…`), which is never stored nor shown again."""
    roadmap = (
        Roadmap.objects.for_workspace(workspace).select_for_update().filter(id=roadmap.id).first()
    )
    if roadmap is None:
        raise GoneError("This roadmap no longer exists.")
    name = _clean_link_name(name)
    fields = clean_share_fields(fields)
    expires_at = _clean_expiry(expires_at)
    active = share_link_list(workspace=workspace, roadmap=roadmap, active_only=True).count()
    if active >= MAX_ACTIVE_LINKS:
        raise ApplicationError(
            f"This roadmap has {active} live share links; revoke some before making another."
        )
    secret = share_token_generate()
    link = ShareLink.objects.create(
        workspace=workspace,
        roadmap=roadmap,
        name=name,
        token_hash=share_token_hash(secret),
        token_prefix=secret[:DISPLAY_PREFIX_CHARS],
        fields=fields,
        expires_at=expires_at,
        created_by=actor,
    )
    audit_record(
        workspace=workspace,
        actor=actor,
        action="roadmap.share_link_created",
        target=link,
        changes={
            "roadmap": roadmap.name,
            "name": name,
            "fields": fields,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
    return link, secret


def _locked_link(workspace: Workspace, link: ShareLink) -> ShareLink:
    locked = ShareLink.objects.for_workspace(workspace).select_for_update().filter(id=link.id)
    link = locked.first()
    if link is None:
        raise GoneError("This share link no longer exists.")
    if link.revoked_at is not None:
        raise ShareLinkRevokedError("This share link is revoked; make a new one.")
    return link


@transaction.atomic
def share_link_revoke(*, workspace: Workspace, actor: User | None, link: ShareLink) -> ShareLink:
    """Stop a link at once: its page answers 404 from now on."""
    link = _locked_link(workspace, link)
    link.revoked_at = timezone.now()
    link.save(update_fields=["revoked_at", "updated_at"])
    audit_record(
        workspace=workspace,
        actor=actor,
        action="roadmap.share_link_revoked",
        target=link,
        changes={"name": link.name, "prefix": link.token_prefix},
    )
    return link


_UNSET: Any = object()


@transaction.atomic
def share_link_update(
    *,
    workspace: Workspace,
    actor: User | None,
    link: ShareLink,
    name: str = _UNSET,
    fields: Iterable[str] | None = _UNSET,
    expires_at: datetime.datetime | None = _UNSET,
) -> ShareLink:
    """Rename a live link, change what it shows or when it expires (None: never)."""
    link = _locked_link(workspace, link)
    changes: dict[str, Any] = {}
    if name is not _UNSET:
        changes["name"] = _clean_link_name(name)
    if fields is not _UNSET:
        changes["fields"] = clean_share_fields(fields)
    if expires_at is not _UNSET and expires_at != link.expires_at:
        changes["expires_at"] = _clean_expiry(expires_at)
    diff = {k: [getattr(link, k), v] for k, v in changes.items() if getattr(link, k) != v}
    if not diff:
        return link
    for key, (_, value) in diff.items():
        setattr(link, key, value)
    link.save(update_fields=[*diff, "updated_at"])
    audit_record(
        workspace=workspace,
        actor=actor,
        action="roadmap.share_link_updated",
        target=link,
        changes={
            k: [v.isoformat() if isinstance(v, datetime.datetime) else v for v in pair]
            for k, pair in diff.items()
        },
    )
    return link


def share_link_mark_viewed(*, link: ShareLink) -> None:
    """Record that the page was opened, at most once per VIEW_RESOLUTION, so that a busy
    public page does not write on every view."""
    now = timezone.now()
    if link.last_viewed_at and now - link.last_viewed_at < VIEW_RESOLUTION:
        return
    ShareLink.objects.for_workspace(link.workspace).filter(id=link.id).update(last_viewed_at=now)
    link.last_viewed_at = now


# --- selectors ---------------------------------------------------------------------------------
def share_link_resolve(token: str, *, record_view: bool = True) -> ShareLink | None:
    """The live link this secret opens, with its roadmap and workspace; None when unknown,
    malformed, tampered with, revoked or expired (the page answers all of them alike)."""
    if not isinstance(token, str) or _TOKEN_RE.fullmatch(token) is None:
        return None
    digest = share_token_hash(token)
    # cross-workspace: the secret is the whole address of a public page; it names the workspace.
    link = (
        ShareLink.objects.unscoped()
        .select_related("roadmap", "workspace")
        .filter(token_hash=digest)
        .first()
    )
    if link is None or not hmac.compare_digest(link.token_hash, digest):
        return None
    if link.revoked_at is not None:
        return None
    if link.expires_at is not None and link.expires_at <= timezone.now():
        return None
    if record_view:
        share_link_mark_viewed(link=link)
    return link


def share_link_list(
    *, workspace: Workspace, roadmap: Roadmap, active_only: bool = False
) -> QuerySet[ShareLink]:
    """The roadmap's links, live ones first, newest first."""
    links = ShareLink.objects.for_workspace(workspace).filter(roadmap_id=roadmap.id)
    if active_only:
        links = links.filter(revoked_at__isnull=True).filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
        )
    return links.select_related("created_by").order_by(
        F("revoked_at").desc(nulls_first=True), "-id"
    )


def share_link_get(*, workspace: Workspace, roadmap: Roadmap, share_link_id: int) -> ShareLink:
    return (
        ShareLink.objects.for_workspace(workspace)
        .select_related("created_by")
        .get(roadmap_id=roadmap.id, id=share_link_id)
    )


def share_link_state(link: ShareLink, now: datetime.datetime | None = None) -> str:
    """ "live", "expired" or "revoked"."""
    if link.revoked_at is not None:
        return "revoked"
    if link.expires_at is not None and link.expires_at <= (now or timezone.now()):
        return "expired"
    return "live"


# --- the public page ---------------------------------------------------------------------------
# The page reads the roadmap as its own pages do (roadmap.selectors), then copies into new dicts
# only the title and the chosen fields of each card.
def _extras(workspace: Workspace, item_ids: list[int], fields: set[str]) -> dict[int, dict]:
    """What the roadmap's reads leave out, for the cards shown, in one statement: descriptions,
    every objective served, and a few names of the customers asking (the most critical first)."""
    wanted = fields & {"description", "objective", "customer_names"}
    if not wanted or not item_ids:
        return {}
    values: dict[str, Any] = {}
    if "objective" in wanted:
        values["objectives"] = ArraySubquery(
            KeyResultItem.objects.for_workspace(workspace)
            .filter(item_id=OuterRef("id"))
            .values("key_result__objective__title")
            .distinct()
        )
    if "customer_names" in wanted:
        values["customer_names"] = ArraySubquery(
            ItemCustomer.objects.for_workspace(workspace)
            .filter(item_id=OuterRef("id"))
            .annotate(
                shown=Coalesce(NullIf("customer__name", Value("")), "customer__company__name")
            )
            .exclude(shown__isnull=True)
            .exclude(shown="")
            .order_by("-importance", "shown", "id")
            .values("shown")[:CUSTOMER_NAMES_SHOWN]
        )
    columns = ["id", *(["description"] if "description" in wanted else [])]
    rows = Item.objects.for_workspace(workspace).filter(id__in=item_ids).values(*columns, **values)
    return {row.pop("id"): row for row in rows}


def _card(row: dict[str, Any], extra: dict[str, Any], fields: set[str]) -> dict[str, Any]:
    """One item as the public page shows it: its title and exactly the chosen fields."""
    card: dict[str, Any] = {"title": row["title"]}
    if "status" in fields:
        card["status"] = row["status"]
        card["status_label"] = Item.Status(row["status"]).label
    if "area" in fields:
        card["area"] = row["area_name"] or ""
    if "schedule" in fields:
        card["release"] = row["release_name"] or ""
        card["start"] = row["start_date"]
        card["end"] = row["end_date"]
    if "objective" in fields:
        card["objectives"] = sorted(t for t in extra.get("objectives") or () if t)
    if "customers" in fields:
        card["customers"] = row["customer_count"]
    if "companies" in fields:
        card["companies"] = row["company_count"]
    if "arr" in fields:
        card["arr"] = int(row["arr"] or 0)
    if "customer_names" in fields:
        names = list(extra.get("customer_names") or ())
        card["customer_names"] = names
        card["more_customers"] = max(0, (row["customer_count"] or 0) - len(names))
    if "description" in fields:
        text = extra.get("description") or ""
        card["description_html"] = render_markdown(text) if text else ""
    return card


def _columns(
    workspace: Workspace, columns: list[tuple[dict[str, Any], int, list]], fields: set[str]
) -> list[dict[str, Any]]:
    extras = _extras(workspace, [c["id"] for _, _, cards in columns for c in cards], fields)
    return [
        {
            **head,
            "count": count,
            "items": [_card(c, extras.get(c["id"], {}), fields) for c in cards],
            "more": count - len(cards),
            "ids": [c["id"] for c in cards],
        }
        for head, count, cards in columns
    ]


# Timeline bars are drawn in a 0..TIMELINE_WIDTH viewBox stretched to the row's width, each
# period an equal share of it, as the header's labels.
TIMELINE_WIDTH = 1000


def _timeline(workspace: Workspace, roadmap: Roadmap, fields: set[str]) -> dict[str, Any]:
    today = timezone.localdate()
    start, end = timeline_window(roadmap.scale, today)
    timeline = roadmap_timeline(workspace=workspace, roadmap=roadmap, start=start, end=end)
    step = 3 if roadmap.scale == Roadmap.Scale.QUARTER else 1
    periods = []
    day = start
    while day <= end:
        periods.append(day)
        index = day.year * 12 + day.month - 1 + step
        day = datetime.date(index // 12, index % 12 + 1, 1)

    def position(day: datetime.date, *, right_edge: bool = False) -> float:
        day = min(max(day, start), end)
        months = (day.year - start.year) * 12 + day.month - start.month
        period = months // step
        first = periods[period]
        following = periods[period + 1] if period + 1 < len(periods) else end + ONE_DAY
        into = (day - first).days + (1 if right_edge else 0)
        share = (period + into / (following - first).days) / len(periods)
        return round(share * TIMELINE_WIDTH, 2)

    extras = _extras(workspace, [bar["id"] for bar in timeline.bars], fields)
    rows = []
    for bar in timeline.bars:
        last = bar["end_date"] or bar["release_target"] or bar["start_date"]
        first = bar["start_date"] or last
        x = position(first)
        card = _card(bar, extras.get(bar["id"], {}), fields)
        if "schedule" in fields and not card["end"] and not card["start"]:
            card["end"] = bar["release_target"]
        width = max(position(last, right_edge=True) - x, 6)
        rows.append({**card, "x": x, "width": round(width, 2), "milestone": not bar["start_date"]})
    label = "%b %Y" if step == 1 else None
    return {
        "periods": [
            {
                "label": p.strftime(label) if label else f"Q{(p.month - 1) // 3 + 1} {p.year}",
                "x": round(i / len(periods) * TIMELINE_WIDTH, 2),
            }
            for i, p in enumerate(periods)
        ],
        "rows": rows,
        "ids": [bar["id"] for bar in timeline.bars],
        "more": timeline.count - len(rows),
        "today": position(today),
        "width": TIMELINE_WIDTH,
        "start": start,
        "end": end,
    }


ONE_DAY = datetime.timedelta(days=1)


def shared_roadmap(link: ShareLink) -> dict[str, Any]:
    """What the public page of `link` shows: its roadmap's name, description and content, each
    item with its title and only the link's fields. A fixed number of statements whatever the
    size: the roadmap's own read (one or two), and one more for descriptions, objectives or
    customer names when the link shows them."""
    roadmap, workspace = link.roadmap, link.workspace
    fields = set(clean_share_fields(link.fields))
    content: dict[str, Any] = {
        "name": roadmap.name,
        "kind": roadmap.kind,
        "kind_label": Roadmap.Kind(roadmap.kind).label,
        "workspace": workspace.name,
        "description_html": render_markdown(roadmap.description) if roadmap.description else "",
        "columns": [],
        "timeline": None,
        "updated_at": roadmap.updated_at,
    }
    if roadmap.kind == Roadmap.Kind.TIMELINE:
        content["timeline"] = _timeline(workspace, roadmap, fields)
        content["count"] = len(content["timeline"]["rows"]) + content["timeline"]["more"]
    elif roadmap.kind == Roadmap.Kind.RELEASE_PLAN:
        plan = roadmap_release_plan(
            workspace=workspace, roadmap=roadmap, today=timezone.localdate()
        )
        heads = [
            (
                {
                    "name": c.release.name,
                    "date": c.release.target_date,
                    "status": c.release.status,
                    "status_label": c.release.get_status_display(),
                },
                c.count,
                c.cards,
            )
            for c in plan
        ]
        content["columns"] = _columns(workspace, heads, fields)
        changed = [c.release.updated_at for c in plan]
        content["updated_at"] = max([roadmap.updated_at, *changed])
    else:
        board = roadmap_board(workspace=workspace, roadmap=roadmap)
        heads = [({"name": c.column.name}, c.count, c.cards) for c in board]
        content["columns"] = _columns(workspace, heads, fields)
        changed = [c.column.updated_at for c in board]
        content["updated_at"] = max([roadmap.updated_at, *changed])
    if content["timeline"] is None:
        content["count"] = sum(c["count"] for c in content["columns"])
        shown = [card_id for c in content["columns"] for card_id in c.pop("ids")]
    else:
        shown = content["timeline"].pop("ids")
    # Dates and releases change on the item, not on one roadmap: its shown items' events count.
    last_event = (
        RoadmapEvent.objects.for_workspace(workspace)
        .filter(Q(roadmap=roadmap) | Q(item_id__in=shown))
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    if last_event and last_event > content["updated_at"]:
        content["updated_at"] = last_event
    return content
