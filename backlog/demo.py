"""The demo workspace's backlog: items built on the demo discovery set's insights and feedback.

Written through the backlog services (the one write path), after discovery's demo set. Each
item cites the feedback a person tagged with its theme, so its demand figures are real.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import transaction

from backlog import saved_views, scoring, services
from backlog.models import Item, ItemCustomer, ProductArea, SavedView
from discovery.models import Insight, Tagging
from pmhub.workspaces.models import Membership

if TYPE_CHECKING:
    from pmhub.accounts.models import User
    from pmhub.workspaces.models import Workspace

AREAS = [
    ("Roadmap", "Roadmaps, exports and the views stakeholders read."),
    ("Board", "The board and list views, their speed and search."),
    ("Onboarding", "A new team's first days."),
    ("Integrations", "Jira, Slack, Salesforce and the API."),
    ("Admin & security", "SSO, permissions and the audit log."),
]


@dataclass(frozen=True)
class DemoItem:
    title: str
    kind: str
    area: str | None
    status: str
    effort: float
    theme: str  # The discovery tag whose person-tagged feedback asks for it.
    feedback: int  # How many of those feedback items it cites.
    insight: str = ""  # The start of an insight title it cites.
    parent: str = ""
    reason: str = ""
    description: str = ""


ITEMS = [
    DemoItem(
        "Exports that keep every field",
        "epic",
        "Roadmap",
        "planned",
        13,
        "Exports",
        0,
        insight="Enterprise teams rebuild exports",
        description="Exports are how our customers' leadership sees the roadmap. Today they "
        "drop custom fields and time out on large boards, and teams rebuild them by hand.",
    ),
    DemoItem(
        "Export the filtered view to CSV and Excel",
        "feature",
        "Roadmap",
        "in_progress",
        3,
        "Exports",
        8,
        parent="Exports that keep every field",
        description="Export exactly the rows and columns on screen, custom fields included.",
    ),
    DemoItem(
        "Scheduled weekly exports by email",
        "feature",
        "Roadmap",
        "considering",
        5,
        "Exports",
        4,
        parent="Exports that keep every field",
    ),
    DemoItem(
        "Excel opens exports with the right accents",
        "feature",
        "Roadmap",
        "shipped",
        1,
        "Exports",
        2,
        parent="Exports that keep every field",
        description="Write a UTF-8 byte-order mark so that Excel reads accents correctly.",
    ),
    DemoItem(
        "Boards with 5,000 items open in a second",
        "epic",
        "Board",
        "in_progress",
        13,
        "Performance",
        6,
        insight="Large boards feel slow",
    ),
    DemoItem(
        "Search answers in under 200 ms",
        "feature",
        "Board",
        "planned",
        3,
        "Performance",
        3,
        parent="Boards with 5,000 items open in a second",
    ),
    DemoItem(
        "Invite teammates from the first screen",
        "feature",
        "Onboarding",
        "considering",
        2,
        "Onboarding",
        5,
        insight="New teams can't find how to invite",
    ),
    DemoItem(
        "Templates for a new team's first project", "idea", "Onboarding", "new", 3, "Onboarding", 2
    ),
    DemoItem(
        "Two-way Jira sync",
        "feature",
        "Integrations",
        "considering",
        8,
        "Integrations",
        6,
        insight="Integrations need two-way sync",
    ),
    DemoItem(
        "Import accounts from Salesforce", "idea", "Integrations", "new", 5, "Integrations", 3
    ),
    DemoItem(
        "SAML single sign-on",
        "feature",
        "Admin & security",
        "planned",
        5,
        "Permissions",
        5,
        insight="Security requirements block rollouts",
    ),
    DemoItem("Export the audit log", "idea", "Admin & security", "new", 2, "Permissions", 2),
    DemoItem("Weekly summary for stakeholders", "idea", "Roadmap", "new", 3, "Reporting", 4),
    DemoItem("Cheaper seats for read-only viewers", "idea", None, "considering", 2, "Pricing", 3),
    DemoItem(
        "Native iPad app",
        "idea",
        "Board",
        "declined",
        21,
        "Mobile",
        4,
        reason="The responsive web app comes first; native apps wait for the 2027 plan.",
    ),
]


def demo_backlog_present(*, workspace: Workspace) -> bool:
    return Item.objects.for_workspace(workspace).filter(title=ITEMS[0].title).exists()


@transaction.atomic
def demo_backlog_create(*, workspace: Workspace, actor: User | None) -> int:
    """Write the demo backlog unless it is there; returns how many items were created."""
    if demo_backlog_present(workspace=workspace):
        return 0
    existing = {a.name: a for a in ProductArea.objects.for_workspace(workspace)}
    areas = {
        name: existing.get(name)
        or services.product_area_create(
            workspace=workspace, actor=actor, name=name, description=description
        )
        for name, description in AREAS
    }
    insights = dict(Insight.objects.for_workspace(workspace).values_list("title", "id"))
    items: dict[str, Item] = {}
    for spec in ITEMS:
        item = services.item_create(
            workspace=workspace,
            actor=actor,
            title=spec.title,
            kind=spec.kind,
            description=spec.description,
            area_id=areas[spec.area].id if spec.area else None,
            parent_id=items[spec.parent].id if spec.parent else None,
            owner_id=actor.id if actor and spec.status in ("planned", "in_progress") else None,
            effort=spec.effort,
        )
        items[spec.title] = item
        if spec.status != Item.Status.NEW:
            services.item_set_status(
                workspace=workspace,
                actor=actor,
                item=item,
                status=spec.status,
                reason=spec.reason,
            )
        _cite(workspace, actor, item, spec, insights)
    # The accounts behind single sign-on cannot roll out without it.
    sso = items["SAML single sign-on"]
    for row in ItemCustomer.objects.for_workspace(workspace).filter(item=sso).order_by("id")[:3]:
        services.item_customer_importance_set(
            workspace=workspace,
            actor=actor,
            item=sso,
            customer_id=row.customer_id,
            importance=ItemCustomer.Importance.CRITICAL,
        )
    _score(workspace, actor, list(items.values()))
    _saved_views(workspace, actor)
    return len(items)


# RICE impact and confidence per item, in ITEMS order: the demo's PM has estimated every item.
_IMPACTS = (2, 1, 3, 0.5, 2, 1, 3, 2, 0.5, 1, 2, 3, 1, 0.5, 2)
_CONFIDENCES = (0.8, 1.0, 0.5, 0.8, 1.0, 0.8, 0.5, 0.8, 1.0, 0.5, 0.8, 1.0, 0.8, 0.5, 0.8)


def _score(workspace: Workspace, actor: User | None, items: list[Item]) -> None:
    """The default formulas, and RICE and value-vs-effort inputs for every item: reach from the
    customers who asked (each stands for a team of users), impact and confidence estimated."""
    scoring.scoring_defaults_ensure(workspace=workspace)
    demand = dict(
        Item.objects.for_workspace(workspace)
        .filter(id__in=[i.id for i in items])
        .values_list("id", "customer_count")
    )
    for index, item in enumerate(items):
        impact = _IMPACTS[index % len(_IMPACTS)]
        scoring.item_inputs_set(
            workspace=workspace,
            actor=actor,
            item=item,
            values={
                "rice.reach": 120 + 60 * demand.get(item.id, 0),
                "rice.impact": impact,
                "rice.confidence": _CONFIDENCES[index % len(_CONFIDENCES)],
                "value_effort.value": min(10, round(impact * 3 + 1)),
                "value_effort.effort": min(10, max(1, round(item.effort or 1))),
            },
        )


def _saved_views(workspace: Workspace, actor: User | None) -> None:
    """Views a PM would keep: enterprise asks by score, what is in flight, and quick wins."""
    if actor is None:
        return
    membership = Membership.objects.for_workspace(workspace).get(user=actor)
    for name, layout, params in (
        ("Enterprise asks", SavedView.Layout.TABLE, {"segment": "Enterprise", "sort": "score"}),
        ("In flight", SavedView.Layout.BOARD, {"status": ["planned", "in_progress"]}),
        ("Quick wins", SavedView.Layout.MATRIX, {}),
    ):
        saved_views.saved_view_create(
            workspace=workspace,
            membership=membership,
            name=name,
            params=params,
            layout=layout,
            is_shared=True,
        )


def _cite(workspace: Workspace, actor: User | None, item: Item, spec: DemoItem, insights) -> None:
    if spec.insight:
        insight_id = next(
            (i for title, i in insights.items() if title.startswith(spec.insight)), None
        )
        if insight_id is not None:
            services.item_link_evidence(
                workspace=workspace, actor=actor, item=item, insight_id=insight_id
            )
    # Items of one theme cite different feedback: skip what earlier items of it took.
    taken = sum(s.feedback for s in ITEMS[: ITEMS.index(spec)] if s.theme == spec.theme)
    feedback_ids = (
        Tagging.objects.for_workspace(workspace)
        .filter(
            tag__name=spec.theme,
            origin=Tagging.Origin.PERSON,
            feedback__isnull=False,
            feedback__customer__isnull=False,
        )
        .order_by("feedback_id")
        .values_list("feedback_id", flat=True)[taken : taken + spec.feedback]
    )
    for feedback_id in feedback_ids:
        services.item_link_evidence(
            workspace=workspace, actor=actor, item=item, feedback_id=feedback_id
        )
