"""A realistic discovery set for the quick start's demo workspace, written through the services.

Deterministic: one seeded random generator, dates counted back from `now`. No network. Safe to
run on every start: a workspace that already holds the demo feedback is left alone.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from discovery import services
from discovery.models import Feedback, Highlight, Insight, Interview, Tag, Tagging, TagRule
from discovery.services import FeedbackInput
from discovery.tag_rules import rule_create
from pmhub.workspaces.models import Workspace

if TYPE_CHECKING:
    from pmhub.accounts.models import User

SEED = 20_260_303
TRANSCRIPTS = Path(__file__).resolve().parent / "demo_transcripts"
WEEKS = 16
FEEDBACK_COUNT = 300
EXTERNAL_ID_PREFIX = "demo-"

TAGS: list[tuple[str, str, str, str]] = [
    # (group, name, colour, description)
    ("Theme", "Exports", "#3b5bdb", "Getting data out: CSV, Excel, PDF, scheduled exports."),
    ("Theme", "Performance", "#d9480f", "Load times, lag, timeouts."),
    ("Theme", "Onboarding", "#2b8a3e", "The first days of a new team: setup, invites, templates."),
    ("Theme", "Integrations", "#0c8599", "Jira, Slack, Salesforce, webhooks and the API."),
    ("Theme", "Pricing", "#a66a00", "Plans, seats, billing terms."),
    ("Theme", "Reporting", "#7048e8", "Dashboards, summaries and charts for stakeholders."),
    ("Theme", "Permissions", "#c2255c", "Who can see and change what; SSO and audit."),
    ("Theme", "Mobile", "#5c7cfa", "Phones and tablets."),
    ("Product area", "Board", "#495057", "The board and list views."),
    ("Product area", "Roadmap", "#1971c2", "Roadmaps, releases and objectives."),
    ("Product area", "API", "#087f5b", "The REST API and webhooks."),
    ("Product area", "Billing", "#e8590c", "Plans, invoices and payment."),
    ("Sentiment", "Positive", "#2f9e44", "Praise and relief."),
    ("Sentiment", "Negative", "#e03131", "Frustration, blockers, churn risk."),
]

# The tagging rules a PM would write first; the worker applies them to every new item, and the
# model it learns from people's tags covers the rest.
RULES: list[tuple[str, str, str]] = [
    ("Exports", "regex", r"\bexports?\b|\bcsv\b|\bexcel\b"),
    ("Integrations", "regex", r"\b(jira|slack|salesforce|webhooks?)\b"),
    ("Mobile", "regex", r"\b(ios|android|iphone|ipad|tablet|phone)\b"),
    ("Permissions", "keyword", "SSO"),
    ("Billing", "keyword", "invoice"),
]

# (name, domain, segment, plan, ARR)
COMPANIES: list[tuple[str, str, str, str, int]] = [
    ("Northwind Logistics", "northwind-logistics.example", "Enterprise", "Enterprise", 1_240_000),
    ("Helios Health", "helioshealth.example", "Enterprise", "Enterprise", 860_000),
    ("Baltic Freight Group", "balticfreight.example", "Enterprise", "Enterprise", 610_000),
    ("Orchard Bank", "orchardbank.example", "Enterprise", "Enterprise", 1_480_000),
    ("Meridian Insurance", "meridian-insurance.example", "Enterprise", "Enterprise", 520_000),
    ("Kestrel Aerospace", "kestrel-aero.example", "Enterprise", "Enterprise", 390_000),
    ("Lumen Retail", "lumenretail.example", "Mid-market", "Business", 184_000),
    ("Copperleaf Software", "copperleaf.example", "Mid-market", "Business", 96_000),
    ("Tidewater Media", "tidewatermedia.example", "Mid-market", "Business", 142_000),
    ("Granite Payroll", "granitepayroll.example", "Mid-market", "Business", 215_000),
    ("Fernhill Education", "fernhill-edu.example", "Mid-market", "Business", 78_000),
    ("Polaris Robotics", "polarisrobotics.example", "Mid-market", "Business", 164_000),
    ("Sable Analytics", "sableanalytics.example", "Mid-market", "Team", 58_000),
    ("Vantage Travel", "vantagetravel.example", "Mid-market", "Business", 121_000),
    ("Brightwell Energy", "brightwell-energy.example", "Mid-market", "Business", 203_000),
    ("Pinecrest Studio", "pinecrest.example", "SMB", "Team", 14_400),
    ("Ladder & Co", "ladderandco.example", "SMB", "Team", 9_600),
    ("Quill Legal", "quill-legal.example", "SMB", "Team", 21_600),
    ("Mosaic Bakery Group", "mosaicbakery.example", "SMB", "Starter", 4_800),
    ("Nimbus Dental", "nimbusdental.example", "SMB", "Team", 12_000),
    ("Trailhead Outfitters", "trailhead-outfitters.example", "SMB", "Team", 18_000),
    ("Atlas Coworking", "atlascowork.example", "SMB", "Starter", 6_000),
    ("Fable Games", "fablegames.example", "SMB", "Team", 26_400),
    ("Harbor Yoga", "harboryoga.example", "SMB", "Starter", 3_600),
    ("Ember Coffee Roasters", "embercoffee.example", "SMB", "Starter", 7_200),
]

FIRST_NAMES = [
    "Ava", "Ben", "Chloe", "Daniel", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas",
    "Keiko", "Liam", "Maya", "Nikhil", "Olivia", "Pavel", "Quinn", "Rosa", "Samir", "Tara",
    "Umar", "Vera", "Wen", "Ximena", "Yusuf", "Zoe", "Amara", "Bruno", "Carmen", "Dmitri",
    "Esther", "Felix", "Hana", "Ivan", "Julia", "Kwame", "Lena", "Marco", "Nora", "Oscar",
]  # fmt: skip
LAST_NAMES = [
    "Andersen", "Baptiste", "Castillo", "Dubois", "Eriksen", "Fischer", "Gallagher", "Haddad",
    "Iyer", "Jansen", "Kowalski", "Lindqvist", "Moreau", "Nakamura", "Okafor", "Petrov",
    "Quintero", "Rossi", "Schmidt", "Tanaka", "Umarov", "Varga", "Whitfield", "Xu", "Yilmaz",
    "Zielinski", "Abbott", "Brennan", "Costa", "Desai",
]  # fmt: skip
ROLES = [
    "Head of Product", "Product Manager", "Engineering Manager", "Operations Lead", "CTO",
    "Customer Success Manager", "Designer", "Program Manager", "VP Engineering", "Analyst",
]  # fmt: skip
CUSTOMER_COUNT = 80

# Theme -> (product area, sentiment, statements). Statements are filled from SLOTS.
THEMES: dict[str, tuple[str, str, list[str]]] = {
    "Exports": (
        "Roadmap",
        "Negative",
        [
            "Exporting the roadmap to {fmt} drops every custom field, so we rebuild the sheet by "
            "hand before each QBR.",
            "The {fmt} export times out once a board has more than {n} items.",
            "Can we schedule a weekly {fmt} export to {dest}? Finance pulls the numbers every "
            "{weekday}.",
            "Exported {fmt} files open with broken accents in Excel (é turns into Ã©).",
            "We need to export only the filtered view, not the whole board.",
            "Please add the owner and the status columns to the {fmt} export.",
            "Our leadership deck is built from the {fmt} export and it takes {hours} hours every "
            "month to clean it up.",
            "Exports ignore the sort order we set on the board.",
        ],
    ),
    "Performance": (
        "Board",
        "Negative",
        [
            "The board takes {secs} seconds to load with about {n} items.",
            "Dragging cards on a large board lags noticeably, especially in {browser}.",
            "Search feels slow: typing a word takes a second or two before results appear.",
            "Opening the roadmap timeline freezes the tab for a few seconds.",
            "Everything got slower since last week's release for our team in {region}.",
            "Bulk-editing {n} items spins for a long time and sometimes gives up.",
        ],
    ),
    "Onboarding": (
        "Board",
        "Negative",
        [
            "It took our new PM {days} days to work out how boards and roadmaps relate.",
            "The setup checklist doesn't say how to invite the rest of the team.",
            "We were not sure which template to start with; a sample workspace would help.",
            "Importing our backlog from {tool} during setup failed without an error message.",
            "The first-run tour skips views, which is exactly where we got lost.",
        ],
    ),
    "Integrations": (
        "API",
        "Negative",
        [
            "We need a two-way sync with {tool}; copying status changes by hand doesn't scale.",
            "The Slack notification doesn't include the item link, so people ask where to find it.",
            "Is there a webhook when an item changes status? We want to update {tool} "
            "automatically.",
            "The {tool} integration disconnects every few days and we have to authorise it again.",
            "The API rate limit is too low for our nightly sync of {n} items.",
        ],
    ),
    "Pricing": (
        "Billing",
        "Negative",
        [
            "The jump from Team to Business is steep for a team of {seats}.",
            "We'd pay for viewer seats if they were cheaper; right now people share one login.",
            "Annual billing in {currency} would make procurement much easier.",
            "Hard to justify the price when we mostly use the roadmap.",
        ],
    ),
    "Reporting": (
        "Roadmap",
        "Negative",
        [
            "We need a report of how many items shipped per quarter, by team.",
            "Dashboards can't be shared with people outside the workspace.",
            "Our execs want a one-page summary of progress against objectives.",
            "The burn-up chart should let us pick the date range.",
        ],
    ),
    "Permissions": (
        "Board",
        "Negative",
        [
            "Contractors can see every board; we need permissions per board.",
            "We want viewers who can comment but not edit.",
            "Please add an audit log export for our SOC 2 review.",
            "Admins should be able to transfer ownership when someone leaves.",
            "We need SSO through {idp}; our security team requires it before we roll out.",
        ],
    ),
    "Mobile": (
        "Board",
        "Negative",
        [
            "The mobile web view cuts off the right side of the board.",
            "An iPhone app for quick triage on the go would be great.",
            "Notifications on the phone open the desktop page, which is hard to use.",
        ],
    ),
    "Praise": (
        "",
        "Positive",
        [
            "Love the keyboard shortcuts; triage takes half the time now.",
            "The roadmap view is the first one our sales team actually reads.",
            "Great support experience: {agent} fixed our import in ten minutes.",
            "Switching from {tool} was painless, thank you!",
            "The new insight pages made our quarterly review so much easier.",
        ],
    ),
}
SLOTS: dict[str, list[str]] = {
    "fmt": ["CSV", "Excel", "PDF", "Google Sheets"],
    "n": ["500", "1,200", "2,000", "3,500", "5,000"],
    "dest": ["our S3 bucket", "Google Drive", "SharePoint", "an SFTP folder"],
    "weekday": ["Monday", "Tuesday", "Friday"],
    "hours": ["two", "three", "four", "six"],
    "secs": ["8", "12", "15", "20"],
    "browser": ["Firefox", "Safari", "Chrome on Windows"],
    "region": ["Singapore", "São Paulo", "Sydney", "Frankfurt"],
    "days": ["three", "four", "five"],
    "tool": ["Jira", "Trello", "Asana", "Linear", "Salesforce", "Azure DevOps"],
    "seats": ["12", "18", "25", "40"],
    "currency": ["EUR", "GBP", "CHF"],
    "idp": ["Okta", "Azure AD", "Google Workspace"],
    "agent": ["Priya", "Tom", "Lucía"],
}
DETAILS = [
    "This comes up in every sprint review.",
    "Not urgent, but it would save us real time.",
    "Three people on our team asked about it this week.",
    "Happy to jump on a call to show what we mean.",
    "It's blocking our rollout to the {dept} team.",
    "Our workaround is a spreadsheet, which nobody keeps up to date.",
    "We're looking at other tools because of this.",
    "Is this on the roadmap?",
]
DEPTS = ["marketing", "design", "support", "finance", "platform"]

SOURCE_WEIGHTS = {
    Feedback.Source.SUPPORT: 34,
    Feedback.Source.SALES: 14,
    Feedback.Source.SURVEY: 16,
    Feedback.Source.APP_REVIEW: 9,
    Feedback.Source.EMAIL: 13,
    Feedback.Source.INTERVIEW: 5,
    Feedback.Source.MANUAL: 9,
}


def _theme_weights(week: int) -> dict[str, float]:
    """How often each theme comes up in week 0 (oldest) to 15 (this week): Exports grows."""
    return {
        "Exports": 1.0 + 0.45 * week,
        "Performance": 3.0,
        "Onboarding": 4.0 - 0.2 * week,
        "Integrations": 2.4,
        "Pricing": 1.2 + (1.8 if 6 <= week <= 8 else 0.0),  # the price change, weeks 6-8
        "Reporting": 2.0,
        "Permissions": 1.2 + 0.12 * week,
        "Mobile": 1.1,
        "Praise": 1.6,
    }


INTERVIEWS: list[dict[str, object]] = [
    {
        "title": "Northwind Logistics: quarterly planning and exports",
        "company": "northwind-logistics.example",
        "days_ago": 12,
        "notes": "Roadmap review with their PM team. Exports are the biggest pain; Jira sync next.",
        "transcript": "northwind.txt",
        "highlights": [
            (
                "The export drops our custom fields, so I copy the confidence score and the owning "
                "team back in by hand",
                ["Exports", "Negative"],
            ),
            ("For about three hundred items that takes most of a day", ["Exports"]),
            ("We freeze the boards on the Thursday before the review", ["Exports", "Reporting"]),
            ("A two-way sync would fix half of the drift on its own", ["Integrations"]),
            (
                "Our sales team actually reads it, which never happened with the old slides",
                ["Positive", "Roadmap"],
            ),
        ],
    },
    {
        "title": "Lumen Retail: large boards and search",
        "company": "lumenretail.example",
        "days_ago": 26,
        "notes": "Their main board has ~4,000 items across 14 teams. Performance complaints.",
        "transcript": "lumen.txt",
        "highlights": [
            (
                "the board now takes twelve seconds to open in the morning",
                ["Performance", "Board", "Negative"],
            ),
            ("dragging a card on the big board also stutters", ["Performance", "Board"]),
            ("I type a word and wait a second or two before anything appears", ["Performance"]),
            (
                "We also split one board into three last month, purely for speed",
                ["Performance", "Reporting"],
            ),
            ("The keyboard shortcuts are great", ["Positive"]),
        ],
    },
    {
        "title": "Pinecrest Studio: first week with pmhub",
        "company": "pinecrest.example",
        "days_ago": 47,
        "notes": "Small design studio, signed up three weeks ago. Onboarding friction.",
        "transcript": "pinecrest.txt",
        "highlights": [
            ("wasn't sure whether to start with a roadmap or a board", ["Onboarding"]),
            ("A sample workspace", ["Onboarding", "Positive"]),
            (
                'The setup checklist says "invite your team" but doesn\'t link anywhere',
                ["Onboarding", "Negative"],
            ),
            ("The first try failed without an error message", ["Onboarding", "Integrations"]),
            ("each one costs a full seat, so we share one login", ["Pricing", "Permissions"]),
        ],
    },
    {
        "title": "Orchard Bank: security review and reporting",
        "company": "orchardbank.example",
        "days_ago": 5,
        "notes": "Security and PMO joined. SSO and audit export block the wider rollout.",
        "transcript": "orchard.txt",
        "highlights": [
            ("SSO through Okta", ["Permissions"]),
            ("contractors must not see the regulatory backlog", ["Permissions", "Negative"]),
            ("Without them we stay at forty seats in the product team", ["Permissions", "Pricing"]),
            (
                "Every month I export everything to Excel and build a one-page summary",
                ["Exports", "Reporting"],
            ),
            (
                "the columns come out in a different order each time and the owner field is "
                "missing",
                ["Exports", "Negative"],
            ),
            ("Seeing the customer quotes next to the decision", ["Positive"]),
        ],
    },
]

INSIGHTS: list[dict[str, object]] = [
    {
        "title": "Enterprise teams rebuild exports by hand before every planning review",
        "status": Insight.Status.VALIDATED,
        "theme": "Exports",
        "feedback": 12,
        "summary": """\
Large customers export the roadmap to **Excel** before each quarterly review and then
spend hours repairing it: custom fields are dropped, the owner is missing and the column order
changes between exports.

- Time lost: from *two hours* to *a full day* per review.
- Side effect: boards are frozen for a week so the spreadsheet stays true.
- Requests grow week after week, mostly from Enterprise and Mid-market accounts.

**Next step:** exports that keep every field, plus a shareable live view for leadership.""",
    },
    {
        "title": "Large boards feel slow to open, drag and search",
        "status": Insight.Status.VALIDATED,
        "theme": "Performance",
        "feedback": 10,
        "summary": """\
Boards above ~1,000 items take **8-20 seconds** to open and dragging stutters on
Windows machines. Teams work around it by splitting boards, which breaks their reports.

> If the board were instant, I think adoption among the store managers would double.

Worth profiling the first load and the search box before adding features to the board.""",
    },
    {
        "title": "New teams can't find how to invite colleagues",
        "status": Insight.Status.DRAFT,
        "theme": "Onboarding",
        "feedback": 8,
        "summary": """\
During the first week the checklist says *invite your team* without a link, and
there is no sample workspace to learn from. Fewer reports lately, since the tour changed.

Open question: does a sample workspace help more than a better checklist?""",
    },
    {
        "title": "Integrations need two-way sync, not just notifications",
        "status": Insight.Status.DRAFT,
        "theme": "Integrations",
        "feedback": 8,
        "summary": """\
Engineers live in **Jira** or **Azure DevOps**; statuses in pmhub lag behind.
Notifications alone don't close the gap.

1. Two-way status sync for Jira first.
2. Webhooks on status change.
3. Include the item link in every Slack message.""",
    },
    {
        "title": "Security requirements block rollouts beyond the product team",
        "status": Insight.Status.VALIDATED,
        "theme": "Permissions",
        "feedback": 8,
        "summary": """\
Regulated customers need **SSO**, **permissions per board** and an **exportable
audit log** before they roll out beyond the product team. Viewer pricing pushes smaller teams
to share one login.

The expansion at stake is large: one bank would go from 40 to 400 seats.""",
    },
]


@dataclass(frozen=True)
class DemoResult:
    created: bool
    companies: int = 0
    customers: int = 0
    tags: int = 0
    feedback: int = 0
    interviews: int = 0
    highlights: int = 0
    insights: int = 0
    evidence: int = 0


def demo_present(*, workspace: Workspace) -> bool:
    """Whether the demo discovery set was already written to this workspace."""
    return (
        Feedback.objects.for_workspace(workspace)
        .filter(external_id__startswith=EXTERNAL_ID_PREFIX, source=Feedback.Source.SUPPORT)
        .exists()
    )


def _fill(rng: random.Random, template: str) -> str:
    values = {key: rng.choice(options) for key, options in SLOTS.items()}
    values["dept"] = rng.choice(DEPTS)
    return template.format(**values)


def _feedback_text(
    rng: random.Random, theme: str, source: str, first_name: str, company: str
) -> str:
    statement = _fill(rng, rng.choice(THEMES[theme][2]))
    detail = ""
    if theme != "Praise" and rng.random() < 0.55:
        detail = " " + _fill(rng, rng.choice(DETAILS))
    body = statement + detail
    if source == Feedback.Source.APP_REVIEW:
        stars = rng.choice([4, 5]) if theme == "Praise" else rng.choice([1, 2, 3])
        return f"{'★' * stars}{'☆' * (5 - stars)} {body}"
    if source == Feedback.Source.SURVEY:
        score = rng.randint(9, 10) if theme == "Praise" else rng.randint(2, 8)
        return f"NPS {score}: {body}"
    if source == Feedback.Source.SALES and company:
        return rng.choice(
            [
                f"From a call with {company}: {body}",
                f"Deal note ({company}): {body}",
                f"{company} raised this in the renewal meeting. {body}",
            ]
        )
    if source == Feedback.Source.EMAIL:
        sign_off = rng.choice(["Thanks", "Best", "Cheers", "Kind regards"])
        if body[1:2].islower():
            body = body[0].lower() + body[1:]
        return f"Hi team, {body} {sign_off}, {first_name or 'a customer'}"
    if source == Feedback.Source.INTERVIEW:
        return f"{first_name or 'The customer'} said: “{body}”"
    return body


def _status_for(rng: random.Random, age_days: float) -> str:
    roll = rng.random()
    if age_days < 7:
        return Feedback.Status.NEW if roll < 0.85 else Feedback.Status.TRIAGED
    if age_days < 28:
        if roll < 0.5:
            return Feedback.Status.NEW
        return Feedback.Status.TRIAGED if roll < 0.9 else Feedback.Status.ARCHIVED
    if roll < 0.12:
        return Feedback.Status.NEW
    return Feedback.Status.TRIAGED if roll < 0.72 else Feedback.Status.ARCHIVED


@transaction.atomic
def demo_discovery_create(
    *, workspace: Workspace, actor: User | None, now: datetime | None = None
) -> DemoResult:
    """Write the demo discovery set into `workspace` unless it is already there.

    Idempotent by a presence check on the demo feedback's external ids, under the transaction
    that writes everything (all or nothing).
    """
    if demo_present(workspace=workspace):
        return DemoResult(created=False)
    now = now or timezone.now()
    rng = random.Random(SEED)  # noqa: S311 - demo data, not secrets: it must repeat.

    existing_tags = {t.name.lower(): t for t in Tag.objects.for_workspace(workspace)}
    tags: dict[str, Tag] = {}
    for group, name, colour, description in TAGS:
        tags[name] = existing_tags.get(name.lower()) or services.tag_create(
            workspace=workspace,
            actor=actor,
            name=name,
            group=group,
            color=colour,
            description=description,
        )

    existing_rules = set(TagRule.objects.for_workspace(workspace).values_list("tag_id", "pattern"))
    for tag_name, kind, pattern in RULES:
        if (tags[tag_name].id, pattern) not in existing_rules:
            rule_create(
                workspace=workspace, actor=actor, tag=tags[tag_name], kind=kind, pattern=pattern
            )

    companies = []
    for name, domain, segment, plan, arr in COMPANIES:
        company, _ = services.company_upsert(
            workspace=workspace,
            actor=actor,
            name=name,
            domain=domain,
            arr=Decimal(arr),
            plan=plan,
            segment=segment,
            attributes={"region": rng.choice(["EMEA", "North America", "APAC", "LATAM"])},
        )
        companies.append(company)
    by_domain = {c.domain: c for c in companies}

    # Bigger companies have more people talking to us; every company has at least two.
    company_weights = [{"Enterprise": 5, "Mid-market": 3, "SMB": 1}[c.segment] for c in companies]
    owners = companies + companies + rng.choices(companies, company_weights, k=CUSTOMER_COUNT - 50)
    names = [(f, last) for f in FIRST_NAMES for last in LAST_NAMES]
    rng.shuffle(names)
    customers = []
    for (first, last), company in zip(names, owners, strict=False):
        local = f"{first}.{last}".lower().replace(" ", "")
        customer, _ = services.customer_upsert(
            workspace=workspace,
            actor=actor,
            email=f"{local}@{company.domain}",
            name=f"{first} {last}",
            company=company,
            attributes={"role": rng.choice(ROLES)},
        )
        customers.append(customer)
    customers_of: dict[int, list] = defaultdict(list)
    for customer in customers:
        customers_of[customer.company_id].append(customer)

    feedback_rows = _feedback_rows(rng, now=now, companies=companies, customers=customers)
    result = services.feedback_bulk_upsert(
        workspace=workspace, actor=actor, items=[row.data for row in feedback_rows]
    )
    feedback_ids = result.ids

    by_status: dict[str, list[int]] = defaultdict(list)
    by_tag: dict[tuple[str, str], list[int]] = defaultdict(list)
    for row, feedback_id in zip(feedback_rows, feedback_ids, strict=True):
        by_status[row.status].append(feedback_id)
        for tag_name, origin in row.tags:
            by_tag[(tag_name, origin)].append(feedback_id)
    for status, ids in by_status.items():
        if status != Feedback.Status.NEW:
            services.feedback_set_status(
                workspace=workspace, actor=actor, feedback_ids=ids, status=status
            )
    for (tag_name, origin), ids in sorted(by_tag.items()):
        services.feedback_tag(
            workspace=workspace,
            actor=actor,
            feedback_ids=ids,
            tag_id=tags[tag_name].id,
            origin=origin,
            confidence=None if origin == Tagging.Origin.PERSON else 0.9,
        )

    highlights_by_theme: dict[str, list[Highlight]] = defaultdict(list)
    interviews = []
    for spec in INTERVIEWS:
        interview, made = _interview(
            workspace,
            actor,
            spec,
            now=now,
            people=customers_of[by_domain[str(spec["company"])].id],
            tag_ids={name: tag.id for name, tag in tags.items()},
        )
        interviews.append(interview)
        for highlight, tag_names in made:
            for tag_name in tag_names:
                highlights_by_theme[tag_name].append(highlight)

    theme_of = {
        feedback_id: row.theme for row, feedback_id in zip(feedback_rows, feedback_ids, strict=True)
    }
    evidence = 0
    for spec in INSIGHTS:
        insight = services.insight_create(
            workspace=workspace,
            actor=actor,
            title=str(spec["title"]),
            summary=str(spec["summary"]),
            status=str(spec["status"]),
        )
        theme = str(spec["theme"])
        candidates = [i for i in feedback_ids if theme_of[i] == theme]
        chosen = sorted(rng.sample(candidates, min(int(spec["feedback"]), len(candidates))))
        cited = Feedback.objects.for_workspace(workspace).filter(id__in=chosen).order_by("id")
        for item in cited:
            services.evidence_add(workspace=workspace, actor=actor, insight=insight, feedback=item)
            evidence += 1
        for highlight in highlights_by_theme[theme]:
            services.evidence_add(
                workspace=workspace,
                actor=actor,
                insight=insight,
                highlight=highlight,
                note="From the interview.",
            )
            evidence += 1

    return DemoResult(
        created=True,
        companies=len(companies),
        customers=len(customers),
        tags=len(tags),
        feedback=len(feedback_ids),
        interviews=len(interviews),
        highlights=sum(len(spec["highlights"]) for spec in INTERVIEWS),
        insights=len(INSIGHTS),
        evidence=evidence,
    )


@dataclass(frozen=True)
class _FeedbackRow:
    data: FeedbackInput
    theme: str
    status: str
    tags: list[tuple[str, str]]  # (tag name, origin)


def _feedback_rows(
    rng: random.Random, *, now: datetime, companies: list, customers: list
) -> list[_FeedbackRow]:
    sources = list(SOURCE_WEIGHTS)
    enterprise = [c for c in customers if c.company.segment == "Enterprise"]
    rows = []
    # More feedback arrives as the product grows: later weeks weigh more.
    weeks = rng.choices(range(WEEKS), weights=[10 + w for w in range(WEEKS)], k=FEEDBACK_COUNT)
    for number, week in enumerate(sorted(weeks), start=1):
        weights = _theme_weights(week)
        theme = rng.choices(list(weights), list(weights.values()))[0]
        source = rng.choices(sources, list(SOURCE_WEIGHTS.values()))[0]
        customer = None
        if source != Feedback.Source.APP_REVIEW and rng.random() < 0.9:
            # Exports and permissions are asked for mostly by the largest accounts.
            pool = enterprise if theme in {"Exports", "Permissions"} and rng.random() < 0.6 else []
            customer = rng.choice(pool or customers)
        age_minutes = (WEEKS - 1 - week) * 7 * 24 * 60 + rng.randint(5, 7 * 24 * 60 - 5)
        received_at = now - timedelta(minutes=age_minutes)
        text = _feedback_text(
            rng,
            theme,
            source,
            customer.name.split()[0] if customer else "",
            customer.company.name if customer else "",
        )
        status = _status_for(rng, age_minutes / (24 * 60))
        area, sentiment, _ = THEMES[theme]
        row_tags: list[tuple[str, str]] = []
        if status != Feedback.Status.NEW or rng.random() < 0.75:
            picked = [theme] if theme != "Praise" else []
            if area and rng.random() < 0.5:
                picked.append(area)
            if theme == "Praise" or rng.random() < 0.4:
                picked.append(sentiment)
            # Triaged items were tagged by a person; new ones are left to the tagging worker
            # (the rules below, then the model it learns from these people's tags).
            if status != Feedback.Status.NEW:
                row_tags = [(name, Tagging.Origin.PERSON) for name in picked]
        external_url = ""
        if source == Feedback.Source.SUPPORT:
            external_url = f"https://support.acme.example/tickets/{48_000 + number}"
        rows.append(
            _FeedbackRow(
                data=FeedbackInput(
                    text=text,
                    source=source,
                    external_id=f"{EXTERNAL_ID_PREFIX}{number:04d}",
                    external_url=external_url,
                    customer_id=customer.id if customer else None,
                    received_at=received_at,
                ),
                theme=theme,
                status=status,
                tags=row_tags,
            )
        )
    return rows


def _interview(
    workspace: Workspace,
    actor: User | None,
    spec: dict[str, object],
    *,
    now: datetime,
    people: list,
    tag_ids: dict[str, int],
) -> tuple[Interview, list[tuple[Highlight, list[str]]]]:
    speakers = people[:2]
    names = [c.name for c in speakers] + [speakers[0].name] * (2 - len(speakers))
    transcript = (TRANSCRIPTS / str(spec["transcript"])).read_text().format(*names)
    interview = services.interview_create(
        workspace=workspace,
        actor=actor,
        title=str(spec["title"]),
        held_on=(now - timedelta(days=int(spec["days_ago"]))).date(),
        transcript=transcript,
        notes=str(spec["notes"]),
        participant_ids=[c.id for c in speakers],
    )
    made = []
    for quote, tag_names in spec["highlights"]:
        start = transcript.index(quote)
        highlight = services.highlight_create(
            workspace=workspace,
            actor=actor,
            interview=interview,
            start=start,
            end=start + len(quote),
            tag_ids=[tag_ids[name] for name in tag_names],
        )
        made.append((highlight, tag_names))
    return interview, made
