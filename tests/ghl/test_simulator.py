"""`manage.py ghl_simulate` posts signed payloads a DEBUG server accepts."""

import pytest
from django.core.management import CommandError, call_command

from entitlements.models import Appointment
from inbox.models import InboundEvent
from tests.ghl.signing import balance

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def debug_server(live_server, settings, celery_eager):
    settings.DEBUG = True  # the dev public key is trusted only in DEBUG
    return live_server.url


def simulate(url, event, *args):
    call_command(
        "ghl_simulate",
        event,
        "--url",
        url,
        "--location-id",
        "loc_main",
        "--contact-id",
        "sim_member",
        *args,
    )


def test_simulated_purchase_booking_and_cancel_move_the_ledger(debug_server, location, pack):
    simulate(debug_server, "purchase", "--product-id", "prod_pack10")
    simulate(debug_server, "booking", "--calendar-id", "cal_pack", "--appointment-id", "ap_1")
    assert balance(location, "sim_member") == 9
    simulate(debug_server, "cancel", "--calendar-id", "cal_pack", "--appointment-id", "ap_1")
    assert balance(location, "sim_member") == 10
    assert Appointment.objects.get().status == "cancelled"


def test_simulated_install_is_stored(debug_server, location):
    simulate(debug_server, "install")
    assert InboundEvent.objects.get().event_type == "INSTALL"


def test_simulator_fails_loudly_when_the_server_refuses(live_server, location):
    with pytest.raises(CommandError, match="401"):
        simulate(live_server.url, "install")  # not DEBUG: the dev key is not trusted
