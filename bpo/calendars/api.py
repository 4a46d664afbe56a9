"""API: business calendars, and business-time arithmetic on them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from bpo.apitypes import DbId, changes
from bpo.calendars import actions, queries
from bpo.calendars.models import BusinessCalendar
from bpo.calendars.schemas import (
    BusinessTimeOut,
    CalendarIn,
    CalendarOut,
    CalendarPage,
    CalendarPatch,
)
from bpo.errors import FieldError, documented_errors
from bpo.paging import PageParams, page_of
from bpo.tenancy.api import client_in_body
from bpo.tenancy.context import request_actor

router = Router(tags=["calendars"])


class CalendarListParams(PageParams):
    client_id: DbId | None = None


class BusinessTimeParams(Schema):
    start: datetime = Field(description="An instant with its UTC offset, e.g. 2026-12-24T16:00Z")
    minutes: int = Field(ge=0, le=60 * 24 * 366 * 5, description="Business minutes to add")


@router.get("", response={200: CalendarPage, **documented_errors()}, summary="List calendars")
def list_calendars(request: HttpRequest, params: Query[CalendarListParams]) -> dict[str, Any]:
    rows = queries.calendars_visible(actor=request_actor(request), client_id=params.client_id)
    return page_of(rows, params)


@router.post(
    "",
    response={201: CalendarOut, **documented_errors(403)},
    summary="Create a calendar (provider admins and managers)",
)
def create_calendar(request: HttpRequest, payload: CalendarIn) -> Status[BusinessCalendar]:
    actor = request_actor(request)
    data = payload.dict()
    client_id = data.pop("client_id")
    client = client_in_body(actor, client_id)
    return Status(201, actions.calendar_create(actor=actor, client=client, **data))


@router.get(
    "/{calendar_id}", response={200: CalendarOut, **documented_errors(404)}, summary="One calendar"
)
def get_calendar(request: HttpRequest, calendar_id: DbId) -> BusinessCalendar:
    return queries.calendar_get(actor=request_actor(request), calendar_id=calendar_id)


@router.patch(
    "/{calendar_id}",
    response={200: CalendarOut, **documented_errors(403, 404)},
    summary="Change a calendar (provider admins and managers)",
)
def update_calendar(request: HttpRequest, calendar_id: DbId, payload: CalendarPatch) -> Any:
    actor = request_actor(request)
    calendar = queries.calendar_get(actor=actor, calendar_id=calendar_id)
    return actions.calendar_update(actor=actor, calendar=calendar, **changes(payload))


@router.get(
    "/{calendar_id}/business-time",
    response={200: BusinessTimeOut, **documented_errors(404)},
    summary="When N business minutes after an instant falls on this calendar",
)
def business_time(
    request: HttpRequest, calendar_id: DbId, params: Query[BusinessTimeParams]
) -> dict[str, Any]:
    calendar = queries.calendar_get(actor=request_actor(request), calendar_id=calendar_id)
    if params.start.tzinfo is None:
        raise FieldError("query.start", "Give the instant with its UTC offset, e.g. ...T09:00Z.")
    try:
        due = calendar.clock.add(params.start, timedelta(minutes=params.minutes))
        next_instant = calendar.clock.next_business_instant(params.start)
    except ValueError as exc:  # outside the supported years, or no working time for years
        raise FieldError("query.start", str(exc)) from exc
    return {
        "start": params.start,
        "minutes": params.minutes,
        "due": due,
        "next_business_instant": next_instant,
    }
