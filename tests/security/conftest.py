"""The admin UI helpers (tests/ui/conftest.py) for the security tests, and the signed-webhook
fixtures of tests/ghl/signing.py and tests/billing/conftest.py (test_hostile_inputs_newer)."""

from tests.billing.conftest import stripe_billing  # noqa: F401
from tests.fake_stripe import fake_stripe  # noqa: F401
from tests.ghl.signing import celery_eager, ghl_signer, merchant_location, post_ghl  # noqa: F401
from tests.ui.conftest import login  # noqa: F401
