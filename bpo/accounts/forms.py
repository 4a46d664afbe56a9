"""Web forms about people; they parse input, the actions decide."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from bpo.accounts.roles import ROLE_CHOICES
from bpo.tenancy.forms import TIME_ZONE_CHOICES


class LoginForm(forms.Form):
    email = forms.EmailField(
        label="E-mail",
        widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(
        label="Current password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    new_password = forms.CharField(
        label="New password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    new_password_again = forms.CharField(
        label="New password, again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if data.get("new_password") and data.get("new_password") != data.get("new_password_again"):
            raise ValidationError({"new_password_again": "The two new passwords differ."})
        return data


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What will use it, e.g. 'CRM sync'.")
    expires_at = forms.DateTimeField(
        required=False,
        label="Expires (optional)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )


class PreferencesForm(forms.Form):
    time_zone = forms.ChoiceField(
        choices=TIME_ZONE_CHOICES, help_text="Dates and times are shown to you in this zone."
    )


class PersonForm(forms.Form):
    email = forms.EmailField(label="E-mail")
    full_name = forms.CharField(max_length=200)
    time_zone = forms.ChoiceField(choices=TIME_ZONE_CHOICES, initial="UTC", required=False)
    is_active = forms.BooleanField(required=False, initial=True, label="Can log in")
    password = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 10 characters. Leave empty to keep the current one.",
    )

    def clean_time_zone(self) -> str:
        return self.cleaned_data.get("time_zone") or "UTC"


class MembershipForm(forms.Form):
    role = forms.ChoiceField(choices=ROLE_CHOICES)
    client = forms.TypedChoiceField(
        coerce=int, required=False, empty_value=None, help_text="Empty for a provider role."
    )

    def __init__(self, *args: object, clients: list[tuple[int, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["client"].choices = [("", "— provider —"), *clients]  # type: ignore[attr-defined]


class AssignmentForm(forms.Form):
    client = forms.TypedChoiceField(coerce=int)

    def __init__(self, *args: object, clients: list[tuple[int, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["client"].choices = clients  # type: ignore[attr-defined]


def add_validation_errors(form: forms.BaseForm, exc: ValidationError) -> None:
    """Show an action's ValidationError on the form: per field where it names one."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)
