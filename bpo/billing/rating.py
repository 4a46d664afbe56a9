"""The arithmetic of a month's charges and credits, in Decimal from end to end (issue #7).

Pure functions on quantities and prices, with no database: the invoice builder feeds them the
month's metered usage and the rate card's terms, and they return priced lines. Each is worked
through by hand in ``bpo/billing/tests/test_rating.py``.

- :func:`graduated`: each unit is priced by the tier it falls in.
- :func:`volume`: every unit is priced by the tier the whole quantity reaches.
- :func:`true_up`: what a minimum monthly commitment adds when the charges fall short.
- :func:`baseline_adjustment`: additional-resource charges above a baseline volume and
  reduced-resource credits below it, nothing inside the deadband.
- :func:`sla_credits`: the credits missed service levels earn, capped at the amount at risk.
- :func:`round_money`: an amount rounded to its currency's minor unit, by the contract's rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

from babel.numbers import get_currency_precision

ZERO = Decimal(0)
HUNDRED = Decimal(100)
ROUNDING = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN}


class RatingError(ValueError):
    """Terms that cannot price anything: names what is wrong and where."""


@dataclass(frozen=True)
class Tier:
    """Units up to ``up_to`` (inclusive; None: no upper end) at ``price`` each."""

    up_to: Decimal | None
    price: Decimal


@dataclass(frozen=True)
class Priced:
    """A quantity at a unit price: one line of a charge (amounts unrounded)."""

    quantity: Decimal
    unit_price: Decimal
    label: str = ""

    @property
    def amount(self) -> Decimal:
        return self.quantity * self.unit_price


def check_tiers(tiers: Sequence[Tier]) -> None:
    """Tiers ascend without overlap or gap, prices are not negative, and the last one is open."""
    if not tiers:
        raise RatingError("tiers: at least one tier is needed.")
    previous = ZERO
    for n, tier in enumerate(tiers):
        if tier.price < 0:
            raise RatingError(f"tiers[{n}].price: {tier.price} is negative.")
        last = n == len(tiers) - 1
        if tier.up_to is None:
            if not last:
                raise RatingError(f"tiers[{n}].up_to: only the last tier is open-ended.")
            continue
        if tier.up_to <= previous:
            raise RatingError(
                f"tiers[{n}].up_to: {tier.up_to} overlaps the tier before it (up to {previous})."
            )
        previous = tier.up_to
    if tiers[-1].up_to is not None:
        raise RatingError(
            f"tiers[{len(tiers) - 1}].up_to: the last tier must be open-ended, or units above "
            f"{tiers[-1].up_to} would have no price."
        )


def _check_quantity(quantity: Decimal) -> None:
    if quantity < 0:
        raise RatingError(f"quantity: {quantity} is negative.")


def graduated(quantity: Decimal, tiers: Sequence[Tier]) -> list[Priced]:
    """Each unit at the price of the tier it falls in: a line per tier reached."""
    check_tiers(tiers)
    _check_quantity(quantity)
    lines = []
    floor = ZERO
    for tier in tiers:
        ceiling = quantity if tier.up_to is None else min(quantity, tier.up_to)
        if ceiling <= floor:
            break
        label = f"above {floor}" + (f" up to {tier.up_to}" if tier.up_to is not None else "")
        lines.append(Priced(ceiling - floor, tier.price, label))
        if tier.up_to is None:
            break
        floor = tier.up_to
    return lines


def volume(quantity: Decimal, tiers: Sequence[Tier]) -> Priced:
    """Every unit at the price of the tier the whole quantity reaches."""
    check_tiers(tiers)
    _check_quantity(quantity)
    for tier in tiers:
        if tier.up_to is None or quantity <= tier.up_to:
            return Priced(quantity, tier.price, f"volume tier up to {tier.up_to or 'any'}")
    raise AssertionError("check_tiers makes the last tier open-ended")


def true_up(charged: Decimal, minimum: Decimal) -> Decimal:
    """What a minimum monthly commitment adds: the shortfall of the charges, or nothing."""
    if minimum < 0:
        raise RatingError(f"minimum: {minimum} is negative.")
    return max(ZERO, minimum - charged)


def baseline_adjustment(
    *,
    actual: Decimal,
    baseline: Decimal,
    deadband_percent: Decimal,
    additional_rate: Decimal,
    reduced_rate: Decimal,
    beyond_band_only: bool = True,
) -> Priced | None:
    """Additional-resource charge (positive) above the baseline, reduced-resource credit
    (negative unit price) below it; None inside the deadband of ± ``deadband_percent``.

    ``beyond_band_only``: the units past the band's edge are adjusted (the common reading); else
    the whole difference from the baseline is, once outside the band."""
    if baseline <= 0:
        raise RatingError(f"baseline: {baseline} must be above zero.")
    if not ZERO <= deadband_percent < HUNDRED:
        raise RatingError(f"deadband_percent: {deadband_percent} is not from 0 to under 100.")
    for name, rate in (("additional_rate", additional_rate), ("reduced_rate", reduced_rate)):
        if rate < 0:
            raise RatingError(f"{name}: {rate} is negative.")
    band = baseline * deadband_percent / HUNDRED
    if actual > baseline + band:
        units = actual - baseline - (band if beyond_band_only else ZERO)
        return Priced(units, additional_rate, "additional resources above the baseline")
    if actual < baseline - band:
        units = baseline - actual - (band if beyond_band_only else ZERO)
        return Priced(units, -reduced_rate, "reduced resources below the baseline")
    return None


@dataclass(frozen=True)
class ServiceLevelOutcome:
    """A critical service level of the month: its share of the pool and whether it was missed."""

    name: str
    share_percent: Decimal
    missed: bool


@dataclass(frozen=True)
class Credits:
    """The month's SLA credits: per missed level before the cap, and the total after it."""

    at_risk: Decimal
    per_level: dict[str, Decimal]
    total: Decimal  # capped at ``at_risk``

    @property
    def capped(self) -> bool:
        return sum(self.per_level.values(), ZERO) > self.total


def sla_credits(
    *,
    monthly_fees: Decimal,
    at_risk_percent: Decimal,
    pool_percent: Decimal,
    levels: Sequence[ServiceLevelOutcome],
) -> Credits:
    """Credits of the missed critical service levels: at-risk amount × pool allocation × the
    level's share each, their total capped at the at-risk amount."""
    if not ZERO <= at_risk_percent <= HUNDRED:
        raise RatingError(f"at_risk_percent: {at_risk_percent} is not from 0 to 100.")
    if pool_percent < 0:
        raise RatingError(f"pool_percent: {pool_percent} is negative.")
    for n, level in enumerate(levels):
        if not ZERO < level.share_percent <= HUNDRED:
            raise RatingError(
                f"levels[{n}].share_percent: {level.share_percent} is not above 0 and at most 100."
            )
    shares = sum((level.share_percent for level in levels), ZERO)
    if shares > HUNDRED:
        raise RatingError(f"levels: the shares add up to {shares}%, more than the whole pool.")
    at_risk = monthly_fees * at_risk_percent / HUNDRED
    per_level = {
        level.name: at_risk * pool_percent / HUNDRED * level.share_percent / HUNDRED
        for level in levels
        if level.missed
    }
    return Credits(at_risk, per_level, min(at_risk, sum(per_level.values(), ZERO)))


def earn_back(credit: Decimal, later_months_beat_target: Sequence[bool], needed: int) -> Decimal:
    """The part of an earlier credit returned to the provider: all of it once the ``needed``
    months after the miss each beat the target, else nothing."""
    if needed < 1:
        raise RatingError(f"needed: {needed} months; at least 1.")
    window = list(later_months_beat_target)[:needed]
    return credit if len(window) == needed and all(window) else ZERO


def round_money(amount: Decimal, currency: str, rounding: str = "half_up") -> Decimal:
    """``amount`` to the minor unit of ``currency`` (2 for EUR, 0 for JPY, 3 for BHD)."""
    if rounding not in ROUNDING:
        raise RatingError(f"rounding: {rounding!r} is not one of {', '.join(ROUNDING)}.")
    digits = get_currency_precision(currency)
    return amount.quantize(Decimal(1).scaleb(-digits), rounding=ROUNDING[rounding])
