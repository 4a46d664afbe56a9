"""Web form for a client's details."""

from __future__ import annotations

from django import forms

from bpo.tenancy.models import Client, known_time_zones

TIME_ZONE_CHOICES = [(tz, tz) for tz in sorted(known_time_zones())]


class ClientForm(forms.ModelForm):
    time_zone = forms.ChoiceField(choices=TIME_ZONE_CHOICES, initial="UTC")

    class Meta:
        model = Client
        fields = ["name", "slug", "legal_name", "country", "time_zone", "is_active"]
