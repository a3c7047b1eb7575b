"""Product config writes from the admin UI: create, edit, remove (soft delete).

Kept beside services.py (the credit engine) rather than in it: these are plain configuration
writes with no credit movement.
"""

from django.db import IntegrityError, transaction
from django.utils import timezone

from locations.models import Location

from .models import ConfigKind, Contact, ProductConfig, RenewalPolicy
from .services import balances_refresh

EDITABLE_FIELDS = (
    "name",
    "credits_total",
    "monthly_credits",
    "expiry_days",
    "calendar_ids",
    "ghl_product_id",
    "ghl_price_id",
    "stripe_price_id",
    "stripe_product_id",
    "priority",
    "renewal_policy",
    "low_credits_threshold",
)


class DuplicateGhlProduct(Exception):
    """Another active config in the location already maps this GHL product (and price)."""


def _normalize(kind: str, fields: dict) -> dict:
    """Keep only the credit field that matches the kind; packages never reset."""
    fields = dict(fields)
    if kind == ConfigKind.PACKAGE:
        fields["monthly_credits"] = None
        fields["renewal_policy"] = RenewalPolicy.ACCUMULATE
    else:
        fields["credits_total"] = None
    return fields


def _save(config: ProductConfig, **save_kwargs) -> ProductConfig:
    try:
        # A savepoint, so the unique violation leaves any outer transaction usable.
        with transaction.atomic():
            config.save(**save_kwargs)
    except IntegrityError as exc:
        raise DuplicateGhlProduct(config.ghl_product_id) from exc
    return config


def product_config_create(*, location: Location, kind: str, **fields) -> ProductConfig:
    """Raises DuplicateGhlProduct when the database's one-active-mapping rule refuses it."""
    fields = _normalize(kind, {k: fields[k] for k in EDITABLE_FIELDS if k in fields})
    return _save(ProductConfig(location=location, kind=kind, **fields))


def product_config_update(*, config: ProductConfig, **fields) -> ProductConfig:
    """Edit a config in place; its location and kind stay as created (lots refer to them)."""
    fields = _normalize(config.kind, {k: fields[k] for k in EDITABLE_FIELDS if k in fields})
    for name, value in fields.items():
        setattr(config, name, value)
    return _save(config, update_fields=[*fields, "updated_at"])


def product_config_remove(*, config: ProductConfig, now=None) -> bool:
    """Soft delete: inactive from now on, so its lots stop being usable and deducts against it
    answer CONFIG_NOT_FOUND; history is kept. False when it was already removed."""
    if not config.active:
        return False
    config.active = False
    config.removed_at = now or timezone.now()
    with transaction.atomic():
        config.save(update_fields=["active", "removed_at", "updated_at"])
        # The stored balances of its members no longer count its lots.
        balances_refresh(
            Contact.objects.filter(
                entitlements__product_config=config, entitlements__credits_remaining__gt=0
            ),
            now=config.removed_at,
        )
    return True
