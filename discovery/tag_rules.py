"""Tagging rules as people edit them: create, change, switch on and off, delete, and preview.

Every pattern goes through discovery.rules.rule_expression, so a rule RE2 cannot run (a
look-around, a back-reference, a pattern too long) is refused with RE2's own reason and never
stored. The worker picks rules up on its next run; "Re-tag now" (tagging.retag_start) applies
them to existing items.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import re2
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from discovery.models import Feedback, Tag, TagRule
from discovery.rules import MAX_SET_BYTES, CompiledRules, RuleSpec, rule_expression
from pmhub.workspaces.audit import audit_record
from pmhub.workspaces.models import Workspace

if TYPE_CHECKING:
    from pmhub.accounts.models import User

# Rows fetched per round trip while a preview streams the workspace's feedback.
PREVIEW_CHUNK = 2_000
# Characters of context shown on each side of a match in the preview's samples.
SNIPPET_CONTEXT = 70
SEGMENT_MAX_CHARS = 80


def _clean_sources(sources: Iterable[str]) -> list[str]:
    chosen = sorted({source for source in sources if source})
    unknown = [source for source in chosen if source not in Feedback.Source.values]
    if unknown:
        raise ValidationError({"sources": f"Unknown source: {', '.join(unknown)}."})
    return chosen


def _clean_segments(segments: Iterable[str]) -> list[str]:
    chosen = sorted({segment.strip() for segment in segments if segment.strip()})
    if any(len(segment) > SEGMENT_MAX_CHARS for segment in chosen):
        raise ValidationError({"segments": f"A segment is at most {SEGMENT_MAX_CHARS} characters."})
    return chosen


def _check_workspace_set(workspace: Workspace, spec: RuleSpec, *, without: int | None) -> None:
    """The workspace's enabled rules with this one must still compile into one RE2 set."""
    others = TagRule.objects.for_workspace(workspace).filter(enabled=True)
    if without is not None:
        others = others.exclude(id=without)
    specs = [
        RuleSpec(tag_id=tag_id, kind=kind, pattern=pattern)
        for tag_id, kind, pattern in others.order_by("id").values_list("tag_id", "kind", "pattern")
    ]
    try:
        CompiledRules([*specs, spec])
    except ValidationError as exc:
        raise ValidationError({"pattern": exc.messages}) from exc


def _save(rule: TagRule) -> None:
    try:
        with transaction.atomic():
            rule.save()
    except IntegrityError as exc:
        raise ValidationError({"pattern": "This tag already has this rule."}) from exc


@transaction.atomic
def rule_create(
    *,
    workspace: Workspace,
    actor: User | None,
    tag: Tag,
    kind: str,
    pattern: str,
    sources: Sequence[str] = (),
    segments: Sequence[str] = (),
) -> TagRule:
    """A new enabled rule for `tag` (of this workspace), or ValidationError with the reason."""
    if tag.workspace_id != workspace.id:
        raise ValidationError({"tag": "Choose a tag of this workspace."})
    pattern = (pattern or "").strip()
    rule_expression(kind, pattern)
    rule = TagRule(
        workspace=workspace,
        tag=tag,
        kind=kind,
        pattern=pattern,
        sources=_clean_sources(sources),
        segments=_clean_segments(segments),
        created_by=actor,
    )
    _check_workspace_set(workspace, RuleSpec(tag.id, kind, pattern), without=None)
    _save(rule)
    audit_record(
        workspace=workspace,
        actor=actor,
        action="tag_rule.created",
        target=rule,
        changes={"tag": tag.name, "kind": kind, "pattern": pattern},
    )
    return rule


@transaction.atomic
def rule_update(
    *,
    workspace: Workspace,
    actor: User | None,
    rule: TagRule,
    kind: str,
    pattern: str,
    sources: Sequence[str] = (),
    segments: Sequence[str] = (),
) -> TagRule:
    """Change a rule's pattern and limits; the same checks as creating one."""
    rule = TagRule.objects.for_workspace(workspace).select_for_update().get(id=rule.id)
    pattern = (pattern or "").strip()
    rule_expression(kind, pattern)
    before = {
        "kind": rule.kind,
        "pattern": rule.pattern,
        "sources": rule.sources,
        "segments": rule.segments,
    }
    rule.kind = kind
    rule.pattern = pattern
    rule.sources = _clean_sources(sources)
    rule.segments = _clean_segments(segments)
    if rule.enabled:
        _check_workspace_set(workspace, RuleSpec(rule.tag_id, kind, pattern), without=rule.id)
    _save(rule)
    after = {
        "kind": rule.kind,
        "pattern": rule.pattern,
        "sources": rule.sources,
        "segments": rule.segments,
    }
    diff = {key: [before[key], after[key]] for key in before if before[key] != after[key]}
    if diff:
        audit_record(
            workspace=workspace, actor=actor, action="tag_rule.updated", target=rule, changes=diff
        )
    return rule


@transaction.atomic
def rule_toggle(
    *, workspace: Workspace, actor: User | None, rule: TagRule, enabled: bool | None = None
) -> TagRule:
    """Switch a rule on or off (`enabled`, or the opposite of now). A disabled rule stays for
    later but tags nothing; its existing taggings go on the next re-tag."""
    rule = TagRule.objects.for_workspace(workspace).select_for_update().get(id=rule.id)
    value = (not rule.enabled) if enabled is None else enabled
    if value == rule.enabled:
        return rule
    if value:
        _check_workspace_set(
            workspace, RuleSpec(rule.tag_id, rule.kind, rule.pattern), without=rule.id
        )
    rule.enabled = value
    rule.save(update_fields=["enabled", "updated_at"])
    audit_record(
        workspace=workspace,
        actor=actor,
        action="tag_rule.enabled" if value else "tag_rule.disabled",
        target=rule,
    )
    return rule


@transaction.atomic
def rule_delete(*, workspace: Workspace, actor: User | None, rule: TagRule) -> None:
    """Delete a rule. Its taggings stay until the next re-tag replaces machine-made ones."""
    rule = TagRule.objects.for_workspace(workspace).get(id=rule.id)
    audit_record(
        workspace=workspace,
        actor=actor,
        action="tag_rule.deleted",
        target=rule,
        changes={"kind": rule.kind, "pattern": rule.pattern},
    )
    rule.delete()


# --- preview -------------------------------------------------------------------------------
@dataclass(frozen=True)
class PreviewMatch:
    """One feedback item a rule would tag, cut around the first match."""

    feedback_id: int
    before: str
    match: str
    after: str


def _options() -> re2.Options:
    # The same matching as discovery.rules: case-insensitive, bounded memory.
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False
    options.max_mem = MAX_SET_BYTES
    return options


def _prefilter_words(kind: str, pattern: str) -> list[str]:
    """Words every match of a keyword or phrase contains, for a cheap ILIKE in PostgreSQL.

    Only ASCII words, where ILIKE and RE2 fold case alike (but for exotic letters such as the
    Kelvin sign), so the filter keeps every item RE2 would match. Expressions get no prefilter.
    """
    if kind not in (TagRule.Kind.KEYWORD, TagRule.Kind.PHRASE):
        return []
    return [word for word in pattern.split() if word.isascii()]


def _sample(feedback_id: int, text: str, start: int, end: int) -> PreviewMatch:
    before, after = text[:start], text[end:]
    if len(before) > SNIPPET_CONTEXT:
        before = "…" + before[-SNIPPET_CONTEXT:].lstrip()
    if len(after) > SNIPPET_CONTEXT:
        after = after[:SNIPPET_CONTEXT].rstrip() + "…"
    return PreviewMatch(feedback_id=feedback_id, before=before, match=text[start:end], after=after)


def rule_preview(
    *,
    workspace: Workspace,
    kind: str,
    pattern: str,
    sources: Sequence[str] = (),
    segments: Sequence[str] = (),
    limit: int = 20,
) -> tuple[int, list[PreviewMatch]]:
    """How many existing feedback items (not merged away) the rule would tag, and the newest
    `limit` of them with the first match marked. ValidationError when the rule is invalid.

    Sources and segments narrow the rows in SQL, keywords and phrases also by an ILIKE per word;
    RE2 then confirms each remaining text, streamed in chunks so memory stays flat.
    """
    expression = rule_expression(kind, pattern)
    sources = _clean_sources(sources)
    segments = _clean_segments(segments)
    compiled = re2.compile(expression, options=_options())
    rows = Feedback.objects.for_workspace(workspace).filter(merged_into__isnull=True)
    if sources:
        rows = rows.filter(source__in=sources)
    if segments:
        rows = rows.filter(company__segment__in=segments)
    for word in _prefilter_words(kind, pattern.strip()):
        rows = rows.filter(text__icontains=word)
    count = 0
    samples: list[PreviewMatch] = []
    for feedback_id, text in (
        rows.order_by("-received_at", "-id")
        .values_list("id", "text")
        .iterator(chunk_size=PREVIEW_CHUNK)
    ):
        found = compiled.search(text)
        if found is None:
            continue
        count += 1
        if len(samples) < limit:
            samples.append(_sample(feedback_id, text, *found.span()))
    return count, samples
