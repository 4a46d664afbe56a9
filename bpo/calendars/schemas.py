"""API schemas for business calendars."""

from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import ConfigDict, Field, StrictStr

from bpo.apitypes import StrictDbId

SHIFT_EXAMPLE = {"mon": ["08:00-12:00", "13:00-17:00"], "sat": ["22:00-06:00"]}


class HolidayIn(Schema):
    model_config = ConfigDict(extra="forbid")

    date: StrictStr = Field(description="YYYY-MM-DD")
    name: StrictStr = Field(default="", max_length=120)


class ExceptionIn(Schema):
    model_config = ConfigDict(extra="forbid")

    date: StrictStr = Field(description="YYYY-MM-DD")
    shifts: list[StrictStr] = Field(
        default_factory=list, description="The day's shifts instead of the usual ones; [] = closed."
    )
    note: StrictStr = Field(default="", max_length=200)


class CalendarIn(Schema):
    model_config = ConfigDict(extra="forbid")

    client_id: StrictDbId
    name: StrictStr = Field(min_length=1, max_length=120)
    time_zone: StrictStr = Field(max_length=64, examples=["Europe/Berlin"])
    weekly: dict[str, list[StrictStr]] = Field(
        description="Weekday (mon…sun) → shifts 'HH:MM-HH:MM'; an end at or before the start "
        "runs into the next day.",
        examples=[SHIFT_EXAMPLE],
    )
    holiday_country: StrictStr = Field(default="", max_length=2, description="e.g. DE")
    holiday_subdivision: StrictStr = Field(default="", max_length=10, description="e.g. BY")
    holidays: list[HolidayIn] = Field(default_factory=list)
    exceptions: list[ExceptionIn] = Field(default_factory=list)


class CalendarPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    name: StrictStr | None = Field(default=None, min_length=1, max_length=120)
    time_zone: StrictStr | None = Field(default=None, max_length=64)
    weekly: dict[str, list[StrictStr]] | None = None
    holiday_country: StrictStr | None = Field(default=None, max_length=2)
    holiday_subdivision: StrictStr | None = Field(default=None, max_length=10)
    holidays: list[HolidayIn] | None = None
    exceptions: list[ExceptionIn] | None = None


class CalendarOut(Schema):
    id: int
    client_id: int
    name: str
    time_zone: str
    weekly: dict[str, list[str]]
    holiday_country: str
    holiday_subdivision: str
    holidays: list[dict[str, str]]
    exceptions: list[dict[str, object]]
    updated_at: datetime


class CalendarPage(Schema):
    items: list[CalendarOut]
    next_cursor: int | None


class BusinessTimeOut(Schema):
    start: datetime
    minutes: int
    due: datetime = Field(description="start + minutes of business time, in UTC")
    next_business_instant: datetime
