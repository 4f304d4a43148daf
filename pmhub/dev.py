"""The quick start: `python3 -m pmhub.dev` runs pmhub; `python3 -m pmhub.dev test` runs its tests.

This module needs nothing but Python 3.11+. It creates `.venv/`, installs the pinned
requirements when they changed, and hands over to `pmhub.devstack` inside the virtualenv, which
starts the embedded services and the app.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
LOCK_FILE = ROOT / "requirements.lock"
STAMP = VENV / ".pmhub-requirements.sha256"


def _venv_python() -> Path:
    return VENV / "bin" / "python"


def _requirements_digest() -> str:
    return hashlib.sha256(LOCK_FILE.read_bytes()).hexdigest()


def _ensure_virtualenv() -> Path:
    """The project's virtualenv with the pinned requirements installed; created on first use."""
    python = _venv_python()
    if not python.exists():
        print(f"pmhub: creating a virtualenv in {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True, clear=False).create(VENV)
    digest = _requirements_digest()
    if not STAMP.exists() or STAMP.read_text().strip() != digest:
        print(
            "pmhub: installing pinned requirements (first run takes about a minute) ...", flush=True
        )
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
                str(LOCK_FILE),
            ],
            check=True,
        )
        STAMP.write_text(digest)
    return python


def _inside_a_virtualenv() -> bool:
    return sys.prefix != sys.base_prefix


def main() -> None:
    if sys.version_info < (3, 11):
        sys.exit("pmhub needs Python 3.11 or newer.")
    os.chdir(ROOT)
    if _inside_a_virtualenv():
        # Already inside a prepared environment (the project's .venv, a CI image, a test).
        try:
            from pmhub import devstack
        except ImportError:
            pass
        else:
            sys.exit(devstack.main(sys.argv[1:]))
    python = _ensure_virtualenv()
    os.execv(str(python), [str(python), "-m", "pmhub.devstack", *sys.argv[1:]])


if __name__ == "__main__":
    main()
