"""Intake forms."""

from __future__ import annotations

from typing import Any

from django import forms

from bpo.intake.models import ImapSecurity
from bpo.intake.tabular import ENCODINGS
from bpo.work.forms import CustomFieldsForm


class MailboxForm(forms.Form):
    service = forms.TypedChoiceField(coerce=int, label="Service")
    address = forms.EmailField(
        max_length=254, help_text="Mail to this address becomes the service's work."
    )
    display_name = forms.CharField(
        max_length=120, required=False, help_text="The sender name of replies."
    )
    acknowledge = forms.BooleanField(
        required=False,
        initial=True,
        help_text="Answer a new request with its number (never to auto-replies or lists).",
    )

    imap_host = forms.CharField(
        label="IMAP server",
        max_length=253,
        required=False,
        help_text="Optional: fetch the mail from this IMAP mailbox every minute instead.",
    )
    imap_port = forms.IntegerField(label="IMAP port", min_value=1, max_value=65535, required=False)
    imap_security = forms.ChoiceField(
        label="IMAP security", choices=ImapSecurity.choices, initial=ImapSecurity.SSL
    )
    imap_folder = forms.CharField(label="IMAP folder", max_length=200, initial="INBOX")
    imap_username = forms.CharField(label="IMAP user", max_length=200, required=False)
    imap_password = forms.CharField(
        label="IMAP password",
        max_length=500,
        required=False,
        widget=forms.PasswordInput,
        help_text="Stored encrypted, never shown again.",
    )

    def __init__(self, *args: Any, services: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service"].choices = services  # type: ignore[attr-defined]


class PublicRequestForm(CustomFieldsForm):
    """A public form's fields: who writes, about what, the service's own fields, and a
    honeypot field people never see (a bot that fills it is not taken in)."""

    name = forms.CharField(label="Your name", max_length=200)
    email = forms.EmailField(label="Your e-mail", max_length=254)
    subject = forms.CharField(label="Subject", max_length=300)
    message = forms.CharField(
        label="Your message", max_length=20000, widget=forms.Textarea(attrs={"rows": 6})
    )
    website = forms.CharField(required=False, label="Leave this empty", max_length=200)


class ContactReplyForm(forms.Form):
    body = forms.CharField(
        label="Your answer", max_length=20000, widget=forms.Textarea(attrs={"rows": 4})
    )


class WebFormForm(forms.Form):
    service = forms.TypedChoiceField(coerce=int, label="Service")
    title = forms.CharField(max_length=200, help_text="The form's heading, e.g. 'Contact us'.")
    intro = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Shown above the form.",
    )

    def __init__(self, *args: Any, services: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service"].choices = services  # type: ignore[attr-defined]


class ImportUploadForm(forms.Form):
    service = forms.TypedChoiceField(coerce=int, label="Service")
    file = forms.FileField(
        label="CSV or Excel file",
        help_text="The first row names the columns. CSV (any delimiter) or .xlsx, first sheet.",
    )
    encoding = forms.ChoiceField(
        label="Encoding (CSV)",
        required=False,
        choices=[("", "Detect (UTF-8, or UTF-16 with a byte-order mark)"), *ENCODINGS.items()],
        help_text="A CSV saved by Excel on Windows is usually Windows-1252.",
    )

    def __init__(self, *args: Any, services: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service"].choices = services  # type: ignore[attr-defined]
