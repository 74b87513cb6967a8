"""Settings, read from the environment (and `.env`) with django-environ.

Every key is listed in `.env.example`. DEBUG is off unless set; SECRET_KEY is then required.
"""

import ipaddress
import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from vpadmin.coze_accounts import DEV_TOKEN, read_coze_accounts

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)
if DEBUG:
    SECRET_KEY = env("SECRET_KEY", default="django-insecure-local-development-only")
else:
    SECRET_KEY = env("SECRET_KEY", default="")
    if not SECRET_KEY:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

# Coze. Without a token, vpadmin talks to the bundled simulator with its fixed
# development token (see `python manage.py runcozesim`).
COZE_DEV_TOKEN = DEV_TOKEN
COZE_SIMULATOR_DEFAULT_BASE = "http://127.0.0.1:8765"
_coze_token = env.str("COZE_API_TOKEN", default="")
COZE_SIMULATED = not _coze_token
COZE_API_TOKEN = _coze_token or COZE_DEV_TOKEN
COZE_API_BASE = env.str(
    "COZE_API_BASE",
    default=COZE_SIMULATOR_DEFAULT_BASE if COZE_SIMULATED else "https://api.coze.cn",
).rstrip("/")
COZE_GROUP_QUOTA = env.int("COZE_GROUP_QUOTA", default=1000)
COZE_TIMEOUT = env.float("COZE_TIMEOUT", default=10.0)
# A rate-limited list call (sync) is retried after 1, 2, 4 ... seconds; a create never is.
COZE_LIST_RETRIES = env.int("COZE_LIST_RETRIES", default=3)
COZE_LIST_BACKOFF = env.float("COZE_LIST_BACKOFF", default=1.0)
if COZE_GROUP_QUOTA < 1 or COZE_TIMEOUT <= 0:
    raise ImproperlyConfigured("COZE_GROUP_QUOTA and COZE_TIMEOUT must be positive.")
# Imports of devices (/imports/new/): the largest file and the most rows one may hold, and
# the pause after Coze rate-limits a creation (doubled each time, at most the second value).
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=5_000_000)
IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=5000)
IMPORT_BACKOFF = env.float("IMPORT_BACKOFF", default=1.0)
IMPORT_BACKOFF_MAX = env.float("IMPORT_BACKOFF_MAX", default=60.0)
if min(IMPORT_MAX_BYTES, IMPORT_MAX_ROWS) < 1 or not 0 < IMPORT_BACKOFF <= IMPORT_BACKOFF_MAX:
    raise ImproperlyConfigured(
        "IMPORT_MAX_BYTES and IMPORT_MAX_ROWS must be positive, and "
        "0 < IMPORT_BACKOFF <= IMPORT_BACKOFF_MAX."
    )
# Several Coze accounts (step 12): name -> {"token", "base", "quota"}, the default account
# above first (named "default"), then each COZE_ACCOUNTS name (e.g. "cn2,intl") with its
# COZE_<NAME>_API_TOKEN, COZE_<NAME>_API_BASE and COZE_<NAME>_GROUP_QUOTA; checked there.
# Only the bundled simulator (runcozesim, rundev) serves them so far. Tokens: never shown.
COZE_ACCOUNTS = read_coze_accounts(
    os.environ,  # read_env above put .env's keys there too
    token=COZE_API_TOKEN,
    base=COZE_API_BASE,
    quota=COZE_GROUP_QUOTA,
    simulated=COZE_SIMULATED,
)
# How long a voiceprint is kept from its consent, unless the person asked for less (3
# years: the longest BIPA allows).
VOICEPRINT_RETENTION_DAYS = env.int("VOICEPRINT_RETENTION_DAYS", default=1095)
if VOICEPRINT_RETENTION_DAYS < 1:
    raise ImproperlyConfigured("VOICEPRINT_RETENTION_DAYS must be a positive number of days.")
# Speaker-identification tests one person may run a day (Coze bills each).
IDENTIFY_DAILY_LIMIT = env.int("IDENTIFY_DAILY_LIMIT", default=50)
if IDENTIFY_DAILY_LIMIT < 0:
    raise ImproperlyConfigured("IDENTIFY_DAILY_LIMIT cannot be negative.")

INSTALLED_APPS = [
    "groups.apps.SuperusersAdminConfig",  # django.contrib.admin, superusers only
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_filters",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files for /api/docs/, served from here
    "groups",  # before django_tasks_db: its `db_worker` command is groups' (recovery added)
    "django_tasks",
    "django_tasks_db",
]

MIDDLEWARE = [
    # First: forwarded headers count only from a trusted proxy (see vpadmin/proxies.py).
    "vpadmin.proxies.TrustedProxyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "vpadmin.middleware.RequestIdMiddleware",
    "vpadmin.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "groups.actors.ActorMiddleware",  # request.actor, for the services and the audit log
    "django.contrib.messages.middleware.MessageMiddleware",
    # A bare 405 becomes a page (inside the session and user it shows, around every view).
    "vpadmin.errors.MethodNotAllowedPage",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "vpadmin.urls"
WSGI_APPLICATION = "vpadmin.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "groups.context_processors.coze",
                "groups.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url_config(
        env.str("DATABASE_URL", default="") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE makes every transaction take the write lock at BEGIN, so the quota
    # check and the reservation that follows cannot interleave between two requests.
    # WAL: readers (the other workers' pages) never wait for a writer, and a commit
    # writes and syncs the log once instead of a rollback journal and the database.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL;",
        }
    )
# Persistent connections (seconds; 0 closes after each request): opening a PostgreSQL
# connection costs about 5 ms per request, more than most pages' queries. Checked for
# health before reuse, so a database restart costs one reconnect, not an error page.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = ["groups.backends.ModelBackendOneQuery"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# Sign-in throttling (groups/services/throttling.py): LOGIN_FAILURE_LIMIT failed sign-ins within
# LOGIN_LOCKOUT_MINUTES, for one username or from one address, lock it for
# LOGIN_LOCKOUT_MINUTES for browsers that have not signed in as that person before (HTTP 429,
# audited); a browser that has keeps its own count.
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_LOCKOUT_MINUTES = env.int("LOGIN_LOCKOUT_MINUTES", default=15)
if LOGIN_FAILURE_LIMIT < 1 or LOGIN_LOCKOUT_MINUTES < 1:
    raise ImproperlyConfigured("LOGIN_FAILURE_LIMIT and LOGIN_LOCKOUT_MINUTES must be positive.")

# Background jobs (syncs now; imports, retention runs and deletion retries later) are
# queued in the database and run by `manage.py db_worker`, any number of them at once.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# A running job's worker marks it alive every JOB_HEARTBEAT_SECONDS; a job not marked for
# JOB_STALE_SECONDS lost its worker, and another worker resumes it (or says it stopped).
JOB_HEARTBEAT_SECONDS = env.float("JOB_HEARTBEAT_SECONDS", default=10.0)
JOB_STALE_SECONDS = env.float("JOB_STALE_SECONDS", default=60.0)
if not 0 < 2 * JOB_HEARTBEAT_SECONDS <= JOB_STALE_SECONDS:
    raise ImproperlyConfigured(
        "JOB_HEARTBEAT_SECONDS must be positive and JOB_STALE_SECONDS at least twice as long."
    )

# The JSON API (groups/api/): API tokens or the session, the roles' permissions, JSON only,
# the pages' FilterSets, limit/offset paging, one error shape. Requests with a token are
# throttled per person at API_THROTTLE_RATE (n/second, minute, hour or day), counted in
# each process's memory (the default cache).
API_THROTTLE_RATE = env.str("API_THROTTLE_RATE", default="600/minute")
try:
    _count, _period = API_THROTTLE_RATE.split("/")
    if int(_count) < 1 or _period not in ("second", "minute", "hour", "day", "s", "m", "h", "d"):
        raise ValueError
except ValueError:
    raise ImproperlyConfigured(
        "API_THROTTLE_RATE must be requests per period, e.g. 600/minute."
    ) from None
# Requests refused for their API token (unknown, revoked, expired) are audit rows one by one
# up to API_REFUSED_TOKEN_LIMIT from one client address within API_REFUSED_TOKEN_MINUTES;
# the rest of that window are counted and written as one row (groups/services/tokens.py).
API_REFUSED_TOKEN_LIMIT = env.int("API_REFUSED_TOKEN_LIMIT", default=20)
API_REFUSED_TOKEN_MINUTES = env.int("API_REFUSED_TOKEN_MINUTES", default=15)
if API_REFUSED_TOKEN_LIMIT < 1 or API_REFUSED_TOKEN_MINUTES < 1:
    raise ImproperlyConfigured(
        "API_REFUSED_TOKEN_LIMIT and API_REFUSED_TOKEN_MINUTES must be positive."
    )
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "groups.api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["groups.api.permissions.RolePermissions"],
    "DEFAULT_THROTTLE_CLASSES": ["groups.api.permissions.TokenRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "groups.api.pagination.Paging",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "groups.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "vpadmin API",
    "DESCRIPTION": (
        "The register of Coze voiceprint groups, one per device, as JSON. Every write goes "
        "through the same services as the pages and is audited as the token's owner acting "
        "`api`. Errors: `{code, message, coze?, fields?}`."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SECURITY": [{"apiToken": []}],
    # Enums named for what they hold: a group's or voiceprint's state (the same choices),
    # a job's, a consent's, a person's (a consent's, or none), and what an enrollment warns of.
    "ENUM_NAME_OVERRIDES": {
        "CozeItemStateEnum": "groups.models.VoiceprintGroup.State",
        "JobStateEnum": "groups.models.Job.State",
        "ConsentStateEnum": ["in_force", "expired", "withdrawn"],
        "PersonConsentStateEnum": ["in_force", "expired", "withdrawn", "none"],
        "EnrollmentWarningEnum": ["short", "long", "found_after_no_answer"],
    },
}

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["vpadmin.formats"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# Uploads stay in memory, never in a temporary file: audio is biometric data and must never
# be written to disk. A request bigger than this reaches the view without its file (Django's
# memory handler drops it, and no other handler takes it); 25 MB is groups.audio.UPLOAD_MAX.
FILE_UPLOAD_HANDLERS = ["django.core.files.uploadhandler.MemoryFileUploadHandler"]
FILE_UPLOAD_MAX_MEMORY_SIZE = 25 * 1024 * 1024

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Production safety; each can be relaxed from the environment (e.g. plain-HTTP staging).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
# Proxies (load balancers) in front of vpadmin that append to X-Forwarded-For; 0 = none (the
# default): clients reach vpadmin directly, their address is REMOTE_ADDR, and no forwarded
# header counts. The audit log and sign-in throttling both use the address.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# Where the nearest proxy connects from (addresses or networks): forwarded headers from
# anywhere else are dropped (vpadmin.proxies). Default: a proxy on this machine.
TRUSTED_PROXY_ADDRESSES = env.list("TRUSTED_PROXY_ADDRESSES", default=["127.0.0.1", "::1"])
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT must be 0 or more.")
if TRUSTED_PROXY_COUNT and not TRUSTED_PROXY_ADDRESSES:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT needs TRUSTED_PROXY_ADDRESSES.")
try:
    [ipaddress.ip_network(address, strict=False) for address in TRUSTED_PROXY_ADDRESSES]
except ValueError as error:
    raise ImproperlyConfigured(f"TRUSTED_PROXY_ADDRESSES: {error}") from error
# HTTPS as the proxy saw it (it terminates TLS), only when there is one; the middleware
# above drops the header from anyone else.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXY_COUNT else None
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# An expired form (signed in again in another tab) gets a page saying so, not Django's own.
CSRF_FAILURE_VIEW = "vpadmin.errors.csrf_failure"
X_FRAME_OPTIONS = "DENY"
# Every page, the admin's too, uses only vpadmin's own files: no inline script or style.
# media-src adds blob: for one thing only: the browser recorder plays the take back from an
# object URL of the WAV it made (static/recorder.js); its worklet loads under script-src.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' blob:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SILENCED_SYSTEM_CHECKS = env.list("SILENCED_SYSTEM_CHECKS", default=[])

# One line per request and per Coze call: `key=value` text, or JSON lines for a collector.
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured("LOG_FORMAT must be text or json.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request": {"()": "vpadmin.logs.RequestContextFilter"},
        "client_errors": {"()": "vpadmin.logs.ClientErrorsWithoutTraceback"},
    },
    "formatters": {
        "text": {
            "()": "vpadmin.logs.KeyValueFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
        "json": {"()": "vpadmin.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": LOG_FORMAT,
            "filters": ["client_errors", "request"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # Django's own loggers print through the root handler only (not twice).
    "loggers": {
        "django": {"handlers": [], "propagate": True},
    },
}
