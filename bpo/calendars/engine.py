"""Business-time arithmetic on a business calendar: pure, exact to the microsecond, fast.

A calendar (``CalendarSpec``) is a time zone, the shifts of each weekday in local wall-clock
time, holidays and one-off overrides. ``BusinessClock`` answers questions about it:

* ``add(start, duration)``: the instant at which ``duration`` of working time has elapsed.
* ``between(start, end)``: the working time in ``[start, end)``; negative when ``end < start``.
* ``next_business_instant(at)``: ``at`` itself when inside working time, else the next shift start.
* ``is_business_day(day)`` and ``roll(day, convention)``: date-level questions.
* ``shifts_between(start, end)``: the working intervals overlapping ``[start, end)``, clipped.

Semantics, all of them deliberate:

* Instants going in must be timezone-aware datetimes (a naive one raises ``ValueError``); instants
  coming out are aware datetimes in UTC. Arithmetic is exact to the microsecond (integers, no
  floats).
* Working time is half-open: a shift ``08:00–12:00`` contains 08:00 but not 12:00.
* A shift belongs to the local date it starts on. ``end <= start`` means it ends on the next day
  (an overnight shift); ``start == end`` means it lasts a whole day (24 wall-clock hours), so
  ``00:00–00:00`` is the whole day. A holiday on date D removes the shifts that start on D (a night
  shift that started the evening before still runs into D); an override for D replaces D's shifts
  (an empty tuple closes D); overrides win over holidays.
* Local wall times become instants with ``zoneinfo`` and ``fold=0``: a wall time in a DST gap is
  moved forward by the gap (02:30 on the spring-forward night in Berlin is 03:30 CEST), and an
  ambiguous one is taken at its first occurrence. Durations are real elapsed time, so a
  ``22:00–06:00`` shift lasts 9 h on the fall-back night and 7 h on the spring-forward night. A
  shift that the gap shrinks to nothing contributes nothing; where the gap makes two shifts
  overlap in real time, the overlap counts once.
* ``add``: the duration must be ``>= 0``; zero gives back ``start`` (in UTC). Counting begins at
  ``start`` when it is inside working time, else at the next business instant. When the duration
  runs out exactly at the end of a shift, that end is the answer (not the next shift's start).
* ``roll``: following is the first business day on or after the date, preceding the last on or
  before it, modified following is following unless that lands in another month, then preceding.
* Supported instants lie within the years 2 to 9997; a calendar with no working time for ten
  years after (or before) an instant raises ``CalendarError`` rather than searching forever.

How it is fast: the working intervals (UTC microseconds, disjoint, sorted) of a contiguous range
of local dates are computed once and kept with running totals of working time, so ``add`` and
``between`` over any span are two binary searches. The range grows lazily (geometrically, in both
directions) as questions reach beyond it. The computed state is an immutable snapshot replaced
under a lock, so one clock can be shared by threads.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from itertools import accumulate, pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

SECOND_US = 1_000_000
DAY_US = 86_400 * SECOND_US
WEEK_US = 7 * DAY_US
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EPOCH_NAIVE = datetime(1970, 1, 1)
EPOCH_ORDINAL = EPOCH_NAIVE.toordinal()
# Days beyond the computed range whose shifts can still reach into it: a shift lasts at most a
# day and a UTC offset is less than a day, so three days of margin on either side is safe.
MARGIN_DAYS = 3
# The first range computed: a month after the first instant asked about, a week before it.
INITIAL_DAYS_AFTER = 28
INITIAL_DAYS_BEFORE = 7
MIN_GROWTH_DAYS = 32
MAX_GROWTH_DAYS = 4 * 366
SEARCH_LIMIT_DAYS = 10 * 366
FIRST_ORDINAL = date(2, 1, 1).toordinal()
LAST_ORDINAL = date(9998, 1, 1).toordinal()
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class CalendarError(ValueError):
    """A calendar that cannot be used as given, with the reason."""


class Convention(StrEnum):
    """How to roll a date that is not a business day onto one."""

    FOLLOWING = "following"
    PRECEDING = "preceding"
    MODIFIED_FOLLOWING = "modified_following"


@dataclass(frozen=True)
class Shift:
    """Working time between two local wall-clock times (``end <= start``: it ends next day)."""

    start: time
    end: time

    def __str__(self) -> str:
        return f"{self.start.isoformat('minutes')}–{self.end.isoformat('minutes')}"


@dataclass(frozen=True)
class CalendarSpec:
    """A business calendar: time zone, weekly shifts (0 = Monday), holidays and overrides."""

    time_zone: str
    weekly: Mapping[int, tuple[Shift, ...]]
    holidays: Callable[[int], AbstractSet[date]] | AbstractSet[date] = frozenset()
    overrides: Mapping[date, tuple[Shift, ...]] = field(default_factory=dict)


# A shift compiled for arithmetic: (offset of its start from local midnight, its wall length),
# both in microseconds.
_Compiled = tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class _Span:
    """The working intervals of local dates ``[first_day, last_day)`` with running totals.

    Working time is fully known for instants in ``[safe_lo, safe_hi]``; ``cum[i]`` is the working
    time of the intervals before interval ``i`` (``len(cum) == len(starts) + 1``).
    """

    first_day: int
    last_day: int
    safe_lo: int
    safe_hi: int
    starts: list[int]
    ends: list[int]
    cum: list[int]


def _time_us(value: time) -> int:
    """Microseconds since midnight of a wall-clock time."""
    return ((value.hour * 60 + value.minute) * 60 + value.second) * SECOND_US + value.microsecond


def _compile(shift: Shift) -> tuple[int, int]:
    """A shift's start offset and wall-clock length in microseconds."""
    start, end = _time_us(shift.start), _time_us(shift.end)
    return start, (end - start if end > start else end - start + DAY_US)


def _to_us(value: datetime, name: str) -> int:
    """An aware datetime as integer microseconds since the Unix epoch."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got the naive {value.isoformat()}")
    delta = value - EPOCH
    return (delta.days * 86_400 + delta.seconds) * SECOND_US + delta.microseconds


def _from_us(us: int) -> datetime:
    """Integer microseconds since the Unix epoch as an aware datetime in UTC."""
    return EPOCH + timedelta(microseconds=us)


def _delta_us(value: timedelta) -> int:
    """A timedelta as integer microseconds."""
    return (value.days * 86_400 + value.seconds) * SECOND_US + value.microseconds


def _day_of(us: int) -> int:
    """The proleptic ordinal of the UTC date of an instant."""
    return EPOCH_ORDINAL + us // DAY_US


def _merge(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sort intervals and join the ones that overlap (touching ones stay apart)."""
    intervals.sort()
    merged: list[tuple[int, int]] = []
    for start, end in intervals:
        if merged and start < merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _overlap_problem(placed: list[tuple[int, int, str, Shift]]) -> str | None:
    """Describe the first overlap among (start, end, where, shift) wall intervals, or None."""
    placed = sorted(placed, key=lambda item: (item[0], item[1]))
    for (_, end, where, shift), (start, _, next_where, next_shift) in pairwise(placed):
        if start < end:
            return f"{where} {shift} overlaps {next_where} {next_shift}"
    return None


class BusinessClock:
    """Business-time arithmetic on one calendar (see the module docstring for the semantics)."""

    def __init__(self, spec: CalendarSpec) -> None:
        """Validate the calendar; raise ``CalendarError`` naming the problem."""
        self.spec = spec
        try:
            self._zone = ZoneInfo(spec.time_zone)
        except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
            raise CalendarError(f"unknown time zone {spec.time_zone!r}") from exc
        weekly: list[_Compiled] = [() for _ in range(7)]
        for weekday, shifts in spec.weekly.items():
            if not isinstance(weekday, int) or not 0 <= weekday <= 6:
                raise CalendarError(f"weekday {weekday!r} is not 0 (Monday) to 6 (Sunday)")
            weekly[weekday] = self._compile_all(shifts, WEEKDAY_NAMES[weekday])
        if not any(weekly):
            raise CalendarError("the working week has no shifts")
        self._weekly = tuple(weekly)
        self._check_week(spec.weekly)
        self._overrides: dict[date, _Compiled] = {
            day: self._compile_all(shifts, day.isoformat())
            for day, shifts in spec.overrides.items()
        }
        self._check_overrides()
        holidays = spec.holidays
        self._holidays_of_year: Callable[[int], AbstractSet[date]] | None = None
        self._holiday_set: AbstractSet[date] = frozenset()
        if callable(holidays):
            self._holidays_of_year = holidays
        else:
            self._holiday_set = holidays
        self._holiday_years: dict[int, AbstractSet[date]] = {}
        self._offsets_us: dict[timedelta | None, int] = {}
        self._span: _Span | None = None
        self._lock = threading.Lock()

    # -- validation ---------------------------------------------------------------------------

    @staticmethod
    def _compile_all(shifts: tuple[Shift, ...], where: str) -> _Compiled:
        """Compile the shifts of one day, checking they are shifts of naive wall times."""
        compiled = []
        for shift in shifts:
            if not isinstance(shift, Shift):
                raise CalendarError(f"{where}: {shift!r} is not a Shift")
            for bound in (shift.start, shift.end):
                if not isinstance(bound, time) or bound.tzinfo is not None:
                    raise CalendarError(f"{where}: shift {shift} needs naive wall-clock times")
            compiled.append(_compile(shift))
        return tuple(compiled)

    def _check_week(self, weekly: Mapping[int, tuple[Shift, ...]]) -> None:
        """Refuse shifts that overlap anywhere in the week, wrapping Sunday into Monday."""
        placed = []
        for weekday, shifts in weekly.items():
            for shift in shifts:
                start, length = _compile(shift)
                where = WEEKDAY_NAMES[weekday]
                begin = weekday * DAY_US + start
                placed.append((begin, begin + length, where, shift))
                # The same shift a week later catches a Sunday night running into Monday.
                placed.append((begin + WEEK_US, begin + length + WEEK_US, where, shift))
        problem = _overlap_problem(placed)
        if problem:
            raise CalendarError(f"shifts overlap: {problem}")

    def _check_overrides(self) -> None:
        """Refuse an override whose shifts overlap each other or those of the days beside it."""
        overrides = self.spec.overrides
        for day in sorted(overrides):
            placed = []
            for offset in (-1, 0, 1):
                other = day + timedelta(days=offset)
                shifts = overrides.get(other, self.spec.weekly.get(other.weekday(), ()))
                for shift in shifts:
                    start, length = _compile(shift)
                    begin = offset * DAY_US + start
                    placed.append((begin, begin + length, other.isoformat(), shift))
            problem = _overlap_problem(placed)
            if problem:
                raise CalendarError(f"the override of {day.isoformat()} overlaps: {problem}")

    # -- the calendar's days ------------------------------------------------------------------

    def _is_holiday(self, day: date) -> bool:
        """Whether the date is a holiday (holidays given per year are fetched once per year)."""
        if self._holidays_of_year is None:
            return day in self._holiday_set
        dates = self._holiday_years.get(day.year)
        if dates is None:
            dates = self._holiday_years[day.year] = self._holidays_of_year(day.year)
        return day in dates

    def _shifts_on(self, day: date) -> _Compiled:
        """The compiled shifts starting on a local date, after overrides and holidays."""
        override = self._overrides.get(day)
        if override is not None:
            return override
        if self._is_holiday(day):
            return ()
        return self._weekly[day.weekday()]

    def _utc_us(self, wall_us: int) -> int:
        """A local wall time (microseconds since the local epoch) as a UTC instant, fold=0."""
        offset = self._zone.utcoffset(EPOCH_NAIVE + timedelta(microseconds=wall_us))
        offset_us = self._offsets_us.get(offset)
        if offset_us is None:
            offset_us = self._offsets_us[offset] = _delta_us(offset) if offset is not None else 0
        return wall_us - offset_us

    def _intervals(self, first_day: int, last_day: int) -> list[tuple[int, int]]:
        """The merged UTC working intervals of the shifts starting on local dates in the range."""
        raw = []
        for ordinal in range(first_day, last_day):
            shifts = self._shifts_on(date.fromordinal(ordinal))
            midnight = (ordinal - EPOCH_ORDINAL) * DAY_US
            for start, length in shifts:
                wall = midnight + start
                begin, end = self._utc_us(wall), self._utc_us(wall + length)
                if end > begin:
                    raw.append((begin, end))
        return _merge(raw)

    # -- the computed range -------------------------------------------------------------------

    def _covering(self, lo: int, hi: int) -> _Span:
        """A snapshot in which working time is fully known for instants in ``[lo, hi]``."""
        span = self._span
        if span is not None and span.safe_lo <= lo and hi <= span.safe_hi:
            return span
        return self._extend(lo, hi)

    def _extend(self, lo: int, hi: int) -> _Span:
        """Grow the computed range (geometrically) until it covers ``[lo, hi]``."""
        need_first = _day_of(lo) - MARGIN_DAYS
        need_last = _day_of(hi) + MARGIN_DAYS + 1
        if need_first < FIRST_ORDINAL or need_last > LAST_ORDINAL:
            raise ValueError(
                f"business time is computed for the years 2 to 9997 only; "
                f"asked about {_from_us(lo).date()} to {_from_us(hi).date()}"
            )
        with self._lock:
            span = self._span
            if span is None:
                first = max(FIRST_ORDINAL, need_first - INITIAL_DAYS_BEFORE)
                last = min(LAST_ORDINAL, need_last + INITIAL_DAYS_AFTER)
                merged = self._intervals(first, last)
            else:
                if span.safe_lo <= lo and hi <= span.safe_hi:
                    return span
                growth = min(max(span.last_day - span.first_day, MIN_GROWTH_DAYS), MAX_GROWTH_DAYS)
                first, last = span.first_day, span.last_day
                if need_first < first:
                    first = max(FIRST_ORDINAL, min(need_first, first - growth))
                if need_last > last:
                    last = min(LAST_ORDINAL, max(need_last, last + growth))
                merged = self._join(span, first, last)
            lengths = [end - start for start, end in merged]
            span = _Span(
                first_day=first,
                last_day=last,
                safe_lo=(first + MARGIN_DAYS - EPOCH_ORDINAL) * DAY_US,
                safe_hi=(last - MARGIN_DAYS - EPOCH_ORDINAL) * DAY_US,
                starts=[start for start, _ in merged],
                ends=[end for _, end in merged],
                cum=list(accumulate(lengths, initial=0)),
            )
            self._span = span
            return span

    def _join(self, span: _Span, first: int, last: int) -> list[tuple[int, int]]:
        """The old span's intervals with those of the new days before and after, merged."""
        old = list(zip(span.starts, span.ends, strict=True))
        if last > span.last_day:
            after = self._intervals(span.last_day, last)
            if after:
                # Old intervals ending after the first new start may overlap new ones (DST gap).
                keep = bisect_right(span.ends, after[0][0])
                old = old[:keep] + _merge(old[keep:] + after)
        if first < span.first_day:
            before = self._intervals(first, span.first_day)
            if before:
                latest_end = max(end for _, end in before)
                keep = bisect_left([start for start, _ in old], latest_end)
                old = _merge(before + old[:keep]) + old[keep:]
        return old

    def _forward(self, span: _Span, at: int, position: int) -> _Span:
        """A span reaching further into the future; refuses to search past ten closed years."""
        if span.cum[-1] == position and span.safe_hi - at > SEARCH_LIMIT_DAYS * DAY_US:
            raise CalendarError(f"no working time within ten years after {_from_us(at)}")
        return self._extend(at, span.safe_hi + DAY_US)

    # -- the arithmetic -----------------------------------------------------------------------

    @staticmethod
    def _position(span: _Span, at: int) -> tuple[int, int]:
        """The working time before ``at`` (relative to the span) and the interval at/after it."""
        index = bisect_right(span.ends, at)
        starts = span.starts
        if index < len(starts) and starts[index] <= at:
            return span.cum[index] + at - starts[index], index
        return span.cum[index], index

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The instant at which ``duration`` of working time has elapsed from ``start``."""
        at = _to_us(start, "start")
        if not isinstance(duration, timedelta):
            raise TypeError(f"duration must be a timedelta, got {type(duration).__name__}")
        amount = _delta_us(duration)
        if amount < 0:
            raise ValueError(f"duration must not be negative, got {duration}")
        if amount == 0:
            return _from_us(at)
        span = self._covering(at, at)
        while True:
            position, index = self._position(span, at)
            target = position + amount
            cum = span.cum
            found = bisect_left(cum, target, index + 1) - 1
            if found < len(span.starts):
                result = span.starts[found] + target - cum[found]
                if result <= span.safe_hi:
                    return _from_us(result)
            span = self._forward(span, at, position)

    def between(self, start: datetime, end: datetime) -> timedelta:
        """The working time in ``[start, end)``; negative when ``end`` is before ``start``."""
        lo, hi = _to_us(start, "start"), _to_us(end, "end")
        sign = 1
        if hi < lo:
            lo, hi, sign = hi, lo, -1
        span = self._covering(lo, hi)
        return timedelta(
            microseconds=sign * (self._position(span, hi)[0] - self._position(span, lo)[0])
        )

    def next_business_instant(self, at: datetime) -> datetime:
        """``at`` itself when inside working time, else the start of the next shift."""
        instant = _to_us(at, "at")
        span = self._covering(instant, instant)
        while True:
            position, index = self._position(span, instant)
            if index < len(span.starts) and span.starts[index] <= span.safe_hi:
                return _from_us(max(instant, span.starts[index]))
            span = self._forward(span, instant, position)

    def is_business_day(self, day: date) -> bool:
        """Whether at least one shift starts on the date (after holidays and overrides)."""
        return bool(self._shifts_on(day))

    def roll(self, day: date, convention: Convention) -> date:
        """Roll a date onto a business day by the convention (a business day stays put)."""
        convention = Convention(convention)
        if convention is Convention.PRECEDING:
            return self._step(day, -1)
        following = self._step(day, 1)
        if convention is Convention.MODIFIED_FOLLOWING and following.month != day.month:
            return self._step(day, -1)
        return following

    def _step(self, day: date, direction: int) -> date:
        """The first business day from ``day`` on in the direction (+1 or -1), itself included."""
        step = timedelta(days=direction)
        candidate = day
        for _ in range(SEARCH_LIMIT_DAYS):
            if self.is_business_day(candidate):
                return candidate
            candidate += step
        raise CalendarError(f"no business day within ten years of {day.isoformat()}")

    def shifts_between(self, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The working intervals (UTC) overlapping ``[start, end)``, clipped to it."""
        lo, hi = _to_us(start, "start"), _to_us(end, "end")
        if hi <= lo:
            return iter(())
        span = self._covering(lo, hi)
        index = bisect_right(span.ends, lo)
        intervals = []
        while index < len(span.starts) and span.starts[index] < hi:
            begin, finish = max(span.starts[index], lo), min(span.ends[index], hi)
            intervals.append((_from_us(begin), _from_us(finish)))
            index += 1
        return iter(intervals)
