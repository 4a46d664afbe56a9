"""Business-time arithmetic: ``BusinessClock`` beside the ``businesstimedelta`` package.

Random cases (instant, duration, calendar) over three realistic calendars: two shifts a day
Monday to Friday, the public holidays of a country's region, a time zone with DST. Each case is
added (``add``) and measured (``between``) by both, the results compared. ``businesstimedelta``
takes milliseconds a case, so the cases are dealt into ``runs`` disjoint slices; each run times
both libraries on its own slice (which library goes first alternates), so over the whole
benchmark every case goes through both exactly once and is compared.

What both can express, and so what is compared: instants on whole seconds (``businesstimedelta``
drops the microseconds of what it measures), positive durations (it moves an instant outside
working time to the next shift even for a zero duration; ``BusinessClock`` gives the instant
back) and ``end >= start`` for measuring (it measures the unsigned distance). Its wall times
come from pytz with ``is_dst=False`` where ours come from zoneinfo with ``fold=0``; the two
differ only for a wall time in a DST gap or repeated hour, and no shift boundary of these
calendars is near one (the clocks change at night), so every case here is comparable.
"""

from __future__ import annotations

import gc
import math
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as wall
from functools import cache, partial

import holidays
import pytz  # type: ignore[import-untyped]  # businesstimedelta needs pytz zones; no stubs here
from businesstimedelta import BusinessTimeDelta, HolidayRule, LunchTimeRule, Rules, WorkDayRule

from bench import Figure, Options, median, progress
from bpo.calendars.engine import BusinessClock, CalendarSpec, Shift

QUICK_CASES = 2_000
FULL_CASES = 100_000
FIRST_CLOCK_SAMPLES = 200  # fresh clocks per run for the cold first-call figure
SEED = 20261123
FIRST_YEAR, LAST_YEAR = 2024, 2027  # instants are drawn in these years
HOLIDAY_YEARS = range(FIRST_YEAR - 1, LAST_YEAR + 3)  # the spans reach past the last year
SHORTEST, LONGEST_DURATION = timedelta(minutes=1), timedelta(hours=80)  # 10 business days
LONGEST_SPAN = timedelta(days=30)
WEEKDAYS = (0, 1, 2, 3, 4)


@cache
def public_holidays(country: str, subdiv: str, year: int) -> frozenset[date]:
    """A region's public holidays of one year, computed once (the package is slow to ask)."""
    return frozenset(holidays.country_holidays(country, subdiv=subdiv, years=year))


@dataclass(frozen=True)
class Calendar:
    """An office calendar: a morning and an afternoon shift, Monday to Friday, holidays."""

    name: str
    zone: str
    country: str
    subdiv: str
    morning: tuple[wall, wall]
    afternoon: tuple[wall, wall]

    def holidays_of(self, year: int) -> frozenset[date]:
        """The region's public holidays of one year."""
        return public_holidays(self.country, self.subdiv, year)

    def clock(self) -> BusinessClock:
        """The calendar as a BusinessClock (holidays asked for lazily, per year)."""
        shifts = (Shift(*self.morning), Shift(*self.afternoon))
        return BusinessClock(
            CalendarSpec(
                time_zone=self.zone,
                weekly=dict.fromkeys(WEEKDAYS, shifts),
                holidays=self.holidays_of,
            )
        )

    def rules(self) -> Rules:
        """The same calendar as businesstimedelta rules: a work day, a lunch break, holidays."""
        tz = pytz.timezone(self.zone)
        dates = frozenset().union(*(self.holidays_of(year) for year in HOLIDAY_YEARS))
        return Rules(
            [
                WorkDayRule(self.morning[0], self.afternoon[1], list(WEEKDAYS), tz=tz),
                LunchTimeRule(self.morning[1], self.afternoon[0], list(WEEKDAYS), tz=tz),
                HolidayRule(dates, tz=tz),
            ]
        )


CALENDARS = (
    Calendar(
        "Berlin DE-BY", "Europe/Berlin", "DE", "BY", (wall(8), wall(12)), (wall(13), wall(17))
    ),
    Calendar(
        "New York US-NY",
        "America/New_York",
        "US",
        "NY",
        (wall(9), wall(12, 30)),
        (wall(13, 30), wall(18)),
    ),
    Calendar(
        "London GB-ENG", "Europe/London", "GB", "ENG", (wall(9), wall(13)), (wall(14), wall(17, 30))
    ),
)


@dataclass(frozen=True)
class Case:
    """One random case: a calendar, an instant, a business duration and a later instant."""

    calendar: int
    start: datetime
    duration: timedelta
    end: datetime


def log_uniform_seconds(rng: random.Random, low: timedelta, high: timedelta) -> timedelta:
    """Whole seconds, log-uniformly between the bounds: as many minutes-long as weeks-long."""
    a, b = math.log(low.total_seconds()), math.log(high.total_seconds())
    return timedelta(seconds=round(math.exp(rng.uniform(a, b))))


def make_cases(count: int) -> list[Case]:
    """Reproducible random cases: instants on whole seconds in the benchmark's years, UTC."""
    rng = random.Random(SEED)  # noqa: S311 (reproducible test data, not secrets)
    first = datetime(FIRST_YEAR, 1, 1, tzinfo=UTC)
    seconds = int((datetime(LAST_YEAR + 1, 1, 1, tzinfo=UTC) - first).total_seconds())
    cases = []
    for _ in range(count):
        start = first + timedelta(seconds=rng.randrange(seconds))
        cases.append(
            Case(
                calendar=rng.randrange(len(CALENDARS)),
                start=start,
                duration=log_uniform_seconds(rng, SHORTEST, LONGEST_DURATION),
                end=start + log_uniform_seconds(rng, SHORTEST, LONGEST_SPAN),
            )
        )
    return cases


@contextmanager
def no_gc() -> Iterator[None]:
    """Keep the collector out of the timed loops, as timeit does."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def timed(work: Callable[[], list[object]]) -> tuple[float, list[object]]:
    """Wall seconds of one call and its results."""
    with no_gc():
        began = time.perf_counter()
        results = work()
        return time.perf_counter() - began, results


@dataclass
class Tally:
    """Compared cases and the ones where the two libraries disagree."""

    compared: int = 0
    mismatches: int = 0

    def compare(self, operation: str, case: Case, ours: object, theirs: object) -> None:
        """Count one comparison; tell about the first few disagreements."""
        self.compared += 1
        if ours != theirs:
            self.mismatches += 1
            if self.mismatches <= 5:
                progress(
                    f"MISMATCH {operation} {CALENDARS[case.calendar].name} {case}: "
                    f"BusinessClock {ours}, businesstimedelta {theirs}"
                )


def first_add_us(cases: list[Case]) -> float:
    """Median microseconds of a fresh clock's first ``add`` (builds its tables around it)."""
    samples = []
    for case in cases:
        calendar = CALENDARS[case.calendar]
        began = time.perf_counter()
        calendar.clock().add(case.start, case.duration)
        samples.append((time.perf_counter() - began) * 1e6)
    return median(samples)


class Contestants:
    """Both libraries set up for the benchmark's calendars, one timed loop per operation."""

    def __init__(self) -> None:
        self.adds = [calendar.clock().add for calendar in CALENDARS]
        self.betweens = [calendar.clock().between for calendar in CALENDARS]
        self.rules = [calendar.rules() for calendar in CALENDARS]

    def add(self, cases: list[Case]) -> list[object]:
        """BusinessClock.add on every case."""
        adds = self.adds
        return [adds[c.calendar](c.start, c.duration) for c in cases]

    def between(self, cases: list[Case]) -> list[object]:
        """BusinessClock.between on every case."""
        betweens = self.betweens
        return [betweens[c.calendar](c.start, c.end) for c in cases]

    def businesstimedelta_add(self, cases: list[Case]) -> list[object]:
        """A datetime plus a BusinessTimeDelta on every case."""
        rules = self.rules
        return [c.start + BusinessTimeDelta(rules[c.calendar], timedelta=c.duration) for c in cases]

    def businesstimedelta_between(self, cases: list[Case]) -> list[object]:
        """Rules.difference on every case."""
        rules = self.rules
        return [rules[c.calendar].difference(c.start, c.end).timedelta for c in cases]


OPERATIONS = ("add", "businesstimedelta_add", "between", "businesstimedelta_between")


def run(options: Options) -> list[Figure]:
    """Time add and between of both libraries on the same cases, interleaved; compare results."""
    count = QUICK_CASES if options.quick else FULL_CASES
    progress(f"drawing {count} cases over {len(CALENDARS)} calendars")
    cases = make_cases(count)
    contestants = Contestants()
    # BusinessClock builds its tables for the years asked about once per clock: warm it up, and
    # measure the cold cost apart (the first add on a fresh clock).
    seconds, _ = timed(lambda: contestants.add(cases) + contestants.between(cases))
    progress(f"BusinessClock warm-up over all cases (tables built): {seconds:.2f} s")
    contestants.businesstimedelta_add(cases[:20])

    ops: dict[str, list[float]] = {name: [] for name in OPERATIONS}
    first_add: list[float] = []
    tally = Tally()
    for number in range(options.runs):
        part = cases[number :: options.runs]
        order = OPERATIONS if number % 2 == 0 else OPERATIONS[::-1]
        results: dict[str, list[object]] = {}
        for name in order:
            seconds, results[name] = timed(partial(getattr(contestants, name), part))
            ops[name].append(len(part) / seconds)
        for operation in ("add", "between"):
            for case, ours, theirs in zip(
                part, results[operation], results[f"businesstimedelta_{operation}"], strict=True
            ):
                tally.compare(operation, case, ours, theirs)
        first_add.append(first_add_us(part[: 20 if options.quick else FIRST_CLOCK_SAMPLES]))
        progress(
            f"run {number + 1}/{options.runs}: {len(part)} cases; add "
            f"{ops['add'][-1]:,.0f}/s vs {ops['businesstimedelta_add'][-1]:,.0f}/s; between "
            f"{ops['between'][-1]:,.0f}/s vs {ops['businesstimedelta_between'][-1]:,.0f}/s; "
            f"first add on a fresh clock {first_add[-1]:,.0f} us; "
            f"mismatches so far {tally.mismatches} of {tally.compared}"
        )

    scale = (
        f"{count} cases in {options.runs} slices over {len(CALENDARS)} calendars "
        f"({', '.join(c.name for c in CALENDARS)}; two shifts Mon-Fri); instants "
        f"{FIRST_YEAR}-{LAST_YEAR} on whole seconds; durations 1 min-80 business h and spans "
        f"1 min-30 days, log-uniform"
    )
    runs = options.runs
    return [
        *(
            Figure(
                f"{operation}_ops",
                median(ops[operation]),
                "ops/s",
                f"businesstimedelta_{operation}_ops",
                median(ops[f"businesstimedelta_{operation}"]),
                runs,
                scale,
            )
            for operation in ("add", "between")
        ),
        Figure(
            "first_add_us",
            median(first_add),
            "us",
            "businesstimedelta_add_us",
            1e6 / median(ops["businesstimedelta_add"]),
            runs,
            scale,
        ),
        Figure(
            "mismatches", tally.mismatches, "cases", "cases_compared", tally.compared, runs, scale
        ),
    ]
