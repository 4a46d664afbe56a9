"""Business calendars: a time zone, working shifts per weekday, holidays and one-off exceptions."""

from __future__ import annotations

import re
from datetime import date, time
from functools import cached_property
from typing import Any

import holidays as holiday_data
from django.core.exceptions import ValidationError
from django.db import models

from bpo.calendars.engine import BusinessClock, CalendarError, CalendarSpec, Shift
from bpo.tenancy.models import ClientOwnedModel, validate_time_zone

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SHIFT = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def parse_shift(text: str) -> Shift:
    """'08:00-12:00' → Shift; an end at or before the start runs into the next day."""
    match = _SHIFT.match(text or "")
    if not match:
        raise ValueError(f"{text!r} is not a shift like 08:00-17:00")
    h1, m1, h2, m2 = (int(part) for part in match.groups())
    if h2 == 24 and m2 == 0:
        h2 = 0
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise ValueError(f"{text!r} is not a valid time range")
    return Shift(time(h1, m1), time(h2, m2))


def format_shift(shift: Shift) -> str:
    return f"{shift.start:%H:%M}-{shift.end:%H:%M}"


def supported_country(country: str, subdivision: str = "") -> None:
    """Raise ValueError unless the holidays package knows the country (and subdivision)."""
    if country not in holiday_data.list_supported_countries():
        raise ValueError(f"{country!r} is not a country the holidays package knows (e.g. DE, US)")
    if subdivision and subdivision not in holiday_data.list_supported_countries()[country]:
        known = ", ".join(holiday_data.list_supported_countries()[country][:12])
        raise ValueError(f"{subdivision!r} is not a subdivision of {country} (e.g. {known})")


class BusinessCalendar(ClientOwnedModel):
    """When a client's service counts time: its zone, weekly shifts, holidays and exceptions.

    ``weekly`` maps weekday keys (mon…sun) to shifts like ``"08:00-12:00"``; ``holidays`` lists
    ``{"date", "name"}``; ``exceptions`` lists ``{"date", "shifts", "note"}`` whose shifts replace
    that day's (no shifts: closed; e.g. an extra working Saturday, an early close).
    Public holidays of ``holiday_country``/``holiday_subdivision`` come from the holidays package.
    """

    name = models.CharField(max_length=120)
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone])
    weekly = models.JSONField(default=dict)
    holiday_country = models.CharField(max_length=2, blank=True)
    holiday_subdivision = models.CharField(max_length=10, blank=True)
    holidays = models.JSONField(default=list, blank=True)
    exceptions = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["client", "name"]
        constraints = [
            models.UniqueConstraint(fields=["client", "name"], name="calendar_unique_name")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.time_zone})"

    def clean(self) -> None:
        """Check the whole calendar the way the engine will use it, naming every problem."""
        self._compile()

    def spec(self) -> CalendarSpec:
        """This calendar as the pure engine's input; raises ValidationError naming the field."""
        errors: dict[str, list[str]] = {}
        weekly: dict[int, tuple[Shift, ...]] = {}
        if not isinstance(self.weekly, dict):
            raise ValidationError({"weekly": "Expected an object of weekday → shifts."})
        for key, shifts in self.weekly.items():
            if key not in WEEKDAYS:
                errors.setdefault("weekly", []).append(
                    f"{key!r} is not a weekday; use {', '.join(WEEKDAYS)}."
                )
                continue
            weekly[WEEKDAYS.index(key)] = _parse_shifts(shifts, "weekly", key, errors)
        explicit = {
            _parse_date(item, "holidays", n, errors) for n, item in enumerate(self.holidays or [])
        }
        explicit.discard(None)
        overrides: dict[date, tuple[Shift, ...]] = {}
        for n, item in enumerate(self.exceptions or []):
            day = _parse_date(item, "exceptions", n, errors)
            shifts = _parse_shifts(
                item.get("shifts", []) if isinstance(item, dict) else [],
                "exceptions",
                f"[{n}].shifts",
                errors,
            )
            if day is not None:
                if day in overrides:
                    errors.setdefault("exceptions", []).append(f"{day} appears twice.")
                overrides[day] = shifts
        try:
            validate_time_zone(self.time_zone)
        except ValidationError as exc:
            errors.setdefault("time_zone", []).extend(exc.messages)
        if self.holiday_country:
            try:
                supported_country(self.holiday_country, self.holiday_subdivision)
            except ValueError as exc:
                errors.setdefault(
                    "holiday_subdivision" if "subdivision" in str(exc) else "holiday_country", []
                ).append(str(exc))
        if errors:
            raise ValidationError(errors)
        return CalendarSpec(
            time_zone=self.time_zone,
            weekly=weekly,
            holidays=_HolidaySource(
                frozenset(d for d in explicit if d is not None),
                self.holiday_country,
                self.holiday_subdivision,
            ),
            overrides=overrides,
        )

    def _compile(self) -> BusinessClock:
        spec = self.spec()
        try:
            return BusinessClock(spec)
        except CalendarError as exc:
            field = "exceptions" if "override" in str(exc) else "weekly"
            raise ValidationError({field: f"{str(exc)[:1].upper()}{str(exc)[1:]}."}) from exc

    def day_notes(self, years: set[int]) -> dict[date, str]:
        """Why a date is special: its exception's note, else its holiday's name."""
        notes = public_holidays(self.holiday_country, self.holiday_subdivision, sorted(years))
        for item in self.holidays or []:
            notes[date.fromisoformat(item["date"])] = item.get("name") or "Holiday"
        for item in self.exceptions or []:
            notes[date.fromisoformat(item["date"])] = item.get("note") or (
                "Other hours" if item.get("shifts") else "Closed"
            )
        return notes

    @cached_property
    def clock(self) -> BusinessClock:
        """The compiled calendar for business-time arithmetic (cached on this instance)."""
        return self._compile()


def _parse_shifts(
    value: Any, field: str, where: str, errors: dict[str, list[str]]
) -> tuple[Shift, ...]:
    """Parse a list of shift texts; problems go to ``errors[field]`` prefixed with ``where``."""
    if not isinstance(value, list):
        errors.setdefault(field, []).append(f"{where}: expected a list like ['08:00-12:00'].")
        return ()
    shifts = []
    for text in value:
        try:
            shifts.append(parse_shift(str(text)))
        except ValueError as exc:
            errors.setdefault(field, []).append(f"{where}: {exc}.")
    return tuple(shifts)


def _parse_date(item: Any, field: str, index: int, errors: dict[str, list[str]]) -> date | None:
    """The ``date`` of one holiday or exception entry; problems go to ``errors[field]``."""
    raw = item.get("date") if isinstance(item, dict) else None
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        errors.setdefault(field, []).append(f"[{index}]: {raw!r} is not a date (YYYY-MM-DD).")
        return None


def public_holidays(country: str, subdivision: str, years: list[int]) -> dict[date, str]:
    """The public holidays (date → name) of a country or region, from the holidays package."""
    if not country:
        return {}
    found = holiday_data.country_holidays(country, subdiv=subdivision or None, years=years)
    return {day: str(name) for day, name in found.items()}


class _HolidaySource:
    """Explicit holiday dates plus a country's public holidays, computed lazily per year."""

    def __init__(self, explicit: frozenset[date], country: str, subdivision: str) -> None:
        self.explicit = explicit
        self.country = country
        self.subdivision = subdivision
        self._years: dict[int, frozenset[date]] = {}

    def __call__(self, year: int) -> frozenset[date]:
        if year not in self._years:
            public = public_holidays(self.country, self.subdivision, [year])
            self._years[year] = frozenset(
                set(public) | {d for d in self.explicit if d.year == year}
            )
        return self._years[year]
