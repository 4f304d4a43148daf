"""The templates every workspace starts with, one per kind: kind -> (name, description, body)."""

from __future__ import annotations

PRD = """## Problem

What is wrong today, for whom, and how do we know? Cite the evidence: type `[[` to reference an
insight, a highlight or an item.

## Who has it

The segments and customers affected, and how many.

## Evidence

- [[insight:ID]] (replace with real references)

## Goals and metrics

| Goal | Metric | Baseline | Target |
| --- | --- | --- | --- |
|  |  |  |  |

## Scope

### In scope

### Non-goals

## Requirements

### User stories

- As a …, I want …, so that …
  - [ ] Acceptance criterion
  - [ ] Acceptance criterion

## Open questions

- [ ] …

## Launch plan

Release, rollout, who tells customers, what support needs to know.
"""

BRIEF = """## The opportunity

One paragraph: the problem and why now.

## Who has it

## Evidence

## What success looks like

## Options we see

## Risks and open questions
"""

USER_STORIES = """## Context

Which item or epic these stories deliver.

## Stories

### Story 1

As a …, I want …, so that …

**Acceptance criteria**

- [ ] Given …, when …, then …
- [ ] …

### Story 2

As a …, I want …, so that …

**Acceptance criteria**

- [ ] …
"""

DECISION = """## Context

What forces us to decide, and by when.

## Options considered

1. **Option A**: pros, cons.
2. **Option B**: pros, cons.

## Decision

What we chose.

## Consequences

What becomes easier, what becomes harder, what we will watch.

## Evidence

- [[insight:ID]]
"""

UPDATE = """## Summary

Three lines a busy reader can stop after.

## Shipped

## In progress

## Changed plans, and why

## Asks
"""

RELEASE_NOTES = """## Highlights

## New

## Improved

## Fixed
"""

DEFAULT_TEMPLATES: dict[str, tuple[str, str, str]] = {
    "prd": ("PRD", "Problem, evidence, goals, scope, user stories, launch plan.", PRD),
    "brief": ("Product brief", "A short case for an opportunity, before a PRD.", BRIEF),
    "user_stories": ("User stories", "Stories with acceptance criteria.", USER_STORIES),
    "decision": ("Decision record", "Context, options, decision, consequences.", DECISION),
    "update": ("Stakeholder update", "What shipped, what moved and why, what we need.", UPDATE),
    "release_notes": ("Release notes", "What a release brings, by area.", RELEASE_NOTES),
}
