from entitlements import services
from entitlements.models import LedgerEntry, PaymentEvent, PaymentOutcome


def _record(location, outcome=PaymentOutcome.UNMATCHED, contact="m1"):
    return services.payment_record(
        location=location,
        contact_key=contact,
        payment=services.Payment("inv-1", provider="ghl", amount_cents=4900, currency="usd"),
        outcome=outcome,
        explanation="no active product config for GHL product X",
    )


def test_unmatched_payment_is_kept_for_inspection_without_credits(location):
    payment = _record(location)
    assert (payment.outcome, payment.currency, payment.entitlement) == ("unmatched", "USD", None)
    assert not LedgerEntry.objects.exists()


def test_redelivered_payment_returns_the_stored_row(location):
    first = _record(location)
    again = _record(location, outcome=PaymentOutcome.AMBIGUOUS)
    assert again.pk == first.pk
    assert PaymentEvent.objects.get().outcome == "unmatched"


def test_payment_without_a_contact_is_kept(location):
    assert _record(location, contact=None).contact is None
