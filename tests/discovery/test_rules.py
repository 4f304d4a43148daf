"""Tagging rules: one RE2 set per workspace, linear-time matching, clear refusals."""

from __future__ import annotations

import time

import pytest
from django.core.exceptions import ValidationError

from discovery.rules import CompiledRules, RuleKind, RuleSpec, rule_expression


def _rules(*specs: RuleSpec) -> CompiledRules:
    return CompiledRules(specs)


def test_a_keyword_matches_the_whole_word_in_any_case():
    rules = _rules(RuleSpec(tag_id=1, kind=RuleKind.KEYWORD, pattern="export"))

    assert rules.match("The EXPORT failed") == {1}
    assert rules.match("exported twice") == set()
    assert rules.match("reexport") == set()


def test_a_phrase_matches_across_any_whitespace():
    rules = _rules(RuleSpec(tag_id=7, kind=RuleKind.PHRASE, pattern="time out"))

    assert rules.match("it would time\n  out every day") == {7}
    assert rules.match("timeout") == set()


def test_punctuation_in_keywords_and_phrases_is_literal():
    rules = _rules(RuleSpec(tag_id=2, kind=RuleKind.PHRASE, pattern="c++ (beta)"))

    assert rules.match("the c++ (beta) sdk") == {2}
    assert rules.match("the cxx beta sdk") == set()


def test_regular_expressions_and_every_rule_are_matched_in_one_pass():
    rules = _rules(
        RuleSpec(tag_id=1, kind=RuleKind.REGEX, pattern=r"\bexport(s|ed|ing)?\b"),
        RuleSpec(tag_id=2, kind=RuleKind.KEYWORD, pattern="slow"),
        RuleSpec(tag_id=3, kind=RuleKind.KEYWORD, pattern="sso"),
    )

    assert rules.match("Exporting is slow") == {1, 2}
    assert rules.match("nothing here") == set()


def test_rules_limited_to_sources_or_segments_skip_other_items():
    rules = _rules(
        RuleSpec(
            tag_id=1, kind=RuleKind.KEYWORD, pattern="invoice", sources=frozenset({"support"})
        ),
        RuleSpec(
            tag_id=2, kind=RuleKind.KEYWORD, pattern="invoice", segments=frozenset({"Enterprise"})
        ),
    )

    assert rules.match("wrong invoice", source="support", segment="SMB") == {1}
    assert rules.match("wrong invoice", source="sales", segment="Enterprise") == {2}
    assert rules.match("wrong invoice", source="sales", segment="SMB") == set()


@pytest.mark.parametrize(
    ("kind", "pattern", "message"),
    [
        pytest.param(
            RuleKind.REGEX,
            "(unclosed",
            "Not a pattern pmhub can run: missing ): (unclosed.",
            id="broken_case",
        ),
        pytest.param(
            RuleKind.REGEX,
            r"(?=ahead)x",
            "Not a pattern pmhub can run: invalid perl operator: (?=.",
            id="lookahead_case",
        ),
        pytest.param(
            RuleKind.REGEX,
            r"(a)\1",
            "Not a pattern pmhub can run: invalid escape "
            r"sequence: \1.",
            id="backreference_case",
        ),
        pytest.param(
            RuleKind.KEYWORD,
            "two words",
            "A keyword is one word; use a phrase for more.",
            id="keyword_with_space_case",
        ),
        pytest.param(
            RuleKind.PHRASE, "   ", "Give a keyword, a phrase or an expression.", id="blank_case"
        ),
        pytest.param(
            RuleKind.REGEX,
            "x" * 301,
            "Too long: 301 characters; the limit is 300.",
            id="too_long_case",
        ),
    ],
)
def test_patterns_pmhub_cannot_run_are_refused_with_the_reason(kind, pattern, message):
    with pytest.raises(ValidationError) as error:
        rule_expression(kind, pattern)

    assert error.value.message_dict == {"pattern": [message]}


def test_a_pattern_that_backtracks_catastrophically_elsewhere_runs_in_linear_time():
    rules = _rules(RuleSpec(tag_id=1, kind=RuleKind.REGEX, pattern=r"^(a+)+$"))
    text = "a" * 50_000 + "!"

    started = time.perf_counter()
    matched = rules.match(text)

    assert matched == set()
    assert time.perf_counter() - started < 1.0


def test_an_empty_rule_set_matches_nothing():
    assert CompiledRules([]).match("anything") == set()
