from django import forms

from kotally.lib.text import KeyChoiceField
from locations.models import LocationStatus

from .models import Scope

# Scope presets (Stripe's restricted-key templates): what a kind of app needs.
PRESETS = {
    "booking": ("Booking app: check, deduct, restore", [Scope.CHECK, Scope.DEDUCT, Scope.RESTORE]),
    "readonly": ("Read-only: contact summaries", [Scope.SUMMARY]),
    "full": ("Full access: every scope", list(Scope.values)),
}


class ApiClientForm(forms.Form):
    location = KeyChoiceField(
        label="Location", queryset=None, to_field_name="location_id", empty_label=None
    )
    name = forms.CharField(
        label="Name", max_length=120, help_text="What uses this token, e.g. “Booking app”."
    )
    preset = forms.ChoiceField(
        label="Access",
        choices=[(key, label) for key, (label, _) in PRESETS.items()]
        + [("", "Custom: the scopes ticked below")],
        widget=forms.RadioSelect,
        required=False,
        initial="booking",
    )
    scopes = forms.MultipleChoiceField(
        label="Scopes (custom)",
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = workspace.locations.filter(
            status=LocationStatus.ACTIVE
        ).order_by("created_at", "pk")

    def clean(self):
        cleaned = super().clean()
        if preset := cleaned.get("preset"):
            cleaned["scopes"] = [str(scope) for scope in PRESETS[preset][1]]
        elif not cleaned.get("scopes") and "scopes" not in self.errors:
            self.add_error("scopes", "Pick at least one scope.")
        return cleaned

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the client a name.")
        return name
