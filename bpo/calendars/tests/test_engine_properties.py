"""Business-time arithmetic against a brute-force oracle that walks minute by minute.

Random calendars (split and overnight shifts placed anywhere in the week, holidays, overrides)
in zones with DST (Berlin, New York), without it (UTC) and with a half-hour offset (Kolkata),
drawn near DST changes more often than chance would. Instants and durations of the oracle
checks are whole minutes within a few weeks, so the oracle stays fast; the algebraic properties
use microseconds and spans of years.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpo.calendars.engine import BusinessClock, CalendarError, CalendarSpec, Shift

ZONES = ("Europe/Berlin", "America/New_York", "UTC", "Asia/Kolkata")
# The days the clocks change (Sundays), which the calendars' windows are drawn around often.
DST_DAYS = {
    "Europe/Berlin": ("2023-03-26", "2023-10-29", "2024-03-31", "2024-10-27"),
    "America/New_York": ("2023-03-12", "2023-11-05", "2024-03-10", "2024-11-03"),
}
SLOT_MINUTES = 15  # shift boundaries fall on quarter hours
DAY_SLOTS = 24 * 60 // SLOT_MINUTES
# Boundaries are drawn from the whole day or, as often, from 01:00–04:00, where the clocks
# change, so gaps and repeated hours meet shift starts and ends.
SLOTS = st.one_of(st.integers(0, DAY_SLOTS - 1), st.integers(4, 16))
MINUTE = timedelta(minutes=1)
WINDOW_DAYS = 14  # the instants the oracle is asked about
ORACLE_DAYS = WINDOW_DAYS + 21  # ... and the time it may walk to answer an add
PROPERTY_SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def slot_time(slot: int) -> time:
    return time(*divmod(slot % DAY_SLOTS * SLOT_MINUTES, 60))


def cut_points(draw, values: st.SearchStrategy[int], count: int) -> list[int]:
    """``2 * count`` distinct sorted points."""
    return sorted(draw(st.lists(values, min_size=2 * count, max_size=2 * count, unique=True)))


@st.composite
def weekly_patterns(draw) -> dict[int, tuple[Shift, ...]]:
    """Up to 8 shifts anywhere in the week, never overlapping, overnight ones included.

    Cut points on a line of one week, paired into intervals (each at most a day long) and turned
    round the week by whole days, so a shift can run from Sunday into Monday.
    """
    points = cut_points(
        draw,
        st.builds(lambda d, s: d * DAY_SLOTS + s, st.integers(0, 6), SLOTS),
        draw(st.integers(1, 8)),
    )
    rotation = draw(st.integers(0, 6))
    weekly: dict[int, list[Shift]] = defaultdict(list)
    for begin, end in zip(points[::2], points[1::2], strict=True):
        length = min(end - begin, DAY_SLOTS)
        weekday, slot = divmod(begin, DAY_SLOTS)
        weekly[(weekday + rotation) % 7].append(Shift(slot_time(slot), slot_time(slot + length)))
    return {weekday: tuple(shifts) for weekday, shifts in weekly.items()}


@st.composite
def daily_patterns(draw, slots: st.SearchStrategy[int] = SLOTS) -> dict[int, tuple[Shift, ...]]:
    """The same one to three shifts every day, the last one possibly overnight."""
    points = cut_points(draw, slots, draw(st.integers(1, 3)))
    if draw(st.booleans()):  # pair them the other way round: the last shift ends next day
        points = [*points[1:], points[0] + DAY_SLOTS]
    shifts = tuple(
        Shift(slot_time(begin), slot_time(end))
        for begin, end in zip(points[::2], points[1::2], strict=True)
    )
    return dict.fromkeys(range(7), shifts)


@st.composite
def day_shifts(draw) -> tuple[Shift, ...]:
    """The shifts of an override: closed, or one or two shifts, possibly overnight."""
    points = cut_points(
        draw, st.one_of(SLOTS, st.integers(0, DAY_SLOTS + 8)), draw(st.integers(0, 2))
    )
    return tuple(
        Shift(slot_time(begin), slot_time(end))
        for begin, end in zip(points[::2], points[1::2], strict=True)
        if begin < DAY_SLOTS
    )


@dataclass(frozen=True)
class Case:
    """A random calendar, its clock and the first instant of the window the test asks about."""

    spec: CalendarSpec
    clock: BusinessClock
    holiday_dates: frozenset[date]
    origin: datetime  # a whole minute, UTC


@st.composite
def cases(draw) -> Case:
    if draw(st.integers(0, 2)) == 0:
        # A night of clock change early in the window, every shift boundary near the change:
        # shifts the gap shrinks to nothing or pushes into each other, repeated hours.
        zone = draw(st.sampled_from(sorted(DST_DAYS)))
        around = date.fromisoformat(draw(st.sampled_from(DST_DAYS[zone])))
        first_day = around - timedelta(days=draw(st.integers(0, 2)))
        weekly = draw(daily_patterns(st.integers(8, 13)))
    else:
        zone = draw(st.sampled_from(ZONES))
        any_day = st.dates(min_value=date(2023, 1, 1), max_value=date(2025, 12, 31))
        changes = [date.fromisoformat(day) for day in DST_DAYS.get(zone, ())]
        around = draw(st.one_of(st.sampled_from(changes), any_day) if changes else any_day)
        first_day = around - timedelta(days=draw(st.integers(0, WINDOW_DAYS)))
        weekly = draw(st.one_of(weekly_patterns(), daily_patterns()))
    offsets = st.integers(-2, ORACLE_DAYS + 2)
    holiday_dates = frozenset(
        first_day + timedelta(days=n) for n in draw(st.lists(offsets, max_size=6))
    )
    # Overrides are kept one by one while the calendar stays valid (they may meet a neighbour).
    overrides: dict[date, tuple[Shift, ...]] = {}
    for n, shifts in draw(st.lists(st.tuples(offsets, day_shifts()), max_size=4)):
        candidate = {**overrides, first_day + timedelta(days=n): shifts}
        try:
            BusinessClock(CalendarSpec(zone, weekly, overrides=candidate))
        except CalendarError:
            continue
        overrides = candidate
    by_year = draw(st.booleans())
    spec = CalendarSpec(
        time_zone=zone,
        weekly=weekly,
        holidays=(
            (lambda year: frozenset(d for d in holiday_dates if d.year == year))
            if by_year
            else holiday_dates
        ),
        overrides=overrides,
    )
    midnight = datetime.combine(first_day, time(0), tzinfo=UTC)
    origin = midnight + MINUTE * draw(st.integers(0, 24 * 60 - 1))
    return Case(spec, BusinessClock(spec), holiday_dates, origin)


class Oracle:
    """Working time as one flag per minute from the case's origin, computed the slow way."""

    def __init__(self, case: Case) -> None:
        spec, zone = case.spec, ZoneInfo(case.spec.time_zone)
        self.origin = case.origin
        self.minutes = bytearray(ORACLE_DAYS * 24 * 60)
        first = case.origin.date() - timedelta(days=2)
        for n in range(ORACLE_DAYS + 4):
            day = first + timedelta(days=n)
            if day in spec.overrides:
                shifts = spec.overrides[day]
            elif day in case.holiday_dates:
                shifts = ()
            else:
                shifts = spec.weekly.get(day.weekday(), ())
            for shift in shifts:
                end_day = day if shift.end > shift.start else day + timedelta(days=1)
                # Aware datetimes with fold=0, the engine's rule, reached another way.
                begin = datetime.combine(day, shift.start, tzinfo=zone)
                end = datetime.combine(end_day, shift.end, tzinfo=zone)
                lo = max(0, self.index(begin))
                hi = min(len(self.minutes), self.index(end))
                if hi > lo:
                    self.minutes[lo:hi] = b"\x01" * (hi - lo)

    def index(self, instant: datetime) -> int:
        return (instant - self.origin) // MINUTE

    def between(self, lo: int, hi: int) -> timedelta:
        return MINUTE * self.minutes[lo:hi].count(1)

    def add(self, start: int, minutes: int) -> datetime | None:
        """The end of the ``minutes``-th working minute from ``start``; None past the horizon."""
        if minutes == 0:
            return self.origin + MINUTE * start
        seen = 0
        for index in range(start, len(self.minutes)):
            seen += self.minutes[index]
            if seen == minutes:
                return self.origin + MINUTE * (index + 1)
        return None


WINDOW_MINUTES = st.integers(0, WINDOW_DAYS * 24 * 60)


@PROPERTY_SETTINGS
@given(case=cases(), lo=WINDOW_MINUTES, hi=WINDOW_MINUTES)
def test_between_matches_the_oracle(case: Case, lo: int, hi: int) -> None:
    oracle = Oracle(case)
    start, end = case.origin + lo * MINUTE, case.origin + hi * MINUTE
    expected = oracle.between(min(lo, hi), max(lo, hi))
    assert case.clock.between(start, end) == (expected if lo <= hi else -expected)


@PROPERTY_SETTINGS
@given(case=cases(), lo=WINDOW_MINUTES, data=st.data())
def test_add_matches_the_oracle(case: Case, lo: int, data: st.DataObject) -> None:
    oracle = Oracle(case)
    if data.draw(st.booleans(), label="up to an instant"):
        # The working time up to a random instant: often ends exactly at a shift's end.
        hi = data.draw(st.integers(lo, len(oracle.minutes)), label="instant")
        minutes = oracle.minutes[lo:hi].count(1)
    else:
        minutes = data.draw(st.integers(0, oracle.minutes[lo:].count(1)), label="minutes")
    expected = oracle.add(lo, minutes)
    assert expected is not None
    assert case.clock.add(case.origin + lo * MINUTE, minutes * MINUTE) == expected


@PROPERTY_SETTINGS
@given(case=cases(), lo=WINDOW_MINUTES)
def test_next_business_instant_matches_the_oracle(case: Case, lo: int) -> None:
    oracle = Oracle(case)
    following = oracle.minutes.find(1, lo)
    if following == -1:
        return  # no working time within the oracle's horizon
    assert case.clock.next_business_instant(case.origin + lo * MINUTE) == (
        case.origin + following * MINUTE
    )


INSTANT_US = st.integers(0, WINDOW_DAYS * 86_400 * 1_000_000)
DURATION_US = st.one_of(
    st.integers(0, 86_400 * 1_000_000),
    st.integers(0, 3 * 365 * 86_400 * 1_000_000),
)


def us(value: int) -> timedelta:
    return timedelta(microseconds=value)


@PROPERTY_SETTINGS
@given(case=cases(), at=INSTANT_US, duration=DURATION_US)
def test_measuring_what_was_added_gives_back_the_duration(
    case: Case, at: int, duration: int
) -> None:
    start = case.origin + us(at)
    end = case.clock.add(start, us(duration))
    assert end >= start
    assert case.clock.between(start, end) == us(duration)


@PROPERTY_SETTINGS
@given(case=cases(), at=INSTANT_US, later=INSTANT_US, d1=DURATION_US, d2=DURATION_US)
def test_add_is_monotonic(case: Case, at: int, later: int, d1: int, d2: int) -> None:
    clock, start = case.clock, case.origin + us(at)
    d1, d2 = sorted((d1, d2))
    assert clock.add(start, us(d1)) <= clock.add(start, us(d2))
    assert clock.add(start, us(d1)) <= clock.add(start + us(later), us(d1))


@PROPERTY_SETTINGS
@given(case=cases(), at=INSTANT_US)
def test_the_next_business_instant_is_inside_working_time(case: Case, at: int) -> None:
    clock, instant = case.clock, case.origin + us(at)
    found = clock.next_business_instant(instant)
    assert found >= instant
    assert clock.between(instant, found) == timedelta(0)
    assert clock.between(found, found + us(1)) == us(1)  # working time right there
    assert clock.add(instant, us(1)) == found + us(1)


@PROPERTY_SETTINGS
@given(case=cases(), lo=INSTANT_US, hi=INSTANT_US)
def test_the_shifts_between_add_up_to_the_time_between(case: Case, lo: int, hi: int) -> None:
    clock = case.clock
    start, end = case.origin + us(lo), case.origin + us(hi)
    intervals = list(clock.shifts_between(start, end))
    assert sum((b - a for a, b in intervals), timedelta(0)) == max(
        clock.between(start, end), timedelta(0)
    )
    assert all(start <= a < b <= end for a, b in intervals)
    assert all(b1 <= a2 for (_, b1), (a2, _) in pairwise(intervals))


@PROPERTY_SETTINGS
@given(
    case=cases(),
    lo=INSTANT_US,
    hi=INSTANT_US,
    duration=DURATION_US,
    earlier=st.lists(st.integers(-3 * 365, 3 * 365), max_size=3),
)
def test_answers_do_not_depend_on_what_was_asked_before(
    case: Case, lo: int, hi: int, duration: int, earlier: list[int]
) -> None:
    """The clock's tables grow in both directions as questions come; the answers stay put."""
    seasoned = BusinessClock(case.spec)
    for days in earlier:
        seasoned.next_business_instant(case.origin + timedelta(days=days))
    start, end = case.origin + us(lo), case.origin + us(hi)
    assert seasoned.between(start, end) == case.clock.between(start, end)
    assert seasoned.add(start, us(duration)) == case.clock.add(start, us(duration))
