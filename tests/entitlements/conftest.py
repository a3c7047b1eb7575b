import pytest

from tests.entitlements.helpers import assert_ledger_consistent


@pytest.fixture(autouse=True)
def ledger_stays_consistent(db):
    """Every engine scenario ends with the ledger invariant holding (SPEC §1, invariant 1).

    Depends on `db`, so it tears down (and checks) before the test's data is rolled back.
    """
    yield
    assert_ledger_consistent()
