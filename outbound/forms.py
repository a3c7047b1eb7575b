from django import forms

from entitlements.events import TYPES

from .urlguard import UnsafeUrl, check_url


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

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            check_url(url)
        except UnsafeUrl as exc:
            raise forms.ValidationError(str(exc)) from exc
        return url
