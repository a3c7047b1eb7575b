from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from outbound import services
from outbound.models import Delivery, DeliveryStatus, Endpoint
from tests.entitlements.helpers import run_concurrently
from tests.factories import MembershipFactory, UserFactory

from .conftest import announce, run_due

pytestmark = pytest.mark.django_db


def test_delivery_is_signed_with_the_endpoint_secret(location, endpoint, receiver):
    endpoint()
    announce(location, balance=3)
    run_due(timezone.now())
    [request] = receiver.requests
    assert request["signature_ok"]
    assert request["headers"]["Kotally-Signature"].startswith("t=")
    assert set(request["body"]) == {"id", "type", "created", "location_id", "data"}
    assert request["body"]["location_id"] == "loc_main"
    assert request["body"]["data"] == {"contact_id": "m1", "balance": 3}


def test_only_subscribed_event_types_are_sent(location, endpoint, receiver):
    endpoint(types=["credits.low"])
    announce(location, type="credits.deducted")
    announce(location, type="credits.low")
    run_due(timezone.now())
    assert receiver.types() == ["credits.low"]


def test_a_re_announced_fact_is_sent_once(location, endpoint, receiver):
    endpoint()
    announce(location, key="led_1")
    announce(location, key="led_1")
    run_due(timezone.now())
    assert len(receiver.requests) == 1


def test_failures_are_retried_on_the_exponential_schedule(location, endpoint, receiver):
    endpoint()
    receiver.default_status = 500
    t0 = timezone.now()
    announce(location, at=t0)
    sent_at = []
    for minute in range(0, 16):  # the clock moves one minute at a time
        now = t0 + timedelta(minutes=minute)
        if run_due(now):
            sent_at.append(minute)
    assert sent_at == [0, 1, 3, 7, 15]  # waits of 1, 2, 4, 8 minutes
    delivery = Delivery.objects.get()
    assert delivery.attempts == 5 and delivery.response_status == 500
    assert delivery.next_attempt_at == t0 + timedelta(minutes=15 + 16)


def test_retry_waits_are_capped_at_six_hours():
    assert [services.retry_delay(n) for n in (1, 9, 10, 20)] == [
        timedelta(minutes=1),
        timedelta(minutes=256),
        timedelta(hours=6),
        timedelta(hours=6),
    ]


def test_a_success_after_failures_is_delivered_once(location, endpoint, receiver):
    endpoint()
    receiver.statuses = [503, 500]
    t0 = timezone.now()
    announce(location, at=t0)
    for minutes in (0, 1, 3, 7):
        run_due(t0 + timedelta(minutes=minutes))
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempts == 3
    assert Endpoint.objects.get().failing_since is None
    assert len({r["body"]["id"] for r in receiver.requests}) == 1


def test_one_members_events_arrive_in_order_when_the_first_is_retried(location, endpoint, receiver):
    endpoint()
    receiver.statuses = [500]  # the first attempt fails
    t0 = timezone.now()
    announce(location, contact="m1", at=t0, step=1)
    announce(location, contact="m1", at=t0, step=2)
    announce(location, contact="m2", at=t0, step=1)
    run_due(t0)
    run_due(t0 + timedelta(minutes=1))
    got = [(r["body"]["data"]["contact_id"], r["body"]["data"]["step"]) for r in receiver.requests]
    # m1's second event waited for its first; m2 was not held up by m1.
    assert got == [("m1", 1), ("m2", 1), ("m1", 1), ("m1", 2)]


def test_an_endpoint_failing_for_three_days_is_disabled_and_owners_emailed(
    location, endpoint, receiver, owner, celery_eager, django_capture_on_commit_callbacks
):
    MembershipFactory(
        workspace=location.workspace, role="admin", user=UserFactory(email="admin@example.com")
    )
    endpoint()
    receiver.default_status = 500
    t0 = timezone.now()
    announce(location, at=t0)
    now = t0
    while now <= t0 + timedelta(days=3, hours=6):
        with django_capture_on_commit_callbacks(execute=True):  # the email goes after commit
            run_due(now)
        now += timedelta(minutes=30)
    hook = Endpoint.objects.get()
    assert not hook.active and "HTTP 500" in hook.disabled_reason
    assert Delivery.objects.get().status in (DeliveryStatus.FAILED, DeliveryStatus.PENDING)
    [email] = mail.outbox
    assert email.to == ["owner@example.com"] and receiver.url in email.body


def test_a_delivery_is_given_up_three_days_after_the_event(location, endpoint, receiver):
    hook = endpoint()
    receiver.default_status = 500
    t0 = timezone.now()
    announce(location, at=t0)
    now = t0
    while now <= t0 + timedelta(days=3, hours=7):
        run_due(now)
        # keep the endpoint's own failure clock young: this test is about the delivery
        Endpoint.objects.filter(pk=hook.pk).update(failing_since=now)
        now += timedelta(minutes=30)
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED and delivery.next_attempt_at is None
    assert 15 <= delivery.attempts <= 25


def test_a_disabled_endpoint_gets_nothing_until_enabled(location, endpoint, receiver):
    hook = endpoint()
    services.endpoint_disable(endpoint=hook, reason="by hand")
    announce(location)  # not subscribed while disabled: nothing stored for it
    services.endpoint_enable(endpoint=hook)
    announce(location, step=2)
    run_due(timezone.now())
    assert [r["body"]["data"].get("step") for r in receiver.requests] == [2]


def test_pending_deliveries_resume_when_the_endpoint_is_enabled(location, endpoint, receiver):
    hook = endpoint()
    t0 = timezone.now()
    announce(location, at=t0)
    services.endpoint_disable(endpoint=hook, reason="by hand", now=t0)
    assert run_due(t0) == 0
    services.endpoint_enable(endpoint=hook, now=t0)
    assert run_due(t0) == 1 and len(receiver.requests) == 1


def test_resend_sends_a_delivered_event_again(location, endpoint, receiver):
    endpoint()
    t0 = timezone.now()
    announce(location, at=t0)
    run_due(t0)
    delivery = Delivery.objects.select_related("endpoint").get()
    assert services.delivery_resend(delivery=delivery, now=t0 + timedelta(hours=1))
    run_due(t0 + timedelta(hours=1))
    first, again = receiver.requests
    assert first["body"] == again["body"] and again["signature_ok"]
    assert Delivery.objects.get().attempts == 2


def test_an_attempt_refuses_a_url_that_became_private(location, endpoint, receiver, settings):
    endpoint()  # saved while private URLs were allowed
    settings.OUTBOUND_ALLOW_PRIVATE_URLS = False
    announce(location)
    run_due(timezone.now())
    delivery = Delivery.objects.get()
    assert receiver.requests == []
    assert delivery.response_status is None and "UnsafeUrl" in delivery.last_error


@pytest.mark.django_db(transaction=True)
def test_two_workers_holding_one_delivery_send_it_once(postgres, location, endpoint, receiver):
    endpoint()
    now = timezone.now()
    announce(location, at=now)
    pk = Delivery.objects.get().pk
    made = run_concurrently(8, lambda _: services.deliver(delivery_pk=pk, now=now))
    assert sorted(made) == [False] * 7 + [True]
    assert len(receiver.requests) == 1
