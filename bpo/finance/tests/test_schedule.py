"""The close and filing calendar: recurrence rules, their due dates rolled onto business days
of a German calendar, and the instant each is due. Pure: no database."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpo.calendars.engine import BusinessClock, CalendarSpec, Convention, Shift
from bpo.calendars.models import BusinessCalendar
from bpo.finance.schedule import (
    describe_recurrence,
    due_dates,
    due_instant,
    validate_recurrence,
)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
GERMANY = BusinessCalendar(
    name="Frankfurt office",
    time_zone="Europe/Berlin",
    weekly={day: ["08:00-17:00"] for day in WEEKDAYS},
    holiday_country="DE",
).clock
ROLLS = ("following", "preceding", "modified_following")
FAR = date(2030, 12, 31)


def german(rule: str, roll: str, since: date, until: date, **kwargs) -> list[tuple[date, date]]:
    return due_dates(
        rule,
        starts_on=kwargs.pop("starts_on", date(2026, 1, 1)),
        ends_on=kwargs.pop("ends_on", None),
        roll=roll,
        clock=GERMANY,
        since=since,
        until=until,
    )


# -- the rules --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "normalised", "words"),
    [
        ("FREQ=MONTHLY;BYMONTHDAY=10", "FREQ=MONTHLY;BYMONTHDAY=10", "monthly on day 10"),
        ("FREQ=DAILY", "FREQ=DAILY", "every day"),
        ("freq=monthly; bymonthday=-1", "FREQ=MONTHLY;BYMONTHDAY=-1", "monthly on the last day"),
        (
            "FREQ=YEARLY;BYMONTH=5;BYMONTHDAY=31",
            "FREQ=YEARLY;BYMONTH=5;BYMONTHDAY=31",
            "yearly on 31 May",
        ),
        (
            "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=10",
            "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=10",
            "quarterly on day 10",
        ),
        ("FREQ=WEEKLY;BYDAY=MO", "FREQ=WEEKLY;BYDAY=MO", "weekly on Monday"),
        (
            "RRULE:FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR",
            "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR",
            "every weekday",
        ),
        (
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
            "monthly on the last weekday",
        ),
        ("FREQ=MONTHLY;BYDAY=+1FR", "FREQ=MONTHLY;BYDAY=1FR", "monthly on the first Friday"),
        (
            "BYMONTHDAY=15;FREQ=MONTHLY;COUNT=12;INTERVAL=1",
            "FREQ=MONTHLY;COUNT=12;BYMONTHDAY=15",
            "monthly on day 15, 12 times",
        ),
        (
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;UNTIL=20271231",
            "FREQ=WEEKLY;INTERVAL=2;UNTIL=20271231;BYDAY=TU",
            "every 2 weeks on Tuesday, until 2027-12-31",
        ),
    ],
)
def test_rules_are_accepted_normalised_and_described(text, normalised, words):
    assert validate_recurrence(text) == normalised
    assert validate_recurrence(normalised) == normalised
    assert describe_recurrence(text) == words


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "Enter a recurrence rule"),
        ("every month", "is not NAME=VALUE"),
        ("FREQ=HOURLY", "FREQ=HOURLY is not supported"),
        ("FREQ=MINUTELY;INTERVAL=15", "FREQ=MINUTELY is not supported"),
        ("FREQ=SECONDLY", "FREQ=SECONDLY is not supported"),
        ("FREQ=FORTNIGHTLY", "FREQ=FORTNIGHTLY is not a frequency"),
        ("BYMONTHDAY=10", "FREQ is missing"),
        ("DTSTART:20260101T090000\nRRULE:FREQ=DAILY", "starts_on"),
        ("DTSTART=20260101;FREQ=DAILY", "starts_on"),
        ("FREQ=DAILY;UNTIL=20261231T235959Z", "UNTIL=20261231T235959Z has a time"),
        ("FREQ=DAILY;UNTIL=2026-12-31", "is not a date like 20271231"),
        ("FREQ=DAILY;COUNT=3;UNTIL=20261231", "COUNT or UNTIL, not both"),
        ("FREQ=DAILY;BYHOUR=9", "BYHOUR is not supported"),
        ("FREQ=MONTHLY;INTERVAL=0", "INTERVAL=0"),
        ("FREQ=MONTHLY;BYMONTHDAY=0", "out of range"),
        ("FREQ=MONTHLY;BYMONTHDAY=32", "out of range"),
        ("FREQ=MONTHLY;BYMONTH=13", "out of range"),
        ("FREQ=MONTHLY;BYDAY=XX", "'XX' is not a weekday"),
        ("FREQ=WEEKLY;BYDAY=2MO", "needs FREQ=MONTHLY or YEARLY"),
        ("FREQ=WEEKLY;BYMONTHDAY=1", "BYMONTHDAY cannot be used with FREQ=WEEKLY"),
        ("FREQ=MONTHLY;FOO=1", "FOO is not a rule part"),
        ("FREQ=MONTHLY;FREQ=DAILY", "FREQ appears twice"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "BYMONTHDAY=30 never falls in BYMONTH=2"),
        ("FREQ=YEARLY;BYMONTH=4,6;BYMONTHDAY=-31", "never falls in BYMONTH=4,6"),
        ("FREQ=YEARLY;BYWEEKNO=1;BYMONTH=6", "never gives a date"),
    ],
)
def test_bad_rules_are_refused_saying_what_is_wrong(text, says):
    with pytest.raises(ValidationError) as caught:
        validate_recurrence(text)
    [message] = caught.value.message_dict["recurrence"]
    assert says in message


def test_describing_never_raises():
    assert describe_recurrence("FREQ=HOURLY") == "FREQ=HOURLY"
    assert describe_recurrence("nonsense") == "nonsense"
    assert describe_recurrence(None) == "None"  # type: ignore[arg-type]


# -- due dates on the German calendar --------------------------------------------------------


def test_vat_return_on_the_tenth_rolls_back_from_a_saturday():
    # 10 Oct 2026 and 10 Jan 2027 are a Saturday and a Sunday: due the Friday before.
    assert german(
        "FREQ=MONTHLY;BYMONTHDAY=10", "preceding", date(2026, 9, 1), date(2027, 1, 31)
    ) == [
        (date(2026, 9, 10), date(2026, 9, 10)),
        (date(2026, 10, 10), date(2026, 10, 9)),
        (date(2026, 11, 10), date(2026, 11, 10)),
        (date(2026, 12, 10), date(2026, 12, 10)),
        (date(2027, 1, 10), date(2027, 1, 8)),
    ]


def test_month_end_close_stays_in_its_month():
    # 31 Oct 2026 is a Saturday, 31 Jan and 28 Feb 2027 are Sundays: modified following
    # would land in the next month, so the close is due the Friday before.
    assert german(
        "FREQ=MONTHLY;BYMONTHDAY=-1", "modified_following", date(2026, 10, 1), date(2027, 3, 5)
    ) == [
        (date(2026, 10, 31), date(2026, 10, 30)),
        (date(2026, 11, 30), date(2026, 11, 30)),
        (date(2026, 12, 31), date(2026, 12, 31)),
        (date(2027, 1, 31), date(2027, 1, 29)),
        (date(2027, 2, 28), date(2027, 2, 26)),
    ]


def test_daily_report_over_christmas_and_new_year_is_due_once_per_business_day():
    # Christmas Day (Fri 25 Dec 2026) and New Year's Day (Fri 1 Jan 2027) are holidays, each
    # followed by a weekend: following rolls them, with the weekend, onto the Monday after.
    following = german("FREQ=DAILY", "following", date(2026, 12, 23), date(2027, 1, 5))
    assert following == [
        (date(2026, 12, 23), date(2026, 12, 23)),
        (date(2026, 12, 24), date(2026, 12, 24)),
        (date(2026, 12, 25), date(2026, 12, 28)),
        (date(2026, 12, 29), date(2026, 12, 29)),
        (date(2026, 12, 30), date(2026, 12, 30)),
        (date(2026, 12, 31), date(2026, 12, 31)),
        (date(2027, 1, 1), date(2027, 1, 4)),
        (date(2027, 1, 5), date(2027, 1, 5)),
    ]
    preceding = german("FREQ=DAILY", "preceding", date(2026, 12, 23), date(2027, 1, 5))
    assert [due for _, due in preceding] == [due for _, due in following]
    assert [nominal for nominal, _ in preceding] == [due for _, due in preceding]


def test_a_weekend_does_not_add_a_second_monday_report():
    # Mon 7 to Mon 14 Sep 2026: Saturday and Sunday roll onto Monday, which is due once.
    pairs = german("FREQ=DAILY", "following", date(2026, 9, 7), date(2026, 9, 14))
    assert [due for _, due in pairs] == [date(2026, 9, d) for d in (7, 8, 9, 10, 11, 14)]
    assert pairs[-1] == (date(2026, 9, 12), date(2026, 9, 14))  # the first nominal date is kept


def test_yearly_and_quarterly_and_weekly_rules():
    # 31 May 2026 is a Sunday.
    assert german(
        "FREQ=YEARLY;BYMONTH=5;BYMONTHDAY=31", "preceding", date(2026, 1, 1), date(2027, 12, 31)
    ) == [(date(2026, 5, 31), date(2026, 5, 29)), (date(2027, 5, 31), date(2027, 5, 31))]
    # Quarterly from January: 10 Jan 2026 is a Saturday.
    assert german(
        "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=10",
        "following",
        date(2026, 1, 1),
        date(2026, 12, 31),
        starts_on=date(2026, 1, 10),
    ) == [
        (date(2026, 1, 10), date(2026, 1, 12)),
        (date(2026, 4, 10), date(2026, 4, 10)),
        (date(2026, 7, 10), date(2026, 7, 10)),
        (date(2026, 10, 10), date(2026, 10, 12)),
    ]
    # Easter Monday (6 Apr 2026) and Whit Monday (25 May 2026).
    mondays = german("FREQ=WEEKLY;BYDAY=MO", "following", date(2026, 3, 30), date(2026, 5, 31))
    assert (date(2026, 4, 6), date(2026, 4, 7)) in mondays
    assert (date(2026, 5, 25), date(2026, 5, 26)) in mondays
    assert len(mondays) == 9


def test_the_obligation_starts_and_ends():
    pairs = german(
        "FREQ=MONTHLY;BYMONTHDAY=10",
        "preceding",
        date(2026, 1, 1),
        date(2026, 12, 31),
        starts_on=date(2026, 3, 11),
        ends_on=date(2026, 6, 10),
    )
    assert [nominal for nominal, _ in pairs] == [
        date(2026, 4, 10),
        date(2026, 5, 10),
        date(2026, 6, 10),
    ]
    # The start is the first date when it matches; a due date may fall before it.
    assert german(
        "FREQ=MONTHLY;BYMONTHDAY=10",
        "preceding",
        date(2026, 10, 1),
        date(2026, 10, 31),
        starts_on=date(2026, 10, 10),
    ) == [(date(2026, 10, 10), date(2026, 10, 9))]
    assert german(
        "FREQ=DAILY;COUNT=3", "following", date(2026, 1, 1), FAR, starts_on=date(2026, 9, 7)
    ) == [
        (date(2026, 9, 7), date(2026, 9, 7)),
        (date(2026, 9, 8), date(2026, 9, 8)),
        (date(2026, 9, 9), date(2026, 9, 9)),
    ]


def test_the_window_is_of_due_dates():
    # Saturday 10 Oct is after a window ending on Friday 9 Oct, but it is due in it.
    assert german(
        "FREQ=MONTHLY;BYMONTHDAY=10", "preceding", date(2026, 10, 9), date(2026, 10, 9)
    ) == [(date(2026, 10, 10), date(2026, 10, 9))]
    # Sunday 1 Nov rolls following onto Monday 2 Nov, inside a window starting then.
    assert german(
        "FREQ=MONTHLY;BYMONTHDAY=1", "following", date(2026, 11, 2), date(2026, 11, 2)
    ) == [(date(2026, 11, 1), date(2026, 11, 2))]
    assert german("FREQ=DAILY", "following", date(2026, 11, 2), date(2026, 11, 1)) == []


def test_a_bad_rule_is_refused_by_due_dates_too():
    with pytest.raises(ValidationError):
        german("FREQ=HOURLY", "following", date(2026, 1, 1), date(2026, 2, 1))
    with pytest.raises(ValueError):
        german("FREQ=DAILY", "sideways", date(2026, 1, 1), date(2026, 2, 1))


# -- properties -------------------------------------------------------------------------------

SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DAYS = st.dates(date(2025, 6, 1), date(2027, 12, 31))


@st.composite
def rules(draw) -> str:
    """Rules of every frequency, with or without an interval, days of month from either end,
    weekdays and counts."""
    freq = draw(st.sampled_from(["DAILY", "WEEKLY", "MONTHLY", "YEARLY"]))
    parts = [f"FREQ={freq}"]
    if draw(st.booleans()):
        parts.append(f"INTERVAL={draw(st.integers(1, 4))}")
    if freq in ("MONTHLY", "YEARLY") and draw(st.booleans()):
        day = draw(st.one_of(st.integers(1, 28), st.integers(-3, -1)))
        parts.append(f"BYMONTHDAY={day}")
    elif freq != "DAILY" or draw(st.booleans()):
        days = draw(
            st.lists(
                st.sampled_from(["MO", "TU", "WE", "TH", "FR", "SA", "SU"]),
                min_size=1,
                max_size=3,
                unique=True,
            )
        )
        parts.append(f"BYDAY={','.join(days)}")
    if freq == "YEARLY" and draw(st.booleans()):
        parts.append(f"BYMONTH={draw(st.integers(1, 12))}")
    if draw(st.integers(0, 4)) == 0:
        parts.append(f"COUNT={draw(st.integers(1, 30))}")
    return ";".join(parts)


@st.composite
def clocks(draw) -> BusinessClock:
    """The German calendar, or a Monday-to-Friday one closed on up to 40 random days besides."""
    if draw(st.booleans()):
        return GERMANY
    closed = draw(st.frozensets(st.dates(date(2025, 5, 1), date(2028, 3, 31)), max_size=40))
    return BusinessClock(
        CalendarSpec(
            time_zone="Europe/Berlin",
            weekly={day: (Shift(time(9), time(17)),) for day in range(5)},
            holidays=closed,
        )
    )


@st.composite
def cases(draw) -> dict:
    starts_on = draw(DAYS)
    since = starts_on + timedelta(days=draw(st.integers(-60, 400)))
    return {
        "recurrence": draw(rules()),
        "starts_on": starts_on,
        "ends_on": draw(st.none() | st.dates(starts_on + timedelta(days=30), FAR)),
        "roll": draw(st.sampled_from(ROLLS)),
        "clock": draw(clocks()),
        "since": since,
        "until": since
        + timedelta(days=draw(st.integers(0, 3) | st.integers(20, 150) | st.integers(60, 200))),
    }


def oracle(case: dict) -> list[tuple[date, date]]:
    """Every nominal date rolled, one occurrence per due date (its first nominal date), by
    brute force from the rule's start."""
    rule = rrulestr(case["recurrence"], dtstart=datetime.combine(case["starts_on"], time()))
    last = case["until"] + timedelta(days=60)  # no roll on these calendars is longer
    if case["ends_on"] is not None:
        last = min(last, case["ends_on"])
    firsts: dict[date, date] = {}
    for moment in rule.between(
        datetime.combine(case["starts_on"], time()), datetime.combine(last, time()), inc=True
    ):
        due = case["clock"].roll(moment.date(), Convention(case["roll"]))
        firsts.setdefault(due, moment.date())
    return [(firsts[due], due) for due in sorted(firsts) if case["since"] <= due <= case["until"]]


@SETTINGS
@given(cases())
def test_due_dates_agree_with_brute_force(case):
    assert due_dates(**case) == oracle(case)


@SETTINGS
@given(cases())
def test_due_dates_are_business_days_in_order_once_each_and_rolled_the_right_way(case):
    pairs = due_dates(**case)
    clock, roll = case["clock"], case["roll"]
    for nominal, due in pairs:
        assert clock.is_business_day(due)
        assert case["since"] <= due <= case["until"]
        assert nominal >= case["starts_on"]
        assert case["ends_on"] is None or nominal <= case["ends_on"]
        if roll == "preceding":
            assert due <= nominal
        elif roll == "following":
            assert due >= nominal
        else:
            assert (due.year, due.month) == (nominal.year, nominal.month)
        assert (due == nominal) == clock.is_business_day(nominal)
    for (nominal, due), (next_nominal, next_due) in pairwise(pairs):
        assert nominal < next_nominal
        assert due < next_due


@SETTINGS
@given(cases(), st.integers(0, 150))
def test_adjoining_windows_give_the_pairs_of_their_union(case, cut):
    middle = min(case["since"] + timedelta(days=cut), case["until"])
    first = due_dates(**{**case, "until": middle})
    second = due_dates(**{**case, "since": middle + timedelta(days=1)})
    assert first + second == due_dates(**case)


# -- due instants -----------------------------------------------------------------------------


def test_due_instant_is_the_local_time_in_utc():
    assert due_instant(date(2026, 10, 9), time(16), "Europe/Berlin") == datetime(
        2026, 10, 9, 14, tzinfo=UTC
    )
    assert due_instant(date(2026, 12, 10), time(16), "Europe/Berlin") == datetime(
        2026, 12, 10, 15, tzinfo=UTC
    )
    assert due_instant(date(2026, 12, 10), time(9, 30), "America/New_York") == datetime(
        2026, 12, 10, 14, 30, tzinfo=UTC
    )
    # 02:30 on the spring-forward night does not exist: it is 03:30 summer time.
    assert due_instant(date(2026, 3, 29), time(2, 30), "Europe/Berlin") == datetime(
        2026, 3, 29, 1, 30, tzinfo=UTC
    )
    # 02:30 on the fall-back night happens twice: the first one counts.
    assert due_instant(date(2026, 10, 25), time(2, 30), "Europe/Berlin") == datetime(
        2026, 10, 25, 0, 30, tzinfo=UTC
    )
    zone = ZoneInfo("Europe/Berlin")
    assert due_instant(date(2026, 7, 1), time(17), zone) == datetime(2026, 7, 1, 15, tzinfo=UTC)
