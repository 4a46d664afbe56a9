"""Web UI: the business calendars of the clients in scope; managers define and change them."""

from __future__ import annotations

import copy
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from bpo.accounts.roles import Permission
from bpo.calendars import actions, queries
from bpo.calendars.engine import WEEKDAY_NAMES
from bpo.calendars.forms import (
    BusinessTimeForm,
    CalendarForm,
    ClientFilterForm,
    add_calendar_errors,
)
from bpo.calendars.models import WEEKDAYS, BusinessCalendar
from bpo.tenancy import queries as client_queries
from bpo.tenancy.context import Actor, request_actor
from bpo.tenancy.models import Client

# How far ahead the calendar page shows the working hours.
PREVIEW_DAYS = 14
NEW_CALENDAR_HOURS = ["09:00-17:00"]


def _calendar_or_404(request: HttpRequest, calendar_id: int) -> BusinessCalendar:
    try:
        return queries.calendar_get(actor=request_actor(request), calendar_id=calendar_id)
    except BusinessCalendar.DoesNotExist as exc:
        raise Http404 from exc


def _manageable_clients(actor: Actor) -> list[Client]:
    """Clients for whom the actor may define calendars."""
    return [
        client
        for client in client_queries.clients_visible(actor=actor)
        if actor.can(Permission.MANAGE_CONTRACTS, client_id=client.pk)
    ]


@login_required
def calendar_list(request: HttpRequest) -> HttpResponse:
    """Calendars of the clients in scope, optionally of one client."""
    actor = request_actor(request)
    clients = [(c.pk, c.name) for c in client_queries.clients_visible(actor=actor)]
    filter_form = ClientFilterForm(request.GET or None, clients=clients)
    client_id = filter_form.client_id()
    calendars = queries.calendars_visible(actor=actor, client_id=client_id)
    return render(
        request,
        "calendars/list.html",
        {
            "rows": [
                {"calendar": calendar, "week": week_summary(calendar.weekly)}
                for calendar in calendars
            ],
            "filter_form": filter_form if len(clients) > 1 else None,
            "client_id": client_id,
            "can_create": actor.can(Permission.MANAGE_CONTRACTS),
        },
    )


@login_required
def calendar_create(request: HttpRequest) -> HttpResponse:
    """Define a business calendar for a client."""
    actor = request_actor(request)
    actor.require(Permission.MANAGE_CONTRACTS)
    clients = _manageable_clients(actor)
    preset = next((c for c in clients if str(c.pk) == request.GET.get("client")), None)
    if preset is None and len(clients) == 1:
        preset = clients[0]
    form = CalendarForm(
        request.POST or None,
        clients=[(c.pk, c.name) for c in clients],
        initial={
            "client": preset.pk if preset else None,
            "time_zone": preset.time_zone if preset else "UTC",
            **dict.fromkeys(WEEKDAYS[:5], NEW_CALENDAR_HOURS),
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            client = client_queries.client_get(actor=actor, client_id=form.cleaned_data["client"])
            calendar = actions.calendar_create(actor=actor, client=client, **form.calendar_fields())
        except ValidationError as exc:
            add_calendar_errors(form, exc)
        else:
            messages.success(request, f"The calendar {calendar.name} is saved.")
            return redirect("calendars:detail", calendar_id=calendar.pk)
    return render(
        request,
        "calendars/form.html",
        {"form": form, "calendar": None},
        status=400 if form.errors else 200,
    )


@login_required
def calendar_edit(request: HttpRequest, calendar_id: int) -> HttpResponse:
    """Change a calendar's hours, holidays and exceptions."""
    actor = request_actor(request)
    calendar = _calendar_or_404(request, calendar_id)
    actor.require(Permission.MANAGE_CONTRACTS, client_id=calendar.client_id)
    form = CalendarForm(request.POST or None, initial=CalendarForm.initial_from(calendar))
    if request.method == "POST" and form.is_valid():
        try:
            # The action changes a copy, so a refused change leaves the page's calendar as saved.
            actions.calendar_update(
                actor=actor, calendar=copy.copy(calendar), **form.calendar_fields()
            )
        except ValidationError as exc:
            add_calendar_errors(form, exc)
        else:
            messages.success(request, "Saved. Running SLA clocks use the new hours from now on.")
            return redirect("calendars:detail", calendar_id=calendar.pk)
    return render(
        request,
        "calendars/form.html",
        {"form": form, "calendar": calendar},
        status=400 if form.errors else 200,
    )


@login_required
def calendar_detail(request: HttpRequest, calendar_id: int) -> HttpResponse:
    """A calendar: its week, holidays, the working hours of the next days, and a calculator."""
    actor = request_actor(request)
    calendar = _calendar_or_404(request, calendar_id)
    now = timezone.now()
    calculator = BusinessTimeForm(
        request.GET if "minutes" in request.GET else None,
        time_zone=calendar.time_zone,
        initial=BusinessTimeForm.initial_at(now, calendar.time_zone),
    )
    context: dict[str, Any] = {
        "calendar": calendar,
        "can_manage": actor.can(Permission.MANAGE_CONTRACTS, client_id=calendar.client_id),
        "week": [
            (name, (calendar.weekly or {}).get(key) or [])
            for key, name in zip(WEEKDAYS, WEEKDAY_NAMES, strict=True)
        ],
        "calculator": calculator,
        "days": [],
        "result": None,
        "problem": "",
    }
    try:
        context["days"] = queries.working_days(calendar, now=now, days=PREVIEW_DAYS)
        if calculator.is_valid():
            start = calculator.cleaned_data["start"]
            context["result"] = {
                "start": start,
                "due": calendar.clock.add(start, calculator.duration()),
                "next": calendar.clock.next_business_instant(start),
            }
    except ValidationError as exc:
        context["problem"] = " ".join(exc.messages)
    except ValueError as exc:  # CalendarError, or an instant outside the supported years
        calculator.add_error(None, f"This cannot be computed: {exc}.")
    return render(request, "calendars/detail.html", context)


# --- Presentation --------------------------------------------------------------------------------


def week_summary(weekly: Any) -> str:
    """'Mon–Fri 08:00-12:00, 13:00-17:00 · Sat 09:00-13:00': runs of days with the same hours."""
    if not isinstance(weekly, dict):
        return ""
    parts: list[str] = []
    run: list[str] = []
    for key in [*WEEKDAYS, ""]:
        shifts = weekly.get(key) or []
        if run and (not key or shifts != (weekly.get(run[0]) or [])):
            hours = ", ".join(weekly.get(run[0]) or [])
            if hours:
                days = run[0].title() if len(run) == 1 else f"{run[0].title()}–{run[-1].title()}"
                parts.append(f"{days} {hours}")
            run = []
        if key:
            run.append(key)
    return " · ".join(parts) or "No working hours"
