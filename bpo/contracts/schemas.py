"""API schemas for contracts, versions, services and SLA policies."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from ninja import Schema
from pydantic import ConfigDict, Field, StrictBool, StrictInt, StrictStr

from bpo.apitypes import DbId, IsoDate, PercentText, PoolPercentText, StrictDbId
from bpo.contracts.models import (
    ClockKind,
    Metric,
    Priority,
    ProcessType,
    Rounding,
    VersionStatus,
)
from bpo.paging import PageParams


class Strict(Schema):
    model_config = ConfigDict(extra="forbid")


class VersionTermsIn(Strict):
    start_date: IsoDate
    end_date: IsoDate | None = Field(default=None, description="Empty: open-ended.")
    currency: StrictStr = Field(pattern=r"^[A-Z]{3}$", examples=["EUR"])
    billing_day: StrictInt = Field(default=1, ge=1, le=28)
    retention_days: StrictInt = Field(default=2555, ge=1, le=36500)
    notes: StrictStr = Field(default="", max_length=5000)
    excluded_tags: list[Annotated[StrictStr, Field(min_length=1, max_length=60)]] = Field(
        default_factory=lambda: ["spam", "duplicate"],
        max_length=50,
        description="Items with any of these tags count in volumes only, not in service levels.",
    )
    exclude_cancelled: StrictBool = Field(
        default=True, description="Cancelled items are left out of SLA attainment."
    )
    fcr_window_days: StrictInt = Field(
        default=7, ge=1, le=90, description="Days after a resolution in which a repeat counts."
    )
    csat_good_rating: StrictInt = Field(
        default=4, ge=1, le=5, description="Ratings from this value up count as satisfied."
    )
    # Billing terms (finance may set these alone, see contracts.actions.contract_version_update).
    tax_label: StrictStr = Field(
        default="VAT", min_length=1, max_length=30, description="The tax's name on the invoice."
    )
    tax_rate_percent: PercentText = Field(
        default=Decimal(0), description='Tax on the net amount in percent, as text: "19.00".'
    )
    rounding: Rounding = Field(
        default=Rounding.HALF_UP, description="How amounts are rounded to the currency's unit."
    )
    payment_days: StrictInt = Field(
        default=30, ge=0, le=365, description="Days from issue to the invoice's due date."
    )
    credit_at_risk_percent: PercentText | None = Field(
        default=None,
        description="Share of the month's fees at risk for missed critical service levels, as "
        'text ("10.00"); null: no service-level credits.',
    )
    credit_pool_percent: PoolPercentText = Field(
        default=Decimal(100),
        description="Pool allocation: the at-risk amount times this percentage is shared among "
        "the critical service levels by their credit shares.",
    )
    earn_back_months: StrictInt | None = Field(
        default=None,
        ge=1,
        le=12,
        description="A credit returns when the level is achieved in each of this many following "
        "months; null: no earn-back.",
    )


class VersionTermsPatch(Strict):
    """Fields left out or null stay as they are; ``end_date: null`` makes the term open-ended,
    ``credit_at_risk_percent: null`` and ``earn_back_months: null`` switch credits and
    earn-back off."""

    start_date: IsoDate | None = None
    end_date: IsoDate | None = None
    currency: StrictStr | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    billing_day: StrictInt | None = Field(default=None, ge=1, le=28)
    retention_days: StrictInt | None = Field(default=None, ge=1, le=36500)
    notes: StrictStr | None = Field(default=None, max_length=5000)
    excluded_tags: list[Annotated[StrictStr, Field(min_length=1, max_length=60)]] | None = Field(
        default=None, max_length=50
    )
    exclude_cancelled: StrictBool | None = None
    fcr_window_days: StrictInt | None = Field(default=None, ge=1, le=90)
    csat_good_rating: StrictInt | None = Field(default=None, ge=1, le=5)
    tax_label: StrictStr | None = Field(default=None, min_length=1, max_length=30)
    tax_rate_percent: PercentText | None = None
    rounding: Rounding | None = None
    payment_days: StrictInt | None = Field(default=None, ge=0, le=365)
    credit_at_risk_percent: PercentText | None = None
    credit_pool_percent: PoolPercentText | None = None
    earn_back_months: StrictInt | None = Field(default=None, ge=1, le=12)


class ContractIn(VersionTermsIn):
    client_id: StrictDbId
    reference: StrictStr = Field(
        min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$"
    )
    title: StrictStr = Field(min_length=1, max_length=200)


class ContractEnd(Strict):
    end_date: IsoDate


class VersionSummary(Schema):
    id: int
    number: int
    status: VersionStatus
    start_date: date
    end_date: date | None
    activated_at: datetime | None


class ContractOut(Schema):
    id: int
    client_id: int
    reference: str
    title: str
    versions: list[VersionSummary]

    @staticmethod
    def resolve_versions(obj: Any) -> list[Any]:
        return list(obj.versions.all())


class ContractPage(Schema):
    items: list[ContractOut]
    next_cursor: int | None


class ContractListParams(PageParams):
    client_id: DbId | None = None


class TargetIn(Strict):
    priority: Priority
    metric: Metric
    clock: ClockKind = ClockKind.BUSINESS
    duration_minutes: StrictInt | None = Field(default=None, ge=0, le=60 * 24 * 366)
    deadline: dict[str, Any] | None = Field(
        default=None,
        description='For deadline targets: {"kind": "next_business_day", "at": "10:00"}, '
        '{"kind": "same_business_day", "at": "17:00"} or '
        '{"kind": "business_day_of_month", "n": 3, "at": "12:00"}',
    )
    service_level_percent: Decimal | None = Field(
        default=None,
        gt=0,
        le=100,
        max_digits=5,
        decimal_places=2,
        description="The share of items that must meet this target over a month, e.g. 95.00 "
        "(empty: measured and reported, not promised).",
    )
    credit_share_percent: PercentText | None = Field(
        default=None,
        description="Marks a critical service level: its share of the contract's credit pool, "
        'as text ("25.00"); null: a key measurement without credit. Needs a promised service '
        "level; the shares of a version add up to at most 100.",
    )


class TargetOut(Schema):
    priority: Priority
    metric: Metric
    clock: ClockKind
    duration_minutes: int | None
    deadline: dict[str, Any] | None
    service_level_percent: Decimal | None
    credit_share_percent: Decimal | None


class ActionIn(Strict):
    type: StrictStr = Field(description="notify_managers, raise_priority or move_to_queue")
    queue: StrictStr | None = None


class PolicyIn(Strict):
    name: StrictStr = Field(min_length=1, max_length=120)
    pause_states: list[StrictStr] = Field(
        default_factory=list, description="Chosen from pending_contact, pending_client."
    )
    warning_percent: StrictInt = Field(default=75, ge=1, le=99)
    on_warning: list[ActionIn] = Field(default_factory=list)
    on_breach: list[ActionIn] = Field(default_factory=list)
    targets: list[TargetIn] = Field(default_factory=list)


class PolicyPatch(Strict):
    """Fields left out or null stay as they are."""

    name: StrictStr | None = Field(default=None, min_length=1, max_length=120)
    pause_states: list[StrictStr] | None = None
    warning_percent: StrictInt | None = Field(default=None, ge=1, le=99)
    on_warning: list[ActionIn] | None = None
    on_breach: list[ActionIn] | None = None
    targets: list[TargetIn] | None = None


class PolicyOut(Schema):
    id: int
    version_id: int
    name: str
    pause_states: list[str]
    warning_percent: int
    on_warning: list[dict[str, Any]]
    on_breach: list[dict[str, Any]]
    targets: list[TargetOut]

    @staticmethod
    def resolve_targets(obj: Any) -> list[Any]:
        return list(obj.targets.all())


class CustomFieldIn(Strict):
    name: StrictStr
    label: StrictStr = ""
    type: StrictStr = Field(description="text, number, date, boolean or choice")
    required: bool = False
    choices: list[StrictStr] | None = None


class ServiceIn(Strict):
    key: StrictStr = Field(min_length=1, max_length=60, pattern=r"^[-a-zA-Z0-9_]+$")
    name: StrictStr = Field(min_length=1, max_length=200)
    process_type: ProcessType
    calendar_id: StrictDbId
    sla_policy_id: StrictDbId | None = None
    scope_included: StrictStr = Field(default="", max_length=20000)
    scope_excluded: StrictStr = Field(default="", max_length=20000)
    deliverables: StrictStr = Field(default="", max_length=20000)
    custom_fields: list[CustomFieldIn] = Field(default_factory=list)


class TermsPatch(Strict):
    """Fields left out or null stay as they are; ``sla_policy_id: null`` detaches the policy."""

    calendar_id: StrictDbId | None = None
    sla_policy_id: StrictDbId | None = None
    scope_included: StrictStr | None = Field(default=None, max_length=20000)
    scope_excluded: StrictStr | None = Field(default=None, max_length=20000)
    deliverables: StrictStr | None = Field(default=None, max_length=20000)
    custom_fields: list[CustomFieldIn] | None = None


class ServiceOut(Schema):
    id: int
    key: str
    name: str
    process_type: ProcessType


class TermsOut(Schema):
    id: int
    version_id: int
    service: ServiceOut
    calendar_id: int
    sla_policy_id: int | None
    scope_included: str
    scope_excluded: str
    deliverables: str
    custom_fields: list[dict[str, Any]]


class VersionOut(VersionSummary):
    contract_id: int
    client_id: int
    currency: str
    billing_day: int
    retention_days: int
    notes: str
    excluded_tags: list[str]
    exclude_cancelled: bool
    fcr_window_days: int
    csat_good_rating: int
    tax_label: str
    tax_rate_percent: Decimal
    rounding: Rounding
    payment_days: int
    credit_at_risk_percent: Decimal | None
    credit_pool_percent: Decimal
    earn_back_months: int | None
    closed_at: datetime | None
    services: list[TermsOut]
    sla_policies: list[PolicyOut]

    @staticmethod
    def resolve_services(obj: Any) -> list[Any]:
        return list(obj.terms.all())

    @staticmethod
    def resolve_sla_policies(obj: Any) -> list[Any]:
        return list(obj.policies.all())
