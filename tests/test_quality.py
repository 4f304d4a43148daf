"""Checks CI enforces on the code itself: lint, migrations, deploy checks, tenancy lint, CSP."""

from __future__ import annotations

import ast
import os
import re
import secrets
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from django.apps import apps
from packaging.requirements import Requirement

from pmhub.workspaces.models import WorkspaceOwnedModel

ROOT = Path(__file__).resolve().parent.parent
APP_DIRS = [ROOT / "pmhub", ROOT / "discovery", ROOT / "backlog", ROOT / "roadmap", ROOT / "docs"]
SCOPED_MODULES = re.compile(r"(views|services|selectors|tasks)\.py$|/api/[^/]+\.py$")
UNSCOPED_READS = {
    "get",
    "filter",
    "exclude",
    "all",
    "first",
    "last",
    "count",
    "exists",
    "update",
    "delete",
    "values",
    "values_list",
    "in_bulk",
    "get_or_create",
    "update_or_create",
    "select_related",
    "prefetch_related",
    "order_by",
}


def _run(*command: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)


def test_ruff_lint_is_clean():
    result = _run(sys.executable, "-m", "ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean():
    result = _run(sys.executable, "-m", "ruff", "format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_models_and_migrations_agree():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "pmhub.settings.test"}
    result = _run(sys.executable, "manage.py", "makemigrations", "--check", "--dry-run", env=env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_deploy_checks_are_clean_under_production_settings():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "pmhub.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "pmhub.example.com",
        "PMHUB_BASE_URL": "https://pmhub.example.com",
    }
    for name in ("DEBUG", "PMHUB_HTTPS", "DJANGO_ALLOW_ASYNC_UNSAFE"):
        env.pop(name, None)
    result = _run(
        sys.executable, "manage.py", "check", "--deploy", "--fail-level", "DEBUG", env=env
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "pmhub.settings.production"}
    env.pop("SECRET_KEY", None)
    result = _run(sys.executable, "manage.py", "check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def _workspace_model_names() -> set[str]:
    return {m.__name__ for m in apps.get_models() if issubclass(m, WorkspaceOwnedModel)}


def _chain_root(node: ast.AST) -> tuple[str, str] | None:
    """For `Model.objects.<method>(...)` return (Model, method)."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return None
    manager = node.func.value
    if (
        isinstance(manager, ast.Attribute)
        and manager.attr == "objects"
        and isinstance(manager.value, ast.Name)
    ):
        return manager.value.id, node.func.attr
    return None


def test_every_query_on_workspace_data_starts_from_for_workspace_or_unscoped():
    scoped = _workspace_model_names()
    offenders = []
    for folder in APP_DIRS:
        for path in folder.rglob("*.py"):
            relative = path.relative_to(ROOT).as_posix()
            if "migrations" in relative or not SCOPED_MODULES.search(relative):
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                root = _chain_root(node)
                if root and root[0] in scoped and root[1] in UNSCOPED_READS:
                    offenders.append(f"{relative}:{node.lineno} {root[0]}.objects.{root[1]}(")
    assert offenders == [], "start these queries with for_workspace(...) or unscoped(): " + str(
        offenders
    )


def test_unscoped_queries_say_why():
    missing = []
    for folder in APP_DIRS:
        for path in folder.rglob("*.py"):
            lines = path.read_text().splitlines()
            for number, line in enumerate(lines):
                if ".unscoped()" in line and "def unscoped" not in line:
                    context = "\n".join(lines[max(0, number - 4) : number + 1])
                    if "# cross-workspace:" not in context:
                        missing.append(f"{path.relative_to(ROOT)}:{number + 1}")
    assert missing == []


def test_nothing_scopes_by_excluding_a_workspace():
    hits = [
        str(path.relative_to(ROOT))
        for folder in APP_DIRS
        for path in folder.rglob("*.py")
        if re.search(r"\.exclude\(\s*workspace", path.read_text())
    ]
    assert hits == []


def _templates() -> list[Path]:
    return [p for p in (ROOT / "templates").rglob("*.html") if "emails" not in p.parts]


def test_templates_carry_no_inline_script_style_or_handlers():
    # The Content-Security-Policy forbids them; they would silently not run.
    problems = []
    for path in _templates():
        text = path.read_text()
        for pattern, what in (
            (r"<script(?![^>]*\bsrc=)[^>]*>", "inline <script>"),
            (r"\sstyle=\"", "style attribute"),
            (r"<style", "<style> element"),
            (r"\son[a-z]+=", "event handler attribute"),
        ):
            if re.search(pattern, text):
                problems.append(f"{path.relative_to(ROOT)}: {what}")
    assert problems == []


def test_no_asset_is_loaded_from_the_internet():
    pattern = re.compile(r"""(src|href)=["']https?://""")
    problems = [str(p.relative_to(ROOT)) for p in _templates() if pattern.search(p.read_text())]
    assert problems == []


def test_every_dependency_is_pinned_within_its_range():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = [Requirement(r) for r in project["dependencies"]]
    for extra in project["optional-dependencies"].values():
        requirements += [Requirement(r) for r in extra]
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.strip().lower().replace("_", "-")] = version.strip()
    problems = []
    for requirement in requirements:
        name = requirement.name.lower().replace("_", "-")
        if name not in pins:
            problems.append(f"{name} is not pinned")
        elif not requirement.specifier.contains(pins[name], prereleases=True):
            problems.append(f"{name}=={pins[name]} is outside {requirement.specifier}")
    assert problems == []


@pytest.mark.parametrize("module", ["pmhub.dev"])
def test_the_quick_start_entry_needs_only_the_standard_library(module):
    source = (ROOT / (module.replace(".", "/") + ".py")).read_text()
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in (
            node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")]
        )
    }
    assert imported <= set(sys.stdlib_module_names) | {"__future__", "pmhub"}


def test_every_post_form_in_the_templates_carries_the_csrf_token():
    form = re.compile(r"<form\b[^>]*method=\"post\"[^>]*>(.*?)</form>", re.DOTALL | re.IGNORECASE)
    missing = [
        f"{path.relative_to(ROOT)}: form at offset {match.start()}"
        for path in (ROOT / "templates").rglob("*.html")
        for match in form.finditer(path.read_text())
        if "{% csrf_token %}" not in match.group(1)
    ]
    assert missing == []
