"""Tests: the real PostgreSQL and Redis from the environment, fast hashing, locmem mail."""

from __future__ import annotations

import os

os.environ.setdefault("SECRET_KEY", "test-only-insecure-key")

from pmhub.settings.base import *  # noqa: E402, F403

DEBUG = False
ALLOWED_HOSTS = ["*"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Unit tests read mail from the locmem outbox; the real-worker tests switch a worker process to
# SMTP against an aiosmtpd server on loopback.
EMAIL_BACKEND = env(  # noqa: F405
    "PMHUB_TEST_EMAIL_BACKEND", default="django.core.mail.backends.locmem.EmailBackend"
)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Keys and queues of parallel runs on a shared Redis never meet; a worker started by the tests
# inherits the run's values through the environment.
CACHES["default"]["KEY_PREFIX"] = env("PMHUB_CACHE_PREFIX", default=f"pmhub-test-{os.getpid()}")  # noqa: F405
CELERY_TASK_DEFAULT_QUEUE = env("PMHUB_CELERY_QUEUE", default=f"pmhub-test-{os.getpid()}")  # noqa: F405
# Serve static files straight from the source folders; no collectstatic needed.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
