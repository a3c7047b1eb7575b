"""A fake Stripe API for tests: `responses` answers at STRIPE_API_BASE with objects built from
Stripe's documented shapes (tests/stripe_shapes.py). stripe-mock does not install here (not on
PyPI, npm or Debian), so this stands in for it; see the README ("How Stripe is faked").

State lives on the fake: a test changes `subscriptions[...]` the way Stripe would, and
Kotally reads it back through its own client, pinned version and base address included.
"""

import json
import re
from urllib.parse import parse_qsl, urlsplit

import pytest
import responses

from tests import stripe_shapes as shapes

BASE = "http://127.0.0.1:12111"  # where stripe-mock would listen


class FakeStripe:
    def __init__(self, mock: responses.RequestsMock):
        self.mock = mock
        self.subscriptions: dict[str, dict] = {}
        self.line_items: dict[str, list] = {}  # Checkout Session id → its items
        self.invoice_payments: dict[str, list] = {}  # invoice id → its invoice payments
        self.down = False  # every call answers 503 (and asks the client not to retry)
        routes = [
            ("POST", r"/v1/checkout/sessions", self._checkout),
            ("GET", r"/v1/checkout/sessions/(?P<id>[^/]+)/line_items", self._line_items),
            ("POST", r"/v1/billing_portal/sessions", self._portal),
            ("GET", r"/v1/subscriptions/(?P<id>[^/]+)", self._subscription),
            ("POST", r"/v1/subscription_items", self._item_create),
            ("POST", r"/v1/subscription_items/(?P<id>[^/]+)", self._item_update),
            ("GET", r"/v1/invoice_payments", self._invoice_payments),
        ]
        for method, path, handler in routes:
            mock.add_callback(
                method,
                re.compile(re.escape(BASE) + path + r"(\?.*)?$"),
                callback=self._route(path, handler),
            )

    # --- what Kotally asked -----------------------------------------------------------------

    def requests(self, method: str, path: str) -> list[dict]:
        """Parameters of every call to `method path`, oldest first (form or query)."""
        found = []
        for call in self.mock.calls:
            url = urlsplit(call.request.url)
            if call.request.method == method and url.path == path:
                body = call.request.body or ""
                body = body.decode() if isinstance(body, bytes) else body
                found.append(dict(parse_qsl(url.query) + parse_qsl(body)))
        return found

    def headers(self, path: str) -> dict:
        call = next(c for c in self.mock.calls if urlsplit(c.request.url).path == path)
        return dict(call.request.headers)

    # --- state --------------------------------------------------------------------------------

    def add_subscription(
        self,
        subscription_id: str,
        *,
        status: str,
        workspace: str | None,
        additional: int | None = 0,
        trial_end: int | None = None,
        price_base: str = "price_base",
        price_additional: str = "price_more",
        period_end: int | None = None,
    ) -> dict:
        """Kotally's plan as Checkout creates it: the base price, and the additional-location
        price unless `additional` is None."""
        period_end = period_end or shapes.now() + 30 * 86400
        items = [
            shapes.subscription_item(
                f"si_base_{subscription_id}",
                price=price_base,
                subscription=subscription_id,
                quantity=1,
                period_end=period_end,
            )
        ]
        if additional is not None:
            items.append(
                shapes.subscription_item(
                    f"si_more_{subscription_id}",
                    price=price_additional,
                    subscription=subscription_id,
                    quantity=additional,
                    period_end=period_end,
                )
            )
        self.subscriptions[subscription_id] = shapes.subscription(
            subscription_id,
            status=status,
            items=items,
            customer="cus_kotally_1",
            metadata={"workspace": workspace} if workspace else {},
            trial_end=trial_end,
        )
        return self.subscriptions[subscription_id]

    def set_status(self, subscription_id: str, status: str) -> None:
        self.subscriptions[subscription_id]["status"] = status

    def quantity(self, subscription_id: str, price: str = "price_more") -> int | None:
        items = self.subscriptions[subscription_id]["items"]["data"]
        return next((i["quantity"] for i in items if i["price"]["id"] == price), None)

    # --- routes -------------------------------------------------------------------------------

    def _route(self, path, handler):
        pattern = re.compile(path + "$")

        def callback(request):
            if self.down:
                error = {"error": {"type": "api_error", "message": "Stripe is down (fake)."}}
                return 503, {"Stripe-Should-Retry": "false"}, json.dumps(error)
            url = urlsplit(request.url)
            body = request.body or ""
            params = dict(
                parse_qsl(url.query) + parse_qsl(body.decode() if isinstance(body, bytes) else body)
            )
            status, obj = handler(params, **pattern.match(url.path).groupdict())
            return status, {"Content-Type": "application/json"}, json.dumps(obj)

        return callback

    @staticmethod
    def _missing(kind: str, object_id: str):
        return 404, {
            "error": {
                "type": "invalid_request_error",
                "code": "resource_missing",
                "message": f"No such {kind}: '{object_id}'",
            }
        }

    def _checkout(self, params):
        number = len(self.requests("POST", "/v1/checkout/sessions"))
        session_id = f"cs_test_kotally{number}"
        return 200, shapes.checkout_session(
            session_id,
            mode=params.get("mode", "payment"),
            payment_status="unpaid",
            customer=params.get("customer"),
            client_reference_id=params.get("client_reference_id"),
            url=f"https://checkout.stripe.com/c/pay/{session_id}",
        )

    def _line_items(self, params, id):
        return 200, shapes.listing(
            self.line_items.get(id, []), f"/v1/checkout/sessions/{id}/line_items"
        )

    def _portal(self, params):
        return 200, shapes.portal_session(
            "https://billing.stripe.com/p/session/test_kotally",
            customer=params["customer"],
            return_url=params.get("return_url"),
        )

    def _subscription(self, params, id):
        if id not in self.subscriptions:
            return self._missing("subscription", id)
        return 200, self.subscriptions[id]

    def _item_create(self, params):
        subscription = self.subscriptions[params["subscription"]]
        first = subscription["items"]["data"][0]
        item = shapes.subscription_item(
            f"si_new_{len(subscription['items']['data'])}",
            subscription=subscription["id"],
            price=params["price"],
            quantity=int(params["quantity"]),
            period_end=first["current_period_end"],
        )
        subscription["items"]["data"].append(item)
        return 200, item

    def _item_update(self, params, id):
        for subscription in self.subscriptions.values():
            for item in subscription["items"]["data"]:
                if item["id"] == id:
                    item["quantity"] = int(params["quantity"])
                    return 200, item
        return self._missing("subscription_item", id)

    def _invoice_payments(self, params):
        data = self.invoice_payments.get(params.get("invoice", ""), [])
        return 200, shapes.listing(data, "/v1/invoice_payments")


@pytest.fixture
def fake_stripe(settings):
    settings.STRIPE_API_BASE = BASE
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeStripe(mock)
