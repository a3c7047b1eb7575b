"""Issue 13 item 3: offsets Python accepts (±23:59) but PostgreSQL does not (±15:59) are
normalised to UTC at the edge; nothing reaches the database with such an offset."""

from datetime import UTC, datetime

from entitlements.models import Appointment, PaymentEvent
from entitlements.selectors import encode_cursor
from kotally.lib.timeutil import parse_aware
from tests.api.conftest import POSTS, grant_body, move_body, read_url


def test_parse_aware_returns_the_instant_in_utc():
    assert parse_aware("2030-01-01T10:00:00+20:00") == datetime(2029, 12, 31, 14, tzinfo=UTC)
    assert parse_aware("2030-01-01T10:00:00+20:00").tzinfo is UTC


def test_grant_paid_at_with_a_large_offset_is_stored_in_utc(api, package):
    body = grant_body(package, paid_at="2030-01-01T10:00:00+20:00")
    assert api.post_json(POSTS["grants"], body).json()["ok"] is True
    assert PaymentEvent.objects.get().paid_at == datetime(2029, 12, 31, 14, tzinfo=UTC)


def test_deduct_appointment_time_with_a_large_offset_is_stored_in_utc(api, package):
    api.post_json(POSTS["grants"], grant_body(package))
    body = move_body(external_ref="b-1", appointment_time="2030-01-01T10:00:00-23:59")
    assert api.post_json(POSTS["deduct"], body).json()["reason_code"] == "deducted"
    assert Appointment.objects.get().start_time == datetime(2030, 1, 2, 9, 59, tzinfo=UTC)


def test_cursors_with_a_large_offset_are_read_not_500(api, package):
    api.post_json(POSTS["grants"], grant_body(package))
    past = encode_cursor(["2030-01-01T10:00:00+20:00", 1])
    timeline = encode_cursor(["2030-01-01T10:00:00+20:00", 0, 1])
    assert api.get(read_url("m1", "/appointments/past", cursor=past)).status_code == 200
    assert api.get(read_url("m1", "/timeline", cursor=timeline)).status_code == 200


def test_admin_timeline_link_with_a_large_offset_is_read_not_500(login, owner, api, package):
    api.post_json(POSTS["grants"], grant_body(package))
    contact = PaymentEvent.objects.get().contact
    cursor = encode_cursor(["2030-01-01T10:00:00-20:00", 0, 1])
    response = login(owner).get(f"/contacts/{contact.pk}/?timeline={cursor}")
    assert response.status_code == 200
