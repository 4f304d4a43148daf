"""Tests: the real PostgreSQL and Redis from the environment, fast hashing, locmem mail."""

from __future__ import annotations

import os

os.environ.setdefault("SECRET_KEY", "test-only-insecure-key")

from pmhub.settings.base import *  # noqa: E402, F403

DEBUG = False
ALLOWED_HOSTS = ["*"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Keys of parallel runs on a shared Redis never meet.
CACHES["default"]["KEY_PREFIX"] = f"pmhub-test-{os.getpid()}"  # noqa: F405
