"""While Redis is unreachable: the cache reads misses and drops writes, pages answer (sessions
are cached_db, written through to PostgreSQL), and enqueueing logs instead of raising.

"Unreachable" is a loopback port where nothing listens: the connection is refused, as it is
while a restarted Redis is not yet back.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from backlog import scoring, services
from discovery.services import FeedbackInput, feedback_create
from pmhub.workspaces.models import Workspace
from tests.factories import PASSWORD
from tests.ops.redis_support import free_port, publishing_to

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_down(settings: Any) -> str:
    """Point this process's cache at a port where nothing listens; the URL."""
    url = f"redis://127.0.0.1:{free_port()}/0"
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "LOCATION": url, "KEY_PREFIX": "down"}
    }
    return url


def test_the_cache_reads_misses_and_drops_writes_while_redis_is_unreachable(redis_down):
    cache.set("a", 1)
    cache.set_many({"b": 2})

    assert cache.get("a") is None
    assert cache.get("a", "default") == "default"
    assert cache.get_many(["a", "b"]) == {}
    assert cache.add("c", 1) is False
    assert cache.has_key("a") is False
    assert cache.delete("a") is False
    with pytest.raises(ValueError, match="not found"):
        cache.incr("a")


def test_pages_answer_while_redis_is_unreachable(redis_down, workspace: Workspace, member):
    scoring.scoring_defaults_ensure(workspace=workspace)  # its medians are cached
    item = services.item_create(workspace=workspace, actor=None, title="Export")
    feedback_create(workspace=workspace, actor=member, data=FeedbackInput(text="Slow export"))
    client = Client()

    signed_in = client.post("/accounts/login/", {"username": member.email, "password": PASSWORD})
    pages = [
        reverse("home"),
        reverse("backlog:item-detail", kwargs={"workspace_slug": workspace.slug,
                                               "item_id": item.id}),
        reverse("discovery:index", kwargs={"workspace_slug": workspace.slug}),
    ]  # fmt: skip
    answers = {page: client.get(page, follow=True).status_code for page in pages}
    signed_out = client.post("/accounts/logout/")

    assert signed_in.status_code == 302  # the session is in PostgreSQL
    assert answers == dict.fromkeys(pages, 200)
    assert signed_out.status_code == 302
    assert client.get(pages[1]).status_code == 302  # signed out for real: back to the login


def test_enqueueing_logs_instead_of_raising_while_the_broker_is_unreachable(
    redis_down, workspace, member, django_capture_on_commit_callbacks
):
    from discovery.tasks import tag_items_task

    lines: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
    logging.getLogger("pmhub.core.queue").addHandler(handler)

    with publishing_to(redis_down), django_capture_on_commit_callbacks(execute=True):
        feedback = feedback_create(
            workspace=workspace, actor=member, data=FeedbackInput(text="Slow export")
        )
        result = tag_items_task.delay(workspace_id=workspace.id, kind="feedback", ids=[])
    logging.getLogger("pmhub.core.queue").removeHandler(handler)

    assert feedback.id is not None
    assert result is None
    # The feedback's own tagging task, then the direct one.
    assert [line.split(" {")[0] for line in lines] == [
        "broker unreachable, task pmhub.discovery.tag_items"
    ] * 2
