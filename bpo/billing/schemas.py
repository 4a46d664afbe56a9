"""API schemas of billing: rate cards and charges, invoices and their lines, the usage behind a
line, revenue.

Money, quantities, prices and percentages travel as decimal strings both ways ("12.50"), never
as JSON numbers: a float cannot hold most cents exactly. Amounts come out with their currency's
decimals ("7.50" in EUR, "1200" in JPY); quantities and unit prices as exact as they were
computed, without trailing zeros.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ninja import Schema
from pydantic import ConfigDict, Field, StrictInt, StrictStr

from bpo.accounts.roles import Permission
from bpo.apitypes import (
    AmountText,
    DbId,
    HoursText,
    IsoDate,
    PercentText,
    PriceText,
    StrictDbId,
    Text,
    money,
    plain,
)
from bpo.billing.models import InvoiceKind, InvoiceStatus, LineKind, Meter
from bpo.contracts.models import ChargeModel, Priority, Tiering
from bpo.contracts.schemas import ServiceOut
from bpo.paging import PageParams
from bpo.tenancy.context import request_actor
from bpo.work.models import Channel

MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"


class Strict(Schema):
    model_config = ConfigDict(extra="forbid")


# --- Rate cards and charges ------------------------------------------------------------------


class TierIn(Strict):
    up_to: PriceText | None = Field(
        description="Units up to this quantity (inclusive), as text; null for the last tier."
    )
    price: PriceText = Field(description='The price of each unit in the tier, as text: "1.20".')


class TierOut(Schema):
    up_to: str | None
    price: str


class RateCardIn(Strict):
    minimum_commitment: AmountText | None = Field(
        default=None,
        description='The least the service is billed a month, as text ("5000.00"); a true-up '
        "line adds the shortfall. Null: none.",
    )


class ChargeIn(Strict):
    label: StrictStr = Field(
        min_length=1, max_length=120, description="The line's text on the invoice."
    )
    model: ChargeModel
    position: StrictInt | None = Field(
        default=None, ge=0, le=32767, description="Order on the rate card (default: last)."
    )
    channel: Channel | None = Field(
        default=None, description="Per resolved item or handled minute: only this channel."
    )
    priority: Priority | None = Field(
        default=None, description="Per resolved item or handled minute: only this priority."
    )
    item_type: StrictStr | None = Field(
        default=None,
        max_length=60,
        pattern=r"^[-a-zA-Z0-9_]+$",
        description="Per resolved item or handled minute: only items tagged with this type.",
    )
    tiering: Tiering = Tiering.FLAT
    unit_price: PriceText | None = Field(
        default=None, description="One price, or the base price with a baseline (as text)."
    )
    tiers: list[TierIn] = Field(
        default_factory=list,
        max_length=50,
        description="Graduated or volume tiers, ascending, the last one open (up_to null).",
    )
    fte_hours: HoursText | None = Field(
        default=None, description="Per FTE: production hours one FTE stands for in a month."
    )
    baseline: AmountText | None = Field(
        default=None, description="A baseline volume billed at the unit price."
    )
    deadband_percent: PercentText = Field(
        default=Decimal(0), description="± this percentage around the baseline is not adjusted."
    )
    additional_rate: PriceText | None = Field(
        default=None, description="Price of each unit above the baseline's deadband."
    )
    reduced_rate: PriceText | None = Field(
        default=None, description="Credit for each unit below the baseline's deadband."
    )


class ChargePatch(Strict):
    """Fields left out stay as they are; null clears a narrowing, a price, a rate or the tiers
    (the charge must still make sense as a whole)."""

    label: StrictStr | None = Field(default=None, min_length=1, max_length=120)
    model: ChargeModel | None = None
    position: StrictInt | None = Field(default=None, ge=0, le=32767)
    channel: Channel | None = None
    priority: Priority | None = None
    item_type: StrictStr | None = Field(default=None, max_length=60, pattern=r"^[-a-zA-Z0-9_]+$")
    tiering: Tiering | None = None
    unit_price: PriceText | None = None
    tiers: list[TierIn] | None = Field(default=None, max_length=50)
    fte_hours: HoursText | None = None
    baseline: AmountText | None = None
    deadband_percent: PercentText | None = None
    additional_rate: PriceText | None = None
    reduced_rate: PriceText | None = None


# What a PATCH of a charge may set to null (the others keep their value when null).
CHARGE_NULLABLE = (
    "channel",
    "priority",
    "item_type",
    "unit_price",
    "tiers",
    "fte_hours",
    "baseline",
    "additional_rate",
    "reduced_rate",
)


class ChargeOut(Schema):
    id: int
    rate_card_id: int
    position: int
    label: str
    model: ChargeModel
    channel: str
    priority: str
    item_type: str
    tiering: Tiering
    unit_price: str | None
    tiers: list[TierOut]
    fte_hours: str | None
    baseline: str | None
    deadband_percent: str
    additional_rate: str | None
    reduced_rate: str | None

    @staticmethod
    def resolve_unit_price(obj: Any) -> str | None:
        return plain(obj.unit_price)

    @staticmethod
    def resolve_tiers(obj: Any) -> list[dict[str, str | None]]:
        return [
            {
                "up_to": None
                if tier.get("up_to") in (None, "")
                else plain(Decimal(str(tier["up_to"]))),
                "price": plain(Decimal(str(tier["price"]))),
            }
            for tier in obj.tiers or []
        ]

    @staticmethod
    def resolve_fte_hours(obj: Any) -> str | None:
        return plain(obj.fte_hours)

    @staticmethod
    def resolve_baseline(obj: Any) -> str | None:
        return plain(obj.baseline)

    @staticmethod
    def resolve_deadband_percent(obj: Any) -> str | None:
        return plain(obj.deadband_percent)

    @staticmethod
    def resolve_additional_rate(obj: Any) -> str | None:
        return plain(obj.additional_rate)

    @staticmethod
    def resolve_reduced_rate(obj: Any) -> str | None:
        return plain(obj.reduced_rate)


class RateCardOut(Schema):
    id: int
    version_id: int
    service: ServiceOut
    minimum_commitment: str | None
    charges: list[ChargeOut]

    @staticmethod
    def resolve_minimum_commitment(obj: Any) -> str | None:
        return plain(obj.minimum_commitment)

    @staticmethod
    def resolve_charges(obj: Any) -> list[Any]:
        return list(obj.charges.all())


# --- Invoices --------------------------------------------------------------------------------


class InvoiceIn(Strict):
    contract_id: StrictDbId
    month: str = Field(
        pattern=MONTH_PATTERN,
        description="YYYY-MM: the month to bill (it must have begun). A draft of that month is "
        "computed again; an approved one never changes.",
    )


class PaidIn(Strict):
    paid_on: IsoDate | None = Field(default=None, description="The day the money came (today).")


class VoidIn(Strict):
    reason: Text = Field(
        min_length=1, max_length=2000, description="Why it is void; the client may read it."
    )


class CreditNoteIn(Strict):
    reason: Text = Field(min_length=1, max_length=2000, description="What the note corrects.")
    amount: AmountText | None = Field(
        default=None,
        description='The net amount to credit, as text ("120.50"); null: the whole invoice '
        "(what is left of it after earlier credit notes).",
    )


class InvoiceListParams(PageParams):
    client_id: DbId | None = None
    status: InvoiceStatus | None = None


class InvoiceOut(Schema):
    id: int
    client_id: int
    contract_id: int
    contract_reference: str
    version_id: int
    kind: InvoiceKind
    corrects_id: int | None = Field(description="Credit notes: the invoice they correct.")
    number: str | None = Field(description="Given when it is issued.")
    title: str
    status: InvoiceStatus
    period_start: date
    period_end: date
    currency: str
    net: str
    tax_label: str
    tax_rate_percent: str
    tax: str
    total: str
    reason: str
    computed_at: datetime
    approved_at: datetime | None
    issued_at: datetime | None
    due_date: date | None
    paid_at: datetime | None
    voided_at: datetime | None

    @staticmethod
    def resolve_contract_reference(obj: Any) -> str:
        return str(obj.contract.reference)

    @staticmethod
    def resolve_net(obj: Any) -> str:
        return money(obj.net, obj.currency)

    @staticmethod
    def resolve_tax(obj: Any) -> str:
        return money(obj.tax, obj.currency)

    @staticmethod
    def resolve_total(obj: Any) -> str:
        return money(obj.total, obj.currency)

    @staticmethod
    def resolve_tax_rate_percent(obj: Any) -> str | None:
        return plain(obj.tax_rate_percent)


class LineOut(Schema):
    id: int
    position: int
    kind: LineKind
    service_id: int | None
    service_name: str | None
    charge_id: int | None
    description: str
    quantity: str
    unit: str
    unit_price: str
    amount: str
    meter: Meter | None = Field(description="What the line counts (null: not metered).")
    channel: str
    priority: str
    item_type: str
    level_month: date | None = Field(description="Credits and earn-backs: the month missed.")
    has_usage: bool = Field(description="The line opens to the days of usage behind it.")

    @staticmethod
    def resolve_service_name(obj: Any) -> str | None:
        return obj.service.name if obj.service_id else None

    @staticmethod
    def resolve_quantity(obj: Any) -> str | None:
        return plain(obj.quantity)

    @staticmethod
    def resolve_unit_price(obj: Any) -> str | None:
        return plain(obj.unit_price)

    @staticmethod
    def resolve_amount(obj: Any) -> str:
        return money(obj.amount, obj.invoice.currency)

    @staticmethod
    def resolve_meter(obj: Any) -> str | None:
        return obj.meter or None


class InvoiceDetailOut(InvoiceOut):
    lines: list[LineOut]

    @staticmethod
    def resolve_lines(obj: Any) -> list[Any]:
        from bpo.billing.queries import lines_of

        return list(lines_of(obj))


class InvoicePage(Schema):
    items: list[InvoiceOut]
    next_cursor: int | None


# --- Usage behind a line ---------------------------------------------------------------------


class UsageDayOut(Schema):
    day: date
    quantity: str = Field(description="In the meter's unit: items or minutes.")
    late: bool = Field(description="Before the invoice's month: usage that came late.")

    @staticmethod
    def resolve_quantity(obj: Any) -> str | None:
        return plain(obj.quantity)


class LineUsageOut(Schema):
    line: LineOut
    meter: Meter | None
    days: list[UsageDayOut]


class UsageItemOut(Schema):
    id: int
    title: str
    channel: str
    priority: Priority
    state: str
    external_ref: str
    created_at: datetime
    first_resolved_at: datetime | None


class UsageItemPage(Schema):
    items: list[UsageItemOut]
    next_cursor: int | None


def _names_agents(obj: Any, context: Any) -> bool:
    """Agents are named to the provider's staff; the client reads only that an agent worked
    (who works for which clients is the provider's to know)."""
    return request_actor(context["request"]).can(Permission.VIEW_AGENTS)


class UsageSessionOut(Schema):
    id: int
    item_id: int
    item_title: str
    agent_id: int | None = Field(description="Empty for the client's users.")
    agent_name: str
    started_at: datetime
    ended_at: datetime | None
    seconds: int

    @staticmethod
    def resolve_item_title(obj: Any) -> str:
        return str(obj.item.title)

    @staticmethod
    def resolve_agent_id(obj: Any, context: Any) -> int | None:
        return int(obj.agent_id) if _names_agents(obj, context) else None

    @staticmethod
    def resolve_agent_name(obj: Any, context: Any) -> str:
        return str(obj.agent.full_name) if _names_agents(obj, context) else "An agent"


class UsageSessionPage(Schema):
    items: list[UsageSessionOut]
    next_cursor: int | None


class PresenceSpanOut(Schema):
    id: int
    agent_id: int | None = Field(description="Empty for the client's users.")
    agent_name: str
    presence: str
    started_at: datetime
    ended_at: datetime | None = Field(description="Empty: still logged in.")

    @staticmethod
    def resolve_agent_id(obj: Any, context: Any) -> int | None:
        return int(obj.user_id) if _names_agents(obj, context) else None

    @staticmethod
    def resolve_agent_name(obj: Any, context: Any) -> str:
        return str(obj.user.full_name) if _names_agents(obj, context) else "An agent"


class PresenceSpanPage(Schema):
    items: list[PresenceSpanOut]
    next_cursor: int | None


# --- Revenue ---------------------------------------------------------------------------------


class RevenueParams(Schema):
    months: int = Field(default=12, ge=1, le=36, description="How many months, this one last.")


class RevenueRowOut(Schema):
    client: str
    service: str
    currency: str
    months: list[str] = Field(description="The net billed in each month, as in ``months``.")
    total: str


class RevenueTotalOut(Schema):
    currency: str
    month: date
    net: str


class RevenueOut(Schema):
    months: list[date] = Field(description="The first day of each month, oldest first.")
    rows: list[RevenueRowOut]
    totals: list[RevenueTotalOut] = Field(description="Per currency and month.")

    @staticmethod
    def resolve_rows(obj: Any) -> list[dict[str, Any]]:
        return [
            {
                **row,
                "months": [money(value, row["currency"]) for value in row["months"]],
                "total": money(row["total"], row["currency"]),
            }
            for row in obj.rows
        ]

    @staticmethod
    def resolve_totals(obj: Any) -> list[dict[str, Any]]:
        return [
            {"currency": currency, "month": month, "net": money(net, currency)}
            for (currency, month), net in sorted(obj.totals.items())
        ]
