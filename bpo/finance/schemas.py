"""API schemas of the finance back office. Amounts travel as decimal strings both ways
("-1234.56"), with their currency, never as JSON numbers."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from ninja import Schema
from pydantic import ConfigDict, Field, StrictBool, StrictInt

from bpo.apitypes import AmountText, DbId, IsoDate, PercentText, Text, money, plain
from bpo.finance.models import (
    FileKind,
    FileStatus,
    MappingKind,
    MatchShape,
    MatchStatus,
    ObligationKind,
    Roll,
    StatementFormat,
)
from bpo.tenancy.context import request_actor


class Strict(Schema):
    model_config = ConfigDict(extra="forbid")


def _person(user: Any, context: Any) -> str | None:
    """Who made or decided a match: named to the provider's staff, "An agent" to the client."""
    if user is None:
        return None
    return str(user.email) if request_actor(context["request"]).is_provider else "An agent"


# --- Set-up --------------------------------------------------------------------------------


class AccountIn(Strict):
    service_id: DbId
    name: Text = Field(min_length=1, max_length=120)
    currency: Text = Field(pattern=r"^[A-Z]{3}$")
    iban: Text = Field(default="", max_length=42)
    account_number: Text = Field(default="", max_length=40)
    bic: Text = Field(default="", max_length=11)
    bank_name: Text = Field(default="", max_length=120)
    statement_mapping_id: DbId | None = None
    ledger_mapping_id: DbId | None = None


class AccountOut(Schema):
    id: int
    client_id: int
    service_id: int
    name: str
    iban: str
    account_number: str
    bic: str
    bank_name: str
    currency: str
    statement_mapping_id: int | None
    ledger_mapping_id: int | None
    last_statement: date | None = None
    open_lines: int | None = None


class StandingOut(Schema):
    currency: str
    balance: str | None
    balance_date: date | None
    lines: int
    lines_open: int
    lines_open_total: str
    entries: int
    entries_open: int
    entries_open_total: str
    proposed: int = Field(description="Engine proposals below the threshold, for an agent.")
    pending: int = Field(description="Matches made by hand awaiting a second agent.")
    gaps: int = Field(description="Statements with a balance gap or missing days before them.")


class MappingIn(Strict):
    client_id: DbId
    kind: MappingKind
    name: Text = Field(min_length=1, max_length=120)
    columns: dict[str, Text] = Field(
        description="Field → header in the file, e.g. {'booking_date': 'Buchungstag'}; a text "
        "field (reference, counterparty_name, description) over several columns names them "
        "joined by ' + ', e.g. 'Verwendungszweck 1 + Verwendungszweck 2'."
    )
    date_format: Text = Field(default="", max_length=20)
    decimal_comma: StrictBool = False
    encoding: Text = Field(default="", max_length=20)


class MappingOut(Schema):
    id: int
    client_id: int
    kind: MappingKind
    name: str
    columns: dict[str, str]
    date_format: str
    decimal_comma: bool
    encoding: str


class PolicyIn(Strict):
    date_window_days: StrictInt = Field(ge=0, le=60)
    max_group_size: StrictInt = Field(ge=1, le=6)
    auto_accept_percent: PercentText


class PolicyOut(Schema):
    service_id: int
    date_window_days: int
    max_group_size: int
    auto_accept_percent: str

    @staticmethod
    def resolve_auto_accept_percent(obj: Any) -> str | None:
        return plain(obj.auto_accept_percent)


class RuleIn(Strict):
    name: Text = Field(min_length=1, max_length=120)
    is_active: StrictBool = True
    date_window_days: StrictInt | None = Field(default=None, ge=0, le=60)
    amount_tolerance: AmountText = Decimal(0)
    reference_pattern: Text = Field(default="", max_length=200)
    counterparty_iban: Text = Field(default="", max_length=42)
    counterparty_name: Text = Field(default="", max_length=200)
    name_threshold: StrictInt = Field(default=85, ge=50, le=100)
    confidence_percent: PercentText = Decimal(95)


class RulePatch(Strict):
    name: Text | None = Field(default=None, min_length=1, max_length=120)
    is_active: StrictBool | None = None
    date_window_days: StrictInt | None = Field(default=None, ge=0, le=60)
    amount_tolerance: AmountText | None = None
    reference_pattern: Text | None = Field(default=None, max_length=200)
    counterparty_iban: Text | None = Field(default=None, max_length=42)
    counterparty_name: Text | None = Field(default=None, max_length=200)
    name_threshold: StrictInt | None = Field(default=None, ge=50, le=100)
    confidence_percent: PercentText | None = None


class RuleOut(Schema):
    id: int
    service_id: int
    name: str
    is_active: bool
    date_window_days: int | None
    amount_tolerance: str
    reference_pattern: str
    counterparty_iban: str
    counterparty_name: str
    name_threshold: int
    confidence_percent: str
    learned_from_id: int | None

    @staticmethod
    def resolve_amount_tolerance(obj: Any) -> str | None:
        return plain(obj.amount_tolerance)

    @staticmethod
    def resolve_confidence_percent(obj: Any) -> str | None:
        return plain(obj.confidence_percent)


# --- Files, statements, lines, entries ------------------------------------------------------


class StatementForm(Schema):
    format: StatementFormat | None = Field(default=None, description="Empty: detected.")
    opening_balance: AmountText | None = Field(
        default=None,
        description="Only for a first CSV statement without a balance column.",
    )


class FileOut(Schema):
    id: int
    account_id: int
    kind: FileKind
    format: StatementFormat
    filename: str
    size: int
    sha256: str
    status: FileStatus
    error: str
    warnings: list[str]
    rows: int
    uploaded_at: datetime


class ImportOut(Schema):
    file: FileOut
    written: int
    skipped: int
    warnings: list[str]


class StatementOut(Schema):
    id: int
    account_id: int
    file_id: int
    reference: str
    start_date: date
    end_date: date
    currency: str
    opening_balance: str
    closing_balance: str
    balance_gap: str | None
    missing_days: list[str]
    line_count: int | None = None

    @staticmethod
    def resolve_opening_balance(obj: Any) -> str:
        return money(obj.opening_balance, obj.currency)

    @staticmethod
    def resolve_closing_balance(obj: Any) -> str:
        return money(obj.closing_balance, obj.currency)

    @staticmethod
    def resolve_balance_gap(obj: Any) -> str | None:
        return None if obj.balance_gap is None else money(obj.balance_gap, obj.currency)


class LineOut(Schema):
    id: int
    statement_id: int
    position: int
    booking_date: date
    value_date: date | None
    amount: str
    currency: str
    reference: str
    counterparty_name: str
    counterparty_iban: str
    bank_reference: str
    description: str
    match_id: int | None

    @staticmethod
    def resolve_amount(obj: Any) -> str:
        return money(obj.amount, obj.currency)


class EntryOut(Schema):
    id: int
    file_id: int
    row: int
    external_id: str
    entry_date: date
    amount: str
    currency: str
    document_number: str
    reference: str
    counterparty_name: str
    counterparty_iban: str
    description: str
    match_id: int | None

    @staticmethod
    def resolve_amount(obj: Any) -> str:
        return money(obj.amount, obj.currency)


class StateParams(Schema):
    state: str = Field(default="", pattern=r"^(|open|matched)$", description="open or matched")


class FilePage(Schema):
    items: list[FileOut]
    next_cursor: int | None


class StatementPage(Schema):
    items: list[StatementOut]
    next_cursor: int | None


class LinePage(Schema):
    items: list[LineOut]
    next_cursor: int | None


class EntryPage(Schema):
    items: list[EntryOut]
    next_cursor: int | None


# --- Reconciliation -----------------------------------------------------------------------


class RunOut(Schema):
    id: int
    account_id: int
    started_at: datetime
    finished_at: datetime | None
    lines: int
    entries: int
    accepted: int
    proposed: int
    opened: int


class MatchIn(Strict):
    line_ids: list[DbId] = Field(min_length=1, max_length=50)
    entry_ids: list[DbId] = Field(min_length=1, max_length=50)
    note: Text = Field(default="", max_length=2000)


class NoteIn(Strict):
    note: Text = Field(default="", max_length=2000)


class ReasonIn(Strict):
    reason: Text = Field(min_length=1, max_length=2000)


class MatchOut(Schema):
    id: int
    account_id: int
    shape: MatchShape
    status: MatchStatus
    confidence: str
    reasons: list[str]
    rule_id: int | None
    automatic: bool
    line_ids: list[int]
    entry_ids: list[int]
    made_by: str | None
    made_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    note: str

    @staticmethod
    def resolve_confidence(obj: Any) -> str | None:
        return plain(obj.confidence)

    @staticmethod
    def resolve_line_ids(obj: Any) -> list[int]:
        rows = obj.lines.all() if obj.status == MatchStatus.ACCEPTED else obj.proposed_lines.all()
        return sorted(x.pk for x in rows)

    @staticmethod
    def resolve_entry_ids(obj: Any) -> list[int]:
        accepted = obj.status == MatchStatus.ACCEPTED
        rows = obj.entries.all() if accepted else obj.proposed_entries.all()
        return sorted(x.pk for x in rows)

    @staticmethod
    def resolve_made_by(obj: Any, context: Any) -> str | None:
        return _person(obj.made_by if obj.made_by_id else None, context)

    @staticmethod
    def resolve_decided_by(obj: Any, context: Any) -> str | None:
        return _person(obj.decided_by if obj.decided_by_id else None, context)


class MatchParams(Schema):
    status: MatchStatus | None = None


class MatchPage(Schema):
    items: list[MatchOut]
    next_cursor: int | None


class CandidateOut(Schema):
    line_ids: list[int]
    entry_ids: list[int]
    confidence: str
    reasons: list[str]
    shape: MatchShape
    difference: str = Field(description="Lines minus entries (a rule's tolerance allows some).")


# --- Close and filing calendar --------------------------------------------------------------


class ObligationIn(Strict):
    service_id: DbId
    name: Text = Field(min_length=1, max_length=200)
    kind: ObligationKind
    recurrence: Text = Field(min_length=1, max_length=300, examples=["FREQ=MONTHLY;BYMONTHDAY=10"])
    starts_on: IsoDate
    ends_on: IsoDate | None = None
    roll: Roll = Roll.PRECEDING
    due_time: time = Field(description="Local time on the service's calendar, e.g. 10:00.")
    lead_days: StrictInt = Field(default=5, ge=0, le=90)
    authority: Text = Field(default="", max_length=120)
    instructions: Text = Field(default="", max_length=5000)
    is_active: StrictBool = True


class ObligationPatch(Strict):
    name: Text | None = Field(default=None, min_length=1, max_length=200)
    kind: ObligationKind | None = None
    recurrence: Text | None = Field(default=None, min_length=1, max_length=300)
    starts_on: IsoDate | None = None
    ends_on: IsoDate | None = None
    roll: Roll | None = None
    due_time: time | None = None
    lead_days: StrictInt | None = Field(default=None, ge=0, le=90)
    authority: Text | None = Field(default=None, max_length=120)
    instructions: Text | None = Field(default=None, max_length=5000)
    is_active: StrictBool | None = None


class ObligationOut(Schema):
    id: int
    client_id: int
    service_id: int
    name: str
    kind: ObligationKind
    recurrence: str
    starts_on: date
    ends_on: date | None
    roll: Roll
    due_time: time
    lead_days: int
    authority: str
    instructions: str
    is_active: bool
    needs_evidence: bool


class DueDateOut(Schema):
    nominal_date: date
    due_date: date


class DatesParams(Schema):
    since: IsoDate
    until: IsoDate


class OccurrenceOut(Schema):
    id: int
    obligation_id: int
    obligation: str
    nominal_date: date
    due_date: date
    due_at: datetime
    item_id: int
    state: str
    resolved_at: datetime | None
    evidence_reference: str
    evidence_attachment_id: int | None
    evidence_at: datetime | None

    @staticmethod
    def resolve_obligation(obj: Any) -> str:
        return str(obj.obligation.name)

    @staticmethod
    def resolve_state(obj: Any) -> str:
        return str(obj.item.state)

    @staticmethod
    def resolve_resolved_at(obj: Any) -> datetime | None:
        return obj.item.resolved_at  # type: ignore[no-any-return]

    @staticmethod
    def resolve_evidence_attachment_id(obj: Any) -> int | None:
        return obj.evidence_id  # type: ignore[no-any-return]


class OccurrenceParams(Schema):
    client_id: DbId | None = None
    obligation_id: DbId | None = None
    since: IsoDate | None = None
    until: IsoDate | None = None


class OccurrencePage(Schema):
    items: list[OccurrenceOut]
    next_cursor: int | None


class EvidenceForm(Schema):
    reference: str = Field(min_length=1, max_length=120)


# --- Daily reports --------------------------------------------------------------------------


class ReportIn(Strict):
    day: IsoDate


class ReportOut(Schema):
    id: int
    client_id: int
    service_id: int
    day: date
    generated_at: datetime
    occurrence_id: int | None
    due_at: datetime | None
    on_time: bool | None = Field(description="Made before its deadline (None: not a deliverable).")
    figures: dict[str, Any]

    @staticmethod
    def resolve_due_at(obj: Any) -> datetime | None:
        return obj.occurrence.due_at if obj.occurrence_id else None

    @staticmethod
    def resolve_on_time(obj: Any) -> bool | None:
        if not obj.occurrence_id:
            return None
        return bool(obj.generated_at <= obj.occurrence.due_at)


class ReportParams(Schema):
    client_id: DbId | None = None
    service_id: DbId | None = None


class ReportPage(Schema):
    items: list[ReportOut]
    next_cursor: int | None


class ClientParams(Schema):
    client_id: DbId | None = None
