import pytest

from tests.ghl.conftest import pack  # noqa: F401 (fixtures)
from tests.ghl.signing import celery_eager, ghl_signer, post_ghl  # noqa: F401 (fixtures)
from tests.reliability.services import PrivatePostgres, PrivateRedis, skip_or_fail


@pytest.fixture(scope="session")
def private_postgres():
    """A PostgreSQL cluster of this run only, on a free port: tests may stop and restart it."""
    server = PrivatePostgres()
    if missing := server.missing():
        skip_or_fail(f"needs {missing} for a private PostgreSQL cluster")
    try:
        server.init().start()
        yield server
    finally:
        server.destroy()


@pytest.fixture(scope="session")
def private_redis():
    """A redis-server of this run only, on a free port: tests may stop and restart it."""
    server = PrivateRedis()
    if missing := server.missing():
        skip_or_fail(f"needs {missing} for a private Redis")
    try:
        server.start()
        yield server
    finally:
        server.destroy()
