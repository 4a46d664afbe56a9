"""Web forms for contracts, their versions, services and SLA policies; the actions decide.

The SLA policy form is a grid: a row per priority with the minutes of each response and
resolution target (and whether they count business or calendar time) and a deadline rule.
The actions name a target by its position (``targets[3].deadline``); :func:`add_policy_errors`
puts such messages back on the cell they came from.
"""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from bpo.accounts.forms import add_validation_errors
from bpo.contracts.fields import FIELD_TYPES
from bpo.contracts.models import (
    PAUSE_STATES,
    ClockKind,
    Metric,
    Priority,
    ProcessType,
    Rounding,
    SlaPolicy,
)

PAUSE_STATE_LABELS = {
    "pending_contact": "Waiting for the contact's answer",
    "pending_client": "Waiting for the client",
}
DURATION_METRICS = (Metric.FIRST_RESPONSE, Metric.NEXT_RESPONSE, Metric.RESOLUTION)
DEADLINE_KIND_CHOICES = [
    ("", "—"),
    ("same_business_day", "Same business day"),
    ("next_business_day", "Next business day"),
    ("business_day_of_month", "n-th business day of the month"),
]
ACTION_CHOICES = [("notify_managers", "Notify managers"), ("raise_priority", "Raise the priority")]
CUSTOM_FIELDS_HELP = (
    "The fields every work item of this service carries, as a JSON list, e.g. "
    '[{"name": "order_number", "label": "Order number", "type": "text", "required": true}, '
    '{"name": "channel", "label": "Channel", "type": "choice", "choices": ["email", "chat"]}]. '
    f"Names are lower-case letters, digits and _; types are {', '.join(FIELD_TYPES)}; "
    "only choice fields have choices. Leave [] for none."
)


# The version's billing terms, edited in the version form beside its other terms.
BILLING_TERMS = (
    "tax_label",
    "tax_rate_percent",
    "rounding",
    "payment_days",
    "credit_at_risk_percent",
    "credit_pool_percent",
    "earn_back_months",
)


class DateInput(forms.DateInput):
    input_type = "date"


class TimeInput(forms.TimeInput):
    input_type = "time"


class IsoDateField(forms.DateField):
    """A date picked in the browser; shown back as YYYY-MM-DD, which date inputs need."""

    widget = DateInput

    def prepare_value(self, value: Any) -> Any:
        return value.isoformat() if isinstance(value, date) else value


class JsonListField(forms.JSONField):
    """A JSON list typed in a textarea; a syntax error says where it is."""

    widget = forms.Textarea(attrs={"rows": 6, "class": "font-monospace"})

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and value.strip():
            try:
                json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValidationError(
                    f"This is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
                ) from exc
        result = super().to_python(value)
        return [] if result is None else result

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return json.dumps(value if value is not None else [], indent=2, ensure_ascii=False)


# --- Contracts and versions ----------------------------------------------------------------------


class BillingTermsForm(forms.Form):
    """The billing terms of a contract version (empty: the default shown)."""

    tax_label = forms.CharField(
        required=False,
        max_length=30,
        initial="VAT",
        label="Tax",
        help_text="The tax's name on the invoice, e.g. VAT.",
    )
    tax_rate_percent = forms.DecimalField(
        required=False,
        initial=Decimal(0),
        min_value=Decimal(0),
        max_value=Decimal(100),
        max_digits=5,
        decimal_places=2,
        label="Tax rate (%)",
        help_text="On the invoice's net amount; 0 when none is charged.",
    )
    rounding = forms.ChoiceField(
        required=False,
        choices=Rounding.choices,
        initial=Rounding.HALF_UP,
        help_text="How amounts are rounded to the currency's smallest unit.",
    )
    payment_days = forms.IntegerField(
        required=False,
        initial=30,
        min_value=0,
        max_value=365,
        label="Payment terms (days)",
        help_text="Days from issue to the invoice's due date.",
    )
    credit_at_risk_percent = forms.DecimalField(
        required=False,
        min_value=Decimal(0),
        max_value=Decimal(100),
        max_digits=5,
        decimal_places=2,
        label="Fees at risk for SLA credits (%)",
        help_text="Share of the month's fees at risk for missed critical service levels, e.g. "
        "10. Empty: no service-level credits.",
    )
    credit_pool_percent = forms.DecimalField(
        required=False,
        initial=Decimal(100),
        min_value=Decimal(0),
        max_value=Decimal(1000),
        max_digits=6,
        decimal_places=2,
        label="Pool allocation (%)",
        help_text="The amount at risk times this percentage is shared among the critical "
        "service levels by their credit shares (set per target in the SLA policy).",
    )
    earn_back_months = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=12,
        label="Earn-back after (months)",
        help_text="A credit is returned when the service level is met in each of this many "
        "following months. Empty: no earn-back.",
    )

    @property
    def billing_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in BILLING_TERMS]

    def clean_tax_label(self) -> str:
        return self.cleaned_data["tax_label"].strip() or self.fields["tax_label"].initial

    def clean_tax_rate_percent(self) -> Decimal:
        value = self.cleaned_data["tax_rate_percent"]
        return self.fields["tax_rate_percent"].initial if value is None else value

    def clean_rounding(self) -> str:
        return self.cleaned_data["rounding"] or self.fields["rounding"].initial

    def clean_payment_days(self) -> int:
        value = self.cleaned_data["payment_days"]
        return self.fields["payment_days"].initial if value is None else value

    def clean_credit_pool_percent(self) -> Decimal:
        value = self.cleaned_data["credit_pool_percent"]
        return self.fields["credit_pool_percent"].initial if value is None else value

    @staticmethod
    def initial_from(version: Any) -> dict[str, Any]:
        return {name: getattr(version, name) for name in BILLING_TERMS}


class VersionTermsForm(BillingTermsForm):
    """The terms of a contract version, its billing terms included."""

    start_date = IsoDateField()
    end_date = IsoDateField(required=False, help_text="Empty: open-ended.")
    currency = forms.CharField(max_length=3, help_text="ISO 4217 code, e.g. EUR.")
    billing_day = forms.IntegerField(
        initial=1, help_text="Day of the month the invoice is made (1–28)."
    )
    retention_days = forms.IntegerField(
        initial=365 * 7,
        help_text="How long the client's work data is kept after it is closed, in days.",
    )
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    excluded_tags = forms.CharField(
        required=False,
        initial="spam, duplicate",
        label="Tags left out of service levels",
        help_text="Comma-separated. Items with any of these tags count in volumes only.",
    )
    exclude_cancelled = forms.BooleanField(
        required=False, initial=True, label="Leave cancelled items out of SLA attainment"
    )
    fcr_window_days = forms.IntegerField(
        required=False,
        initial=7,
        min_value=1,
        max_value=90,
        label="Repeat-contact window (days)",
        help_text="A new request of the same contact within this many days after a resolution "
        "means that item was not resolved at first contact.",
    )
    csat_good_rating = forms.IntegerField(
        required=False,
        initial=4,
        min_value=1,
        max_value=5,
        label="Satisfied from rating",
        help_text="Survey ratings from this value up (out of 5) count as satisfied (CSAT).",
    )

    @property
    def term_fields(self) -> list[forms.BoundField]:
        """Every field but the billing terms, in order."""
        return [field for field in self if field.name not in BILLING_TERMS]

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].strip().upper()

    def clean_fcr_window_days(self) -> int:
        return self.cleaned_data["fcr_window_days"] or self.fields["fcr_window_days"].initial

    def clean_csat_good_rating(self) -> int:
        return self.cleaned_data["csat_good_rating"] or self.fields["csat_good_rating"].initial

    def clean_excluded_tags(self) -> list[str]:
        tags = [t.strip() for t in self.cleaned_data["excluded_tags"].split(",") if t.strip()]
        return list(dict.fromkeys(tags))

    @staticmethod
    def initial_from(version: Any) -> dict[str, Any]:
        initial = {
            name: getattr(version, name)
            for name in (
                "start_date",
                "end_date",
                "currency",
                "billing_day",
                "retention_days",
                "notes",
                "exclude_cancelled",
                "fcr_window_days",
                "csat_good_rating",
                *BILLING_TERMS,
            )
        }
        return {**initial, "excluded_tags": ", ".join(version.excluded_tags)}


class ContractForm(VersionTermsForm):
    """A new contract with a client: its reference and title, and the terms of version 1."""

    client = forms.TypedChoiceField(coerce=int)
    reference = forms.CharField(
        max_length=40, help_text="The contract's number as both parties know it, e.g. NW-2026-01."
    )
    title = forms.CharField(max_length=200)

    field_order = ["client", "reference", "title"]

    def __init__(self, *args: Any, clients: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["client"].choices = clients  # type: ignore[attr-defined]


class ContractEndForm(forms.Form):
    end_date = IsoDateField(help_text="The last day the contract's terms apply.")


# --- Services ------------------------------------------------------------------------------------


class ServiceTermsForm(forms.Form):
    """What a version says about a service."""

    calendar_id = forms.TypedChoiceField(
        coerce=int, label="Business calendar", help_text="SLA targets count time on it."
    )
    sla_policy_id = forms.TypedChoiceField(
        coerce=int, required=False, empty_value=None, label="SLA policy"
    )
    scope_included = forms.CharField(
        required=False, label="In scope", widget=forms.Textarea(attrs={"rows": 3})
    )
    scope_excluded = forms.CharField(
        required=False, label="Out of scope", widget=forms.Textarea(attrs={"rows": 3})
    )
    deliverables = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    custom_fields = JsonListField(required=False, initial=list, help_text=CUSTOM_FIELDS_HELP)

    def __init__(
        self,
        *args: Any,
        calendars: list[tuple[int, str]],
        policies: list[tuple[int, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["calendar_id"].choices = calendars  # type: ignore[attr-defined]
        self.fields["sla_policy_id"].choices = [  # type: ignore[attr-defined]
            ("", "— none yet —"),
            *policies,
        ]

    @staticmethod
    def initial_from(terms: Any) -> dict[str, Any]:
        return {
            "calendar_id": terms.calendar_id,
            "sla_policy_id": terms.sla_policy_id,
            "scope_included": terms.scope_included,
            "scope_excluded": terms.scope_excluded,
            "deliverables": terms.deliverables,
            "custom_fields": terms.custom_fields,
        }


class ServiceForm(ServiceTermsForm):
    """A new service of a contract, with what the version says about it."""

    name = forms.CharField(max_length=200, help_text="e.g. 'Customer service, e-mail and chat'.")
    key = forms.SlugField(
        max_length=60, help_text="Short stable key, e.g. 'email-support'; it never changes."
    )
    process_type = forms.ChoiceField(choices=ProcessType.choices)

    field_order = ["name", "key", "process_type"]


# --- SLA policies --------------------------------------------------------------------------------


class SlaPolicyForm(forms.Form):
    """An SLA policy: how it pauses, warns and escalates, and its targets per priority."""

    name = forms.CharField(max_length=120, help_text="e.g. 'Standard'.")
    pause_states = forms.MultipleChoiceField(
        required=False,
        choices=[(state, PAUSE_STATE_LABELS.get(state, state)) for state in PAUSE_STATES],
        widget=forms.CheckboxSelectMultiple,
        label="The clocks pause while",
    )
    warning_percent = forms.IntegerField(
        initial=75, label="Warn at (%)", help_text="Share of a target's time used (1–99)."
    )
    on_warning = forms.MultipleChoiceField(
        required=False, choices=ACTION_CHOICES, widget=forms.CheckboxSelectMultiple
    )
    on_warning_queue = forms.CharField(
        required=False, max_length=120, label="…and move the item to the queue"
    )
    on_breach = forms.MultipleChoiceField(
        required=False, choices=ACTION_CHOICES, widget=forms.CheckboxSelectMultiple
    )
    on_breach_queue = forms.CharField(
        required=False, max_length=120, label="…and move the item to the queue"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["on_warning"].label = "On warning"
        self.fields["on_breach"].label = "On breach"
        for priority in Priority:
            for metric in DURATION_METRICS:
                self.fields[f"{priority}_{metric}"] = forms.IntegerField(
                    required=False, min_value=0, label=f"{priority.label} {metric.label} (min)"
                )
                self.fields[f"{priority}_{metric}_clock"] = forms.ChoiceField(
                    choices=ClockKind.choices, initial=ClockKind.BUSINESS, required=False
                )
                self.fields[f"{priority}_{metric}_level"] = _level_field(
                    f"{priority.label} {metric.label}"
                )
                self.fields[f"{priority}_{metric}_share"] = _share_field(
                    f"{priority.label} {metric.label}"
                )
            self.fields[f"{priority}_deadline_kind"] = forms.ChoiceField(
                choices=DEADLINE_KIND_CHOICES, required=False, label=f"{priority.label} deadline"
            )
            self.fields[f"{priority}_deadline_n"] = forms.IntegerField(
                required=False, min_value=1, label=f"{priority.label} deadline business day"
            )
            self.fields[f"{priority}_deadline_at"] = forms.TimeField(
                required=False,
                widget=TimeInput,
                label=f"{priority.label} deadline time",
                error_messages={"invalid": "Enter a time like 10:00."},
            )
            self.fields[f"{priority}_deadline_level"] = _level_field(f"{priority.label} deadline")
            self.fields[f"{priority}_deadline_share"] = _share_field(f"{priority.label} deadline")
        # Positions of the targets handed to the action → the grid cell each came from.
        self.target_cells: list[str] = []

    @property
    def settings_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in ("name", "pause_states", "warning_percent")]

    @property
    def escalation_fields(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [
            (self["on_warning"], self["on_warning_queue"]),
            (self["on_breach"], self["on_breach_queue"]),
        ]

    @property
    def target_rows(self) -> list[dict[str, Any]]:
        """The grid: per priority, a (minutes, clock) pair per metric and the deadline cells."""
        return [
            {
                "label": priority.label,
                "durations": [
                    (
                        self[f"{priority}_{metric}"],
                        self[f"{priority}_{metric}_clock"],
                        self[f"{priority}_{metric}_level"],
                        self[f"{priority}_{metric}_share"],
                    )
                    for metric in DURATION_METRICS
                ],
                "deadline": (
                    self[f"{priority}_deadline_kind"],
                    self[f"{priority}_deadline_n"],
                    self[f"{priority}_deadline_at"],
                    self[f"{priority}_deadline_level"],
                    self[f"{priority}_deadline_share"],
                ),
            }
            for priority in Priority
        ]

    @property
    def grid_errors(self) -> list[str]:
        """Errors of grid cells, listed above the grid (the cells are only marked red)."""
        return [
            f"{self.fields[name].label or name}: {message}"
            for name, errors in self.errors.items()
            if name.startswith(tuple(Priority.values))
            for message in errors
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for priority in Priority:
            kind = data.get(f"{priority}_deadline_kind")
            at = data.get(f"{priority}_deadline_at")
            if kind and not at and f"{priority}_deadline_at" not in self.errors:
                self.add_error(f"{priority}_deadline_at", "Give the time it is due by, e.g. 10:00.")
            if at and not kind:
                self.add_error(f"{priority}_deadline_kind", "Choose which day it is due.")
            if kind == "business_day_of_month" and data.get(f"{priority}_deadline_n") is None:
                self.add_error(f"{priority}_deadline_n", "Give which business day, e.g. 3.")
        return data

    def policy_fields(self) -> dict[str, Any]:
        """The cleaned data as ``sla_policy_save`` takes it (targets included)."""
        data = self.cleaned_data
        targets: list[dict[str, Any]] = []
        self.target_cells = []
        for priority in Priority:
            for metric in DURATION_METRICS:
                minutes = data.get(f"{priority}_{metric}")
                if minutes is not None:
                    targets.append(
                        {
                            "priority": priority.value,
                            "metric": metric.value,
                            "clock": data.get(f"{priority}_{metric}_clock") or ClockKind.BUSINESS,
                            "duration_minutes": minutes,
                            "service_level_percent": data.get(f"{priority}_{metric}_level"),
                            "credit_share_percent": data.get(f"{priority}_{metric}_share"),
                        }
                    )
                    self.target_cells.append(f"{priority}_{metric}")
            kind = data.get(f"{priority}_deadline_kind")
            if kind:
                at = data[f"{priority}_deadline_at"]
                rule: dict[str, Any] = {"kind": kind, "at": f"{at:%H:%M}"}
                if kind == "business_day_of_month":
                    rule["n"] = data.get(f"{priority}_deadline_n")
                targets.append(
                    {
                        "priority": priority.value,
                        "metric": Metric.DEADLINE.value,
                        "deadline": rule,
                        "service_level_percent": data.get(f"{priority}_deadline_level"),
                        "credit_share_percent": data.get(f"{priority}_deadline_share"),
                    }
                )
                self.target_cells.append(f"{priority}_deadline_kind")
        return {
            "name": data["name"],
            "pause_states": list(data["pause_states"]),
            "warning_percent": data["warning_percent"],
            "on_warning": _actions(data["on_warning"], data["on_warning_queue"]),
            "on_breach": _actions(data["on_breach"], data["on_breach_queue"]),
            "targets": targets,
        }

    @staticmethod
    def initial_from(policy: SlaPolicy) -> dict[str, Any]:
        """Initial values that show a saved policy (its targets prefetched) in the form."""
        initial: dict[str, Any] = {
            "name": policy.name,
            "pause_states": list(policy.pause_states or []),
            "warning_percent": policy.warning_percent,
        }
        for key in ("on_warning", "on_breach"):
            actions = getattr(policy, key) or []
            initial[key] = [a["type"] for a in actions if a.get("type") != "move_to_queue"]
            initial[f"{key}_queue"] = next(
                (a.get("queue", "") for a in actions if a.get("type") == "move_to_queue"), ""
            )
        for target in policy.targets.all():
            if target.metric == Metric.DEADLINE:
                rule = target.deadline or {}
                initial[f"{target.priority}_deadline_kind"] = rule.get("kind", "")
                initial[f"{target.priority}_deadline_n"] = rule.get("n")
                initial[f"{target.priority}_deadline_at"] = rule.get("at", "")
            else:
                initial[f"{target.priority}_{target.metric}"] = target.duration_minutes
                initial[f"{target.priority}_{target.metric}_clock"] = target.clock
            initial[f"{target.priority}_{target.metric}_level"] = target.service_level_percent
            initial[f"{target.priority}_{target.metric}_share"] = target.credit_share_percent
        return initial


def _level_field(label: str) -> forms.DecimalField:
    """The service level promised for one target cell of the grid (empty: not promised)."""
    return forms.DecimalField(
        required=False,
        min_value=Decimal("0.01"),
        max_value=Decimal(100),
        max_digits=5,
        decimal_places=2,
        label=f"{label} service level (%)",
    )


def _share_field(label: str) -> forms.DecimalField:
    """A critical service level's share of the contract's credit pool (empty: no credit)."""
    return forms.DecimalField(
        required=False,
        min_value=Decimal("0.01"),
        max_value=Decimal(100),
        max_digits=5,
        decimal_places=2,
        label=f"{label} credit share (%)",
    )


def _actions(chosen: list[str], queue: str) -> list[dict[str, str]]:
    actions = [{"type": kind} for kind, _ in ACTION_CHOICES if kind in chosen]
    if queue.strip():
        actions.append({"type": "move_to_queue", "queue": queue.strip()})
    return actions


_CELL_INPUTS = {"service_level_percent": "level", "credit_share_percent": "share"}
_TARGET_KEY = re.compile(r"^targets\[(\d+)\](?:\.(\w+))?$")


def add_policy_errors(form: SlaPolicyForm, exc: ValidationError) -> None:
    """Show an action's ValidationError on the policy form, on the grid cell at fault."""
    if not hasattr(exc, "error_dict"):
        add_validation_errors(form, exc)
        return
    for key, messages in exc.message_dict.items():
        match = _TARGET_KEY.match(key)
        if match and int(match[1]) < len(form.target_cells):
            cell = form.target_cells[int(match[1])]
            # A cell's service level and credit share have inputs of their own.
            suffix = _CELL_INPUTS.get(match[2] or "")
            if suffix:
                cell = f"{cell.removesuffix('_kind')}_{suffix}"
            form.add_error(cell, messages)
        else:
            form.add_error(key if key in form.fields else None, messages)
