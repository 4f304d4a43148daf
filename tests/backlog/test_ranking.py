"""Rank keys for the manual order: ordering, length and validation."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backlog.ranking import DIGITS, FIRST_KEY, key_between, keys_between


def _assert_well_formed(keys):
    assert keys == sorted(keys)
    # PostgreSQL's COLLATE "C" compares bytes: the same order for these ASCII keys.
    assert keys == sorted(keys, key=str.encode)
    assert len(set(keys)) == len(keys)
    for key in keys:
        assert set(key[1:]) <= set(DIGITS)
        assert not key.endswith("0")


def test_the_first_key_of_an_empty_list():
    assert key_between(None, None) == FIRST_KEY == "a1"


def test_digits_are_in_ascii_order():
    assert list(DIGITS) == sorted(DIGITS)
    assert len(DIGITS) == 62


def test_appending_ten_thousand_items_keeps_keys_short_and_ordered():
    keys = [key_between(None, None)]
    for _ in range(9_999):
        keys.append(key_between(keys[-1], None))

    _assert_well_formed(keys)
    assert max(len(key) for key in keys) <= 4


def test_prepending_ten_thousand_items_keeps_keys_short_and_ordered():
    keys = [key_between(None, None)]
    for _ in range(9_999):
        keys.insert(0, key_between(None, keys[0]))

    _assert_well_formed(keys)
    assert max(len(key) for key in keys) <= 4


@pytest.mark.parametrize("towards", ["before", "after"])
def test_inserting_again_and_again_into_one_gap_grows_about_one_digit_per_six(towards):
    before, after = "a1", "a2"
    for _ in range(60):
        middle = key_between(before, after)
        assert before < middle < after
        if towards == "before":
            after = middle
        else:
            before = middle

    assert len(middle) <= 2 + 60 // 5


def test_a_key_is_found_before_the_most_negative_integer_and_after_the_largest():
    smallest = "A" + "0" * 25 + "1"
    largest = "z" * 27

    assert key_between(None, smallest) < smallest
    assert key_between(largest, None) > largest
    assert key_between(None, key_between(None, smallest)) < key_between(None, smallest)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("a2", "a1"),
        ("a1", "a1"),
        ("", None),
        ("a", None),
        ("b1", None),
        ("a0", None),
        ("a1!", None),
        ("?1", None),
        ("é1", None),
        (None, "a10"),
        (None, 5),
    ],
)
def test_bad_keys_and_reversed_bounds_are_refused(before, after):
    with pytest.raises(ValueError, match="rank key"):
        key_between(before, after)


def test_keys_between_spreads_keys_within_a_gap():
    keys = keys_between("a1", "a2", 7)

    _assert_well_formed(["a1", *keys, "a2"])
    assert len(keys) == 7
    assert max(len(key) for key in keys) == 3


def test_keys_between_with_open_ends_uses_consecutive_integers():
    assert keys_between(None, None, 3) == ["a1", "a2", "a3"]
    assert keys_between(None, "a1", 2) == ["Zy", "Zz"]
    assert keys_between("a3", None, 2) == ["a4", "a5"]


def test_keys_between_refuses_bad_input_even_for_no_keys():
    with pytest.raises(ValueError, match="not be negative"):
        keys_between(None, None, -1)
    with pytest.raises(ValueError, match="rank key"):
        keys_between("a2", "a1", 0)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.floats(0, 1, exclude_max=True), max_size=120))
def test_any_sequence_of_inserts_keeps_the_order_strict(positions):
    keys: list[str] = []
    for position in positions:
        index = int(position * (len(keys) + 1))
        before = keys[index - 1] if index > 0 else None
        after = keys[index] if index < len(keys) else None

        key = key_between(before, after)

        assert before is None or before < key
        assert after is None or key < after
        keys.insert(index, key)

    _assert_well_formed(keys)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.floats(0, 1, exclude_max=True), min_size=2, max_size=30),
    st.integers(0, 2),
    st.integers(0, 60),
)
def test_keys_between_returns_n_sorted_distinct_keys_inside_the_bounds(positions, ends, n):
    existing: list[str] = []
    for position in positions:
        index = int(position * (len(existing) + 1))
        before = existing[index - 1] if index > 0 else None
        after = existing[index] if index < len(existing) else None
        existing.insert(index, key_between(before, after))
    before = None if ends == 0 else existing[0]
    after = None if ends == 1 else existing[-1]

    keys = keys_between(before, after, n)

    assert len(keys) == n
    _assert_well_formed(keys)
    assert all((before is None or before < key) and (after is None or key < after) for key in keys)
