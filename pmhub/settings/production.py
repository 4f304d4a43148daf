"""Production: the default for every process not started by the dev run command.

Only tightens what base.py sets. HTTPS is assumed (behind a proxy that sets X-Forwarded-Proto);
set PMHUB_HTTPS=false only for a closed network without TLS.
"""

from __future__ import annotations

from pmhub.env import env
from pmhub.settings.base import *  # noqa: F403

PMHUB_HTTPS = env.bool("PMHUB_HTTPS", default=True)
# https://docs.djangoproject.com/en/5.2/ref/settings/#secure-proxy-ssl-header
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = PMHUB_HTTPS
SESSION_COOKIE_SECURE = PMHUB_HTTPS
CSRF_COOKIE_SECURE = PMHUB_HTTPS
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if PMHUB_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
# The load balancer probes /health/ over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^health/$"]
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[PMHUB_BASE_URL])  # noqa: F405
