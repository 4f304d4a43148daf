"""Rank keys for the backlog's manual (drag-and-drop) order: fractional indexing.

A key is a string; items sort by it with a plain string comparison, in Python and in PostgreSQL
under `COLLATE "C"` (byte order). Moving an item writes one key, chosen strictly between its new
neighbours, so a move is O(1) whatever the backlog's size. Two concurrent moves into the same gap
may pick the same key; the order stays valid (ties fall back to a secondary sort such as the id)
and the next move between them separates them.

A key is an *integer part* followed by an optional *fraction*, all in base 62 with the digits
`0-9A-Za-z` (ASCII order, so string order is numeric order):

- The integer part is a head letter giving its length, then that many digits: `a` has one digit,
  `b` two ... `z` 26; `Z` one digit, `Y` two ... `A` 26 for the negative side. A larger magnitude
  needs a longer integer, and the head letter makes longer integers sort on the correct side.
- The fraction holds the digits after the point, and never ends in `0`.

Appending (or prepending) increments (or decrements) the integer part, so keys grow only
logarithmically: 10,000 items appended one after another end at 4 characters (`c1cv`). Inserting
into the same gap again and again halves it each time and grows the key by about one character per
five or six insertions (log2(62) ~ 5.95); keys_between() spreads many new keys evenly instead.

No key produced here ends in the smallest digit `0`, so there is always room before any key.
The scheme follows David Greenspan's "Implementing Fractional Indexing" (Observable, 2020).
"""

from __future__ import annotations

DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
FIRST_KEY = "a1"

_BASE = len(DIGITS)
_SMALLEST = DIGITS[0]
_LARGEST = DIGITS[-1]
_VALUE = {digit: value for value, digit in enumerate(DIGITS)}


def key_between(before: str | None, after: str | None) -> str:
    """Return a key sorting strictly after `before` and before `after` (None = open end).

    Raises ValueError when a key is malformed or `before` is not smaller than `after`.
    """
    if before is not None:
        _validate(before)
    if after is not None:
        _validate(after)
    if before is not None and after is not None and before >= after:
        raise ValueError(f"rank key {before!r} is not before {after!r}")

    if before is None and after is None:
        return FIRST_KEY
    if before is None:
        assert after is not None
        integer, fraction = _split(after)
        if fraction and not integer.endswith(_SMALLEST):
            return integer
        smaller = _decrement(integer)
        if smaller is not None:
            return smaller
        # Only the most negative integers get here: what remains below are fractions.
        if fraction:
            return integer + _midpoint("", fraction)
        lowest = _step(integer, -1)
        assert lowest is not None
        return lowest + _midpoint("", None)
    if after is None:
        integer, fraction = _split(before)
        larger = _increment(integer)
        if larger is not None:
            return larger
        return integer + _midpoint(fraction, None)

    integer, fraction = _split(before)
    after_integer, after_fraction = _split(after)
    if integer == after_integer:
        return integer + _midpoint(fraction, after_fraction)
    larger = _increment(integer)
    if larger is not None and larger < after:
        return larger
    return integer + _midpoint(fraction, None)


def keys_between(before: str | None, after: str | None, n: int) -> list[str]:
    """Return `n` sorted, distinct keys between `before` and `after`, spread evenly.

    With an open end the keys are consecutive integers (the shortest keys); within a bounded gap
    they are chosen by bisection, so each key is about log62(n) characters longer than the bounds.
    """
    if n < 0:
        raise ValueError("n must not be negative")
    if n == 0:
        # Still refuse bad bounds, so a caller's mistake does not depend on n.
        if before is not None and after is not None:
            key_between(before, after)
        return []
    if n == 1:
        return [key_between(before, after)]
    if after is None:
        keys = [key_between(before, None)]
        while len(keys) < n:
            keys.append(key_between(keys[-1], None))
        return keys
    if before is None:
        keys = [key_between(None, after)]
        while len(keys) < n:
            keys.append(key_between(None, keys[-1]))
        return keys[::-1]
    middle = key_between(before, after)
    below = (n - 1) // 2
    return [
        *keys_between(before, middle, below),
        middle,
        *keys_between(middle, after, n - 1 - below),
    ]


def _integer_length(head: str) -> int:
    """How many characters the integer part starting with `head` has, head included."""
    if "a" <= head <= "z":
        return ord(head) - ord("a") + 2
    if "A" <= head <= "Z":
        return ord("Z") - ord(head) + 2
    raise ValueError(f"rank key head {head!r} is not a letter")


def _split(key: str) -> tuple[str, str]:
    length = _integer_length(key[0])
    return key[:length], key[length:]


def _validate(key: str) -> None:
    if not isinstance(key, str) or not key:
        raise ValueError(f"rank key {key!r} is not a non-empty string")
    length = _integer_length(key[0])
    if len(key) < length:
        raise ValueError(f"rank key {key!r} is shorter than its head letter says")
    if any(character not in _VALUE for character in key[1:]):
        raise ValueError(f"rank key {key!r} has a character outside 0-9A-Za-z")
    if key.endswith(_SMALLEST):
        # Nothing could be placed just before such a key in the same integer: refuse it.
        raise ValueError(f"rank key {key!r} ends in {_SMALLEST!r}")


def _increment(integer: str) -> str | None:
    """The next integer that does not end in the smallest digit, or None past the largest."""
    result: str | None = _step(integer, +1)
    while result is not None and result.endswith(_SMALLEST):
        result = _step(result, +1)
    return result


def _decrement(integer: str) -> str | None:
    """The previous integer that does not end in the smallest digit, or None below the smallest."""
    result: str | None = _step(integer, -1)
    while result is not None and result.endswith(_SMALLEST):
        result = _step(result, -1)
    return result


def _step(integer: str, delta: int) -> str | None:
    head, digits = integer[0], [_VALUE[d] for d in integer[1:]]
    for index in range(len(digits) - 1, -1, -1):
        value = digits[index] + delta
        if 0 <= value < _BASE:
            digits[index] = value
            return head + "".join(DIGITS[d] for d in digits)
        digits[index] = value % _BASE
    # Carried (or borrowed) past the first digit: move to the next head letter.
    if delta > 0:
        if head == "z":
            return None
        new_head = "a" if head == "Z" else chr(ord(head) + 1)
    else:
        if head == "A":
            return None
        new_head = "Z" if head == "a" else chr(ord(head) - 1)
    width = _integer_length(new_head) - 1
    fill = _SMALLEST if delta > 0 else _LARGEST
    return new_head + fill * width


def _midpoint(low: str, high: str | None) -> str:
    """A fraction strictly between two fractions (`high` None = 1), not ending in `0`."""
    if high is not None:
        common = 0
        while (low[common] if common < len(low) else _SMALLEST) == high[common]:
            common += 1
        if common:
            return high[:common] + _midpoint(low[common:], high[common:])
    low_digit = _VALUE[low[0]] if low else 0
    high_digit = _VALUE[high[0]] if high is not None else _BASE
    if high_digit - low_digit > 1:
        return DIGITS[(low_digit + high_digit + 1) // 2]
    # Consecutive first digits.
    if high is not None and len(high) > 1:
        return high[0]
    return DIGITS[low_digit] + _midpoint(low[1:], None)
