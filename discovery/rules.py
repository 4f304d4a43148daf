"""Tagging rules: keywords, phrases and regular expressions, matched together in one pass.

Patterns run on RE2 (google-re2), whose matching time is linear in the text whatever the pattern:
no rule can backtrack catastrophically. All rules of a workspace compile into one RE2 set, so a
text is scanned once however many rules there are; the cost does not grow as rules × text.
Matching is case-insensitive. RE2 has no look-arounds or back-references; such patterns are
refused with RE2's own reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import re2
from django.core.exceptions import ValidationError
from django.db import models

MAX_PATTERN_CHARS = 300
# Memory RE2 may use for one compiled set; a pattern set needing more is refused, not truncated.
MAX_SET_BYTES = 64 << 20


class RuleKind(models.TextChoices):
    KEYWORD = "keyword", "Keyword"
    PHRASE = "phrase", "Phrase"
    REGEX = "regex", "Regular expression"


def _options() -> re2.Options:
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False
    options.max_mem = MAX_SET_BYTES
    return options


def _bounded(words: str, expression: str) -> str:
    """Whole words only: a word boundary at each end that is a word character."""
    start = r"\b" if re.match(r"\w", words) else ""
    end = r"\b" if re.search(r"\w$", words) else ""
    return f"{start}{expression}{end}"


def rule_expression(kind: str, pattern: str) -> str:
    """The RE2 expression of a rule, or ValidationError({"pattern": reason})."""
    pattern = (pattern or "").strip()
    if not pattern:
        raise ValidationError({"pattern": "Give a keyword, a phrase or an expression."})
    if len(pattern) > MAX_PATTERN_CHARS:
        raise ValidationError(
            {"pattern": f"Too long: {len(pattern)} characters; the limit is {MAX_PATTERN_CHARS}."}
        )
    if kind == RuleKind.KEYWORD:
        if len(pattern.split()) != 1:
            raise ValidationError({"pattern": "A keyword is one word; use a phrase for more."})
        expression = _bounded(pattern, re.escape(pattern))
    elif kind == RuleKind.PHRASE:
        expression = _bounded(pattern, r"\s+".join(re.escape(word) for word in pattern.split()))
    elif kind == RuleKind.REGEX:
        expression = pattern
    else:
        raise ValidationError({"kind": "Choose keyword, phrase or regular expression."})
    try:
        re2.compile(expression, options=_options())
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise ValidationError({"pattern": f"Not a pattern pmhub can run: {reason}."}) from exc
    return expression


@dataclass(frozen=True)
class RuleSpec:
    """One rule: its tag, its pattern, and the sources and segments it is limited to (if any)."""

    tag_id: int
    kind: str
    pattern: str
    sources: frozenset[str] = field(default_factory=frozenset)
    segments: frozenset[str] = field(default_factory=frozenset)


class CompiledRules:
    """Every rule of a workspace as one RE2 set. Build once, match many texts."""

    def __init__(self, specs: Iterable[RuleSpec]) -> None:
        self.specs = list(specs)
        self._set = re2.Set.SearchSet(_options())
        for spec in self.specs:
            self._set.Add(rule_expression(spec.kind, spec.pattern))
        try:
            self._set.Compile()
        except re2.error as exc:
            raise ValidationError(
                "These rules together need too much memory; remove some."
            ) from exc

    def match(self, text: str, *, source: str = "", segment: str = "") -> set[int]:
        """The tags whose rules match `text` and allow its source and segment."""
        if not self.specs or not text:
            return set()
        tag_ids = set()
        for index in self._set.Match(text) or ():  # RE2 answers None for no match.
            spec = self.specs[index]
            if spec.sources and source not in spec.sources:
                continue
            if spec.segments and segment not in spec.segments:
                continue
            tag_ids.add(spec.tag_id)
        return tag_ids
