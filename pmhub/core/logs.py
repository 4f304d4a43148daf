"""Secrets that travel in URL paths kept out of every log line.

A roadmap share link, a digest's unsubscribe and web-version links, an invitation and a password
reset each carry their credential in the path, and a path reaches the logs in Django's own lines
("Not Found: /share/...") and in gunicorn's access log (the request line, and the Referer of every
asset a shared page loads). `RedactSecrets` filters the console handler of LOGGING;
`GunicornLogger` is gunicorn's `--logger-class` in the Dockerfile and docker-compose.yml.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from gunicorn.glogging import Logger

REDACTED = "[redacted]"
# The segment after each prefix is the credential (a reset link keeps its user id, not secret).
SECRET_IN_PATH = re.compile(
    r"(/(?:share|digest/unsubscribe|digest/view|invitations|accounts/reset/[^/\s?\"']+)/)"
    r"[^/\s?\"'#]+"
)
SECRET_HEADERS = ("{authorization}i", "{cookie}i", "{x-csrftoken}i")


def redact(text: str) -> str:
    return SECRET_IN_PATH.sub(rf"\1{REDACTED}", text)


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


class GunicornLogger(Logger):
    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        for key, value in atoms.items():
            if isinstance(value, str):
                atoms[key] = redact(value)
        for key in SECRET_HEADERS:
            if key in atoms:
                atoms[key] = REDACTED
        return atoms
