"""Portal forms: a request to a service, and the answer to a satisfaction survey."""

from __future__ import annotations

from django import forms

from bpo.contracts.models import Priority
from bpo.work.forms import CustomFieldsForm


class PortalRequestForm(CustomFieldsForm):
    """What a client user asks a service for, with the service's own fields."""

    title = forms.CharField(label="Subject", max_length=300)
    description = forms.CharField(
        label="Details", max_length=20000, widget=forms.Textarea(attrs={"rows": 6})
    )
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.NORMAL)


class SurveyForm(forms.Form):
    """How it went: 1 to 5 (required), would you recommend us 0 to 10, and a comment."""

    rating = forms.TypedChoiceField(
        label="How satisfied are you with how we handled your request?",
        choices=[(n, str(n)) for n in range(1, 6)],
        coerce=int,
        widget=forms.RadioSelect,
    )
    recommend = forms.TypedChoiceField(
        label="How likely are you to recommend us to a friend or colleague? (0 = not at all, "
        "10 = extremely)",
        choices=[("", "—"), *((n, str(n)) for n in range(11))],
        coerce=int,
        empty_value=None,
        required=False,
    )
    comment = forms.CharField(
        label="Anything you want to tell us?",
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
