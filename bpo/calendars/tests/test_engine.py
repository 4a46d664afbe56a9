"""Business-time arithmetic, worked out by hand: shifts, nights, DST, holidays, overrides, rolls."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest

from bpo.calendars.engine import (
    BusinessClock,
    CalendarError,
    CalendarSpec,
    Convention,
    Shift,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
KOLKATA = ZoneInfo("Asia/Kolkata")
H = timedelta(hours=1)
MIN = timedelta(minutes=1)
WEEKDAYS = range(5)
TWO_SHIFTS = (Shift(time(8), time(12)), Shift(time(13), time(17)))
NIGHT = (Shift(time(22), time(6)),)
WHOLE_DAY = (Shift(time(0), time(0)),)


def berlin(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=BERLIN)


def office(**kwargs) -> BusinessClock:
    """Mon–Fri 08:00–12:00 and 13:00–17:00 in Berlin."""
    return BusinessClock(
        CalendarSpec(
            time_zone="Europe/Berlin", weekly=dict.fromkeys(WEEKDAYS, TWO_SHIFTS), **kwargs
        )
    )


def every_day(shifts: tuple[Shift, ...], zone: str = "Europe/Berlin") -> BusinessClock:
    return BusinessClock(CalendarSpec(time_zone=zone, weekly=dict.fromkeys(range(7), shifts)))


def bavaria(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("DE", subdiv="BY", years=year))


# -- split shifts -------------------------------------------------------------------------------


class TestSplitShifts:
    def test_adding_within_the_morning(self):
        assert office().add(berlin(2024, 6, 3, 9), 2 * H) == berlin(2024, 6, 3, 11)

    def test_adding_skips_the_lunch_break(self):
        assert office().add(berlin(2024, 6, 3, 11), 2 * H) == berlin(2024, 6, 3, 14)

    def test_a_duration_ending_at_a_shift_end_returns_that_end(self):
        clock = office()
        assert clock.add(berlin(2024, 6, 3, 11), H) == berlin(2024, 6, 3, 12)
        friday = berlin(2024, 6, 7, 16)
        assert clock.add(friday, H) == berlin(2024, 6, 7, 17)
        assert clock.add(friday, H + timedelta(microseconds=1)) == berlin(2024, 6, 10, 8, 0, 0, 1)

    def test_counting_starts_at_the_next_shift_when_outside_working_time(self):
        clock = office()
        assert clock.add(berlin(2024, 6, 3, 12, 30), 30 * MIN) == berlin(2024, 6, 3, 13, 30)
        assert clock.add(berlin(2024, 6, 8, 10), H) == berlin(2024, 6, 10, 9)  # a Saturday
        assert clock.add(berlin(2024, 6, 3, 6), H) == berlin(2024, 6, 3, 9)

    def test_zero_duration_gives_back_the_start_even_outside_working_time(self):
        saturday = berlin(2024, 6, 8, 10)
        assert office().add(saturday, timedelta(0)) == saturday

    def test_results_are_in_utc(self):
        result = office().add(berlin(2024, 6, 3, 9), H)
        assert result.tzinfo is UTC
        assert result == datetime(2024, 6, 3, 8, tzinfo=UTC)

    def test_between_over_a_weekend(self):
        clock = office()
        thursday, tuesday = berlin(2024, 6, 6, 16), berlin(2024, 6, 11, 9)
        assert clock.between(thursday, tuesday) == 1 * H + 8 * H + 8 * H + 1 * H
        assert clock.between(tuesday, thursday) == -18 * H

    def test_between_outside_working_time_is_zero(self):
        assert office().between(berlin(2024, 6, 3, 12), berlin(2024, 6, 3, 13)) == timedelta(0)
        assert office().between(berlin(2024, 6, 8), berlin(2024, 6, 10, 8)) == timedelta(0)

    def test_exact_to_the_microsecond(self):
        clock = office()
        start = berlin(2024, 6, 3, 11, 59, 59, 999_999)
        assert clock.add(start, timedelta(microseconds=2)) == berlin(2024, 6, 3, 13, 0, 0, 1)
        assert clock.between(start, berlin(2024, 6, 3, 13, 0, 0, 1)) == timedelta(microseconds=2)

    def test_instants_in_any_zone_are_the_same_instants(self):
        clock = office()
        in_new_york = datetime(2024, 6, 3, 3, tzinfo=NEW_YORK)  # 09:00 in Berlin
        assert clock.add(in_new_york, H) == berlin(2024, 6, 3, 10)

    def test_next_business_instant(self):
        clock = office()
        inside = berlin(2024, 6, 3, 9, 30)
        assert clock.next_business_instant(inside) == inside
        assert clock.next_business_instant(inside).tzinfo is UTC
        assert clock.next_business_instant(berlin(2024, 6, 3, 12)) == berlin(2024, 6, 3, 13)
        assert clock.next_business_instant(berlin(2024, 6, 7, 17)) == berlin(2024, 6, 10, 8)

    def test_shifts_between_are_clipped_and_in_utc(self):
        spans = list(office().shifts_between(berlin(2024, 6, 3, 10), berlin(2024, 6, 4, 9)))
        assert spans == [
            (berlin(2024, 6, 3, 10), berlin(2024, 6, 3, 12)),
            (berlin(2024, 6, 3, 13), berlin(2024, 6, 3, 17)),
            (berlin(2024, 6, 4, 8), berlin(2024, 6, 4, 9)),
        ]
        assert all(a.tzinfo is UTC and b.tzinfo is UTC for a, b in spans)
        assert list(office().shifts_between(berlin(2024, 6, 4), berlin(2024, 6, 3))) == []


# -- overnight shifts ---------------------------------------------------------------------------


class TestOvernightShifts:
    def test_a_night_shift_runs_into_the_next_day(self):
        clock = BusinessClock(CalendarSpec("Europe/Berlin", dict.fromkeys(WEEKDAYS, NIGHT)))
        friday_night = berlin(2024, 6, 7, 23)
        assert clock.add(friday_night, 6 * H) == berlin(2024, 6, 8, 5)
        saturday_morning = berlin(2024, 6, 8, 3)  # still Friday's shift
        assert clock.next_business_instant(saturday_morning) == saturday_morning
        # Saturday's and Sunday's nights are off; Monday's begins at 22:00.
        assert clock.add(berlin(2024, 6, 8, 5), 2 * H) == berlin(2024, 6, 10, 23)

    def test_a_holiday_removes_the_shift_starting_on_it_not_the_one_running_into_it(self):
        clock = BusinessClock(
            CalendarSpec(
                "Europe/Berlin", dict.fromkeys(WEEKDAYS, NIGHT), holidays={date(2024, 6, 6)}
            )
        )
        # Wednesday night runs into the Thursday holiday; Thursday night is off.
        assert clock.between(berlin(2024, 6, 5, 12), berlin(2024, 6, 7, 12)) == 8 * H
        assert clock.add(berlin(2024, 6, 6, 5), 2 * H) == berlin(2024, 6, 7, 23)

    def test_shifts_back_to_back_over_midnight(self):
        weekly = {
            day: (Shift(time(6), time(14)), Shift(time(14), time(22)), *NIGHT) for day in range(7)
        }
        clock = BusinessClock(CalendarSpec("UTC", weekly))
        start = datetime(2024, 1, 1, tzinfo=UTC)
        assert clock.between(start, start + timedelta(days=10)) == timedelta(days=10)
        assert clock.add(start, 30 * H) == start + 30 * H

    def test_a_sunday_night_shift_runs_into_monday(self):
        clock = BusinessClock(CalendarSpec("UTC", {6: NIGHT}))
        sunday = datetime(2024, 6, 9, 23, tzinfo=UTC)
        assert clock.add(sunday, 7 * H) == datetime(2024, 6, 10, 6, tzinfo=UTC)
        assert clock.add(sunday, 8 * H) == datetime(2024, 6, 16, 23, tzinfo=UTC)


# -- daylight saving time -----------------------------------------------------------------------


class TestDaylightSavingTime:
    # Berlin: 2024-03-31 02:00 CET -> 03:00 CEST; 2024-10-27 03:00 CEST -> 02:00 CET.

    def test_a_night_shift_is_seven_hours_on_the_spring_forward_night(self):
        clock = every_day(NIGHT)
        assert clock.between(berlin(2024, 3, 30, 12), berlin(2024, 3, 31, 12)) == 7 * H
        assert clock.add(berlin(2024, 3, 30, 22), 7 * H) == berlin(2024, 3, 31, 6)

    def test_a_night_shift_is_nine_hours_on_the_fall_back_night(self):
        clock = every_day(NIGHT)
        assert clock.between(berlin(2024, 10, 26, 12), berlin(2024, 10, 27, 12)) == 9 * H
        assert clock.add(berlin(2024, 10, 26, 22), 9 * H) == berlin(2024, 10, 27, 6)

    def test_a_shift_spanning_two_to_three_loses_or_gains_the_hour(self):
        clock = every_day((Shift(time(1), time(4)),))
        assert clock.between(berlin(2024, 3, 31), berlin(2024, 3, 31, 12)) == 2 * H
        assert clock.between(berlin(2024, 10, 27), berlin(2024, 10, 27, 12)) == 4 * H
        assert clock.between(berlin(2024, 6, 2), berlin(2024, 6, 2, 12)) == 3 * H
        # 90 minutes after 01:00 on the spring-forward night is 03:30 CEST.
        assert clock.add(berlin(2024, 3, 31, 1), 90 * MIN) == datetime(
            2024, 3, 31, 1, 30, tzinfo=UTC
        )

    def test_a_start_in_the_gap_moves_forward_by_the_gap(self):
        clock = every_day((Shift(time(2, 30), time(5)),))
        spans = list(clock.shifts_between(berlin(2024, 3, 31), berlin(2024, 3, 31, 12)))
        assert spans == [(berlin(2024, 3, 31, 3, 30), berlin(2024, 3, 31, 5))]
        assert clock.between(berlin(2024, 3, 31), berlin(2024, 3, 31, 12)) == 90 * MIN

    def test_an_end_in_the_gap_moves_forward_by_the_gap(self):
        clock = every_day((Shift(time(0), time(2, 30)),))
        spans = list(clock.shifts_between(berlin(2024, 3, 31), berlin(2024, 3, 31, 12)))
        assert spans == [(berlin(2024, 3, 31, 0), berlin(2024, 3, 31, 3, 30))]
        assert clock.between(berlin(2024, 3, 31), berlin(2024, 3, 31, 12)) == 150 * MIN

    def test_an_ambiguous_start_is_taken_at_its_first_occurrence(self):
        clock = every_day((Shift(time(2, 30), time(4)),))
        spans = list(clock.shifts_between(berlin(2024, 10, 27), berlin(2024, 10, 27, 12)))
        first_half_past_two = datetime(2024, 10, 27, 0, 30, tzinfo=UTC)  # 02:30 CEST
        assert spans == [(first_half_past_two, berlin(2024, 10, 27, 4))]
        assert clock.between(berlin(2024, 10, 27), berlin(2024, 10, 27, 12)) == 150 * MIN

    def test_shifts_the_gap_pushes_into_each_other_count_once(self):
        clock = every_day((Shift(time(0), time(2, 30)), Shift(time(3), time(5))))
        # 00:00 CET .. 03:30 CEST and 03:00 CEST .. 05:00 CEST: together 00:00 CET .. 05:00 CEST.
        assert clock.between(berlin(2024, 3, 31), berlin(2024, 3, 31, 12)) == 4 * H
        spans = list(clock.shifts_between(berlin(2024, 3, 31), berlin(2024, 3, 31, 12)))
        assert spans == [(berlin(2024, 3, 31, 0), berlin(2024, 3, 31, 5))]

    def test_a_shift_inside_the_gap_moves_forward_whole(self):
        clock = every_day((Shift(time(2, 15), time(2, 45)),))
        spans = list(clock.shifts_between(berlin(2024, 3, 31), berlin(2024, 3, 31, 12)))
        assert spans == [(berlin(2024, 3, 31, 3, 15), berlin(2024, 3, 31, 3, 45))]

    def test_a_shift_the_gap_swallows_counts_nothing(self):
        # 02:30 becomes 03:30 CEST, after the shift's end at 03:15 CEST.
        clock = every_day((Shift(time(2, 30), time(3, 15)),))
        assert clock.between(berlin(2024, 3, 31), berlin(2024, 3, 31, 12)) == timedelta(0)
        assert clock.between(berlin(2024, 4, 1), berlin(2024, 4, 1, 12)) == 45 * MIN
        assert clock.is_business_day(date(2024, 3, 31))

    @pytest.mark.parametrize("first_asked", range(-45, 46, 1))
    def test_the_same_answers_however_the_tables_grew(self, first_asked):
        """Tables grow lazily in both directions; their seams may fall on the night of change."""
        # 20:00–02:30 runs into the gap; the next day's 03:00 CEST start comes before 03:30 CEST.
        shifts = (Shift(time(20), time(2, 30)), Shift(time(3), time(5)))
        clock = every_day(shifts)
        clock.next_business_instant(berlin(2024, 3, 31) + timedelta(days=first_asked))
        # 8.5 h a day, but on the night of change 19:00 UTC .. 01:30 UTC and 01:00 .. 03:00 UTC.
        assert clock.between(berlin(2024, 3, 30, 12), berlin(2024, 3, 31, 12)) == 8 * H
        assert clock.between(berlin(2024, 3, 29, 12), berlin(2024, 4, 2, 12)) == 3 * 8.5 * H + 8 * H
        assert clock.add(berlin(2024, 3, 30, 12), 8 * H) == berlin(2024, 3, 31, 5)

    def test_office_hours_across_the_change_keep_their_wall_times(self):
        clock = office()
        friday = berlin(2024, 3, 29, 16)  # Good Friday, but this calendar has no holidays
        assert clock.add(friday, 2 * H) == berlin(2024, 4, 1, 9)
        assert clock.add(friday, 2 * H) == datetime(2024, 4, 1, 7, tzinfo=UTC)
        assert clock.between(berlin(2024, 10, 25, 8), berlin(2024, 10, 28, 17)) == 16 * H

    def test_a_whole_day_calendar_is_elapsed_time_across_changes(self):
        clock = every_day(WHOLE_DAY)
        start, end = berlin(2024, 3, 1), berlin(2024, 11, 30)
        assert clock.between(start, end) == end - start
        # Real elapsed time, not wall-clock arithmetic (which aware datetimes of one zone do).
        assert clock.add(start, timedelta(days=200)) == start.astimezone(UTC) + timedelta(days=200)

    def test_new_york_and_a_half_hour_zone(self):
        ny = every_day(NIGHT, "America/New_York")
        spring = datetime(2024, 3, 9, 12, tzinfo=NEW_YORK)
        assert ny.between(spring, spring + timedelta(days=1)) == 7 * H
        fall = datetime(2024, 11, 2, 12, tzinfo=NEW_YORK)
        assert ny.between(fall, fall + timedelta(days=1)) == 9 * H
        india = every_day((Shift(time(9, 30), time(18)),), "Asia/Kolkata")
        assert india.next_business_instant(datetime(2024, 6, 3, tzinfo=UTC)) == datetime(
            2024, 6, 3, 4, tzinfo=UTC
        )


# -- holidays and overrides ---------------------------------------------------------------------


class TestHolidays:
    def test_holidays_as_a_set(self):
        clock = office(holidays={date(2024, 6, 5)})
        assert clock.between(berlin(2024, 6, 3), berlin(2024, 6, 10)) == 4 * 8 * H
        assert clock.add(berlin(2024, 6, 4, 16), 2 * H) == berlin(2024, 6, 6, 9)
        assert not clock.is_business_day(date(2024, 6, 5))

    def test_holidays_of_bavaria_per_year(self):
        clock = office(holidays=bavaria)
        # Corpus Christi, Thursday 2024-05-30, is a holiday in Bavaria.
        assert clock.add(berlin(2024, 5, 29, 16), 2 * H) == berlin(2024, 5, 31, 9)
        # Christmas: 25 and 26 December; Christmas Eve is a working day.
        assert clock.add(berlin(2024, 12, 24, 16), 2 * H) == berlin(2024, 12, 27, 9)
        # New Year's Day and Epiphany (Monday 6 January 2025): 7 working days remain.
        assert clock.between(berlin(2024, 12, 30), berlin(2025, 1, 10)) == 7 * 8 * H

    def test_the_holidays_package_object_works_as_a_set(self):
        clock = office(holidays=holidays.country_holidays("DE", subdiv="BY"))
        assert not clock.is_business_day(date(2031, 1, 6))
        assert clock.is_business_day(date(2031, 1, 7))

    def test_holidays_are_asked_for_once_per_year(self) -> None:
        asked: list[int] = []

        def of_year(year: int) -> frozenset[date]:
            asked.append(year)
            return bavaria(year)

        clock = office(holidays=of_year)
        clock.between(berlin(2023, 6, 1), berlin(2026, 6, 1))
        clock.between(berlin(2023, 7, 1), berlin(2026, 7, 1))
        assert sorted(asked) == sorted(set(asked))
        assert {2023, 2024, 2025, 2026} <= set(asked)


class TestOverrides:
    def test_an_extra_working_saturday(self):
        clock = office(overrides={date(2024, 6, 8): (Shift(time(9), time(13)),)})
        assert clock.add(berlin(2024, 6, 7, 16), 2 * H) == berlin(2024, 6, 8, 10)
        assert clock.is_business_day(date(2024, 6, 8))
        assert not clock.is_business_day(date(2024, 6, 15))

    def test_an_early_close(self):
        clock = office(overrides={date(2024, 12, 24): (Shift(time(8), time(12)),)})
        assert clock.add(berlin(2024, 12, 24, 11), 2 * H) == berlin(2024, 12, 25, 9)

    def test_overrides_win_over_holidays(self):
        clock = office(
            holidays={date(2024, 12, 24)},
            overrides={date(2024, 12, 24): (Shift(time(9), time(11)),)},
        )
        assert clock.between(berlin(2024, 12, 24), berlin(2024, 12, 25)) == 2 * H

    def test_an_empty_override_closes_the_day(self):
        clock = office(overrides={date(2024, 6, 5): ()})
        assert not clock.is_business_day(date(2024, 6, 5))
        assert clock.between(berlin(2024, 6, 5), berlin(2024, 6, 6)) == timedelta(0)

    def test_an_override_with_a_night_shift(self):
        clock = office(overrides={date(2024, 6, 8): (Shift(time(20), time(2)),)})
        assert clock.between(berlin(2024, 6, 8), berlin(2024, 6, 10)) == 6 * H


# -- long spans ---------------------------------------------------------------------------------


class TestLongSpans:
    def test_ten_years_of_office_hours(self):
        clock = office()
        start, end = date(2020, 1, 1), date(2030, 1, 1)
        weekdays = sum(
            1 for n in range((end - start).days) if (start + timedelta(days=n)).weekday() < 5
        )
        assert clock.between(berlin(2020, 1, 1), berlin(2030, 1, 1)) == weekdays * 8 * H

    def test_years_with_bavarian_holidays_round_trip(self):
        clock = office(holidays=bavaria)
        start = berlin(2021, 2, 3, 10, 17, 5, 123_456)
        for years in (1, 5, 25):
            end = start + timedelta(days=365 * years)
            reached = clock.add(start, clock.between(start, end))
            assert reached <= end
            assert clock.between(reached, end) == timedelta(0)
            duration = timedelta(hours=2000 * years, microseconds=7)
            assert clock.between(start, clock.add(start, duration)) == duration

    def test_far_in_the_past_and_far_in_the_future(self):
        clock = office()
        assert clock.add(berlin(1900, 1, 1), H) == berlin(1900, 1, 1, 9)
        assert clock.add(berlin(2200, 6, 1), H) == berlin(2200, 6, 2, 9)  # 2200-06-01 is Sunday
        weeks = (date(2199, 12, 30) - date(1900, 1, 1)).days // 7  # both are Mondays
        assert clock.between(berlin(1900, 1, 1), berlin(2199, 12, 30)) == weeks * 5 * 8 * H

    @pytest.mark.parametrize(
        "shifts", [TWO_SHIFTS, (Shift(time(20), time(2, 30)), Shift(time(3), time(5)))]
    )
    def test_tables_grown_piece_by_piece_equal_tables_built_at_once(self, shifts):
        seasoned = every_day(shifts)
        for year in (2030, 2010, 2020, 2003, 2041, 2000, 2050):
            seasoned.next_business_instant(berlin(year, 7, 1))
        at_once = every_day(shifts)
        start, end = berlin(1999, 6, 1), berlin(2050, 6, 1)
        assert list(seasoned.shifts_between(start, end)) == list(at_once.shifts_between(start, end))

    def test_a_calendar_that_never_opens_again_stops_searching(self):
        everything = CalendarSpec(
            "UTC",
            dict.fromkeys(WEEKDAYS, TWO_SHIFTS),
            holidays=lambda year: frozenset(
                date(year, 1, 1) + timedelta(days=n)
                for n in range(366)
                if (date(year, 1, 1) + timedelta(days=n)).year == year
            ),
        )
        clock = BusinessClock(everything)
        with pytest.raises(CalendarError, match="no working time"):
            clock.add(datetime(2024, 1, 1, tzinfo=UTC), H)
        with pytest.raises(CalendarError, match="no working time"):
            clock.next_business_instant(datetime(2024, 1, 1, tzinfo=UTC))
        with pytest.raises(CalendarError, match="no business day"):
            clock.roll(date(2024, 1, 1), Convention.FOLLOWING)

    def test_beyond_the_supported_years(self):
        with pytest.raises(ValueError, match="years 2 to 9997"):
            office().add(datetime(9997, 12, 30, tzinfo=UTC), timedelta(days=100))

    def test_one_clock_shared_by_threads(self) -> None:
        clock, fresh = office(holidays=bavaria), office(holidays=bavaria)
        starts = [berlin(2000 + n, 3, 1, 9) for n in range(40)]
        results: dict[int, datetime] = {}

        def work(n: int) -> None:
            results[n] = clock.add(starts[n], timedelta(hours=3000))

        threads = [threading.Thread(target=work, args=(n,)) for n in range(len(starts))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert results == {n: fresh.add(s, timedelta(hours=3000)) for n, s in enumerate(starts)}


# -- rolling dates ------------------------------------------------------------------------------


class TestRoll:
    @pytest.mark.parametrize(
        ("day", "convention", "expected"),
        [
            # Saturday 31 August 2024: following crosses into September.
            (date(2024, 8, 31), Convention.FOLLOWING, date(2024, 9, 2)),
            (date(2024, 8, 31), Convention.PRECEDING, date(2024, 8, 30)),
            (date(2024, 8, 31), Convention.MODIFIED_FOLLOWING, date(2024, 8, 30)),
            # Saturday 1 June 2024: preceding crosses back into May.
            (date(2024, 6, 1), Convention.FOLLOWING, date(2024, 6, 3)),
            (date(2024, 6, 1), Convention.PRECEDING, date(2024, 5, 31)),
            (date(2024, 6, 1), Convention.MODIFIED_FOLLOWING, date(2024, 6, 3)),
            # Christmas in Bavaria, a Wednesday and Thursday.
            (date(2024, 12, 25), Convention.FOLLOWING, date(2024, 12, 27)),
            (date(2024, 12, 25), Convention.PRECEDING, date(2024, 12, 24)),
            # New Year's Eve 2023 is a Sunday: modified following stays in the year's December.
            (date(2023, 12, 31), Convention.MODIFIED_FOLLOWING, date(2023, 12, 29)),
            # Business days stay where they are.
            (date(2024, 12, 31), Convention.FOLLOWING, date(2024, 12, 31)),
            (date(2024, 12, 31), Convention.PRECEDING, date(2024, 12, 31)),
            (date(2024, 12, 31), Convention.MODIFIED_FOLLOWING, date(2024, 12, 31)),
        ],
    )
    def test_conventions(self, day, convention, expected):
        assert office(holidays=bavaria).roll(day, convention) == expected

    def test_conventions_by_their_names(self):
        assert office().roll(date(2024, 8, 31), "modified_following") == date(2024, 8, 30)

    def test_a_night_only_day_is_a_business_day(self):
        clock = BusinessClock(CalendarSpec("UTC", {4: NIGHT}))
        assert clock.is_business_day(date(2024, 6, 7))  # a Friday
        assert not clock.is_business_day(date(2024, 6, 8))  # its shift runs into Saturday
        assert clock.roll(date(2024, 6, 8), Convention.PRECEDING) == date(2024, 6, 7)


# -- bad input ----------------------------------------------------------------------------------


class TestBadInput:
    def test_unknown_time_zone(self):
        with pytest.raises(CalendarError, match="unknown time zone 'Mars/Olympus'"):
            BusinessClock(CalendarSpec("Mars/Olympus", dict.fromkeys(WEEKDAYS, TWO_SHIFTS)))

    def test_overlapping_shifts_on_a_day(self):
        weekly = {0: (Shift(time(8), time(12)), Shift(time(11), time(15)))}
        with pytest.raises(CalendarError, match="Monday 08:00–12:00 overlaps Monday 11:00–15:00"):
            BusinessClock(CalendarSpec("UTC", weekly))

    def test_a_night_shift_spilling_into_the_next_days_shift(self):
        weekly = {0: NIGHT, 1: (Shift(time(5), time(13)),)}
        with pytest.raises(CalendarError, match="Monday 22:00–06:00 overlaps Tuesday 05:00"):
            BusinessClock(CalendarSpec("UTC", weekly))

    def test_a_sunday_night_spilling_into_monday(self):
        weekly = {6: NIGHT, 0: (Shift(time(5), time(13)),)}
        with pytest.raises(CalendarError, match="Sunday 22:00–06:00 overlaps Monday 05:00"):
            BusinessClock(CalendarSpec("UTC", weekly))

    def test_a_whole_day_shift_next_to_another(self):
        with pytest.raises(CalendarError, match="overlap"):
            BusinessClock(CalendarSpec("UTC", {0: (Shift(time(9), time(9)),), 1: TWO_SHIFTS}))

    def test_an_empty_working_week(self):
        with pytest.raises(CalendarError, match="no shifts"):
            BusinessClock(CalendarSpec("UTC", {}))
        with pytest.raises(CalendarError, match="no shifts"):
            BusinessClock(CalendarSpec("UTC", {0: ()}))

    def test_a_weekday_out_of_range(self):
        with pytest.raises(CalendarError, match="weekday 7"):
            BusinessClock(CalendarSpec("UTC", {7: TWO_SHIFTS}))

    def test_an_override_overlapping_the_day_before(self):
        spec = CalendarSpec(
            "UTC",
            dict.fromkeys(WEEKDAYS, NIGHT),
            overrides={date(2024, 6, 4): (Shift(time(5), time(9)),)},
        )
        with pytest.raises(CalendarError, match="override of 2024-06-04 overlaps"):
            BusinessClock(spec)

    def test_naive_instants(self):
        clock = office()
        with pytest.raises(ValueError, match="timezone-aware"):
            clock.add(datetime(2024, 6, 3, 9), H)
        with pytest.raises(ValueError, match="timezone-aware"):
            clock.between(berlin(2024, 6, 3), datetime(2024, 6, 4))
        with pytest.raises(ValueError, match="timezone-aware"):
            clock.next_business_instant(datetime(2024, 6, 3))
        with pytest.raises(ValueError, match="timezone-aware"):
            clock.shifts_between(datetime(2024, 6, 3), berlin(2024, 6, 4))

    def test_negative_duration(self):
        with pytest.raises(ValueError, match="must not be negative"):
            office().add(berlin(2024, 6, 3, 9), -MIN)

    def test_calendar_error_is_a_value_error(self):
        assert issubclass(CalendarError, ValueError)
