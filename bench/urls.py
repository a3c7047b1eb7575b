"""The product's URLs plus the bench-only floors the endpoints are compared with.

- /bench/bare: a DRF view with no authentication and no database: the framework alone.
- /bench/floor: the same with the project's bearer-token authentication (the auth floor).
- /bench/deduct-min: a minimal correct deduct in one Django view with raw SQL (token lookup,
  then one transaction: advisory lock, idempotency lookup, lot FOR UPDATE, update, ledger
  insert, idempotency insert), through the API hot path's cursor (`hot_cursor`: statements
  prepared per connection). What a deduct costs with the ORM, DRF and the engine taken away.
"""

import hashlib
import hmac
import json
import uuid

from django.db import transaction
from django.http import JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from rest_framework.response import Response
from rest_framework.views import APIView

from kotally.lib.rows import hot_cursor


class BareView(APIView):
    authentication_classes = []
    permission_classes = []

    def get(self, request):
        return Response({"ok": True})


class FloorView(APIView):
    """DRF parsing, the project's bearer-token authentication and a JSON response; no engine
    work, no rate limit, no transaction."""

    def get(self, request):
        return Response({"ok": True, "location_id": request.auth.location.location_id})


_MIN_SQL = {
    "token": "SELECT c.secret_hash, c.location_id FROM api_apiclient c "
    "WHERE c.client_id = %s AND c.active",
    "lock": "SELECT pg_try_advisory_xact_lock(%s)",
    "replay": "SELECT fingerprint, response_status, response_body "
    "FROM entitlements_idempotencyrecord "
    "WHERE location_id = %s AND request_id = %s",
    "lot": "SELECT e.id, e.contact_id, e.credits_remaining FROM entitlements_entitlement e "
    "JOIN entitlements_contact c ON c.id = e.contact_id "
    "WHERE c.location_id = %s AND c.external_id = %s AND e.status = 'active' "
    "AND e.credits_remaining >= %s AND (e.expires_at IS NULL OR e.expires_at > now()) "
    "ORDER BY e.id LIMIT 1 FOR UPDATE OF e",
    "update": "UPDATE entitlements_entitlement SET credits_remaining = credits_remaining - %s "
    "WHERE id = %s",
    "ledger": "INSERT INTO entitlements_ledgerentry (public_id, location_id, contact_id, "
    "entitlement_id, kind, amount, balance_after, contact_balance_after, source, "
    "request_id, external_ref, correlation_id, note, created_at) "
    "VALUES (%s, %s, %s, %s, 'deduct', %s, %s, %s, 'api', %s, '', '', '', now())",
    "record": "INSERT INTO entitlements_idempotencyrecord (location_id, request_id, operation, "
    "fingerprint, response_status, response_body, created_at) "
    "VALUES (%s, %s, 'deduct', %s, 200, %s, now())",
}


@csrf_exempt
def minimal_deduct(request):
    """POST {location_id, external_contact_id, request_id, amount?} with the bench bearer
    token. Correct for the bench's data (one usable lot per contact): at most once per
    request_id, a concurrent duplicate refused at once, never below zero."""
    _, _, token = request.headers.get("Authorization", "").partition(" ")
    _, client_id, secret = (token.split("_") + ["", ""])[:3]
    data = json.loads(request.body)
    amount = int(data.get("amount", 1))
    # The cursor the API's hot path uses (statements prepared per connection), so the
    # comparison is of everything but the database access.
    with hot_cursor() as cursor:
        cursor.execute(_MIN_SQL["token"], [client_id])
        row = cursor.fetchone()
        if row is None or not hmac.compare_digest(
            row[0], hashlib.sha256(secret.encode()).hexdigest()
        ):
            return JsonResponse({"error": "UNAUTHENTICATED"}, status=401)
        location, request_id = row[1], data["request_id"]
        digest = hashlib.sha256(request.body).hexdigest()
        key = hashlib.sha256(f"{location}:{request_id}".encode()).digest()[:8]
        with transaction.atomic():
            cursor.execute(_MIN_SQL["lock"], [int.from_bytes(key, "big", signed=True)])
            if not cursor.fetchone()[0]:
                return JsonResponse({"error": "REQUEST_IN_PROGRESS"}, status=409)
            cursor.execute(_MIN_SQL["replay"], [location, request_id])
            if stored := cursor.fetchone():
                if stored[0] != digest:
                    return JsonResponse({"error": "REQUEST_ID_REUSED"}, status=422)
                return JsonResponse(stored[2], status=stored[1])
            cursor.execute(_MIN_SQL["lot"], [location, data["external_contact_id"], amount])
            lot = cursor.fetchone()
            if lot is None:
                body = {"ok": False, "reason_code": "INSUFFICIENT_CREDITS"}
            else:
                lot_pk, contact_pk, remaining = lot
                cursor.execute(_MIN_SQL["update"], [amount, lot_pk])
                cursor.execute(
                    _MIN_SQL["ledger"],
                    [
                        f"led_{uuid.uuid4().hex[:20]}",
                        location,
                        contact_pk,
                        lot_pk,
                        -amount,
                        remaining - amount,
                        remaining - amount,
                        request_id,
                    ],
                )
                body = {"ok": True, "reason_code": "deducted", "balance_after": remaining - amount}
            cursor.execute(_MIN_SQL["record"], [location, request_id, digest, json.dumps(body)])
    return JsonResponse(body)


urlpatterns = [
    path("bench/bare", BareView.as_view()),
    path("bench/floor", FloorView.as_view()),
    path("bench/deduct-min", minimal_deduct),
    path("", include("kotally.urls")),
]
