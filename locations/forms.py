import re

from django import forms

from .models import Location
from .services import KEEP

_NO_SPACES = re.compile(r"^\S+$")


def _secret_field(label: str, help_text: str) -> forms.CharField:
    # Write-only: PasswordInput(render_value=False) never puts a value back into the page, not
    # even the one just typed when the form comes back with errors.
    return forms.CharField(
        label=label,
        max_length=255,
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=help_text,
    )


class StripeFallbackForm(forms.Form):
    """Merchant Stripe fallback of one location (SPEC §4 Settings, §6.2). Secrets are typed to
    set or replace them; an empty input keeps what is stored; the clear boxes remove it."""

    enabled = forms.BooleanField(
        label="Grant credits from this location's Stripe payments", required=False
    )
    webhook_secret = _secret_field(
        "Webhook signing secret",
        "Starts with whsec_. Shown by Stripe when you add the endpoint. Leave empty to keep "
        "the stored one.",
    )
    clear_webhook_secret = forms.BooleanField(
        label="Remove the stored signing secret", required=False
    )
    restricted_key = _secret_field(
        "Restricted API key",
        "Starts with rk_ (a restricted key with read access to Checkout Sessions is enough; "
        "sk_ also works). Needed to read what a Checkout session sold. Leave empty to keep "
        "the stored one.",
    )
    clear_restricted_key = forms.BooleanField(label="Remove the stored API key", required=False)

    def __init__(self, *args, location: Location, **kwargs):
        kwargs.setdefault("initial", {"enabled": location.stripe_fallback_enabled})
        super().__init__(*args, **kwargs)
        self.location = location
        # Offer "remove" only for what is actually stored.
        if not location.stripe_webhook_secret_enc:
            del self.fields["clear_webhook_secret"]
        if not location.stripe_restricted_key_enc:
            del self.fields["clear_restricted_key"]

    def _clean_secret(self, name: str, prefixes: tuple[str, ...], what: str) -> str:
        value = self.cleaned_data[name]
        if value and not (value.startswith(prefixes) and _NO_SPACES.match(value)):
            starts = " or ".join(prefixes)
            raise forms.ValidationError(
                f"This does not look like a {what}: it starts with {starts} and has no spaces."
            )
        return value

    def clean_webhook_secret(self):
        return self._clean_secret("webhook_secret", ("whsec_",), "Stripe webhook signing secret")

    def clean_restricted_key(self):
        return self._clean_secret("restricted_key", ("rk_", "sk_"), "Stripe API key")

    def clean(self):
        cleaned = super().clean()
        for name, clear in (
            ("webhook_secret", "clear_webhook_secret"),
            ("restricted_key", "clear_restricted_key"),
        ):
            if cleaned.get(name) and cleaned.get(clear):
                self.add_error(clear, "Either type a new value or remove the stored one.")
        secret = self.changes().get("webhook_secret", KEEP)
        will_have_secret = bool(secret) or (
            secret is KEEP and bool(self.location.stripe_webhook_secret_enc)
        )
        if cleaned.get("enabled") and not will_have_secret and "webhook_secret" not in self.errors:
            self.add_error(
                "webhook_secret", "Turning the fallback on needs the webhook signing secret."
            )
        return cleaned

    def changes(self) -> dict:
        """Arguments for services.stripe_fallback_update: only the secrets being replaced or
        cleared, so an empty input keeps the stored value."""
        data = self.cleaned_data
        changes = {"enabled": bool(data.get("enabled"))}
        for name, clear in (
            ("webhook_secret", "clear_webhook_secret"),
            ("restricted_key", "clear_restricted_key"),
        ):
            if data.get(clear):
                changes[name] = ""
            elif data.get(name):
                changes[name] = data[name]
        return changes


class LocationNameForm(forms.Form):
    name = forms.CharField(max_length=255, strip=True)
