"""Immediate digests whose task was lost (see pmhub.core.recovery).

A ship or a release-notes publish enqueues the task that creates the "immediately"
stakeholders' deliveries; until it runs nothing in the database says they are owed. So after a
Redis restart (when the scan's own marker is gone with the rest of Redis) and otherwise every
SCAN_SECONDS, the events of the last LOOKBACK in workspaces where someone gets immediate
digests have that task enqueued again. It creates only the deliveries still missing
(unique per stakeholder and event), so a second run sends nothing twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import transaction

from docs.models import Document, Kind
from pmhub.digests.models import Cadence, DigestSettings, Stakeholder
from roadmap.models import RoadmapEvent

SCAN_KEY = "digests:immediate-scan"
SCAN_SECONDS = 10 * 60
# Longer than SCAN_SECONDS, so a task lost between two scans is still found by the second.
LOOKBACK = timedelta(minutes=30)


def _workspaces_with_immediate_stakeholders() -> set[int]:
    # cross-workspace: the watchdog serves every workspace.
    active = Stakeholder.objects.unscoped().filter(status=Stakeholder.Status.ACTIVE)
    chosen = active.filter(cadence=Cadence.IMMEDIATELY)
    # cross-workspace: the same, for workspaces whose default cadence is "immediately".
    by_default = DigestSettings.objects.unscoped().filter(cadence=Cadence.IMMEDIATELY)
    defaulted = active.filter(cadence="", workspace_id__in=by_default.values("workspace_id"))
    return set(chosen.values_list("workspace_id", flat=True).distinct()) | set(
        defaulted.values_list("workspace_id", flat=True).distinct()
    )


def immediate_digests_resume(*, now: datetime) -> int:
    """Enqueue the immediate digests of the recent ships and release notes, when a scan is due;
    the number of events."""
    from pmhub.digests.tasks import digests_immediate_task

    # add() stores the marker only when it is missing: once per interval, and at once when a
    # restarted Redis has lost it (the cache reads False while Redis is down: nothing to do).
    if not cache.add(SCAN_KEY, now.isoformat(), timeout=SCAN_SECONDS):
        return 0
    workspaces = _workspaces_with_immediate_stakeholders()
    if not workspaces:
        return 0
    since = now - LOOKBACK
    # cross-workspace: recent events of the workspaces found above (index on workspace, time).
    ships = RoadmapEvent.objects.unscoped().filter(
        workspace_id__in=workspaces,
        kind=RoadmapEvent.Kind.SHIPPED,
        item__isnull=False,
        created_at__gte=since,
    )
    # cross-workspace: the same, for release notes.
    notes = Document.objects.unscoped().filter(
        workspace_id__in=workspaces,
        kind=Kind.RELEASE_NOTES,
        status=Document.Status.PUBLISHED,
        published_at__gte=since,
    )
    events = {("shipped", w, i) for w, i in ships.values_list("workspace_id", "item_id")}
    events |= {("release_notes", w, d) for w, d in notes.values_list("workspace_id", "id")}
    with transaction.atomic():
        for kind, workspace_id, object_id in sorted(events):
            digests_immediate_task.delay_on_commit(
                workspace_id=workspace_id, kind=kind, object_id=object_id
            )
    return len(events)
