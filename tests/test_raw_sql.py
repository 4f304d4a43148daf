"""No raw SQL built from input: every SQL string handed to the database is a literal, or a reviewed
site on the list below whose variable parts are not user input.

The check parses the project's Python (tests excepted) and finds each call that takes SQL text:
`.execute(`, `.executemany(`, `.mogrify(`, `.copy_expert(`, `.raw(`, `.extra(`, `RawSQL(`,
`RunSQL(` and psycopg's `SQL(`. Its SQL argument passes when it is a string literal, literals
joined with `+`, or a name every assignment in reach binds to such a string. Anything else (an
f-string, `%`, `.format()`, `+` with a variable, a join, a function's result, a parameter passed
through) is a built statement: it must appear in BUILT with the number of such calls in that
function and why its variable parts cannot carry input. A new built site, or one more in a listed
function, fails until someone reviews it; a listed site that is gone fails too, so the list stays
true.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SKIPPED_DIRECTORIES = {"tests"}
SQL_METHODS = {"execute", "executemany", "mogrify", "copy", "copy_expert", "raw", "extra"}
SQL_CONSTRUCTORS = {"RawSQL", "RunSQL", "SQL"}
# The keywords through which these calls take SQL text (`extra` takes fragments in several).
SQL_KEYWORDS = {"sql", "query", "statement", "reverse_sql", "select", "where", "tables", "order_by"}

# "path::function": (built calls in it, why none of their variable parts can carry input).
BUILT: dict[str, tuple[int, str]] = {
    "pmhub/accounts/selectors.py::api_token_find_active": (
        1,
        "one statement written from the models' tables and columns; the token hash is a parameter",
    ),
    "pmhub/core/db.py::_read_together": (
        2,
        "statements Django compiled, each bound by psycopg's mogrify (its quoting), then joined",
    ),
    "pmhub/core/db.py::statement_rows": (
        1,
        "a statement Django compiled once per shape; request values are bound as parameters",
    ),
    "pmhub/workspaces/services.py::_workspace_rows_delete": (
        1,
        "the table name from the model registry, quoted by quote_name; the id is a parameter",
    ),
    "pmhub/digests/sender.py::_outcomes_write": (
        2,
        "module constants with the models' table names; every value is a parameter",
    ),
    "discovery/selectors.py::feedback_page": (
        1,
        "WHERE joins literal fragments (column names from a fixed tuple) with %s for each value",
    ),
    "discovery/selectors.py::feedback_row": (1, "the WHERE fragment is a literal"),
    "discovery/tagging.py::_write_batch": (
        4,
        "{column} is feedback_id or highlight_id, picked from the item kind; values are params",
    ),
    "backlog/listing.py::_tags_of": (1, "module constant with the models' table names"),
    "backlog/listing.py::_scores_of": (1, "module constant with the models' table names"),
    "backlog/board.py::board_columns": (
        1,
        "splices two querysets' compiled SQL into a literal; their parameters stay parameters",
    ),
    "backlog/services.py::item_demand_refresh": (
        1,
        "literals formatted once with the models' table names; every value is a parameter",
    ),
    "roadmap/selectors.py::_board_rows": (
        1,
        "compiled queryset SQL spliced into a literal, with integer column positions from code",
    ),
    # Benchmarks: run by hand against their own database, never on a request.
    "bench/_setup.py::django_setup": (1, "CREATE DATABASE named by the bench's own DATABASE_URL"),
    "bench/_setup.py::raw_floor.floor": (1, "replays statements Django ran, with their params"),
    "bench/_digests_load.py::_copy": (3, "table and column names passed by the loader's code"),
    "bench/digests.py::database_drop": (1, "DROP DATABASE named by the bench's DATABASE_URL"),
    "bench/load.py::database_admin": (2, "CREATE/DROP DATABASE named by the bench's DATABASE_URL"),
    "bench/discovery.py::_copy": (1, "table and column names passed by the loader's code"),
    "bench/discovery.py::load": (
        3,
        "index names and definitions read back from pg_indexes; table names from a literal tuple",
    ),
    "bench/backlog.py::load": (3, "table names from literal tuples; _links_sql() from constants"),
    "bench/backlog.py::links_doubling": (1, "_links_sql() is built from module constants"),
    "bench/roadmap.py::load": (1, "table names from a literal tuple"),
}


class _Scopes:
    """Names bound by assignment in each module and function, for following a name to its value."""

    def __init__(self, tree: ast.Module) -> None:
        self.bindings: dict[ast.AST, dict[str, list[ast.expr]]] = {}
        self._collect(tree)

    def _collect(self, scope: ast.AST) -> None:
        own: dict[str, list[ast.expr]] = {}
        self.bindings[scope] = own
        for node in _walk_within(scope):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        own.setdefault(target.id, []).append(node.value)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                if node.value is not None:
                    own.setdefault(node.target.id, []).append(node.value)
            elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
                # `sql += ...` makes the name as built as the expression `sql + ...`.
                own.setdefault(node.target.id, []).append(
                    ast.BinOp(left=node.target, op=node.op, right=node.value)
                )
            elif (
                isinstance(node, ast.For)
                and isinstance(node.target, ast.Name)
                and isinstance(node.iter, (ast.Tuple, ast.List))
            ):
                own.setdefault(node.target.id, []).extend(node.iter.elts)
            elif isinstance(node, (ast.For, ast.comprehension, ast.With, ast.withitem)):
                for target in _loop_targets(node):
                    own.setdefault(target, []).append(ast.Name(id="<bound by a loop>"))
        for node in _walk_within(scope):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                self._collect(node)
                for argument in _parameters(node):
                    self.bindings[node].setdefault(argument, []).append(ast.Name(id="<parameter>"))


def _walk_within(scope: ast.AST) -> Iterator[ast.AST]:
    """Every node of `scope` itself, stopping at (but yielding) nested functions."""
    pending = list(ast.iter_child_nodes(scope))
    while pending:
        node = pending.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            pending.extend(ast.iter_child_nodes(node))


def _loop_targets(node: ast.AST) -> list[str]:
    target = getattr(node, "target", None) or getattr(node, "optional_vars", None)
    if target is None:
        return []
    return [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]


def _parameters(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> list[str]:
    arguments = node.args
    every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
    every += [a for a in (arguments.vararg, arguments.kwarg) if a is not None]
    return [a.arg for a in every]


def _is_literal(node: ast.expr, chain: list[ast.AST], scopes: _Scopes, seen: set[int]) -> bool:
    """Whether `node` is SQL text fixed in the source: no value from outside can reach it."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return all(_is_literal(side, chain, scopes, seen) for side in (node.left, node.right))
    if isinstance(node, (ast.List, ast.Tuple)):
        return all(_is_literal(element, chain, scopes, seen) for element in node.elts)
    if isinstance(node, ast.Dict):
        return all(
            value is not None and _is_literal(value, chain, scopes, seen) for value in node.values
        )
    if isinstance(node, ast.Name) and id(node) not in seen:
        seen.add(id(node))
        for scope in reversed(chain):
            values = scopes.bindings[scope].get(node.id)
            if values:
                return all(_is_literal(value, chain, scopes, seen) for value in values)
        return False
    return False


def _sql_arguments(call: ast.Call) -> list[ast.expr]:
    name = _callee(call)
    if any(isinstance(argument, ast.Starred) for argument in call.args):
        return [call]  # Unpacked at run time: nothing here shows what the statement is.
    arguments = [k.value for k in call.keywords if k.arg in SQL_KEYWORDS]
    if call.args and name != "extra":
        arguments.insert(0, call.args[0])
    return arguments


def _callee(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Attribute):
        receiver = call.func.value
        if isinstance(receiver, ast.Name) and receiver.id == "copy":
            return None  # the standard library's copy.copy(), not psycopg's COPY
        return call.func.attr if call.func.attr in SQL_METHODS else None
    if isinstance(call.func, ast.Name):
        return call.func.id if call.func.id in SQL_CONSTRUCTORS else None
    return None


def _sources() -> Iterator[Path]:
    """The project's modules: top-level files and packages (a virtualenv, wherever it lies, is
    not a package), tests aside."""
    yield from sorted(ROOT.glob("*.py"))
    for package in sorted(p.parent for p in ROOT.glob("*/__init__.py")):
        if package.name not in SKIPPED_DIRECTORIES:
            yield from sorted(package.rglob("*.py"))


def _built_sites(path: Path, source: str) -> Iterator[tuple[str, int]]:
    """(function, line) of each SQL call in `source` whose SQL is not a literal."""
    tree = ast.parse(source)
    scopes = _Scopes(tree)
    relative = path.relative_to(ROOT).as_posix()

    def visit(node: ast.AST, chain: list[ast.AST], names: list[str]) -> Iterator[tuple[str, int]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield from visit(child, [*chain, child], [*names, child.name])
                continue
            if isinstance(child, ast.Lambda):
                yield from visit(child, [*chain, child], [*names, "<lambda>"])
                continue
            if isinstance(child, ast.ClassDef):
                yield from visit(child, chain, [*names, child.name])
                continue
            if isinstance(child, ast.Call) and _callee(child):
                arguments = _sql_arguments(child)
                if not all(_is_literal(a, chain, scopes, set()) for a in arguments):
                    yield f"{relative}::{'.'.join(names) or '<module>'}", child.lineno
            yield from visit(child, chain, names)

    yield from visit(tree, [tree], [])


def _all_built_sites() -> dict[str, list[int]]:
    sites: dict[str, list[int]] = {}
    for path in _sources():
        for where, line in _built_sites(path, path.read_text()):
            sites.setdefault(where, []).append(line)
    return sites


def test_every_built_sql_statement_is_reviewed():
    sites = _all_built_sites()
    found = Counter({where: len(lines) for where, lines in sites.items()})
    reviewed = Counter({where: count for where, (count, _) in BUILT.items()})

    unreviewed = {
        f"{where} (lines {sites[where]})": found[where] - reviewed[where]
        for where in found
        if found[where] > reviewed[where]
    }
    assert not unreviewed, (
        "SQL built at run time that nobody has reviewed: pass values as parameters (%s), or, "
        "when only identifiers vary and they come from code, add the site to BUILT with why: "
        f"{unreviewed}"
    )
    stale = {
        where: reviewed[where] - found[where]
        for where in reviewed
        if found[where] < reviewed[where]
    }
    assert not stale, f"BUILT lists sites that no longer build SQL; remove them: {stale}"


@pytest.mark.parametrize(
    ("source", "built"),
    [
        ("cursor.execute(f\"SELECT * FROM t WHERE name = '{name}'\")", True),
        ("cursor.execute(\"SELECT * FROM t WHERE name = '%s'\" % name)", True),
        ("cursor.execute(\"SELECT * FROM t WHERE name = '{}'\".format(name))", True),
        ('cursor.execute("SELECT * FROM t WHERE name = \'" + name + "\'")', True),
        ('Item.objects.raw(f"SELECT * FROM t WHERE id = {item_id}")', True),
        ("Item.objects.extra(where=[f\"title = '{title}'\"])", True),
        ('RawSQL("SELECT %s" % value, [])', True),
        ("def f(sql):\n    cursor.execute(sql)", True),
        ('sql = f"DELETE FROM {t}"\ncursor.execute(sql)', True),
        ('sql = "SELECT 1"\nsql += where\ncursor.execute(sql)', True),
        ("cursor.execute(*built)", True),
        ('cursor.execute("SELECT * FROM t WHERE name = %s", [name])', False),
        ('SQL_TEXT = "SELECT 1 " + "FROM t"\ndef f():\n    cursor.execute(SQL_TEXT)', False),
        ('Item.objects.extra(where=["title = %s"], params=[title])', False),
        ('RawSQL("SELECT count(*) FROM t WHERE id = %s", [value])', False),
        ("pipeline.execute()", False),
    ],
    ids=[
        "fstring_case",
        "percent_case",
        "format_case",
        "concatenation_case",
        "raw_case",
        "extra_case",
        "rawsql_case",
        "parameter_case",
        "assigned_fstring_case",
        "augmented_case",
        "unpacked_case",
        "parameterised_case",
        "module_constant_case",
        "extra_params_case",
        "rawsql_params_case",
        "no_sql_case",
    ],
)
def test_the_check_tells_built_sql_from_literals(source, built):
    sites = list(_built_sites(ROOT / "example.py", source))

    assert bool(sites) is built, sites
