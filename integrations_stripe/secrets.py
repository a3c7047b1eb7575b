"""A location's merchant Stripe secrets, decrypted for use (stored by locations.services)."""

import logging

from kotally.lib.crypto import InvalidToken, decrypt
from locations.models import Location

logger = logging.getLogger("kotally.webhooks")


def location_secret(location: Location | None, field: str) -> str:
    """The plain value of one encrypted column; "" when unset or unreadable."""
    if location is None:
        return ""
    try:
        return decrypt(getattr(location, field))
    except InvalidToken:
        logger.error("merchant Stripe %s of %s cannot be decrypted", field, location.location_id)
        return ""
