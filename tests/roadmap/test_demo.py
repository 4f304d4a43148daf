"""The demo workspace's roadmaps: written once over the demo backlog, with a history."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from backlog.demo import demo_backlog_create
from discovery.demo import demo_discovery_create
from roadmap import selectors
from roadmap.demo import BOARD, PRODUCT_ROADMAP, demo_roadmap_create
from roadmap.models import KeyResult, LaunchTask, Release, Roadmap, RoadmapEvent

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


def test_the_demo_roadmaps_are_written_once_with_releases_objectives_and_history(workspace, admin):
    demo_discovery_create(workspace=workspace, actor=admin, now=NOW)
    demo_backlog_create(workspace=workspace, actor=admin)

    assert demo_roadmap_create(workspace=workspace, actor=admin) is True
    assert demo_roadmap_create(workspace=workspace, actor=admin) is False

    kinds = set(Roadmap.objects.for_workspace(workspace).values_list("kind", flat=True))
    assert kinds == {"now_next_later", "timeline", "release_plan"}
    board = Roadmap.objects.for_workspace(workspace).get(name=PRODUCT_ROADMAP)
    columns = selectors.roadmap_board(workspace=workspace, roadmap=board)
    assert sum(c.count for c in columns) == sum(len(t) for t in BOARD.values())
    assert Release.objects.for_workspace(workspace).count() == 3
    assert LaunchTask.objects.for_workspace(workspace).count() == 9
    assert KeyResult.objects.for_workspace(workspace).filter(current__isnull=False).count() == 3
    setbacks = RoadmapEvent.objects.for_workspace(workspace).filter(is_setback=True)
    assert setbacks.filter(kind="moved").exclude(reason="").exists()
    assert setbacks.filter(kind="release_redated").exclude(reason="").exists()
