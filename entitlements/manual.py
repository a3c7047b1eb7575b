"""Manual support actions from the Contacts page (owner/admin, with a note): the rules that
belong to the engine rather than to the view."""

import uuid

from locations.models import Location

from .outcomes import Outcome
from .services import Actor, Payment, credits_grant

MANUAL_PROVIDER = "admin"


def manual_payment() -> Payment:
    """A manual grant is its own payment: a fresh unique id keeps the one-grant-per-payment
    rule (SPEC §2.1) without ever matching another grant."""
    return Payment(
        external_payment_id=f"{MANUAL_PROVIDER}:{uuid.uuid4()}",
        provider=MANUAL_PROVIDER,
        event_type="manual_grant",
    )


def credits_grant_manual(
    *,
    location: Location,
    contact_key: str,
    product_config_id: str,
    actor: Actor,
    credits: int | None = None,
    email: str = "",
    name: str = "",
) -> Outcome:
    """Grant one lot of the config — or of `credits` credits, any number — to the contact as
    a manual payment; refusals as services.credits_grant."""
    return credits_grant(
        location=location,
        contact_key=contact_key,
        product_config_id=product_config_id,
        payment=manual_payment(),
        actor=actor,
        credits=credits,
        email=email,
        name=name,
    )
