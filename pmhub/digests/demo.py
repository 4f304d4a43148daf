"""The demo workspace's stakeholders: an account executive who owns three demo companies, a VP
of sales and a CEO who follow the whole workspace, a support lead who follows one product area,
and a key-account manager who hears of ships at once. Written once, through the services, over
the demo discovery, backlog, roadmap and docs data.

So that the quick start shows real digests within minutes, the demo's history is dated as what
it stands for (weeks of work before today): the roadmap's and documents' events, the insights'
validations and the key results' values move to between 44 and 32 days ago, and each
scheduled stakeholder was added two months ago and last heard from us 45 days ago. Their current
periods have then come, each digest covers that history, and the first sweep after the start
creates and sends it. The key-account manager ("immediately") hears of what happens from now on.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from backlog.models import ProductArea
from discovery.models import Company, Insight
from docs.models import DocumentEvent
from pmhub.digests import services
from pmhub.digests.models import Cadence, Stakeholder
from roadmap.models import KeyResultValue, RoadmapEvent

if TYPE_CHECKING:
    from pmhub.workspaces.models import Workspace

SENDER_NAME = "Acme Product team"
REPLY_TO = "product@acme.example"
# The history's span, and the stakeholders' last digest before it (days before the seeding).
HISTORY_FROM_DAYS = 44
HISTORY_TO_DAYS = 32
COVERED_DAYS = 45
ADDED_DAYS = 60


@dataclass(frozen=True)
class DemoStakeholder:
    email: str
    name: str
    team: str
    cadence: str
    timezone: str = ""
    follows_workspace: bool = False
    owns: tuple[str, ...] = ()  # companies, by name
    areas: tuple[str, ...] = ()  # product areas, by name


ACCOUNT_EXECUTIVE = DemoStakeholder(
    "dana.reyes@acme.example", "Dana Reyes", "Sales (account executive)", Cadence.WEEKLY,
    "America/New_York",
    # Orchard Bank and Harbor Yoga asked for the accents fix (shipped); Northwind Logistics for
    # SAML and the Jira sync (moved to Later, with the reason).
    owns=("Orchard Bank", "Harbor Yoga", "Northwind Logistics"),
)  # fmt: skip
STAKEHOLDERS = [
    ACCOUNT_EXECUTIVE,
    DemoStakeholder("sam.okafor@acme.example", "Sam Okafor", "VP Sales", Cadence.DAILY,
                    follows_workspace=True),
    DemoStakeholder("priya.nair@acme.example", "Priya Nair", "Support lead", Cadence.WEEKLY,
                    "Europe/London", areas=("Roadmap",)),
    DemoStakeholder("alex.morgan@acme.example", "Alex Morgan", "CEO", Cadence.MONTHLY,
                    "America/Los_Angeles", follows_workspace=True),
    DemoStakeholder("jordan.lee@acme.example", "Jordan Lee", "Key accounts (Helios Health)",
                    Cadence.IMMEDIATELY, owns=("Helios Health",)),
]  # fmt: skip
SCHEDULED = [s for s in STAKEHOLDERS if s.cadence != Cadence.IMMEDIATELY]


def demo_digests_present(*, workspace: Workspace) -> bool:
    return (
        Stakeholder.objects.for_workspace(workspace)
        .filter(email__iexact=ACCOUNT_EXECUTIVE.email)
        .exists()
    )


@transaction.atomic
def demo_digests_create(*, workspace: Workspace, now: datetime.datetime | None = None) -> bool:
    """Write the demo stakeholders unless they are there; False when they were."""
    if demo_digests_present(workspace=workspace):
        return False
    now = now or timezone.now()
    services.digest_settings_update(
        workspace=workspace, sender_name=SENDER_NAME, reply_to=REPLY_TO,
        cadence=Cadence.WEEKLY, send_hour=8, timezone="UTC",
    )  # fmt: skip
    companies = dict(Company.objects.for_workspace(workspace).values_list("name", "id"))
    areas = dict(ProductArea.objects.for_workspace(workspace).values_list("name", "id"))
    created = []
    for spec in STAKEHOLDERS:
        stakeholder = services.stakeholder_create(
            workspace=workspace, email=spec.email, name=spec.name, team=spec.team,
            follows_workspace=spec.follows_workspace, cadence=spec.cadence,
            timezone_name=spec.timezone,
        )  # fmt: skip
        for name in spec.owns:
            if name in companies:
                services.follow_add(
                    workspace=workspace, stakeholder=stakeholder, company_id=companies[name],
                    owns=True,
                )  # fmt: skip
        for name in spec.areas:
            if name in areas:
                services.follow_add(
                    workspace=workspace, stakeholder=stakeholder, area_id=areas[name]
                )
        created.append(stakeholder.id)
    # Seeding's own clock, not a change of anyone's: no service sets when a row was made. The
    # one who hears at once has heard of the whole history already: the seeding's own ships and
    # publications (dated weeks back below) must not reach them as news.
    added = now - datetime.timedelta(days=ADDED_DAYS)
    stakeholders = Stakeholder.objects.for_workspace(workspace).filter(id__in=created)
    stakeholders.exclude(cadence=Cadence.IMMEDIATELY).update(
        created_at=added, covered_until=now - datetime.timedelta(days=COVERED_DAYS)
    )
    stakeholders.filter(cadence=Cadence.IMMEDIATELY).update(created_at=added, covered_until=now)
    _history_dated(workspace, now)
    return True


def _history_dated(workspace: Workspace, now: datetime.datetime) -> None:
    """Spread the demo's digest-worthy history over its span, in the order it was written."""
    start = now - datetime.timedelta(days=HISTORY_FROM_DAYS)
    span = datetime.timedelta(days=HISTORY_FROM_DAYS - HISTORY_TO_DAYS)
    roadmap_events = list(
        RoadmapEvent.objects.for_workspace(workspace).order_by("created_at", "id")
    )
    document_events = list(
        DocumentEvent.objects.for_workspace(workspace).order_by("created_at", "id")
    )
    insights = list(
        Insight.objects.for_workspace(workspace)
        .filter(validated_at__isnull=False)
        .order_by("validated_at", "id")
    )
    moments = _spread(start, span, len(roadmap_events) + len(document_events) + len(insights))
    for event in roadmap_events:
        event.created_at = next(moments)
    RoadmapEvent.objects.bulk_update(roadmap_events, ["created_at"])
    for event in document_events:
        event.created_at = next(moments)
    DocumentEvent.objects.bulk_update(document_events, ["created_at"])
    for insight in insights:
        insight.validated_at = next(moments)
    Insight.objects.bulk_update(insights, ["validated_at"])
    # A key result's value was recorded when it was measured, and no later than the history.
    values = list(KeyResultValue.objects.for_workspace(workspace))
    last = start + span
    for value in values:
        value.created_at = min(value.measured_at, last)
    KeyResultValue.objects.bulk_update(values, ["created_at"])


def _spread(
    start: datetime.datetime, span: datetime.timedelta, count: int
) -> Iterator[datetime.datetime]:
    step = span / max(1, count)
    return iter(start + step * n for n in range(count))
