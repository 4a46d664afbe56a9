"""Web form for a client's details."""

from __future__ import annotations

import zoneinfo

from django import forms

from bpo.tenancy.models import Client


class ClientForm(forms.ModelForm):
    time_zone = forms.ChoiceField(
        choices=[(tz, tz) for tz in sorted(zoneinfo.available_timezones())], initial="UTC"
    )

    class Meta:
        model = Client
        fields = ["name", "slug", "legal_name", "country", "time_zone", "is_active"]
