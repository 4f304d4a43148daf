"""The load bench's workspace: the demo sets, grown to a team's size, and its people.

Written once through the services (the demo's own functions for discovery, backlog, roadmaps
and docs), then reused while it is there; `--reseed` drops the database first.
"""

from __future__ import annotations

import random
import time
from typing import Any

SLUG = "bench-load"
PM_COUNT = 24
# The seeded sizes: a product team a year or so into pmhub.
EXTRA_FEEDBACK = 4_000
EXTRA_ITEMS = 400
EXTRA_DOCUMENTS = 40
AREAS = ["Exports", "Billing", "Onboarding", "Integrations", "Reporting", "Mobile", "Search"]
PASSWORD = "bench-load-password"  # noqa: S105 - a local bench's seeded logins.
IMPORTER_EMAIL = "importer@bench-load.test"
ENGINEER_EMAIL = "engineer@bench-load.test"
# The people who write in, the seeded history's and the run's imports alike: customers come
# back, so the run's imports do not grow the customer list run after run.
CUSTOMERS = 1_500

SUBJECTS = [
    "the CSV export", "the billing page", "the Salesforce sync", "the mobile app",
    "the weekly report", "search", "the onboarding checklist", "SSO login", "the API",
    "the board view", "notifications", "the Slack integration", "invoices", "dashboards",
]  # fmt: skip
PROBLEMS = [
    "times out after a minute", "is missing the owner column", "shows the wrong currency",
    "is slow on large accounts", "loses filters after a reload", "breaks with accents",
    "needs a dark mode", "should support SAML", "doubles the last row", "is hard to find",
    "fails for admins only", "needs bulk actions", "ignores the time zone",
]  # fmt: skip
ASKS = [
    "We would pay more for this.", "Blocking our renewal.", "Three teams asked this week.",
    "A workaround exists but it is painful.", "Our CFO noticed.", "Happens every Monday.",
    "", "Please prioritise.", "Competitor X has it.",
]  # fmt: skip


def feedback_text(rng: random.Random) -> str:
    """A plausible piece of customer feedback."""
    return (
        f"{rng.choice(SUBJECTS).capitalize()} {rng.choice(PROBLEMS)}. {rng.choice(ASKS)}"
    ).strip()


def feedback_csv(rng: random.Random, rows: int, prefix: str) -> bytes:
    """A feedback CSV export as support tools write it: id, text, email, received_at."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "text", "email", "received_at"])
    for i in range(rows):
        writer.writerow(
            [
                f"{prefix}-{i}",
                f"{feedback_text(rng)} (ticket {prefix}-{i})",
                customer_email(rng.randrange(CUSTOMERS)),
                f"2026-{rng.randrange(1, 12):02d}-{rng.randrange(1, 28):02d}T10:00:00Z",
            ]
        )
    return out.getvalue().encode()


def pm_email(i: int) -> str:
    return f"pm{i % PM_COUNT}@bench-load.test"


def customer_email(n: int) -> str:
    return f"user{n}@customer{n % 60}.test"


def seeded() -> Any:
    """The bench workspace when it was seeded to the end, else None."""
    from pmhub.workspaces.models import Workspace

    workspace = Workspace.objects.filter(slug=SLUG).first()
    if workspace is None:
        return None
    from docs.models import Document

    # The documents come last: when they are there, everything is.
    return (
        workspace if Document.objects.for_workspace(workspace).count() >= EXTRA_DOCUMENTS else None
    )


def seed() -> dict[str, Any]:
    """Seed the workspace (the database must not hold a half-seeded one)."""
    from backlog import services as backlog_services
    from backlog.demo import demo_backlog_create
    from backlog.selectors import product_area_list
    from discovery import imports, tagging
    from discovery.demo import demo_discovery_create
    from docs import services as docs_services
    from docs.demo import demo_docs_create
    from pmhub.accounts.services import user_create
    from pmhub.workspaces.models import Membership
    from pmhub.workspaces.roles import Role
    from pmhub.workspaces.services import workspace_create
    from roadmap.demo import demo_roadmap_create

    started = time.perf_counter()
    rng = random.Random(9)  # noqa: S311 - bench data: it must repeat.
    admin = user_create(email=pm_email(0), password=PASSWORD, name="PM 0")
    workspace = workspace_create(actor=admin, name="Bench load", slug=SLUG)
    pms = [admin]
    for i in range(1, PM_COUNT):
        user = user_create(email=pm_email(i), password=PASSWORD, name=f"PM {i}")
        Membership.objects.create(workspace=workspace, user=user, role=Role.EDITOR)
        pms.append(user)
    for email, name, role in (
        (IMPORTER_EMAIL, "Importer", Role.EDITOR),
        (ENGINEER_EMAIL, "Engineer", Role.VIEWER),
    ):
        user = user_create(email=email, password=PASSWORD, name=name)
        Membership.objects.create(workspace=workspace, user=user, role=role)

    # The bench's worker tags during the run only: what is seeded is the past.
    with tagging.enqueueing_paused():
        demo_discovery_create(workspace=workspace, actor=admin)
        job = imports.import_job_create(
            workspace=workspace,
            actor=admin,
            kind="feedback_csv",
            filename="history.csv",
            data=feedback_csv(rng, EXTRA_FEEDBACK, "seed"),
        )
        # The columns as the mapping page guesses them, which the people importing keep.
        guess = imports.import_mapping_guess(kind=job.kind, columns=imports.import_columns(job))
        imports.import_job_start(
            workspace=workspace, actor=admin, job=job, default_source="support", fields=guess
        )
        imports.import_run(workspace=workspace, job_id=job.id)
        demo_backlog_create(workspace=workspace, actor=admin)
        have = {a.name.lower(): a for a in product_area_list(workspace=workspace)}
        areas = [
            have.get(name.lower())
            or backlog_services.product_area_create(workspace=workspace, actor=admin, name=name)
            for name in AREAS
        ]
        for i in range(EXTRA_ITEMS):
            backlog_services.item_create(
                workspace=workspace,
                actor=rng.choice(pms),
                title=f"{rng.choice(SUBJECTS).capitalize()}: {rng.choice(PROBLEMS)} ({i})",
                description=f"{feedback_text(rng)}\n\n- {feedback_text(rng)}\n",
                kind=rng.choice(["idea", "feature", "epic"]),
                owner_id=rng.choice(pms).id,
                area_id=rng.choice(areas).id,
            )
        demo_roadmap_create(workspace=workspace, actor=admin)
        demo_docs_create(workspace=workspace, actor=admin)
        tagging.classifier_train(workspace=workspace, force=True)
        for i in range(EXTRA_DOCUMENTS):
            docs_services.document_create(
                workspace=workspace,
                actor=rng.choice(pms),
                kind=rng.choice(["prd", "brief", "update", "decision"]),
                title=f"{rng.choice(SUBJECTS).capitalize()} ({i})",
                body=f"# Problem\n\n{feedback_text(rng)}\n\n# Proposal\n\n{feedback_text(rng)}\n",
            )
    return {"seed_s": round(time.perf_counter() - started, 1)}


def token_for_engineer(workspace: Any) -> str:
    """A fresh read-only API token for the engineers' scripts (tokens are stored hashed)."""
    from pmhub.accounts.models import User
    from pmhub.accounts.services import api_token_create

    user = User.objects.get(email=ENGINEER_EMAIL)
    _, raw = api_token_create(workspace=workspace, user=user, name="load bench", access="read")
    return raw
