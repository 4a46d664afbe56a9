"""Reads about business calendars, scoped to the actor's clients."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import QuerySet

from bpo.calendars.models import BusinessCalendar
from bpo.tenancy.context import Actor
from bpo.web.formatting import format_minutes


def calendars_visible(*, actor: Actor, client_id: int | None = None) -> QuerySet[BusinessCalendar]:
    """Calendars of the clients in scope."""
    calendars = BusinessCalendar.objects.select_related("client")
    if client_id is not None:
        calendars = calendars.filter(client_id=client_id)
    return calendars.order_by("client__name", "name", "id")


def calendar_get(*, actor: Actor, calendar_id: int) -> BusinessCalendar:
    """One calendar in scope; raises BusinessCalendar.DoesNotExist."""
    return calendars_visible(actor=actor).get(pk=calendar_id)


@dataclass
class WorkingDay:
    """One local date of the preview: its working hours and why it differs, if it does."""

    day: date
    spans: list[tuple[datetime, datetime]] = field(default_factory=list)
    note: str = ""
    is_today: bool = False

    @property
    def total(self) -> str:
        minutes = sum((end - start for start, end in self.spans), timedelta()) // timedelta(
            minutes=1
        )
        return format_minutes(minutes)

    @property
    def shifts(self) -> list[str]:
        return [
            f"{start:%H:%M}–{end:%H:%M}" + (" (+1)" if end.date() > start.date() else "")
            for start, end in self.spans
        ]


def working_days(calendar: BusinessCalendar, *, now: datetime, days: int) -> list[WorkingDay]:
    """The working hours of the next ``days`` local dates, from the calendar's clock.

    A shift is listed on the date it starts; the clock is asked one day further so that a night
    shift of the last date is shown whole.
    """
    zone = zoneinfo.ZoneInfo(calendar.time_zone)
    today = now.astimezone(zone).date()
    preview = {
        today + timedelta(days=n): WorkingDay(today + timedelta(days=n), is_today=n == 0)
        for n in range(days)
    }
    first = datetime.combine(today, time(), zone)
    last = datetime.combine(today + timedelta(days=days + 1), time(), zone)
    for start, end in calendar.clock.shifts_between(first, last):
        local_start = start.astimezone(zone)
        if local_start.date() in preview:
            preview[local_start.date()].spans.append((local_start, end.astimezone(zone)))
    notes = calendar.day_notes({day.year for day in preview})
    for day, row in preview.items():
        row.note = notes.get(day, "")
    return list(preview.values())
