"""Test runs: the same kotally/settings.py, with test-only values for the secrets it requires.

DATABASE_URL / REDIS_URL from the environment are kept (PostgreSQL and Redis in CI).
"""

import os

os.environ.setdefault("DJANGO_DEBUG", "False")
os.environ.setdefault(
    "DJANGO_SECRET_KEY", "test-only-secret-key-not-for-production-0123456789-abcdefghijklmnop"
)
os.environ.setdefault("DATABASE_URL", "sqlite:///test-db.sqlite3")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
os.environ.setdefault("FIELD_ENCRYPTION_KEY", "dGVzdC1vbmx5LWtvdGFsbHktZmllbGQta2V5LTMyYnk=")
os.environ.setdefault("SECURE_COOKIES", "False")
os.environ.setdefault("SECURE_SSL_REDIRECT", "False")  # the test client speaks plain HTTP
os.environ.setdefault("KOTALLY_SINGLE_PROCESS", "True")  # in-process rate limit without Redis
# The cache outlives a test (and, on Redis, a run): the per-hour form limits would add up across
# tests. tests/security sets them low, with addresses and emails of its own.
os.environ.setdefault("ACCOUNT_FORMS_PER_IP_PER_HOUR", "100000")
os.environ.setdefault("PASSWORD_RESET_EMAILS_PER_HOUR", "100000")

from kotally.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast tests only
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
STATIC_ROOT = None  # tests serve static files through the finders, never collectstatic
WHITENOISE_USE_FINDERS = True
