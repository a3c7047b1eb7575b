"""Faults against a real deployment shape: gunicorn and a Celery worker on a private
PostgreSQL cluster and a private Redis, which the tests stop and restart (SPEC §5.2, §5.3,
§3.3). Nothing may be lost or applied twice in any of them.

The worker killed mid-task is proven in tests/celery/test_worker.py.
"""

import json
import time
import uuid

import pytest
import requests
from celery import Celery

from tests.ghl.signing import GhlSigner, _pem, ghl_event
from tests.reliability.services import Kotally, wait_until

DATABASE = "kotally_faults"
CALENDAR = "cal_group_classes"  # seed_demo's package: 10 credits, product prod_demo_class_pack
ANSWER_WITHIN = 10  # seconds for any answer while a service is down
PROCESSED_WITHIN = 60  # seconds; the worker's broker reconnect backs off up to ~30 s


class Stack:
    """The running app plus its private services, seeded by seed_demo."""

    def __init__(
        self,
        app: Kotally,
        postgres,
        redis,
        signer: GhlSigner,
        seeded: dict,
        database: str,
        broker: str,
    ):
        self.app, self.postgres, self.redis, self.signer = app, postgres, redis, signer
        self.database, self.broker = database, broker
        self.token = seeded["token"]
        self.package = seeded["product_configs"]["package"]["id"]

    def webhook(self, payload: dict) -> requests.Response:
        body = json.dumps(payload).encode()
        return requests.post(
            f"{self.app.url}/webhooks/ghl",
            data=body,
            timeout=30,
            headers={
                "Content-Type": "application/json",
                "X-GHL-Signature": self.signer.ed25519_header(body),
            },
        )

    def api(self, path: str, body: dict) -> requests.Response:
        return requests.post(
            f"{self.app.url}/api/v2/{path}",
            json=body,
            timeout=30,
            headers={"Authorization": f"Bearer {self.token}"},
        )

    def member(self, contact: str) -> str:
        """A contact holding the 10-credit package, granted over the API."""
        reply = self.api(
            "grants",
            {
                "location_id": "loc_main",
                "external_contact_id": contact,
                "request_id": contact,
                "external_payment_id": f"pay-{contact}",
                "product_config_id": self.package,
            },
        )
        assert reply.json()["reason_code"] == "grant_applied", reply.text
        return contact

    def sql(self, query: str, *params) -> list[tuple]:
        return self.postgres.query(self.database, query, params)

    def balance(self, contact: str) -> int:
        return self.sql(
            "SELECT coalesce(sum(e.credits_remaining), 0) FROM entitlements_entitlement e "
            "JOIN entitlements_contact c ON c.id = e.contact_id WHERE c.external_id = %s",
            contact,
        )[0][0]

    def deducts(self, external_ref: str) -> int:
        return self.sql(
            "SELECT count(*) FROM entitlements_ledgerentry "
            "WHERE kind = 'deduct' AND external_ref = %s",
            external_ref,
        )[0][0]

    def statuses(self, payloads: list[dict]) -> list[str]:
        ids = [payload["webhookId"] for payload in payloads]
        rows = dict(
            self.sql(
                "SELECT event_id, status FROM inbox_inboundevent WHERE event_id = ANY(%s)",
                ids,
            )
        )
        return [rows.get(event_id, "(not stored)") for event_id in ids]

    def sweep(self) -> None:
        """What Celery beat does every minute: send the sweeper task to the worker."""
        sender = Celery(broker=self.broker)
        try:
            sender.send_task("inbox.sweep_stuck_events")
        finally:
            sender.close()

    def wait(self, condition, what: str) -> None:
        try:
            wait_until(
                condition, timeout=PROCESSED_WITHIN, what=what, log=lambda: self.app.log("worker")
            )
        except TimeoutError as exc:
            pytest.fail(str(exc))


CONNECTION_MODES = ["kept-connections", "pool"]


@pytest.fixture(scope="module", params=CONNECTION_MODES)
def stack(request, private_postgres, private_redis, tmp_path_factory):
    """Both ways settings.py connects to PostgreSQL: CONN_MAX_AGE or psycopg's pool."""
    signer = GhlSigner()
    database = f"{DATABASE}_{request.param.replace('-', '_')}"
    # A broker database per stack: a task left from one must never reach the other's worker.
    broker = private_redis.url(CONNECTION_MODES.index(request.param))
    private_postgres.create_database(database)
    app = Kotally(
        {
            "DATABASE_POOL": str(request.param == "pool"),
            "DATABASE_URL": private_postgres.url(database),
            "REDIS_URL": broker,
            "GHL_WEBHOOK_ED25519_PUBLIC_KEY": _pem(signer.ed25519.public_key()),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "INBOUND_EVENT_STUCK_SECONDS": "0",  # the sweeper takes whatever is not finished
        },
        tmp_path_factory.mktemp("faults"),
    )
    try:
        app.manage("migrate", "--noinput")
        seeded = json.loads(
            app.manage(
                "seed_demo", "--json", "--location-id", "loc_main", "--billing-status", "active"
            )
        )
        app.start_web()
        app.start_worker()
        yield Stack(app, private_postgres, private_redis, signer, seeded, database, broker)
    finally:
        app.stop()


def booking(contact: str, appointment_id: str) -> dict:
    payload = ghl_event("AppointmentCreate")
    start = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() + 3 * 86400))
    payload["appointment"].update(
        id=appointment_id, contactId=contact, calendarId=CALENDAR, startTime=start
    )
    return payload


def test_webhooks_arriving_while_redis_is_down_are_stored_then_processed_once_by_the_sweeper(
    stack,
):
    contact = stack.member("redis-outage")
    bookings = [booking(contact, f"appt_redis_{n}") for n in range(3)]
    stack.redis.stop()
    try:
        # GHL sends each booking, and redelivers the first one with the same webhookId.
        replies = [stack.webhook(payload).status_code for payload in [*bookings, bookings[0]]]
        stored = stack.statuses(bookings)
    finally:
        stack.redis.start()
    assert (replies, stored) == ([200] * 4, ["received"] * 3)
    stack.sweep()
    stack.wait(lambda: stack.statuses(bookings) == ["processed"] * 3, "the swept bookings")
    assert [stack.deducts(f"appt_redis_{n}") for n in range(3)] == [1, 1, 1]
    assert stack.balance(contact) == 7


def test_webhook_while_postgres_is_down_answers_429_and_its_redelivery_is_processed_once(
    stack,
):
    contact = stack.member("pg-outage-webhook")
    payload = booking(contact, "appt_pg_outage")
    stack.postgres.stop()
    try:
        refused = stack.webhook(payload)
    finally:
        stack.postgres.start()
    # Answered within GHL's patience, not after a long wait for a database connection.
    assert refused.elapsed.total_seconds() < ANSWER_WITHIN
    assert (refused.status_code, refused.json()["reason_code"]) == (429, "TRY_AGAIN")
    assert stack.webhook(payload).json()["reason_code"] == "received"  # GHL's retry
    stack.wait(lambda: stack.statuses([payload]) == ["processed"], "the redelivered booking")
    assert (stack.deducts("appt_pg_outage"), stack.balance(contact)) == (1, 9)


def test_api_deduct_while_postgres_is_down_answers_the_json_envelope_and_applies_nothing(
    stack,
):
    contact = stack.member("pg-outage-api")
    deduct = {
        "location_id": "loc_main",
        "external_contact_id": contact,
        "calendar_id": CALENDAR,
        "request_id": f"deduct-{uuid.uuid4().hex}",
        "external_ref": "appt_api_outage",
    }
    stack.postgres.stop()
    try:
        failed = stack.api("entitlements/deduct", deduct)
    finally:
        stack.postgres.start()
    assert failed.elapsed.total_seconds() < ANSWER_WITHIN
    assert failed.headers["Content-Type"].startswith("application/json"), failed.text[:300]
    assert (failed.status_code, failed.json()["reason_code"]) == (500, "INTERNAL_ERROR")
    assert stack.balance(contact) == 10
    retried = stack.api("entitlements/deduct", deduct)  # the client retries the same request
    assert (retried.json()["reason_code"], stack.balance(contact)) == ("deducted", 9)


def test_event_the_worker_takes_while_postgres_is_down_is_retried_and_processed_once(stack):
    contact = stack.member("pg-outage-worker")
    payload = booking(contact, "appt_worker_outage")
    retries = "retry: Retry in"  # Celery's log line for a task retried with backoff
    seen = stack.app.log_count("worker", retries)
    stack.app.stop_worker()
    try:
        accepted = stack.webhook(payload)  # stored; its task waits in Redis
        stack.postgres.stop()
        stack.app.start_worker()
        stack.wait(
            lambda: stack.app.log_count("worker", retries) > seen,
            "the worker to fail on the database and schedule a retry",
        )
    finally:
        stack.postgres.start()
        stack.app.start_worker()
    assert accepted.json()["reason_code"] == "received"
    stack.wait(lambda: stack.statuses([payload]) == ["processed"], "the retried booking")
    assert (stack.deducts("appt_worker_outage"), stack.balance(contact)) == (1, 9)


def _rotate(stack) -> None:
    """Rotate the API token from another process (`manage.py shell`), as the admin page does;
    the web process's copy of the client is then stale, and only the epoch in Redis says so."""
    client_id = stack.token.split("_")[1]
    stack.token = stack.app.manage(
        "shell",
        "-c",
        "from api.models import ApiClient; from api.services import api_client_rotate; "
        f"print(api_client_rotate(client=ApiClient.objects.get(client_id='{client_id}')))",
    ).splitlines()[-1]  # the last line: Django's shell may say what it imported first


def test_a_token_rotated_by_another_process_stops_working_at_once(stack):
    """The web process keeps the authenticated client (decision 72); a rotation committed by
    another process refuses the old token on the very next call, whichever thread takes it."""
    contact = stack.member("rotation")
    old = stack.token
    for _ in range(8):  # every thread of the web process authenticates (and keeps) the client
        assert stack.api("entitlements/check-eligibility", _check(contact)).status_code == 200
    _rotate(stack)
    for token in [old] * 8:
        reply = requests.post(
            f"{stack.app.url}/api/v2/entitlements/check-eligibility",
            json=_check(contact),
            timeout=30,
            headers={"Authorization": f"Bearer {token}"},
        )
        assert (reply.status_code, reply.json()["reason_code"]) == (401, "UNAUTHENTICATED")
    assert stack.api("entitlements/check-eligibility", _check(contact)).status_code == 200


def test_while_redis_is_down_the_api_answers_from_the_database_and_changes_wait(stack):
    """Redis unreachable: calls are authenticated from the database (the rate limit fails
    open), and a rotation fails whole instead of leaving processes with a stale client."""
    contact = stack.member("redis-outage-api")
    assert stack.api("entitlements/check-eligibility", _check(contact)).status_code == 200
    token = stack.token
    secret = "SELECT secret_hash FROM api_apiclient WHERE client_id = %s"
    before = stack.sql(secret, uuid.UUID(token.split("_")[1]))
    stack.redis.stop()
    try:
        answered = stack.api("entitlements/check-eligibility", _check(contact))
        with pytest.raises(RuntimeError, match="ConnectionError"):
            _rotate(stack)
    finally:
        stack.token = token
        stack.redis.start()
    assert answered.elapsed.total_seconds() < ANSWER_WITHIN
    assert (answered.status_code, answered.json()["reason_code"]) == (200, "eligible")
    assert stack.sql(secret, uuid.UUID(token.split("_")[1])) == before  # nothing rotated
    assert stack.api("entitlements/check-eligibility", _check(contact)).status_code == 200


def _check(contact: str) -> dict:
    return {"location_id": "loc_main", "external_contact_id": contact, "calendar_id": CALENDAR}
