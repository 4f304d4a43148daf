"""The demo workspace's roadmaps, releases and objectives: written once, over the demo backlog,
through the same services the pages use, so the history pages show real events."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from backlog.models import Item
from roadmap import objectives, releases, services
from roadmap.models import KeyResultValue, Roadmap

if TYPE_CHECKING:
    from pmhub.accounts.models import User
    from pmhub.workspaces.models import Workspace

PRODUCT_ROADMAP = "Product roadmap 2027"

# Items of the demo backlog by title, and the column of the product roadmap each sits in.
BOARD = {
    "Now": [
        "Export the filtered view to CSV and Excel",
        "Boards with 5,000 items open in a second",
        "SAML single sign-on",
    ],
    "Next": [
        "Exports that keep every field",
        "Search answers in under 200 ms",
        "Invite teammates from the first screen",
        "Two-way Jira sync",
    ],
    "Later": [
        "Scheduled weekly exports by email",
        "Weekly summary for stakeholders",
        "Import accounts from Salesforce",
        "Cheaper seats for read-only viewers",
    ],
}
# (name, days from today to the target date, status, items, launch tasks (title, team, days))
RELEASES = [
    (
        "2026.11 — Accents",
        -12,
        "released",
        ["Excel opens exports with the right accents"],
        [("Changelog entry", "docs", -14), ("Tell the accounts that asked", "support", -10)],
    ),
    (
        "2026.12 — Exports",
        18,
        "in_progress",
        ["Export the filtered view to CSV and Excel", "Exports that keep every field"],
        [
            ("Launch blog post", "marketing", 16),
            ("Sales one-pager on exports", "sales", 12),
            ("Help centre: exporting a view", "docs", 15),
            ("Support macro for export questions", "support", 17),
        ],
    ),
    (
        "2027.01 — Enterprise",
        48,
        "planned",
        ["SAML single sign-on", "Boards with 5,000 items open in a second"],
        [
            ("SSO setup guide", "docs", 44),
            ("Enterprise webinar", "marketing", 50),
            ("Security questionnaire answers", "sales", 40),
        ],
    ),
]
OBJECTIVES = [
    (
        "Win the enterprise accounts that asked for SSO and scale",
        "2027 Q1",
        [
            # metric, unit, baseline, target, (days ago, value)..., items
            ("Enterprise ARR", "$", 1_200_000, 2_000_000,
             [(90, 1_200_000), (60, 1_310_000), (30, 1_420_000), (5, 1_480_000)],
             ["SAML single sign-on", "Boards with 5,000 items open in a second"]),
            ("Enterprise deals lost to missing SSO", "deals", 6, 0,
             [(90, 6), (45, 4), (10, 3)], ["SAML single sign-on"]),
        ],
    ),
    (
        "Make exports something customers trust",
        "2026 Q4",
        [
            ("Export-related tickets per week", "tickets", 40, 10,
             [(80, 40), (50, 33), (20, 24), (3, 19)],
             ["Export the filtered view to CSV and Excel", "Exports that keep every field",
              "Excel opens exports with the right accents"]),
        ],
    ),
]  # fmt: skip


def demo_roadmap_present(*, workspace: Workspace) -> bool:
    return Roadmap.objects.for_workspace(workspace).filter(name=PRODUCT_ROADMAP).exists()


@transaction.atomic
def demo_roadmap_create(*, workspace: Workspace, actor: User | None) -> bool:
    """Write the demo roadmaps unless they are there; False when they were."""
    if demo_roadmap_present(workspace=workspace):
        return False
    items = {
        i.title: i for i in Item.objects.for_workspace(workspace).filter(merged_into__isnull=True)
    }
    today = timezone.localdate()
    board = services.roadmap_create(
        workspace=workspace,
        actor=actor,
        name=PRODUCT_ROADMAP,
        description="Where the product is going, by horizon. Shared with sales and support.",
        group_by="area",
    )
    columns = {c.name: c for c in board.columns.all()}
    for column, titles in BOARD.items():
        for title in titles:
            if title in items:
                services.placement_add(
                    workspace=workspace,
                    actor=actor,
                    roadmap=board,
                    item=items[title],
                    column_id=columns[column].id,
                )
    # A real board has a history: one item pulled forward, one pushed back with a reason.
    if "Two-way Jira sync" in items:
        services.placement_move(
            workspace=workspace,
            actor=actor,
            roadmap=board,
            item=items["Two-way Jira sync"],
            column_id=columns["Later"].id,
            reason="Jira's new API lands in March; building on the old one would be thrown away.",
        )
    if "Search answers in under 200 ms" in items:
        services.placement_move(
            workspace=workspace,
            actor=actor,
            roadmap=board,
            item=items["Search answers in under 200 ms"],
            column_id=columns["Now"].id,
        )
    for name, days, status, titles, tasks in RELEASES:
        release = releases.release_create(
            workspace=workspace,
            actor=actor,
            name=name,
            target_date=today + datetime.timedelta(days=days),
            status=status,
        )
        for title in titles:
            if title in items:
                start = today + datetime.timedelta(days=days - 30)
                services.item_schedule_set(
                    workspace=workspace,
                    actor=actor,
                    item=items[title],
                    release_id=release.id,
                    start_date=start,
                    end_date=today + datetime.timedelta(days=days - 2),
                )
        for title, team, due in tasks:
            task = releases.launch_task_create(
                workspace=workspace,
                actor=actor,
                release=release,
                title=title,
                team=team,
                owner_id=actor.id if actor else None,
                due_date=today + datetime.timedelta(days=due),
            )
            if due < 0:
                releases.launch_task_toggle(workspace=workspace, actor=actor, task=task)
    # The enterprise release slipped once, and said why.
    enterprise = releases.release_get(workspace=workspace, release_id=release.id)
    releases.release_update(
        workspace=workspace,
        actor=actor,
        release=enterprise,
        version=enterprise.version,
        target_date=enterprise.target_date + datetime.timedelta(days=14),
        reason="SSO needs a security review by two pilot customers first.",
    )
    services.roadmap_create(
        workspace=workspace,
        actor=actor,
        name="Delivery timeline",
        kind=Roadmap.Kind.TIMELINE,
        description="What is being built when, for engineering and customer success.",
        group_by="area",
    )
    services.roadmap_create(
        workspace=workspace,
        actor=actor,
        name="Release plan",
        kind=Roadmap.Kind.RELEASE_PLAN,
        description="What ships in which release.",
    )
    now = timezone.now()
    for title, period, key_results in OBJECTIVES:
        objective = objectives.objective_create(
            workspace=workspace,
            actor=actor,
            title=title,
            period=period,
            owner_id=actor.id if actor else None,
        )
        for metric, unit, baseline, target, history, linked in key_results:
            key_result = objectives.key_result_create(
                workspace=workspace,
                actor=actor,
                objective=objective,
                metric=metric,
                unit=unit,
                baseline=baseline,
                target=target,
            )
            for days_ago, value in history:
                objectives.key_result_value_record(
                    workspace=workspace,
                    actor=actor,
                    key_result=key_result,
                    value=value,
                    measured_at=now - datetime.timedelta(days=days_ago),
                    source=KeyResultValue.Source.MANUAL,
                )
            for item_title in linked:
                if item_title in items:
                    objectives.key_result_item_link(
                        workspace=workspace,
                        actor=actor,
                        key_result=key_result,
                        item_id=items[item_title].id,
                    )
    return True
