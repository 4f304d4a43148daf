"""Settings shared by every environment. Values come from the environment via `pmhub.env`.

Reference: https://docs.djangoproject.com/en/5.2/ref/settings/
"""

from __future__ import annotations

from csp.constants import NONE, SELF

from pmhub.env import BASE_DIR, env, redis_url_for_celery

# --- Core ------------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/ref/settings/#secret-key
SECRET_KEY = env("SECRET_KEY")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
# The public address of this installation, used in links inside emails.
PMHUB_BASE_URL = env("PMHUB_BASE_URL", default="http://localhost:8000").rstrip("/")

DJANGO_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
]
THIRD_PARTY_APPS = [
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "csp",
]
LOCAL_APPS = [
    "pmhub.core",
    "pmhub.accounts",
    "pmhub.workspaces",
    "discovery",
    "backlog",
    "roadmap",
    "docs",
    "pmhub.digests",
]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "pmhub.core.middleware.RequestSizeLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
]

ROOT_URLCONF = "pmhub.urls"
WSGI_APPLICATION = "pmhub.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "builtins": [
                "pmhub.core.templatetags.pmhub_icons",
                "pmhub.core.templatetags.pmhub_urls",
            ],
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "pmhub.core.context_processors.site",
                "pmhub.workspaces.context_processors.workspace_nav",
            ],
        },
    },
]

# --- Database --------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/ref/settings/#databases
DATABASES = {"default": env.db_url("DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
# A persistent connection that PostgreSQL dropped (a restart) is noticed and reopened at the
# start of the next request, instead of failing it.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# libpq waits forever for a server that never answers (a host gone, rather than a port
# refusing): give up after this many seconds, so the request gets a 503 (pmhub.core.unavailable)
# rather than hanging until gunicorn kills the worker. `?connect_timeout=` in the URL wins.
DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
# Optional: a streaming replica of that database. API GETs read from it (pmhub.core.routers);
# pages, writes, transactions and migrations stay on "default".
DATABASE_REPLICA_URL = env("DATABASE_REPLICA_URL", default="")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = env.db_url_config(DATABASE_REPLICA_URL)
    DATABASES["replica"]["CONN_MAX_AGE"] = DATABASES["default"]["CONN_MAX_AGE"]
    DATABASES["replica"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["replica"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
    # Its test database is the default one: tests see the same rows on both aliases.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["pmhub.core.routers.ReplicaRouter"]
    MIDDLEWARE.insert(
        MIDDLEWARE.index("pmhub.core.middleware.RequestSizeLimitMiddleware") + 1,
        "pmhub.core.routers.ReplicaReadsMiddleware",
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache and broker -----------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
# https://docs.djangoproject.com/en/5.2/topics/cache/#redis
# While Redis is unreachable a read is a miss and a write is skipped, logged (pmhub.core.cache):
# nothing cached is the only copy. The timeouts keep a hung Redis from hanging every page.
CACHES = {
    "default": {
        "BACKEND": "pmhub.core.cache.TolerantRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env("PMHUB_CACHE_PREFIX", default="pmhub"),
        "TIMEOUT": 300,
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
}

# --- Auth ------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["pmhub.accounts.backends.UserBackend"]
# Sessions read from Redis (~0.3 ms) rather than a statement (~0.8 ms), written through to
# PostgreSQL so that none is lost when Redis restarts.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"
# https://docs.djangoproject.com/en/5.2/topics/auth/passwords/#using-argon2-with-django
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Failed logins allowed per (email, address) within the window before the form refuses.
PMHUB_LOGIN_ATTEMPTS = env.int("PMHUB_LOGIN_ATTEMPTS", default=10)
PMHUB_LOGIN_WINDOW_SECONDS = 15 * 60
PMHUB_INVITATION_DAYS = 7
# How many reverse proxies in front of pmhub append to X-Forwarded-For (0: trust no header).
PMHUB_TRUSTED_PROXIES = env.int("PMHUB_TRUSTED_PROXIES", default=0)

# --- Internationalization --------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files (served by WhiteNoise) -----------------------------------------------------
# https://whitenoise.readthedocs.io/en/stable/django.html
STATIC_URL = "/static/"
STATIC_ROOT = env("PMHUB_STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Request limits --------------------------------------------------------------------------
# Bodies above this are refused with 413 before any view reads them.
PMHUB_MAX_REQUEST_BYTES = env.int("PMHUB_MAX_REQUEST_BYTES", default=5 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = PMHUB_MAX_REQUEST_BYTES
# Views marked with pmhub.core.middleware.allows_large_bodies (file imports) accept up to this.
PMHUB_MAX_UPLOAD_BYTES = env.int("PMHUB_MAX_UPLOAD_BYTES", default=50 * 1024 * 1024)
# Uploaded files waiting for, or being read by, an import. Web and worker must share it.
PMHUB_UPLOAD_ROOT = env("PMHUB_UPLOAD_ROOT", default=str(BASE_DIR / ".pmhub" / "uploads"))

# --- Email -----------------------------------------------------------------------------------
# EMAIL_URL examples: smtp://host:25, smtp+tls://user:pass@host:587 (STARTTLS),
# smtp+ssl://user:pass@host:465 (TLS from the start).
vars().update(env.email_url("EMAIL_URL", default="smtp://localhost:25"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="pmhub <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = 10
# The quick start's SMTP sink keeps every message in this Maildir (set by pmhub.devstack), and
# each workspace's Outbox page reads its own mail from it; empty everywhere else, where the
# Outbox answers 404 (mail went to a real server). https://docs.python.org/3/library/mailbox.html
PMHUB_DEV_MAILDIR = env("PMHUB_DEV_MAILDIR", default="")

# --- Security --------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
# Lax rather than Strict: a link to pmhub in an email or a chat must open signed in; Lax still
# keeps the cookies off cross-site form posts and frames.
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the body's hx-headers, not the cookie.
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# https://django-csp.readthedocs.io/en/latest/configuration.html
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- Django REST framework -------------------------------------------------------------------
# https://www.django-rest-framework.org/api-guide/settings/
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "pmhub.accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "pmhub.core.api.CursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "pmhub.core.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "pmhub.core.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# https://drf-spectacular.readthedocs.io/en/latest/settings.html
SPECTACULAR_SETTINGS = {
    "TITLE": "pmhub API",
    "DESCRIPTION": "Read and change a pmhub workspace. Authenticate with a personal API token: "
    "`Authorization: Bearer pmh_...`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Choice sets sharing a field name ("kind", "status", "source") in several models.
    "ENUM_NAME_OVERRIDES": {
        "ItemKindEnum": "backlog.models.Item.Kind",
        "ItemStatusEnum": "backlog.models.Item.Status",
        "RoadmapKindEnum": "roadmap.models.Roadmap.Kind",
        "RoadmapEventKindEnum": "roadmap.models.RoadmapEvent.Kind",
        "ReleaseStatusEnum": "roadmap.models.Release.Status",
        "KeyResultValueSourceEnum": "roadmap.models.KeyResultValue.Source",
    },
}

# --- Celery ----------------------------------------------------------------------------------
# https://docs.celeryq.dev/en/stable/userguide/configuration.html
# Redis unless CELERY_BROKER_URL names another broker, such as RabbitMQ (amqp://user:pass@host/vhost).
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="") or redis_url_for_celery(REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = env("PMHUB_CELERY_QUEUE", default="pmhub")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 5 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 4 * 60
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A worker that lost the broker (a Redis restart) retries for as long as it takes, at growing
# intervals of at most 30 s, instead of exiting after 100 tries; the task in hand runs on to its
# end meanwhile (Celery 6 would cancel it by default).
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# Celery's consumer, but one that survives a kombu error while closing a lost Redis connection.
CELERY_WORKER_CONSUMER = "pmhub.core.worker:Consumer"
# A task that is not acknowledged within this window is handed to another worker; it must exceed
# the longest time limit so that acks_late does not run slow tasks twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 60 * 60}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "pmhub.core.beat:HeartbeatScheduler"
CELERY_BEAT_MAX_LOOP_INTERVAL = 10
# Seconds without a worker or beat heartbeat after which /health/ reports it down.
PMHUB_HEARTBEAT_STALE_SECONDS = env.int("PMHUB_HEARTBEAT_STALE_SECONDS", default=60)

# --- Logging ---------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"redact_secrets": {"()": "pmhub.core.logs.RedactSecrets"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}
