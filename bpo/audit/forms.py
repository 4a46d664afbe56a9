"""Forms of the audit pages."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.utils import timezone

from bpo.audit.queries import AccessKind


class AccessLogFilterForm(forms.Form):
    """The access log's filters: viewed or changed, one person, a period of whole days."""

    kind = forms.ChoiceField(
        required=False,
        choices=[("", "Everything"), *((k.value, k.value.capitalize()) for k in AccessKind)],
    )
    person = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    since = forms.DateField(required=False, label="From")
    until = forms.DateField(required=False, label="To")

    def clean(self) -> dict[str, Any]:
        """A period that ends before it starts is refused, naming the end."""
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and until < since:
            self.add_error("until", "The period ends before it starts.")
        return data

    def filters(self) -> dict[str, Any]:
        """The valid filters as provider_access_entries takes them; days in the viewer's zone."""
        data: dict[str, Any] = {}
        if self.is_bound:
            self.is_valid()  # cleans the form; invalid fields stay out of cleaned_data
            data = self.cleaned_data
        since, until = data.get("since"), data.get("until")
        return {
            "kind": AccessKind(data["kind"]) if data.get("kind") else None,
            "person_id": data.get("person"),
            "since": _start_of(since) if since else None,
            "until": _start_of(until + timedelta(days=1)) if until else None,
        }


def _start_of(day: date) -> datetime:
    """Midnight at the start of a day in the current (the viewer's) time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))
