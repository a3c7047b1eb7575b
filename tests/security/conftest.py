"""The admin UI helpers (tests/ui/conftest.py) for the security tests."""

from tests.ui.conftest import login  # noqa: F401
