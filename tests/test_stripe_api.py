"""The Stripe API version is pinned in one place (kotally/lib/stripe_api.py) and sent on every
call; an SDK upgrade that moves its own version fails here, so the pin changes on purpose."""

import stripe

from kotally.lib.stripe_api import API_VERSION, client


def test_the_pinned_version_is_the_installed_sdks_own():
    assert API_VERSION == stripe.api_version


def test_clients_use_the_pinned_version_and_the_configured_api_base(settings):
    settings.STRIPE_API_BASE = "http://127.0.0.1:12111"
    options = client("sk_test_x")._requestor._options
    assert options.stripe_version == API_VERSION
    assert options.base_addresses["api"] == "http://127.0.0.1:12111"
