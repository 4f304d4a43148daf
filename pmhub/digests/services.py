"""The one write path for stakeholders, their follows and the workspace's digest settings, and
the sweeper that creates due deliveries.

The sweeper only creates Delivery rows, unique per (stakeholder, period), with
`ON CONFLICT DO NOTHING`: run twice, by two beats at once, or after a crash, it creates each
due delivery exactly once. Sending is the senders' job.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from pmhub.core.exceptions import ApplicationError
from pmhub.digests.models import Cadence, Delivery, DigestSettings, Follow, Stakeholder
from pmhub.digests.schedule import current_period, zone
from pmhub.workspaces.models import Membership, Workspace

if TYPE_CHECKING:
    from pmhub.accounts.models import User

SWEEP_CHUNK = 2_000


# --- settings ----------------------------------------------------------------------------------
def digest_settings_get(*, workspace: Workspace) -> DigestSettings:
    """The workspace's digest settings, created with the defaults on first use."""
    found = DigestSettings.objects.for_workspace(workspace).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return DigestSettings.objects.create(workspace=workspace)
    except IntegrityError:  # created meanwhile by another request
        return DigestSettings.objects.for_workspace(workspace).get()


def _clean_hour(hour: Any, field: str = "send_hour") -> int:
    try:
        value = int(hour)
    except (TypeError, ValueError):
        raise ValidationError({field: "Give an hour from 0 to 23."}) from None
    if not 0 <= value <= 23:
        raise ValidationError({field: "Give an hour from 0 to 23."})
    return value


def _clean_timezone(name: str, field: str = "timezone") -> str:
    try:
        zone(name)
    except ValueError as exc:
        raise ValidationError({field: str(exc)}) from None
    return name


def _clean_cadence(cadence: str, *, blank: bool) -> str:
    if (blank and cadence == "") or cadence in Cadence.values:
        return cadence
    raise ValidationError({"cadence": f"Choose one of: {', '.join(Cadence.values)}."})


@transaction.atomic
def digest_settings_update(*, workspace: Workspace, **changes: Any) -> DigestSettings:
    found = digest_settings_get(workspace=workspace)
    found = DigestSettings.objects.for_workspace(workspace).select_for_update().get(id=found.id)
    if "cadence" in changes:
        changes["cadence"] = _clean_cadence(changes["cadence"], blank=False)
    if "send_hour" in changes:
        changes["send_hour"] = _clean_hour(changes["send_hour"])
    if "timezone" in changes:
        changes["timezone"] = _clean_timezone(changes["timezone"])
    if "reply_to" in changes and changes["reply_to"]:
        try:
            validate_email(changes["reply_to"])
        except ValidationError:
            raise ValidationError({"reply_to": "Give an email address."}) from None
    if "sender_name" in changes:
        changes["sender_name"] = " ".join((changes["sender_name"] or "").split())[:120]
    for field, value in changes.items():
        setattr(found, field, value)
    found.save()
    return found


# --- stakeholders --------------------------------------------------------------------------------
def _clean_email(email: str) -> str:
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": f"“{email[:80]}” is not an email address."}) from None
    return email


def _member(workspace: Workspace, email: str) -> User | None:
    membership = (
        Membership.objects.for_workspace(workspace)
        .select_related("user")
        .filter(user__email__iexact=email)
        .first()
    )
    return membership.user if membership is not None else None


def stakeholder_create(
    *,
    workspace: Workspace,
    email: str,
    name: str = "",
    team: str = "",
    follows_workspace: bool = False,
    cadence: str = "",
    send_hour: int | None = None,
    timezone_name: str = "",
) -> Stakeholder:
    """A stakeholder; linked to the member with that email when there is one (their links then
    go to the app). An email already here is refused."""
    email = _clean_email(email)
    try:
        with transaction.atomic():
            return Stakeholder.objects.create(
                workspace=workspace, email=email, name=" ".join(name.split())[:120],
                team=" ".join(team.split())[:80], user=_member(workspace, email),
                follows_workspace=follows_workspace,
                cadence=_clean_cadence(cadence, blank=True),
                send_hour=None if send_hour is None else _clean_hour(send_hour),
                timezone=_clean_timezone(timezone_name) if timezone_name else "",
            )  # fmt: skip
    except IntegrityError:
        raise ValidationError({"email": f"{email} is already a stakeholder here."}) from None


def follow_add(
    *,
    workspace: Workspace,
    stakeholder: Stakeholder,
    area_id: int | None = None,
    roadmap_id: int | None = None,
    item_id: int | None = None,
    company_id: int | None = None,
    owns: bool = False,
) -> Follow:
    """The stakeholder follows one area, roadmap, item or company of the workspace (idempotent;
    `owns` marks a company they own as its account owner)."""
    from backlog.models import Item, ProductArea
    from discovery.models import Company
    from roadmap.models import Roadmap

    given = [
        (field, model, value)
        for field, model, value in (
            ("area", ProductArea, area_id), ("roadmap", Roadmap, roadmap_id),
            ("item", Item, item_id), ("company", Company, company_id),
        )
        if value is not None
    ]  # fmt: skip
    if len(given) != 1:
        raise ValidationError("Follow one area, roadmap, item or company at a time.")
    field, model, value = given[0]
    if owns and field != "company":
        raise ValidationError({"owns": "Only a company has an account owner."})
    if not model.objects.for_workspace(workspace).filter(id=value).exists():
        raise ValidationError({field: f"No such {field} in this workspace."})
    follow, created = Follow.objects.for_workspace(workspace).get_or_create(
        workspace=workspace, stakeholder=stakeholder, **{f"{field}_id": value},
        defaults={"owns": owns},
    )  # fmt: skip
    if not created and follow.owns != owns:
        follow.owns = owns
        follow.save(update_fields=["owns", "updated_at"])
    return follow


# --- the sweeper ---------------------------------------------------------------------------------
def _due_deliveries(
    stakeholders: Iterable[dict[str, Any]],
    defaults: dict[int, DigestSettings],
    now: datetime.datetime,
) -> list[Delivery]:
    made = []
    for row in stakeholders:
        own = defaults.get(row["workspace_id"])
        cadence = row["cadence"] or (own.cadence if own else Cadence.WEEKLY)
        hour = row["send_hour"] if row["send_hour"] is not None else (own.send_hour if own else 8)
        tz_name = row["timezone"] or (own.timezone if own else "UTC")
        try:
            period = current_period(cadence, hour, tz_name, now)
        except ValueError:  # a timezone removed from the system's database since it was set
            period = current_period(cadence, hour, "UTC", now)
        # A stakeholder added after this period's moment starts with the next one.
        if period is None or period.due_at < row["created_at"]:
            continue
        made.append(
            Delivery(
                workspace_id=row["workspace_id"],
                stakeholder_id=row["id"],
                period=period.key,
                due_at=period.due_at,
                covers_until=period.due_at,
            )  # fmt: skip
        )
    return made


def deliveries_create_due(*, now: datetime.datetime | None = None) -> int:
    """Create the delivery of every active stakeholder whose period has come, in every
    workspace; each at most once (unique per stakeholder and period: rows already there are
    skipped by PostgreSQL). Returns how many deliveries were due, made now or before."""
    now = now or timezone.now()
    # cross-workspace: the sweeper serves every workspace's schedule in one pass.
    defaults = {s.workspace_id: s for s in DigestSettings.objects.unscoped()}
    # cross-workspace: as above.
    rows = (
        Stakeholder.objects.unscoped()
        .filter(status=Stakeholder.Status.ACTIVE)
        .exclude(cadence__in=[Cadence.OFF, Cadence.IMMEDIATELY])
        .order_by("id")
        .values("id", "workspace_id", "cadence", "send_hour", "timezone", "created_at")
    )
    due_count, last_id = 0, 0
    while True:
        chunk = list(rows.filter(id__gt=last_id)[:SWEEP_CHUNK])
        if not chunk:
            return due_count
        last_id = chunk[-1]["id"]
        due = _due_deliveries(chunk, defaults, now)
        # A workspace whose default is off or immediately: its stakeholders without their own
        # cadence get nothing scheduled (_due_deliveries found no period for them).
        Delivery.objects.bulk_create(due, ignore_conflicts=True)
        due_count += len(due)


# --- stakeholder edits (the pages, the API and the CSV import) ---------------------------------
class StaleEditError(ApplicationError):
    """Someone saved the stakeholder after this edit began; `extra["version"]` is the current
    one. The API answers 412 (its If-Match failed), the pages 409 with the form kept."""

    status_code = 412


STAKEHOLDER_FIELDS = frozenset(
    {"email", "name", "team", "follows_workspace", "cadence", "send_hour", "timezone"}
)


@transaction.atomic
def stakeholder_update(
    *, workspace: Workspace, stakeholder: Stakeholder, version: int | None, **changes: Any
) -> Stakeholder:
    """Save an edit begun on `version` (None: no check, the caller read it just now); a save
    in between is refused with StaleEditError, never overwritten. A new email is linked to the
    member who has it, if any."""
    unknown = set(changes) - STAKEHOLDER_FIELDS
    if unknown:
        raise ValidationError(f"Unknown stakeholder fields: {', '.join(sorted(unknown))}.")
    found = Stakeholder.objects.for_workspace(workspace).select_for_update().get(id=stakeholder.id)
    if version is not None and found.version != version:
        raise StaleEditError(
            "Someone else saved this stakeholder while you were editing. Their changes are "
            "shown; save again to replace them with yours.",
            extra={"version": found.version},
        )
    if "email" in changes:
        found.email = _clean_email(changes["email"])
        found.user = _member(workspace, found.email)
    if "name" in changes:
        found.name = " ".join((changes["name"] or "").split())[:120]
    if "team" in changes:
        found.team = " ".join((changes["team"] or "").split())[:80]
    if "follows_workspace" in changes:
        found.follows_workspace = bool(changes["follows_workspace"])
    if "cadence" in changes:
        found.cadence = _clean_cadence(changes["cadence"] or "", blank=True)
    if "send_hour" in changes:
        hour = changes["send_hour"]
        found.send_hour = None if hour is None or hour == "" else _clean_hour(hour)
    if "timezone" in changes:
        found.timezone = _clean_timezone(changes["timezone"]) if changes["timezone"] else ""
    found.version += 1
    try:
        with transaction.atomic():
            found.save()
    except IntegrityError:
        raise ValidationError({"email": f"{found.email} is already a stakeholder here."}) from None
    return found


@transaction.atomic
def stakeholder_delete(*, workspace: Workspace, stakeholder: Stakeholder) -> None:
    """Remove the stakeholder with their follows and send log."""
    Stakeholder.objects.for_workspace(workspace).filter(id=stakeholder.id).delete()


@transaction.atomic
def stakeholder_resume(*, workspace: Workspace, stakeholder: Stakeholder) -> Stakeholder:
    """A paused address (repeated delivery failures) becomes active again with its failures
    forgotten. An unsubscribed stakeholder stays unsubscribed: only they can change that."""
    found = Stakeholder.objects.for_workspace(workspace).select_for_update().get(id=stakeholder.id)
    if found.status == Stakeholder.Status.UNSUBSCRIBED:
        raise ApplicationError(
            "This stakeholder unsubscribed; only they can subscribe again.",
        )
    if found.status == Stakeholder.Status.PAUSED or found.failure_count:
        found.status = Stakeholder.Status.ACTIVE
        found.failure_count = 0
        found.last_failure = ""
        found.version += 1
        found.save(
            update_fields=["status", "failure_count", "last_failure", "version", "updated_at"]
        )
    return found


def follow_remove(*, workspace: Workspace, stakeholder: Stakeholder, follow_id: int) -> bool:
    """Stop following one thing (idempotent: a follow already gone is no error, and False)."""
    deleted, _ = (
        Follow.objects.for_workspace(workspace)
        .filter(stakeholder_id=stakeholder.id, id=follow_id)
        .delete()
    )
    return bool(deleted)


FOLLOW_TARGETS = ("area", "roadmap", "item", "company")
MAX_FOLLOWS = 500


@transaction.atomic
def stakeholder_follows_set(
    *, workspace: Workspace, stakeholder: Stakeholder, follows: Iterable[tuple[str, int, bool]]
) -> list[Follow]:
    """Make (kind, target id, owns) the stakeholder's whole list of follows (a CRM's sync):
    follows not named are removed, new ones added, `owns` set as given. Every target is
    checked in the workspace first (one statement a kind); one unknown refuses it all."""
    from backlog.models import Item, ProductArea
    from discovery.models import Company
    from roadmap.models import Roadmap

    wanted: dict[tuple[str, int], bool] = {}
    for kind, target_id, owns in follows:
        if kind not in FOLLOW_TARGETS:
            raise ValidationError({"follows": f"“{kind}” is not one of {FOLLOW_TARGETS}."})
        if owns and kind != "company":
            raise ValidationError({"follows": "Only a company has an account owner."})
        wanted[(kind, target_id)] = wanted.get((kind, target_id), False) or bool(owns)
    if len(wanted) > MAX_FOLLOWS:
        raise ValidationError({"follows": f"At most {MAX_FOLLOWS} follows a stakeholder."})
    models = {"area": ProductArea, "roadmap": Roadmap, "item": Item, "company": Company}
    for kind, model in models.items():
        ids = {target_id for k, target_id in wanted if k == kind}
        found = set(
            model.objects.for_workspace(workspace).filter(id__in=ids).values_list("id", flat=True)
        ) if ids else set()  # fmt: skip
        if ids - found:
            missing = ", ".join(str(i) for i in sorted(ids - found)[:5])
            raise ValidationError({"follows": f"No such {kind} in this workspace: {missing}."})
    Stakeholder.objects.for_workspace(workspace).select_for_update().get(id=stakeholder.id)
    current = Follow.objects.for_workspace(workspace).filter(stakeholder_id=stakeholder.id)
    kept, gone, owns_changed = set(), [], []
    for follow in current:
        kind = next(k for k in FOLLOW_TARGETS if getattr(follow, f"{k}_id"))
        key = (kind, getattr(follow, f"{kind}_id"))
        if key not in wanted:
            gone.append(follow.id)
            continue
        kept.add(key)
        if follow.owns != wanted[key]:
            owns_changed.append((follow.id, wanted[key]))
    Follow.objects.for_workspace(workspace).filter(id__in=gone).delete()
    for owns in (True, False):
        ids = [follow_id for follow_id, value in owns_changed if value is owns]
        if ids:
            Follow.objects.for_workspace(workspace).filter(id__in=ids).update(owns=owns)
    Follow.objects.bulk_create(
        [
            Follow(workspace=workspace, stakeholder_id=stakeholder.id, owns=owns,
                   **{f"{kind}_id": target_id})
            for (kind, target_id), owns in wanted.items()
            if (kind, target_id) not in kept
        ]
    )  # fmt: skip
    return list(
        Follow.objects.for_workspace(workspace).filter(stakeholder_id=stakeholder.id).order_by("id")
    )
