"""Settings for the benchmark stack only: production settings plus the framework-floor route.

Production code carries nothing bench-only; gunicorn and the Celery worker of `make bench` run
with DJANGO_SETTINGS_MODULE=bench.settings.
"""

from kotally.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"

# The runner names a queue per run, so a task left over from an interrupted run can never reach
# this run's worker (or another run's database).
CELERY_TASK_DEFAULT_QUEUE = env("BENCH_QUEUE", default="bench")  # noqa: F405
