"""bench.digests's pieces at 50 recipients, so that the benchmark does not rot: the load
(distinct scopes, a handful of entries a digest), the sink process counting messages per
recipient and connections, the floor, one worker process with its SQL and memory counted, and
the fault run's kills and restarts. Not a timed test: the figures are the benchmark's."""

from __future__ import annotations

import random
from argparse import Namespace

import pytest

from bench import digests
from pmhub.digests.models import Follow

# The worker is a process of its own: it reads what this test commits.
pytestmark = pytest.mark.django_db(transaction=True)

RECIPIENTS = 50
BATCH = 20


def test_the_benchmark_runs_at_fifty_recipients(tmp_path):
    workspace, loading = digests.workspace_ready(RECIPIENTS)
    assert (loading["reused"], loading["stakeholders"]) == (False, RECIPIENTS)
    scopes: dict[int, set[tuple[str, int]]] = {}
    for follow in Follow.objects.for_workspace(workspace):
        target = next(
            (name, value)
            for name in ("area_id", "item_id", "company_id", "roadmap_id")
            if (value := getattr(follow, name)) is not None
        )
        scopes.setdefault(follow.stakeholder_id, set()).add(target)
    assert len(scopes) == RECIPIENTS
    assert len({frozenset(scope) for scope in scopes.values()}) == RECIPIENTS

    until = digests.window_end(workspace)
    rendered, content = digests.prerender(workspace, until)
    assert content["empty"] == 0
    assert 3 <= content["entries_min"] <= content["entries_max"] <= 20
    messages = [(sender, email, data) for _id, email, sender, data in rendered]
    expected = {email for _id, email, _sender, _data in rendered}

    with digests.sink_running(tmp_path, "floor") as sink:
        floor = digests.floor_push(messages, sink.port)
        counts = sink.stop()
    assert floor["messages"] == RECIPIENTS
    assert (counts["connections"], counts["messages"]) == (1, RECIPIENTS)
    assert set(counts["recipients"]) == expected

    ids = [stakeholder_id for stakeholder_id, *_ in rendered]
    # The plain worker: the sender's own loop in a process, batches as small as asked (a real
    # Celery worker takes seconds to start, and claims the sender's default batch).
    args = Namespace(worker="plain", batch_size=BATCH, profile="", memory_at=BATCH, kills=2)
    digests.deliveries_reset(workspace, ids, until)
    with digests.sink_running(tmp_path, "main") as sink:
        worker = digests.main_run(workspace, sink.port, args, tmp_path, RECIPIENTS)
        counts = sink.stop()
    assert digests.recipients_figures(counts, expected) == {
        "received": RECIPIENTS, "duplicates": 0, "missing": 0, "unexpected": 0,
    }  # fmt: skip
    batches = -(-RECIPIENTS // BATCH)
    assert counts["connections"] == batches  # one SMTP connection a batch
    # Statements grow with the batches, not the recipients.
    assert 0 < worker["statements"] <= 12 * batches < RECIPIENTS
    assert 0 < worker["peak_early_kb"] <= worker["maxrss_kb"]
    assert digests.delivery_statuses(workspace) == {"sent": RECIPIENTS}

    # And a real Celery worker consuming digests_send (one batch: the sender's default size).
    digests.deliveries_reset(workspace, ids, until)
    celery_args = Namespace(**{**vars(args), "worker": "celery"})
    with digests.sink_running(tmp_path, "celery") as sink:
        worker = digests.main_run(workspace, sink.port, celery_args, tmp_path, RECIPIENTS)
        counts = sink.stop()
    assert digests.recipients_figures(counts, expected)["received"] == RECIPIENTS
    assert counts["connections"] == 1
    assert 0 < worker["statements"] <= 12
    assert digests.delivery_statuses(workspace) == {"sent": RECIPIENTS}

    digests.deliveries_reset(workspace, ids, until)
    fault_args = Namespace(**{**vars(args), "batch_size": 10})
    with digests.sink_running(tmp_path, "fault") as sink:
        harness = digests.fault_run(
            workspace, sink.port, fault_args, tmp_path, rate=100.0,
            rng=random.Random(5),  # noqa: S311 - kill moments
        )  # fmt: skip
        counts = sink.stop()
    figures = digests.recipients_figures(counts, expected)
    assert figures["missing"] == 0
    assert figures["duplicates"] <= harness["kills"] <= 2
    assert harness["starts"] >= harness["kills"] + 1
    assert digests.delivery_statuses(workspace) == {"sent": RECIPIENTS}
