from django import forms

from entitlements.events import TYPES

from .urlguard import UnsafeUrl, check_url

DUPLICATE_URL = (
    "This location already has an endpoint for this URL (enable it if it is disabled): "
    "a second one would receive every event twice."
)


class EndpointForm(forms.Form):
    url = forms.URLField(
        label="Endpoint URL",
        max_length=2000,
        assume_scheme="https",
        help_text="https:// on a public host. Kotally POSTs signed JSON to it.",
    )
    event_types = forms.MultipleChoiceField(
        label="Events", choices=[(t, t) for t in TYPES], widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, location, **kwargs):
        super().__init__(*args, **kwargs)
        self.location = location

    def clean_url(self):
        url = self.cleaned_data["url"]
        # A second submission of the form (a double click, a reload) must not add a second
        # endpoint that receives every event again.
        if self.location.webhook_endpoints.filter(url=url).exists():
            raise forms.ValidationError(DUPLICATE_URL)
        try:
            check_url(url)
        except UnsafeUrl as exc:
            raise forms.ValidationError(str(exc)) from exc
        return url
