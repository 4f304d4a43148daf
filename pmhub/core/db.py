"""Reading from PostgreSQL with less of the ORM's per-request cost: several querysets in one
round trip, and statements compiled once per shape with a request's values bound later."""

from __future__ import annotations

import copy
import secrets
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connections
from django.db.models import QuerySet
from psycopg.types.numeric import Int2, Int4, Int8


def querysets_read_together(*querysets: QuerySet[Any]) -> list[list[Any]]:
    """Each queryset's results, as list(queryset) gives them, in one round trip to PostgreSQL.

    A page's small reads (its filters' choices, its saved views) cost a round trip each, ~0.4
    ms apiece. psycopg's client-side cursor (Django's default) sends several statements as one
    simple query and hands back a result set for each; each set then goes through the ORM's own
    rows-to-objects code (converters, select_related) as if its queryset had read it. Elsewhere
    (server-side binding, another database) each queryset reads on its own."""
    reads = []
    try:
        for queryset in querysets:
            compiler = queryset.query.get_compiler(using=queryset.db)
            reads.append((queryset, compiler, *compiler.as_sql()))
    except EmptyResultSet:  # a filter that matches nothing: no statement to send
        return [list(queryset) for queryset in querysets]
    return _read_together(reads, lambda: [list(queryset) for queryset in querysets])


def _read_together(
    reads: list[tuple[QuerySet[Any], Any, str, Sequence[Any]]],
    each_on_its_own: Callable[[], list[list[Any]]],
) -> list[list[Any]]:
    """The results of (queryset, its compiler after as_sql(), SQL, parameters), in one round
    trip where the connection can send them so (else `each_on_its_own()`)."""
    connection = connections[reads[0][0].db]
    with connection.cursor() as cursor:
        raw = cursor.cursor
        if connection.vendor != "postgresql" or not hasattr(raw, "mogrify"):
            return each_on_its_own()
        cursor.execute(";\n".join(raw.mogrify(sql, params) for _, _, sql, params in reads))
        result_sets = [cursor.fetchall()]
        while raw.nextset():
            result_sets.append(cursor.fetchall())
    results = []
    for (queryset, compiler, _, _), rows in zip(reads, result_sets, strict=True):
        # The compiler as_sql() set up, answering with the rows already read.
        compiler.execute_sql = lambda *args, rows=rows, **kwargs: [rows]
        queryset.query.get_compiler = lambda *args, compiler=compiler, **kwargs: compiler
        results.append(list(queryset))
    return results


@dataclass(frozen=True)
class _Reads:
    # Built and compiled with stand-ins; each call reads through copies of them.
    querysets: tuple[QuerySet[Any], ...]
    compilers: tuple[Any, ...]
    statements: tuple[Statement, ...]


def querysets_read_together_compiled(
    shape: Hashable,
    build: Callable[[dict[str, Any]], Sequence[QuerySet[Any]]],
    values: dict[str, Any],
) -> list[list[Any]]:
    """querysets_read_together(*build(values)), its querysets compiled once per `shape` with
    stand-ins where `values` go and bound on each call: compiling a page's half-dozen small
    reads cost ~2 ms a request, several times what PostgreSQL takes to answer them."""
    reads = _READS.get(shape, lambda: _reads_compiled(build, values))
    if reads is None:
        return querysets_read_together(*build(values))
    bound = []
    for queryset, compiler, statement in zip(
        reads.querysets, reads.compilers, reads.statements, strict=True
    ):
        own = copy.copy(compiler)
        own.connection = connections[queryset.db]
        params = [bind(p, values) if isinstance(p, Bound) else p for p in statement.params]
        bound.append((queryset._chain(), own, statement.sql, params))
    return _read_together(bound, lambda: querysets_read_together(*build(values)))


def _reads_compiled(
    build: Callable[[dict[str, Any]], Sequence[QuerySet[Any]]], values: dict[str, Any]
) -> _Reads | None:
    stand_ins = {name: stand_in(value) for name, value in values.items()}
    if any(v is None for v in stand_ins.values()):
        return None
    querysets = tuple(build(stand_ins))
    compilers, statements = [], []
    for queryset in querysets:
        compiler = queryset.query.get_compiler(using=queryset.db)
        try:
            sql, params = compiler.as_sql()
        except (EmptyResultSet, FullResultSet):
            return None
        compilers.append(compiler)
        statements.append(Statement(sql, tuple(place(p, stand_ins) for p in params), ()))
    placed = {p.name for s in statements for p in s.params if isinstance(p, Bound)}
    if placed != set(values):
        return None
    return _Reads(querysets, tuple(compilers), tuple(statements))


# Building and compiling a queryset can cost more per request than PostgreSQL takes to run it.
# When a statement's SQL depends only on its shape (filters, sort, page size...) and the
# request's own values (a workspace id, a cursor) are only its parameters, each shape is
# compiled once, with stand-in values in those places, and later requests bind the real ones.
@dataclass(frozen=True)
class Bound:
    """Where a request's value goes in a compiled statement's parameters."""

    name: str
    # The type the ORM wrapped the value in (psycopg's Int4 for some integer columns), or None.
    wrap: type | None = None


@dataclass(frozen=True)
class Statement:
    sql: str
    params: tuple[Any, ...]  # constants, and Bound places
    names: tuple[str, ...]  # of the row's columns


# What a statement builder gives for the stand-in values: its SQL, its parameters and the names
# of its columns; None when it cannot be compiled (the caller then reads through the ORM).
Built = tuple[str, Sequence[Any], Sequence[str]] | None
_UNCOMPILED = object()
T = TypeVar("T")


class CompiledStatements:
    """Statements compiled once per shape (the newest `kept` shapes), each value of a request
    bound in its place."""

    def __init__(self, kept: int = 512) -> None:
        self.kept = kept
        self._statements: OrderedDict[Hashable, Any] = OrderedDict()

    def items(self) -> Any:
        return self._statements.items()

    def clear(self) -> None:
        self._statements.clear()

    def get(self, shape: Hashable, compile: Callable[[], T | None]) -> T | None:
        """The statement of `shape`, made by `compile` on its first use; None when it cannot
        be compiled (a value's place not found, a part the ORM knows matches nothing)."""
        statement = self._statements.get(shape, _UNCOMPILED)
        if statement is _UNCOMPILED:
            statement = compile()
            self._statements[shape] = statement
            if len(self._statements) > self.kept:
                self._statements.popitem(last=False)
        return statement  # type: ignore[return-value]


_READS: CompiledStatements = CompiledStatements(kept=256)


def statement_rows(
    statement: Statement, values: dict[str, Any], using: str = "default"
) -> list[tuple[Any, ...]]:
    """The rows of a compiled statement with `values` bound."""
    params = [bind(p, values) if isinstance(p, Bound) else p for p in statement.params]
    with connections[using].cursor() as cursor:
        cursor.execute(statement.sql, params)
        return cursor.fetchall()


def compile_statement(
    build: Callable[[dict[str, Any]], Built], values: dict[str, Any]
) -> Statement | None:
    """The statement `build` gives, with each value's place found by identity: each value is
    replaced by a stand-in object of its type that only this call holds. None when a place
    cannot be found (the ORM converted the value) or `build` gives None."""
    stand_ins = {name: stand_in(value) for name, value in values.items()}
    if any(v is None for v in stand_ins.values()):
        return None
    built = build(stand_ins)
    if built is None:
        return None
    sql, params, names = built
    bound = tuple(place(p, stand_ins) for p in params)
    if {p.name for p in bound if isinstance(p, Bound)} != set(values):
        return None
    return Statement(sql=sql, params=bound, names=tuple(names))


def queryset_statement(qs: QuerySet[Any]) -> Built:
    """A values() or values_list() queryset's SQL, parameters and column names; None when the
    ORM knows it matches nothing (or everything) or its rows need converting."""
    compiler = qs.query.get_compiler(qs.db)
    try:
        sql, params = compiler.as_sql()
    except (EmptyResultSet, FullResultSet):
        return None
    if compiler.get_converters([col for col, _, _ in compiler.select]):
        return None
    query = qs.query
    names = (
        list(query.selected)
        if query.selected
        else [*query.extra_select, *query.values_select, *query.annotation_select]
    )
    return sql, params, names


def place(param: Any, stand_ins: dict[str, Any]) -> Any:
    """`param` as a Bound place when it is a stand-in (itself, or wrapped in a numeric type
    of psycopg's, compared by value: stand-ins are random, so no constant equals one)."""
    for name, value in stand_ins.items():
        if param is value:
            return Bound(name)
        if type(param) in _WRAPPERS and type(value) is int and int(param) == value:
            return Bound(name, type(param))
    return param


def bind(place: Bound, values: dict[str, Any]) -> Any:
    value = values[place.name]
    return place.wrap(value) if place.wrap is not None else value


_WRAPPERS = (Int2, Int4, Int8)


def stand_in(value: Any) -> Any:
    """A new object equal in type to `value` and held by no one else (None for other types)."""
    if type(value) is int:
        # Positive and within 32 bits: the ORM turns a value outside a column's range into
        # an empty or full condition instead of a parameter.
        return int(str(2_000_000_000 + secrets.randbelow(10**6)))
    if type(value) is float:
        return float(f"-9876543.{secrets.randbelow(10**6) + 1}")
    if type(value) is str:
        return f"\x00stand-in {secrets.token_hex(8)}"
    return None
