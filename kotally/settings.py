"""Kotally settings: everything comes from the environment (see .env.example / README)."""

import os
import re
from datetime import timedelta
from pathlib import Path

import environ
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
# `NAME=` with nothing after it (how .env.example lists optional variables) means "not set":
# an empty value never overrides a default (a webhook key, the OAuth scopes, a secure flag).
env.ENVIRON = {name: value for name, value in os.environ.items() if value != ""}

DEBUG = env.bool("DJANGO_DEBUG", default=False)

_DEV_SECRET_KEY = "django-insecure-kotally-local-development-only"
# Fernet key used only for local development and tests (never in production).
_DEV_FIELD_ENCRYPTION_KEY = "ZGV2LW9ubHkta290YWxseS1maWVsZC1rZXktMzJieXQ="

SECRET_KEY = env("DJANGO_SECRET_KEY", default=_DEV_SECRET_KEY if DEBUG else "")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# Fernet keys for secrets at rest, newest first: the first encrypts, every one decrypts, so a
# new key goes in front and the old one leaves after `manage.py rotate_field_encryption`.
# FIELD_ENCRYPTION_KEY (one key) is still read when the list is not set.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[]) or [
    env("FIELD_ENCRYPTION_KEY", default=_DEV_FIELD_ENCRYPTION_KEY if DEBUG else "")
]
REDIS_URL = env("REDIS_URL", default="")


def _is_fernet_key(key: str) -> bool:
    try:
        Fernet(key)
    except ValueError:
        return False
    return key != _DEV_FIELD_ENCRYPTION_KEY


def _production_problems() -> list[str]:
    """What keeps these settings from running in production (DJANGO_DEBUG=False)."""
    problems = [
        f"{name} is required"
        for name in ("DJANGO_SECRET_KEY", "DATABASE_URL", "DJANGO_ALLOWED_HOSTS")
        if not env(name, default="")
    ]
    # Django's own bar for a secret key (security.W009): a placeholder such as "change-me"
    # would let anyone forge sessions and password-reset links.
    weak = len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5
    if SECRET_KEY and (weak or SECRET_KEY.startswith("django-insecure-")):
        problems.append(
            "DJANGO_SECRET_KEY is weak or a placeholder: use 50+ random characters, e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )
    if not all(_is_fernet_key(key) for key in FIELD_ENCRYPTION_KEYS):
        problems.append(
            "FIELD_ENCRYPTION_KEYS (or FIELD_ENCRYPTION_KEY) needs real Fernet keys: "
            'python -c "from cryptography.fernet import Fernet; '
            'print(Fernet.generate_key().decode())"'
        )
    # The API rate limit and the Celery broker are shared through Redis; without it every
    # gunicorn worker would keep its own bucket (4 workers = 4x the limit).
    if not REDIS_URL and not env.bool("KOTALLY_SINGLE_PROCESS", default=False):
        problems.append(
            "REDIS_URL is required (or KOTALLY_SINGLE_PROCESS=True for a one-process run)"
        )
    return problems


if not DEBUG and (_problems := _production_problems()):
    raise ImproperlyConfigured("Production settings (DJANGO_DEBUG=False): " + "; ".join(_problems))

_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.postgresql":
    # After a database restart/failover, kept or pooled connections are dead: check one before
    # reusing it, else each thread's next request fails (tests/reliability/test_faults.py).
    _db["CONN_HEALTH_CHECKS"] = True
    if env.bool("DATABASE_POOL", default=False):
        # Django's psycopg pool; CONN_MAX_AGE must stay 0 with it. A request waits at most 5 s
        # for a connection (psycopg's default is 30 s): with the database down, a webhook must
        # get its 429 before GHL gives up on the delivery, and web threads must not pile up.
        # The backend's pool checks a connection by its socket, not with a query per request.
        _db["ENGINE"] = "kotally.lib.postgresql"
        _db["OPTIONS"] = {
            "pool": {"min_size": 2, "max_size": env.int("DATABASE_POOL_MAX", 10), "timeout": 5}
        }
    else:
        _db["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
elif _db["ENGINE"] == "django.db.backends.sqlite3":
    # Wait for the write lock instead of failing at once when two requests write.
    _db["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "axes",
    "accounts",
    "locations",
    "entitlements",
    "inbox",
    "integrations_ghl",
    "integrations_stripe",
    "billing",
    "api",
    "embed",
    "outbound",
    "console",
]

MIDDLEWARE = [
    "kotally.middleware.CorrelationIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "kotally.middleware.ApiErrorMiddleware",
    # Last, as django-axes requires: turns a locked-out sign-in into its 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "kotally.urls"
WSGI_APPLICATION = "kotally.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

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
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # Refuses a sign-in (admin and /staff/ alike) while its email and address are locked out.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"  # Getting Started until the workspace is set up
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    # Behind the platform's proxy (which terminates TLS and sets this header itself),
    # `X-Forwarded-Proto: https` counts as HTTPS.
    SECURE_PROXY_SSL_HEADER = tuple(
        env.list("SECURE_PROXY_SSL_HEADER", default=["HTTP_X_FORWARDED_PROTO", "https"])
    )
    # SECURE_SSL_REDIRECT=False for a local production-mode run over plain HTTP.
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # Load balancers probe health over plain HTTP inside the platform.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    # The `preload` directive alone enrolls nothing: the domain's owner submits it.
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
X_FRAME_OPTIONS = "DENY"
# One Content-Security-Policy on every response (django-csp): scripts, styles and everything
# else from this origin only (Swagger UI too: drf-spectacular-sidecar serves it from here), and
# no page may be framed. A view changes a directive for itself with django-csp's decorators,
# e.g. @csp_replace({"frame-ancestors": [...]}) or, computed per request,
# `response._csp_replace = {...}` (docs/security.md); its other directives stay.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
globals().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Kotally <no-reply@kotally.local>")

# --- Redis, cache and Celery ---------------------------------------------------------------
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 100
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
# Task modules autodiscovery (`<app>.tasks`) would miss.
CELERY_IMPORTS = ["integrations_ghl.token_tasks", "integrations_ghl.writeback_tasks"]
CELERY_BEAT_SCHEDULE = {
    "expire-lots": {"task": "entitlements.tasks.expire_lots", "schedule": 300.0},
    "announce-expiring-lots": {
        "task": "entitlements.tasks.announce_expiring_lots",
        "schedule": 86400.0,
    },
    "purge-idempotency-records": {
        "task": "entitlements.tasks.purge_idempotency_records",
        "schedule": 3600.0,
    },
    "purge-api-requests": {"task": "api.tasks.purge_api_requests", "schedule": 3600.0},
    "end-expired-trials": {"task": "billing.tasks.end_expired_trials", "schedule": 3600.0},
    "refresh-ghl-tokens": {"task": "integrations_ghl.refresh_expiring_tokens", "schedule": 900.0},
    "sweep-stuck-events": {"task": "inbox.sweep_stuck_events", "schedule": 60.0},
    "release-held-events": {"task": "inbox.release_held_events", "schedule": 300.0},
    "deliver-due-webhooks": {"task": "outbound.deliver_due", "schedule": 30.0},
    # Per connected location: paid invoices/orders and refunds GHL never delivered; per
    # agency: the locations it installed Kotally on (integrations_ghl.reconcile).
    "reconcile-ghl": {"task": "integrations_ghl.reconcile_all", "schedule": 3600.0},
}

# --- Sign-in abuse limits (django-axes) and the cache-backed limits of kotally.lib.throttle ---
# Proxies in front of the app that append to X-Forwarded-For (1: the platform's router).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0 if DEBUG else 1)
# One email from one address gets LOGIN_FAILURE_LIMIT wrong passwords, then waits
# LOGIN_LOCKOUT_MINUTES (even with the right one). Per pair, so nobody can lock a victim out
# from everywhere by guessing wrong on purpose.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "kotally.lib.throttle.client_ip"
AXES_USERNAME_CALLABLE = "accounts.signin.attempted_email"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Password reset emails per address, and reset or sign-up forms per client address, per hour.
PASSWORD_RESET_EMAILS_PER_HOUR = env.int("PASSWORD_RESET_EMAILS_PER_HOUR", default=3)
ACCOUNT_FORMS_PER_IP_PER_HOUR = env.int("ACCOUNT_FORMS_PER_IP_PER_HOUR", default=20)

# --- Kotally --------------------------------------------------------------------------------
KOTALLY_BASE_URL = env("KOTALLY_BASE_URL", default="http://127.0.0.1:8000")
API_RATE_LIMIT_PER_SECOND = env.float("API_RATE_LIMIT_PER_SECOND", default=20.0)
API_RATE_LIMIT_BURST = env.int("API_RATE_LIMIT_BURST", default=100)
IDEMPOTENCY_RETENTION_DAYS = env.int("IDEMPOTENCY_RETENTION_DAYS", default=30)
TRIAL_DAYS = env.int("TRIAL_DAYS", default=14)
# Outbound webhooks may go to http:// and private/loopback hosts only while debugging.
OUTBOUND_ALLOW_PRIVATE_URLS = DEBUG
# credits.expiring is announced this many days before a lot expires (once per lot).
CREDITS_EXPIRING_DAYS = env.int("CREDITS_EXPIRING_DAYS", default=7)

GHL_CLIENT_ID = env("GHL_CLIENT_ID", default="")
GHL_CLIENT_SECRET = env("GHL_CLIENT_SECRET", default="")
# The embed (SPEC §5.4): SSO shared secret (unset → GHL sign-in off), the sandbox launcher's
# token (unset → no launcher) and origins allowed to frame it besides GHL's own app domains.
GHL_SHARED_SECRET = env("GHL_SHARED_SECRET", default="")
EMBED_SANDBOX_TOKEN = env("EMBED_SANDBOX_TOKEN", default="")
if EMBED_SANDBOX_TOKEN and not DEBUG and len(EMBED_SANDBOX_TOKEN) < 24:
    # The launcher opens any served location's data: its token must not be guessable.
    raise ImproperlyConfigured("EMBED_SANDBOX_TOKEN needs 24+ random characters (or unset it)")
EMBED_FRAME_ANCESTORS = env.list("EMBED_FRAME_ANCESTORS", default=[])
_ORIGIN = re.compile(r"https?://[\w.*-]+(:\d+)?")
if _bad := [o for o in EMBED_FRAME_ANCESTORS if not _ORIGIN.fullmatch(o)]:
    raise ImproperlyConfigured(
        f"EMBED_FRAME_ANCESTORS takes origins like https://app.example.com, not: {_bad}"
    )
# GHL Marketplace OAuth and API (INTEGRATIONS.md, docs/ghl.md); the authorize host differs for
# white-label.
GHL_OAUTH_AUTHORIZE_URL = env(
    "GHL_OAUTH_AUTHORIZE_URL", default="https://marketplace.gohighlevel.com/oauth/chooselocation"
)
GHL_API_BASE = env("GHL_API_BASE", default="https://services.leadconnectorhq.com")
# `user_type` sent at code exchange: empty sends none, as GHL's app template does, and GHL
# answers with the token of the install (Location or Company); "Location"/"Company" force one.
GHL_OAUTH_USER_TYPE = env("GHL_OAUTH_USER_TYPE", default="")
# An empty GHL_SCOPES (as .env.example lists it) means these, not "no scopes".
GHL_SCOPES = env.list("GHL_SCOPES", default=[]) or [
    "contacts.readonly",
    "calendars.readonly",
    "calendars/events.readonly",
    "products.readonly",
    "products/prices.readonly",
    "invoices.readonly",
    "payments/orders.readonly",
    "payments/transactions.readonly",
    "locations.readonly",
    "users.readonly",
    # an agency install lists its locations and mints their tokens (docs/oauth/Scopes.md)
    "oauth.readonly",
    "oauth.write",
    # the write-back (integrations_ghl.writeback.SCOPES): the credits field and the tags
    "contacts.write",
    "locations/customFields.readonly",
    "locations/customFields.write",
]
GHL_CONNECT_TIMEOUT = env.float("GHL_CONNECT_TIMEOUT", default=5.0)
GHL_READ_TIMEOUT = env.float("GHL_READ_TIMEOUT", default=20.0)
GHL_RATE_LIMIT_REQUESTS = env.int("GHL_RATE_LIMIT_REQUESTS", default=100)  # per window
GHL_RATE_LIMIT_WINDOW_SECONDS = env.int("GHL_RATE_LIMIT_WINDOW_SECONDS", default=10)
GHL_MAX_429_RETRIES = env.int("GHL_MAX_429_RETRIES", default=3)
GHL_MAX_BACKOFF_SECONDS = env.float("GHL_MAX_BACKOFF_SECONDS", default=10.0)
# Refresh tokens this long before they expire (the beat task runs every 15 minutes).
GHL_REFRESH_MARGIN_SECONDS = env.int("GHL_REFRESH_MARGIN_SECONDS", default=2 * 3600)
GHL_PICKER_CACHE_SECONDS = env.int("GHL_PICKER_CACHE_SECONDS", default=60)
# The write-back waits this long after a member's first credit event, so a burst is one sync.
GHL_WRITEBACK_DEBOUNCE_SECONDS = env.int("GHL_WRITEBACK_DEBOUNCE_SECONDS", default=10)
# GHL webhook signature keys (PEM). Ed25519: the key GHL's SDK docs and app settings name
# (INTEGRATIONS.md; no primary source in GHL's docs repository). RSA: the legacy key published
# in docs/oauth/WebhookAuthentication.md of GoHighLevel/highlevel-api-docs.
GHL_WEBHOOK_ED25519_PUBLIC_KEY = env(
    "GHL_WEBHOOK_ED25519_PUBLIC_KEY",
    default="-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEAi2HR1srL4o18O8BRa7gVJY7G7bupbN3H9AwJrHCDiOg=\n"
    "-----END PUBLIC KEY-----\n",
)
GHL_WEBHOOK_RSA_PUBLIC_KEY = env(
    "GHL_WEBHOOK_RSA_PUBLIC_KEY",
    default="-----BEGIN PUBLIC KEY-----\n"
    "MIICIjANBgkqhkiG9w0BAQEFAAOCAg8AMIICCgKCAgEAokvo/r9tVgcfZ5DysOSC\n"
    "Frm602qYV0MaAiNnX9O8KxMbiyRKWeL9JpCpVpt4XHIcBOK4u3cLSqJGOLaPuXw6\n"
    "dO0t6Q/ZVdAV5Phz+ZtzPL16iCGeK9po6D6JHBpbi989mmzMryUnQJezlYJ3DVfB\n"
    "csedpinheNnyYeFXolrJvcsjDtfAeRx5ByHQmTnSdFUzuAnC9/GepgLT9SM4nCpv\n"
    "uxmZMxrJt5Rw+VUaQ9B8JSvbMPpez4peKaJPZHBbU3OdeCVx5klVXXZQGNHOs8gF\n"
    "3kvoV5rTnXV0IknLBXlcKKAQLZcY/Q9rG6Ifi9c+5vqlvHPCUJFT5XUGG5RKgOKU\n"
    "J062fRtN+rLYZUV+BjafxQauvC8wSWeYja63VSUruvmNj8xkx2zE/Juc+yjLjTXp\n"
    "IocmaiFeAO6fUtNjDeFVkhf5LNb59vECyrHD2SQIrhgXpO4Q3dVNA5rw576PwTzN\n"
    "h/AMfHKIjE4xQA1SZuYJmNnmVZLIZBlQAF9Ntd03rfadZ+yDiOXCCs9FkHibELhC\n"
    "HULgCsnuDJHcrGNd5/Ddm5hxGQ0ASitgHeMZ0kcIOwKDOzOU53lDza6/Y09T7sYJ\n"
    "PQe7z0cvj7aE4B+Ax1ZoZGPzpJlZtGXCsu9aTEGEnKzmsFqwcSsnw3JB31IGKAyk\n"
    "T1hhTiaCeIY/OwwwNUY2yvcCAwEAAQ==\n"
    "-----END PUBLIC KEY-----\n",
)
# Oldest webhook `timestamp` accepted. GHL resends a delivery it got a 429 for ~10 minutes
# later, up to 6 times, with the same body: replay protection is the stored webhookId / body
# hash (inbound events are never purged), so the age only has to cover GHL's retry horizon.
GHL_WEBHOOK_MAX_AGE_SECONDS = env.int("GHL_WEBHOOK_MAX_AGE_SECONDS", default=2 * 3600)
# Reconciliation (integrations_ghl.reconcile): how far back each run looks for paid invoices,
# orders and refunds it may have missed (GHL filters by date, not by time).
GHL_RECONCILE_LOOKBACK_DAYS = env.int("GHL_RECONCILE_LOOKBACK_DAYS", default=3)
# Inbound events left in received/processing this long are re-enqueued by the sweeper.
INBOUND_EVENT_STUCK_SECONDS = env.int("INBOUND_EVENT_STUCK_SECONDS", default=300)
# Merchant Stripe fallback events wait this long so GHL-native grants win (SPEC §6.2).
MERCHANT_STRIPE_DELAY_SECONDS = env.int("MERCHANT_STRIPE_DELAY_SECONDS", default=600)
# Every Stripe API call (Kotally's billing and merchants' accounts) goes here: a fake in tests.
STRIPE_API_BASE = env("STRIPE_API_BASE", default="https://api.stripe.com")
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="")
STRIPE_BILLING_WEBHOOK_SECRET = env("STRIPE_BILLING_WEBHOOK_SECRET", default="")
STRIPE_PRICE_BASE = env("STRIPE_PRICE_BASE", default="")
STRIPE_PRICE_ADDITIONAL_LOCATION = env("STRIPE_PRICE_ADDITIONAL_LOCATION", default="")

# --- REST framework and OpenAPI -----------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.auth.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["api.auth.HasScope"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Kotally machine API",
    "DESCRIPTION": (
        "Grant, check, deduct, restore and read credits. Every business outcome is HTTP 200 "
        "with ok/reason_code; transport errors use the same envelope with a message."
    ),
    "VERSION": "2.0.0",
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ConfigKindEnum": "entitlements.models.ConfigKind",
        "LedgerKindEnum": "entitlements.models.LedgerKind",
    },
    "SCHEMA_PATH_PREFIX": "/api/v2",
    # Swagger UI from this app's static files, never a CDN (drf-spectacular-sidecar).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"correlation": {"()": "kotally.middleware.CorrelationIdLogFilter"}},
    "formatters": {
        "structured": {
            "format": "%(asctime)s %(levelname)s %(name)s correlation_id=%(correlation_id)s "
            "%(message)s"
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["correlation"],
            "formatter": "structured",
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Lockouts are warnings; the INFO line on every successful sign-in is noise.
        "axes": {"level": "WARNING"},
        # Eager (local) runs would log every in-process task; workers keep the INFO trace.
        "celery.app.trace": {"level": "WARNING" if CELERY_TASK_ALWAYS_EAGER else "INFO"},
    },
}
