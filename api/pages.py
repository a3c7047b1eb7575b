"""The API Clients admin page (SPEC §4) and its request log. Raw tokens are shown exactly
once: the view that mints one keeps it in the session for the very next page load, which pops
it."""

import json
import uuid
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import BadRequest
from django.db.models import Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import in_workspace, member_view
from entitlements.manual import credits_grant_manual
from entitlements.models import ProductConfig, Source
from entitlements.selectors import contact_find
from entitlements.services import Actor, credits_deduct
from kotally.lib.confirm import Choice, confirm_page
from kotally.lib.keyset import BadCursor, window
from kotally.lib.text import query_text

from .forms import ApiClientForm
from .models import ApiClient, ApiRequest, Scope
from .services import (
    api_client_create,
    api_client_deactivate,
    api_client_rotate,
    api_clients_allowed,
)

ONE_TIME_TOKEN = "kotally_one_time_token"


def _show_once(request, client: ApiClient, token: str) -> None:
    request.session[ONE_TIME_TOKEN] = {"client": str(client.client_id), "token": token}


def _client(request, client_id) -> ApiClient:
    return in_workspace(request, ApiClient.objects.select_related("location"), client_id=client_id)


@never_cache
@member_view
def client_list(request):
    return _render_list(request)


def first_call(client: ApiClient, token: str) -> dict:
    """A ready-to-paste deduct for a freshly created client: its token and location, the
    location's first active product config and one of its calendars."""
    config = (
        ProductConfig.objects.filter(location=client.location, active=True)
        .order_by("priority", "name")
        .first()
    )
    body = {
        "location_id": client.location.location_id,
        "external_contact_id": "test-member",
        "request_id": "first-call-1",
        "amount": 1,
    }
    if config is not None:
        body["product_config_id"] = config.public_id
        if config.calendar_ids:
            body["calendar_id"] = config.calendar_ids[0]
    url = settings.KOTALLY_BASE_URL.rstrip("/") + "/api/v2/entitlements/deduct"
    curl = (
        f"curl -X POST {url} \\\n  -H 'Authorization: Bearer {token}' \\\n"
        f"  -H 'Content-Type: application/json' \\\n  -d '{json.dumps(body)}'"
    )
    return {"curl": curl, "config": config, "can_test": Scope.DEDUCT in client.scopes}


def _render_list(request, form=None, status=200):
    clients = (
        ApiClient.objects.select_related("location")
        .filter(location__workspace=request.workspace)
        .order_by("-active", "-created_at", "-pk")
    )
    one_time = request.session.pop(ONE_TIME_TOKEN, None)
    if one_time:
        made = next((c for c in clients if str(c.client_id) == one_time["client"]), None)
        if made is not None:
            one_time = {**one_time, "made": made, **first_call(made, one_time["token"])}
    return render(
        request,
        "api/clients.html",
        {
            "clients": clients,
            "form": form or ApiClientForm(workspace=request.workspace),
            "one_time": one_time,
            "locations": request.workspace.locations.live(),
            "billing_ok": api_clients_allowed(workspace=request.workspace),
            "now": timezone.now(),
        },
        status=status,
    )


@require_POST
@member_view
def client_new(request):
    if not api_clients_allowed(workspace=request.workspace):
        messages.error(request, "API clients need billing: start your free trial on Billing.")
        return redirect("api-clients")
    form = ApiClientForm(request.POST, workspace=request.workspace)
    if not form.is_valid():
        return _render_list(request, form=form, status=400)
    client, token = api_client_create(
        location=form.cleaned_data["location"],
        name=form.cleaned_data["name"],
        scopes=form.cleaned_data["scopes"],
        created_by=request.user,
    )
    _show_once(request, client, token)
    messages.success(request, f"API client “{client.name}” created. Copy its token now.")
    return redirect("api-clients")


# When a rotated token's old secret stops working (Stripe's "Roll key" expiry).
GRACE = {"now": timedelta(0), "1h": timedelta(hours=1), "24h": timedelta(hours=24)}
GRACE_WORDS = {"now": "now", "1h": "in 1 hour", "24h": "in 24 hours"}
ROTATE_CHOICE_ERROR = "Choose when the old token stops working: nothing was rotated."


@require_http_methods(["GET", "POST"])
@member_view
def client_rotate(request, client_id):
    client = _client(request, client_id)
    if not client.active:
        messages.error(request, "A deactivated client cannot be rotated; create a new one.")
        return redirect("api-clients")
    # The page's radio group sends exactly one offered value; without the field (a plain POST
    # from a script) the default is the first option, "now". Anything else is refused: a
    # tampered or mistyped choice must not end the old token at once.
    chosen = request.POST.getlist("expires") if request.method == "POST" else []
    if request.method == "GET" or (chosen and (len(chosen) > 1 or chosen[0] not in GRACE)):
        return confirm_page(
            request,
            title=f"Rotate the token of “{client.name}”?",
            button="Rotate token",
            back=reverse("api-clients"),
            happens=[
                "Kotally shows a new token once.",
                "Until the old token expires, both work: deploy the new one in between.",
            ],
            choice=Choice(
                "expires",
                "The old token stops working",
                [(key, words) for key, words in GRACE_WORDS.items()],
            ),
            error=ROTATE_CHOICE_ERROR if request.method == "POST" else "",
            status=400 if request.method == "POST" else 200,
        )
    expires = chosen[0] if chosen else "now"
    token = api_client_rotate(client=client, grace=GRACE[expires])
    _show_once(request, client, token)
    messages.success(
        request,
        f"Token of “{client.name}” rotated; the old one stops working {GRACE_WORDS[expires]}.",
    )
    return redirect("api-clients")


@require_http_methods(["GET", "POST"])
@member_view
def client_deactivate(request, client_id):
    client = _client(request, client_id)
    if request.method == "GET":
        return confirm_page(
            request,
            title=f"Deactivate “{client.name}”?",
            button="Deactivate",
            back=reverse("api-clients"),
            happens=[
                "Its token stops working at once; calls answer 401.",
                "It cannot be turned back on: create a new client instead.",
                "Its request log is kept.",
            ],
        )
    api_client_deactivate(client=client)
    messages.success(request, f"“{client.name}” deactivated; its token no longer works.")
    return redirect("api-clients")


LOG_PAGE = 50
# The log's outcome filter: answered ok, refused by the engine (200, ok false), or an error.
OUTCOMES = {
    "ok": Q(ok=True),
    "refused": Q(ok=False, status=200),
    "error": Q(status__gte=400),
}


@never_cache
@member_view
def request_log(request):
    """The last requests of the workspace's API clients, newest first (Stripe's request logs):
    filter by client and outcome, search by request id, contact or reason code."""
    requests = ApiRequest.objects.select_related("client", "location").filter(
        location__workspace=request.workspace
    )
    clients = ApiClient.objects.filter(location__workspace=request.workspace).order_by("name")
    chosen = {}
    if client := query_text(request, "client"):
        chosen["client"] = client
        requests = requests.filter(client__in=[c for c in clients if str(c.client_id) == client])
    if (outcome := request.GET.get("outcome", "")) in OUTCOMES:
        chosen["outcome"] = outcome
        requests = requests.filter(OUTCOMES[outcome])
    if query := query_text(request, "q"):
        chosen["q"] = query
        requests = requests.filter(
            Q(request_id=query) | Q(contact_key=query) | Q(reason_code=query.upper())
        )
    try:
        page = window(
            requests,
            ("-created_at", "-id"),
            limit=LOG_PAGE,
            after=request.GET.get("after"),
            before=request.GET.get("before"),
            partition=("location_id", request.workspace.locations.values_list("pk", flat=True)),
        )
    except BadCursor as exc:
        raise BadRequest(str(exc)) from exc
    return render(
        request,
        "api/request_log.html",
        {
            "page": page,
            "clients": clients,
            "chosen": chosen,
            "query": urlencode(chosen),
            "retention_days": settings.IDEMPOTENCY_RETENTION_DAYS,
        },
    )


TEST_MEMBER = "test-member"


@require_POST
@member_view
def client_test_deduct(request, client_id):
    """ "Send a test deduct" from the page that shows a new client's token: the test member
    gets 1 credit of the config (a manual grant) and the engine deducts it exactly as the
    API's deduct would for this client; the member page then shows both entries."""
    client = _client(request, client_id)
    config = in_workspace(
        request,
        ProductConfig.objects.filter(location=client.location, active=True),
        public_id=request.POST.get("product_config"),
    )
    run = uuid.uuid4().hex[:8]
    common = {
        "location": client.location,
        "contact_key": TEST_MEMBER,
        "product_config_id": config.public_id,
    }
    credits_grant_manual(
        **common,
        credits=1,
        actor=Actor(source=Source.ADMIN, user=request.user, note=f"test credit for {client.name}"),
    )
    outcome = credits_deduct(
        **common,
        amount=1,
        actor=Actor(
            source=Source.API, request_id=f"test-deduct-{run}", note=f"test deduct by {client.name}"
        ),
    )
    member = contact_find(client.location, TEST_MEMBER)
    if outcome.ok:
        messages.success(
            request,
            f"Test deduct done: 1 credit of {config.name} granted to "
            f"{TEST_MEMBER} and deducted. See the member page.",
        )
    else:
        messages.error(request, f"Test deduct refused ({outcome.reason_code}): {outcome.message}")
    return redirect("contact", pk=member.pk) if member else redirect("api-clients")
