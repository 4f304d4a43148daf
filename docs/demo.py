"""The demo workspace's documents: a PRD citing the demo's evidence and backlog live, an accepted
decision record linked to the item it concerns, a stakeholder update, and the release notes of
the shipped release published to the workspace's public changelog. Written once, through the
same services the pages use, over the demo discovery, backlog and roadmap data."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction

from backlog.models import Item
from discovery.models import Highlight, Insight
from docs import services
from docs.changelog import changelog_update
from docs.models import Document
from docs.release_notes import release_notes_draft
from roadmap.models import Release

if TYPE_CHECKING:
    from pmhub.accounts.models import User
    from pmhub.workspaces.models import Workspace

PRD_TITLE = "PRD: Exports that keep every field"
DECISION_TITLE = "Decision: SAML first, SCIM provisioning later"
UPDATE_TITLE = "Stakeholder update: November"
SHIPPED_RELEASE = "2026.11 — Accents"

EXPORTS_INSIGHT = "Enterprise teams rebuild exports by hand before every planning review"
SECURITY_INSIGHT = "Security requirements block rollouts beyond the product team"
ACCENTS_ITEM = "Excel opens exports with the right accents"
SLOW_INSIGHT = "Large boards feel slow to open, drag and search"


def _refs(workspace: Workspace) -> dict[str, str]:
    """`[[kind:id]]` tokens of the demo's items and insights by title, and of two export
    highlights ("highlight:1", "highlight:2"); a missing one reads as plain words."""
    refs: dict[str, str] = {}
    for item_id, title in (
        Item.objects.for_workspace(workspace)
        .filter(merged_into__isnull=True)
        .values_list("id", "title")
    ):
        refs[title] = f"[[item:{item_id}]]"
    for insight_id, title in Insight.objects.for_workspace(workspace).values_list("id", "title"):
        refs[title] = f"[[insight:{insight_id}]]"
    highlights = list(
        Highlight.objects.for_workspace(workspace)
        .filter(quote__icontains="export")
        .order_by("id")
        .values_list("id", flat=True)[:2]
    )
    for n, highlight_id in enumerate(highlights, start=1):
        refs[f"highlight:{n}"] = f"[[highlight:{highlight_id}]]"
    return refs


def _ref(refs: dict[str, str], key: str, fallback: str = "") -> str:
    return refs.get(key) or fallback or f"“{key}”"


def _prd(refs: dict[str, str]) -> str:
    quotes = [refs[k] for k in ("highlight:1", "highlight:2") if k in refs]
    heard = "\n".join(f"- {quote}" for quote in quotes) or "- (interview highlights)"
    return f"""## Problem

Enterprise teams export a view before every planning review, then spend an hour putting back
what the export dropped: custom fields, owners, links and accents.
{_ref(refs, EXPORTS_INSIGHT)} is the pattern; it is the most cited insight this quarter.

## Who has it

Planning and operations leads at accounts over 200 seats: about a third of our ARR.

## Evidence

{heard}
- {_ref(refs, EXPORTS_INSIGHT)}
- The accents fix shipped in {SHIPPED_RELEASE} ({_ref(refs, ACCENTS_ITEM)}) cut export
  tickets by a fifth, so the rest of the gap is worth closing.

## Goals and metrics

| Goal | Metric | Baseline | Target |
| --- | --- | --- | --- |
| Exports people trust | Export-related tickets per week | 40 | 10 |
| No rework before reviews | Share of exports edited after download | 62% | under 15% |
| Reach | Workspaces exporting weekly | 310 | 500 |

## Scope

### In scope

- {_ref(refs, "Export the filtered view to CSV and Excel")}: the view as filtered, in its order.
- {_ref(refs, "Exports that keep every field")}: custom fields, owners, links, dates in ISO 8601.

### Non-goals

- ~~PDF exports~~: nobody asked twice.
- {_ref(refs, "Scheduled weekly exports by email")} comes after, on top of the same exporter.

## Requirements

### User stories

- As a planning lead, I want the export to hold every field I see, so that I stop rebuilding it.
  - [x] Custom fields become columns, named as in the workspace
  - [x] UTF-8 with a byte-order mark, so Excel opens accents right
  - [ ] Links export as absolute URLs
- As an admin, I want to know who exported what, so that security reviews pass.
  - [ ] Every export is in the audit log

### Column mapping

```
title, status, owner.email, area, custom.*, links[].url, updated_at (ISO 8601)
```

## Open questions

- [ ] Do we cap an export at 50,000 rows, or stream it?
- [x] Excel or CSV first? Both: one exporter, two writers.

## Launch plan

Ships in 2026.12 — Exports with a help-centre article, a sales one-pager and a support macro.
"""


def _decision(refs: dict[str, str]) -> str:
    return f"""## Context

Three enterprise deals are waiting on single sign-on, and security reviews ask for both SAML
and automated provisioning. {_ref(refs, SECURITY_INSIGHT)}

## Options considered

1. **SAML and SCIM together**: one security review; ten weeks, slips the Enterprise release.
2. **SAML first, SCIM after**: unblocks the three deals in January; provisioning stays manual
   for a quarter.
3. **A third-party identity broker**: fastest, but a new sub-processor for every customer.

## Decision

Option 2: {_ref(refs, "SAML single sign-on")} ships in 2027.01 — Enterprise; SCIM is planned
for the quarter after.

## Consequences

- Admins invite users by hand until SCIM lands; support gets a macro for it.
- The login code is built with provisioning in mind, so SCIM is additive.
- We watch: deals lost to missing SSO (6 last quarter, target 0).

## Evidence

- {_ref(refs, SECURITY_INSIGHT)}
- {_ref(refs, "SAML single sign-on")}
"""


def _update(refs: dict[str, str]) -> str:
    return f"""## Summary

Exports are the quarter's theme: the accents fix shipped, the full exporter is on track for
December, and single sign-on is planned for January after a security review.

## Shipped

- {SHIPPED_RELEASE}: {_ref(refs, ACCENTS_ITEM)}

## In progress

- {_ref(refs, "Export the filtered view to CSV and Excel")}
- {_ref(refs, "Exports that keep every field")}
- {_ref(refs, "Search answers in under 200 ms")}, pulled forward: {_ref(refs, SLOW_INSIGHT)}

## Changed plans, and why

- {_ref(refs, "Two-way Jira sync")} moved to Later: Jira's new API lands in March.
- The Enterprise release moved two weeks: SSO needs a security review by two pilot customers.

## Asks

- Sales: name two accounts to pilot SAML in December.
- Support: send export tickets tagged *exports* to the PM channel until launch.
"""


def demo_docs_present(*, workspace: Workspace) -> bool:
    return Document.objects.for_workspace(workspace).filter(title=PRD_TITLE).exists()


@transaction.atomic
def demo_docs_create(*, workspace: Workspace, actor: User | None) -> bool:
    """Write the demo documents unless they are there; False when they were."""
    templates = {t.kind: t for t in services.templates_ensure(workspace=workspace) if t.is_default}
    if demo_docs_present(workspace=workspace):
        return False
    refs = _refs(workspace)

    # The PRD: two revisions, in review.
    prd = services.document_create(
        workspace=workspace, actor=actor, kind="prd", title=PRD_TITLE, template=templates.get("prd")
    )
    prd = services.document_save(
        workspace=workspace, actor=actor, document=prd, base_version=prd.version,
        title=PRD_TITLE, body=_prd(refs), summary="First full draft, with the interview evidence",
    )  # fmt: skip
    for title in ("Export the filtered view to CSV and Excel", "Exports that keep every field"):
        if title in refs:
            services.document_link_add(workspace=workspace, document=prd, item_id=_id(refs[title]))
    if EXPORTS_INSIGHT in refs:
        services.document_link_add(
            workspace=workspace, document=prd, insight_id=_id(refs[EXPORTS_INSIGHT])
        )
    services.document_set_status(workspace=workspace, actor=actor, document=prd, status="in_review")

    # The decision record: accepted, linked to the item it concerns.
    decision = services.document_create(
        workspace=workspace, actor=actor, kind="decision", title=DECISION_TITLE,
        body=_decision(refs), template=templates.get("decision"),
    )  # fmt: skip
    services.document_update_details(
        workspace=workspace, document=decision, decision_status=Document.Decision.ACCEPTED
    )
    if "SAML single sign-on" in refs:
        services.document_link_add(
            workspace=workspace, document=decision, item_id=_id(refs["SAML single sign-on"])
        )
    for status in ("in_review", "approved"):
        services.document_set_status(
            workspace=workspace, actor=actor, document=decision, status=status
        )

    services.document_create(
        workspace=workspace, actor=actor, kind="update", title=UPDATE_TITLE, body=_update(refs),
        template=templates.get("update"),
    )  # fmt: skip

    # The shipped release's notes, drafted from its items and published to the changelog.
    release = Release.objects.for_workspace(workspace).filter(name=SHIPPED_RELEASE).first()
    if release is not None:
        notes = release_notes_draft(workspace=workspace, actor=actor, release=release)
        for status in ("in_review", "approved", "published"):
            notes = services.document_set_status(
                workspace=workspace, actor=actor, document=notes, status=status
            )
        changelog_update(
            workspace=workspace, is_public=True, title=f"{workspace.name} changelog",
            description="What's new in the product, release by release.",
        )  # fmt: skip
    return True


def _id(token: str) -> int:
    """The id of a `[[kind:id]]` token."""
    return int(token.strip("[]").split(":")[1])
