"""Worked examples of every charge model, tier type, true-up, deadband and credit, by hand."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from bpo.billing.rating import (
    RatingError,
    ServiceLevelOutcome,
    Tier,
    baseline_adjustment,
    earn_back,
    graduated,
    round_money,
    sla_credits,
    true_up,
    volume,
)

# Up to 1,000 items at 1.20; up to 5,000 at 1.00; above at 0.80.
TIERS = [Tier(D(1000), D("1.20")), Tier(D(5000), D("1.00")), Tier(None, D("0.80"))]


def test_graduated_prices_each_unit_by_its_tier():
    lines = graduated(D(6200), TIERS)
    # 1,000 × 1.20 = 1,200.00; 4,000 × 1.00 = 4,000.00; 1,200 × 0.80 = 960.00
    assert [(line.quantity, line.amount) for line in lines] == [
        (D(1000), D("1200.00")),
        (D(4000), D("4000.00")),
        (D(1200), D("960.00")),
    ]
    assert sum(line.amount for line in lines) == D("6160.00")
    assert [line.label for line in lines] == [
        "above 0 up to 1000",
        "above 1000 up to 5000",
        "above 5000",
    ]
    # Inside the first tier: one line; nothing used: no line.
    assert [(x.quantity, x.amount) for x in graduated(D(999), TIERS)] == [(D(999), D("1198.80"))]
    assert graduated(D(0), TIERS) == []


def test_volume_prices_every_unit_by_the_tier_reached():
    assert volume(D(6200), TIERS).amount == D("4960.00")  # 6,200 × 0.80
    assert volume(D(5000), TIERS).amount == D("5000.00")  # the tier's top is in it: × 1.00
    assert volume(D(5001), TIERS).amount == D("4000.80")  # 5,001 × 0.80: cheaper than 5,000
    assert volume(D(1000), TIERS).amount == D("1200.00")


def test_a_minimum_commitment_adds_the_shortfall():
    assert true_up(D("4960.00"), D("5000.00")) == D("40.00")
    assert true_up(D("6160.00"), D("5000.00")) == D(0)


def test_baseline_charges_and_credits_outside_the_deadband():
    terms = {
        "baseline": D(10000),
        "deadband_percent": D(5),  # ± 500 items
        "additional_rate": D("0.90"),
        "reduced_rate": D("0.60"),
    }
    above = baseline_adjustment(actual=D(11200), **terms)
    assert above is not None and (above.quantity, above.amount) == (D(700), D("630.00"))
    whole = baseline_adjustment(actual=D(11200), beyond_band_only=False, **terms)
    assert whole is not None and whole.amount == D("1080.00")  # 1,200 × 0.90
    assert baseline_adjustment(actual=D(10400), **terms) is None
    assert baseline_adjustment(actual=D(9500), **terms) is None  # the band's edge is inside
    below = baseline_adjustment(actual=D(9000), **terms)
    assert below is not None and below.amount == D("-300.00")  # (10,000 − 9,000 − 500) × 0.60


def test_sla_credits_are_shares_of_the_pool_capped_at_the_amount_at_risk():
    def levels(*missed: bool) -> list[ServiceLevelOutcome]:
        shares = (D(40), D(30), D(30))
        return [
            ServiceLevelOutcome(f"SL{n}", share, miss)
            for n, (share, miss) in enumerate(zip(shares, missed, strict=True))
        ]

    terms = {"monthly_fees": D(100000), "at_risk_percent": D(10), "pool_percent": D(250)}
    # At risk: 10 % of 100,000 = 10,000. SL1 alone: 10,000 × 250 % × 40 % = 10,000.
    one = sla_credits(levels=levels(False, True, False), **terms)
    assert one.at_risk == D(10000)
    assert one.per_level == {"SL1": D(7500)}  # SL1 is the 30 % one: 10,000 × 2.5 × 0.3
    assert one.total == D(7500) and not one.capped
    # Two missed: 10,000 + 7,500 = 17,500, capped at the 10,000 at risk.
    two = sla_credits(levels=levels(True, True, False), **terms)
    assert two.per_level == {"SL0": D(10000), "SL1": D(7500)}
    assert two.total == D(10000) and two.capped
    assert sla_credits(levels=levels(False, False, False), **terms).total == 0


def test_earn_back_returns_a_credit_when_the_following_months_beat_the_target():
    assert earn_back(D(7500), [True, True, False], needed=2) == D(7500)
    assert earn_back(D(7500), [True, False, True], needed=2) == 0
    assert earn_back(D(7500), [True], needed=2) == 0  # not yet known


def test_money_is_rounded_by_its_currency_and_the_contracts_rule():
    assert round_money(D("1.005"), "EUR") == D("1.01")
    assert round_money(D("1.005"), "EUR", "half_even") == D("1.00")
    assert round_money(D("1234.5"), "JPY") == D(1235)
    assert round_money(D("1.2345"), "BHD") == D("1.235")


@pytest.mark.parametrize(
    "tiers,message",
    [
        ([], "at least one tier"),
        (
            [Tier(D(1000), D(1)), Tier(D(800), D(1)), Tier(None, D(1))],
            "tiers[1].up_to: 800 overlaps the tier before it (up to 1000)",
        ),
        ([Tier(D(1000), D(-1)), Tier(None, D(1))], "tiers[0].price: -1 is negative"),
        ([Tier(D(1000), D(1))], "tiers[0].up_to: the last tier must be open-ended"),
        ([Tier(None, D(1)), Tier(None, D(1))], "tiers[0].up_to: only the last tier"),
    ],
)
def test_bad_tiers_are_refused_with_the_reason(tiers, message):
    with pytest.raises(RatingError) as raised:
        graduated(D(10), tiers)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    "change,message",
    [
        ({"at_risk_percent": D(101)}, "at_risk_percent: 101"),
        ({"levels": [ServiceLevelOutcome("A", D(120), True)]}, "levels[0].share_percent: 120"),
        (
            {
                "levels": [
                    ServiceLevelOutcome("A", D(70), True),
                    ServiceLevelOutcome("B", D(60), False),
                ]
            },
            "add up to 130%",
        ),
    ],
)
def test_bad_credit_terms_are_refused_with_the_reason(change, message):
    terms = {
        "monthly_fees": D(1000),
        "at_risk_percent": D(10),
        "pool_percent": D(100),
        "levels": [ServiceLevelOutcome("A", D(50), True)],
        **change,
    }
    with pytest.raises(RatingError, match=message.replace("[", r"\[").replace("]", r"\]")):
        sla_credits(**terms)


def test_a_negative_correction_under_tiers_is_given_back_at_the_first_price():
    from bpo.billing.pricing import price
    from bpo.contracts.models import Charge

    tiers = [{"up_to": "3", "price": "2.00"}, {"up_to": None, "price": "1.50"}]
    for tiering in ("graduated", "volume"):
        charge = Charge(label="Items", model="per_transaction", tiering=tiering, tiers=tiers)
        ((kind, priced),) = price(charge, D(-1))
        assert (kind, priced.amount) == ("charge", D("-2.00"))
