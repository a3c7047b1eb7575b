"""Benchmark data, written straight into the bench database (never the shared ones).

    python -m bench.data seed       → prints one JSON object (tokens, ids) on stdout
    python -m bench.data history N  → appends N ledger entries of history, lots kept consistent
    python -m bench.data admin NAME CONTACTS ENTRIES
                                    → an agency workspace for the admin pages (see admin_load)

Small things (workspace, location, configs, API client) go through the product's own
services; the many rows (contacts, lots, ledger) are bulk-inserted with INSERT ... SELECT
generate_series, so 1,000,000 entries load in seconds. Every lot keeps
`credits_remaining == sum(its ledger amounts)`, the invariant the engine maintains.
"""

import argparse
import json
import os
import secrets
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402

from accounts.models import BillingStatus, Workspace  # noqa: E402
from accounts.services import workspace_signup  # noqa: E402
from api.models import Scope  # noqa: E402
from api.services import api_client_create  # noqa: E402
from billing.services import billing_set_status  # noqa: E402
from entitlements.models import ConfigKind, Contact, LedgerEntry, ProductConfig  # noqa: E402
from kotally.lib.keyset import encode_cursor  # noqa: E402
from locations.models import Location, LocationKind  # noqa: E402

LOCATION = "loc_bench"
GHL_LOCATION = "loc_bench_ghl"
OTHER_LOCATION = "loc_bench_other"
CONTACTS = 1000  # the contacts the load spreads over ("many contacts")
LOT_CREDITS = 1000  # each bench contact's lot: enough for every deduct of a full run
HOT_CONTACT = "hot-contact"
HOT_CREDITS = 100
HISTORY_PER_CONTACT = 50  # ledger entries per contact added by `history`


def _contacts_with_lots(location, config, prefix, count, credits, source):
    """`count` contacts `<prefix>-00000`... each holding one full lot and its grant entry."""
    params = {
        "loc": location.pk,
        "pc": config.pk,
        "n": count,
        "credits": credits,
        "prefix": prefix,
        "source": source,
    }
    with connection.cursor() as cur:
        cur.execute(
            """INSERT INTO entitlements_contact (location_id, external_id, email, name,
                                                 created_at, updated_at, credits_available)
               SELECT %(loc)s,
                      %(prefix)s || '-' || lpad(i::text, greatest(5, length(i::text)), '0'),
                      '', '', now(), now(), %(credits)s
               FROM generate_series(0, %(n)s - 1) AS i""",
            params,
        )
        cur.execute(
            """INSERT INTO entitlements_entitlement (public_id, location_id, contact_id,
                   product_config_id, credits_granted, credits_remaining, granted_at, status)
               SELECT 'ent_' || md5(random()::text || c.id), c.location_id, c.id, %(pc)s,
                      %(credits)s, %(credits)s, now(), 'active'
               FROM entitlements_contact c
               WHERE c.location_id = %(loc)s AND c.external_id LIKE %(prefix)s || '-%%'""",
            params,
        )
        cur.execute(
            """INSERT INTO entitlements_ledgerentry (public_id, location_id, contact_id,
                   entitlement_id, kind, amount, balance_after, contact_balance_after, source,
                   request_id, external_ref, correlation_id, note, created_at)
               SELECT 'led_' || md5(random()::text || e.id), e.location_id, e.contact_id, e.id,
                      'grant', e.credits_granted, e.credits_granted, e.credits_granted,
                      %(source)s, '', '', '', 'bench seed', now()
               FROM entitlements_entitlement e
               JOIN entitlements_contact c ON c.id = e.contact_id
               WHERE c.location_id = %(loc)s AND c.external_id LIKE %(prefix)s || '-%%'""",
            params,
        )


def _config(location, name, credits, calendar):
    return ProductConfig.objects.create(
        location=location,
        name=name,
        kind=ConfigKind.PACKAGE,
        credits_total=credits,
        calendar_ids=[calendar],
    )


def seed() -> dict:
    with transaction.atomic():
        workspace = Workspace.objects.create(name="Bench Studio")
        location = Location.objects.create(
            workspace=workspace, location_id=LOCATION, kind=LocationKind.API, name="Bench API"
        )
        ghl = Location.objects.create(
            workspace=workspace, location_id=GHL_LOCATION, kind=LocationKind.GHL, name="Bench GHL"
        )
        billing_set_status(workspace=workspace, status=BillingStatus.ACTIVE)
        other_ws = Workspace.objects.create(name="Bench Other Gym")
        other = Location.objects.create(
            workspace=other_ws, location_id=OTHER_LOCATION, kind=LocationKind.API, name="Other"
        )
        billing_set_status(workspace=other_ws, status=BillingStatus.ACTIVE)

        pack = _config(location, "Bench Pack", LOT_CREDITS, "cal_bench")
        hot = _config(location, "Hot Pack", HOT_CREDITS, "cal_hot")
        ghl_pack = _config(ghl, "GHL Pack", LOT_CREDITS, "cal_ghl")
        _contacts_with_lots(location, pack, "bc", CONTACTS, LOT_CREDITS, "api")
        _contacts_with_lots(location, hot, HOT_CONTACT, 1, HOT_CREDITS, "api")
        _contacts_with_lots(ghl, ghl_pack, "gc", CONTACTS, LOT_CREDITS, "ghl")
        _, token = api_client_create(location=location, name="bench", scopes=list(Scope.values))
        _, other_token = api_client_create(
            location=other, name="bench-other", scopes=list(Scope.values)
        )
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    return {
        "location_id": LOCATION,
        "ghl_location_id": GHL_LOCATION,
        "token": token,
        "other_token": other_token,
        "contacts": [f"bc-{i:05d}" for i in range(CONTACTS)],
        "ghl_contacts": [f"gc-{i:05d}" for i in range(CONTACTS)],
        "hot_contact": f"{HOT_CONTACT}-00000",
        "hot_credits": HOT_CREDITS,
        "product_config_id": pack.public_id,
        "calendar_id": "cal_bench",
        "hot_calendar_id": "cal_hot",
        "ghl_calendar_id": "cal_ghl",
    }


def history(total: int) -> dict:
    """Append `total` ledger entries: HISTORY_PER_CONTACT deducts of 1 on every bench contact's
    lot, the rest on filler contacts (one grant + deducts each). Lots stay consistent."""
    location = Location.objects.get(location_id=LOCATION)
    pack = ProductConfig.objects.get(location=location, name="Bench Pack")
    per = HISTORY_PER_CONTACT
    with transaction.atomic(), connection.cursor() as cur:
        # The foreign keys' triggers off for this load (the bench connects as a superuser):
        # at 10M rows their deferred checks were most of the 19-minute load. The rows are
        # built from the lots they point at, and `check` verifies every lot afterwards.
        cur.execute("SET LOCAL session_replication_role = replica")
        cur.execute(
            """WITH lots AS (
                   UPDATE entitlements_entitlement e SET credits_remaining = credits_remaining - %s
                   FROM entitlements_contact c
                   WHERE c.id = e.contact_id AND c.location_id = %s AND c.external_id LIKE 'bc-%%'
                   RETURNING e.id, e.contact_id, e.location_id, e.credits_remaining)
               INSERT INTO entitlements_ledgerentry (public_id, location_id, contact_id,
                   entitlement_id, kind, amount, balance_after, contact_balance_after, source,
                   request_id, external_ref, correlation_id, note, created_at)
               SELECT 'led_' || md5(random()::text || lots.id || '-' || k), lots.location_id,
                      lots.contact_id, lots.id, 'deduct', -1,
                      lots.credits_remaining + %s - k, lots.credits_remaining + %s - k, 'api',
                      'hist-' || lots.id || '-' || k, '', '', '',
                      now() - interval '1 day' + k * interval '1 second'
               FROM lots, generate_series(1, %s) AS k""",
            [per, location.pk, per, per, per],
        )
        bench_rows = cur.rowcount
        fillers = max(0, (total - bench_rows) // per)
        if fillers:
            # Each filler: a lot granted `per` + 1 credits, its grant entry, then per - 1 deducts.
            _contacts_with_lots(location, pack, "filler", fillers, per + 1, "api")
            cur.execute(
                """WITH lots AS (
                       UPDATE entitlements_entitlement e
                       SET credits_remaining = credits_remaining - %s
                       FROM entitlements_contact c
                       WHERE c.id = e.contact_id AND c.location_id = %s
                         AND c.external_id LIKE 'filler-%%'
                       RETURNING e.id, e.contact_id, e.location_id, e.credits_granted)
                   INSERT INTO entitlements_ledgerentry (public_id, location_id, contact_id,
                       entitlement_id, kind, amount, balance_after, contact_balance_after,
                       source, request_id, external_ref, correlation_id, note, created_at)
                   SELECT 'led_' || md5(random()::text || lots.id || '-' || k),
                          lots.location_id, lots.contact_id, lots.id, 'deduct', -1,
                          lots.credits_granted - k, lots.credits_granted - k, 'api',
                          'hist-' || lots.id || '-' || k, '', '', '',
                          now() - interval '1 day' + k * interval '1 second'
                   FROM lots, generate_series(1, %s) AS k""",
                [per - 1, location.pk, per - 1],
            )
        # The stored balance (one lot per bench contact) follows its lot.
        cur.execute(
            """UPDATE entitlements_contact c SET credits_available = e.credits_remaining
               FROM entitlements_entitlement e
               WHERE e.contact_id = c.id AND c.location_id = %s""",
            [location.pk],
        )
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
        # Written out now, not by a checkpoint in the middle of the first measured round.
        cur.execute("CHECKPOINT")
        cur.execute("SELECT count(*) FROM entitlements_ledgerentry")
        entries = cur.fetchone()[0]
    return {"ledger_entries": entries, "filler_contacts": fillers}


def admin_load(name: str, contacts: int, entries: int) -> dict:
    """An agency workspace `name` for the admin pages: `contacts` members over two locations
    (nine in ten in the first), each with one lot and `entries // contacts` ledger entries (a
    grant, then deducts of 1), balances 0–11 and one member in seven with an expiring lot; one
    heavy member with HEAVY_LOTS lots, their payments and ten entries each; as many events as
    members; and a signed-in owner. Returns the session cookie and the URLs to measure."""
    per = max(1, entries // contacts)
    user = workspace_signup(
        email=f"{name}@bench.example", password=secrets.token_urlsafe(), workspace_name=name
    )
    workspace = user.memberships.get().workspace
    billing_set_status(workspace=workspace, status=BillingStatus.ACTIVE)
    first, second = (
        Location.objects.create(
            workspace=workspace,
            location_id=f"loc_{name}_{n}",
            kind=LocationKind.API,
            name=f"{name} {n}",
        )
        for n in (1, 2)
    )
    config = _config(first, "Agency Pack", 100, "cal_agency")
    other = _config(second, "Agency Pack", 100, "cal_agency")
    params = {
        "first": first.pk,
        "second": second.pk,
        "n": contacts,
        "per": per,
        "pc1": config.pk,
        "pc2": other.pk,
        "prefix": name,
    }
    with transaction.atomic(), connection.cursor() as cur:
        # Member i: balance i % 12, granted per - 1 more; created one second after member i-1.
        cur.execute(
            """INSERT INTO entitlements_contact (location_id, external_id, email, name,
                   credits_available, credits_expire_at, created_at, updated_at)
               SELECT CASE WHEN i %% 10 = 9 THEN %(second)s ELSE %(first)s END,
                      %(prefix)s || '-' || i, 'member' || i || '@studio' || i %% 100 || '.example',
                      'Member ' || i, i %% 12,
                      CASE WHEN i %% 7 = 0 AND i %% 12 > 0
                           THEN now() + (i %% 90 + 1) * interval '1 day' END,
                      now() - (%(n)s - i) * interval '1 second', now()
               FROM generate_series(0, %(n)s - 1) AS i""",
            params,
        )
        cur.execute(
            """INSERT INTO entitlements_entitlement (public_id, location_id, contact_id,
                   product_config_id, credits_granted, credits_remaining, granted_at,
                   expires_at, status)
               SELECT 'ent_' || %(prefix)s || c.id, c.location_id, c.id,
                      CASE WHEN c.location_id = %(first)s THEN %(pc1)s ELSE %(pc2)s END,
                      c.credits_available + %(per)s - 1, c.credits_available, c.created_at,
                      c.credits_expire_at, 'active'
               FROM entitlements_contact c
               WHERE c.location_id IN (%(first)s, %(second)s)""",
            params,
        )
        _ledger(cur, "c.location_id IN (%(first)s, %(second)s)", params)
        heavy = _heavy_member(cur, params)
        cur.execute(
            """INSERT INTO inbox_inboundevent (provider, event_id, event_type, location_id,
                   location_ref, payload, signature_scheme, status, reason_code, attempts,
                   last_error, error_detail, contact_ref, received_at, updated_at)
               SELECT 'ghl', %(prefix)s || '-evt-' || i, 'ContactCreate',
                      CASE WHEN i %% 10 = 9 THEN %(second)s ELSE %(first)s END, '', '{}', '',
                      CASE WHEN i %% 50 = 0 THEN 'failed' ELSE 'processed' END, '', 1, '', '',
                      'member-' || i,
                      now() - (%(n)s - i) * interval '1 second', now()
               FROM generate_series(0, %(n)s - 1) AS i""",
            params,
        )
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    client = Client()
    client.force_login(user)
    cookie = settings.SESSION_COOKIE_NAME
    deep = Contact.objects.filter(location__workspace=workspace).order_by("-created_at", "-id")[
        contacts * 2 // 3
    ]
    probe = contacts // 3
    return {
        "cookie": f"{cookie}={client.cookies[cookie].value}",
        "contacts": contacts,
        "ledger_entries": LedgerEntry.objects.filter(location__workspace=workspace).count(),
        "pages": {
            "contacts, first page": "/contacts/",
            "contacts, deep page": "/contacts/?after="
            + encode_cursor([deep.created_at.isoformat(), deep.pk]),
            "contacts, no credits": "/contacts/?show=none",
            "contacts, low balance": "/contacts/?show=low",
            "contacts, expiring soon": "/contacts/?show=expiring",
            "search by id": f"/contacts/?q={name}-{probe}",
            "search by email prefix": f"/contacts/?q=member{probe}%40",
            "search by name fragment": f"/contacts/?q=ember+{probe}",
            "heavy contact page": f"/contacts/{heavy}/",
            "events": "/events/",
        },
        "export": "/contacts/export.csv",
    }


HEAVY_LOTS = 300


def _ledger(cur, lots_where: str, params: dict) -> None:
    """Per lot: its grant entry, then per - 1 deducts of 1 down to its remaining credits."""
    cur.execute(
        f"""INSERT INTO entitlements_ledgerentry (public_id, location_id, contact_id,
               entitlement_id, kind, amount, balance_after, contact_balance_after, source,
               request_id, external_ref, correlation_id, note, created_at)
           SELECT 'led_' || e.id || '_' || k, e.location_id, e.contact_id, e.id,
                  CASE WHEN k = 1 THEN 'grant' ELSE 'deduct' END,
                  CASE WHEN k = 1 THEN e.credits_granted ELSE -1 END,
                  e.credits_granted - k + 1, e.credits_granted - k + 1, 'api', '', '', '', '',
                  e.granted_at + k * interval '1 minute'
           FROM entitlements_entitlement e JOIN entitlements_contact c ON c.id = e.contact_id,
                generate_series(1, %(per)s) AS k
           WHERE {lots_where}""",
        params,
    )


def _heavy_member(cur, params: dict) -> int:
    """A member of long standing: HEAVY_LOTS lots, each from its own payment with its ledger
    entries, all spent but the last five (two credits left in each)."""
    cur.execute(
        """INSERT INTO entitlements_contact (location_id, external_id, email, name,
               credits_available, created_at, updated_at)
           VALUES (%(first)s, %(prefix)s || '-heavy', 'heavy@bench.example', 'Heavy Member',
                   0, now(), now()) RETURNING id""",
        params,
    )
    heavy = cur.fetchone()[0]
    params = {**params, "heavy": heavy, "lots": HEAVY_LOTS}
    cur.execute(
        """INSERT INTO entitlements_paymentevent (public_id, location_id, contact_id, provider,
               external_payment_id, event_type, amount_cents, currency, paid_at,
               product_config_id, outcome, explanation, external_product_ref, external_ref,
               is_test, metadata, created_at)
           SELECT 'pay_' || %(prefix)s || '_heavy_' || i, %(first)s, %(heavy)s, 'stripe',
                  'pi_heavy_' || i, 'payment_confirmed', 9900, 'usd',
                  now() - (%(lots)s - i) * interval '1 hour', %(pc1)s, 'granted', '', '', '',
                  false, '{}', now() - (%(lots)s - i) * interval '1 hour'
           FROM generate_series(1, %(lots)s) AS i""",
        params,
    )
    cur.execute(
        """INSERT INTO entitlements_entitlement (public_id, location_id, contact_id,
               product_config_id, credits_granted, credits_remaining, granted_at, status,
               payment_id)
           SELECT 'ent_' || p.public_id, p.location_id, p.contact_id, p.product_config_id,
                  %(per)s - 1 + r.remaining, r.remaining, p.paid_at, 'active', p.id
           FROM entitlements_paymentevent p,
                LATERAL (SELECT CASE WHEN p.paid_at > now() - interval '5 hours'
                                     THEN 2 ELSE 0 END AS remaining) r
           WHERE p.contact_id = %(heavy)s""",
        params,
    )
    _ledger(cur, "e.contact_id = %(heavy)s", params)
    cur.execute(
        "UPDATE entitlements_contact SET credits_available = 10 WHERE id = %(heavy)s", params
    )
    return heavy


def consistent_lots() -> int:
    """Lots whose remaining credits differ from the sum of their ledger (0 when consistent)."""
    with connection.cursor() as cur:
        cur.execute(
            """SELECT count(*) FROM entitlements_entitlement e
               LEFT JOIN (SELECT entitlement_id, sum(amount) AS total
                          FROM entitlements_ledgerentry GROUP BY entitlement_id) l
                 ON l.entitlement_id = e.id
               WHERE e.credits_remaining <> coalesce(l.total, 0)"""
        )
        return cur.fetchone()[0]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.data")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("seed")
    hist = sub.add_parser("history")
    hist.add_argument("entries", type=int)
    sub.add_parser("check")
    agency = sub.add_parser("admin")
    agency.add_argument("name")
    agency.add_argument("contacts", type=int)
    agency.add_argument("entries", type=int)
    args = parser.parse_args(argv)
    if args.command == "seed":
        result = seed()
    elif args.command == "history":
        result = history(args.entries)
    elif args.command == "admin":
        result = admin_load(args.name, args.contacts, args.entries)
    else:
        result = {"inconsistent_lots": consistent_lots()}
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
