"""Outbound webhook tests: a real HTTP receiver on 127.0.0.1 (stdlib http.server in a
thread) that checks every Kotally-Signature, and a driven clock (`run_due(now)`)."""

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from entitlements.events import DomainEvent
from outbound import services
from tests.ghl.signing import celery_eager, ghl_signer, post_ghl  # noqa: F401 (fixtures)


def verify(secret: str, header: str, body: bytes) -> bool:
    """What a receiver does (the README's snippet, in short)."""
    parts = dict(item.split("=", 1) for item in header.split(","))
    expected = hmac.new(
        secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


class Receiver:
    """Records each POST (signature checked with `secret`) and answers `statuses` in turn,
    then `default_status`."""

    def __init__(self):
        self.requests = []
        self.statuses = []
        self.default_status = 200
        self.secret = ""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(
                    {
                        "headers": dict(self.headers),
                        "body": json.loads(body),
                        "signature_ok": verify(
                            receiver.secret, self.headers["Kotally-Signature"], body
                        ),
                    }
                )
                status = receiver.statuses.pop(0) if receiver.statuses else receiver.default_status
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def types(self):
        return [r["body"]["type"] for r in self.requests]


@pytest.fixture
def receiver(settings):
    settings.OUTBOUND_ALLOW_PRIVATE_URLS = True
    receiver = Receiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture
def endpoint(location, receiver):
    def make(types=("credits.deducted",), url=None):
        endpoint, secret = services.endpoint_create(
            location=location, url=url or receiver.url, event_types=list(types)
        )
        receiver.secret = secret
        return endpoint

    return make


def announce(location, type="credits.deducted", contact="m1", key=None, at=None, **data):
    """A domain event straight to the fan-out, as entitlements.events delivers it."""
    announce.count += 1
    services.fan_out(
        DomainEvent(
            type=type,
            location_pk=location.pk,
            data={"contact_id": contact, **data},
            key=key or f"k{announce.count}",
            at=at or timezone.now(),
        )
    )


announce.count = 0


def run_due(now) -> int:
    """What the beat sweep and the wake-ups do, with the clock at `now`, until quiet."""
    attempted = 0
    while pks := services.due(now):
        made = sum(services.deliver(delivery_pk=pk, now=now) for pk in pks)
        if not made:
            break
        attempted += made
    return attempted
