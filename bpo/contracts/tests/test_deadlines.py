"""Deadline rules of back-office work, evaluated on a business calendar."""

from datetime import UTC, datetime, time

import pytest
from django.core.exceptions import ValidationError

from bpo.calendars.engine import BusinessClock, CalendarSpec, Shift
from bpo.contracts.deadlines import deadline_due, describe, validate_rule

BERLIN = "Europe/Berlin"
CLOCK = BusinessClock(
    CalendarSpec(
        time_zone=BERLIN,
        weekly={d: (Shift(time(8), time(17)),) for d in range(5)},
        holidays=frozenset({datetime(2026, 12, 24).date(), datetime(2026, 12, 25).date()}),
    )
)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    "rule,arrived,due",
    [
        # Wed 23 Dec 2026 15:00 Berlin: the next business day skips two holidays and a weekend.
        ({"kind": "next_business_day", "at": "10:00"}, utc(2026, 12, 23, 14), utc(2026, 12, 28, 9)),
        # Same business day before the cut-off time; after it, the next business day.
        ({"kind": "same_business_day", "at": "17:00"}, utc(2026, 11, 23, 9), utc(2026, 11, 23, 16)),
        (
            {"kind": "same_business_day", "at": "17:00"},
            utc(2026, 11, 23, 16, 30),
            utc(2026, 11, 24, 16),
        ),
        # Third business day of December 2026 is Thursday 3 Dec; once passed, 3rd of January 2027
        # (1 Jan is no holiday on this calendar, so: Fri 1, Mon 4, Tue 5).
        (
            {"kind": "business_day_of_month", "n": 3, "at": "12:00"},
            utc(2026, 12, 1, 8),
            utc(2026, 12, 3, 11),
        ),
        (
            {"kind": "business_day_of_month", "n": 3, "at": "12:00"},
            utc(2026, 12, 3, 12),
            utc(2027, 1, 5, 11),
        ),
    ],
)
def test_deadlines(rule, arrived, due):
    assert deadline_due(validate_rule(rule), arrived, CLOCK, BERLIN) == due


def test_descriptions_read_like_the_contract():
    assert describe({"kind": "business_day_of_month", "n": 3, "at": "12:00"}) == (
        "by 12:00 on business day 3 of the month"
    )


@pytest.mark.parametrize(
    "rule,message",
    [
        ({"kind": "next_business_day", "at": "25:00"}, "not a time"),
        ({"kind": "business_day_of_month", "at": "10:00", "n": 0}, "from 1 to 23"),
        ({"kind": "whenever", "at": "10:00"}, "is not one of"),
        ("tomorrow", "Expected an object"),
    ],
)
def test_bad_rules_are_explained(rule, message):
    with pytest.raises(ValidationError, match=message):
        validate_rule(rule)
