"""Web forms of finance: statement and ledger uploads, matches made by hand and the reasons of
a rejection, the set-up of bank accounts, column mappings, matching rules and the policy, the
close and filing calendar with its evidence, and the daily report made on demand. The actions
decide; these forms parse and give the actions' errors a place next to the field they concern.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from bpo.contracts.forms import IsoDateField, TimeInput
from bpo.finance.models import (
    BankAccount,
    MappingKind,
    MatchRule,
    Obligation,
    ObligationKind,
    ReconciliationPolicy,
    Roll,
    StatementFormat,
)
from bpo.finance.parsers import BANK_FIELDS, LEDGER_FIELDS, MappingSpec
from bpo.finance.parsers.mapped import JOINABLE, headers_of
from bpo.finance.parsers.propose import header_series
from bpo.intake.tabular import ENCODINGS

# --- Files --------------------------------------------------------------------------------


def _opening_balance() -> forms.DecimalField:
    return forms.DecimalField(
        required=False,
        max_digits=18,
        decimal_places=4,
        label="Opening balance",
        help_text="Only for the first statement of a CSV without a balance column.",
    )


class StatementUploadForm(forms.Form):
    file = forms.FileField(
        label="Statement file",
        help_text="MT940, CAMT.053 (XML), OFX, or the bank's CSV or XLSX read with the "
        "account's mapping.",
    )
    format = forms.ChoiceField(
        required=False,
        choices=[("", "Detect from the file"), *StatementFormat.choices],
        label="Format",
    )
    opening_balance = _opening_balance()


class LedgerUploadForm(forms.Form):
    file = forms.FileField(
        label="Ledger file",
        help_text="The cash book export for this account, CSV or XLSX, read with its ledger "
        "mapping. Entries imported before are skipped.",
    )


class RetryForm(forms.Form):
    opening_balance = _opening_balance()


# --- Reconciliation -----------------------------------------------------------------------


class IdListField(forms.Field):
    """Ids sent as repeated values (checkboxes or hidden inputs), cleaned to ints."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {"invalid": "Choose rows from the list."}

    def to_python(self, value: Any) -> list[int]:
        if value in self.empty_values:
            return []
        values = value if isinstance(value, list | tuple) else [value]
        try:
            return sorted({int(v) for v in values if str(v).strip()})
        except (TypeError, ValueError):
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


class MatchForm(forms.Form):
    """Bank lines and ledger entries that settle each other, chosen by an agent."""

    line_ids = IdListField(required=False)
    entry_ids = IdListField(
        required=False,
        label="Ledger entries",
        help_text="Tick the entries this line settles; their amounts must add up to the "
        "line's exactly.",
    )
    note = forms.CharField(
        required=False,
        max_length=2000,
        label="Note for the approver",
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        required=False,
        max_length=2000,
        label="Why?",
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class EntrySearchForm(forms.Form):
    """Narrow the open entries offered to match a line: words and an amount."""

    q = forms.CharField(required=False, max_length=100, label="Text")
    amount = forms.DecimalField(required=False, max_digits=18, decimal_places=4, label="Amount")

    def filters(self) -> dict[str, Any]:
        if not self.is_bound or not self.is_valid():
            return {"text": "", "amount": None}
        return {
            "text": self.cleaned_data.get("q") or "",
            "amount": self.cleaned_data.get("amount"),
        }


# --- Set-up -------------------------------------------------------------------------------


class AccountForm(forms.Form):
    """A client's bank account under one of its reconciliation services."""

    service_id = forms.TypedChoiceField(coerce=int, label="Reconciliation service")
    name = forms.CharField(max_length=120, help_text="e.g. Operating account.")
    currency = forms.CharField(max_length=3, help_text="ISO 4217 code, e.g. EUR.")
    iban = forms.CharField(required=False, max_length=42, label="IBAN")
    account_number = forms.CharField(
        required=False, max_length=40, help_text="For an account without an IBAN."
    )
    bic = forms.CharField(required=False, max_length=11, label="BIC")
    bank_name = forms.CharField(required=False, max_length=120)
    statement_mapping_id = forms.TypedChoiceField(
        coerce=int,
        required=False,
        empty_value=None,
        label="CSV mapping of the bank's statements",
    )
    ledger_mapping_id = forms.TypedChoiceField(
        coerce=int,
        required=False,
        empty_value=None,
        label="Mapping of the ledger export",
    )

    def __init__(
        self,
        *args: Any,
        services: list[tuple[int, str]],
        bank_mappings: list[tuple[int, str]],
        ledger_mappings: list[tuple[int, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service_id"].choices = services  # type: ignore[attr-defined]
        self.fields["statement_mapping_id"].choices = [("", "None"), *bank_mappings]  # type: ignore[attr-defined]
        self.fields["ledger_mapping_id"].choices = [("", "None"), *ledger_mappings]  # type: ignore[attr-defined]

    @staticmethod
    def initial_from(account: BankAccount) -> dict[str, Any]:
        return {
            "service_id": account.service_id,
            "name": account.name,
            "currency": account.currency,
            "iban": account.iban,
            "account_number": account.account_number,
            "bic": account.bic,
            "bank_name": account.bank_name,
            "statement_mapping_id": account.statement_mapping_id,
            "ledger_mapping_id": account.ledger_mapping_id,
        }


FIELD_PREFIX = "col_"
# What the mapping form calls a field whose name does not say it plainly.
FIELD_NAMES = {
    "debit_credit": "Debit/credit mark",
    "counterparty_iban": "Counterparty IBAN",
    "external_id": "Ledger id",
    "account": "Own account",
}


class MappingForm(forms.Form):
    """How one kind of export is read: the header of each field, chosen from the headers of a
    sample file when one was read (else typed), the date format and the decimal mark."""

    client = forms.TypedChoiceField(coerce=int, label="Client")
    kind = forms.ChoiceField(choices=MappingKind.choices, label="Kind of file")
    name = forms.CharField(max_length=120, help_text="e.g. Sparkasse CSV or DATEV export.")
    date_format = forms.CharField(
        required=False,
        max_length=20,
        help_text="strftime codes, e.g. %d.%m.%Y; empty: ISO dates (2026-10-31).",
    )
    decimal_comma = forms.BooleanField(
        required=False, label="Amounts are written with a decimal comma (1.234,56)"
    )
    encoding = forms.ChoiceField(
        required=False,
        choices=[("", "Detect (UTF-8, else Windows-1252)"), *ENCODINGS.items()],
    )
    # Not an input: where errors about the columns as a whole are shown.
    columns = forms.CharField(required=False, widget=forms.HiddenInput)
    # The headers of the sample file read before, carried from one post to the next.
    headers = forms.CharField(required=False, widget=forms.HiddenInput)
    sample = forms.FileField(
        required=False,
        label="Sample file",
        help_text="A CSV or XLSX export: its headers are offered for each field and its "
        "first rows are shown; the file itself is not kept.",
    )

    def __init__(
        self, *args: Any, clients: list[tuple[int, str]], kind: str = "", **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["client"].choices = clients  # type: ignore[attr-defined]
        self.mapping_kind = self._kind(kind)
        for name in self.field_labels():
            self.fields[f"{FIELD_PREFIX}{name}"] = forms.CharField(
                required=False,
                max_length=1000,  # a text over several columns names them all
                label=FIELD_NAMES.get(name, name.replace("_", " ").capitalize()),
            )
        if len(clients) == 1 and not self.initial.get("client"):
            self.initial["client"] = clients[0][0]

    def _kind(self, kind: str) -> str:
        chosen = self.data.get("kind") if self.is_bound else None
        chosen = chosen or kind or self.initial.get("kind") or MappingKind.BANK
        return chosen if chosen in MappingKind.values else MappingKind.BANK

    def field_labels(self) -> dict[str, str]:
        """The fields of this kind of mapping with their descriptions."""
        return BANK_FIELDS if self.mapping_kind == MappingKind.BANK else LEDGER_FIELDS

    @property
    def header_list(self) -> list[str]:
        """The headers of the sample file read, if any."""
        raw = self.data.get("headers") if self.is_bound else self.initial.get("headers")
        try:
            values = json.loads(raw) if isinstance(raw, str) and raw else raw or []
        except json.JSONDecodeError:
            return []
        return [str(v) for v in values if isinstance(v, str | int)][:200]

    @property
    def column_rows(self) -> list[tuple[str, str, forms.BoundField, list[str]]]:
        """(field, description, input, choices) for each field of the mapping, in order: the
        choices are the sample's headers, and for a text field also each numbered series of
        them joined (Verwendungszweck 1 + Verwendungszweck 2 + …) and what is chosen now."""
        headers = [h.strip() for h in self.header_list if h.strip()]
        series = list(header_series(headers).values())
        rows = []
        for name, description in self.field_labels().items():
            bound = self[f"{FIELD_PREFIX}{name}"]
            choices = [*headers, *series] if name in JOINABLE else list(headers)
            chosen = (bound.value() or "").strip()
            if headers and chosen and chosen not in choices:
                choices.append(chosen)
            rows.append((name, description, bound, choices))
        return rows

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        headers = {h.strip().lower() for h in self.header_list}
        if headers:
            for name in self.field_labels():
                value = (data.get(f"{FIELD_PREFIX}{name}") or "").strip()
                named = headers_of(value, self.header_list)
                missing = [h for h in named if h.lower() not in headers]
                if missing:
                    self.add_error(
                        f"{FIELD_PREFIX}{name}", f"The sample file has no column {missing[0]!r}."
                    )
        return data

    def mapping_fields(self) -> dict[str, Any]:
        """The cleaned data as ``column_mapping_save`` takes it."""
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "name": data["name"],
            "columns": {
                name: data[f"{FIELD_PREFIX}{name}"].strip()
                for name in self.field_labels()
                if (data.get(f"{FIELD_PREFIX}{name}") or "").strip()
            },
            "date_format": data.get("date_format") or "",
            "decimal_comma": bool(data.get("decimal_comma")),
            "encoding": data.get("encoding") or "",
        }

    @staticmethod
    def initial_from(mapping: Any) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "client": mapping.client_id,
            "kind": mapping.kind,
            "name": mapping.name,
            "date_format": mapping.date_format,
            "decimal_comma": mapping.decimal_comma,
            "encoding": mapping.encoding,
        }
        for name, header in (mapping.columns or {}).items():
            initial[f"{FIELD_PREFIX}{name}"] = header
        return initial

    @staticmethod
    def initial_from_proposal(spec: MappingSpec, headers: list[str]) -> dict[str, Any]:
        """Values that show a proposed mapping of a sample file."""
        initial: dict[str, Any] = {
            "headers": json.dumps(headers),
            "date_format": spec.date_format,
            "decimal_comma": spec.decimal_comma,
        }
        for name, header in spec.columns.items():
            initial[f"{FIELD_PREFIX}{name}"] = header
        return initial


def _percent(label: str, **kwargs: Any) -> forms.DecimalField:
    return forms.DecimalField(
        max_digits=5,
        decimal_places=2,
        min_value=Decimal(0),
        max_value=Decimal(100),
        label=label,
        **kwargs,
    )


class RuleForm(forms.Form):
    """A matching rule of a reconciliation service."""

    name = forms.CharField(max_length=120)
    is_active = forms.BooleanField(required=False, initial=True, label="Active")
    reference_pattern = forms.CharField(
        required=False,
        max_length=200,
        help_text="A regular expression on the line's reference, e.g. RE-(\\d{4}-\\d+); its "
        "first group (or the whole match) must appear in the entry's document number or "
        "reference.",
    )
    counterparty_iban = forms.CharField(required=False, max_length=42, label="Counterparty IBAN")
    counterparty_name = forms.CharField(
        required=False,
        max_length=200,
        help_text="Compared fuzzily with the line's counterparty.",
    )
    name_threshold = forms.IntegerField(
        min_value=50, max_value=100, initial=85, label="Name similarity needed (%)"
    )
    date_window_days = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=60,
        label="Date window (days)",
        help_text="Empty: the policy's.",
    )
    amount_tolerance = forms.DecimalField(
        max_digits=18,
        decimal_places=4,
        min_value=Decimal(0),
        initial=Decimal(0),
        help_text="The largest difference of amount accepted.",
    )
    confidence_percent = _percent("Confidence (%)", initial=Decimal(95))

    @staticmethod
    def initial_from(rule: MatchRule) -> dict[str, Any]:
        return {
            name: getattr(rule, name)
            for name in (
                "name",
                "is_active",
                "reference_pattern",
                "counterparty_iban",
                "counterparty_name",
                "name_threshold",
                "date_window_days",
                "amount_tolerance",
                "confidence_percent",
            )
        }


class PolicyForm(forms.Form):
    """How a reconciliation service matches."""

    date_window_days = forms.IntegerField(
        min_value=0,
        max_value=60,
        label="Date window (days)",
        help_text="How far apart a line's and an entry's dates may be.",
    )
    max_group_size = forms.IntegerField(
        min_value=1,
        max_value=6,
        label="Largest group",
        help_text="Most entries one line may settle (and lines one entry); 1: one to one only.",
    )
    auto_accept_percent = _percent(
        "Accept alone from (%)",
        help_text="Matches at or above this confidence are accepted without an agent.",
    )

    @staticmethod
    def initial_from(policy: ReconciliationPolicy) -> dict[str, Any]:
        return {
            "date_window_days": policy.date_window_days,
            "max_group_size": policy.max_group_size,
            "auto_accept_percent": policy.auto_accept_percent,
        }


# --- Close and filing calendar --------------------------------------------------------------

RECURRENCE_EXAMPLES = [
    ("FREQ=MONTHLY;BYMONTHDAY=10", "the 10th of every month (a VAT return)"),
    ("FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR", "every weekday (the daily report)"),
    ("FREQ=MONTHLY;BYMONTHDAY=-1", "the last day of every month (month-end close)"),
    ("FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=10", "the 10th of every third month (quarterly)"),
    ("FREQ=YEARLY;BYMONTH=5;BYMONTHDAY=31", "31 May every year (an annual return)"),
]


class ObligationForm(forms.Form):
    """A recurring deadline of a client on a service's calendar."""

    service_id = forms.TypedChoiceField(coerce=int, label="Service")
    name = forms.CharField(max_length=200, help_text="e.g. VAT return (UStVA).")
    kind = forms.ChoiceField(choices=ObligationKind.choices)
    recurrence = forms.CharField(
        max_length=300,
        label="Recurrence (RFC 5545 rule)",
        help_text="e.g. FREQ=MONTHLY;BYMONTHDAY=10 — see the examples.",
    )
    starts_on = IsoDateField(label="Starts on")
    ends_on = IsoDateField(required=False, label="Ends on", help_text="Empty: no end.")
    roll = forms.ChoiceField(
        choices=Roll.choices,
        initial=Roll.PRECEDING,
        label="A date that is not a business day moves to",
    )
    due_time = forms.TimeField(
        widget=TimeInput, label="Due at", help_text="Local time on the service's calendar."
    )
    lead_days = forms.IntegerField(
        min_value=0,
        max_value=90,
        initial=5,
        label="Lead days",
        help_text="How many days ahead the work item is made.",
    )
    authority = forms.CharField(
        required=False, max_length=120, help_text="Where it is filed, e.g. Finanzamt Köln-Mitte."
    )
    instructions = forms.CharField(
        required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )
    is_active = forms.BooleanField(required=False, initial=True, label="Active")

    def __init__(self, *args: Any, services: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service_id"].choices = services  # type: ignore[attr-defined]

    def obligation_fields(self) -> dict[str, Any]:
        """The cleaned data as ``obligation_save`` takes it (without the service)."""
        data = dict(self.cleaned_data)
        data.pop("service_id", None)
        for text in ("authority", "instructions"):
            data[text] = data.get(text) or ""
        return data

    @staticmethod
    def initial_from(obligation: Obligation) -> dict[str, Any]:
        return {
            "service_id": obligation.service_id,
            "name": obligation.name,
            "kind": obligation.kind,
            "recurrence": obligation.recurrence,
            "starts_on": obligation.starts_on,
            "ends_on": obligation.ends_on,
            "roll": obligation.roll,
            "due_time": obligation.due_time,
            "lead_days": obligation.lead_days,
            "authority": obligation.authority,
            "instructions": obligation.instructions,
            "is_active": obligation.is_active,
        }


class EvidenceForm(forms.Form):
    """A filing's confirmation: the document and the authority's reference."""

    reference = forms.CharField(
        required=False,
        max_length=200,
        label="Confirmation reference",
        help_text="The authority's reference of the filing, e.g. the transfer ticket.",
    )
    file = forms.FileField(
        label="Confirmation document",
        help_text="Shared with the client; a PDF or image of the authority's confirmation.",
    )


class ReportMakeForm(forms.Form):
    """Make the daily report of a reconciliation service for a business day now."""

    service_id = forms.TypedChoiceField(coerce=int, label="Service")
    day = IsoDateField(label="Business day")

    def __init__(self, *args: Any, services: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service_id"].choices = services  # type: ignore[attr-defined]
