"""Scoring formulas: a small, safe expression language, and the built-in frameworks as data.

A workspace formula such as `reach * impact * confidence / effort` is tokenized and parsed by hand
(recursive descent), checked against the fields the workspace knows, folded where constant, and
compiled into nested closures. Nothing is ever given to Python's eval, exec or compile, so a
formula can do only what the grammar below allows, and every mistake is a FormulaError that points
at its column.

    expression  := or
    or          := and ("or" and)*
    and         := not ("and" not)*
    not         := "not" not | comparison
    comparison  := sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum)?     -- never chained
    sum         := product (("+" | "-") product)*
    product     := unary (("*" | "/") unary)*
    unary       := ("-" | "+") unary | power
    power       := atom ("^" unary)?                                     -- right-associative
    atom        := number | name | function "(" arguments ")" | "(" expression ")"

Every value is a float; comparisons and logic give 1 or 0, and any non-zero number is true.

Evaluation never raises: a missing input, a division by zero, the log of a number <= 0, or an
overflow makes the score unknown (None), so one odd item never breaks a ranking; `coalesce`
replaces an unknown value and `and`/`or` follow three-valued logic (unknown and false is false).
`Formula.evaluate_explained` says why a score is unknown.
"""

from __future__ import annotations

import decimal
import difflib
import math
import operator
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

MAX_SOURCE_LENGTH = 1_000
MAX_DEPTH = 50
MAX_NODES = 200
# Floats make a large power cheap, but nobody scores with x ^ 5000: refusing it catches typos.
MAX_EXPONENT = 1_000

KEYWORDS = frozenset({"and", "or", "not"})
# name -> (fewest arguments, most arguments or None for any, how to write it)
FUNCTIONS: Mapping[str, tuple[int, int | None, str]] = {
    "min": (2, None, "min(a, b, ...)"),
    "max": (2, None, "max(a, b, ...)"),
    "log": (1, 1, "log(x)"),
    "log10": (1, 1, "log10(x)"),
    "sqrt": (1, 1, "sqrt(x)"),
    "abs": (1, 1, "abs(x)"),
    "round": (1, 2, "round(x) or round(x, digits)"),
    "if": (3, 3, "if(condition, then, otherwise)"),
    "coalesce": (2, None, "coalesce(a, b, ...)"),
}
# A workspace field with one of these names could not be referenced in a formula.
RESERVED_NAMES = KEYWORDS | frozenset(FUNCTIONS)


class FormulaError(ValueError):
    """A formula that cannot be parsed, validated or computed, with the offending position."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message, position)
        self.message = message
        self.position = position  # 0-based character offset in the source, or None

    def __str__(self) -> str:
        if self.position is None:
            return self.message
        return f"{self.message} (column {self.position + 1})"


class _Unknown(FormulaError):
    """Raised inside evaluation when a value cannot be known; evaluate() turns it into None."""


class Evaluation(NamedTuple):
    value: float | None
    reason: str | None  # why value is None, e.g. "effort is 0: division by zero"


class Contribution(NamedTuple):
    name: str
    value: float | int | None
    baseline: float | None
    effect: float | None  # score minus the score with this input at its baseline


# --- tokens ----------------------------------------------------------------------------------

_DIGITS = frozenset("0123456789")
_NAME_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_NAME_CHARACTERS = _NAME_START | _DIGITS
_OPERATORS = ("<=", ">=", "==", "!=", "+", "-", "*", "/", "^", "(", ")", ",", "<", ">")
_COMPARISONS = frozenset({"<", "<=", ">", ">=", "==", "!="})
# Habits from other languages, answered with what to write instead.
_HINTS = {
    "**": "Use '^' for powers",
    "&&": "Use 'and'",
    "||": "Use 'or'",
    "=": "Use '==' to compare",
    "!": "Use 'not', or '!=' to compare",
    "&": "Use 'and'",
    "|": "Use 'or'",
    "%": "Percentages are plain numbers here: write 0.8 for 80%",
    "×": "Use '*' to multiply",
    "÷": "Use '/' to divide",
    "[": "Use parentheses to group",
    "{": "Use parentheses to group",
    '"': "Formulas work on numbers, not text",
    "'": "Formulas work on numbers, not text",
}


class _Token(NamedTuple):
    kind: str  # "number", "name", "operator" (keywords included) or "end"
    text: str
    position: int
    value: float = 0.0


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    index, length = 0, len(source)
    while index < length:
        character = source[index]
        if character.isspace():
            index += 1
        elif character in _DIGITS or (
            character == "." and index + 1 < length and source[index + 1] in _DIGITS
        ):
            token = _read_number(source, index)
            tokens.append(token)
            index += len(token.text)
        elif character in _NAME_START:
            end = index + 1
            while end < length and source[end] in _NAME_CHARACTERS:
                end += 1
            word = source[index:end].lower()
            kind = "operator" if word in KEYWORDS else "name"
            tokens.append(_Token(kind, word, index))
            index = end
        else:
            hint = _HINTS.get(source[index : index + 2])
            operator_text = next((op for op in _OPERATORS if source.startswith(op, index)), None)
            if hint is None and operator_text is None:
                hint = _HINTS.get(character)
            if hint is not None:
                raise FormulaError(hint, index)
            if operator_text is None:
                raise FormulaError(f"Unexpected character {_quote(character)}", index)
            tokens.append(_Token("operator", operator_text, index))
            index += len(operator_text)
    tokens.append(_Token("end", "", length))
    return tokens


def _read_number(source: str, start: int) -> _Token:
    end, length = start, len(source)
    while end < length and source[end] in _DIGITS:
        end += 1
    if end < length and source[end] == ".":
        end += 1
        while end < length and source[end] in _DIGITS:
            end += 1
    if end < length and source[end] in "eE":
        exponent = end + 1
        if exponent < length and source[exponent] in "+-":
            exponent += 1
        if exponent < length and source[exponent] in _DIGITS:
            while exponent < length and source[exponent] in _DIGITS:
                exponent += 1
            end = exponent
    if end < length and (source[end] in _NAME_CHARACTERS or source[end] == "."):
        tail = end
        while tail < length and (source[tail] in _NAME_CHARACTERS or source[tail] == "."):
            tail += 1
        message = f"Malformed number {_quote(source[start:tail])}"
        if source[end] in _NAME_START:
            message += f"; to multiply, write '{source[start:end]} * {source[end:tail]}'"
        raise FormulaError(message, start)
    text = source[start:end]
    value = float(text)
    if not math.isfinite(value):
        raise FormulaError(f"The number {_quote(_shorten(text))} is too large", start)
    return _Token("number", text, start, value)


def _quote(text: str) -> str:
    return f"'{text}'" if text.isprintable() else repr(text)


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- syntax tree -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Number:
    value: float
    start: int


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    start: int


@dataclass(frozen=True, slots=True)
class _Unary:
    operator: str  # "-" or "not"
    operand: _Node
    start: int


@dataclass(frozen=True, slots=True)
class _Binary:
    operator: str
    left: _Node
    right: _Node
    position: int  # of the operator

    @property
    def start(self) -> int:
        return self.left.start


@dataclass(frozen=True, slots=True)
class _Call:
    function: str
    arguments: tuple[_Node, ...]
    start: int


_Node = _Number | _Field | _Unary | _Binary | _Call


class _Parser:
    def __init__(self, source: str, known: frozenset[str] | None) -> None:
        self.source = source
        self.tokens = _tokenize(source)
        self.index = 0
        self.depth = 0
        self.node_count = 0
        self.known = known

    def parse(self) -> _Node:
        if self.peek().kind == "end":
            raise FormulaError("The formula is empty")
        node = self.expression()
        token = self.peek()
        if token.kind != "end":
            if token.text == ")":
                raise FormulaError("Unexpected ')': there is no '(' to close", token.position)
            raise self.expected_operator(token)
        return node

    # Tokens.

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def at(self, *texts: str) -> bool:
        token = self.tokens[self.index]
        return token.kind == "operator" and token.text in texts

    # Grammar, loosest binding first.

    def expression(self) -> _Node:
        left = self.conjunction()
        while self.at("or"):
            token = self.advance()
            left = self.binary(token, left, self.conjunction())
        return left

    def conjunction(self) -> _Node:
        left = self.negation()
        while self.at("and"):
            token = self.advance()
            left = self.binary(token, left, self.negation())
        return left

    def negation(self) -> _Node:
        if not self.at("not"):
            return self.comparison()
        token = self.advance()
        self.enter(token)
        operand = self.negation()
        self.depth -= 1
        return self.unary(token, "not", operand)

    def comparison(self) -> _Node:
        left = self.sum()
        if not self.at(*_COMPARISONS):
            return left
        token = self.advance()
        node = self.binary(token, left, self.sum())
        if self.at(*_COMPARISONS):
            raise FormulaError(
                "Comparisons cannot be chained: write 'a < b and b < c'", self.peek().position
            )
        return node

    def sum(self) -> _Node:
        left = self.product()
        while self.at("+", "-"):
            token = self.advance()
            left = self.binary(token, left, self.product())
        return left

    def product(self) -> _Node:
        left = self.signed()
        while self.at("*", "/"):
            token = self.advance()
            left = self.binary(token, left, self.signed())
        return left

    def signed(self) -> _Node:
        token = self.peek()
        self.enter(token)
        if self.at("-", "+"):
            self.advance()
            operand = self.signed()
            node = operand if token.text == "+" else self.unary(token, "-", operand)
        else:
            node = self.power()
        self.depth -= 1
        return node

    def power(self) -> _Node:
        base = self.atom()
        if not self.at("^"):
            return base
        token = self.advance()
        return self.binary(token, base, self.signed())

    def atom(self) -> _Node:
        token = self.peek()
        if token.kind == "number":
            self.advance()
            return self.count(_Number(token.value, token.position))
        if token.kind == "name":
            self.advance()
            if self.at("("):
                return self.call(token)
            return self.field(token)
        if self.at("("):
            self.advance()
            inner = self.expression()
            self.close(token, inner_of=None)
            return inner
        raise self.expected_value(token)

    def call(self, name: _Token) -> _Node:
        if name.text not in FUNCTIONS:
            message = f"Unknown function {_quote(name.text)}"
            raise FormulaError(message + _suggestion(name.text, FUNCTIONS), name.position)
        opening = self.advance()
        arguments: list[_Node] = []
        if self.at(")"):
            self.advance()
        else:
            while True:
                arguments.append(self.expression())
                if self.at(","):
                    self.advance()
                    continue
                self.close(opening, inner_of=name.text)
                break
        fewest, most, usage = FUNCTIONS[name.text]
        if len(arguments) < fewest or (most is not None and len(arguments) > most):
            if most is None:
                expected = f"at least {fewest} values"
            elif fewest == most:
                expected = f"exactly {fewest} value{'s' if fewest > 1 else ''}"
            else:
                expected = f"{fewest} or {most} values"
            raise FormulaError(
                f"{name.text}() takes {expected}, got {len(arguments)}: write {usage}",
                name.position,
            )
        return self.fold(self.count(_Call(name.text, tuple(arguments), name.position)))

    def field(self, token: _Token) -> _Node:
        if token.text in FUNCTIONS:
            usage = FUNCTIONS[token.text][2]
            raise FormulaError(f"{_quote(token.text)} is a function: write {usage}", token.position)
        if self.known is not None and token.text not in self.known:
            message = f"Unknown field {_quote(token.text)}"
            raise FormulaError(message + _suggestion(token.text, self.known), token.position)
        return self.count(_Field(token.text, token.position))

    def close(self, opening: _Token, *, inner_of: str | None) -> None:
        if self.at(")"):
            self.advance()
            return
        token = self.peek()
        what = f"'{inner_of}('" if inner_of else "'('"
        if token.kind == "end":
            raise FormulaError(
                f"Missing ')' to close the {what} at column {opening.position + 1}",
                token.position,
            )
        expected = "',' or ')'" if inner_of else "')'"
        previous = self.tokens[self.index - 1]
        raise FormulaError(
            f"Expected an operator or {expected} after {_quote(previous.text)}, "
            f"found {_describe_token(token)}",
            token.position,
        )

    # Errors.

    def expected_value(self, token: _Token) -> FormulaError:
        if self.index == 0:
            return FormulaError(f"Expected a value, found {_describe_token(token)}", token.position)
        message = f"Expected a value after {_quote(self.tokens[self.index - 1].text)}"
        if token.kind != "end":
            message += f", found {_describe_token(token)}"
        return FormulaError(message, token.position)

    def expected_operator(self, token: _Token) -> FormulaError:
        previous = self.tokens[self.index - 1]
        found = _describe_token(token)
        message = f"Expected an operator after {_quote(previous.text)}, found {found}"
        if previous.kind == "number" and (token.kind == "name" or token.text == "("):
            message += f"; to multiply, write '{previous.text} * {token.text}'"
        return FormulaError(message, token.position)

    # Nodes.

    def enter(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FormulaError(
                f"The formula is nested too deeply (at most {MAX_DEPTH} levels)", token.position
            )

    def count(self, node: _Node) -> _Node:
        self.node_count += 1
        if self.node_count > MAX_NODES:
            raise FormulaError(
                f"The formula is too long: at most {MAX_NODES} numbers, fields and operations",
                node.start,
            )
        return node

    def unary(self, token: _Token, operator_text: str, operand: _Node) -> _Node:
        return self.fold(self.count(_Unary(operator_text, operand, token.position)))

    def binary(self, token: _Token, left: _Node, right: _Node) -> _Node:
        if token.text == "/" and isinstance(right, _Number) and right.value == 0:
            raise FormulaError("Division by zero: the divisor is always 0", right.start)
        if token.text == "^" and isinstance(right, _Number) and abs(right.value) > MAX_EXPONENT:
            raise FormulaError(
                f"The exponent {_format(right.value)} is too large (at most {MAX_EXPONENT})",
                right.start,
            )
        return self.fold(self.count(_Binary(token.text, left, right, token.position)))

    def fold(self, node: _Node) -> _Node:
        """Replace a node whose inputs are all constant by its value, refusing an undefined one."""
        children = _children(node)
        if not all(isinstance(child, _Number) for child in children):
            return node
        try:
            value = _compile(node)({})
        except _Unknown as unknown:
            message = f"Cannot compute {_shorten(_render(node))}: {unknown.message}"
            raise FormulaError(message, node.start) from None
        return _Number(value, node.start)


def _describe_token(token: _Token) -> str:
    return "the end" if token.kind == "end" else _quote(token.text)


def _suggestion(name: str, known: Collection[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    return f"; did you mean {_quote(close[0])}?" if close else ""


def _children(node: _Node) -> tuple[_Node, ...]:
    if isinstance(node, _Unary):
        return (node.operand,)
    if isinstance(node, _Binary):
        return (node.left, node.right)
    if isinstance(node, _Call):
        return node.arguments
    return ()


def _field_names(node: _Node) -> frozenset[str]:
    if isinstance(node, _Field):
        return frozenset({node.name})
    return frozenset().union(*(_field_names(child) for child in _children(node)))


# --- rendering -------------------------------------------------------------------------------

# Binding strength, loosest first, as in the grammar.
_LEVEL = {"or": 1, "and": 2, "not": 3, "+": 5, "-": 5, "*": 6, "/": 6, "negate": 7, "^": 8}
_LEVEL.update(dict.fromkeys(_COMPARISONS, 4))
_ATOM = 9


def _level(node: _Node) -> int:
    if isinstance(node, _Binary):
        return _LEVEL[node.operator]
    if isinstance(node, _Unary):
        return _LEVEL["not" if node.operator == "not" else "negate"]
    if isinstance(node, _Number) and node.value < 0:
        return _LEVEL["negate"]
    return _ATOM


def _render(node: _Node) -> str:
    """Render with the fewest parentheses that parse back to the same tree."""
    if isinstance(node, _Number):
        return _format(node.value)
    if isinstance(node, _Field):
        return node.name
    if isinstance(node, _Call):
        return f"{node.function}({', '.join(_render(a) for a in node.arguments)})"
    if isinstance(node, _Unary):
        if node.operator == "not":
            return f"not {_wrap(node.operand, _level(node.operand) < _LEVEL['not'])}"
        operand_level = _level(node.operand)
        # "--x" would read as a typo: write -(-x).
        return "-" + _wrap(node.operand, operand_level <= _LEVEL["negate"])
    level = _LEVEL[node.operator]
    if node.operator == "^":
        left = _wrap(node.left, _level(node.left) <= level)
        right = _wrap(node.right, _level(node.right) < _LEVEL["negate"])
    elif level == _LEVEL["<"]:
        left = _wrap(node.left, _level(node.left) <= level)
        right = _wrap(node.right, _level(node.right) <= level)
    else:
        left = _wrap(node.left, _level(node.left) < level)
        right = _wrap(node.right, _level(node.right) <= level)
    return f"{left} {node.operator} {right}"


def _wrap(node: _Node, needed: bool) -> str:
    return f"({_render(node)})" if needed else _render(node)


def _format(value: float) -> str:
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


# --- evaluation ------------------------------------------------------------------------------

_Function = Callable[[Mapping[str, object]], float]


def _because(label: str, value: float, problem: str) -> str:
    if label == _format(value):
        return f"{problem} (got {label})"
    return f"{label} is {_format(value)}: {problem}"


def _compile(node: _Node) -> _Function:
    """Turn a tree into one closure; a finite float comes out, or _Unknown is raised."""
    if isinstance(node, _Number):
        constant = node.value
        return lambda values: constant
    if isinstance(node, _Field):
        return _load(node.name)
    if isinstance(node, _Unary):
        operand = _compile(node.operand)
        if node.operator == "not":
            return lambda values: 0.0 if operand(values) else 1.0
        return lambda values: -operand(values)
    if isinstance(node, _Binary):
        left, right = _compile(node.left), _compile(node.right)
        return _BINARY[node.operator](left, right, node)
    arguments = [_compile(argument) for argument in node.arguments]
    return _CALLS[node.function](arguments, node)


def _load(name: str) -> _Function:
    missing, not_a_number = f"{name} is missing", f"{name} is not a finite number"

    def load(values: Mapping[str, object]) -> float:
        value = values.get(name)
        if value is None:
            raise _Unknown(missing)
        if value.__class__ is not float:
            # ints, Decimals from the database, bools: anything float() accepts.
            try:
                value = float(value)  # type: ignore[arg-type]
            except (TypeError, ValueError, OverflowError):
                raise _Unknown(not_a_number) from None
        if value - value:  # inf - inf and nan - nan are nan, which is true: the cheapest test
            raise _Unknown(not_a_number)
        return value  # type: ignore[return-value]

    return load


def _arithmetic(combine: Callable[[float, float], float]) -> Callable[..., _Function]:
    def build(left: _Function, right: _Function, node: _Binary) -> _Function:
        too_large = f"{_shorten(_render(node))} is too large"

        def arithmetic(values: Mapping[str, object]) -> float:
            result = combine(left(values), right(values))
            if result - result:  # overflowed to inf (or nan)
                raise _Unknown(too_large)
            return result

        return arithmetic

    return build


def _divide(left: _Function, right: _Function, node: _Binary) -> _Function:
    divisor_label = _shorten(_render(node.right))
    too_large = f"{_shorten(_render(node))} is too large"

    def divide(values: Mapping[str, object]) -> float:
        numerator, divisor = left(values), right(values)
        if divisor == 0:
            raise _Unknown(_because(divisor_label, divisor, "division by zero"))
        result = numerator / divisor
        if result - result:
            raise _Unknown(too_large)
        return result

    return divide


def _power(left: _Function, right: _Function, node: _Binary) -> _Function:
    label = _shorten(_render(node))
    exponent_label = _shorten(_render(node.right))

    def power(values: Mapping[str, object]) -> float:
        base, exponent = left(values), right(values)
        if abs(exponent) > MAX_EXPONENT:
            problem = f"exponents are limited to {MAX_EXPONENT}"
            raise _Unknown(_because(exponent_label, exponent, problem))
        try:
            return math.pow(base, exponent)
        except OverflowError:
            raise _Unknown(f"{label} is too large") from None
        except ValueError:
            if base == 0:
                raise _Unknown(f"{label}: 0 to a negative power divides by zero") from None
            raise _Unknown(f"{label}: a negative number to a fractional power") from None

    return power


def _comparison(compare: Callable[[float, float], bool]) -> Callable[..., _Function]:
    def build(left: _Function, right: _Function, node: _Binary) -> _Function:
        return lambda values: 1.0 if compare(left(values), right(values)) else 0.0

    return build


def _and(left: _Function, right: _Function, node: _Binary) -> _Function:
    def conjunction(values: Mapping[str, object]) -> float:
        try:
            first = left(values)
        except _Unknown:
            # Unknown and false is false; unknown and true stays unknown.
            if not right(values):
                return 0.0
            raise
        if not first:
            return 0.0
        return 1.0 if right(values) else 0.0

    return conjunction


def _or(left: _Function, right: _Function, node: _Binary) -> _Function:
    def disjunction(values: Mapping[str, object]) -> float:
        try:
            first = left(values)
        except _Unknown:
            # Unknown or true is true; unknown or false stays unknown.
            if right(values):
                return 1.0
            raise
        if first:
            return 1.0
        return 1.0 if right(values) else 0.0

    return disjunction


_BINARY: dict[str, Callable[[_Function, _Function, _Binary], _Function]] = {
    "+": _arithmetic(operator.add),
    "-": _arithmetic(operator.sub),
    "*": _arithmetic(operator.mul),
    "/": _divide,
    "^": _power,
    "<": _comparison(operator.lt),
    "<=": _comparison(operator.le),
    ">": _comparison(operator.gt),
    ">=": _comparison(operator.ge),
    "==": _comparison(operator.eq),
    "!=": _comparison(operator.ne),
    "and": _and,
    "or": _or,
}


def _extreme(choose: Callable[[list[float]], float]) -> Callable[..., _Function]:
    def build(arguments: list[_Function], node: _Call) -> _Function:
        return lambda values: choose([argument(values) for argument in arguments])

    return build


def _logarithm(function: Callable[[float], float]) -> Callable[..., _Function]:
    def build(arguments: list[_Function], node: _Call) -> _Function:
        (argument,) = arguments
        label = _shorten(_render(node.arguments[0]))
        problem = f"{node.function} needs a number above 0"

        def logarithm(values: Mapping[str, object]) -> float:
            x = argument(values)
            if x <= 0:
                raise _Unknown(_because(label, x, problem))
            return function(x)

        return logarithm

    return build


def _sqrt(arguments: list[_Function], node: _Call) -> _Function:
    (argument,) = arguments
    label = _shorten(_render(node.arguments[0]))

    def square_root(values: Mapping[str, object]) -> float:
        x = argument(values)
        if x < 0:
            raise _Unknown(_because(label, x, "sqrt needs a number of at least 0"))
        return math.sqrt(x)

    return square_root


def _abs(arguments: list[_Function], node: _Call) -> _Function:
    (argument,) = arguments
    return lambda values: abs(argument(values))


# Half away from zero (2.5 -> 3), as people round, unlike Python's round-half-even; 800 digits
# hold any float exactly.
_ROUNDING = decimal.Context(prec=800, rounding=decimal.ROUND_HALF_UP)


def _round(arguments: list[_Function], node: _Call) -> _Function:
    number = arguments[0]
    digits = arguments[1] if len(arguments) == 2 else (lambda values: 0.0)
    too_large = f"{_shorten(_render(node))} is too large"
    digits_label = _shorten(_render(node.arguments[1])) if len(arguments) == 2 else ""

    def rounded(values: Mapping[str, object]) -> float:
        x, places = number(values), digits(values)
        if not places.is_integer():
            raise _Unknown(_because(digits_label, places, "round's digits must be a whole number"))
        # Beyond +-400 digits every float is already rounded (or rounds to 0).
        quantum = decimal.Decimal(1).scaleb(-int(max(-400.0, min(400.0, places))))
        try:
            result = float(decimal.Decimal(repr(x)).quantize(quantum, context=_ROUNDING))
        except decimal.InvalidOperation:
            raise _Unknown(too_large) from None
        if result - result:
            raise _Unknown(too_large)
        return result

    return rounded


def _if(arguments: list[_Function], node: _Call) -> _Function:
    condition, then, otherwise = arguments
    return lambda values: then(values) if condition(values) else otherwise(values)


def _coalesce(arguments: list[_Function], node: _Call) -> _Function:
    *candidates, last = arguments

    def coalesce(values: Mapping[str, object]) -> float:
        for candidate in candidates:
            try:
                return candidate(values)
            except _Unknown:
                pass
        return last(values)

    return coalesce


_CALLS: dict[str, Callable[[list[_Function], _Call], _Function]] = {
    "min": _extreme(min),
    "max": _extreme(max),
    "log": _logarithm(math.log),
    "log10": _logarithm(math.log10),
    "sqrt": _sqrt,
    "abs": _abs,
    "round": _round,
    "if": _if,
    "coalesce": _coalesce,
}


# --- the public face -------------------------------------------------------------------------


class Formula:
    """A parsed, validated, compiled formula. Build one with parse()."""

    __slots__ = ("_function", "_root", "names", "source")

    def __init__(self, source: str, root: _Node) -> None:
        self.source = source
        self.names: frozenset[str] = _field_names(root)
        self._root = root
        self._function = _compile(root)

    def __repr__(self) -> str:
        return f"Formula({self.source!r})"

    def describe(self) -> str:
        """The expression normalised: lower-case names, constants folded, spacing, parentheses."""
        return _render(self._root)

    def evaluate(self, values: Mapping[str, float | int | None]) -> float | None:
        """The score, or None when it cannot be known (a missing input, a division by zero...)."""
        try:
            return self._function(values)
        except _Unknown:
            return None

    def evaluate_explained(self, values: Mapping[str, float | int | None]) -> Evaluation:
        try:
            return Evaluation(self._function(values), None)
        except _Unknown as unknown:
            return Evaluation(None, unknown.message)

    def contributions(
        self, values: Mapping[str, float | int | None], baseline: Mapping[str, float]
    ) -> list[Contribution]:
        """How much each input moves the score away from what its baseline value would give.

        An effect is None when either score is unknown or the input has no baseline. Largest
        effects come first; for a sum of terms the effects add up to the score's distance from the
        all-baseline score.
        """
        score = self.evaluate(values)
        result = []
        for name in sorted(self.names):
            typical = baseline.get(name)
            effect = None
            if score is not None and typical is not None:
                other = self.evaluate({**values, name: typical})
                if other is not None and math.isfinite(score - other):
                    effect = score - other
            result.append(Contribution(name, values.get(name), typical, effect))
        result.sort(key=lambda c: (c.effect is None, -abs(c.effect or 0.0), c.name))
        return result


def parse(source: str, *, names: Collection[str] | None = None) -> Formula:
    """Parse and validate `source`; with `names`, any other field name is an error.

    Raises FormulaError, and nothing else, whatever the input.
    """
    if not isinstance(source, str):
        raise FormulaError("The formula must be text")
    if len(source) > MAX_SOURCE_LENGTH:
        raise FormulaError(
            f"The formula is too long ({len(source):,} characters; at most {MAX_SOURCE_LENGTH:,})",
            MAX_SOURCE_LENGTH,
        )
    known = None if names is None else frozenset(name.lower() for name in names)
    try:
        root = _Parser(source, known).parse()
    except RecursionError:
        # MAX_DEPTH keeps the parser far from Python's limit; a caller already deep in its own
        # stack could still hit it, and the contract is FormulaError only.
        raise FormulaError("The formula is nested too deeply") from None
    return Formula(source, root)


# --- the built-in frameworks -----------------------------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    """An input a framework asks for on each item; minimum and maximum are inclusive."""

    name: str
    label: str
    help: str
    minimum: float
    maximum: float | None
    default: float | None  # the form's initial value; None leaves it blank
    choices: tuple[tuple[float, str], ...] | None = None  # (value, label) pairs


@dataclass(frozen=True)
class Framework:
    key: str
    name: str
    source: str
    fields: tuple[FieldSpec, ...]

    @cached_property
    def formula(self) -> Formula:
        return parse(self.source, names=[field.name for field in self.fields])


def _one_to_ten(name: str, label: str, help_text: str) -> FieldSpec:
    return FieldSpec(name, label, help_text, 1, 10, 5)


_FIBONACCI = tuple((float(n), str(n)) for n in (1, 2, 3, 5, 8, 13, 20))


def _fibonacci(name: str, label: str, help_text: str) -> FieldSpec:
    return FieldSpec(name, label, help_text, 1, 20, None, _FIBONACCI)


FRAMEWORKS: Mapping[str, Framework] = {
    framework.key: framework
    for framework in (
        # Intercom's RICE (Sean McBride, 2016).
        Framework(
            "rice",
            "RICE",
            "reach * impact * confidence / effort",
            (
                FieldSpec(
                    "reach",
                    "Reach",
                    "People or events affected per quarter.",
                    0,
                    None,
                    None,
                ),
                FieldSpec(
                    "impact",
                    "Impact",
                    "How much it moves the goal for each person reached.",
                    0.25,
                    3,
                    1,
                    ((0.25, "Minimal"), (0.5, "Low"), (1, "Medium"), (2, "High"), (3, "Massive")),
                ),
                FieldSpec(
                    "confidence",
                    "Confidence",
                    "How sure the estimates are.",
                    0.5,
                    1,
                    0.8,
                    ((0.5, "50% (low)"), (0.8, "80% (medium)"), (1.0, "100% (high)")),
                ),
                FieldSpec(
                    "effort",
                    "Effort",
                    "Person-months of work; 0.5 for anything well under a month.",
                    0.1,
                    None,
                    None,
                ),
            ),
        ),
        Framework(
            "ice",
            "ICE",
            "impact * confidence * ease",
            (
                _one_to_ten("impact", "Impact", "How much it moves the goal, 1 to 10."),
                _one_to_ten("confidence", "Confidence", "How sure you are, 1 to 10."),
                _one_to_ten("ease", "Ease", "How easy it is to ship, 1 to 10."),
            ),
        ),
        # SAFe's Weighted Shortest Job First: cost of delay over job size.
        Framework(
            "wsjf",
            "WSJF",
            "(business_value + time_criticality + risk_reduction) / job_size",
            (
                _fibonacci("business_value", "Business value", "Value to users and business."),
                _fibonacci("time_criticality", "Time criticality", "How fast value decays."),
                _fibonacci(
                    "risk_reduction",
                    "Risk reduction / opportunity",
                    "Risk it removes or opportunity it opens.",
                ),
                _fibonacci("job_size", "Job size", "Relative size of the work."),
            ),
        ),
        Framework(
            "value_effort",
            "Value vs effort",
            "value / effort",
            (
                _one_to_ten("value", "Value", "Value to users and business, 1 to 10."),
                _one_to_ten("effort", "Effort", "Relative work, 1 to 10."),
            ),
        ),
    )
}

# Figures the app computes from the linked evidence, usable in any workspace formula.
DEMAND_NAMES: tuple[tuple[str, str], ...] = (
    ("evidence_count", "Linked feedback"),
    ("customer_count", "Customers asking"),
    ("company_count", "Companies asking"),
    ("arr", "ARR of the companies asking"),
    ("critical_count", "Requests marked critical"),
    ("important_count", "Requests marked important"),
)
