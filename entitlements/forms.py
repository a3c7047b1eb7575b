import re
from functools import cached_property, partial

from django import forms
from django.db.models import QuerySet

from kotally.lib.text import KeyChoiceField
from locations.models import LocationKind, LocationStatus

from .models import ConfigKind, LotStatus, ProductConfig, RenewalPolicy
from .selectors import ContactFilter

_CALENDAR_SPLIT = re.compile(r"[\s,]+")
_ID_HELP = "Optional. Exactly as it appears in GoHighLevel."


class CalendarIdsField(forms.CharField):
    """Calendar ids typed as a comma- or space-separated list."""

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        text = super().to_python(value) or ""
        ids = list(dict.fromkeys(x for x in _CALENDAR_SPLIT.split(text) if x))
        if len(ids) > 50:
            raise forms.ValidationError("At most 50 calendars per config.")
        if any(len(x) > 255 for x in ids):
            raise forms.ValidationError("A calendar id is at most 255 characters.")
        return ids


class LocationSelect(forms.Select):
    """Options that say what the location offers (GHL, the Stripe fallback), so the config
    form's script shows only the fields that apply to the chosen one."""

    def create_option(self, name, value, *args, **kwargs):
        option = super().create_option(name, value, *args, **kwargs)
        if location := getattr(value, "instance", None):
            option["attrs"]["data-ghl"] = "1" if location.kind == LocationKind.GHL else ""
            option["attrs"]["data-stripe"] = "1" if location.stripe_fallback_enabled else ""
        return option


# Which fields belong to what: a kind of config, a GHL location, the Stripe fallback.
KIND_FIELDS = {
    ConfigKind.PACKAGE: ("credits_total",),
    ConfigKind.MEMBERSHIP: ("monthly_credits", "renewal_policy"),
}
GHL_FIELDS = ("ghl_product_id", "ghl_price_id")
STRIPE_FIELDS = ("stripe_price_id", "stripe_product_id")


class ProductConfigForm(forms.Form):
    """Only the fields of its kind and location: on edit (kind and location fixed) the others
    are left out; on create a few lines of script hide them as kind and location change
    (without script every field shows, and the kind's rules still apply on submit)."""

    location = KeyChoiceField(
        label="Location",
        queryset=None,
        to_field_name="location_id",
        empty_label=None,
        widget=LocationSelect,
    )
    name = forms.CharField(label="Name", max_length=255)
    kind = forms.ChoiceField(label="Kind", choices=ConfigKind.choices)
    credits_total = forms.IntegerField(
        label="Credits in the package", min_value=1, max_value=10000, required=False
    )
    monthly_credits = forms.IntegerField(
        label="Credits per month (membership)", min_value=1, max_value=10000, required=False
    )
    expiry_days = forms.IntegerField(
        label="Credits expire after (days)",
        min_value=1,
        max_value=3650,
        required=False,
        help_text="Leave empty for credits that never expire.",
    )
    calendar_ids = CalendarIdsField(
        label="Calendars (service family)",
        help_text="Calendar ids whose bookings use these credits, separated by commas.",
    )
    ghl_product_id = forms.CharField(
        label="GHL product id", max_length=255, required=False, help_text=_ID_HELP
    )
    ghl_price_id = forms.CharField(
        label="GHL price id", max_length=255, required=False, help_text=_ID_HELP
    )
    stripe_price_id = forms.CharField(label="Stripe price id", max_length=255, required=False)
    stripe_product_id = forms.CharField(label="Stripe product id", max_length=255, required=False)
    priority = forms.IntegerField(
        label="Priority",
        initial=100,
        min_value=0,
        max_value=10000,
        help_text="Lower is used first when a booking could use several configs.",
    )
    low_credits_threshold = forms.IntegerField(
        label="Low-credits alert at",
        min_value=1,
        max_value=10000,
        required=False,
        help_text="Announce credits.low (webhooks, GoHighLevel tag) when a booking leaves this "
        "many credits or fewer. Leave empty for no alert.",
    )
    renewal_policy = forms.ChoiceField(
        label="At renewal (membership)",
        choices=RenewalPolicy.choices,
        initial=RenewalPolicy.ACCUMULATE,
        required=False,
    )

    def __init__(self, *args, workspace, config: ProductConfig | None = None, **kwargs):
        self.config = config
        if config is not None:
            kwargs.setdefault("initial", {n: getattr(config, n) for n in self.base_fields})
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = workspace.locations.exclude(
            status=LocationStatus.REMOVED
        ).order_by("created_at", "pk")
        if config is not None:
            # Lots already point at this location and kind; changing them would rewrite history.
            self.fields["location"].disabled = True
            self.fields["kind"].disabled = True
            location = config.location
            unused = [
                name for kind, names in KIND_FIELDS.items() if kind != config.kind for name in names
            ]
            if location.kind != LocationKind.GHL:
                unused += GHL_FIELDS
                self.fields[
                    "calendar_ids"
                ].help_text += " Type them as your booking app sends them."
            if not location.stripe_fallback_enabled:
                unused += STRIPE_FIELDS
            for name in unused:
                del self.fields[name]
        for kind, names in KIND_FIELDS.items():
            for name in names:
                if name in self.fields:
                    self.fields[name].widget.attrs["data-kind"] = kind
        for names, flag in ((GHL_FIELDS, "data-needs-ghl"), (STRIPE_FIELDS, "data-needs-stripe")):
            for name in names:
                if name in self.fields:
                    self.fields[name].widget.attrs[flag] = "1"

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if kind == ConfigKind.PACKAGE and not cleaned.get("credits_total"):
            self.add_error("credits_total", "A package needs its number of credits.")
        if kind == ConfigKind.MEMBERSHIP and not cleaned.get("monthly_credits"):
            self.add_error("monthly_credits", "A membership needs its credits per month.")
        if kind == ConfigKind.MEMBERSHIP and not cleaned.get("renewal_policy"):
            cleaned["renewal_policy"] = RenewalPolicy.ACCUMULATE
        product, price = cleaned.get("ghl_product_id", ""), cleaned.get("ghl_price_id", "")
        if price and not product:
            self.add_error("ghl_price_id", "A GHL price id needs its GHL product id.")
        location = cleaned.get("location")
        if product and location is not None:
            clash = ProductConfig.objects.filter(
                location=location, ghl_product_id=product, ghl_price_id=price, active=True
            )
            if self.config is not None:
                clash = clash.exclude(pk=self.config.pk)
            if other := clash.first():
                self.add_error(
                    "ghl_product_id",
                    f"“{other.name}” already maps this GHL product"
                    f"{' and price' if price else ''} in this location: one active config per "
                    "GHL product per location. Remove or edit that one first.",
                )
        return cleaned

    def config_fields(self) -> dict:
        """The fields to save; those left out of the form keep their stored values."""
        return {k: v for k, v in self.cleaned_data.items() if k not in ("location", "kind")}


LOT_CHOICES = 50  # lots listed in the Revoke menu, newest first


def _active_configs(contact) -> QuerySet:
    return ProductConfig.objects.filter(location_id=contact.location_id, active=True).order_by(
        "priority", "name"
    )


def _revocable_lots(contact) -> QuerySet:
    # Only lots with credits left: revoking a spent one changes nothing, and a member of long
    # standing has hundreds of them.
    return (
        contact.entitlements.filter(credits_remaining__gt=0)
        .exclude(status=LotStatus.REVOKED)
        .select_related("product_config")
        .order_by("-pk")
    )


class AdjustmentMenus:
    """The menus of the four manual actions of a contact's page: the location's active product
    configs and the newest lots with credits left. Read once for the four forms, and only when
    a form is rendered (a posted form that applies redirects without them)."""

    def __init__(self, contact):
        self.contact = contact

    @cached_property
    def configs(self) -> list[tuple[str, str]]:
        return [(config.public_id, config.name) for config in _active_configs(self.contact)]

    @cached_property
    def lots(self) -> list[tuple[str, str]]:
        # The menu offers the newest ones only: rendering hundreds of options was most of a
        # long-standing member's page time (issue 16's heavy contact page).
        return [
            (
                lot.public_id,
                f"{lot.product_config.name} · {lot.credits_remaining}/"
                f"{lot.credits_granted} · {lot.public_id}",
            )
            for lot in _revocable_lots(self.contact)[:LOT_CHOICES]
        ]


class ManualAdjustmentForm(forms.Form):
    """One of four manual actions — grant, deduct, restore, revoke — each with only its own
    fields; every one needs a note (SPEC §2.5). The page shows the four side by side: each
    instance gets ids of its own (`auto_id`) and the action it was built for (`chosen`), and
    the four share one AdjustmentMenus (`menus`)."""

    GRANT, DEDUCT, RESTORE, REVOKE = "grant", "deduct", "restore", "revoke"
    ACTIONS = {
        GRANT: "Grant credits",
        DEDUCT: "Deduct credits",
        RESTORE: "Restore credits",
        REVOKE: "Revoke a lot",
    }
    FIELDS = {
        GRANT: ("product_config", "amount"),
        DEDUCT: ("product_config", "amount"),
        RESTORE: ("product_config", "amount"),
        REVOKE: ("entitlement",),
    }
    action = forms.ChoiceField(choices=list(ACTIONS.items()), widget=forms.HiddenInput)
    product_config = KeyChoiceField(
        label="Product config", queryset=None, to_field_name="public_id", required=False
    )
    entitlement = KeyChoiceField(
        label="Lot",
        queryset=None,
        to_field_name="public_id",
        required=False,
        help_text="Its remaining credits are removed; it is never usable again.",
    )
    amount = forms.IntegerField(label="Credits", min_value=1, max_value=1000, required=False)
    note = forms.CharField(
        label="Note (required)",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why: it is saved on the ledger entry with your name.",
    )

    def __init__(self, *args, contact, action: str, menus: AdjustmentMenus | None = None, **kwargs):
        kwargs.setdefault("auto_id", f"{action}_%s")
        kwargs.setdefault("initial", {"action": action})
        super().__init__(*args, **kwargs)
        self.chosen = action  # not `action`: templates would read the field of that name
        self.menus = menus or AdjustmentMenus(contact)
        for name in ("product_config", "entitlement", "amount"):
            if name not in self.FIELDS.get(action, ()):
                del self.fields[name]
        # Each menu: what a posted choice is validated against (the queryset), and what is
        # offered (the shared menus, read when the widget renders).
        for name, queryset, menu in (
            ("product_config", _active_configs, "configs"),
            ("entitlement", _revocable_lots, "lots"),
        ):
            if name in self.fields:
                field = self.fields[name]
                field.queryset = queryset(contact)
                field.widget.choices = partial(self._menu, field.empty_label, menu)
        if "amount" in self.fields and action == self.GRANT:
            self.fields["amount"].help_text = "Leave empty for one lot of the config."

    def _menu(self, empty_label: str, menu: str) -> list[tuple[str, str]]:
        return [("", empty_label), *getattr(self.menus, menu)]

    @property
    def title(self) -> str:
        return self.ACTIONS.get(self.chosen, "")

    def clean_note(self):
        note = self.cleaned_data["note"].strip()
        if not note:
            raise forms.ValidationError("Write why you are making this change.")
        return note

    def clean(self):
        cleaned = super().clean()
        action = cleaned.get("action")
        if action == self.REVOKE and not cleaned.get("entitlement"):
            self.add_error("entitlement", "Choose the lot to revoke.")
        if action in (self.GRANT, self.DEDUCT, self.RESTORE) and not cleaned.get("product_config"):
            self.add_error("product_config", "Choose a product config.")
        if action in (self.DEDUCT, self.RESTORE) and cleaned.get("amount") is None:
            if "amount" not in self.errors:
                self.add_error("amount", "How many credits?")
        return cleaned


class ContactSearchForm(forms.Form):
    q = forms.CharField(label="Search contacts", max_length=255, required=False)
    location = KeyChoiceField(
        label="Location",
        queryset=None,
        to_field_name="location_id",
        required=False,
        empty_label="All locations",
    )
    show = forms.ChoiceField(
        label="Show",
        choices=[("", "All contacts"), *ContactFilter.choices],
        required=False,
    )

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = workspace.locations.order_by("created_at", "pk")


class CompForm(forms.Form):
    """Add a member Kotally has not seen yet (or any member) and comp them credits."""

    contact_id = forms.CharField(
        label="Contact id",
        max_length=255,
        help_text="Their GHL contact id, or the id your booking app uses.",
    )
    name = forms.CharField(label="Name", max_length=255, required=False)
    email = forms.EmailField(label="Email", required=False)
    product_config = KeyChoiceField(
        label="Product config",
        queryset=None,
        to_field_name="public_id",
        help_text="Its location is the member's.",
    )
    credits = forms.IntegerField(label="Credits", min_value=1, max_value=1000)
    note = forms.CharField(
        label="Note (required)",
        max_length=500,
        help_text="Why: it is saved on the ledger entry with your name.",
    )

    def __init__(self, *args, workspace, **kwargs):
        kwargs.setdefault("auto_id", "comp_%s")
        super().__init__(*args, **kwargs)
        self.fields["product_config"].queryset = (
            ProductConfig.objects.filter(location__workspace=workspace, active=True)
            .select_related("location")
            .order_by("location__name", "name")
        )
        self.fields["product_config"].label_from_instance = lambda config: (
            f"{config.name} · {config.location}"
        )
