"""A rate card's charges as rating terms: checking them, and pricing a month's quantity.

The arithmetic itself is in :mod:`bpo.billing.rating`; this module reads a ``Charge`` (its
model, tiering, baseline) and says what is wrong with it or what it costs.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from bpo.billing import rating
from bpo.billing.models import Meter
from bpo.billing.rating import Priced, RatingError, Tier

if TYPE_CHECKING:
    from bpo.contracts.models import Charge

MINUTES_PER_HOUR = Decimal(60)

# What each charge model counts, and in which unit the invoice shows it.
METER_OF = {
    "per_transaction": Meter.RESOLVED_ITEMS,
    "per_handled_minute": Meter.HANDLED_MINUTES,
    "per_production_hour": Meter.PRODUCTION_MINUTES,
    "per_fte": Meter.PRODUCTION_MINUTES,
    "fixed_fee": "",
}
UNIT_OF = {
    "per_transaction": "items",
    "per_handled_minute": "minutes",
    "per_production_hour": "hours",
    "per_fte": "FTE",
    "fixed_fee": "month",
}


def tiers_of(raw: Any) -> list[Tier]:
    """The tiers stored on a charge ([{"up_to": "1000", "price": "1.20"}, ...])."""
    if not isinstance(raw, list):
        raise RatingError('tiers: a list of {"up_to": ..., "price": ...} is needed.')
    tiers = []
    for n, entry in enumerate(raw):
        if not isinstance(entry, dict) or set(entry) - {"up_to", "price"} or "price" not in entry:
            raise RatingError(f'tiers[{n}]: needs "price" and "up_to" (null for the last).')
        tiers.append(
            Tier(
                None if entry.get("up_to") in (None, "") else _decimal(entry["up_to"], n, "up_to"),
                _decimal(entry["price"], n, "price"),
            )
        )
    return tiers


def _decimal(value: Any, n: int, name: str) -> Decimal:
    if isinstance(value, (float, bool)):
        raise RatingError(f'tiers[{n}].{name}: write {value!r} as a string, e.g. "1.20".')
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise RatingError(f"tiers[{n}].{name}: {value!r} is not a number.") from None
    if not number.is_finite():
        raise RatingError(f"tiers[{n}].{name}: {value!r} is not a number.")
    return number


def charge_problems(charge: Charge) -> dict[str, str]:
    """What is wrong with a charge's terms, by field ({} when it can price a month)."""
    problems: dict[str, str] = {}
    if not charge.counts_items:
        for name in ("channel", "priority", "item_type"):
            if getattr(charge, name):
                problems[name] = "Only charges per resolved item or handled minute are narrowed."
    if charge.model == "per_fte" and charge.fte_hours is None:
        problems["fte_hours"] = "Say how many production hours one FTE stands for in a month."
    if charge.model != "per_fte" and charge.fte_hours is not None:
        problems["fte_hours"] = "Only charges per FTE have FTE hours."
    if charge.tiering == "flat":
        if charge.unit_price is None:
            problems["unit_price"] = "A charge at one price needs its unit price."
        if charge.tiers:
            problems["tiers"] = "A charge at one price has no tiers; choose a tiered pricing."
    else:
        if charge.model == "fixed_fee":
            problems["tiering"] = "A fixed monthly fee is one price, not tiered."
        if charge.baseline is not None:
            problems["baseline"] = "A baseline prices the base volume at one price, not tiered."
        try:
            rating.check_tiers(tiers_of(charge.tiers))
        except RatingError as error:
            problems["tiers"] = str(error)
    if charge.unit_price is not None and charge.unit_price < 0:
        problems["unit_price"] = f"{charge.unit_price} is negative; a price cannot be."
    if charge.baseline is not None:
        if charge.model == "fixed_fee":
            problems["baseline"] = "A fixed monthly fee has no baseline volume."
        elif charge.baseline <= 0:
            problems["baseline"] = "A baseline volume is above zero."
        for name in ("additional_rate", "reduced_rate"):
            if getattr(charge, name) is None:
                problems[name] = "A baseline needs its additional and reduced rates."
    else:
        for name in ("additional_rate", "reduced_rate"):
            if getattr(charge, name) is not None:
                problems[name] = "Additional and reduced rates belong to a baseline volume."
        if charge.deadband_percent:
            problems["deadband_percent"] = "A deadband belongs to a baseline volume."
    for name in ("additional_rate", "reduced_rate"):
        value = getattr(charge, name)
        if value is not None and value < 0:
            problems[name] = f"{value} is negative; a rate cannot be."
    return problems


def quantity_of(charge: Charge, metered: Decimal) -> Decimal:
    """The charge's billed quantity from its meter's month total (minutes become hours or
    FTEs; a fixed fee is one month)."""
    if charge.model == "fixed_fee":
        return Decimal(1)
    if charge.model == "per_production_hour":
        return metered / MINUTES_PER_HOUR
    if charge.model == "per_fte":
        assert charge.fte_hours is not None  # charge_problems says so
        return metered / MINUTES_PER_HOUR / charge.fte_hours
    return metered


def price(charge: Charge, quantity: Decimal) -> list[tuple[str, Priced]]:
    """The priced parts of a charge for a month's quantity, each with its line kind: the
    charge itself (one line, or one per graduated tier reached) and a baseline adjustment."""
    problems = charge_problems(charge)
    if problems:
        field, problem = next(iter(problems.items()))
        raise RatingError(f"{charge.label}: {field}: {problem}")
    if charge.baseline is not None:
        assert charge.unit_price is not None
        parts = [("charge", Priced(charge.baseline, charge.unit_price, "baseline volume"))]
        adjustment = rating.baseline_adjustment(
            actual=quantity,
            baseline=charge.baseline,
            deadband_percent=charge.deadband_percent,
            additional_rate=charge.additional_rate or Decimal(0),
            reduced_rate=charge.reduced_rate or Decimal(0),
        )
        if adjustment is not None:
            parts.append(("baseline", adjustment))
        return parts
    if quantity < 0 and charge.tiering != "flat":
        # Only corrections of earlier months (usage that went away) make a month negative:
        # they are given back at the first tier's price, which tiers cannot price.
        price = tiers_of(charge.tiers)[0].price
        return [("charge", Priced(quantity, price, "correction of usage billed before"))]
    if charge.tiering == "graduated":
        return [("charge", part) for part in rating.graduated(quantity, tiers_of(charge.tiers))]
    if charge.tiering == "volume":
        return [("charge", rating.volume(quantity, tiers_of(charge.tiers)))]
    assert charge.unit_price is not None
    return [("charge", Priced(quantity, charge.unit_price))]
