"""Web forms for business calendars: they parse what people type into the model's JSON shape.

Working hours are typed per weekday ("08:00-12:00, 13:00-17:00"), holidays and exceptions one
per line ("2026-12-24 Christmas Eve"; "2026-12-31 08:00-12:00 early close", "2026-06-06 closed").
Whether the whole calendar makes sense (overlapping shifts, a known country) is the action's
call; its messages are put back on the fields by :func:`add_calendar_errors`.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from bpo.accounts.forms import add_validation_errors
from bpo.calendars.engine import WEEKDAY_NAMES
from bpo.calendars.models import WEEKDAYS, format_shift, parse_shift
from bpo.tenancy.forms import TIME_ZONE_CHOICES

_SHIFT_TEXT = r"\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}"
_EXCEPTION_REST = re.compile(
    rf"^(?:(?P<shifts>{_SHIFT_TEXT}(?:\s*,\s*{_SHIFT_TEXT})*)|(?P<closed>closed\b))\s*(?P<note>.*)$",
    re.IGNORECASE,
)
# "2026-12-24 Christmas Eve", "2026-12-24: Christmas Eve", "2026-12-24 – Christmas Eve".
_DATED_LINE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:\s*[:–-]\s*|\s+|$)(.*)$")
# Up to five years of business minutes, as the API allows.
MAX_MINUTES = 60 * 24 * 366 * 5


def _parse_shift_list(text: str) -> list[str]:
    """'08:00-12:00, 13:00-17:00' → ['08:00-12:00', '13:00-17:00'] (normalised)."""
    shifts = []
    for part in re.split(r"[,;]", text):
        if part.strip():
            try:
                shifts.append(format_shift(parse_shift(part)))
            except ValueError as exc:
                raise ValidationError(f"{exc}.") from exc
    return shifts


def _lines(text: str) -> list[tuple[int, str]]:
    """Non-empty lines with their 1-based numbers."""
    return [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1) if line.strip()]


def _split_date(number: int, line: str) -> tuple[str, str]:
    """The ISO date a line starts with, and the rest of the line."""
    match = _DATED_LINE.match(line)
    first = match[1] if match else re.split(r"[\s:]", line, maxsplit=1)[0]
    try:
        day = date.fromisoformat(first)
    except ValueError:
        day = None
    if match is None or day is None:
        raise ValidationError(f"Line {number}: {first!r} is not a date (YYYY-MM-DD).")
    return day.isoformat(), match[2].strip()


class ShiftsField(forms.CharField):
    """One weekday's shifts, comma-separated; empty means closed."""

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        return _parse_shift_list(super().to_python(value) or "")

    def prepare_value(self, value: Any) -> Any:
        return ", ".join(value) if isinstance(value, list) else value


class HolidaysField(forms.CharField):
    """One holiday a line: a date, then its name."""

    widget = forms.Textarea(attrs={"rows": 5})

    def to_python(self, value: Any) -> list[dict[str, str]]:  # type: ignore[override]
        holidays, problems = [], []
        for number, line in _lines(super().to_python(value) or ""):
            try:
                day, name = _split_date(number, line)
            except ValidationError as exc:
                problems.extend(exc.messages)
                continue
            holidays.append({"date": day, "name": name[:120]})
        if problems:
            raise ValidationError(problems)
        return holidays

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return "\n".join(f"{h.get('date', '')} {h.get('name', '')}".strip() for h in value)
        return value


class ExceptionsField(forms.CharField):
    """One exception a line: a date, the day's shifts or 'closed', then a note."""

    widget = forms.Textarea(attrs={"rows": 5})

    def to_python(self, value: Any) -> list[dict[str, Any]]:  # type: ignore[override]
        exceptions, problems = [], []
        for number, line in _lines(super().to_python(value) or ""):
            try:
                day, rest = _split_date(number, line)
                match = _EXCEPTION_REST.match(rest)
                if match is None:
                    raise ValidationError(
                        f"Line {number}: after the date give the day's shifts "
                        "(e.g. 08:00-12:00) or 'closed'."
                    )
                try:
                    shifts = _parse_shift_list(match["shifts"] or "")
                except ValidationError as exc:
                    raise ValidationError(f"Line {number}: {exc.messages[0]}") from None
            except ValidationError as exc:
                problems.extend(exc.messages)
                continue
            note = match["note"].lstrip("-–:").strip()[:200]
            exceptions.append({"date": day, "shifts": shifts, "note": note})
        if problems:
            raise ValidationError(problems)
        return exceptions

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return "\n".join(
                " ".join(
                    part
                    for part in (
                        str(item.get("date", "")),
                        ", ".join(item.get("shifts") or []) or "closed",
                        str(item.get("note") or ""),
                    )
                    if part
                )
                for item in value
            )
        return value


class CalendarForm(forms.Form):
    """A calendar's name, zone, weekly hours, holidays and exceptions (and, when new, client)."""

    name = forms.CharField(max_length=120, help_text="e.g. 'Berlin office hours'.")
    time_zone = forms.ChoiceField(
        choices=TIME_ZONE_CHOICES, help_text="Working hours and days are in this time zone."
    )
    mon = ShiftsField(required=False, label="Monday")
    tue = ShiftsField(required=False, label="Tuesday")
    wed = ShiftsField(required=False, label="Wednesday")
    thu = ShiftsField(required=False, label="Thursday")
    fri = ShiftsField(required=False, label="Friday")
    sat = ShiftsField(required=False, label="Saturday")
    sun = ShiftsField(required=False, label="Sunday")
    holiday_country = forms.CharField(
        max_length=2,
        required=False,
        label="Public holidays of",
        help_text="A country code such as DE or US; empty for none.",
    )
    holiday_subdivision = forms.CharField(
        max_length=10,
        required=False,
        label="Region",
        help_text="A state or region code such as BY or CA; empty for the national holidays.",
    )
    holidays = HolidaysField(
        required=False,
        label="Other holidays",
        help_text="One a line: the date, then its name. For example: 2026-12-24 Christmas Eve",
    )
    exceptions = ExceptionsField(
        required=False,
        label="Exceptions",
        help_text=(
            "Days with other hours than usual, one a line: the date, the day's shifts or "
            "'closed', then a note. For example: 2026-12-31 08:00-12:00 early close · "
            "2026-06-06 closed inventory"
        ),
    )

    def __init__(
        self, *args: Any, clients: list[tuple[int, str]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if clients is not None:
            self.fields["client"] = forms.TypedChoiceField(coerce=int, choices=clients)
            self.order_fields(["client"])

    @property
    def weekday_fields(self) -> list[forms.BoundField]:
        return [self[key] for key in WEEKDAYS]

    @property
    def heading_fields(self) -> list[forms.BoundField]:
        """The client (when new), the name and the time zone."""
        return [self[name] for name in ("client", "name", "time_zone") if name in self.fields]

    def clean_holiday_country(self) -> str:
        return self.cleaned_data["holiday_country"].strip().upper()

    def clean_holiday_subdivision(self) -> str:
        return self.cleaned_data["holiday_subdivision"].strip()

    def calendar_fields(self) -> dict[str, Any]:
        """The cleaned data as the actions take it (without the client)."""
        data = self.cleaned_data
        return {
            "name": data["name"],
            "time_zone": data["time_zone"],
            "weekly": {key: data[key] for key in WEEKDAYS if data[key]},
            "holiday_country": data["holiday_country"],
            "holiday_subdivision": data["holiday_subdivision"],
            "holidays": data["holidays"],
            "exceptions": data["exceptions"],
        }

    @staticmethod
    def initial_from(calendar: Any) -> dict[str, Any]:
        """Initial values that show a saved calendar in the form."""
        weekly = calendar.weekly if isinstance(calendar.weekly, dict) else {}
        return {
            "name": calendar.name,
            "time_zone": calendar.time_zone,
            **{key: list(weekly.get(key) or []) for key in WEEKDAYS},
            "holiday_country": calendar.holiday_country,
            "holiday_subdivision": calendar.holiday_subdivision,
            "holidays": list(calendar.holidays or []),
            "exceptions": list(calendar.exceptions or []),
        }


def add_calendar_errors(form: CalendarForm, exc: ValidationError) -> None:
    """Show an action's ValidationError on the calendar form, on the weekday or field at fault.

    The model reports shift problems under ``weekly`` ("mon: …" or, from the engine, naming the
    weekday: "Shifts overlap: Monday 08:00–12:00 …"); they are shown on that weekday's box.
    """
    if not hasattr(exc, "error_dict"):
        add_validation_errors(form, exc)
        return
    errors: dict[str, list[str]] = {}
    for field, messages in exc.message_dict.items():
        for message in messages:
            target = field
            if field == "weekly":
                target = _weekday_of(message)
                if target in WEEKDAYS and message.startswith(f"{target}:"):
                    message = message.split(":", 1)[1].strip()
            errors.setdefault(target if target in form.fields else "", []).append(message)
    for field, messages in errors.items():
        form.add_error(field or None, messages)


def _weekday_of(message: str) -> str:
    for key, name in zip(WEEKDAYS, WEEKDAY_NAMES, strict=True):
        if message.startswith(f"{key}:") or name in message:
            return key
    return ""


class WallClockField(forms.DateTimeField):
    """A date and time on the wall clock, naive: the form decides which zone it is in (Django
    would otherwise take it in the viewer's zone)."""

    def to_python(self, value: Any) -> datetime | None:
        with timezone.override(UTC):
            result = super().to_python(value)
        return result.replace(tzinfo=None) if result is not None else None


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"


class BusinessTimeForm(forms.Form):
    """The business-time calculator: what is due N business minutes after a local instant."""

    start = WallClockField(
        widget=DateTimeLocalInput,
        help_text="In the calendar's time zone.",
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
    )
    minutes = forms.IntegerField(
        min_value=0, max_value=MAX_MINUTES, help_text="Business minutes, e.g. 240 for 4 hours."
    )

    def __init__(self, *args: Any, time_zone: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.zone = zoneinfo.ZoneInfo(time_zone)

    def clean_start(self) -> datetime:
        return self.cleaned_data["start"].replace(tzinfo=self.zone)

    def duration(self) -> timedelta:
        return timedelta(minutes=self.cleaned_data["minutes"])

    @staticmethod
    def initial_at(now: datetime, time_zone: str) -> dict[str, Any]:
        """Initial values: now in the calendar's zone (to the minute), and four hours."""
        local = now.astimezone(zoneinfo.ZoneInfo(time_zone))
        return {"start": local.strftime("%Y-%m-%dT%H:%M"), "minutes": 240}


class ClientFilterForm(forms.Form):
    """Which client's records a list shows; an unknown choice shows all the actor may see."""

    client = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)

    def __init__(self, *args: Any, clients: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["client"].choices = [("", "All clients"), *clients]  # type: ignore[attr-defined]

    def client_id(self) -> int | None:
        return self.cleaned_data.get("client") if self.is_valid() else None
