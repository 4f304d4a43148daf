"""docker-compose.yml, compose.env, the Dockerfile and .dockerignore agree with the project.

There is no Docker engine on the machines that run these tests, so the files are parsed and
every command, module, variable and path they name is checked against the code.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_FILE = ROOT / "compose.env"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

SERVICES = {"postgres", "redis", "web", "worker", "beat", "mailpit"}
APP_SERVICES = ("web", "worker", "beat")
# Files where the project reads its environment: the settings, and the entry points that pick
# the settings module.
SETTINGS_SOURCES = [
    *sorted((ROOT / "pmhub" / "settings").glob("*.py")),
    ROOT / "pmhub" / "env.py",
]
ENTRY_POINTS = [ROOT / "manage.py", ROOT / "pmhub" / "wsgi.py", ROOT / "pmhub" / "celery.py"]
VENV_BIN = Path(sys.executable).parent


# --- reading the files -----------------------------------------------------------------------
@cache
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def service(name: str) -> dict[str, Any]:
    return compose()["services"][name]


@cache
def env_file() -> dict[str, str]:
    """compose.env as compose reads it: KEY=VALUE lines, `#` comments, values taken literally."""
    values = {}
    for line in ENV_FILE.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        assert sep, f"compose.env: not KEY=VALUE: {line!r}"
        values[name.strip()] = value
    return values


def interpolate(value: str) -> str:
    """Compose's `${NAME:-default}` with nothing set: the default."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


def shell_commands(command: list[str] | str) -> list[list[str]]:
    """The simple commands a compose `command`/healthcheck runs, unwrapping `sh -c` and `&&`."""
    if isinstance(command, str):
        command = shlex.split(command)
    if command[0] == "CMD-SHELL" or command[:2] == ["sh", "-c"]:
        script = command[-1].replace("$$", "$")
        parts = re.split(r"&&|;|\|\|", script)
        return [_strip_exec(shlex.split(part)) for part in parts if part.strip()]
    if command[0] == "CMD":
        command = command[1:]
    return [_strip_exec(list(command))]


def _strip_exec(argv: list[str]) -> list[str]:
    return argv[1:] if argv and argv[0] == "exec" else argv


def app_commands(name: str) -> list[list[str]]:
    svc = service(name)
    return shell_commands(svc["command"]) + shell_commands(svc["healthcheck"]["test"])


def option_value(argv: list[str], *names: str) -> str:
    for index, token in enumerate(argv):
        if token in names:
            return argv[index + 1]
        for name in names:
            if name.startswith("--") and token.startswith(f"{name}="):
                return token.split("=", 1)[1]
    raise AssertionError(f"none of {names} in {argv}")


def positional_arguments(argv: list[str]) -> list[str]:
    """Arguments after the program that are neither options nor option values.

    Every option is taken to have a value (`--bind ADDRESS`, `-A APP`), as in the compose file;
    a bare flag before a positional argument would hide that argument and fail the tests.
    """
    result = []
    previous_takes_value = False
    for token in argv[1:]:
        if token.startswith("-"):
            previous_takes_value = "=" not in token and token != "-"
            continue
        if previous_takes_value:
            previous_takes_value = False
            continue
        result.append(token)
    return result


def _env_calls(path: Path) -> list[tuple[str, bool]]:
    """(NAME, has_default) for every `env("NAME")` / `env.<cast>("NAME", ...)` in a file."""
    calls = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        is_env = (isinstance(func, ast.Name) and func.id == "env") or (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id == "env"
        )
        first = node.args[0]
        if is_env and isinstance(first, ast.Constant) and isinstance(first.value, str):
            has_default = len(node.args) > 1 or any(k.arg == "default" for k in node.keywords)
            calls.append((first.value, has_default))
    return calls


def _os_environ_reads(path: Path) -> set[str]:
    """Names read through os.environ.get/setdefault(...) or os.environ[...]."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        key = None
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"get", "setdefault"}
            and ast.unparse(node.func.value) == "os.environ"
            and node.args
        ):
            key = node.args[0]
        elif isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
            key = node.slice
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            names.add(key.value)
    return names


@cache
def variables_read() -> frozenset[str]:
    names = {name for path in SETTINGS_SOURCES for name, _ in _env_calls(path)}
    for path in [*SETTINGS_SOURCES, *ENTRY_POINTS]:
        names |= _os_environ_reads(path)
    return frozenset(names)


@cache
def variables_required() -> frozenset[str]:
    """Variables base.py reads with no default: every process fails to start without them."""
    return frozenset(
        name for name, has_default in _env_calls(ROOT / "pmhub/settings/base.py") if not has_default
    )


@cache
def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    lines: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    result = []
    for line in lines:
        instruction, _, arguments = line.partition(" ")
        result.append((instruction.upper(), arguments.strip()))
    return result


@cache
def dockerignore_rules() -> list[tuple[bool, re.Pattern[str]]]:
    """(excludes, pattern) in file order; the last matching rule wins, as in Docker."""
    rules = []
    for raw in DOCKERIGNORE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        excludes = not line.startswith("!")
        pattern = line.lstrip("!").strip("/")
        regex = ""
        index = 0
        while index < len(pattern):
            if pattern.startswith("**/", index):
                regex += "(?:.*/)?"
                index += 3
            elif pattern.startswith("**", index):
                regex += ".*"
                index += 2
            elif pattern[index] == "*":
                regex += "[^/]*"
                index += 1
            elif pattern[index] == "?":
                regex += "[^/]"
                index += 1
            else:
                regex += re.escape(pattern[index])
                index += 1
        rules.append((excludes, re.compile(f"{regex}$")))
    return rules


def dockerignored(relative: str) -> bool:
    """Whether the build context leaves out this path (or a folder holding it)."""
    parts = Path(relative).parts
    ignored = False
    for depth in range(1, len(parts) + 1):
        prefix = "/".join(parts[:depth])
        for excludes, pattern in dockerignore_rules():
            if pattern.match(prefix):
                ignored = excludes
        if ignored:
            return True
    return ignored


def run_with_env_file(argv: list[str], **overrides: str) -> subprocess.CompletedProcess[str]:
    """Run a project command in a clean environment holding only compose.env (plus overrides)."""
    environment = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    environment.update(env_file())
    environment.update(overrides)
    return subprocess.run(
        argv, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120, check=False
    )


# --- services --------------------------------------------------------------------------------
def test_the_stack_has_the_six_services():
    services = compose()["services"]
    assert {name for name, svc in services.items() if "profiles" not in svc} == SERVICES


def test_rabbitmq_is_an_optional_broker_behind_its_own_profile():
    rabbitmq = service("rabbitmq")
    assert rabbitmq["profiles"] == ["rabbitmq"]
    assert rabbitmq["image"].startswith("rabbitmq:")
    # Opting in is a line in .env; by default the app services use Redis and never wait for it.
    assert "CELERY_BROKER_URL" not in env_file()
    for name in APP_SERVICES:
        assert "rabbitmq" not in service(name)["depends_on"], name


def test_every_service_has_a_healthcheck():
    for name, svc in compose()["services"].items():
        test = svc.get("healthcheck", {}).get("test")
        assert test, f"{name} has no healthcheck"
        assert test[0] in {"CMD", "CMD-SHELL"}, f"{name}: healthcheck must be CMD or CMD-SHELL"


def test_app_services_build_from_the_dockerfile_and_share_the_env_file():
    for name in APP_SERVICES:
        svc = service(name)
        build = svc["build"]
        assert (ROOT / build["context"]).resolve() == ROOT, name
        assert (ROOT / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE, name
        first = svc["env_file"][0]
        assert (ROOT / first["path"]).resolve() == ENV_FILE, name
        assert first.get("required", True) is True, name
        # Anything after the shared file only overrides it (a git-ignored .env).
        assert all(entry.get("required") is False for entry in svc["env_file"][1:]), name


def test_services_wait_for_their_dependencies_to_be_healthy():
    for name, svc in compose()["services"].items():
        for dependency, condition in svc.get("depends_on", {}).items():
            assert dependency in SERVICES, f"{name} depends on unknown {dependency}"
            assert condition == {"condition": "service_healthy"}, f"{name} -> {dependency}"
    for name in APP_SERVICES:
        assert "redis" in service(name)["depends_on"], name
    for name in ("web", "worker"):
        assert {"postgres", "mailpit"} <= set(service(name)["depends_on"]), name


def test_the_database_and_mail_images_are_the_intended_ones():
    assert service("postgres")["image"] == "postgres:16"
    assert service("redis")["image"].split(":")[1].startswith("7")
    assert service("mailpit")["image"].startswith("axllent/mailpit")


# --- commands --------------------------------------------------------------------------------
def test_every_executable_the_app_services_run_is_installed_in_the_virtualenv():
    for name in APP_SERVICES:
        for argv in app_commands(name):
            program = argv[0]
            assert shutil.which(program, path=str(VENV_BIN)) or importlib.util.find_spec(program), (
                f"{name}: {program} is not installed in {VENV_BIN.parent}"
            )


def test_every_compose_service_command_exists_in_the_project():
    from celery import Celery
    from celery.bin.celery import celery as celery_cli
    from django.core.management import get_commands

    seen = set()
    for name in APP_SERVICES:
        for argv in app_commands(name):
            program = argv[0]
            if program == "python" and argv[1] == "manage.py":
                assert (ROOT / "manage.py").is_file()
                assert argv[2] in get_commands(), f"{name}: no management command {argv[2]}"
                seen.add(f"manage.py {argv[2]}")
            elif program == "gunicorn":
                target = positional_arguments(argv)[0]
                module_name, _, attribute = target.partition(":")
                module_path = ROOT / (module_name.replace(".", "/") + ".py")
                assert module_path.is_file(), f"{name}: {module_path} does not exist"
                module = importlib.import_module(module_name)
                assert callable(getattr(module, attribute or "application")), name
                seen.add(f"gunicorn {target}")
            elif program == "celery":
                module_name = option_value(argv, "-A", "--app")
                module = importlib.import_module(module_name)
                assert isinstance(module.app, Celery), f"{name}: {module_name}.app"
                subcommand = positional_arguments(argv)[0]
                assert subcommand in celery_cli.commands, f"{name}: celery {subcommand}"
                seen.add(f"celery {subcommand}")
            elif program == "python" and argv[1] == "-c":
                compile(argv[2], f"<{name} healthcheck>", "exec")
                _assert_imports_exist(argv[2], name)
            else:
                raise AssertionError(f"{name}: unexpected command {argv}")
    assert {
        "manage.py migrate",
        "gunicorn pmhub.wsgi",
        "celery worker",
        "celery beat",
    } <= seen


def _assert_imports_exist(code: str, where: str) -> None:
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.ImportFrom) and node.module:
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name), f"{where}: {node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                assert importlib.util.find_spec(alias.name), f"{where}: {alias.name}"


def test_each_app_service_runs_its_own_process():
    web = shell_commands(service("web")["command"])
    assert [argv[:3] for argv in web] == [
        ["python", "manage.py", "migrate"],
        ["gunicorn", "pmhub.wsgi", "--bind"],
    ]
    assert option_value(web[1], "--bind", "-b") == "0.0.0.0:8000"
    (worker,) = shell_commands(service("worker")["command"])
    assert option_value(worker, "-A", "--app") == "pmhub.celery"
    assert positional_arguments(worker)[0] == "worker"
    (beat,) = shell_commands(service("beat")["command"])
    assert option_value(beat, "-A", "--app") == "pmhub.celery"
    assert positional_arguments(beat)[0] == "beat"
    assert option_value(beat, "--schedule", "-s") == "/tmp/celerybeat-schedule"


def test_there_is_exactly_one_beat():
    beats = [
        name
        for name in compose()["services"]
        if any(
            argv[0] == "celery" and "beat" in positional_arguments(argv)
            for argv in shell_commands(service(name).get("command") or ["-"])
        )
    ]
    assert beats == ["beat"]
    assert service("beat").get("deploy", {}).get("replicas", 1) == 1


def test_the_web_healthcheck_asks_the_health_view_on_the_port_gunicorn_serves():
    from django.urls import resolve

    from pmhub.core.health import health

    code = shell_commands(service("web")["healthcheck"]["test"])[0][2]
    (url,) = re.findall(r"https?://[^'\"]+", code)
    parts = urlsplit(url)
    assert resolve(parts.path).func is health
    assert parts.port == 8000
    assert parts.hostname in env_file()["ALLOWED_HOSTS"].split(",")
    published = [str(port).rsplit(":", 2)[-2:] for port in service("web")["ports"]]
    assert ["8000", "8000"] in published


# --- environment -----------------------------------------------------------------------------
def test_every_variable_the_env_file_sets_is_read_by_the_settings():
    unknown = set(env_file()) - variables_read()
    assert not unknown, f"compose.env sets variables nothing reads: {sorted(unknown)}"


def test_the_env_file_sets_every_variable_the_settings_require():
    assert {"SECRET_KEY", "DATABASE_URL"} <= variables_required()
    missing = variables_required() - set(env_file())
    assert not missing, f"compose.env lacks required variables: {sorted(missing)}"


def test_the_env_file_points_at_the_compose_services():
    values = env_file()
    postgres = {k: interpolate(str(v)) for k, v in service("postgres")["environment"].items()}
    database = urlsplit(values["DATABASE_URL"])
    assert database.scheme in {"postgres", "postgresql"}
    assert (database.hostname, database.port) == ("postgres", 5432)
    assert database.username == postgres["POSTGRES_USER"]
    assert database.password == postgres["POSTGRES_PASSWORD"]
    assert database.path.lstrip("/") == postgres["POSTGRES_DB"]
    assert urlsplit(values["REDIS_URL"]).hostname == "redis"
    email = urlsplit(values["EMAIL_URL"])
    assert (email.scheme, email.hostname, email.port) == ("smtp", "mailpit", 1025)
    assert values["DJANGO_SETTINGS_MODULE"] == "pmhub.settings.production"
    assert values["PMHUB_HTTPS"] == "false"


def test_the_env_file_loads_the_production_settings_for_plain_http():
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({'debug': s.DEBUG, 'redirect': s.SECURE_SSL_REDIRECT, "
        "'secure_cookie': s.SESSION_COOKIE_SECURE, 'db_host': s.DATABASES['default']['HOST'], "
        "'cache': s.CACHES['default']['LOCATION'], 'broker': s.CELERY_BROKER_URL, "
        "'email': [s.EMAIL_HOST, s.EMAIL_PORT], 'hosts': s.ALLOWED_HOSTS}))"
    )

    result = run_with_env_file([sys.executable, "-c", code])

    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded == {
        "debug": False,
        "redirect": False,
        "secure_cookie": False,
        "db_host": "postgres",
        "cache": "redis://redis:6379/0",
        "broker": "redis://redis:6379/0",
        "email": ["mailpit", 1025],
        "hosts": ["localhost", "127.0.0.1"],
    }


def test_production_settings_pass_check_deploy_with_https_and_a_real_key():
    result = run_with_env_file(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        PMHUB_HTTPS="true",
        PMHUB_BASE_URL="https://pmhub.example.com",
        SECRET_KEY=secrets.token_urlsafe(50),
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


# --- image -----------------------------------------------------------------------------------
def test_the_dockerfile_copy_sources_exist_and_reach_the_build():
    copies = [args for instruction, args in dockerfile_instructions() if instruction == "COPY"]
    assert copies
    for args in copies:
        tokens = [token for token in shlex.split(args) if not token.startswith("--")]
        assert not args.startswith("--from"), "no multi-stage copies expected"
        for source in tokens[:-1]:
            assert (ROOT / source).exists(), f"COPY source {source} does not exist"
            if source != ".":
                assert not dockerignored(source), f"COPY source {source} is dockerignored"


@pytest.mark.parametrize(
    "path",
    [
        "manage.py",
        "pyproject.toml",
        "requirements.lock",
        "pmhub/wsgi.py",
        "pmhub/celery.py",
        "pmhub/settings/production.py",
        "templates",
        "static/vendor/htmx/htmx.min.js",
        "discovery/apps.py",
        "backlog/apps.py",
        "roadmap/apps.py",
        "docs/apps.py",
    ],
)
def test_the_image_keeps_what_the_app_needs(path):
    assert (ROOT / path).exists()
    assert not dockerignored(path)


@pytest.mark.parametrize(
    "path", [".git/HEAD", ".venv/bin/python", ".pmhub/pmhub.lock", ".env", "staticfiles/x.css"]
)
def test_the_image_leaves_out_local_state_and_secrets(path):
    assert dockerignored(path)


def test_the_image_is_python_3_11_installs_pinned_versions_and_runs_unprivileged():
    instructions = dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    installs = [args for name, args in instructions if name == "RUN" and "pip install" in args]
    assert len(installs) == 1
    assert "--constraint requirements.lock" in installs[0]
    assert any(
        name == "RUN" and "manage.py collectstatic" in args and "SECRET_KEY=" in args
        for name, args in instructions
    )
    users = [args for name, args in instructions if name == "USER"]
    assert users
    assert users[-1] not in {"root", "0"}
    run_index = max(i for i, (name, _) in enumerate(instructions) if name in {"RUN", "COPY"})
    user_index = max(i for i, (name, _) in enumerate(instructions) if name == "USER")
    assert user_index > run_index, "USER must come after the last RUN/COPY"


def test_the_readme_documents_every_variable_the_settings_read():
    documented = set(
        re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", (ROOT / "README.md").read_text(), re.MULTILINE)
    )

    assert variables_read() - documented == set()
    assert documented - variables_read() == set(), "README documents variables nothing reads"
