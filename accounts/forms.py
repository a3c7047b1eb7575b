from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.contrib.auth.password_validation import validate_password

from .models import Role, User


class SignInForm(AuthenticationForm):
    """Emails are stored lowercased, so they are compared lowercased."""

    def clean_username(self):
        return self.cleaned_data["username"].strip().lower()


class InvitedAwarePasswordResetForm(PasswordResetForm):
    """Django skips users without a usable password; an invited member who lost or outlived
    their invitation link is such a user, and "Forgot password" is their way back in."""

    def get_users(self, email):
        return get_user_model()._default_manager.filter(email__iexact=email, is_active=True)


class SignupForm(forms.Form):
    email = forms.EmailField(label="Your email", max_length=254)
    password = forms.CharField(
        label="Password",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 8 characters; not too common, not all numbers.",
    )
    workspace_name = forms.CharField(
        label="Workspace name", max_length=120, help_text="Your agency or business."
    )

    def clean_email(self):
        email = User.objects.normalize_email(self.cleaned_data["email"]).lower()
        # An invited email without a password yet may still sign up (accounts.services).
        taken = User.objects.filter(email=email).exclude(
            password__startswith=UNUSABLE_PASSWORD_PREFIX
        )
        if taken.exists():
            raise forms.ValidationError("An account with this email already exists. Sign in.")
        return email

    def clean_workspace_name(self):
        name = self.cleaned_data["workspace_name"].strip()
        if not name:
            raise forms.ValidationError("Give your workspace a name.")
        return name

    def clean(self):
        cleaned = super().clean()
        password, email = cleaned.get("password"), cleaned.get("email")
        if password:
            try:
                validate_password(password, User(email=email or ""))
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return cleaned


class WorkspaceSettingsForm(forms.Form):
    cancellation_window_hours = forms.IntegerField(
        label="Cancellation window (hours)",
        min_value=0,
        max_value=720,
        help_text="Cancelling at least this long before the booking gives the credit back. "
        "0 turns the check off.",
    )
    restore_on_cancel = forms.BooleanField(
        label="Give credits back when a GHL booking is cancelled", required=False
    )


class InviteForm(forms.Form):
    email = forms.EmailField(label="Email", max_length=254)
    role = forms.ChoiceField(label="Role", choices=Role.choices, initial=Role.VIEWER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=Role.choices)


class WorkspaceSwitchForm(forms.Form):
    workspace = forms.CharField(max_length=40)
