from django import forms

from locations.models import LocationStatus

from .models import Scope


class ApiClientForm(forms.Form):
    location = forms.ModelChoiceField(
        label="Location", queryset=None, to_field_name="location_id", empty_label=None
    )
    name = forms.CharField(
        label="Name", max_length=120, help_text="What uses this token, e.g. “Booking app”."
    )
    scopes = forms.MultipleChoiceField(
        label="Scopes",
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Pick at least one scope."},
    )

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = workspace.locations.filter(
            status=LocationStatus.ACTIVE
        ).order_by("created_at", "pk")

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the client a name.")
        return name
