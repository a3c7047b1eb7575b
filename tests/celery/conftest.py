"""A real Celery worker subprocess against the test database and Redis.

Skipped (with the reason printed) without PostgreSQL and REDIS_URL; with
KOTALLY_REQUIRE_SERVICES=1 a missing service fails the run instead.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from kotally.celery import app as celery_app
from tests.ghl.conftest import pack  # noqa: F401 (fixtures)
from tests.ghl.signing import ghl_signer  # noqa: F401 (fixtures)
from tests.reliability.services import worker_command

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def services_available():
    missing = []
    if connection.vendor != "postgresql":
        missing.append("PostgreSQL (DATABASE_URL=postgres://...)")
    if not os.environ.get("REDIS_URL"):
        missing.append("Redis (REDIS_URL=redis://...)")
    if missing:
        reason = "needs " + " and ".join(missing) + " for a real Celery worker"
        if os.environ.get("KOTALLY_REQUIRE_SERVICES"):
            pytest.fail(reason + " (KOTALLY_REQUIRE_SERVICES is set)")
        print(f"\nSKIP: {reason}", file=sys.stderr)
        pytest.skip(reason)


@pytest.fixture
def broker(services_available, settings):
    """The web side (live_server) enqueues to Redis instead of running tasks eagerly."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    celery_app.control.purge()  # nothing left over from an earlier run reaches our worker
    yield celery_app
    celery_app.conf.task_always_eager = previous


def _database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    def __init__(self, log_path: Path):
        self.log_path = log_path
        self.process = None

    def start(self):
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATABASE_URL": _database_url(),  # the *test* database of this run
            "REDIS_URL": os.environ["REDIS_URL"],
        }
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            worker_command(),
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        return self

    def kill(self):
        """SIGKILL: no graceful shutdown, the task in hand is neither acked nor finished."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


@pytest.fixture
def workers(broker, tmp_path):
    """workers() starts a new worker; all are stopped at teardown."""
    started = []

    def start():
        worker = Worker(tmp_path / "worker.log").start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def wait_for(condition, *, timeout: float = 60, what: str = "condition", worker=None):
    """Poll `condition()` until truthy, at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    detail = f"\nworker log:\n{worker.log()}" if worker else ""
    pytest.fail(f"timed out after {timeout}s waiting for {what}{detail}")
