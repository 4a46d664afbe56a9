"""Web form for a client's details."""

from __future__ import annotations

import zoneinfo

from django import forms

from bpo.tenancy.models import Client

TIME_ZONE_CHOICES = [(tz, tz) for tz in sorted(zoneinfo.available_timezones())]


class ClientForm(forms.ModelForm):
    time_zone = forms.ChoiceField(choices=TIME_ZONE_CHOICES, initial="UTC")

    class Meta:
        model = Client
        fields = ["name", "slug", "legal_name", "country", "time_zone", "is_active"]
