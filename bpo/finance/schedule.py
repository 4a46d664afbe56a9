"""The close and filing calendar's date arithmetic: pure, no database.

An obligation's recurrence is the body of an RFC 5545 ``RRULE`` (``FREQ=MONTHLY;BYMONTHDAY=10``)
without ``DTSTART``: the obligation's ``starts_on`` is the rule's start and ``ends_on`` its end,
and ``due_time`` gives the hour, so only whole days recur (DAILY, WEEKLY, MONTHLY, YEARLY).

:func:`due_dates` turns a rule into ``(nominal_date, due_date)`` pairs, deliberately so:

* The nominal dates are those the rule gives from ``starts_on`` (included when it matches the
  rule) up to ``ends_on`` (included); each is rolled onto a business day of the calendar by the
  convention (following, preceding, modified following) with ``BusinessClock.roll``.
* Nominal dates that roll onto the same due date are one occurrence, kept with the first of
  them: ``FREQ=DAILY`` rolled following gives Saturday, Sunday and Monday all due on Monday, and
  a daily report is due once that Monday (nominal Saturday), not three times. So every business
  day gets at most one occurrence, and the due dates returned are strictly increasing.
* A pair is kept when its *due* date lies in ``[since, until]``; the nominal date may lie
  outside (preceding rolls a Saturday after ``until`` back into the window, following rolls a
  Sunday before ``since`` into it; a due date may even fall before ``starts_on``). Rolling is
  monotonic, so a pair's membership does not depend on the window asked about: two adjoining
  windows give exactly the pairs of the window that joins them.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, tzinfo
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr
from django.core.exceptions import ValidationError

from bpo.calendars.engine import BusinessClock, Convention

FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
SUB_DAILY = ("HOURLY", "MINUTELY", "SECONDLY")
# The parts a rule may have, in the order the normalised text lists them.
PARTS = (
    "FREQ",
    "INTERVAL",
    "COUNT",
    "UNTIL",
    "BYMONTH",
    "BYWEEKNO",
    "BYYEARDAY",
    "BYMONTHDAY",
    "BYDAY",
    "BYSETPOS",
    "WKST",
)
TIME_PARTS = ("BYHOUR", "BYMINUTE", "BYSECOND")
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
WEEKDAY_WORDS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# Largest absolute value of each numeric list part (0 is never allowed).
LIMITS = {"BYMONTH": 12, "BYWEEKNO": 53, "BYYEARDAY": 366, "BYMONTHDAY": 31, "BYSETPOS": 366}
# Parts RFC 5545 forbids with some frequencies (section 3.3.10).
NOT_WITH = {
    "BYWEEKNO": ("DAILY", "WEEKLY", "MONTHLY"),
    "BYYEARDAY": ("DAILY", "WEEKLY", "MONTHLY"),
    "BYMONTHDAY": ("WEEKLY",),
}
_BYDAY = re.compile(r"^([+-]?)(\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")
_UNTIL = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_INTEGER = re.compile(r"^[+-]?\d{1,4}$")
# The probe that a rule gives any date at all starts where the 400-year Gregorian cycle starts
# (like 2000-01-01) and late enough that dateutil's search for a date stops after 400 years.
PROBE_START = datetime(9600, 1, 1)
EXAMPLE = "FREQ=MONTHLY;BYMONTHDAY=10"


def _refuse(message: str) -> ValidationError:
    """The error of a bad rule, on the obligation's recurrence field."""
    return ValidationError({"recurrence": message})


def _split(text: str) -> dict[str, str]:
    """The parts of a rule body, upper-cased, refusing what is not ``NAME=VALUE;…`` once each."""
    if not isinstance(text, str) or not text.strip():
        raise _refuse(f"Enter a recurrence rule, e.g. {EXAMPLE}.")
    body = text.strip().upper()
    if (
        "\n" in body
        or "DTSTART" in body
        or any(body.startswith(word) for word in ("RDATE", "EXDATE", "EXRULE"))
    ):
        raise _refuse(
            "Give the rule only (e.g. FREQ=MONTHLY;BYMONTHDAY=10): the start date is the "
            "obligation's starts_on, the end date its ends_on, not DTSTART or other lines."
        )
    body = body.removeprefix("RRULE:")
    parts: dict[str, str] = {}
    for piece in body.split(";"):
        piece = piece.strip()
        if not piece:
            continue
        name, equals, value = piece.partition("=")
        name, value = name.strip(), value.strip().replace(" ", "")
        if not equals or not name or not value:
            raise _refuse(f"{piece!r} is not NAME=VALUE; write e.g. {EXAMPLE}.")
        if name in parts:
            raise _refuse(f"{name} appears twice.")
        if name in TIME_PARTS:
            raise _refuse(
                f"{name} is not supported: obligations fall on dates; the due time gives the hour."
            )
        if name not in PARTS:
            raise _refuse(f"{name} is not a rule part; use {', '.join(PARTS)}.")
        parts[name] = value
    return parts


def _integers(name: str, value: str) -> list[int]:
    """A comma list of non-zero integers within the part's limit."""
    numbers = []
    for item in value.split(","):
        if not _INTEGER.match(item):
            raise _refuse(f"{name}={value}: {item!r} is not a whole number.")
        number = int(item)
        if number == 0 or abs(number) > LIMITS[name]:
            low = 1 if name == "BYMONTH" else -LIMITS[name]
            raise _refuse(
                f"{name}={value}: {number} is out of range ({low} to {LIMITS[name]}, never 0)."
            )
        if name == "BYMONTH" and number < 0:
            raise _refuse(f"BYMONTH={value}: months are 1 to 12.")
        numbers.append(number)
    return numbers


def _positive(name: str, value: str) -> int:
    """INTERVAL or COUNT: a whole number of at least 1."""
    if not value.isdigit() or int(value) < 1 or int(value) > 100_000:
        raise _refuse(f"{name}={value}: expected a whole number of at least 1.")
    return int(value)


def _check_byday(value: str, freq: str) -> list[str]:
    """BYDAY's weekdays, numbered ones ('-1FR') only where RFC 5545 allows them."""
    days = []
    for item in value.split(","):
        match = _BYDAY.match(item)
        if not match:
            raise _refuse(f"BYDAY={value}: {item!r} is not a weekday like MO or 1MO or -1FR.")
        sign, number, weekday = match.groups()
        if number is not None:
            limit = 5 if freq == "MONTHLY" else 53
            if freq not in ("MONTHLY", "YEARLY"):
                raise _refuse(
                    f"BYDAY={value}: a numbered weekday ({item}) needs FREQ=MONTHLY or YEARLY."
                )
            if not 1 <= int(number) <= limit:
                raise _refuse(f"BYDAY={value}: {item} is out of range (1 to {limit}, or -1…).")
            item = f"{'-' if sign == '-' else ''}{int(number)}{weekday}"
        else:
            item = weekday
        days.append(item)
    return days


def _month_can_have(month: int, day: int) -> bool:
    """Whether some year's ``month`` has a day ``day`` (negative: counted from its end)."""
    longest = 29 if month == 2 else calendar.monthrange(2001, month)[1]
    return abs(day) <= longest


def _normalise(parts: dict[str, str]) -> str:
    """Check every part's value and write the rule in one canonical way."""
    freq = parts.get("FREQ")
    if freq is None:
        raise _refuse(f"FREQ is missing; e.g. {EXAMPLE}.")
    if freq in SUB_DAILY:
        raise _refuse(
            f"FREQ={freq} is not supported: obligations recur on dates (DAILY, WEEKLY, "
            "MONTHLY or YEARLY); the due time gives the hour."
        )
    if freq not in FREQUENCIES:
        raise _refuse(f"FREQ={freq} is not a frequency; use {', '.join(FREQUENCIES)}.")
    for name, frequencies in NOT_WITH.items():
        if name in parts and freq in frequencies:
            raise _refuse(f"{name} cannot be used with FREQ={freq} (RFC 5545).")
    if "COUNT" in parts and "UNTIL" in parts:
        raise _refuse("Give COUNT or UNTIL, not both.")
    values: dict[str, str] = {"FREQ": freq}
    if "INTERVAL" in parts:
        interval = _positive("INTERVAL", parts["INTERVAL"])
        if interval > 1:
            values["INTERVAL"] = str(interval)
    if "COUNT" in parts:
        values["COUNT"] = str(_positive("COUNT", parts["COUNT"]))
    if "UNTIL" in parts:
        until = parts["UNTIL"]
        match = _UNTIL.match(until)
        if not match:
            if "T" in until:
                raise _refuse(
                    f"UNTIL={until} has a time: give a date like 20271231 (the due time gives "
                    "the hour), or leave UNTIL out and set the obligation's end date."
                )
            raise _refuse(f"UNTIL={until} is not a date like 20271231.")
        try:
            date(*(int(group) for group in match.groups()))
        except ValueError as exc:
            raise _refuse(f"UNTIL={until} is not a date: {exc}.") from exc
        values["UNTIL"] = until
    numbers: dict[str, list[int]] = {}
    for name in LIMITS:
        if name in parts:
            numbers[name] = _integers(name, parts[name])
            values[name] = ",".join(str(number) for number in numbers[name])
    if "BYDAY" in parts:
        values["BYDAY"] = ",".join(_check_byday(parts["BYDAY"], freq))
    if "WKST" in parts:
        if parts["WKST"] not in WEEKDAYS:
            raise _refuse(f"WKST={parts['WKST']} is not a weekday (MO … SU).")
        values["WKST"] = parts["WKST"]
    if "BYMONTHDAY" in numbers:
        months = numbers.get("BYMONTH", list(range(1, 13)))
        if not any(_month_can_have(m, d) for m in months for d in numbers["BYMONTHDAY"]):
            raise _refuse(
                f"BYMONTHDAY={values['BYMONTHDAY']} never falls in "
                f"{'BYMONTH=' + values['BYMONTH'] if 'BYMONTH' in values else 'any month'}."
            )
    return ";".join(f"{name}={values[name]}" for name in PARTS if name in values)


def _parse(text: str) -> str:
    """The normalised rule, checked part by part (without asking whether it ever occurs)."""
    normalised = _normalise(_split(text))
    try:
        rrulestr(normalised, dtstart=datetime(2000, 1, 1))
    except (ValueError, TypeError, IndexError) as exc:
        raise _refuse(f"{normalised} is not a valid rule: {exc}.") from exc
    return normalised


def validate_recurrence(text: str) -> str:
    """The rule in its normalised text; raises ValidationError({'recurrence': why}) if bad."""
    normalised = _parse(text)
    # Without COUNT, UNTIL and INTERVAL the rule's dates are a superset of the real ones; none
    # in a whole 400-year cycle means none ever (whatever the obligation's start).
    probe = rrulestr(normalised, dtstart=PROBE_START)
    assert isinstance(probe, rrule)
    if probe.replace(count=None, until=None, interval=1).after(PROBE_START, inc=True) is None:
        raise _refuse(f"{normalised} never gives a date.")
    return normalised


# -- words ----------------------------------------------------------------------------------

ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth"}
UNITS = {"DAILY": "day", "WEEKLY": "week", "MONTHLY": "month", "YEARLY": "year"}
ADVERBS = {"DAILY": "daily", "WEEKLY": "weekly", "MONTHLY": "monthly", "YEARLY": "yearly"}


def _nth(number: int) -> str:
    """1 → 'first', -1 → 'last', -2 → 'second-to-last', 12 → '12th'."""
    if number == -1:
        return "last"
    if number < 0:
        return f"{_nth(-number)}-to-last"
    if number in ORDINALS:
        return ORDINALS[number]
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10)
    return f"{number}{suffix or 'th'}"


def _day_words(item: str) -> str:
    """'MO' → 'Monday', '-1FR' → 'the last Friday'."""
    match = _BYDAY.match(item)
    if not match:
        return item
    sign, number, weekday = match.groups()
    word = WEEKDAY_WORDS[WEEKDAYS.index(weekday)]
    if number is None:
        return word
    return f"the {_nth(-int(number) if sign == '-' else int(number))} {word}"


def _join(words: list[str]) -> str:
    """['a', 'b', 'c'] → 'a, b and c'."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def describe_recurrence(text: str) -> str:
    """The rule in a few English words ('monthly on day 10'); the text itself if it cannot."""
    try:
        parts = dict(part.split("=", 1) for part in _parse(text).split(";"))
        freq = parts["FREQ"]
        interval = int(parts.get("INTERVAL", "1"))
        if freq == "MONTHLY" and interval == 3:
            head = "quarterly"
        elif interval == 1:
            head = ADVERBS[freq]
        else:
            head = f"every {interval} {UNITS[freq]}s"
        days = parts.get("BYDAY", "").split(",") if "BYDAY" in parts else []
        words: list[str] = []
        if freq == "DAILY" and not days and set(parts) <= {"FREQ", "INTERVAL", "COUNT", "UNTIL"}:
            head = "every day" if interval == 1 else head
        if sorted(days) == sorted(WEEKDAYS[:5]) and freq in ("DAILY", "WEEKLY"):
            head, days = ("every weekday" if interval == 1 else f"{head} on weekdays"), []
        if "BYMONTH" in parts:
            months = [calendar.month_name[int(m)] for m in parts["BYMONTH"].split(",")]
            if "BYMONTHDAY" in parts and len(months) == 1:
                monthdays = parts.pop("BYMONTHDAY").split(",")
                if all(int(d) > 0 for d in monthdays):
                    words.append(f"on {_join(monthdays)} {months[0]}")
                else:
                    named = [f"the {_nth(int(d))} day" for d in monthdays]
                    words.append(f"on {_join(named)} of {months[0]}")
            else:
                words.append(f"in {_join(months)}")
        if "BYMONTHDAY" in parts:
            numbers = [int(d) for d in parts["BYMONTHDAY"].split(",")]
            if all(d > 0 for d in numbers):
                label = "day" if len(numbers) == 1 else "days"
                words.append(f"on {label} {_join([str(d) for d in numbers])}")
            else:
                words.append(f"on {_join([f'the {_nth(d)} day' for d in numbers])}")
        if days:
            day_words = _join([_day_words(d) for d in days])
            if "BYSETPOS" in parts:
                positions = _join([_nth(int(p)) for p in parts["BYSETPOS"].split(",")])
                if sorted(days) == sorted(WEEKDAYS[:5]):
                    noun = "weekday"
                elif sorted(days) == sorted(WEEKDAYS):
                    noun = "day"
                else:
                    noun = " or ".join(_day_words(d) for d in days)
                words.append(f"on the {positions} {noun}")
            else:
                words.append(f"on {day_words}")
        elif "BYSETPOS" in parts:
            return text
        if "BYYEARDAY" in parts or "BYWEEKNO" in parts:
            return text
        text_words = " ".join([head, *words])
        if "COUNT" in parts:
            text_words += f", {parts['COUNT']} times"
        if "UNTIL" in parts:
            until = parts["UNTIL"]
            text_words += f", until {until[:4]}-{until[4:6]}-{until[6:]}"
        return text_words
    except Exception:  # best effort: words must never break a page
        return str(text)


# -- dates ----------------------------------------------------------------------------------


def _nominal_dates(recurrence: str, starts_on: date, ends_on: date | None) -> Iterator[date]:
    """The dates the rule gives from ``starts_on`` to ``ends_on`` (both included)."""
    rule = rrulestr(_parse(recurrence), dtstart=datetime.combine(starts_on, time()))
    for moment in rule:
        day = moment.date()
        if ends_on is not None and day > ends_on:
            return
        yield day


def due_dates(
    recurrence: str,
    *,
    starts_on: date,
    ends_on: date | None,
    roll: str,
    clock: BusinessClock,
    since: date,
    until: date,
) -> list[tuple[date, date]]:
    """The (nominal date, due date) pairs whose due date is in [since, until], one per due date
    (the first nominal date rolling onto it); see the module docstring."""
    convention = Convention(roll)
    if until < since:
        return []
    # Every nominal date up to the last business day before ``since`` rolls (by any of the
    # conventions) onto a due date before ``since``: skip those without rolling them.
    last_before = clock.roll(date.fromordinal(since.toordinal() - 1), Convention.PRECEDING)
    pairs: list[tuple[date, date]] = []
    for nominal in _nominal_dates(recurrence, starts_on, ends_on):
        if nominal <= last_before:
            continue
        due = clock.roll(nominal, convention)
        if due > until:
            break  # rolling is monotonic: every later nominal date is due later still
        if due < since or (pairs and pairs[-1][1] == due):
            continue
        pairs.append((nominal, due))
    return pairs


def due_instant(due_date: date, due_time: time, time_zone: str | tzinfo) -> datetime:
    """The UTC instant of ``due_time`` on ``due_date`` in the zone (a wall time in a DST gap
    moves forward by the gap, an ambiguous one is taken at its first occurrence)."""
    zone = ZoneInfo(time_zone) if isinstance(time_zone, str) else time_zone
    local = datetime.combine(due_date, due_time.replace(tzinfo=None, fold=0), tzinfo=zone)
    return local.astimezone(UTC)
