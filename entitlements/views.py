"""Product Configs and Contacts pages (SPEC §4). Every write calls a service; every lookup is
scoped to the signed-in user's workspace."""

from django.contrib import messages
from django.core.exceptions import BadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import in_workspace, member_view
from kotally.lib.confirm import confirm_page
from kotally.lib.csvstream import csv_download
from locations.models import LocationKind

from . import selectors
from .forms import (
    AdjustmentMenus,
    CompForm,
    ContactSearchForm,
    ManualAdjustmentForm,
    ProductConfigForm,
)
from .manual import credits_grant_manual
from .models import Contact, Entitlement, ProductConfig, Source
from .outcomes import Reason
from .product_configs import (
    DuplicateGhlProduct,
    product_config_create,
    product_config_remove,
    product_config_update,
)
from .services import (
    Actor,
    contact_activity_record,
    credits_deduct,
    credits_restore,
    entitlement_pause,
    entitlement_resume,
    entitlement_revoke,
)

DUPLICATE_MESSAGE = "Another active config already maps this GHL product in this location."
# A manual restore only gives back what a deduction took (SPEC §2.4); admins who reach for it to
# hand out goodwill credits need to be pointed at Grant instead.
NOTHING_TO_RESTORE_MESSAGE = (
    "Nothing to restore: no credits were deducted from this config that could be given back. "
    "To give goodwill credits, use the Grant action."
)

# --- product configs --------------------------------------------------------------------------


def _config(request, public_id) -> ProductConfig:
    return in_workspace(
        request, ProductConfig.objects.select_related("location"), public_id=public_id
    )


@member_view
def config_list(request):
    configs = (
        ProductConfig.objects.select_related("location")
        .filter(location__workspace=request.workspace)
        .order_by("-active", "location__created_at", "priority", "name")
    )
    has_locations = request.workspace.locations.live().exists()
    return render(
        request,
        "entitlements/config_list.html",
        {"configs": configs, "has_locations": has_locations},
    )


@member_view
def config_new(request):
    form = ProductConfigForm(request.POST or None, workspace=request.workspace)
    if request.method == "POST" and form.is_valid():
        try:
            config = product_config_create(
                location=form.cleaned_data["location"],
                kind=form.cleaned_data["kind"],
                **form.config_fields(),
            )
        except DuplicateGhlProduct:
            form.add_error("ghl_product_id", DUPLICATE_MESSAGE)
        else:
            messages.success(request, f"Product config “{config.name}” created.")
            return redirect("product-configs")
    return _config_form(request, form, None)


@member_view
def config_edit(request, public_id):
    config = _config(request, public_id)
    if not config.active:
        messages.error(request, "A removed config cannot be edited; create a new one.")
        return redirect("product-configs")
    form = ProductConfigForm(request.POST or None, workspace=request.workspace, config=config)
    if request.method == "POST" and form.is_valid():
        try:
            product_config_update(config=config, **form.config_fields())
        except DuplicateGhlProduct:
            form.add_error("ghl_product_id", DUPLICATE_MESSAGE)
        else:
            messages.success(request, f"Product config “{config.name}” saved.")
            return redirect("product-configs")
    return _config_form(request, form, config)


def _config_form(request, form, config):
    status = 400 if form.is_bound and form.errors else 200
    # The GHL pickers only help when a location the form offers is a GHL one.
    has_ghl = form.fields["location"].queryset.filter(kind=LocationKind.GHL).exists()
    return render(
        request,
        "entitlements/config_form.html",
        {"form": form, "config": config, "has_ghl_locations": has_ghl},
        status=status,
    )


@require_http_methods(["GET", "POST"])
@member_view
def config_remove(request, public_id):
    config = _config(request, public_id)
    if request.method == "GET":
        members, credits = selectors.config_credits_outstanding(config)
        return confirm_page(
            request,
            title=f"Remove “{config.name}”?",
            button=f"Remove {config.name}",
            back=reverse("product-configs"),
            happens=[
                "Deducts and bookings against it are refused (CONFIG_NOT_FOUND).",
                "New purchases of its product grant nothing until another config maps it.",
                "Its lots, ledger and payments are kept.",
            ],
            cost=f"{members} member(s) lose {credits} usable credit(s) of it.",
        )
    if product_config_remove(config=config):
        messages.success(
            request, f"“{config.name}” removed. Its remaining credits can no longer be used."
        )
    else:
        messages.info(request, f"“{config.name}” was already removed.")
    return redirect("product-configs")


# --- contacts ---------------------------------------------------------------------------------


def _contact_filters(request) -> tuple[ContactSearchForm, dict]:
    form = ContactSearchForm(request.GET or None, workspace=request.workspace)
    chosen = {"query": "", "show": "", "location": None}
    if form.is_valid():
        chosen = {
            "query": form.cleaned_data["q"].strip(),
            "show": form.cleaned_data["show"],
            "location": form.cleaned_data["location"],
        }
    return form, chosen


def _filters_refused(form) -> str:
    return "The search or filters are not valid: " + "; ".join(
        f"{name}: {' '.join(errors)}" for name, errors in form.errors.items()
    )


@member_view
def contact_list(request, comp=None, status=200):
    form, chosen = _contact_filters(request)
    if form.is_bound and form.errors and status == 200:
        status = 400  # the page again, its search form showing what is wrong
    try:
        page = selectors.contacts_window(
            request.workspace,
            **chosen,
            after=request.GET.get("after"),
            before=request.GET.get("before"),
        )
    except selectors.BadCursor as exc:
        raise BadRequest(str(exc)) from exc
    # Page links and the export keep the search and filters.
    params = request.GET.copy()
    params.pop("after", None)
    params.pop("before", None)
    return render(
        request,
        "entitlements/contact_list.html",
        {
            "form": form,
            "page": page,
            "query": chosen["query"],
            "show": chosen["show"],
            "filters": params.urlencode(),
            "comp": comp or CompForm(workspace=request.workspace),
        },
        status=status,
    )


@require_POST
@member_view
def contact_comp(request):
    """Contacts page, *Add contact / comp credits*: grant credits to a member, creating them
    when Kotally has not seen them yet; then their page."""
    form = CompForm(request.POST, workspace=request.workspace)
    if not form.is_valid():
        return contact_list(request, comp=form, status=400)
    data = form.cleaned_data
    config = data["product_config"]
    outcome = credits_grant_manual(
        location=config.location,
        contact_key=data["contact_id"].strip(),
        product_config_id=config.public_id,
        credits=data["credits"],
        actor=_actor(request, data["note"]),
        email=data["email"],
        name=data["name"],
    )
    if not outcome.ok:
        form.add_error(None, f"Refused ({outcome.reason_code}): {outcome.message}")
        return contact_list(request, comp=form, status=409)
    contact = selectors.contact_find(config.location, data["contact_id"].strip())
    messages.success(request, f"Granted {_credits(data['credits'])} of {config.name} to {contact}.")
    return redirect("contact", pk=contact.pk)


@member_view
def contact_export(request):
    """The contacts list with its search and filters as CSV, streamed row by row. Filters the
    form refuses are 400, never a file of every contact."""
    form, chosen = _contact_filters(request)
    if form.is_bound and form.errors:
        raise BadRequest(_filters_refused(form))
    rows = selectors.contacts_export(request.workspace, **chosen)
    return csv_download("contacts.csv", selectors.EXPORT_COLUMNS, rows)


@member_view
def ledger_export(request):
    """Every ledger entry of the workspace (or of one location: ?location=), oldest first,
    as CSV, streamed row by row."""
    form = ContactSearchForm(request.GET or None, workspace=request.workspace)
    if form.is_bound and not form.is_valid():
        raise BadRequest(_filters_refused(form))
    location = form.cleaned_data["location"] if form.is_bound else None
    rows = selectors.ledger_export(request.workspace, location=location)
    return csv_download("ledger.csv", selectors.LEDGER_COLUMNS, rows)


def _contact(request, pk) -> Contact:
    return in_workspace(request, Contact.objects.select_related("location__workspace"), pk=pk)


@member_view
def contact_detail(request, pk):
    contact = _contact(request, pk)
    return _render_contact(request, contact)


def _render_contact(request, contact, form=None, status=200, preview=""):
    try:
        ledger = selectors.admin_ledger_page(contact, limit=25, cursor=request.GET.get("ledger"))
        timeline = selectors.timeline_page(
            contact, limit=25, cursor=request.GET.get("timeline"), admin=True
        )
        payments = selectors.payments_page(contact, limit=25, cursor=request.GET.get("payments"))
        lots = selectors.entitlements_page(contact, limit=25, cursor=request.GET.get("lots"))
    except selectors.BadCursor as exc:
        raise BadRequest(str(exc)) from exc
    menus = form.menus if form is not None else AdjustmentMenus(contact)
    total, per_config = selectors.credits_by_config(contact, paused=True)
    context = {
        "contact": contact,
        "credits_total": total,
        "per_config": per_config,
        "lots": lots,
        "ledger": ledger,
        "payments": payments,
        "upcoming": selectors.appointments_page(contact, upcoming=True, limit=25, cursor=None),
        "past": selectors.appointments_page(contact, upcoming=False, limit=25, cursor=None),
        "timeline": timeline,
        # The four manual actions, their menus read once; a posted one comes back with its
        # fields, errors or preview.
        "forms": [
            form
            if form is not None and form.chosen == action
            else ManualAdjustmentForm(contact=contact, action=action, menus=menus)
            for action in ManualAdjustmentForm.ACTIONS
        ],
        "posted": form.chosen if form is not None else "",
        "preview": preview,
    }
    return render(request, "entitlements/contact_detail.html", context, status=status)


def _actor(request, note: str) -> Actor:
    return Actor(
        source=Source.ADMIN,
        user=request.user,
        note=note,
        correlation_id=getattr(request, "correlation_id", ""),
    )


@require_POST
@member_view
def contact_adjust(request, pk):
    """One of the four manual actions. *Preview* shows the balance it would leave and keeps
    the form; *Apply* applies it. A refusal keeps the chosen action and its fields."""
    contact = _contact(request, pk)
    action = request.POST.get("action", "")
    form = ManualAdjustmentForm(
        request.POST,
        contact=contact,
        action=action if action in ManualAdjustmentForm.ACTIONS else ManualAdjustmentForm.GRANT,
    )
    if not form.is_valid():
        return _render_contact(request, contact, form, status=400)
    data = form.cleaned_data
    if "preview" in request.POST:
        return _render_contact(request, contact, form, preview=_preview(contact, data))
    actor = _actor(request, data["note"])
    if action == form.REVOKE:
        lot = data["entitlement"]
        if entitlement_revoke(entitlement=lot, actor=actor):
            removed = _credits(lot.credits_remaining)
            messages.success(request, f"Revoked lot {lot.public_id}: {removed} removed.")
            return redirect("contact", pk=contact.pk)
        return _refused(request, contact, form, "That lot could not be revoked.")
    common = {"location": contact.location, "contact_key": contact.external_id, "actor": actor}
    config = data["product_config"]
    amount = data["amount"]
    if action == form.GRANT:
        outcome = credits_grant_manual(**common, product_config_id=config.public_id, credits=amount)
    elif action == form.DEDUCT:
        outcome = credits_deduct(**common, product_config_id=config.public_id, amount=amount)
    else:
        outcome = credits_restore(**common, product_config_id=config.public_id, amount=amount)
    if not outcome.ok:
        words = (
            NOTHING_TO_RESTORE_MESSAGE
            if outcome.reason_code == Reason.NOTHING_TO_RESTORE
            else outcome.message or ""
        )
        return _refused(request, contact, form, f"Refused ({outcome.reason_code}): {words}")
    messages.success(request, _done(action, outcome, amount, config))
    return redirect("contact", pk=contact.pk)


def _credits(n: int) -> str:
    return f"{n} credit{'' if n == 1 else 's'}"


def _done(action: str, outcome, asked: int | None, config) -> str:
    """The success message in words: what moved and the balance it left."""
    after = f" {config.name} balance: {outcome.balance_after}."
    if action == ManualAdjustmentForm.GRANT:
        return f"Granted {_credits(outcome.credits_granted)} of {config.name}.{after}"
    if action == ManualAdjustmentForm.DEDUCT:
        return f"Deducted {_credits(asked)} of {config.name}.{after}"
    given = outcome.credits_changed
    if given is not None and given < asked:
        return (
            f"Restored {given} of the {_credits(asked)} asked: only {given} had been "
            f"deducted and not yet given back.{after}"
        )
    return f"Restored {_credits(given or asked)} of {config.name}.{after}"


def _refused(request, contact, form, message: str):
    """A refusal keeps the chosen action and its fields on the page."""
    form.add_error(None, message)
    return _render_contact(request, contact, form, status=409)


def _preview(contact, data) -> str:
    """What the action would leave, in words, from the balances on the page."""
    _, per_config = selectors.credits_by_config(contact)
    if data["action"] == ManualAdjustmentForm.REVOKE:
        lot = data["entitlement"]
        config, change = lot.product_config, -lot.credits_remaining
    else:
        config = data["product_config"]
        amount = data["amount"] or config.credits_per_grant
        change = -amount if data["action"] == ManualAdjustmentForm.DEDUCT else amount
    now = next(
        (
            row["credits_available"]
            for row in per_config
            if row["product_config_id"] == config.public_id
        ),
        0,
    )
    upto = "up to " if data["action"] == ManualAdjustmentForm.RESTORE else ""
    return (
        f"{config.name}: {now} → {upto}{now + change} credits "
        f"({'+' if change > 0 else ''}{change}). Nothing is applied until you press Apply."
    )


def _lot(request, public_id) -> Entitlement:
    return in_workspace(request, Entitlement, public_id=public_id)


def _note_on_timeline(request, lot, done: str) -> None:
    """A pause or resume moves no credit (no ledger entry): the member's timeline says who
    did it and why."""
    who = request.user.get_full_name() or request.user.email
    note = request.POST.get("note", "").strip()
    contact_activity_record(
        location_pk=lot.location_id,
        contact_pk=lot.contact_id,
        message=f"Lot {lot.public_id} {done} by {who}" + (f": {note}" if note else ""),
    )


@require_POST
@member_view
def lot_pause(request, public_id):
    lot = _lot(request, public_id)
    if entitlement_pause(entitlement=lot):
        _note_on_timeline(request, lot, "paused")
        messages.success(request, f"Lot {lot.public_id} paused.")
    else:
        messages.error(request, "Only an active, unexpired lot can be paused.")
    return redirect("contact", pk=lot.contact_id)


@require_POST
@member_view
def lot_resume(request, public_id):
    lot = _lot(request, public_id)
    if entitlement_resume(entitlement=lot):
        _note_on_timeline(request, lot, "resumed")
        messages.success(request, f"Lot {lot.public_id} resumed; its expiry moved by the pause.")
    else:
        messages.error(request, "Only a paused lot can be resumed.")
    return redirect("contact", pk=lot.contact_id)
