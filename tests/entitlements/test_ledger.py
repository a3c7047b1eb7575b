import pytest

from entitlements.models import LedgerEntry
from tests.entitlements.helpers import grant


@pytest.fixture
def entry(location, package):
    grant(location, package)
    return LedgerEntry.objects.get()


def test_ledger_entry_cannot_be_saved_again(entry):
    entry.amount = 99
    with pytest.raises(TypeError):
        entry.save()


def test_ledger_entry_cannot_be_deleted(entry):
    with pytest.raises(TypeError):
        entry.delete()


def test_ledger_queryset_cannot_update(entry):
    with pytest.raises(TypeError):
        LedgerEntry.objects.filter(pk=entry.pk).update(amount=99)


def test_ledger_queryset_cannot_delete(entry):
    with pytest.raises(TypeError):
        LedgerEntry.objects.all().delete()
    assert LedgerEntry.objects.get().amount == 10
