from __future__ import annotations

import pytest


@pytest.fixture
def console_errors(page) -> list[str]:
    """Errors the page logs to its console or throws, for browser tests to assert none."""
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors
