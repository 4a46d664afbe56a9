"""Reads about business calendars, scoped to the actor's clients."""

from __future__ import annotations

from django.db.models import QuerySet

from bpo.calendars.models import BusinessCalendar
from bpo.tenancy.context import Actor


def calendars_visible(*, actor: Actor, client_id: int | None = None) -> QuerySet[BusinessCalendar]:
    """Calendars of the clients in scope."""
    calendars = BusinessCalendar.objects.select_related("client")
    if client_id is not None:
        calendars = calendars.filter(client_id=client_id)
    return calendars.order_by("client__name", "name", "id")


def calendar_get(*, actor: Actor, calendar_id: int) -> BusinessCalendar:
    """One calendar in scope; raises BusinessCalendar.DoesNotExist."""
    return calendars_visible(actor=actor).get(pk=calendar_id)
