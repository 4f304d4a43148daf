"""The scoring-formula language: parsing, errors, evaluation, explanations, frameworks."""

from __future__ import annotations

import math
import re
import time
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backlog import formula as formula_module
from backlog.formula import (
    DEMAND_NAMES,
    FRAMEWORKS,
    MAX_DEPTH,
    MAX_NODES,
    MAX_SOURCE_LENGTH,
    RESERVED_NAMES,
    Contribution,
    Evaluation,
    FormulaError,
    parse,
)

FIELDS = ["reach", "impact", "confidence", "effort", "customer_count", "arr"]

# --- parsing ---------------------------------------------------------------------------------


def test_parse_keeps_the_source_and_collects_lower_case_names():
    formula = parse("Reach * IMPACT / effort")

    assert formula.source == "Reach * IMPACT / effort"
    assert formula.names == frozenset({"reach", "impact", "effort"})
    assert formula.describe() == "reach * impact / effort"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("1+2*3", 7.0),
        ("(1+2)*3", 9.0),
        ("2^3^2", 512.0),
        ("-2^2", -4.0),
        ("(-2)^2", 4.0),
        ("2^-1", 0.5),
        ("10 / 4", 2.5),
        ("1e3 + .5 + 0.25", 1000.75),
        ("7 - 2 - 1", 4.0),
        ("8 / 2 / 2", 2.0),
        ("3 > 2", 1.0),
        ("3 <= 2", 0.0),
        ("2 == 2 and 1 != 2", 1.0),
        ("0 or 0", 0.0),
        ("not 0", 1.0),
        ("not 1 > 2", 1.0),
        ("min(4, 2, 8)", 2.0),
        ("max(4, 2, 8)", 8.0),
        ("log(1)", 0.0),
        ("log10(1000)", 3.0),
        ("sqrt(16)", 4.0),
        ("abs(-3)", 3.0),
        ("round(2.5)", 3.0),
        ("round(-2.5)", -3.0),
        ("round(2.675, 2)", 2.68),
        ("round(1234, -2)", 1200.0),
        ("if(1 > 2, 10, 20)", 20.0),
        ("coalesce(1, 2)", 1.0),
        ("+5", 5.0),
    ],
)
def test_constant_formulas_compute_the_textbook_value(source, expected):
    assert parse(source).evaluate({}) == pytest.approx(expected)


def test_constants_are_folded_in_the_normalised_rendering():
    assert parse("2 * 3 * reach").describe() == "6 * reach"
    assert parse("reach * (2 + 3)").describe() == "reach * 5"


@pytest.mark.parametrize(
    ("source", "rendering"),
    [
        ("a - (b - c)", "a - (b - c)"),
        ("(a - b) - c", "a - b - c"),
        ("(a ^ b) ^ c", "(a ^ b) ^ c"),
        ("a ^ (b ^ c)", "a ^ b ^ c"),
        ("(-a) ^ 2", "(-a) ^ 2"),
        ("-(a ^ 2)", "-a ^ 2"),
        ("not (a and b)", "not (a and b)"),
        ("(a < b) == c", "(a < b) == c"),
        ("IF(a>b,min(a,b),-b)", "if(a > b, min(a, b), -b)"),
    ],
)
def test_describe_uses_only_the_parentheses_the_meaning_needs(source, rendering):
    assert parse(source).describe() == rendering


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "position", "fragment"),
    [
        ("reach + ", 8, "Expected a value after '+'"),
        ("reach * (impact", 15, "Missing ')' to close the '(' at column 9"),
        ("min(reach, impact", 17, "Missing ')' to close the 'min('"),
        ("reach impact", 6, "Expected an operator after 'reach', found 'impact'"),
        ("reach )", 6, "Unexpected ')'"),
        ("reach $ 2", 6, "Unexpected character '$'"),
        ("reach ** 2", 6, "Use '^' for powers"),
        ("reach = 2", 6, "Use '==' to compare"),
        ("2reach", 0, "Malformed number '2reach'; to multiply, write '2 * reach'"),
        ("1.2.3", 0, "Malformed number"),
        ("reach < impact < effort", 15, "Comparisons cannot be chained"),
        ("reach / 0", 8, "Division by zero"),
        ("reach / (3 - 3)", 9, "Division by zero"),
        ("1 + log(0)", 4, "Cannot compute log(0)"),
        ("reach ^ 2000", 8, "The exponent 2000 is too large"),
        ("1e999", 0, "too large"),
        ("1 + min(reach)", 4, "min() takes at least 2 values, got 1"),
        ("1 + log(reach, 2)", 4, "log() takes exactly 1 value, got 2"),
        ("1 + if(reach, 2)", 4, "if() takes exactly 3 values, got 2: write if(condition, then"),
        ("1 + round(1, 2, 3)", 4, "round() takes 1 or 2 values, got 3"),
        ("1 + mn(reach, 2)", 4, "Unknown function 'mn'; did you mean 'min'?"),
        ("reach + max", 8, "'max' is a function"),
        ("reach and", 9, "Expected a value after 'and'"),
        (",", 0, "Expected a value, found ','"),
    ],
)
def test_syntax_errors_name_the_mistake_and_point_at_its_column(source, position, fragment):
    with pytest.raises(FormulaError) as caught:
        parse(source)

    assert fragment in caught.value.message
    assert caught.value.position == position
    assert str(caught.value) == f"{caught.value.message} (column {position + 1})"


def test_the_error_string_reads_as_the_issue_describes():
    with pytest.raises(FormulaError) as caught:
        parse("reach + ")

    assert str(caught.value) == "Expected a value after '+' (column 9)"


def test_an_unknown_field_is_named_with_the_closest_known_one():
    with pytest.raises(FormulaError) as caught:
        parse("impact * custmer_count", names=[*FIELDS])

    assert caught.value.message == "Unknown field 'custmer_count'; did you mean 'customer_count'?"
    assert caught.value.position == 9


def test_an_unknown_field_far_from_any_known_one_gets_no_guess():
    with pytest.raises(FormulaError) as caught:
        parse("zzz", names=FIELDS)

    assert caught.value.message == "Unknown field 'zzz'"


def test_known_names_are_matched_case_insensitively():
    assert parse("REACH", names=["Reach"]).names == frozenset({"reach"})


def test_an_empty_formula_is_refused():
    with pytest.raises(FormulaError, match="The formula is empty"):
        parse("   ")


def test_a_formula_longer_than_the_limit_is_refused():
    with pytest.raises(FormulaError, match="too long"):
        parse("1" + " " * MAX_SOURCE_LENGTH)


def test_nesting_deeper_than_the_limit_is_refused():
    parse("(" * (MAX_DEPTH - 1) + "reach" + ")" * (MAX_DEPTH - 1))

    with pytest.raises(FormulaError, match="nested too deeply") as caught:
        parse("(" * MAX_DEPTH + "reach" + ")" * MAX_DEPTH)
    assert caught.value.position == MAX_DEPTH


@pytest.mark.parametrize("source", ["-" * 600 + "reach", "2^" * 400 + "2", "not " * 200 + "1"])
def test_long_unary_and_power_chains_are_refused_without_a_recursion_error(source):
    with pytest.raises(FormulaError, match="nested too deeply"):
        parse(source)


def test_more_nodes_than_the_limit_are_refused():
    parse(" + ".join(["reach"] * (MAX_NODES // 2)))

    with pytest.raises(FormulaError, match="too long: at most 200"):
        parse(" + ".join(["reach"] * (MAX_NODES // 2 + 1)))


def test_non_text_is_refused_with_a_formula_error():
    with pytest.raises(FormulaError):
        parse(42)  # type: ignore[arg-type]


def test_python_is_not_reachable_from_a_formula():
    for source in ["__import__('os')", "reach.__class__", "[].append(1)", "lambda: 1"]:
        with pytest.raises(FormulaError):
            parse(source)


def test_the_module_never_hands_text_to_the_python_compiler():
    source = Path(formula_module.__file__).read_text()

    assert re.search(r"(?<![\w.])(eval|exec|compile)\(|__import__|importlib", source) is None


def test_reserved_names_cover_the_keywords_and_the_functions():
    assert {"and", "or", "not", "if", "min", "coalesce"} <= RESERVED_NAMES


# --- evaluation ------------------------------------------------------------------------------


def test_a_missing_input_makes_the_score_unknown_and_says_which():
    formula = parse("reach * impact")

    assert formula.evaluate({"reach": 10}) is None
    assert formula.evaluate({"reach": 10, "impact": None}) is None
    assert formula.evaluate_explained({"reach": 10}) == Evaluation(None, "impact is missing")


def test_division_by_zero_at_run_time_is_unknown_with_the_reason():
    formula = parse("reach * impact / effort")

    explained = formula.evaluate_explained({"reach": 10, "impact": 1, "effort": 0})

    assert explained == Evaluation(None, "effort is 0: division by zero")
    assert formula.evaluate({"reach": 10, "impact": 1, "effort": 0}) is None


@pytest.mark.parametrize(
    ("source", "values", "reason"),
    [
        ("log(reach - 5)", {"reach": 3}, "reach - 5 is -2: log needs a number above 0"),
        ("sqrt(reach)", {"reach": -1}, "reach is -1: sqrt needs a number of at least 0"),
        ("reach * 1e300", {"reach": 1e10}, "reach * 1e+300 is too large"),
        ("reach ^ 2", {"reach": 1e200}, "reach ^ 2 is too large"),
        ("reach ^ 0.5", {"reach": -4}, "reach ^ 0.5: a negative number to a fractional power"),
        ("reach ^ -1", {"reach": 0}, "reach ^ -1: 0 to a negative power divides by zero"),
        ("2 ^ reach", {"reach": 5000}, "reach is 5000: exponents are limited to 1000"),
        ("round(1, reach)", {"reach": 0.5}, "reach is 0.5: round's digits must be a whole number"),
        ("reach + 1", {"reach": math.inf}, "reach is not a finite number"),
        ("reach + 1", {"reach": math.nan}, "reach is not a finite number"),
        ("reach + 1", {"reach": "many"}, "reach is not a finite number"),
        ("reach + 1", {"reach": 10**400}, "reach is not a finite number"),
    ],
)
def test_undefined_results_are_unknown_never_an_exception(source, values, reason):
    formula = parse(source)

    assert formula.evaluate(values) is None
    assert formula.evaluate_explained(values) == Evaluation(None, reason)


def test_inputs_of_any_numeric_type_are_read_as_floats():
    formula = parse("reach + impact + confidence")

    assert formula.evaluate({"reach": 1, "impact": Decimal("2.5"), "confidence": True}) == 4.5


def test_coalesce_replaces_a_missing_or_undefined_value():
    formula = parse("coalesce(reach / effort, customer_count, 0)")

    assert formula.evaluate({"reach": 6, "effort": 3}) == 2.0
    assert formula.evaluate({"reach": 6, "effort": 0, "customer_count": 4}) == 4.0
    assert formula.evaluate({}) == 0.0


def test_if_computes_only_the_branch_it_takes():
    formula = parse("if(effort > 0, reach / effort, 0)")

    assert formula.evaluate({"reach": 10, "effort": 0}) == 0.0
    assert formula.evaluate({"reach": 10, "effort": 2}) == 5.0
    assert formula.evaluate({"reach": 10}) is None


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("reach and 0", 0.0),
        ("0 and reach", 0.0),
        ("reach and 1", None),
        ("reach or 1", 1.0),
        ("1 or reach", 1.0),
        ("reach or 0", None),
        ("not reach", None),
    ],
)
def test_logic_over_an_unknown_value_is_three_valued(source, expected):
    assert parse(source).evaluate({}) == expected


def test_evaluating_a_formula_over_100000_items_takes_well_under_a_second():
    formula = FRAMEWORKS["rice"].formula
    items = [
        {"reach": float(n), "impact": 2.0, "confidence": 0.8, "effort": 1.0 + n % 5}
        for n in range(100_000)
    ]

    started = time.perf_counter()
    scores = [formula.evaluate(item) for item in items]
    elapsed = time.perf_counter() - started

    assert scores[7] == pytest.approx(7 * 2 * 0.8 / 3)
    assert elapsed < 1.0


# --- explanations ----------------------------------------------------------------------------


def test_contributions_compare_each_input_with_its_baseline_largest_first():
    formula = parse("customer_count * 3 + arr / 1000")

    contributions = formula.contributions(
        {"customer_count": 14, "arr": 5000}, {"customer_count": 3, "arr": 2000}
    )

    assert contributions == [
        Contribution("customer_count", 14, 3, 33.0),
        Contribution("arr", 5000, 2000, 3.0),
    ]


def test_contributions_of_an_unknown_score_or_a_missing_baseline_come_last_as_none():
    formula = parse("reach * impact + effort")

    contributions = formula.contributions({"reach": 2, "impact": 3, "effort": 1}, {"reach": 1})

    assert contributions == [
        Contribution("reach", 2, 1, 3.0),
        Contribution("effort", 1, None, None),
        Contribution("impact", 3, None, None),
    ]
    assert all(c.effect is None for c in formula.contributions({"reach": 2}, {"reach": 1}))


@settings(max_examples=60, deadline=None)
@given(
    weights=st.lists(st.integers(-20, 20), min_size=3, max_size=3),
    values=st.lists(st.integers(0, 10_000), min_size=3, max_size=3),
    baseline=st.lists(st.integers(0, 10_000), min_size=3, max_size=3),
)
def test_contributions_of_a_linear_formula_add_up_to_the_distance_from_the_baseline(
    weights, values, baseline
):
    names = ["reach", "effort", "arr"]
    formula = parse(" + ".join(f"{w} * {n}" for w, n in zip(weights, names, strict=True)))
    values_by_name = dict(zip(names, values, strict=True))
    baseline_by_name = {n: float(v) for n, v in zip(names, baseline, strict=True)}

    contributions = formula.contributions(values_by_name, baseline_by_name)

    total = sum(c.effect for c in contributions)
    expected = formula.evaluate(values_by_name) - formula.evaluate(baseline_by_name)
    assert total == pytest.approx(expected)
    assert [abs(c.effect) for c in contributions] == sorted(
        (abs(c.effect) for c in contributions), reverse=True
    )


# --- frameworks ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "values", "expected"),
    [
        ("rice", {"reach": 1000, "impact": 2, "confidence": 0.8, "effort": 4}, 400.0),
        ("ice", {"impact": 8, "confidence": 7, "ease": 6}, 336.0),
        (
            "wsjf",
            {"business_value": 8, "time_criticality": 5, "risk_reduction": 3, "job_size": 5},
            3.2,
        ),
        ("value_effort", {"value": 8, "effort": 2}, 4.0),
    ],
)
def test_frameworks_compute_the_textbook_scores(key, values, expected):
    assert FRAMEWORKS[key].formula.evaluate(values) == pytest.approx(expected)


def test_framework_fields_are_consistent_with_their_formulas():
    for framework in FRAMEWORKS.values():
        assert framework.formula.names == {field.name for field in framework.fields}
        for field in framework.fields:
            bounds = (field.minimum, math.inf if field.maximum is None else field.maximum)
            assert field.default is None or bounds[0] <= field.default <= bounds[1]
            for value, label in field.choices or ():
                assert bounds[0] <= value <= bounds[1]
                assert label


def test_rice_offers_the_intercom_scales():
    fields = {field.name: field for field in FRAMEWORKS["rice"].fields}

    assert [value for value, _ in fields["impact"].choices] == [0.25, 0.5, 1, 2, 3]
    assert fields["impact"].choices[0][1] == "Minimal"
    assert fields["impact"].choices[-1][1] == "Massive"
    assert [value for value, _ in fields["confidence"].choices] == [0.5, 0.8, 1.0]


def test_wsjf_uses_the_fibonacci_scale():
    for field in FRAMEWORKS["wsjf"].fields:
        assert [value for value, _ in field.choices] == [1, 2, 3, 5, 8, 13, 20]


def test_demand_names_can_be_used_in_a_formula():
    names = [name for name, _ in DEMAND_NAMES]

    formula = parse("customer_count * 2 + log10(arr + 1) + critical_count", names=names)

    assert formula.evaluate({"customer_count": 3, "arr": 999, "critical_count": 1}) == 10.0
    assert set(names) == {
        "evidence_count",
        "customer_count",
        "company_count",
        "arr",
        "critical_count",
        "important_count",
    }
    assert not set(names) & RESERVED_NAMES


# --- fuzzing ---------------------------------------------------------------------------------

TOKENS = [
    *FIELDS,
    *(name.upper() for name in FIELDS[:2]),
    "0",
    "1",
    "2.5",
    "1e3",
    ".5",
    "1e999",
    "1e-400",
    "+",
    "-",
    "*",
    "/",
    "^",
    "(",
    ")",
    ",",
    "<",
    "<=",
    ">",
    ">=",
    "==",
    "!=",
    "and",
    "or",
    "not",
    *formula_module.FUNCTIONS,
    "=",
    "!",
    "**",
    "$",
    "'",
    ".",
    "_",
    "é",
    "\x00",
]


def _check_parse(source, names=None):
    """Parse, or None on a FormulaError that is well formed; any other exception fails."""
    error = None
    try:
        return parse(source, names=names)
    except FormulaError as raised:
        error = raised
    assert isinstance(error.message, str)
    assert error.position is None or 0 <= error.position <= len(source)
    assert str(error).startswith(error.message)
    return None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_parse_raises_only_formula_errors_on_arbitrary_text(source):
    _check_parse(source)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.sampled_from(TOKENS), max_size=40),
    st.sampled_from(["", " "]),
    st.sampled_from([None, FIELDS]),
)
def test_parse_raises_only_formula_errors_on_token_soup(tokens, separator, names):
    _check_parse(separator.join(tokens), names)


_INTEGER_LEAF = st.one_of(st.sampled_from(FIELDS), st.integers(0, 1000).map(str))
_LEAF = st.one_of(_INTEGER_LEAF, st.floats(0, 1e6, allow_nan=False, allow_infinity=False).map(repr))


def _extend(children):
    binary = st.tuples(
        children,
        st.sampled_from(["+", "-", "*", "/", "^", "<", ">=", "==", "and", "or"]),
        children,
        st.booleans(),
    ).map(lambda t: f"({t[0]} {t[1]} {t[2]})" if t[3] else f"{t[0]} {t[1]} {t[2]}")
    unary = st.tuples(st.sampled_from(["-", "not "]), children).map("".join)
    one = st.tuples(st.sampled_from(["log", "log10", "sqrt", "abs", "round"]), children).map(
        lambda t: f"{t[0]}({t[1]})"
    )
    many = st.tuples(
        st.sampled_from(["min", "max", "coalesce"]), st.lists(children, min_size=2, max_size=3)
    ).map(lambda t: f"{t[0]}({', '.join(t[1])})")
    choice = st.tuples(children, children, children).map(lambda t: f"if({', '.join(t)})")
    return st.one_of(binary, unary, one, many, choice)


FORMULAS = st.recursive(_LEAF, _extend, max_leaves=12)
# Without floats such as 1e-05: a character inserted into one makes the whole number malformed.
INTEGER_FORMULAS = st.recursive(_INTEGER_LEAF, _extend, max_leaves=12)
INPUT_VALUES = st.dictionaries(
    st.sampled_from(FIELDS),
    st.one_of(
        st.none(),
        st.integers(-1000, 1000),
        st.floats(allow_nan=False, allow_infinity=False),
    ),
)


@settings(max_examples=400, deadline=None)
@given(FORMULAS, INPUT_VALUES, INPUT_VALUES)
def test_evaluation_never_raises_and_never_returns_nan_or_infinity(source, values, baseline):
    formula = _check_parse(source, FIELDS)
    if formula is None:
        return

    value = formula.evaluate(values)
    explained = formula.evaluate_explained(values)
    contributions = formula.contributions(
        values, {k: v for k, v in baseline.items() if v is not None}
    )

    assert value is None or (isinstance(value, float) and math.isfinite(value))
    assert explained.value == value
    assert (explained.reason is None) == (value is not None)
    assert {c.name for c in contributions} == formula.names
    assert all(c.effect is None or math.isfinite(c.effect) for c in contributions)


@settings(max_examples=300, deadline=None)
@given(FORMULAS, INPUT_VALUES)
def test_the_normalised_rendering_parses_back_to_the_same_formula(source, values):
    formula = _check_parse(source)
    if formula is None:
        return

    again = parse(formula.describe())

    assert again.describe() == formula.describe()
    assert again.names == formula.names
    assert again.evaluate(values) == formula.evaluate(values)


@settings(max_examples=200, deadline=None)
@given(INTEGER_FORMULAS, st.data())
def test_an_unexpected_character_is_reported_at_its_own_column(source, data):
    index = data.draw(st.integers(0, len(source)))

    with pytest.raises(FormulaError) as caught:
        parse(source[:index] + "$" + source[index:])

    if index > 0 and source[index - 1 : index + 1] in ("==", "!="):
        # "=$=" or "!$=": a lone "=" or "!" is the earlier mistake, and is reported.
        assert caught.value.position == index - 1
    else:
        assert caught.value.position == index
