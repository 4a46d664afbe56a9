"""Web forms of billing: which invoices to list, drafting a month's invoice, the steps of an
invoice's life that take words from finance (void, credit note, payment), and the rate card
of a service with its charges. The actions decide; these forms parse and give the errors a
place next to the field they concern."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from bpo.accounts.forms import add_validation_errors
from bpo.billing.models import InvoiceStatus
from bpo.contracts.forms import IsoDateField
from bpo.contracts.models import Charge, ChargeModel, Priority, Tiering, channel_choices

TIER_ROWS = 6


class MonthInput(forms.DateInput):
    input_type = "month"


class MonthField(forms.Field):
    """A month picked in the browser ('2026-09'), cleaned to its first day."""

    widget = MonthInput
    default_error_messages = {"invalid": "Choose a month, written YYYY-MM (e.g. 2026-09)."}

    def to_python(self, value: Any) -> date | None:
        if isinstance(value, date):
            return value.replace(day=1)
        if value in self.empty_values:
            return None
        try:
            return date.fromisoformat(f"{str(value).strip()}-01")
        except ValueError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None

    def prepare_value(self, value: Any) -> Any:
        return f"{value:%Y-%m}" if isinstance(value, date) else value


class InvoiceFilterForm(forms.Form):
    """Which invoices the list shows: of one client, in one status (unknown choices: all)."""

    client = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    status = forms.ChoiceField(choices=[("", "Any status"), *InvoiceStatus.choices], required=False)

    def __init__(self, *args: Any, clients: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["client"].choices = [("", "All clients"), *clients]  # type: ignore[attr-defined]

    def filters(self) -> dict[str, Any]:
        """``client_id`` and ``status`` as the queries take them (None: any)."""
        if not self.is_bound or not self.is_valid():
            return {"client_id": None, "status": None}
        return {
            "client_id": self.cleaned_data.get("client"),
            "status": self.cleaned_data.get("status") or None,
        }


class DraftForm(forms.Form):
    """Draft (or compute again) the invoice of a contract for a month."""

    contract = forms.TypedChoiceField(coerce=int, label="Contract")
    month = MonthField(label="Month", help_text="The month billed, e.g. last month.")

    def __init__(self, *args: Any, contracts: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contract"].choices = contracts  # type: ignore[attr-defined]


class VoidForm(forms.Form):
    reason = forms.CharField(
        max_length=2000,
        label="Why is it void?",
        help_text="The client reads it on the invoice.",
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class CreditNoteForm(forms.Form):
    reason = forms.CharField(
        max_length=2000,
        label="What does the credit note correct?",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    amount = forms.DecimalField(
        required=False,
        max_digits=18,
        decimal_places=4,
        label="Net amount to credit",
        help_text="Empty: the whole invoice (every line reversed).",
    )


class PaidForm(forms.Form):
    paid_on = IsoDateField(required=False, label="Paid on", help_text="Empty: today.")


class RateCardForm(forms.Form):
    minimum_commitment = forms.DecimalField(
        required=False,
        max_digits=14,
        decimal_places=2,
        label="Minimum monthly commitment",
        help_text="The least the service is billed a month: a true-up line adds the shortfall "
        "of its charges. Empty: none.",
    )


def _decimal(label: str, *, digits: int = 14, places: int = 4, **kwargs: Any) -> forms.Field:
    return forms.DecimalField(
        required=False, max_digits=digits, decimal_places=places, label=label, **kwargs
    )


class ChargeForm(forms.Form):
    """One charge of a rate card: what it counts, and its price (one, tiers, or a baseline).

    Tiers are a grid of rows (up to, price); blank rows are left out and the last tier has
    no "up to". Errors of the action about ``tiers[n]`` go back to the cell they concern."""

    label = forms.CharField(max_length=120, help_text="The line's text on the invoice.")
    model = forms.ChoiceField(choices=ChargeModel.choices, label="Charge model")
    channel = forms.ChoiceField(required=False, help_text="Per resolved item or handled minute.")
    priority = forms.ChoiceField(
        required=False,
        choices=[("", "Any priority"), *Priority.choices],
        help_text="Per resolved item or handled minute.",
    )
    item_type = forms.SlugField(
        required=False,
        max_length=60,
        label="Item type",
        help_text="Count only items carrying this tag, e.g. complaint.",
    )
    fte_hours = _decimal(
        "Hours per FTE",
        digits=6,
        places=2,
        help_text="Per FTE only: the production hours one full-time equivalent stands for.",
    )
    tiering = forms.ChoiceField(choices=Tiering.choices, initial=Tiering.FLAT, label="Pricing")
    unit_price = _decimal("Unit price", help_text="One price, or the base price of a baseline.")
    # Not an input: where errors about the tiers as a whole are shown.
    tiers = forms.CharField(required=False, widget=forms.HiddenInput)
    baseline = _decimal(
        "Baseline volume",
        places=2,
        help_text="Optional: the volume billed at the unit price; units outside the deadband "
        "are charged or credited at the rates below.",
    )
    deadband_percent = _decimal("Deadband (± %)", digits=5, places=2)
    additional_rate = _decimal("Additional rate", help_text="Per unit above the deadband.")
    reduced_rate = _decimal("Reduced rate", help_text="Credit per unit below the deadband.")
    position = forms.IntegerField(
        required=False, min_value=0, help_text="Order on the invoice (empty: last)."
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = [  # type: ignore[attr-defined]
            ("", "Any channel"),
            *channel_choices(),
        ]
        for n in range(1, TIER_ROWS + 1):
            self.fields[f"tier_{n}_up_to"] = _decimal(f"Tier {n} up to", places=4)
            self.fields[f"tier_{n}_price"] = _decimal(f"Tier {n} price", places=6)
        # Positions of the tiers handed to the action → the grid row each came from.
        self.tier_rows: list[int] = []

    @property
    def counting_fields(self) -> list[forms.BoundField]:
        return [self[n] for n in ("label", "model", "channel", "priority", "item_type")]

    @property
    def baseline_fields(self) -> list[forms.BoundField]:
        return [
            self[n] for n in ("baseline", "deadband_percent", "additional_rate", "reduced_rate")
        ]

    @property
    def tier_grid(self) -> list[tuple[int, forms.BoundField, forms.BoundField]]:
        return [
            (n, self[f"tier_{n}_up_to"], self[f"tier_{n}_price"]) for n in range(1, TIER_ROWS + 1)
        ]

    @property
    def tier_errors(self) -> list[str]:
        """Errors of the tier grid, listed above it (the cells are only marked red)."""
        return [
            f"{self.fields[name].label}: {message}" if name != "tiers" else str(message)
            for name, errors in self.errors.items()
            if name == "tiers" or name.startswith("tier_")
            for message in errors
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        tiers: list[dict[str, str | None]] = []
        self.tier_rows = []
        for n in range(1, TIER_ROWS + 1):
            up_to, price = data.get(f"tier_{n}_up_to"), data.get(f"tier_{n}_price")
            if up_to is None and price is None:
                continue
            if price is None:
                if f"tier_{n}_price" not in self.errors:
                    self.add_error(f"tier_{n}_price", "Give this tier's price.")
                continue
            tiers.append({"up_to": None if up_to is None else f"{up_to:f}", "price": f"{price:f}"})
            self.tier_rows.append(n)
        data["tiers"] = tiers
        return data

    def charge_fields(self) -> dict[str, Any]:
        """The cleaned data as ``charge_add`` and ``charge_update`` take it."""
        data = self.cleaned_data
        fields = {
            name: data.get(name)
            for name in (
                "label",
                "model",
                "channel",
                "priority",
                "item_type",
                "tiering",
                "unit_price",
                "tiers",
                "fte_hours",
                "baseline",
                "additional_rate",
                "reduced_rate",
            )
        }
        fields["deadband_percent"] = data.get("deadband_percent") or Decimal(0)
        if data.get("position") is not None:
            fields["position"] = data["position"]
        return fields

    @staticmethod
    def initial_from(charge: Charge) -> dict[str, Any]:
        """Initial values that show a saved charge in the form."""
        initial = {
            name: getattr(charge, name)
            for name in (
                "label",
                "model",
                "channel",
                "priority",
                "item_type",
                "tiering",
                "unit_price",
                "fte_hours",
                "baseline",
                "additional_rate",
                "reduced_rate",
                "position",
            )
        }
        initial["deadband_percent"] = charge.deadband_percent or None
        for n, tier in enumerate(charge.tiers or [], start=1):
            if n > TIER_ROWS or not isinstance(tier, dict):
                break
            initial[f"tier_{n}_up_to"] = tier.get("up_to")
            initial[f"tier_{n}_price"] = tier.get("price")
        return initial


_TIER_KEY = re.compile(r"^tiers\[(\d+)\]\.(up_to|price): (.*)$", re.DOTALL)


def add_charge_errors(form: ChargeForm, exc: ValidationError) -> None:
    """Show an action's ValidationError on the charge form: a tier's on its grid cell."""
    if not hasattr(exc, "error_dict"):
        add_validation_errors(form, exc)
        return
    for key, messages in exc.message_dict.items():
        for message in messages:
            match = _TIER_KEY.match(message) if key == "tiers" else None
            if match and int(match[1]) < len(form.tier_rows):
                form.add_error(f"tier_{form.tier_rows[int(match[1])]}_{match[2]}", match[3])
            else:
                form.add_error(key if key in form.fields else None, message)
