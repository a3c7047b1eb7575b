"""What the Product Config form offers to pick: a location's GHL products, prices, calendars.

Read through client.py and cached briefly, so opening the form repeatedly costs GHL one
round of calls a minute per location (products + one price call per product + calendars).
"""

from django.conf import settings
from django.core.cache import cache

from locations.models import Location

from . import client, installations

# Price lists are one call per product; beyond this many products ids are typed by hand.
MAX_PRODUCTS_WITH_PRICES = 50


def _product(auth, product: dict, with_prices: bool) -> dict:
    product_id = product.get("_id") or product.get("id") or ""
    prices = client.list_prices(auth, product_id) if with_prices and product_id else []
    return {
        "id": product_id,
        "name": product.get("name", ""),
        "prices": [
            {
                "id": p.get("_id") or p.get("id") or "",
                "name": p.get("name", ""),
                "amount": p.get("amount"),
                "currency": p.get("currency", ""),
            }
            for p in prices
        ],
    }


def picker_options(location: Location) -> dict:
    """{"products": [{id, name, prices: [{id, name, amount, currency}]}],
    "calendars": [{id, name}]}. Raises client.GhlError (GhlAuthError when not connected)."""
    key = f"ghl:pickers:{location.location_id}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    auth = installations.token_source(location)
    products = client.list_products(auth)
    options = {
        "products": [
            _product(auth, p, with_prices=i < MAX_PRODUCTS_WITH_PRICES)
            for i, p in enumerate(products)
        ],
        "calendars": [
            {"id": c.get("id") or c.get("_id") or "", "name": c.get("name", "")}
            for c in client.list_calendars(auth)
        ],
    }
    cache.set(key, options, timeout=settings.GHL_PICKER_CACHE_SECONDS)
    return options
