"""Migrations: each can be undone or says why not, new ones keep big tables unlocked, and the whole
chain goes down to zero and back up on a scratch database.

The lock rules judge only migrations after BASELINE: the ones up to it have run on every database
already, so judging them would change nothing. A migration that breaks a
rule on purpose (a table known to stay small, say) declares `LOCK_SAFE_BECAUSE = "..."`; one that
cannot be undone declares `IRREVERSIBLE_BECAUSE = "..."`. README.md, "Operations › Migrations",
tells a developer how to write the safe forms.
"""

from __future__ import annotations

import ast
import inspect
import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import psycopg
import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.postgres.operations import (
    AddConstraintNotValid,
    AddIndexConcurrently,
    RemoveIndexConcurrently,
)
from django.db import connection, migrations, models
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.state import ProjectState
from django.db.models.functions import Now

ROOT = Path(__file__).resolve().parent.parent

# The newest migration of each app when the lock rules came in (issue 9); later ones are judged.
BASELINE = {
    "accounts": "0002_initial",
    "workspaces": "0001_initial",
    "digests": "0003_delivery_pending_in_id_order",
    "discovery": "0004_insight_validated_at",
    "backlog": "0005_evidence_recent",
    "roadmap": "0001_initial",
    "docs": "0001_initial",
}
WRITES = {"update", "delete", "bulk_update", "bulk_create", "save"}
ROUND_TRIP_BUDGET_S = 90

Node = tuple[str, str]


def _project_apps() -> set[str]:
    venv = ROOT / ".venv"
    return {
        config.label
        for config in apps.get_app_configs()
        if Path(config.path).is_relative_to(ROOT) and not Path(config.path).is_relative_to(venv)
    }


@pytest.fixture(scope="module")
def loader() -> MigrationLoader:
    return MigrationLoader(None, ignore_no_migrations=True)


def _project_nodes(loader: MigrationLoader) -> list[Node]:
    project = _project_apps()
    return sorted(node for node in loader.disk_migrations if node[0] in project)


def _module(migration: migrations.Migration) -> ModuleType:
    return sys.modules[type(migration).__module__]


def _declared(migration: migrations.Migration, name: str) -> str | None:
    reason = getattr(_module(migration), name, None)
    assert reason is None or (isinstance(reason, str) and reason.strip()), (
        f"{migration.app_label}.{migration.name}: {name} must be a sentence"
    )
    return reason


# Reversibility -------------------------------------------------------------------------------


def _irreversible(operations: list[migrations.operations.base.Operation]) -> list[str]:
    found = []
    for operation in operations:
        if isinstance(operation, migrations.SeparateDatabaseAndState):
            found += _irreversible(operation.database_operations)
        elif not operation.reversible:
            found.append(operation.describe())
    return found


def test_every_migration_is_reversible_or_says_why_not(loader):
    problems = []
    for node in _project_nodes(loader):
        migration = loader.disk_migrations[node]
        irreversible = _irreversible(migration.operations)
        reason = _declared(migration, "IRREVERSIBLE_BECAUSE")
        if irreversible and not reason:
            problems.append(f"{node}: cannot be undone ({'; '.join(irreversible)})")
        if reason and not irreversible:
            problems.append(f"{node}: IRREVERSIBLE_BECAUSE on a migration that can be undone")
    assert not problems, "\n".join(problems)


def test_the_check_sees_an_irreversible_operation():
    operations = [
        migrations.RunPython(migrations.RunPython.noop),
        migrations.RunSQL("SELECT 1"),
        migrations.SeparateDatabaseAndState(database_operations=[migrations.RunSQL("SELECT 2")]),
        migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop),
        migrations.RunSQL("SELECT 1", reverse_sql=migrations.RunSQL.noop),
    ]
    assert len(_irreversible(operations)) == 3


# Lock rules ----------------------------------------------------------------------------------


def _writes_outside_a_loop(function) -> list[str]:
    """Write calls (`.update(`, `.delete(`...) in `function` not inside a `for` or `while`.

    A batched backfill walks the table in slices of primary keys and writes each slice in its own
    statement; one `.update()` over the table holds its row locks until it ends.
    """
    if function is migrations.RunPython.noop:
        return []
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    found = []

    def visit(node: ast.AST, in_loop: bool) -> None:
        call = isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        if call and node.func.attr in WRITES and not in_loop:
            found.append(f".{node.func.attr}() at line {node.lineno} of {function.__name__}")
        for child in ast.iter_child_nodes(node):
            visit(child, in_loop or isinstance(node, ast.For | ast.While | ast.AsyncFor))

    visit(tree, False)
    return found


def lock_hazards(migration: migrations.Migration, state: ProjectState) -> list[str]:
    """What in `migration` would lock or rewrite a table that already exists in `state`."""
    app = migration.app_label
    editor = connection.schema_editor(collect_sql=True)
    hazards = []
    created = set()
    for operation in migration.operations:
        if isinstance(operation, migrations.CreateModel):
            created.add(operation.name_lower)
        model = getattr(operation, "model_name_lower", None)
        existing = (app, model) in state.models and model not in created
        if isinstance(operation, AddIndexConcurrently | RemoveIndexConcurrently):
            if migration.atomic:
                hazards.append(f"{operation.describe()}: needs `atomic = False` on the migration")
        elif isinstance(operation, migrations.AddIndex | migrations.RemoveIndex) and existing:
            hazards.append(
                f"{operation.describe()}: blocks writes while it runs; use "
                f"{type(operation).__name__}Concurrently in a migration with `atomic = False`"
            )
        elif isinstance(operation, AddConstraintNotValid):
            pass
        elif isinstance(operation, migrations.AddConstraint) and existing:
            hazards.append(
                f"{operation.describe()}: checks every row under an exclusive lock; a check "
                "constraint goes in with AddConstraintNotValid, then ValidateConstraint"
            )
        elif isinstance(operation, migrations.AlterUniqueTogether) and existing:
            hazards.append(f"{operation.describe()}: builds a unique index under lock")
        elif isinstance(operation, migrations.AddField) and existing:
            hazards += _add_field_hazards(operation)
        elif isinstance(operation, migrations.AlterField) and existing:
            old, new = (
                state.models[app, model].fields[operation.name].clone(),
                operation.field.clone(),
            )
            old.set_attributes_from_name(operation.name)
            new.set_attributes_from_name(operation.name)
            if editor._field_should_be_altered(old, new):
                hazards.append(
                    f"{operation.describe()}: changes the column (a new type rewrites the table, "
                    "NOT NULL scans it, an index is built under lock)"
                )
        elif isinstance(operation, migrations.RunPython):
            writes = _writes_outside_a_loop(operation.code)
            if writes:
                hazards.append(f"{operation.describe()}: unbatched writes: {', '.join(writes)}")
            if operation.code is not migrations.RunPython.noop and (
                operation.atomic or (migration.atomic and operation.atomic is not False)
            ):
                hazards.append(
                    f"{operation.describe()}: one transaction holds every batch's locks; "
                    "put it in a migration with `atomic = False`"
                )
        elif isinstance(operation, migrations.RunSQL):
            hazards += _sql_hazards(operation)
        operation.state_forwards(app, state)
    return hazards


def _add_field_hazards(operation: migrations.AddField) -> list[str]:
    # A constant default (PostgreSQL 11+) or a NULL column is a catalogue change, whatever the
    # table's size; what touches every row is an index, a foreign key, or a volatile default.
    field = operation.field
    hazards = []
    foreign_key = field.remote_field is not None and field.db_constraint
    if field.db_index or field.unique or foreign_key:
        hazards.append(
            f"{operation.describe()}: builds an index or checks a foreign key under lock; add "
            "the column with db_index=False (and db_constraint=False), then AddIndexConcurrently"
        )
    db_default = field.db_default
    if hasattr(db_default, "resolve_expression") and not isinstance(db_default, models.Value | Now):
        hazards.append(f"{operation.describe()}: an expression as db_default rewrites the table")
    return hazards


def _sql_hazards(operation: migrations.RunSQL) -> list[str]:
    sql = operation.sql if isinstance(operation.sql, str) else " ".join(map(str, operation.sql))
    words = sql.upper().split()
    hazards = []
    if "UPDATE" in words or ("DELETE" in words and "FROM" in words):
        hazards.append(f"{operation.describe()}: a whole-table UPDATE/DELETE; batch it")
    if "INDEX" in words and "CREATE" in words and "CONCURRENTLY" not in words:
        hazards.append(f"{operation.describe()}: CREATE INDEX without CONCURRENTLY")
    return hazards


def _judged(loader: MigrationLoader) -> list[Node]:
    before = set()
    for app, name in BASELINE.items():
        before.update(loader.graph.forwards_plan((app, name)))
    return [node for node in _project_nodes(loader) if node not in before]


def test_the_baseline_names_real_migrations(loader):
    missing = [(app, name) for app, name in BASELINE.items() if (app, name) not in loader.graph]
    assert not missing, f"BASELINE names migrations that do not exist: {missing}"


def test_migrations_after_the_baseline_keep_big_tables_unlocked(loader):
    problems = []
    for node in _judged(loader):
        migration = loader.disk_migrations[node]
        if _declared(migration, "LOCK_SAFE_BECAUSE"):
            continue
        state = loader.project_state(node, at_end=False)
        problems += [f"{node}: {hazard}" for hazard in lock_hazards(migration, state)]
    assert not problems, "\n".join(problems)


def _backfill_in_one_statement(apps, schema_editor):
    apps.get_model("discovery", "Feedback").objects.update(status="new")


def _backfill_in_batches(apps, schema_editor):
    feedback = apps.get_model("discovery", "Feedback").objects.order_by("pk")
    last = 0
    while ids := list(feedback.filter(pk__gt=last).values_list("pk", flat=True)[:1000]):
        feedback.filter(pk__in=ids).update(status="new")
        last = ids[-1]


def _migration(*operations, atomic: bool = True) -> migrations.Migration:
    migration = migrations.Migration("9999_probe", "discovery")
    migration.operations = list(operations)
    migration.atomic = atomic
    return migration


def test_the_lock_rules_flag_the_unsafe_forms_and_pass_the_safe_ones(loader):
    current = loader.project_state()
    index = models.Index(fields=["workspace", "source"], name="feedback_probe")
    unsafe = [
        _migration(migrations.AddIndex("feedback", index)),
        _migration(migrations.RemoveIndex("feedback", "feedback_recent")),
        _migration(AddIndexConcurrently("feedback", index)),
        _migration(
            migrations.AddConstraint(
                "feedback", models.CheckConstraint(condition=~models.Q(text=""), name="probe")
            )
        ),
        _migration(migrations.AddField("feedback", "probe", models.CharField(db_index=True))),
        _migration(
            migrations.AddField(
                "feedback", "probe", models.ForeignKey("discovery.Company", models.CASCADE)
            )
        ),
        _migration(migrations.AlterField("feedback", "external_id", models.TextField(blank=True))),
        _migration(migrations.RunPython(_backfill_in_one_statement), atomic=False),
        _migration(migrations.RunPython(_backfill_in_batches)),
        _migration(migrations.RunSQL("UPDATE discovery_feedback SET status = 'new'")),
        _migration(migrations.RunSQL("CREATE INDEX probe ON discovery_feedback (source)")),
    ]
    for migration in unsafe:
        assert len(lock_hazards(migration, current.clone())) == 1, migration.operations
    safe = [
        _migration(AddIndexConcurrently("feedback", index), atomic=False),
        _migration(
            AddConstraintNotValid(
                "feedback", models.CheckConstraint(condition=~models.Q(text=""), name="probe")
            )
        ),
        _migration(
            migrations.AddField("feedback", "probe", models.BooleanField(default=False)),
            migrations.AddField("feedback", "seen", models.DateTimeField(db_default=Now())),
        ),
        _migration(migrations.RunPython(_backfill_in_batches), atomic=False),
        _migration(
            migrations.AddField(
                "feedback",
                "probe",
                models.ForeignKey(
                    "discovery.Company", models.CASCADE, db_index=False, db_constraint=False
                ),
            )
        ),
        # A table created in the same migration is empty: its indexes cost nothing.
        _migration(
            migrations.CreateModel("Probe", [("id", models.BigAutoField(primary_key=True))]),
            migrations.AddIndex("probe", models.Index(fields=["id"], name="probe_id")),
        ),
    ]
    for migration in safe:
        assert lock_hazards(migration, current.clone()) == [], migration.operations


# Round trip ----------------------------------------------------------------------------------

ROUND_TRIP = """
import json, sys, time
import django
django.setup()
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader

SCHEMA = '''
SELECT 'column', table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable
       || ' ' || coalesce(column_default, '')
  FROM information_schema.columns WHERE table_schema = 'public'
UNION ALL SELECT 'index', indexdef FROM pg_indexes WHERE schemaname = 'public'
UNION ALL SELECT 'constraint', conrelid::regclass || ' ' || pg_get_constraintdef(oid)
  FROM pg_constraint WHERE connamespace = 'public'::regnamespace
ORDER BY 1, 2
'''

def schema():
    with connection.cursor() as cursor:
        cursor.execute(SCHEMA)
        return cursor.fetchall()

def timed(step):
    started = time.monotonic()
    step()
    return round(time.monotonic() - started, 1)

def migrate_to(targets):
    # One plan for every app: a `migrate APP zero` per app rebuilds the project state each time.
    MigrationExecutor(connection).migrate(targets)

loader = MigrationLoader(None, ignore_no_migrations=True)
irreversible = [
    node for node, migration in loader.disk_migrations.items()
    if getattr(sys.modules[type(migration).__module__], "IRREVERSIBLE_BECAUSE", None)
]
# What cannot be undone stays applied, and so does everything it depends on.
keep = {ancestor for node in irreversible for ancestor in loader.graph.forwards_plan(node)}
order = []
for leaf in loader.graph.leaf_nodes():
    for app, _ in loader.graph.forwards_plan(leaf):
        if app not in order:
            order.append(app)
bottom = []
for app in reversed(order):
    kept = sorted(name for label, name in keep if label == app)
    bottom.append((app, kept[-1] if kept else None))

result = {"forward_s": timed(lambda: call_command("migrate", verbosity=0))}
first = schema()
result["backward_s"] = timed(lambda: migrate_to(bottom))
with connection.cursor() as cursor:
    cursor.execute("SELECT app, name FROM django_migrations ORDER BY id")
    result["left_applied"] = [list(row) for row in cursor.fetchall() if tuple(row) not in keep]
    cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    result["left_tables"] = sorted(row[0] for row in cursor.fetchall())
result["kept"] = sorted(keep)
result["again_s"] = timed(lambda: migrate_to(loader.graph.leaf_nodes()))
result["same_schema"] = schema() == first
print(json.dumps(result))
"""


@pytest.fixture
def scratch_database_url() -> Iterator[str]:
    params = settings.DATABASES["default"]
    name = f"pmhub_migrations_{os.getpid()}"
    server = {
        "host": params["HOST"] or "127.0.0.1",
        "port": params["PORT"] or 5432,
        "user": params["USER"],
        "password": params["PASSWORD"] or None,
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    password = f":{server['password']}" if server["password"] else ""
    yield f"postgres://{server['user']}{password}@{server['host']}:{server['port']}/{name}"
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.slow
def test_every_app_migrates_down_to_zero_and_up_again(scratch_database_url):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "pmhub.settings.test",
        "DATABASE_URL": scratch_database_url,
        "PYTHONPATH": str(ROOT),
    }
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-c", ROUND_TRIP],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=ROUND_TRIP_BUDGET_S * 2,
    )
    elapsed = time.monotonic() - started
    assert run.returncode == 0, run.stdout + run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    print(f"migrations round trip: {elapsed:.1f} s {result}")
    assert result["left_applied"] == []
    assert result["left_tables"] == ["django_migrations"] or result["kept"]
    assert result["same_schema"], "down and up again gave a different schema"
    assert elapsed < ROUND_TRIP_BUDGET_S
